"""Shared fixtures and helpers for the vif behaviour tests (``tests/conftest.py`` loads them).

Every behaviour test takes the ``loop_factory`` fixture, parametrized over the
stock ``asyncio.SelectorEventLoop`` (the reference, id ``asyncio``) and each vif
implementation (``vif-python`` and, when built, ``vif-compiled``).  Tests import
the plain helpers below with ``from vif_testing import ...`` (a name of its own: every
``conftest.py`` is imported as the module ``conftest``, so importing from one is ambiguous).
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile

import pytest

try:
    import vif
except Exception as exc:  # any import failure means "no vif"
    vif = None
    VIF_IMPORT_ERROR: BaseException | None = exc
    print(f"conftest: vif is not importable ({exc!r}); testing stock asyncio only", file=sys.stderr)
else:
    VIF_IMPORT_ERROR = None

REFERENCE = asyncio.SelectorEventLoop


def _loop_params():
    params = [pytest.param(REFERENCE, id="asyncio")]
    if vif is not None:
        params.append(pytest.param(vif.PyEventLoop, id="vif-python"))
        if vif.CEventLoop is not None:
            params.append(pytest.param(vif.CEventLoop, id="vif-compiled"))
    return params


LOOP_PARAMS = _loop_params()

requires_vif = pytest.mark.skipif(vif is None, reason=f"vif not importable: {VIF_IMPORT_ERROR!r}")


@pytest.fixture(params=LOOP_PARAMS)
def loop_factory(request):
    """A zero-argument callable returning a new, not yet running event loop."""
    return request.param


def is_reference(loop_factory) -> bool:
    """True for the stock asyncio parametrization."""
    return loop_factory is REFERENCE


def open_fd_count() -> int:
    """Number of file descriptors currently open in this process."""
    return len(os.listdir("/proc/self/fd"))


def registered_fd_count(loop) -> int | None:
    """Number of fds the loop is watching, or None if the loop cannot tell."""
    meth = getattr(loop, "_registered_fd_count", None)
    if meth is not None:
        return meth()
    selector = getattr(loop, "_selector", None)
    if selector is not None:
        return len(selector.get_map())
    return None


def run(loop_factory, coro, timeout: float = 30, debug: bool | None = None):
    """Run ``coro`` to completion on a new loop from ``loop_factory``.

    The coroutine is wrapped in ``asyncio.timeout(timeout)`` so that a hung
    loop fails the test instead of blocking it.
    """

    async def guarded():
        async with asyncio.timeout(timeout):
            return await coro

    with asyncio.Runner(loop_factory=loop_factory, debug=debug) as runner:
        return runner.run(guarded())


def run_without_collector(loop_factory, coro):
    """``run(loop_factory, coro)`` with the garbage collector off: what the run
    left to the collector (a reference cycle) is still alive when it returns."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        return run(loop_factory, coro)
    finally:
        if enabled:
            gc.enable()


def ipv6_available() -> bool:
    """True if a TCP socket can be bound to ::1."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


def unused_port(family=socket.AF_INET, host="127.0.0.1", type=socket.SOCK_STREAM) -> int:
    """A port that nothing listens on (bound once, then released)."""
    with socket.socket(family, type) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@pytest.fixture
def short_tmp():
    """A short temporary directory (Unix socket paths are limited to ~107 bytes)."""
    with tempfile.TemporaryDirectory(prefix="vif", dir="/tmp") as d:
        yield d


class Recorder(asyncio.Protocol):
    """Protocol recording every callback; futures resolve on the key events."""

    def __init__(self):
        loop = asyncio.get_running_loop()
        self.transport = None
        self.data = bytearray()
        self.events: list[str] = []
        self.made = loop.create_future()
        self.eof = loop.create_future()
        self.lost = loop.create_future()
        self._waiters: list[tuple[int, asyncio.Future]] = []

    def connection_made(self, transport):
        self.transport = transport
        self.events.append("made")
        self.made.set_result(transport)

    def data_received(self, data):
        self.events.append("data")
        self.data += data
        for n, fut in list(self._waiters):
            if len(self.data) >= n and not fut.done():
                fut.set_result(bytes(self.data))

    def eof_received(self):
        self.events.append("eof")
        self.eof.set_result(None)
        return None

    def connection_lost(self, exc):
        self.events.append("lost")
        self.lost.set_result(exc)

    def wait_bytes(self, n: int) -> asyncio.Future:
        """A future resolved once at least ``n`` bytes were received."""
        fut = asyncio.get_running_loop().create_future()
        if len(self.data) >= n:
            fut.set_result(bytes(self.data))
        else:
            self._waiters.append((n, fut))
        return fut


class Echo(asyncio.Protocol):
    """Echo server protocol; closes when the peer sends EOF."""

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


class ServerProtocols:
    """Protocol factory for servers that keeps the protocols it creates.

    ``await factory.get(i)`` waits until the ``i``-th connection was accepted
    and its ``connection_made`` ran.
    """

    def __init__(self, proto_cls=Recorder):
        self.proto_cls = proto_cls
        self.protocols: list = []
        self._waiters: dict[int, asyncio.Future] = {}

    def __call__(self):
        proto = self.proto_cls()
        self.protocols.append(proto)
        waiter = self._waiters.pop(len(self.protocols) - 1, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(proto)
        return proto

    async def get(self, index: int = 0):
        if index >= len(self.protocols):
            fut = asyncio.get_running_loop().create_future()
            self._waiters[index] = fut
            await fut
        proto = self.protocols[index]
        made = getattr(proto, "made", None)
        if made is not None:
            await made
        return proto
