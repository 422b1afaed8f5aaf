"""The HTML timeline in headless Chromium: no script errors, the right picture, 100k tasks.

Skipped when no Chromium is installed (CI installs the Debian ``chromium`` package).
The page writes script errors into ``#errors`` and marks ``<body>`` with
``data-rendered`` and ``data-lanes`` after drawing; ``--dump-dom`` shows both.
"""

from __future__ import annotations

import asyncio
import html
import os
import re
import time
from pathlib import Path

import pytest

import vif
import vif.trace

from ._support import EXAMPLES, browse, chromium, color_runs, read_png, run_vif

pytestmark = [
    pytest.mark.skipif(chromium() is None, reason="Chromium is not installed "
                       "(apt-get install -y chromium); CI installs it"),
    pytest.mark.timeout(300),
]

SLEEP_RGB = (0xBC, 0xD8, 0xF2)  # COLORS.sleep in vif/trace/_assets.py
GATHER_RGB = (0xD9, 0xC6, 0xF0)  # COLORS.task
#: Set VIF_TRACE_SCREENSHOTS=dir to keep the screenshot for a person to look at.
SHOTS = os.environ.get("VIF_TRACE_SCREENSHOTS")


async def say_after(delay: float, what: str) -> str:
    await asyncio.sleep(delay)
    return what


async def gather_main() -> list[str]:
    return await asyncio.gather(say_after(0.05, "a"), say_after(0.1, "b"))


def check_dom(dom: str, stderr: str, lanes: int) -> None:
    body = re.search(r"<body[^>]*>", dom)
    assert body is not None, dom[:2000]
    assert 'data-rendered="1"' in body.group(0), body.group(0)
    assert f'data-lanes="{lanes}"' in body.group(0), body.group(0)
    errors = re.search(r'<pre id="errors"[^>]*>(.*?)</pre>', dom, re.S)
    assert errors is not None and errors.group(1).strip() == "", errors and errors.group(1)
    console = [ln for ln in stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    assert console == [], console


def test_gather_example_draws_three_lanes(tmp_path):
    page = tmp_path / "gather.html"
    proc = run_vif("trace", "-o", str(page), str(EXAMPLES / "say_after_gather.py"),
                   "--scale", "0.5")
    assert proc.returncode == 0, proc.stderr
    shot = tmp_path / "gather.png"
    dom, stderr = browse(page, tmp_path / "profile", screenshot=shot, size=(1200, 400))
    check_dom(dom, stderr, lanes=4)
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        (Path(SHOTS) / "gather.png").write_bytes(shot.read_bytes())

    width, height, rows = read_png(shot)
    assert (width, height) == (1200, 400)
    # Three lanes wait on asyncio.sleep: hello and !!!!! for 1 unit, world for 2.
    sleeps = color_runs(rows, SLEEP_RGB)
    assert len(sleeps) == 3, sleeps
    lefts = [band[2] for band in sleeps]
    rights = [band[3] for band in sleeps]
    assert max(lefts) - min(lefts) <= 3, sleeps  # started together
    hello, world, bang = (r - min(lefts) for r in rights)
    assert abs(hello - bang) <= 3, sleeps
    assert 1.8 <= world / hello <= 2.2, sleeps  # world ends at 2 units, the others at 1
    # main waits on the gather for as long as world runs, on its own lane above them
    (gather,) = color_runs(rows, GATHER_RGB)
    assert gather[1] < min(band[0] for band in sleeps)
    assert abs(gather[3] - max(rights)) <= 4 and abs(gather[2] - min(lefts)) <= 4


def test_hover_zoom_and_pan(tmp_path):
    with vif.trace.record() as rec:
        vif.run(gather_main())
    page = tmp_path / "page.html"
    rec.save(page)
    dom, stderr = browse(page, tmp_path / "profile", fragment="#selftest")
    check_dom(dom, stderr, lanes=3)
    report = re.search(r'<pre id="selftest">(.*?)</pre>', dom, re.S)
    assert report is not None, dom[-2000:]
    lines = html.unescape(report.group(1)).splitlines()
    hovers = [ln for ln in lines if ln.startswith("hover ")]
    assert len(hovers) == 3, lines
    assert "gather_main()" in hovers[0] and "waiting" in hovers[0]
    assert "gather(2 awaitables)" in hovers[0]
    assert "say_after(0.05, 'a')" in hovers[1] and "created by Task-" in hovers[1]
    assert "waiting" in hovers[1] and "on asyncio.sleep(0.05)" in hovers[1]
    assert "awaited at " in hovers[1] and "test_browser.py:" in hovers[1]
    assert lines[-3:] == ["zoomed in: true", "panned: true", "fit again: true"], lines


def test_hundred_thousand_tasks_stay_small_and_open(tmp_path):
    n = 100_000

    async def worker(i: int) -> None:
        await asyncio.sleep(0)
        await asyncio.sleep(0.001 * (i % 10))

    async def main() -> None:
        await asyncio.gather(*(worker(i) for i in range(n)))

    with vif.trace.record() as rec:
        vif.run(main())
    page, perfetto = tmp_path / "big.html", tmp_path / "big.json"
    rec.save(page)
    rec.save(perfetto)
    mb = 1_000_000
    assert page.stat().st_size < 50 * mb, page.stat().st_size
    assert perfetto.stat().st_size < 50 * mb, perfetto.stat().st_size
    t0 = time.monotonic()
    dom, stderr = browse(page, tmp_path / "profile", size=(1200, 600), timeout=240)
    check_dom(dom, stderr, lanes=n + 1)
    assert time.monotonic() - t0 < 240


def test_page_survives_an_empty_recording(tmp_path):
    with vif.trace.record() as rec:
        pass
    page = tmp_path / "empty.html"
    rec.save(page)
    dom, stderr = browse(page, tmp_path / "profile")
    check_dom(dom, stderr, lanes=0)
