"""Waiting on fds: sock_* waits that end, fail or are cancelled, and fds whose
reader was just removed (closed files, reused fd numbers, dups).

vif unregisters an fd from epoll as soon as its last reader or writer is removed,
as asyncio does, except after a sock_* wait that its event ended: that one-shot
registration stays, silent, until the next wait re-arms it (vif/_scheduler.py).
These tests pin down ``remove_reader`` results and the registered-fd count, a wait
on an fd number that a new file reuses, a closed fd whose file lives on through a
dup (also when a new socket reuses the number), and waits whose event turns out
spurious or that share their fd with other interest.
"""

from __future__ import annotations

import asyncio
import socket
import time

from vif_testing import registered_fd_count, run


async def _recv_after_wait(loop, sock: socket.socket, peer: socket.socket) -> bytes:
    """sock_recv that has to wait (the data is sent once it is waiting)."""
    task = asyncio.ensure_future(loop.sock_recv(sock, 100))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert not task.done()
    peer.send(b"ping")
    return await task


def _socketpair() -> tuple[socket.socket, socket.socket]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    return a, b


def _close_behind_dup(sock: socket.socket) -> tuple[socket.socket, int]:
    """Close ``sock`` while a dup keeps its file open: return the dup and the closed number."""
    keep = sock.dup()
    number = sock.fileno()
    sock.close()
    return keep, number


def _pair_reusing(number: int) -> tuple[socket.socket, socket.socket]:
    """A new socketpair one of whose ends has the fd ``number``: (that end, its peer)."""
    c, d = _socketpair()
    reused, peer = (c, d) if c.fileno() == number else (d, c)
    assert reused.fileno() == number
    return reused, peer


async def _sees_only_its_own_file(loop, reused: socket.socket, peer: socket.socket) -> None:
    """``reused`` has the number of an fd whose file (still open through a dup) is
    readable: a reader on it is not called, and a wait on it sees ``peer``'s data."""
    calls = []
    loop.add_reader(reused, calls.append, None)
    await asyncio.sleep(0.05)
    assert loop.remove_reader(reused) is True
    assert calls == []
    async with asyncio.timeout(5):
        assert await _recv_after_wait(loop, reused, peer) == b"ping"


async def _completes_when_sent(waiting: asyncio.Future, peer: socket.socket, data: bytes) -> None:
    """``peer`` sends ``data``: the waiting sock_recv returns it."""
    assert not waiting.done()
    peer.send(data)
    async with asyncio.timeout(5):
        assert await waiting == data


def _run_on_pair(loop_factory, body) -> None:
    """Run ``body(loop, a, b, base)`` on a socketpair; ``base``: the fd count before."""

    async def main():
        loop = asyncio.get_running_loop()
        a, b = _socketpair()
        with a, b:
            await body(loop, a, b, registered_fd_count(loop))

    run(loop_factory, main())


def test_remove_reader_results_and_count(loop_factory):
    async def body(loop, a, b, base):
        loop.add_reader(a, lambda: None)
        assert registered_fd_count(loop) == base + 1
        assert loop.remove_reader(a) is True
        assert registered_fd_count(loop) == base
        assert loop.remove_reader(a) is False
        assert loop.remove_writer(a) is False
        # A wait on the fd after the removal works, and counts again.
        assert await _recv_after_wait(loop, a, b) == b"ping"
        assert registered_fd_count(loop) == base
        b.send(b"unwanted")  # An event nobody waits for.
        await asyncio.sleep(0.01)
        assert registered_fd_count(loop) == base
        assert a.recv(100) == b"unwanted"

    _run_on_pair(loop_factory, body)


def test_wait_on_reused_fd_number(loop_factory):
    """A socket closed after a wait; a new one gets its number and is waited on."""

    async def main():
        loop = asyncio.get_running_loop()
        a, b = _socketpair()
        with b:
            assert await _recv_after_wait(loop, a, b) == b"ping"
            number = a.fileno()
            a.close()
            reused, peer = _pair_reusing(number)
            with reused, peer:
                async with asyncio.timeout(5):
                    assert await _recv_after_wait(loop, reused, peer) == b"ping"

    run(loop_factory, main())


