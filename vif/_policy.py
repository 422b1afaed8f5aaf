"""Making vif the default loop: ``new_event_loop``, ``EventLoopPolicy``, ``install``."""

from __future__ import annotations

import asyncio
from asyncio import events

from ._impl import EventLoop

try:
    _BasePolicy = events.BaseDefaultEventLoopPolicy
except AttributeError:  # Python 3.14 renamed it
    _BasePolicy = events._BaseDefaultEventLoopPolicy


def new_event_loop() -> asyncio.AbstractEventLoop:
    """Return a new vif event loop (compiled when built, else pure Python)."""
    return EventLoop()


class EventLoopPolicy(_BasePolicy):
    """An asyncio event loop policy whose loops are vif loops."""

    def _loop_factory(self) -> asyncio.AbstractEventLoop:
        return new_event_loop()

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.{type(self).__qualname__}>"


def install() -> None:
    """Make plain ``asyncio.run()`` / ``asyncio.new_event_loop()`` create vif loops."""
    asyncio.set_event_loop_policy(EventLoopPolicy())
