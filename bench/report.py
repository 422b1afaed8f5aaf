"""Statistics, the ``vif/best-peer`` ratio, the JSON document and the text/Markdown tables.

The tables are rendered from the JSON document alone, so a saved
``latest.json`` can be re-rendered (``python -m bench --render FILE``).
"""

from __future__ import annotations

import os
import statistics
from pathlib import Path
from typing import Any

from bench import targets
from bench.impls import PEERS, VIF_IMPLS
from bench.runner import FLOOR, Cell, SuiteResult

SCHEMA = 1
SIG_NOTE = "* = significant: the min-max ranges of vif and the best peer do not overlap"


def stats(samples: list[float]) -> dict[str, float]:
    """min / median / max of ``samples``."""
    return {
        "min": min(samples),
        "median": statistics.median(samples),
        "max": max(samples),
    }


def pick_vif(probes: dict[str, dict[str, Any]]) -> str | None:
    """The vif column the ratio uses: compiled vif if it runs here, else vif-pure."""
    for name in VIF_IMPLS:
        if probes.get(name, {}).get("ok"):
            return name
    return None


def ratio(row: dict[str, dict[str, Any]], vif_impl: str | None) -> dict[str, Any]:
    """vif's median over the best (fastest) peer's median for one row of JSON cells."""
    out: dict[str, Any] = {"vif_impl": vif_impl, "best_peer": None, "value": None}
    out["significant"] = False
    peers = {p: row[p] for p in PEERS if row.get(p, {}).get("status") == "ok"}
    vif = row.get(vif_impl or "", {})
    if vif_impl is None:
        out["reason"] = "no vif implementation ran"
    elif vif.get("status") != "ok":
        out["reason"] = f"{vif_impl} n/a"
    elif not peers:
        out["reason"] = "no peer ran"
    else:
        best = min(peers, key=lambda p: peers[p]["median"])
        peer = peers[best]
        out.update(best_peer=best, value=vif["median"] / peer["median"], reason=None)
        out["significant"] = vif["max"] < peer["min"] or vif["min"] > peer["max"]
    return out


def build_document(result: SuiteResult, meta: dict[str, Any]) -> dict[str, Any]:
    """The ``latest.json`` document: ``meta`` (machine, python, ...) plus every cell."""
    plan = result.plan
    vif_impl = pick_vif(result.probes)
    rows = []
    for bench in plan.benchmarks:
        cells: dict[str, Cell] = result.cells[bench.name]
        results = {name: cell.to_json() for name, cell in cells.items() if name != FLOOR}
        row: dict[str, Any] = {
            "name": bench.name,
            "group": bench.group,
            "module": bench.module,
            "description": bench.description,
            "n": bench.count(plan.scale),
            "n_full": bench.n,
            "unit": bench.unit,
            "results": results,
            "floor": cells[FLOOR].to_json() if FLOOR in cells else None,
        }
        row["ratio"] = ratio(results, vif_impl)
        rows.append(row)
    implementations = {}
    for name in plan.impls:
        p = result.probes[name]
        implementations[name] = {
            "available": bool(p["ok"]),
            "reason": None if p["ok"] else p.get("reason"),
            **(p.get("info") or {}),
        }
    return {
        "schema": SCHEMA,
        **meta,
        "config": {
            "scale": plan.scale,
            "rounds": plan.rounds,
            "warmup_rounds": plan.warmup,
            "warmup_scale": round(plan.scale * plan.warmup_scale, 9),
            "timeout": plan.timeout,
            **meta.get("config", {}),
        },
        "wall_seconds": round(result.wall_seconds, 3),
        "implementations": implementations,
        "vif_impl": vif_impl,
        "floor": result.floor_info,
        "benchmarks": rows,
    }


# --------------------------------------------------------------------------- rendering


def fmt_seconds(value: float) -> str:
    """Seconds with three significant digits."""
    return f"{value:.3g}" if value < 1000 else f"{value:.0f}"


def fmt_ratio(r: dict[str, Any]) -> str:
    """``0.42x uvloop *`` (``*`` when significant) or ``n/a``."""
    if r.get("value") is None:
        return "n/a"
    return f"{r['value']:.2f}x {r['best_peer']}{' *' if r['significant'] else ''}"


