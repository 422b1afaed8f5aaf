"""The compiled event loop: :class:`vif.PyEventLoop` with the compiled scheduler.

Importing this module fails with ImportError when the extension
(:mod:`vif._cscheduler`, built from ``_cscheduler.pyx``) is not built.
"""

from __future__ import annotations

from ._cscheduler import CScheduler
from ._loop import LOOP_PARTS


class CEventLoop(CScheduler, *LOOP_PARTS):
    """An asyncio event loop on vif's compiled scheduler and backends."""
