"""Run-time hooks of the loop, for vif's tools (``vif.trace``) to attach to.

``run_listeners`` holds callables that every vif loop calls with itself, on its
own thread, each time ``run_forever`` (and so ``run_until_complete``,
``vif.run``, ``asyncio.run``) starts. Empty, it costs one test per run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

run_listeners: list[Callable[[Any], None]] = []


def notify_run(loop: Any) -> None:
    for listener in tuple(run_listeners):
        listener(loop)
