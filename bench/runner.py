"""Parent side of the measurements: probes, warm-up, rounds, subprocesses and timeouts.

Every measurement is a fresh ``python -m bench.child`` process.  Within a round
each benchmark runs on every implementation in turn (A B C A B C ...), then the C
floor when the row has one, so drift hits all alike.  A cell that fails (error,
``NotImplementedError``, crash, timeout) is ``n/a`` with the reason and is not
retried in later rounds.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import floor as floor_mod
from bench.child import MARKER
from bench.impls import IMPLS, REPO_ROOT
from bench.registry import Benchmark

FLOOR = "floor"


@dataclass
class Cell:
    """The outcome of one benchmark on one implementation (or the floor)."""

    status: str = "pending"  # pending | ok | n/a
    samples: list[float] = field(default_factory=list)
    kind: str | None = None  # unavailable | not-implemented | error | crash | timeout
    reason: str | None = None
    traceback: str | None = None

    def fail(self, kind: str, reason: str, tb: str | None = None) -> None:
        """Mark the cell ``n/a``; earlier samples are dropped."""
        self.status, self.kind, self.reason, self.traceback = "n/a", kind, reason, tb
        self.samples = []

    def to_json(self) -> dict[str, Any]:
        """The JSON form (statistics included when there are samples)."""
        from bench.report import stats

        data: dict[str, Any] = {"status": self.status, "samples": self.samples}
        if self.samples:
            data.update(stats(self.samples))
        if self.status == "n/a":
            data.update(kind=self.kind, reason=self.reason, traceback=self.traceback)
        return data


@dataclass
class Plan:
    """What to run and how."""

    benchmarks: list[Benchmark]
    impls: list[str]
    scale: float = 1.0
    rounds: int = 5
    warmup: int = 1
    warmup_scale: float = 0.1  # relative to ``scale``
    timeout: float | None = None  # per child; None = adaptive
    floor: bool = True


@dataclass
class SuiteResult:
    """Everything measured: probes, the floor build and one row of cells per benchmark."""

    plan: Plan
    probes: dict[str, dict[str, Any]]
    floor_info: dict[str, Any]
    cells: dict[str, dict[str, Cell]]
    wall_seconds: float = 0.0


Progress = Callable[[str], None]


def _child_cmd(spec: dict[str, Any]) -> list[str]:
    return [sys.executable, "-m", "bench.child", json.dumps(spec)]


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


_shared: list[str] = []


def shared_dir() -> str:
    """A directory that every child of this run sees as ``VIF_BENCH_SHARED``.

    Data sets that cost more to make than to measure (the files rows' 80 MB) are
    made there once per run instead of once per child; it is removed when the
    run's process exits.
    """
    if not _shared:
        _shared.append(tempfile.mkdtemp(prefix="vif-bench-shared-"))
        atexit.register(shutil.rmtree, _shared[0], True)
    return _shared[0]


def run_child(impl: str, spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run one child process; always return an outcome dict (see :mod:`bench.child`).

    The child's ``TMPDIR`` is a directory of its own that is removed when it ends: it
    leaves with ``os._exit`` (no ``atexit``) or is killed on timeout, and its data
    sets (the files rows write 80 MB) must not pile up in ``/tmp`` run after run.
    """
    scratch = tempfile.mkdtemp(prefix="vif-bench-")
    try:
        return _run_child(impl, spec, timeout, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run_child(impl: str, spec: dict[str, Any], timeout: float, scratch: str) -> dict[str, Any]:
    env = IMPLS[impl].child_env()
    env["TMPDIR"] = scratch
    env["VIF_BENCH_SHARED"] = shared_dir()
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(REPO_ROOT), env.get("PYTHONPATH", "")] if p)
    env.setdefault("PYTHONHASHSEED", "0")
    proc = subprocess.Popen(
        _child_cmd({"impl": impl, **spec}),
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Its own session: a timeout kills its helpers too (the process group), and with
        # Linux autogroup scheduling it gets a CPU share of its own, whatever else runs.
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.communicate()
        return {"ok": False, "kind": "timeout", "reason": f"timed out after {timeout:.0f} s"}
    finally:
        if proc.poll() is None:
            _kill_group(proc)
            proc.wait()
    for line in reversed(out.splitlines()):
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER) :])
    tail = (err.strip().splitlines() or ["no output"])[-1]
    return {
        "ok": False,
        "kind": "crash",
        "reason": f"child exited with {proc.returncode}: {tail}",
        "traceback": err[-4000:] or None,
    }


def probe(impl: str, timeout: float = 60.0) -> dict[str, Any]:
    """Can ``impl`` create a loop here?  Returns the child's outcome dict."""
    return run_child(impl, {"bench": None}, timeout)


