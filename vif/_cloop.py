"""The compiled event loop: :class:`vif.PyEventLoop` with compiled parts.

The scheduler is :mod:`vif._cscheduler` (Cython); the socket transports are
compiled twins of :mod:`vif._transports.stream` and ``.datagram``, and the
plain (non-coroutine) methods of :mod:`vif._sockops` and :mod:`vif._network`
come from their compiled twins (see setup.py). Importing this module fails with
ImportError when they are not built.

The loop's coroutines (``sock_recv``, ``create_connection``...) stay the
pure-Python ones: a compiled coroutine has no frame locals, and vif's tracer
names what a task waits on from them (``loop.sock_recv(fd 7 127.0.0.1:8080)``).
"""

from __future__ import annotations

import inspect

from . import _cnetwork, _csockops
from ._cscheduler import CScheduler
from ._loop import LOOP_PARTS
from ._network import Network, record_connect_steps
from ._sockops import SockOps
from ._transports._cdatagram import DatagramTransport
from ._transports._cstream import StreamTransport


def _plain_methods(twin: type) -> type:
    """A class with the compiled ``twin``'s methods that are not coroutine functions."""
    methods = {
        name: value
        for name, value in vars(twin).items()
        if callable(value)
        and not isinstance(value, type)
        and not inspect.iscoroutinefunction(value)
    }
    return type(twin.__name__, (), methods)


# Each mixin, preceded by the plain methods of its compiled twin.
_PARTS = []
for _part in LOOP_PARTS:
    if _part is SockOps:
        _PARTS.append(_plain_methods(_csockops.SockOps))
    elif _part is Network:
        _PARTS.append(_plain_methods(_cnetwork.Network))
    _PARTS.append(_part)


class CEventLoop(CScheduler, *_PARTS):
    """An asyncio event loop on vif's compiled scheduler and transports."""

    _StreamTransport = StreamTransport
    _DatagramTransport = DatagramTransport


record_connect_steps(CEventLoop)