def test_closed_fd_alive_through_dup_does_not_spin(loop_factory):
    """A closed fd whose file a dup keeps open, readable, must not keep the loop busy."""

    async def main():
        loop = asyncio.get_running_loop()
        a, b = _socketpair()
        other, other_peer = _socketpair()
        with b, other, other_peer:
            assert await _recv_after_wait(loop, a, b) == b"ping"
            waiting = asyncio.ensure_future(loop.sock_recv(other, 100))
            keep = a.dup()
            a.close()
            with keep:
                b.send(b"readable forever")  # Level-triggered: ready until read.
                cpu0 = time.process_time()
                await asyncio.sleep(0.2)
                busy = time.process_time() - cpu0
                assert busy < 0.1, f"loop spun for {busy:.3f} s of CPU in 0.2 s"
                # The loop still sees its other fds and its wakeup fd.
                other_peer.send(b"still here")
                assert await waiting == b"still here"
                fut = loop.create_future()
                loop.call_soon_threadsafe(fut.set_result, 1)
                assert await fut == 1

    run(loop_factory, main())


def test_registered_fd_closed_while_alive_through_dup_after_remove_writer(loop_factory):
    """A reader waits on an fd whose writer was just removed; the fd is closed
    behind the loop's back while a dup keeps its file open. asyncio goes on
    running; the event for the file (writable) must not raise out of the loop."""

    async def main():
        loop = asyncio.get_running_loop()
        a, b = _socketpair()
        other, other_peer = _socketpair()
        with b, other, other_peer:
            loop.add_reader(a, lambda: None)
            loop.add_writer(a, lambda: None)
            await asyncio.sleep(0)
            assert loop.remove_writer(a) is True
            keep, number = _close_behind_dup(a)
            with keep:
                await asyncio.sleep(0.02)  # Polls that report the file writable.
                other_peer.send(b"still here")
                assert await loop.sock_recv(other, 100) == b"still here"
                loop.remove_reader(number)

    run(loop_factory, main())


def test_reused_number_of_fd_alive_through_dup_sees_only_its_own_file(loop_factory):
    """An fd whose reader was removed is closed while a dup keeps its file open; a
    new socket gets its number and is waited on at once: the old file's readiness
    is not the new one's.

    Had the removal left the old (file, fd) pair in epoll, epoll would report it
    under the same number, and re-waiting on the number could not remove it (epoll
    looks the pair up by the new file): the new socket's reader would run without
    data, on every poll.
    """

    async def main():
        loop = asyncio.get_running_loop()
        a, b = _socketpair()
        with b:
            loop.add_reader(a, lambda: None)
            await asyncio.sleep(0)
            assert loop.remove_reader(a) is True
            keep, number = _close_behind_dup(a)
            c, d = _socketpair()
            with keep, c, d:
                reused = c if c.fileno() == number else d
                assert reused.fileno() == number
                b.send(b"for the old file")  # Readable until read, through keep.
                calls = []
                loop.add_reader(reused, calls.append, None)
                await asyncio.sleep(0.05)
                assert loop.remove_reader(reused) is True
                assert calls == []  # Nothing was sent to the new socket.

    run(loop_factory, main())


def test_cancelled_sock_recv_stops_waiting(loop_factory):
    async def body(loop, a, b, base):
        task = asyncio.ensure_future(loop.sock_recv(a, 100))
        await asyncio.sleep(0)
        assert registered_fd_count(loop) == base + 1
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled()
        assert registered_fd_count(loop) == base
        assert await _recv_after_wait(loop, a, b) == b"ping"
        assert registered_fd_count(loop) == base

    _run_on_pair(loop_factory, body)


def test_sock_sendall_that_waits(loop_factory):
    """sock_sendall past the socket buffer waits for the reader, then unregisters."""
    payload = bytes(range(256)) * 16 * 1024  # 4 MiB

    async def body(loop, a, b, base):
        sending = asyncio.ensure_future(loop.sock_sendall(a, payload))
        received = bytearray()
        while len(received) < len(payload):
            received += await loop.sock_recv(b, 256 * 1024)
        await sending
        assert received == payload
        assert registered_fd_count(loop) == base

    _run_on_pair(loop_factory, body)


def test_reused_number_after_a_wait_sees_only_its_own_file(loop_factory):
    """As test_reused_number_of_fd_alive_through_dup_sees_only_its_own_file, but the
    old file's last interest was a sock_recv that got its data (a one-shot wait)."""

    async def main():
        loop = asyncio.get_running_loop()
        a, b = _socketpair()
        with b:
            assert await _recv_after_wait(loop, a, b) == b"ping"
            keep, number = _close_behind_dup(a)
            reused, peer = _pair_reusing(number)
            with keep, reused, peer:
                b.send(b"for the old file")  # Readable until read, through keep.
                await _sees_only_its_own_file(loop, reused, peer)
                assert keep.recv(100) == b"for the old file"

    run(loop_factory, main())


