"""Which implementation of the loop runs: compiled or pure Python.

``VIF_NO_EXTENSIONS=1`` (any non-empty value) forces the pure-Python loop, as
aio-libs projects do. Without that variable, a missing compiled core is said
once, as a RuntimeWarning, and vif runs its pure-Python loop.
"""

from __future__ import annotations

import os
import warnings

from ._loop import PyEventLoop

CEventLoop: type | None = None
if not os.environ.get("VIF_NO_EXTENSIONS"):
    try:
        from ._cloop import CEventLoop  # type: ignore[no-redef]
    except ImportError as exc:
        warnings.warn(
            f"vif's compiled core is not available ({exc}); running the pure-Python loop. "
            "Set VIF_NO_EXTENSIONS=1 to choose the pure-Python loop explicitly.",
            RuntimeWarning,
            stacklevel=2,
        )

EventLoop: type = CEventLoop if CEventLoop is not None else PyEventLoop


def implementation() -> str:
    """Return ``"compiled"`` or ``"python"``: which loop ``vif.new_event_loop()`` makes."""
    return "compiled" if EventLoop is CEventLoop else "python"
