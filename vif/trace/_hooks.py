"""Noticing vif loops that start running while a recording is active.

Every vif loop calls the listeners of :data:`vif._hooks.run_listeners` when
its ``run_forever`` starts (``vif.run()``, ``asyncio.run()`` and
``run_until_complete()`` included). A recording adds its listener while it is
active and removes it when it stops, so nothing is left behind when tracing is
off.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .._hooks import run_listeners

_lock = threading.Lock()


def add_listener(listener: Callable[[Any], None]) -> None:
    """Call ``listener(loop)`` on the loop's thread each time a vif loop starts running."""
    with _lock:
        run_listeners.append(listener)


def remove_listener(listener: Callable[[Any], None]) -> None:
    with _lock:
        if listener in run_listeners:
            run_listeners.remove(listener)
