"""``vif.run``: ``asyncio.run`` on a vif loop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from ._policy import new_event_loop

_T = TypeVar("_T")


def run(main: Coroutine[Any, Any, _T], *, debug: bool | None = None) -> _T:
    """Run the coroutine ``main`` on a new vif loop and return its result.

    Like :func:`asyncio.run`: cancels the remaining tasks, shuts down async
    generators and the default executor, then closes the loop.
    """
    if asyncio._get_running_loop() is not None:
        raise RuntimeError("vif.run() cannot be called from a running event loop")
    with asyncio.Runner(debug=debug, loop_factory=new_event_loop) as runner:
        return runner.run(main)