class _Timeouts:
    """Per-child timeouts: generous until a benchmark's scale is known, then adaptive."""

    def __init__(self, fixed: float | None, scale: float) -> None:
        self.fixed = fixed
        self.default = 120.0 if scale <= 0.2 else 600.0
        self.longest: dict[tuple[str, int], float] = {}

    def get(self, name: str, n: int) -> float:
        if self.fixed is not None:
            return self.fixed
        seen = self.longest.get((name, n))
        return self.default if seen is None else min(self.default, max(20.0, 15.0 * seen))

    def saw(self, name: str, n: int, seconds: float) -> None:
        key = (name, n)
        self.longest[key] = max(self.longest.get(key, 0.0), seconds)


def _fmt(cell: Cell, value: float | None) -> str:
    if value is not None:
        return f"{value:.3f}"
    return "n/a" if cell.status == "n/a" else "-"


def run_suite(plan: Plan, progress: Progress | None = None) -> SuiteResult:
    """Probe the implementations, build the floor, run warm-up and measured rounds."""
    say = progress or (lambda _msg: None)
    started = time.perf_counter()

    probes: dict[str, dict[str, Any]] = {}
    for impl in plan.impls:
        probes[impl] = probe(impl)
        state = "ok" if probes[impl]["ok"] else f"n/a ({probes[impl]['reason']})"
        say(f"probe {impl}: {state}")

    floor_info: dict[str, Any] = {"available": False, "reason": "no benchmark with a floor"}
    binary: Path | None = None
    if plan.floor and any(b.floor for b in plan.benchmarks):
        try:
            binary = floor_mod.build()
            floor_info = {"available": True, "binary": str(binary), "reason": None}
        except floor_mod.FloorUnavailable as exc:
            floor_info = {"available": False, "reason": str(exc)}
        say(f"floor: {'built ' + str(binary) if binary else 'n/a (' + floor_info['reason'] + ')'}")
    elif not plan.floor:
        floor_info = {"available": False, "reason": "disabled (--no-floor)"}

    cells: dict[str, dict[str, Cell]] = {}
    for bench in plan.benchmarks:
        row = cells[bench.name] = {}
        for impl in plan.impls:
            row[impl] = Cell()
            if not probes[impl]["ok"]:
                row[impl].fail("unavailable", probes[impl]["reason"])
            elif bench.impls is not None and impl not in bench.impls:
                row[impl].fail("skipped", "not measured on this loop (a library comparison)")
        if bench.floor:
            row[FLOOR] = Cell()
            if binary is None:
                row[FLOOR].fail("unavailable", floor_info["reason"])

    timeouts = _Timeouts(plan.timeout, plan.scale)
    floor_runs: dict[tuple[str, int, tuple[int, int]], float] = {}
    schedule = [("warm-up", plan.scale * plan.warmup_scale, i) for i in range(plan.warmup)]
    schedule += [("round", plan.scale, i) for i in range(plan.rounds)]
    for label, scale, index in schedule:
        total = plan.warmup if label == "warm-up" else plan.rounds
        measured = label == "round"
        for bench in plan.benchmarks:
            n = bench.count(scale)
            row = cells[bench.name]
            shown: list[str] = []
            for impl in plan.impls:
                cell = row[impl]
                value = None
                if cell.status != "n/a":
                    spec = {"bench": bench.name, "n": n, "scale": scale}
                    outcome = run_child(impl, spec, timeouts.get(bench.name, n))
                    if outcome["ok"]:
                        value = float(outcome["elapsed"])
                        timeouts.saw(bench.name, n, value)
                        if measured:
                            cell.status = "ok"
                            cell.samples.append(value)
                    else:
                        cell.fail(outcome["kind"], outcome["reason"], outcome.get("traceback"))
                shown.append(f"{impl} {_fmt(cell, value)}")
            fargs = bench.floor_args(scale)
            if fargs and binary is not None and row[FLOOR].status != "n/a":
                value = None
                try:
                    # Rows with the same floor workload share one run per round.
                    key = (label, index, fargs)
                    if key not in floor_runs:
                        floor_runs[key] = floor_mod.run(
                            binary, *fargs, timeout=timeouts.get(bench.name, n)
                        )
                    value = floor_runs[key]
                    if measured:
                        row[FLOOR].status = "ok"
                        row[FLOOR].samples.append(value)
                except floor_mod.FloorUnavailable as exc:
                    row[FLOOR].fail("error", str(exc))
                shown.append(f"floor {_fmt(row[FLOOR], value)}")
            say(f"{label} {index + 1}/{total} {bench.name} n={n}: " + "  ".join(shown))

    return SuiteResult(plan, probes, floor_info, cells, time.perf_counter() - started)
