"""The self-contained HTML timeline: the data as inline JSON plus inline CSS and JS.

Owns the page skeleton. Nothing is fetched when the page opens: no fonts, no
scripts, no styles from anywhere but the file itself.
"""

from __future__ import annotations

import html
import json
from typing import Any

from ._assets import CSS, ERROR_TRAP, JS


def render_html(data: dict[str, Any]) -> str:
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=True)
    payload = payload.replace("</", "<\\/")  # no "</script>" inside the data block
    title = html.escape(data.get("title") or "vif trace")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        f"<title>{title}</title>\n"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n"
        f"<style>{CSS}</style>\n<script>{ERROR_TRAP}</script>\n</head>\n<body>\n"
        "<div id=\"head\"><h1>" + title + "</h1><span class=\"stats\" id=\"stats\"></span>"
        "<button id=\"zin\" title=\"zoom in (W)\">+</button>"
        "<button id=\"zout\" title=\"zoom out (S)\">&minus;</button>"
        "<button id=\"zfit\" title=\"fit (F)\">fit</button>"
        "<span id=\"help\">drag to pan, ctrl + wheel or W/S to zoom, hover for details</span>"
        "<div id=\"legend\"></div><pre id=\"errors\"></pre></div>\n"
        "<div id=\"view\"><canvas id=\"canvas\"></canvas></div><div id=\"tip\"></div>\n"
        f"<script id=\"trace-data\" type=\"application/json\">{payload}</script>\n"
        f"<script>{JS}</script>\n</body></html>\n"
    )


def write_html(data: dict[str, Any], path: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(render_html(data))
