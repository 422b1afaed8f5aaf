"""``python -m vif``: the command line.

* ``python -m vif`` - a REPL whose top-level ``await`` runs on a vif loop;
* ``python -m vif run script.py [args]`` / ``run -m module [args]`` - run a
  program with vif as the default loop (plain ``asyncio.run`` gets a vif loop);
* ``python -m vif trace [-o FILE] [--format html|perfetto|json] [--slow MS]
  [--summary] script.py [args]`` (or ``-m module``) - run it while recording
  (:mod:`vif.trace`) and write the timeline.

Owns argument parsing and running a target the way ``python script.py`` /
``python -m module`` would (``sys.argv``, ``sys.path[0]``, ``__main__``).
"""

from __future__ import annotations

import os
import runpy
import sys
from dataclasses import dataclass, field

USAGE = """\
usage: python -m vif                          a REPL with top-level await on vif
       python -m vif run script.py [args...]  run a program with vif as the default loop
       python -m vif run -m module [args...]
       python -m vif trace [options] script.py [args...]   (or -m module [args...])
           -o, --output FILE     where to write (default vif-trace.html, or .json)
           --format FORMAT       html (default), perfetto (Chrome trace JSON) or json
           --slow MS             a callback this long blocks the loop (default 10)
           --summary             print the text summary to stderr
"""

FORMATS = ("html", "perfetto", "json")


class UsageError(Exception):
    pass


@dataclass
class Target:
    """What to run: a script path or a module name, with its arguments."""

    path: str | None = None
    module: str | None = None
    args: list[str] = field(default_factory=list)

    @property
    def display(self) -> str:
        return self.module if self.module is not None else os.path.basename(self.path or "")


@dataclass
class TraceOptions:
    output: str | None = None
    format: str = "html"
    slow_ms: float = 10.0
    summary: bool = False


def _parse_target(argv: list[str]) -> Target:
    if not argv:
        raise UsageError("missing script or -m module")
    if argv[0] == "-m":
        if len(argv) < 2:
            raise UsageError("-m needs a module name")
        return Target(module=argv[1], args=argv[2:])
    if argv[0].startswith("-m") and len(argv[0]) > 2:
        return Target(module=argv[0][2:], args=argv[1:])
    if argv[0].startswith("-"):
        raise UsageError(f"unknown option {argv[0]!r}")
    return Target(path=argv[0], args=argv[1:])


def _parse_trace(argv: list[str]) -> tuple[TraceOptions, Target]:
    opts = TraceOptions()
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-o", "--output", "--format", "--slow"):
            if i + 1 >= len(argv):
                raise UsageError(f"{arg} needs a value")
            value = argv[i + 1]
            i += 2
        elif arg.startswith("--") and "=" in arg:
            arg, value = arg.split("=", 1)
            i += 1
        elif arg == "--summary":
            opts.summary = True
            i += 1
            continue
        else:
            break
        if arg in ("-o", "--output"):
            opts.output = value
        elif arg == "--format":
            if value not in FORMATS:
                raise UsageError(f"--format must be one of {', '.join(FORMATS)}")
            opts.format = value
        elif arg == "--slow":
            try:
                opts.slow_ms = float(value)
            except ValueError:
                raise UsageError("--slow takes milliseconds, e.g. --slow 20") from None
        else:
            raise UsageError(f"unknown option {arg!r}")
    if opts.output is None:
        opts.output = "vif-trace.html" if opts.format == "html" else "vif-trace.json"
    return opts, _parse_target(argv[i:])


def run_target(target: Target) -> None:
    """Run ``target`` as ``__main__`` with vif installed as the default loop."""
    import vif

    vif.install()
    if target.module is not None:
        sys.argv = [target.module, *target.args]  # runpy puts the module's path in argv[0]
        runpy.run_module(target.module, run_name="__main__", alter_sys=True)
    else:
        assert target.path is not None
        if not os.path.exists(target.path):
            raise UsageError(f"can't open file {target.path!r}: no such file")
        sys.argv = [target.path, *target.args]
        sys.path[0] = os.path.dirname(os.path.abspath(target.path))
        runpy.run_path(target.path, run_name="__main__")


def trace_target(opts: TraceOptions, target: Target) -> None:
    """Run ``target`` while recording; write the trace even when it fails or exits."""
    from vif import trace

    assert opts.output is not None
    output = os.path.abspath(opts.output)
    rec = trace.record(slow=opts.slow_ms / 1000.0, title=f"vif trace: {target.display}")
    try:
        with rec:
            run_target(target)
    finally:
        rec.save(output, format=opts.format)  # type: ignore[arg-type]
        print(f"vif: wrote the {opts.format} trace to {opts.output}", file=sys.stderr)
        if opts.summary:
            print(rec.summary(), file=sys.stderr, end="")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if not argv:
            from ._repl import main as repl

            return repl()
        command, rest = argv[0], argv[1:]
        if command in ("-h", "--help", "help") or rest[:1] in (["-h"], ["--help"]):
            print(USAGE, end="")
            return 0
        if command == "run":
            run_target(_parse_target(rest))
            return 0
        if command == "trace":
            trace_target(*_parse_trace(rest))
            return 0
        raise UsageError(f"unknown command {command!r}")
    except UsageError as exc:
        print(f"vif: {exc}\n\n{USAGE}", file=sys.stderr, end="")
        return 2
