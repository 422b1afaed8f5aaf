"""vif: an asyncio-compatible event loop, built for speed.

Public entry points: :func:`run`, :func:`new_event_loop`, :class:`EventLoop`,
:class:`EventLoopPolicy`, :func:`install` and :func:`implementation`. The
high-level parts load on first use: async files (``vif.open``,
``vif.read_bytes`` ... from :mod:`vif.files`, ``vif.os``, ``vif.tempfile``),
the HTTP client (``vif.http``) and tracing (``vif.trace``).
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

# Loaded on first use, so that ``import vif`` stays as cheap as the loop itself.
_FILES_NAMES = frozenset({
    "open", "read_bytes", "read_text", "write_bytes", "write_text", "stdin", "stdout", "stderr",
})
_SUBMODULES = frozenset({"files", "http", "os", "tempfile", "trace"})


def __getattr__(name: str):
    import importlib

    if name in _FILES_NAMES:
        value = getattr(importlib.import_module("vif.files"), name)
        globals()[name] = value  # looked up once: vif.open is called per file
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"vif.{name}")
    raise AttributeError(f"module 'vif' has no attribute {name!r}")


def load_ipython_extension(ipython) -> None:
    """``%load_ext vif``: top-level ``await`` in IPython cells runs on a vif loop."""
    from ._ipython import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython) -> None:
    from ._ipython import unload_ipython_extension as unload

    unload(ipython)

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
