"""Child-process side: run one benchmark (or a probe) on one implementation.

Invoked by the runner as ``python -m bench.child '<json spec>'`` in a fresh
process.  The spec names the implementation, the benchmark (``null`` for a probe
that only creates a loop and runs one coroutine) and the amount of work.  The
outcome goes to stdout as one line ``@@BENCH-RESULT@@ {json}``:

* ``{"ok": true, "elapsed": seconds, "info": {...}}``, or
* ``{"ok": false, "kind": "unavailable" | "not-implemented" | "error",
  "reason": short text, "traceback": full text or null}``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import traceback
from typing import Any

MARKER = "@@BENCH-RESULT@@"


def _summary(exc: BaseException) -> str:
    """``Type: message (file:line in function)`` for the innermost frame of ``exc``."""
    text = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        text += f" ({os.path.basename(last.filename)}:{last.lineno} in {last.name})"
    return text


def _not_implemented(exc: BaseException) -> bool:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, NotImplementedError):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return False


async def _probe_coro() -> float:
    await asyncio.sleep(0)
    return 0.0


def run(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the measurement described by ``spec`` and return the outcome dict."""
    from bench.impls import IMPLS, Unavailable
    from bench.registry import Context, get

    impl = IMPLS[spec["impl"]]
    try:
        factory, info = impl.setup()
    except Unavailable as exc:
        return {"ok": False, "kind": "unavailable", "reason": str(exc), "traceback": None}
    ctx = Context(impl=impl.name, new_loop=factory, scale=float(spec.get("scale", 1.0)), info=info)
    try:
        if spec.get("bench") is None:
            elapsed = ctx.run(_probe_coro())
        else:
            elapsed = float(get(spec["bench"]).fn(ctx, int(spec["n"])))
    except Exception as exc:
        kind = "not-implemented" if _not_implemented(exc) else "error"
        reason = _summary(exc)
        if kind == "not-implemented":
            reason = f"not implemented: {reason}"
        if spec.get("bench") is None and kind == "error":
            kind = "unavailable"
            reason = f"cannot run a loop: {reason}"
        return {"ok": False, "kind": kind, "reason": reason, "traceback": traceback.format_exc()}
    return {"ok": True, "elapsed": elapsed, "info": info}


def main(argv: list[str] | None = None) -> None:
    """Entry point: parse the JSON spec, run, print the marker line and exit at once."""
    args = sys.argv[1:] if argv is None else argv
    result = run(json.loads(args[0]))
    sys.stdout.write(f"\n{MARKER} {json.dumps(result)}\n")
    sys.stdout.flush()
    sys.stderr.flush()
    # Leave at once: a benchmark that leaked a thread or a loop must not hang the exit.
    os._exit(0)


if __name__ == "__main__":
    main()