def test_wait_goes_on_after_its_data_was_taken(loop_factory):
    """The fd is reported readable, but a callback that runs first in the same step
    takes the data: the waiting sock_recv must see the next data."""

    async def body(loop, a, b, base):
        taken = []

        def send_and_take() -> None:
            b.send(b"taken")
            # The next step polls (vif skips polls less than 250 us apart while
            # callbacks are ready), finds `a` readable and queues the wait's
            # callback after this one, which runs first.
            time.sleep(0.002)
            loop.call_soon(lambda: taken.append(a.recv(100)))

        task = asyncio.ensure_future(loop.sock_recv(a, 100))
        await asyncio.sleep(0)
        loop.call_soon(send_and_take)
        while not taken:
            await asyncio.sleep(0)
        assert taken == [b"taken"]
        await asyncio.sleep(0.01)
        await _completes_when_sent(task, b, b"next")
        assert registered_fd_count(loop) == base

    _run_on_pair(loop_factory, body)


def test_reader_added_after_a_wait(loop_factory):
    """add_reader on a socket whose sock_recv wait just ended is called for new data."""

    async def body(loop, a, b, base):
        assert await _recv_after_wait(loop, a, b) == b"ping"
        called = loop.create_future()
        loop.add_reader(a, lambda: called.done() or called.set_result(a.recv(100)))
        b.send(b"pong")
        async with asyncio.timeout(5):
            assert await called == b"pong"
        assert loop.remove_reader(a) is True
        assert registered_fd_count(loop) == base

    _run_on_pair(loop_factory, body)


def test_writer_added_while_a_wait_waits(loop_factory):
    """A sock_recv waits on a socket; a writer and a waiting sock_sendall join it."""
    payload = bytes(range(256)) * 16 * 1024  # 4 MiB: more than the socket buffers take

    async def body(loop, a, b, base):
        receiving = asyncio.ensure_future(loop.sock_recv(a, 100))
        await asyncio.sleep(0)
        writable = loop.create_future()
        loop.add_writer(a, lambda: writable.done() or writable.set_result(True))
        async with asyncio.timeout(5):
            assert await writable
        assert loop.remove_writer(a) is True
        sending = asyncio.ensure_future(loop.sock_sendall(a, payload))
        received = bytearray()
        async with asyncio.timeout(10):
            while len(received) < len(payload):
                received += await loop.sock_recv(b, 256 * 1024)
            await sending
        assert received == payload
        await _completes_when_sent(receiving, b, b"ping")
        assert registered_fd_count(loop) == base

    _run_on_pair(loop_factory, body)


def test_connected_socket_read_after_its_connect_wait(loop_factory):
    """sock_connect waits (one-shot) for the connection; a transport made on the
    socket then reads it, and a socket that reuses the number after it is closed
    behind a dup sees only its own file."""

    async def main():
        loop = asyncio.get_running_loop()
        base = registered_fd_count(loop)
        with socket.create_server(("127.0.0.1", 0)) as listener:
            sock = socket.socket()
            sock.setblocking(False)
            async with asyncio.timeout(5):
                await loop.sock_connect(sock, listener.getsockname())
            accepted, _ = listener.accept()
            with accepted:
                reader, writer = await asyncio.open_connection(sock=sock)
                accepted.send(b"hello\n")
                async with asyncio.timeout(5):
                    assert await reader.readline() == b"hello\n"
                writer.close()
                await writer.wait_closed()
            assert registered_fd_count(loop) == base

            # Connected, never read by a transport: closed behind a dup.
            sock = socket.socket()
            sock.setblocking(False)
            async with asyncio.timeout(5):
                await loop.sock_connect(sock, listener.getsockname())
            accepted, _ = listener.accept()
            keep, number = _close_behind_dup(sock)
            reused, peer = _pair_reusing(number)
            with accepted, keep, reused, peer:
                accepted.send(b"for the old file")
                await _sees_only_its_own_file(loop, reused, peer)
            assert registered_fd_count(loop) == base

    run(loop_factory, main())
