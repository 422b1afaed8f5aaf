"""The cost of ``vif.trace``: loop benchmarks re-run while a recording is on.

Each ``traced_<name>`` row runs the ``loop`` group's ``<name>`` benchmark, the same
work and the same measured part, inside ``with vif.trace.record():`` so the
recording sees every task and callback. Compare a row with its untraced twin in
the ``loop`` group: the goal is at most 1.5 times the untraced time. (The cost of
tracing *off* is the loop rows themselves: one attribute test per step.) Other
loops cannot be traced: their cells are ``n/a``.
"""

from __future__ import annotations

from bench.benchmarks import loop as _loop_rows  # noqa: F401  (registers the rows get() reads)
from bench.registry import BenchFn, Context, benchmark, get

ORDER = 0


def _traced(name: str, fn: BenchFn, n: int, unit: str) -> None:
    def traced(ctx: Context, n: int) -> float:
        probe = ctx.new_loop()
        try:
            traceable = hasattr(probe, "set_tracer")
        finally:
            probe.close()
        if not traceable:
            raise NotImplementedError("vif.trace records vif loops only")
        import vif.trace

        with vif.trace.record() as rec:
            elapsed = fn(ctx, n)
        if rec.recorder.callback_count == 0:
            raise AssertionError(f"the recording saw no callback in {n} {unit}")
        return elapsed

    traced.__name__ = f"traced_{name}"
    traced.__doc__ = f"{name} while vif.trace.record() is on (compare with {name})."
    benchmark(
        f"traced_{name}",
        group="tracing",
        n=n,  # the untraced row's n: the times compare like for like
        unit=unit,
        min_n=10,
        impls=("vif", "vif-pure"),
    )(traced)


_ROWS = ("call_soon", "sleep_timers", "tasks_sleep0", "queue_pingpong", "future_await")

for _name in _ROWS:
    _row = get(_name)  # the untraced row: its function, n and unit
    _traced(_name, _row.fn, _row.n, _row.unit)
