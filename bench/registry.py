"""The benchmark catalogue: the ``@benchmark`` decorator and the lookup functions.

A benchmark is a plain function ``fn(ctx, n) -> float`` that runs ``n`` units of
work on a fresh event loop (``ctx.new_loop()``) and returns the elapsed seconds
measured with :func:`time.perf_counter` around the measured part only.

Adding a benchmark is adding a module to :mod:`bench.benchmarks` with functions
decorated by :func:`benchmark`; :func:`load_all` imports every module there.
Rows are ordered by group (:data:`GROUP_ORDER`), then by the module's optional
``ORDER`` constant (default 100), then by registration order.
"""

from __future__ import annotations

import asyncio
import fnmatch
import importlib
import pkgutil
import sys
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

#: Loops on which rows comparing libraries (files, HTTP clients) are measured.
LIBRARY_ROW_IMPLS = ("asyncio", "uvloop", "vif")

#: Display order of the groups; unknown groups come after these, alphabetically.
GROUP_ORDER = ["loop", "network", "tls", "subprocess", "files", "http"]


@dataclass
class Context:
    """What a benchmark gets from the child process: the loop factory and the scale."""

    impl: str
    new_loop: Callable[[], asyncio.AbstractEventLoop]
    scale: float = 1.0
    info: dict[str, Any] = field(default_factory=dict)

    def run(self, coro: Coroutine[Any, Any, float]) -> float:
        """Run ``coro`` to completion on a fresh loop of this implementation."""
        with asyncio.Runner(loop_factory=self.new_loop) as runner:
            return runner.run(coro)


BenchFn = Callable[[Context, int], float]


@dataclass(frozen=True)
class Benchmark:
    """One registered benchmark."""

    name: str
    group: str
    fn: BenchFn
    n: int
    unit: str
    description: str
    min_n: int = 1
    floor: tuple[int, int] | None = None  # (round trips, message size) for the C floor
    module: str = ""
    order: int = 0
    # The implementations this row is measured on (None: all). Rows that compare
    # libraries rather than loops need only a few loops as columns.
    impls: tuple[str, ...] | None = None

    def count(self, scale: float) -> int:
        """The number of units of work at ``scale`` (1.0 = the full benchmark)."""
        return max(self.min_n, round(self.n * scale))

    def floor_args(self, scale: float) -> tuple[int, int] | None:
        """Arguments of the C floor for this benchmark at ``scale``, if it has one."""
        if self.floor is None:
            return None
        rounds, size = self.floor
        return max(self.min_n, round(rounds * scale)), size


_REGISTRY: dict[str, Benchmark] = {}


def benchmark(
    name: str,
    *,
    group: str,
    n: int,
    unit: str = "ops",
    description: str = "",
    min_n: int = 1,
    floor: tuple[int, int] | None = None,
    impls: tuple[str, ...] | None = None,
) -> Callable[[BenchFn], BenchFn]:
    """Register ``fn(ctx, n) -> seconds`` under ``name``.

    ``n`` is the full-scale amount of work; ``--quick`` and ``--scale`` multiply it.
    ``floor=(round_trips, size)`` attaches the C epoll echo floor to the row;
    ``impls`` limits the row to those implementations (the others show n/a).
    """

    def register(fn: BenchFn) -> BenchFn:
        if name in _REGISTRY and _REGISTRY[name].fn is not fn:
            raise ValueError(f"benchmark {name!r} registered twice")
        _REGISTRY[name] = Benchmark(
            name=name,
            group=group,
            fn=fn,
            n=n,
            unit=unit,
            description=description or (fn.__doc__ or name).strip().splitlines()[0],
            min_n=min_n,
            floor=floor,
            module=fn.__module__,
            order=len(_REGISTRY),
            impls=impls,
        )
        return fn

    return register


def load_all() -> list[Benchmark]:
    """Import every module of :mod:`bench.benchmarks`; return the benchmarks in display order."""
    from bench import benchmarks

    for mod in pkgutil.iter_modules(benchmarks.__path__):
        importlib.import_module(f"{benchmarks.__name__}.{mod.name}")

    def key(b: Benchmark) -> tuple[int, str, int, int]:
        rank = GROUP_ORDER.index(b.group) if b.group in GROUP_ORDER else len(GROUP_ORDER)
        module_rank = getattr(sys.modules.get(b.module), "ORDER", 100)
        return rank, b.group, module_rank, b.order

    return sorted(_REGISTRY.values(), key=key)


def get(name: str) -> Benchmark:
    """The benchmark called ``name`` (loads the catalogue if needed)."""
    if name not in _REGISTRY:
        load_all()
    return _REGISTRY[name]


def select(patterns: Iterable[str] | None) -> list[Benchmark]:
    """Benchmarks matching any of ``patterns`` (names, group names or shell globs)."""
    every = load_all()
    pats = list(patterns or [])
    if not pats:
        return every
    chosen = [b for b in every if any(p == b.group or fnmatch.fnmatchcase(b.name, p) for p in pats)]
    unknown = [
        p for p in pats if not any(p == b.group or fnmatch.fnmatchcase(b.name, p) for b in every)
    ]
    if unknown:
        raise KeyError(f"no benchmark matches {', '.join(unknown)}")
    return chosen
