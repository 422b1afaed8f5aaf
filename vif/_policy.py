"""Making vif the default loop: ``new_event_loop``, ``EventLoopPolicy``, ``install``."""

from __future__ import annotations

import asyncio

from ._impl import EventLoop

# asyncio's own default policy, so that code using its child-watcher API on
# 3.11-3.13 keeps working; vif's loops reap their children themselves (pidfd)
# and never consult a watcher.
_BasePolicy = asyncio.DefaultEventLoopPolicy


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
