"""TCP transports: flow control, buffered protocols, extra info, abort and close."""

from __future__ import annotations

import asyncio
import socket

import pytest
from vif_testing import Recorder, ServerProtocols, is_reference, run, run_without_collector

HOST = "127.0.0.1"
BIG = 16 * 1024 * 1024  # far more than the kernel socket buffers absorb


class FlowRecorder(Recorder):
    """Client protocol recording pause_writing/resume_writing."""

    def __init__(self):
        super().__init__()
        self.paused = False
        self.pauses = 0
        self.resumed = asyncio.get_running_loop().create_future()
        self.size_at_resume = None

    def pause_writing(self):
        assert not self.paused
        self.paused = True
        self.pauses += 1
        self.size_at_pause = self.transport.get_write_buffer_size()

    def resume_writing(self):
        assert self.paused
        self.paused = False
        self.size_at_resume = self.transport.get_write_buffer_size()
        if not self.resumed.done():
            self.resumed.set_result(None)


class Sink(Recorder):
    """Server protocol that does not read until told to."""

    def connection_made(self, transport):
        transport.pause_reading()
        super().connection_made(transport)

    def data_received(self, data):
        self.events.append("data")  # only count: 16 MiB copies are slow
        self.count = getattr(self, "count", 0) + len(data)
        for n, fut in list(self._waiters):
            if self.count >= n and not fut.done():
                fut.set_result(self.count)

    def wait_bytes(self, n):
        fut = asyncio.get_running_loop().create_future()
        if getattr(self, "count", 0) >= n:
            fut.set_result(self.count)
        else:
            self._waiters.append((n, fut))
        return fut


async def connect_pair(loop, client_cls=Recorder, server_cls=Recorder):
    """Start a server and connect to it; returns (server, client transport,
    client protocol, server protocol)."""
    factory = ServerProtocols(server_cls)
    server = await loop.create_server(factory, HOST, 0)
    port = server.sockets[0].getsockname()[1]
    transport, client = await loop.create_connection(client_cls, HOST, port)
    return server, transport, client, await factory.get()


async def close_server(server):
    server.close()
    await server.wait_closed()


