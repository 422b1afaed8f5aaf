"""The compiled event loop: :class:`vif.PyEventLoop` with compiled parts.

The scheduler is :mod:`vif._cscheduler` (Cython); the socket transports are
compiled twins of :mod:`vif._transports.stream` and ``.datagram`` (see setup.py). Importing this
module fails with ImportError when they are not built.
"""

from __future__ import annotations

from ._cscheduler import CScheduler
from ._loop import LOOP_PARTS
from ._transports._cdatagram import DatagramTransport
from ._transports._cstream import StreamTransport


class CEventLoop(CScheduler, *LOOP_PARTS):
    """An asyncio event loop on vif's compiled scheduler and transports."""

    _StreamTransport = StreamTransport
    _DatagramTransport = DatagramTransport
