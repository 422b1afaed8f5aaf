"""``%load_ext vif``: top-level ``await`` in IPython and Jupyter cells runs on a vif loop.

Owns IPython's ``loop_runner`` for vif (see IPython's ``%autoawait``): one vif
loop, kept open across cells like IPython's own asyncio runner, so tasks created
in one cell go on running while later cells await. ``%autoawait vif`` selects it
again after switching runners. In a Jupyter kernel, whose own asyncio loop is
running on the same thread while a cell executes, the runner steps that loop
aside for the duration of the cell (``asyncio.events._set_running_loop``) and
puts it back afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

_NAME = "vif"


class VifRunner:
    """An IPython loop runner: ``runner(coro)`` runs ``coro`` on the shared vif loop."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or self._loop.is_closed():
            import vif

            self._loop = vif.new_event_loop()
        return self._loop

    def __call__(self, coro: Coroutine[Any, Any, Any]) -> Any:
        loop = self.loop
        outer = asyncio.events._get_running_loop()
        if outer is loop:
            raise RuntimeError("the vif loop is already running this cell")
        if outer is not None:
            asyncio.events._set_running_loop(None)
        try:
            return loop.run_until_complete(coro)
        finally:
            if outer is not None:
                asyncio.events._set_running_loop(outer)

    def close(self) -> None:
        loop, self._loop = self._loop, None
        if loop is not None and not loop.is_closed() and not loop.is_running():
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    def __str__(self) -> str:
        return _NAME


_runner = VifRunner()
_saved: dict[int, tuple[Any, bool]] = {}


def load_ipython_extension(ipython: Any) -> None:
    """Make ``ipython`` run top-level ``await`` on vif (and turn ``autoawait`` on)."""
    if id(ipython) not in _saved:
        _saved[id(ipython)] = (ipython.loop_runner, ipython.autoawait)
    runner_map = getattr(ipython, "loop_runner_map", None)
    if isinstance(runner_map, dict):
        runner_map[_NAME] = (_runner, True)
    ipython.loop_runner = _runner
    ipython.autoawait = True


def unload_ipython_extension(ipython: Any) -> None:
    """Put back the loop runner that was there before ``%load_ext vif``."""
    saved = _saved.pop(id(ipython), None)
    if saved is not None:
        ipython.loop_runner, ipython.autoawait = saved
    runner_map = getattr(ipython, "loop_runner_map", None)
    if isinstance(runner_map, dict):
        runner_map.pop(_NAME, None)
    _runner.close()
