"""The command line: ``python -m bench [--quick] [--only NAME ...] [--impl NAME ...] ...``.

Parses the options, runs the suite (:mod:`bench.runner`), prints the table and
writes ``latest.json``, ``latest.md`` and ``latest.png`` to the output directory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import chart, machine, report
from bench.impls import IMPLS, REPO_ROOT
from bench.registry import load_all, select
from bench.runner import Plan, run_suite

RESULTS_DIR = Path(__file__).resolve().parent / "results"
# The probe of each implementation (import, new loop, one coroutine) is always a first
# warm-up; --quick skips the extra warm-up round to stay within its time budget.
QUICK = {"scale": 0.1, "rounds": 2, "warmup": 0}
FULL = {"scale": 1.0, "rounds": 4, "warmup": 1}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The options (see ``python -m bench --help``)."""
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"scale {QUICK['scale']:g}, {QUICK['rounds']} rounds (under 3 minutes)",
    )
    p.add_argument(
        "--only",
        nargs="+",
        action="extend",
        metavar="NAME",
        help="benchmarks to run: names, group names or globs ('echo_*', 'loop')",
    )
    p.add_argument(
        "--impl",
        nargs="+",
        action="extend",
        metavar="NAME",
        choices=list(IMPLS),
        help=f"implementations to run (default all: {' '.join(IMPLS)})",
    )
    p.add_argument("--rounds", type=int, help="measured rounds (default 4, quick 2)")
    p.add_argument(
        "--warmup",
        type=int,
        help="warm-up rounds at 1/10 of the scale, discarded (default 1, quick 0)",
    )
    p.add_argument(
        "--scale",
        type=float,
        help="multiply every benchmark's amount of work (default 1, quick 0.1)",
    )
    p.add_argument("--timeout", type=float, help="seconds per child process (default: adaptive)")
    p.add_argument(
        "--out",
        type=Path,
        default=RESULTS_DIR,
        help="directory for latest.json/.md/.png (default bench/results)",
    )
    p.add_argument("--no-floor", action="store_true", help="skip the C floor")
    p.add_argument("--no-chart", action="store_true", help="skip latest.png")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    p.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="print the table of a saved results file and exit",
    )
    return p.parse_args(argv)


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _list() -> int:
    for b in load_all():
        print(f"{b.group:10} {b.name:24} n={b.n:<9} {b.description}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the suite; 0 on success (n/a cells included), 2 on bad arguments."""
    args = parse_args(argv)
    if args.list:
        return _list()
    if args.render:
        print(report.text_table(json.loads(args.render.read_text())), end="")
        return 0
    defaults = QUICK if args.quick else FULL
    try:
        benchmarks = select(args.only)
    except KeyError as exc:
        print(f"error: {exc.args[0]} (see --list)", file=sys.stderr)
        return 2
    impls = [name for name in IMPLS if not args.impl or name in args.impl]
    plan = Plan(
        benchmarks=benchmarks,
        impls=impls,
        scale=args.scale if args.scale is not None else defaults["scale"],
        rounds=max(1, args.rounds if args.rounds is not None else defaults["rounds"]),
        warmup=max(0, args.warmup if args.warmup is not None else defaults["warmup"]),
        timeout=args.timeout,
        floor=not args.no_floor,
    )
    started = _now()
    t0 = time.perf_counter()
    info = machine.machine_info()
    load = info.get("load_average")
    if load and load[0] > 0.5 * (info["usable_cores"] or 1):
        print(
            f"warning: the machine is busy (load average {load}); figures will be noisy",
            file=sys.stderr,
        )
    print(
        f"bench: {len(benchmarks)} benchmarks x {len(impls)} implementations, "
        f"scale {plan.scale:g}, {plan.warmup} warm-up + {plan.rounds} rounds",
        file=sys.stderr,
    )
    result = run_suite(plan, progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    meta: dict[str, Any] = {
        "started": started,
        "finished": _now(),
        "argv": sys.argv[1:] if argv is None else list(argv),
        "machine": info,
        "load_average_end": machine.load_average(),
        "python": machine.python_info(),
        "peers": machine.peer_versions(),
        "git": {
            "commit": _git("rev-parse", "HEAD"),
            "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        },
        "config": {"quick": bool(args.quick)},
    }
    doc = report.build_document(result, meta)
    doc["wall_seconds"] = round(time.perf_counter() - t0, 3)
    out: Path = args.out
    report.write_atomic(out / "latest.json", json.dumps(doc, indent=1) + "\n")
    report.write_atomic(out / "latest.md", report.markdown(doc))
    png = out / "latest.png"
    note = "chart skipped: --no-chart" if args.no_chart else chart.write_chart(doc, png)
    print(report.text_table(doc), end="")
    written = [out / "latest.json", out / "latest.md"] + ([] if note else [png])
    print(f"\nwrote {', '.join(str(p) for p in written)} in {doc['wall_seconds']:.0f} s")
    if note:
        print(note)
    return 0