def test_write_buffer_limits(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        server, tr, _, _ = await connect_pair(loop)
        assert tr.get_write_buffer_limits() == (16 * 1024, 64 * 1024)
        tr.set_write_buffer_limits(high=4096, low=1024)
        assert tr.get_write_buffer_limits() == (1024, 4096)
        tr.set_write_buffer_limits(high=8000)
        assert tr.get_write_buffer_limits() == (2000, 8000)
        tr.set_write_buffer_limits(low=1000)
        assert tr.get_write_buffer_limits() == (1000, 4000)
        with pytest.raises(ValueError):
            tr.set_write_buffer_limits(high=10, low=20)
        assert tr.get_write_buffer_size() == 0
        tr.close()
        await close_server(server)

    run(loop_factory, main())


def test_pause_and_resume_writing(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        server, tr, client, sink = await connect_pair(loop, FlowRecorder, Sink)
        tr.set_write_buffer_limits(high=64 * 1024, low=16 * 1024)
        tr.write(b"a" * BIG)
        assert client.paused  # called synchronously from write()
        assert client.size_at_pause > 64 * 1024
        assert tr.get_write_buffer_size() > 64 * 1024
        sink.transport.resume_reading()
        await client.resumed
        assert client.size_at_resume <= 16 * 1024
        assert await sink.wait_bytes(BIG) == BIG
        assert tr.get_write_buffer_size() == 0
        tr.close()
        assert await client.lost is None
        await close_server(server)
        return client

    client = run(loop_factory, main())
    assert client.pauses == 1


def test_received_data_are_independent_bytes(loop_factory):
    """Each data_received() gets its own bytes, even past the first read."""

    class Keeper(asyncio.Protocol):
        def __init__(self):
            self.chunks = []
            self.total = 0
            self.waiter = None

        def connection_made(self, transport):
            self.transport = transport

        def data_received(self, data):
            self.chunks.append(data)
            self.total += len(data)
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_result(None)

        async def wait_total(self, n):
            while self.total < n:
                self.waiter = asyncio.get_running_loop().create_future()
                await self.waiter

    async def main():
        loop = asyncio.get_running_loop()
        server, tr, client, keeper = await connect_pair(loop, server_cls=Keeper)
        tr.write(b"first")
        await keeper.wait_total(5)
        tr.write(b"SECOND")
        await keeper.wait_total(11)
        tr.close()
        await client.lost
        await close_server(server)
        return keeper.chunks

    chunks = run(loop_factory, main())
    assert all(type(c) is bytes for c in chunks)
    assert chunks[0] == b"first"
    assert b"".join(chunks) == b"firstSECOND"


def test_sock_recv_large_n(loop_factory):
    """sock_recv(n) with n past 64 KiB returns bytes of exactly what arrived."""

    async def main():
        loop = asyncio.get_running_loop()
        a, b = socket.socketpair()
        a.setblocking(False)
        b.setblocking(False)
        try:
            b.send(b"x" * 100)
            first = await loop.sock_recv(a, 256 * 1024)
            b.send(b"y" * 7)
            second = await loop.sock_recv(a, 200_000)
            b.close()
            eof = await loop.sock_recv(a, 100_000)
        finally:
            a.close()
            b.close()
        return first, second, eof

    first, second, eof = run(loop_factory, main())
    assert (type(first), first) == (bytes, b"x" * 100)
    assert (type(second), second) == (bytes, b"y" * 7)
    assert eof == b""


def test_pause_and_resume_reading(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        server, tr, client, sproto = await connect_pair(loop)
        st = sproto.transport
        tr.write(b"one")
        assert await sproto.wait_bytes(3) == b"one"
        assert st.is_reading()
        st.pause_reading()
        assert not st.is_reading()
        st.pause_reading()  # idempotent
        tr.write(b"two")
        # Loopback delivery is synchronous: let the loop poll a few times.
        for _ in range(10):
            await asyncio.sleep(0)
        assert bytes(sproto.data) == b"one"
        st.resume_reading()
        assert st.is_reading()
        assert await sproto.wait_bytes(6) == b"onetwo"
        tr.close()
        await sproto.lost
        await close_server(server)

    run(loop_factory, main())


def test_buffered_protocol(loop_factory):
    payload = bytes(range(256)) * 4096  # 1 MiB

    class Buffered(asyncio.BufferedProtocol):
        def __init__(self):
            self.buf = bytearray(1000)
            self.received = bytearray()
            self.hints = []
            self.done = asyncio.get_running_loop().create_future()

        def connection_made(self, transport):
            self.transport = transport

        def get_buffer(self, sizehint):
            self.hints.append(sizehint)
            return memoryview(self.buf)

        def buffer_updated(self, nbytes):
            assert 0 < nbytes <= len(self.buf)
            self.received += self.buf[:nbytes]

        def eof_received(self):
            self.done.set_result(bytes(self.received))

    async def main():
        loop = asyncio.get_running_loop()
        server, tr, _, sproto = await connect_pair(loop, server_cls=Buffered)
        tr.write(payload)
        tr.write_eof()
        received = await sproto.done
        tr.close()
        await close_server(server)
        return received, sproto.hints

    received, hints = run(loop_factory, main())
    assert received == payload
    assert len(hints) >= len(payload) // 1000
    assert all(isinstance(h, int) for h in hints)


def test_set_protocol_decides_who_receives(loop_factory):
    """After set_protocol, data goes to the new protocol only, whatever its kind;
    a protocol with no data_received fails as asyncio's transports make it fail."""

    class Buffered(asyncio.BufferedProtocol):
        def __init__(self):
            self.buf = bytearray(100)
            self.data = bytearray()
            self.arrived = asyncio.get_running_loop().create_future()

        def get_buffer(self, sizehint):
            return memoryview(self.buf)

        def buffer_updated(self, nbytes):
            self.data += self.buf[:nbytes]
            if not self.arrived.done():
                self.arrived.set_result(None)

        def wait_bytes(self, n):
            return self.arrived  # (one byte is all this test sends it)

    class Mute(asyncio.BaseProtocol):
        """No data_received at all."""

        def __init__(self):
            self.lost = asyncio.get_running_loop().create_future()

        def connection_lost(self, exc):
            self.lost.set_result(exc)

    async def main():
        loop = asyncio.get_running_loop()
        errors = []
        loop.set_exception_handler(lambda _loop, context: errors.append(context))
        server, tr, _, first = await connect_pair(loop)
        tr.write(b"1")
        await first.wait_bytes(1)
        second, buffered, third = Recorder(), Buffered(), Recorder()
        for protocol, data in [(second, b"2"), (buffered, b"3"), (third, b"4")]:
            first.transport.set_protocol(protocol)
            tr.write(data)
            await protocol.wait_bytes(1)
        mute = Mute()
        first.transport.set_protocol(mute)
        tr.write(b"5")
        lost = await asyncio.wait_for(mute.lost, 10)
        tr.close()
        await close_server(server)
        return (bytes(first.data), bytes(second.data), bytes(buffered.data),
                bytes(third.data), lost, errors)

    first, second, buffered, third, lost, errors = run(loop_factory, main())
    assert (first, second, buffered, third) == (b"1", b"2", b"3", b"4")
    assert isinstance(lost, AttributeError) and "data_received" in str(lost)
    assert [e["message"] for e in errors] == [
        "Fatal error: protocol.data_received() call failed."
    ]


def test_writelines(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        server, tr, _, sproto = await connect_pair(loop)
        tr.writelines([b"a", bytearray(b"bc"), memoryview(b"def")])
        tr.writelines(iter([b"g", b"h"]))
        assert await sproto.wait_bytes(8) == b"abcdefgh"
        with pytest.raises(TypeError):
            tr.write("text")
        tr.close()
        await close_server(server)

    run(loop_factory, main())


def test_extra_info(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        server, tr, _, sproto = await connect_pair(loop)
        port = server.sockets[0].getsockname()[1]
        sock = tr.get_extra_info("socket")
        assert sock.family == socket.AF_INET
        assert sock.type == socket.SOCK_STREAM
        assert sock.fileno() >= 0
        assert tr.get_extra_info("peername") == (HOST, port)
        assert tr.get_extra_info("sockname") == sock.getsockname()
        assert sproto.transport.get_extra_info("peername") == tr.get_extra_info("sockname")
        assert tr.get_extra_info("no such key") is None
        assert tr.get_extra_info("no such key", 42) == 42
        assert tr.can_write_eof()
        assert tr.get_protocol() is not None
        assert not tr.is_closing()
        tr.close()
        assert tr.is_closing()
        await close_server(server)

    run(loop_factory, main())


def test_abort_discards_buffer(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        server, tr, client, sink = await connect_pair(loop, FlowRecorder, Sink)
        tr.write(b"z" * BIG)
        assert tr.get_write_buffer_size() > 0
        tr.abort()
        assert tr.is_closing()
        assert await client.lost is None
        sink.transport.resume_reading()
        exc = await sink.lost
        await close_server(server)
        return getattr(sink, "count", 0), exc

    count, exc = run(loop_factory, main())
    assert count < BIG
    assert exc is None or isinstance(exc, ConnectionResetError)


def test_close_flushes_buffer(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        server, tr, client, sink = await connect_pair(loop, FlowRecorder, Sink)
        tr.write(b"z" * BIG)
        assert tr.get_write_buffer_size() > 0
        tr.close()
        assert tr.is_closing()
        assert not client.lost.done()
        sink.transport.resume_reading()
        assert await client.lost is None
        await sink.eof
        assert await sink.lost is None
        await close_server(server)
        return sink.count

    assert run(loop_factory, main()) == BIG


def test_fd_of_a_live_transport_refuses_add_reader(loop_factory):
    """add_reader/add_writer on a socket a transport owns raise RuntimeError, as in
    asyncio; once the transport is closed the fd is free again."""

    async def main():
        loop = asyncio.get_running_loop()
        server, tr, client, peer = await connect_pair(loop)
        fd = tr.get_extra_info("socket").fileno()
        for add in (loop.add_reader, loop.add_writer):
            with pytest.raises(RuntimeError, match=r"^File descriptor \d+ is used by transport <"):
                add(fd, print)
        tr.close()
        await client.lost
        # The number may now be anyone's: a new socket gets it without complaint.
        probe = socket.socket()
        try:
            loop.add_reader(probe.fileno(), print)
            assert loop.remove_reader(probe.fileno())
        finally:
            probe.close()
        peer.transport.close()
        await peer.lost
        await close_server(server)

    run(loop_factory, main())


async def _one_exchange(inspect):
    """Connect on the running loop, send the server 4 bytes, call ``inspect(client
    transport, server transport)``, close and wait until both sides are lost:
    what ``inspect`` returned."""
    server, tr, client, peer = await connect_pair(asyncio.get_running_loop())
    tr.write(b"ping")
    await peer.wait_bytes(4)
    seen = inspect(tr, peer.transport)
    tr.close()
    await client.lost
    await peer.lost
    await close_server(server)
    return seen


def test_closed_transports_are_freed_without_the_collector(loop_factory):
    """Once connection_lost has run, nothing keeps a vif transport in a reference
    cycle: it (and, through it, the loop's receive buffer) is freed at once, not at
    the next collection. (asyncio's selector transports keep a bound method of
    their own, so they wait for the collector.)"""
    import weakref

    if is_reference(loop_factory):
        pytest.skip("asyncio's transports are freed by the garbage collector")

    async def main():
        return await _one_exchange(lambda *transports: [weakref.ref(t) for t in transports])

    refs = run_without_collector(loop_factory, main())
    assert [ref() for ref in refs] == [None, None]


def test_a_plain_connection_leaves_its_transports_without_instance_attributes(loop_factory):
    """Connecting, exchanging data and closing (client and accepted side) writes
    only the transports' slots: on 3.13 a method call (``transport.write``) is on
    CPython's fast path only while the object has no instance dict."""
    if is_reference(loop_factory):
        pytest.skip("asyncio's transports keep their state in a dict")

    def while_open(client_transport, server_transport):
        server_transport.write(b"pong")
        transports = [client_transport, server_transport]
        return transports, [dict(vars(t)) for t in transports]

    async def main():
        transports, while_connected = await _one_exchange(while_open)
        return while_connected, [dict(vars(t)) for t in transports]

    assert run(loop_factory, main()) == ([{}, {}], [{}, {}])


def test_receive_buffer_starts_on_a_cache_line(loop_factory):
    """The kernel copies received data into the loop's receive buffer; off the
    cache-line grid (a large bytearray starts 16 bytes into its page) that copy
    made a 16 KiB echo about 1.6x slower. vif's buffer is page-aligned."""
    import ctypes

    if is_reference(loop_factory):
        pytest.skip("a vif loop's own receive buffer")
    loop = loop_factory()
    try:
        view = loop._recv_view
        assert not view.readonly and len(view) >= 64 * 1024
        address = ctypes.addressof(ctypes.c_char.from_buffer(view))
        assert address % 4096 == 0
    finally:
        loop.close()


# -- write() after writes that went straight to the socket: each state that
# forbids sending at once (write_eof, sendfile, close, abort, data still
# queued) must be seen by the next write, as asyncio sees it.


async def tcp_peer(loop):
    """A client transport over TCP and the plain, non-blocking socket at its other end."""
    with socket.create_server((HOST, 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        peer, _ = listener.accept()
    peer.setblocking(False)
    transport, protocol = await loop.create_connection(Recorder, sock=client)
    return transport, protocol, peer


async def read_to_eof(loop, peer) -> bytes:
    data = bytearray()
    while chunk := await loop.sock_recv(peer, 1 << 20):
        data += chunk
    return bytes(data)


def test_write_after_write_eof_raises(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        tr, proto, peer = await tcp_peer(loop)
        tr.write(b"one")
        tr.write_eof()
        with pytest.raises(RuntimeError, match="after write_eof"):
            tr.write(b"two")
        got = await read_to_eof(loop, peer)
        tr.close()
        await proto.lost
        peer.close()
        return got

    assert run(loop_factory, main()) == b"one"


def test_write_while_sendfile_waits_raises(loop_factory):
    """asyncio's sendfile makes the transport's empty waiter first; writes raise until
    it resets it."""

    async def main():
        loop = asyncio.get_running_loop()
        tr, proto, peer = await tcp_peer(loop)
        tr.write(b"one")
        waiter = tr._make_empty_waiter()
        with pytest.raises(RuntimeError, match="sendfile is in progress"):
            tr.write(b"two")
        await waiter
        tr._reset_empty_waiter()
        tr.write(b"three")
        tr.write_eof()
        got = await read_to_eof(loop, peer)
        tr.close()
        await proto.lost
        peer.close()
        return got

    assert run(loop_factory, main()) == b"onethree"


@pytest.mark.parametrize("how", ["close", "abort"])
def test_writes_after_close_are_counted_not_sent(loop_factory, how, caplog):
    async def main():
        loop = asyncio.get_running_loop()
        tr, proto, peer = await tcp_peer(loop)
        tr.write(b"one")
        getattr(tr, how)()
        for _ in range(6):
            tr.write(b"late")
        assert await proto.lost is None
        got = await read_to_eof(loop, peer)
        peer.close()
        return got

    with caplog.at_level("WARNING", logger="asyncio"):
        assert run(loop_factory, main()) == b"one"
    warnings = [r for r in caplog.records if r.getMessage() == "socket.send() raised exception."]
    # The first write after close() finds the count at 1; asyncio warns from 5 on.
    assert len(warnings) == 2


@pytest.mark.parametrize("first", ["write", "writelines"])
def test_write_queues_behind_buffered_data(loop_factory, first):
    """Once part of a write waits in the buffer, a later write goes behind it even
    when the socket has room again (the peer read some) before the loop flushes."""
    big = bytes(range(256)) * (32 * 1024)  # 8 MiB: more than the socket buffers take

    async def main():
        loop = asyncio.get_running_loop()
        tr, proto, peer = await tcp_peer(loop)
        tr.write(b"head")
        if first == "write":
            tr.write(big)
        else:
            tr.writelines([big])
        assert tr.get_write_buffer_size() > 0
        early = peer.recv(1 << 20)  # Room in the socket, the buffer not yet flushed.
        tr.write(b"tail")
        tr.write_eof()
        got = early + await read_to_eof(loop, peer)
        tr.close()
        await proto.lost
        peer.close()
        return got

    got = run(loop_factory, main())
    assert len(got) == len(big) + 8
    assert got == b"head" + big + b"tail"