class _Notes:
    """Numbered footnotes for n/a cells; one number per distinct reason."""

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}
        self.who: dict[str, list[str]] = {}

    def mark(self, reason: str, who: str) -> str:
        number = self.numbers.setdefault(reason, len(self.numbers) + 1)
        self.who.setdefault(reason, [])
        if who not in self.who[reason]:
            self.who[reason].append(who)
        return f"n/a[{number}]"

    def lines(self) -> list[str]:
        out = []
        for reason, number in self.numbers.items():
            who = self.who[reason]
            shown = ", ".join(who[:6]) + (f" +{len(who) - 6} more" if len(who) > 6 else "")
            out.append(f"[{number}] {shown}: {reason}")
        return out


def _columns(doc: dict[str, Any]) -> tuple[list[str], bool]:
    impls = list(doc["implementations"])
    has_floor = any(row.get("floor") for row in doc["benchmarks"])
    return impls, has_floor


def _cell_text(cell: dict[str, Any] | None, notes: _Notes, who: str, ranges: bool) -> str:
    if cell is None:
        return "-"
    if cell.get("status") == "ok":
        text = fmt_seconds(cell["median"])
        if ranges:
            text += f" ({fmt_seconds(cell['min'])}-{fmt_seconds(cell['max'])})"
        return text
    if cell.get("status") == "n/a":
        return notes.mark(cell.get("reason") or "failed", who)
    return "-"


def _grid(doc: dict[str, Any], ranges: bool) -> tuple[list[str], list[list[str]], _Notes]:
    impls, has_floor = _columns(doc)
    header = ["benchmark", "n", *impls] + ([FLOOR] if has_floor else []) + ["vif/best-peer"]
    notes = _Notes()
    body = []
    for row in doc["benchmarks"]:
        line = [row["name"], str(row["n"])]
        for impl in impls:
            line.append(_cell_text(row["results"].get(impl), notes, impl, ranges))
        if has_floor:
            line.append(_cell_text(row.get("floor"), notes, FLOOR, ranges))
        line.append(fmt_ratio(row["ratio"]))
        body.append(line)
    return header, body, notes


def _legend(doc: dict[str, Any]) -> list[str]:
    vif = doc.get("vif_impl") or "vif"
    return [
        "Median seconds per benchmark, lower is better; "
        f"{doc['config']['rounds']} rounds, scale {doc['config']['scale']:g}.",
        f"vif/best-peer = {vif} median / fastest peer median (< 1: vif faster); {SIG_NOTE}.",
    ]


def text_table(doc: dict[str, Any]) -> str:
    """The plain-text table printed on stdout."""
    header, body, notes = _grid(doc, ranges=False)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in body]
    out += ["", *_legend(doc), *notes.lines()]
    return "\n".join(out) + "\n"


def markdown(doc: dict[str, Any]) -> str:
    """``latest.md``: context, then the table with min-max ranges, then the footnotes."""
    header, body, notes = _grid(doc, ranges=True)
    m, py = doc["machine"], doc["python"]
    peers = ", ".join(f"{k} {v or 'missing'}" for k, v in doc["peers"].items())
    impls = ", ".join(
        f"{k} {v.get('version') or ''}".strip() if v["available"] else f"{k} (n/a)"
        for k, v in doc["implementations"].items()
    )
    floor = "C epoll echo" if doc["floor"].get("available") else doc["floor"].get("reason")
    out = [
        "# vif benchmark results",
        "",
        f"- Run: {doc['started']} ({'quick' if doc['config'].get('quick') else 'full'}, "
        f"{doc['wall_seconds']:.0f} s wall)",
        f"- Machine: {m['cpu_model']}, {m['cores']} cores, kernel {m['kernel']}, "
        f"load average at start {m.get('load_average')}",
        f"- Python {py['version']} ({py['implementation']})",
        f"- Implementations: {impls}",
        f"- Peer packages: {peers}",
        f"- Floor: {floor}",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
    ]
    out += ["| " + " | ".join(r) + " |" for r in body]
    out += ["", "Cells: median (min-max) seconds.", ""]
    out += [f"- {x}" for x in _legend(doc)]
    out += [f"- {x}" for x in notes.lines()]
    out += ["", *targets.markdown_lines(doc)]
    return "\n".join(out) + "\n"


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write via a ``.tmp`` sibling and rename, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if isinstance(data, str):
        tmp.write_text(data, encoding="utf-8")
    else:
        tmp.write_bytes(data)
    os.replace(tmp, path)
