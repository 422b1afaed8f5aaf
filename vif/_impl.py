"""Which implementation of the loop runs: compiled or pure Python.

``VIF_NO_EXTENSIONS=1`` (any non-empty value) forces the pure-Python loop, as
aio-libs projects do. The compiled core is optional; without it vif runs the
pure-Python reference implementation.
"""

from __future__ import annotations

import os

from ._loop import PyEventLoop

CEventLoop: type | None = None
if not os.environ.get("VIF_NO_EXTENSIONS"):
    try:
        from ._cloop import CEventLoop  # type: ignore[no-redef]  # noqa: F401
    except ImportError:
        CEventLoop = None

EventLoop: type = CEventLoop if CEventLoop is not None else PyEventLoop


def implementation() -> str:
    """Return ``"compiled"`` or ``"python"``: which loop ``vif.new_event_loop()`` makes."""
    return "compiled" if EventLoop is CEventLoop else "python"
