"""Robustness: errors reach the exception handler, misuse raises, peers misbehave, no leaks."""

from __future__ import annotations

import asyncio
import errno
import os
import resource
import socket
import struct
import threading
import time

import pytest
from vif_testing import (
    Echo,
    Recorder,
    ServerProtocols,
    open_fd_count,
    registered_fd_count,
    run,
)

HOST = "127.0.0.1"


def capture_exceptions(loop) -> list[dict]:
    """Install an exception handler on ``loop`` that records every context."""
    contexts: list[dict] = []
    loop.set_exception_handler(lambda _loop, ctx: contexts.append(ctx))
    return contexts


async def echo_roundtrip(host=HOST, port=None, payload=b"still alive"):
    """Open a connection to an echo server, check one round trip, close."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(payload)
    assert await reader.readexactly(len(payload)) == payload
    writer.close()
    await writer.wait_closed()


# -- errors in callbacks and protocols ----------------------------------------


def test_callback_exception_reaches_handler(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        contexts = capture_exceptions(loop)
        error = ZeroDivisionError("boom")

        def bad():
            raise error

        loop.call_soon(bad)
        loop.call_later(0.001, bad)
        done = loop.create_future()
        loop.call_later(0.002, done.set_result, "after")
        assert await done == "after"  # the loop kept running
        return contexts, error

    contexts, error = run(loop_factory, main())
    assert len(contexts) == 2
    for ctx in contexts:
        assert ctx["message"].startswith("Exception in callback")
        assert ctx["exception"] is error
        assert "handle" in ctx


def test_data_received_exception_reaches_handler(loop_factory):
    error = ValueError("protocol bug")

    class Buggy(Recorder):
        def data_received(self, data):
            raise error

    async def main():
        loop = asyncio.get_running_loop()
        contexts = capture_exceptions(loop)
        factory = ServerProtocols(Buggy)
        server = await loop.create_server(factory, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        client, _ = await loop.create_connection(asyncio.Protocol, HOST, port)
        client.write(b"trigger")
        proto = await factory.get()
        lost_exc = await proto.lost
        client.close()
        server.close()
        await server.wait_closed()
        return contexts, proto, lost_exc

    contexts, proto, lost_exc = run(loop_factory, main())
    assert lost_exc is error  # the transport is closed with the exception
    assert len(contexts) == 1
    ctx = contexts[0]
    assert "data_received" in ctx["message"]
    assert ctx["exception"] is error
    assert ctx["protocol"] is proto
    assert ctx["transport"] is proto.transport


def test_loop_keeps_serving_after_protocol_error(loop_factory):
    class Picky(Echo):
        def data_received(self, data):
            if data.startswith(b"bad"):
                raise RuntimeError("picky")
            super().data_received(data)

    async def main():
        loop = asyncio.get_running_loop()
        contexts = capture_exceptions(loop)
        server = await loop.create_server(Picky, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(b"bad data")
        assert await reader.read() == b""  # the server closed that connection
        writer.close()
        await echo_roundtrip(port=port)
        server.close()
        await server.wait_closed()
        return contexts

    contexts = run(loop_factory, main())
    assert [type(c["exception"]) for c in contexts] == [RuntimeError]


# -- misuse --------------------------------------------------------------------


def test_closed_loop_raises(loop_factory):
    loop = loop_factory()
    loop.close()
    loop.close()  # idempotent
    assert loop.is_closed()
    calls = [
        lambda: loop.call_soon(print),
        lambda: loop.call_later(1, print),
        lambda: loop.call_at(loop.time() + 1, print),
        lambda: loop.call_soon_threadsafe(print),
        lambda: loop.run_forever(),
        lambda: loop.add_reader(a, print),
        lambda: loop.add_writer(a, print),
        lambda: loop.create_task(coro),
    ]
    a, b = socket.socketpair()
    coro = asyncio.sleep(0)
    try:
        for call in calls:
            with pytest.raises(RuntimeError, match="^Event loop is closed$"):
                call()
        with pytest.raises(RuntimeError, match="^Event loop is closed$"):
            loop.run_until_complete(coro)
    finally:
        coro.close()
        a.close()
        b.close()


def test_run_forever_while_running(loop_factory):
    # One nested call per test: on 3.13.0 a failed nested run_forever() resets
    # the loop's running state (a CPython bug), which would mask a second check.
    async def main():
        with pytest.raises(RuntimeError, match="^This event loop is already running$"):
            asyncio.get_running_loop().run_forever()
        return "ok"

    assert run(loop_factory, main()) == "ok"


def test_nested_run_until_complete(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        fut.set_result(1)
        with pytest.raises(RuntimeError, match="^This event loop is already running$"):
            loop.run_until_complete(fut)
        return "ok"

    assert run(loop_factory, main()) == "ok"


def test_run_other_loop_while_running(loop_factory):
    other = loop_factory()

    async def main():
        coro = asyncio.sleep(0)
        try:
            with pytest.raises(
                RuntimeError, match="^Cannot run the event loop while another loop is running$"
            ):
                other.run_until_complete(coro)
        finally:
            coro.close()

    try:
        run(loop_factory, main())
    finally:
        other.close()


def test_stopped_before_future_completed(loop_factory):
    loop = loop_factory()
    try:
        fut = loop.create_future()
        loop.call_soon(loop.stop)
        with pytest.raises(RuntimeError, match="^Event loop stopped before Future completed.$"):
            loop.run_until_complete(fut)
        fut.cancel()
    finally:
        loop.close()


def test_close_running_loop(loop_factory):
    async def main():
        with pytest.raises(RuntimeError, match="^Cannot close a running event loop$"):
            asyncio.get_running_loop().close()

    run(loop_factory, main())


# -- misbehaving peers -----------------------------------------------------------


def test_peer_reset(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        contexts = capture_exceptions(loop)
        factory = ServerProtocols()
        server = await loop.create_server(factory, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        sock = socket.socket()
        sock.setblocking(False)
        await loop.sock_connect(sock, (HOST, port))
        proto = await factory.get()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # sends RST
        exc = await proto.lost
        server.close()
        await server.wait_closed()
        return exc, contexts

    exc, contexts = run(loop_factory, main())
    assert exc is None or isinstance(exc, ConnectionResetError)
    assert contexts == []  # OSErrors from the peer are not "unexpected" errors


def test_half_close_keeps_write_side_open(loop_factory):
    class HalfCloser(Recorder):
        def eof_received(self):
            super().eof_received()
            self.closing_at_eof = self.transport.is_closing()
            self.transport.write(b"reply:" + bytes(self.data))
            self.transport.close()
            return True  # keep the transport open after eof

    async def main():
        loop = asyncio.get_running_loop()
        factory = ServerProtocols(HalfCloser)
        server = await loop.create_server(factory, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        transport, client = await loop.create_connection(Recorder, HOST, port)
        assert transport.can_write_eof()
        transport.write(b"ping")
        transport.write_eof()
        with pytest.raises(RuntimeError):
            transport.write(b"after eof")
        await client.eof
        assert await client.lost is None
        sproto = await factory.get()
        assert await sproto.lost is None
        server.close()
        await server.wait_closed()
        return client, sproto

    client, sproto = run(loop_factory, main())
    assert bytes(client.data) == b"reply:ping"
    assert client.events[-2:] == ["eof", "lost"]
    assert sproto.closing_at_eof is False
    assert sproto.events == ["made", "data", "eof", "lost"]


def test_eof_received_false_closes(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        factory = ServerProtocols()
        server = await loop.create_server(factory, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        transport, client = await loop.create_connection(Recorder, HOST, port)
        transport.write_eof()
        await client.eof  # the server closed its side after its eof_received returned None
        assert await client.lost is None
        sproto = await factory.get()
        assert await sproto.lost is None
        server.close()
        await server.wait_closed()
        return client, sproto

    client, sproto = run(loop_factory, main())
    assert sproto.events == ["made", "eof", "lost"]
    assert client.events == ["made", "eof", "lost"]


def test_client_vanishes_mid_write(loop_factory):
    chunk = b"x" * (1 << 20)

    class Flooder(Recorder):
        def connection_made(self, transport):
            super().connection_made(transport)
            for _ in range(32):
                transport.write(chunk)

    async def main():
        loop = asyncio.get_running_loop()
        contexts = capture_exceptions(loop)
        factory = ServerProtocols(Flooder)
        server = await loop.create_server(factory, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        sock = socket.socket()
        sock.setblocking(False)
        await loop.sock_connect(sock, (HOST, port))
        assert len(await loop.sock_recv(sock, 1024)) > 0
        sock.close()  # unread data pending: the kernel resets the connection
        exc = await (await factory.get()).lost
        echo = await loop.create_server(Echo, HOST, 0)
        await echo_roundtrip(port=echo.sockets[0].getsockname()[1])
        echo.close()
        server.close()
        await server.wait_closed()
        return exc, contexts

    exc, contexts = run(loop_factory, main())
    assert exc is None or isinstance(exc, OSError)
    assert contexts == []


def test_emfile_on_accept(loop_factory):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)

    async def main():
        loop = asyncio.get_running_loop()
        contexts = []
        logged = loop.create_future()

        def handler(_loop, ctx):
            contexts.append(ctx)
            if not logged.done():
                logged.set_result(ctx)

        loop.set_exception_handler(handler)
        factory = ServerProtocols(Echo)
        server = await loop.create_server(factory, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        client = socket.socket()
        client.setblocking(False)
        fillers = []
        try:
            limit = max(int(fd) for fd in os.listdir("/proc/self/fd")) + 16
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
            with pytest.raises(OSError) as info:
                while True:
                    fillers.append(os.open(os.devnull, os.O_RDONLY))
            assert info.value.errno == errno.EMFILE
            await loop.sock_connect(client, (HOST, port))
            ctx = await logged
            assert not factory.protocols  # the connection could not be accepted
        finally:
            for fd in fillers:
                os.close(fd)
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        assert server.is_serving()
        # Once fds are available again the pending connection is accepted.
        await loop.sock_sendall(client, b"hello")
        assert await loop.sock_recv(client, 5) == b"hello"
        client.close()
        await echo_roundtrip(port=port)
        server.close()
        await server.wait_closed()
        return ctx

    try:
        ctx = run(loop_factory, main())
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert isinstance(ctx["exception"], OSError)
    assert ctx["exception"].errno == errno.EMFILE
    assert "accept" in ctx["message"]


# -- leaks -------------------------------------------------------------------------


def test_no_leaks_after_10000_connections(loop_factory):
    total, batch = 10_000, 100

    async def main():
        loop = asyncio.get_running_loop()
        fds0, reg0, tasks0 = open_fd_count(), registered_fd_count(loop), len(asyncio.all_tasks())
        server_lost = []

        class Server(Echo):
            def __init__(self):
                self.lost = loop.create_future()
                server_lost.append(self.lost)

            def connection_lost(self, exc):
                self.lost.set_result(exc)

        server = await loop.create_server(Server, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        fds1, reg1 = open_fd_count(), registered_fd_count(loop)

        async def one(i):
            transport, proto = await loop.create_connection(Recorder, HOST, port)
            payload = str(i).encode()
            transport.write(payload)
            assert await proto.wait_bytes(len(payload)) == payload
            transport.close()
            assert await proto.lost is None

        for start in range(0, total, batch):
            await asyncio.gather(*(one(i) for i in range(start, start + batch)))
            await asyncio.gather(*server_lost)
            server_lost.clear()

        assert open_fd_count() == fds1
        if reg1 is not None:
            assert registered_fd_count(loop) == reg1
        server.close()
        await server.wait_closed()
        assert open_fd_count() == fds0
        if reg0 is not None:
            assert registered_fd_count(loop) == reg0
        assert len(asyncio.all_tasks()) == tasks0

    run(loop_factory, main(), timeout=110)


# -- threads -------------------------------------------------------------------------


def test_call_soon_threadsafe_many_threads(loop_factory):
    nthreads, ncalls = 8, 100_000

    async def main():
        loop = asyncio.get_running_loop()
        seen = [[] for _ in range(nthreads)]
        remaining = [nthreads]
        done = loop.create_future()

        def finished():
            remaining[0] -= 1
            if remaining[0] == 0:
                done.set_result(None)

        def producer(tid):
            append = seen[tid].append
            call = loop.call_soon_threadsafe
            for i in range(ncalls):
                call(append, i)
            call(finished)

        threads = [threading.Thread(target=producer, args=(t,)) for t in range(nthreads)]
        for t in threads:
            t.start()
        await done
        for t in threads:
            t.join()
        return seen

    seen = run(loop_factory, main(), timeout=110)
    expected = list(range(ncalls))
    for tid in range(nthreads):
        assert seen[tid] == expected, f"thread {tid}: callbacks lost, repeated or reordered"


def test_call_soon_threadsafe_wakes_blocked_loop(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        far = loop.call_later(3600, lambda: None)
        woke = loop.create_future()
        sent = []

        def poke():
            time.sleep(0.2)  # give the loop time to block in its poll
            sent.append(time.monotonic())
            loop.call_soon_threadsafe(lambda: woke.set_result(time.monotonic()))

        thread = threading.Thread(target=poke)
        thread.start()
        t_woke = await woke
        thread.join()
        far.cancel()
        return t_woke - sent[0]

    latency = run(loop_factory, main(), timeout=10)
    assert latency < 1.0
