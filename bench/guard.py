"""Stall detection inside a benchmark: fail fast with a clear reason instead of hanging.

The parent's per-process timeout catches any hang, but only after a long wait and
with no explanation; a benchmark that can see its own progress uses
:func:`run_guarded` to give up after ``stall`` seconds without progress.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class Stalled(TimeoutError):
    """No progress for too long."""


async def run_guarded(
    coro: Coroutine[Any, Any, T], progress: Callable[[], int], what: str, stall: float = 5.0
) -> T:
    """Await ``coro``; cancel it and raise :class:`Stalled` if ``progress()`` stops moving.

    The check wakes up once every ``stall`` seconds, so it costs one timer per
    ``stall`` seconds of the measured part.
    """
    task = asyncio.ensure_future(coro)
    last = progress()
    while True:
        done, _ = await asyncio.wait({task}, timeout=stall)
        if done:
            return task.result()
        now = progress()
        if now == last:
            task.cancel()
            raise Stalled(f"{what}: no progress for {stall:g} s (stuck after {now})")
        last = now
