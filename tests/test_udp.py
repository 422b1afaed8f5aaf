"""UDP: create_datagram_endpoint, sendto/datagram_received, error_received, options."""

from __future__ import annotations

import asyncio
import errno
import socket

import pytest
from vif_testing import ipv6_available, is_reference, run, run_without_collector, unused_port

HOST = "127.0.0.1"


class Datagrams(asyncio.DatagramProtocol):
    def __init__(self, echo=False):
        loop = asyncio.get_running_loop()
        self.echo = echo
        self.queue: asyncio.Queue = asyncio.Queue()
        self.errors: asyncio.Queue = asyncio.Queue()
        self.lost = loop.create_future()

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        if self.echo:
            self.transport.sendto(data.upper(), addr)
        self.queue.put_nowait((data, addr))

    def error_received(self, exc):
        self.errors.put_nowait(exc)

    def connection_lost(self, exc):
        self.lost.set_result(exc)


async def endpoint(**kwargs):
    loop = asyncio.get_running_loop()
    echo = kwargs.pop("echo", False)
    return await loop.create_datagram_endpoint(lambda: Datagrams(echo), **kwargs)


def test_udp_datagrams_are_independent_bytes(loop_factory):
    async def main():
        stransport, server = await endpoint(local_addr=(HOST, 0))
        saddr = stransport.get_extra_info("sockname")
        ctransport, _ = await endpoint(remote_addr=saddr)
        ctransport.sendto(b"first datagram")
        first, _ = await server.queue.get()
        ctransport.sendto(b"2nd")
        second, _ = await server.queue.get()
        ctransport.close()
        stransport.close()
        await server.lost
        return first, second

    first, second = run(loop_factory, main())
    assert (type(first), first) == (bytes, b"first datagram")
    assert (type(second), second) == (bytes, b"2nd")


def test_udp_echo_connected_client(loop_factory):
    async def main():
        stransport, server = await endpoint(local_addr=(HOST, 0), echo=True)
        saddr = stransport.get_extra_info("sockname")
        ctransport, client = await endpoint(remote_addr=saddr)
        assert ctransport.get_extra_info("peername") == saddr
        caddr = ctransport.get_extra_info("sockname")
        ctransport.sendto(b"ping")
        assert await server.queue.get() == (b"ping", caddr)
        assert await client.queue.get() == (b"PING", saddr)
        ctransport.sendto(b"again", saddr)  # the connected address is accepted too
        assert await client.queue.get() == (b"AGAIN", saddr)
        with pytest.raises(ValueError):
            ctransport.sendto(b"elsewhere", (HOST, saddr[1] + 1 or 1))
        ctransport.close()
        stransport.close()
        assert await client.lost is None
        assert await server.lost is None

    run(loop_factory, main())


def test_udp_unconnected_sendto(loop_factory):
    async def main():
        atr, a = await endpoint(local_addr=(HOST, 0))
        btr, b = await endpoint(local_addr=(HOST, 0))
        aaddr, baddr = atr.get_extra_info("sockname"), btr.get_extra_info("sockname")
        assert atr.get_extra_info("peername") is None
        for i in range(5):
            atr.sendto(b"n%d" % i, baddr)
        got = [await b.queue.get() for _ in range(5)]
        assert got == [(b"n%d" % i, aaddr) for i in range(5)]
        btr.sendto(b"back", aaddr)
        assert await a.queue.get() == (b"back", baddr)
        assert atr.get_write_buffer_size() == 0
        atr.close()
        btr.close()
        await a.lost
        await b.lost

    run(loop_factory, main())


@pytest.mark.skipif(not ipv6_available(), reason="IPv6 unavailable")
def test_udp_ipv6(loop_factory):
    async def main():
        stransport, server = await endpoint(local_addr=("::1", 0), echo=True)
        saddr = stransport.get_extra_info("sockname")
        ctransport, client = await endpoint(remote_addr=saddr[:2])
        ctransport.sendto(b"six")
        data, addr = await client.queue.get()
        assert data == b"SIX"
        assert addr[:2] == saddr[:2]
        ctransport.close()
        stransport.close()

    run(loop_factory, main())


def test_udp_error_received_on_icmp_unreachable(loop_factory):
    dead = unused_port(type=socket.SOCK_DGRAM)

    async def main():
        ctransport, client = await endpoint(remote_addr=(HOST, dead))
        ctransport.sendto(b"anyone there?")
        exc = await client.errors.get()
        # The endpoint survives the error and can still be used.
        ctransport.sendto(b"still here?")
        ctransport.close()
        await client.lost
        return exc

    exc = run(loop_factory, main())
    assert isinstance(exc, ConnectionRefusedError)


def test_udp_allow_broadcast(loop_factory):
    async def main():
        on, _ = await endpoint(local_addr=(HOST, 0), allow_broadcast=True)
        off, _ = await endpoint(local_addr=(HOST, 0))
        result = [
            tr.get_extra_info("socket").getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST)
            for tr in (on, off)
        ]
        on.close()
        off.close()
        return result

    on, off = run(loop_factory, main())
    assert on != 0
    assert off == 0


@pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="no SO_REUSEPORT")
def test_udp_reuse_port(loop_factory):
    async def main():
        first, _ = await endpoint(local_addr=(HOST, 0), reuse_port=True)
        port = first.get_extra_info("sockname")[1]
        second, _ = await endpoint(local_addr=(HOST, port), reuse_port=True)
        opts = [
            tr.get_extra_info("socket").getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
            for tr in (first, second)
        ]
        with pytest.raises(OSError) as info:
            await endpoint(local_addr=(HOST, port))
        assert info.value.errno == errno.EADDRINUSE
        first.close()
        second.close()
        return opts

    assert all(run(loop_factory, main()))


def test_udp_existing_sock(loop_factory):
    async def main():
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((HOST, 0))
        tr, proto = await endpoint(sock=sock)
        assert tr.get_extra_info("socket").fileno() == sock.fileno()
        other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        other.bind((HOST, 0))
        other.sendto(b"hi", sock.getsockname())
        data, addr = await proto.queue.get()
        assert (data, addr) == (b"hi", other.getsockname())
        other.close()
        tr.close()
        await proto.lost

    run(loop_factory, main())


def test_udp_abort(loop_factory):
    async def main():
        tr, proto = await endpoint(local_addr=(HOST, 0))
        tr.abort()
        assert tr.is_closing()
        assert await proto.lost is None

    run(loop_factory, main())


def test_closed_datagram_transports_are_freed_without_the_collector(loop_factory):
    """Once connection_lost has run, nothing keeps a vif datagram transport in a
    reference cycle (its reader, which refers back to it, is dropped): it is freed
    at once, not at the next collection."""
    import weakref

    if is_reference(loop_factory):
        pytest.skip("asyncio's transports are freed by the garbage collector")

    async def main():
        stransport, server = await endpoint(local_addr=(HOST, 0), echo=True)
        ctransport, client = await endpoint(remote_addr=stransport.get_extra_info("sockname"))
        ctransport.sendto(b"ping")
        await client.queue.get()  # both transports have read a datagram
        refs = [weakref.ref(stransport), weakref.ref(ctransport)]
        ctransport.close()
        stransport.close()
        await client.lost
        await server.lost
        return refs

    refs = run_without_collector(loop_factory, main())
    assert [ref() for ref in refs] == [None, None]


# -- sendto() after datagrams that went straight to the socket: closing and a
# queue of datagrams waiting must be seen by the next sendto, as asyncio sees them.


@pytest.mark.parametrize("how", ["close", "abort"])
def test_udp_sendto_after_close_is_counted_not_sent(loop_factory, how, caplog):
    async def main():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer, \
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
            peer.bind((HOST, 0))
            transport, proto = await endpoint(remote_addr=peer.getsockname())
            transport.sendto(b"one")
            getattr(transport, how)()
            for _ in range(6):
                transport.sendto(b"late")
            await proto.lost
            # Datagrams from one host to another on loopback arrive in the order
            # sent: anything sent late would come before this one.
            other.sendto(b"end", peer.getsockname())
            peer.settimeout(5)
            return [peer.recv(100), peer.recv(100)]

    with caplog.at_level("WARNING", logger="asyncio"):
        assert run(loop_factory, main()) == [b"one", b"end"]
    warnings = [r for r in caplog.records if r.getMessage() == "socket.send() raised exception."]
    assert len(warnings) == 2


@pytest.mark.parametrize("connected", [True, False], ids=["connected", "unconnected"])
def test_datagrams_queue_behind_queued_ones(loop_factory, short_tmp, connected):
    """A Unix datagram socket blocks when its peer's queue is full: once datagrams
    wait in the transport, a later one goes behind them even when the peer has
    made room before the loop flushes the queue."""

    async def main():
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as peer:
            peer.bind(f"{short_tmp}/peer")
            peer.setblocking(False)
            own = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            own.bind(f"{short_tmp}/own")
            if connected:
                own.connect(f"{short_tmp}/peer")
            transport, proto = await endpoint(sock=own)
            address = None if connected else f"{short_tmp}/peer"
            sent = 0
            while not transport.get_write_buffer_size():
                transport.sendto(b"%d" % sent, address)
                sent += 1
                assert sent < 100_000, "the peer's queue never filled"
            transport.sendto(b"%d" % sent, address)  # Queued too.
            got = [peer.recv(100)]  # Room again, the queue not yet flushed.
            transport.sendto(b"tail", address)
            while len(got) < sent + 2:
                got.append(await loop.sock_recv(peer, 100))
            transport.close()
            await proto.lost
            return sent, got

    sent, got = run(loop_factory, main())
    assert got == [b"%d" % i for i in range(sent + 1)] + [b"tail"]
