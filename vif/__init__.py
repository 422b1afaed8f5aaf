"""vif: an asyncio-compatible event loop, built for speed.

Public entry points: :func:`run`, :func:`new_event_loop`, :class:`EventLoop`,
:class:`EventLoopPolicy`, :func:`install` and :func:`implementation`.
"""

from __future__ import annotations

import sys

if sys.platform == "win32":  # pragma: no cover - exercised only on Windows
    raise ImportError(
        "vif supports Linux and other Unix systems only; on Windows use asyncio's "
        "default ProactorEventLoop"
    )

from ._impl import CEventLoop, EventLoop, PyEventLoop, implementation
from ._policy import EventLoopPolicy, install, new_event_loop
from ._runner import run

__version__ = "0.1.0"

__all__ = [
    "CEventLoop",
    "EventLoop",
    "EventLoopPolicy",
    "PyEventLoop",
    "implementation",
    "install",
    "new_event_loop",
    "run",
]
