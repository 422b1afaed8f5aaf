"""sock_recv / sock_recv_into: the results and errors of asyncio's, edge cases included.

The compiled loop makes the first attempt with recv(2) itself (no exception for
"would block"); whatever it does must match ``socket.recv`` / ``recv_into``.
"""

from __future__ import annotations

import array
import asyncio
import socket

import pytest
from vif_testing import run


def _pair() -> tuple[socket.socket, socket.socket]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    return a, b


async def _outcome(coro):
    try:
        return ("ok", await coro)
    except Exception as exc:  # noqa: BLE001 - the outcome is what is compared
        return ("error", type(exc))


@pytest.mark.parametrize(
    "n, sent, expected",
    [
        (100, b"hello", ("ok", b"hello")),
        (3, b"hello", ("ok", b"hel")),
        (0, b"hello", ("ok", b"")),
        (-1, b"hello", ("error", ValueError)),
        (1.5, b"hello", ("error", TypeError)),
        (200_000, b"x" * 1000, ("ok", b"x" * 1000)),
    ],
)
def test_sock_recv_ready_data(loop_factory, n, sent, expected):
    async def main():
        loop = asyncio.get_running_loop()
        a, b = _pair()
        with a, b:
            b.send(sent)
            return await _outcome(loop.sock_recv(a, n))

    assert run(loop_factory, main()) == expected


def test_sock_recv_eof_and_errors(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        a, b = _pair()
        with a:
            b.close()
            assert await loop.sock_recv(a, 10) == b""
        closed = await _outcome(loop.sock_recv(a, 10))
        c, d = _pair()
        with c, d:
            d.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            d.send(b"unread")
            c.send(b"x")  # d has unread data: close() sends a reset
            d.close()
            await asyncio.sleep(0.01)
            reset = await _outcome(loop.sock_recv(c, 10))
        return closed, reset

    closed, reset = run(loop_factory, main())
    assert closed == ("error", OSError)
    assert reset[0] == "ok" or issubclass(reset[1], ConnectionError)


def test_sock_recv_on_socket_with_timeout(loop_factory):
    """A socket with a timeout takes socket.recv's own path (asyncio checks it in debug only)."""

    async def main():
        loop = asyncio.get_running_loop()
        a, b = _pair()
        with a, b:
            a.settimeout(5)
            b.send(b"data")
            return await loop.sock_recv(a, 10)

    assert run(loop_factory, main(), debug=False) == b"data"  # also under python -X dev


@pytest.mark.parametrize(
    "make, nbytes_ok",
    [
        (lambda: bytearray(10), True),
        (lambda: memoryview(bytearray(20))[::2], False),  # not contiguous
        (lambda: array.array("i", [0] * 4), True),
    ],
)
def test_sock_recv_into_buffers(loop_factory, make, nbytes_ok):
    async def main():
        loop = asyncio.get_running_loop()
        a, b = _pair()
        with a, b:
            b.send(b"abcdef")
            buf = make()
            outcome = await _outcome(loop.sock_recv_into(a, buf))
            return outcome, bytes(buf)[:6] if outcome[0] == "ok" else None

    outcome, data = run(loop_factory, main())
    if nbytes_ok:
        assert outcome == ("ok", 6) and data == b"abcdef"
    else:
        assert outcome == ("error", TypeError)


def test_sock_recv_into_that_waits(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        a, b = _pair()
        with a, b:
            buf = bytearray(10)
            task = asyncio.ensure_future(loop.sock_recv_into(a, buf))
            await asyncio.sleep(0)
            assert not task.done()
            b.send(b"later")
            return await task, bytes(buf[:5])

    assert run(loop_factory, main()) == (5, b"later")
