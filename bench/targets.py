"""The issues' speed targets, checked against one run's results.

Owns :data:`TARGETS` (each target as a ratio of two cells of the same run) and
:func:`check`, which evaluates them on a ``latest.json`` document; the Markdown
report prints the outcome as its "Targets" section. A library comparison takes
its peer on the best of the stock loops (asyncio, uvloop), as the HTTP issue
defines it: "the best of aiohttp-on-asyncio and aiohttp-on-uvloop".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STOCK_LOOPS = ("asyncio", "uvloop")
LOOP_PEERS = ("uvloop", "rloop")


@dataclass(frozen=True)
class Target:
    """A ratio of two medians of one run, in the issue's own terms.

    ``subject`` and ``base`` are ``(row, impls)``: the fastest median among
    ``impls`` that ran is taken. With ``at_most`` false the value is a speedup,
    ``time(base) / time(subject)``, met when ``>= goal``; with ``at_most`` true
    it is a time ratio, ``time(subject) / time(base)``, met when ``<= goal``.
    """

    issue: str
    label: str
    subject: tuple[str, tuple[str, ...]]
    base: tuple[str, tuple[str, ...]]
    goal: float
    at_most: bool = False


def _loop_row(name: str) -> Target:
    return Target("#8", f"{name}: vif time / best of uvloop, rloop", (name, ("vif",)),
                  (name, LOOP_PEERS), 0.8, at_most=True)


def _traced(name: str) -> Target:
    return Target("#7", f"traced_{name} time / {name} (vif)", (f"traced_{name}", ("vif",)),
                  (name, ("vif",)), 1.5, at_most=True)


TARGETS: tuple[Target, ...] = (
    Target("#5", "read_bytes, 64 in flight, vs aiofiles open+read",
           ("files_read_bytes_vif_64", ("vif",)),
           ("files_open_read_aiofiles_64", STOCK_LOOPS), 10.0),
    Target("#5", "vif.open + read, 64 in flight, vs aiofiles",
           ("files_open_read_vif_64", ("vif",)),
           ("files_open_read_aiofiles_64", STOCK_LOOPS), 5.0),
    Target("#5", "vif.open + read, 1 in flight, vs aiofiles",
           ("files_open_read_vif_1", ("vif",)),
           ("files_open_read_aiofiles_1", STOCK_LOOPS), 3.0),
    Target("#5", "async for line: lines/s vs the sync loop", ("files_lines_vif", ("vif",)),
           ("files_lines_sync", ("vif",)), 0.5),
    Target("#5", "64 MiB read (vif.open) vs sync", ("files_seq64m_vif", ("vif",)),
           ("files_seq64m_sync", ("vif",)), 1.0),
    Target("#5", "64 MiB read (read_bytes) vs sync", ("files_seq64m_vif_read_bytes", ("vif",)),
           ("files_seq64m_sync", ("vif",)), 1.0),
    *(
        Target("#6", f"vif.http on vif vs aiohttp, {k} in flight", (f"http_vif_{k}", ("vif",)),
               (f"http_aiohttp_{k}", STOCK_LOOPS), 1.5)
        for k in (1, 10, 100)
    ),
    *(
        Target("#6", f"vif.http vs aiohttp on asyncio, {k} in flight",
               (f"http_vif_{k}", ("asyncio",)), (f"http_aiohttp_{k}", ("asyncio",)), 1.0)
        for k in (1, 10, 100)
    ),
    *(_traced(n) for n in ("call_soon", "sleep_timers", "tasks_sleep0", "queue_pingpong",
                           "future_await")),
)


def _best(rows: dict[str, dict[str, Any]], row: str, impls: tuple[str, ...]):
    cells = rows.get(row, {}).get("results", {})
    found = [(c["median"], i) for i in impls if (c := cells.get(i)) and c.get("status") == "ok"]
    return min(found) if found else None


def check(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with its measured speedup (None when a cell is missing)."""
    rows = {row["name"]: row for row in doc["benchmarks"]}
    targets = list(TARGETS)
    targets += [_loop_row(r["name"]) for r in doc["benchmarks"]
                if r["group"] in ("loop", "network")]
    out = []
    for t in targets:
        subject, base = _best(rows, *t.subject), _best(rows, *t.base)
        value = None
        if subject and base:
            value = subject[0] / base[0] if t.at_most else base[0] / subject[0]
        out.append({
            "issue": t.issue,
            "label": t.label,
            "goal": t.goal,
            "at_most": t.at_most,
            "value": value,
            "against": base[1] if base else None,
            "met": None if value is None else (value <= t.goal if t.at_most else value >= t.goal),
        })
    floor_row = rows.get("echo_proto_100B")
    if floor_row and floor_row.get("floor") and floor_row["floor"].get("status") == "ok":
        vif = _best(rows, "echo_proto_100B", ("vif",))
        if vif:
            value = vif[0] / floor_row["floor"]["median"]
            out.append({"issue": "#8", "label": "echo_proto_100B: vif time / the C epoll floor",
                        "goal": 2.0, "at_most": True, "value": value, "against": "floor",
                        "met": value <= 2.0})
    return out


def markdown_lines(doc: dict[str, Any]) -> list[str]:
    """The report's "Targets" section."""
    out = [
        "## Targets",
        "",
        "Each issue's targets on this run's medians. A speedup is the base's time over"
        " vif's (goal: at least); a time ratio is vif's time over the base's (goal: at"
        " most). A library's base is its fastest stock loop (asyncio, uvloop).",
        "",
        "| issue | target | base | value | goal | met |",
        "|---|---|---|---:|---:|---|",
    ]
    for t in check(doc):
        value = "n/a" if t["value"] is None else f"{t['value']:.2f}x"
        goal = f"{'<=' if t['at_most'] else '>='} {t['goal']:g}x"
        met = {None: "n/a", True: "yes", False: "no"}[t["met"]]
        out.append(f"| {t['issue']} | {t['label']} | {t['against'] or '-'} | {value} "
                   f"| {goal} | {met} |")
    return out
