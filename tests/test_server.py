"""TCP servers and client connections: create_server options, Server API, happy eyeballs."""

from __future__ import annotations

import asyncio
import socket
import sys

import pytest
from vif_testing import Echo, Recorder, ServerProtocols, ipv6_available, run, unused_port

HOST = "127.0.0.1"
needs_ipv6 = pytest.mark.skipif(not ipv6_available(), reason="IPv6 unavailable")


async def roundtrip(addr, payload=b"ping"):
    loop = asyncio.get_running_loop()
    tr, proto = await loop.create_connection(Recorder, addr[0], addr[1])
    tr.write(payload)
    assert await proto.wait_bytes(len(payload)) == payload
    tr.close()
    await proto.lost
    return tr


@needs_ipv6
def test_create_server_several_hosts(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, ["127.0.0.1", "::1"], 0)
        families = sorted(s.family for s in server.sockets)
        assert families == sorted([socket.AF_INET, socket.AF_INET6])
        for s in server.sockets:
            await roundtrip(s.getsockname()[:2])
        server.close()
        await server.wait_closed()

    run(loop_factory, main())


def test_create_server_listening_sockets(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, HOST, 0)
        assert server.get_loop() is loop
        assert server.is_serving()
        (sock,) = server.sockets
        assert sock.family == socket.AF_INET
        assert sock.type == socket.SOCK_STREAM
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR)
        await roundtrip(sock.getsockname())
        server.close()
        assert not server.is_serving()
        await server.wait_closed()
        assert server.sockets == ()

    run(loop_factory, main())


@pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="no SO_REUSEPORT")
def test_create_server_reuse_port(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        first = await loop.create_server(Echo, HOST, 0, reuse_port=True)
        port = first.sockets[0].getsockname()[1]
        second = await loop.create_server(Echo, HOST, port, reuse_port=True)
        for server in (first, second):
            assert server.sockets[0].getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
        await roundtrip((HOST, port))
        with pytest.raises(OSError):
            await loop.create_server(Echo, HOST, port)
        for server in (first, second):
            server.close()
            await server.wait_closed()

    run(loop_factory, main())


def test_create_server_address_in_use(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        with pytest.raises(OSError):
            await loop.create_server(Echo, HOST, port)
        server.close()
        await server.wait_closed()

    run(loop_factory, main())


def test_start_serving_false(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, HOST, 0, start_serving=False)
        assert not server.is_serving()
        addr = server.sockets[0].getsockname()
        with pytest.raises(ConnectionRefusedError):  # not even listening yet
            await loop.create_connection(Recorder, *addr)
        await server.start_serving()
        assert server.is_serving()
        await roundtrip(addr)
        server.close()
        await server.wait_closed()

    run(loop_factory, main())


def test_serve_forever_cancelled(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, HOST, 0)
        addr = server.sockets[0].getsockname()
        task = asyncio.create_task(server.serve_forever())
        await roundtrip(addr)
        assert server.is_serving()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not server.is_serving()
        assert server.sockets == ()
        with pytest.raises(OSError):
            await loop.create_connection(Recorder, *addr)

    run(loop_factory, main())


def test_async_with_server(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        async with await loop.create_server(Echo, HOST, 0) as server:
            assert server.is_serving()
            addr = server.sockets[0].getsockname()
            await roundtrip(addr)
        assert not server.is_serving()
        with pytest.raises(OSError):
            await loop.create_connection(Recorder, *addr)

    run(loop_factory, main())


def test_server_close_keeps_connections(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        factory = ServerProtocols(Recorder)
        server = await loop.create_server(factory, HOST, 0)
        addr = server.sockets[0].getsockname()
        tr, client = await loop.create_connection(Recorder, *addr)
        sproto = await factory.get()
        server.close()
        # Closing the server stops listening; accepted connections live on.
        tr.write(b"after close")
        assert await sproto.wait_bytes(11) == b"after close"
        tr.close()
        await sproto.lost
        await server.wait_closed()

    run(loop_factory, main())


@pytest.mark.skipif(sys.version_info < (3, 13), reason="close_clients is 3.13+")
def test_server_close_clients(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        factory = ServerProtocols(Recorder)
        server = await loop.create_server(factory, HOST, 0)
        addr = server.sockets[0].getsockname()
        _, client = await loop.create_connection(Recorder, *addr)
        sproto = await factory.get()
        server.close()
        server.close_clients()
        assert await sproto.lost is None
        await client.eof
        assert await client.lost is None
        await server.wait_closed()

    run(loop_factory, main())


@pytest.mark.skipif(sys.version_info < (3, 13), reason="abort_clients is 3.13+")
def test_server_abort_clients(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        factory = ServerProtocols(Recorder)
        server = await loop.create_server(factory, HOST, 0)
        addr = server.sockets[0].getsockname()
        _, client = await loop.create_connection(Recorder, *addr)
        sproto = await factory.get()
        server.close()
        server.abort_clients()
        assert await sproto.lost is None
        exc = await client.lost
        assert exc is None or isinstance(exc, ConnectionResetError)
        await server.wait_closed()

    run(loop_factory, main())


def test_connect_accepted_socket(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        listener = socket.create_server((HOST, 0))
        client = socket.create_connection(listener.getsockname())
        conn, _ = listener.accept()
        listener.close()
        tr, proto = await loop.connect_accepted_socket(Recorder, conn)
        assert tr.get_extra_info("peername") == client.getsockname()
        client.sendall(b"hello")
        assert await proto.wait_bytes(5) == b"hello"
        tr.write(b"back")
        tr.close()
        await proto.lost
        client.settimeout(5)
        assert client.recv(100) == b"back"
        client.close()

    run(loop_factory, main())


def test_create_server_with_sock(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        sock = socket.socket()
        sock.bind((HOST, 0))
        server = await loop.create_server(Echo, sock=sock)
        assert server.sockets[0].fileno() == sock.fileno()
        await roundtrip(sock.getsockname())
        server.close()
        await server.wait_closed()

    run(loop_factory, main())


def test_create_connection_refused(loop_factory):
    port = unused_port()

    async def main():
        loop = asyncio.get_running_loop()
        with pytest.raises(ConnectionRefusedError):
            await loop.create_connection(Recorder, HOST, port)

    run(loop_factory, main())


def test_create_connection_local_addr_and_sock(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, HOST, 0)
        addr = server.sockets[0].getsockname()
        local = (HOST, unused_port())
        tr, _ = await loop.create_connection(Recorder, *addr, local_addr=local)
        assert tr.get_extra_info("sockname") == local
        tr.close()
        sock = socket.create_connection(addr)
        tr, proto = await loop.create_connection(Recorder, sock=sock)
        tr.write(b"via sock")
        assert await proto.wait_bytes(8) == b"via sock"
        tr.close()
        server.close()
        await server.wait_closed()

    run(loop_factory, main())


@pytest.mark.parametrize("interleave", [None, 1])
def test_happy_eyeballs_first_address_dead(loop_factory, monkeypatch, interleave):
    v6 = ipv6_available()
    dead_host, dead_family = ("::1", socket.AF_INET6) if v6 else (HOST, socket.AF_INET)
    dead_port = unused_port(dead_family, dead_host)
    fake_name = "happy-eyeballs.invalid"

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, HOST, 0)
        live_port = server.sockets[0].getsockname()[1]
        real_getaddrinfo = socket.getaddrinfo

        def fake_getaddrinfo(host, port, *args, **kwargs):
            if host != fake_name:
                return real_getaddrinfo(host, port, *args, **kwargs)
            stream, tcp = socket.SOCK_STREAM, socket.IPPROTO_TCP
            dead_addr = (dead_host, dead_port, 0, 0) if v6 else (dead_host, dead_port)
            return [
                (dead_family, stream, tcp, "", dead_addr),
                (socket.AF_INET, stream, tcp, "", (HOST, live_port)),
            ]

        monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
        tr, proto = await loop.create_connection(
            Recorder, fake_name, 4242, happy_eyeballs_delay=0.05, interleave=interleave
        )
        assert tr.get_extra_info("peername") == (HOST, live_port)
        tr.write(b"eyeballs")
        assert await proto.wait_bytes(8) == b"eyeballs"
        tr.close()
        server.close()
        await server.wait_closed()

    run(loop_factory, main())


def test_all_addresses_dead(loop_factory):
    port = unused_port()

    async def main():
        loop = asyncio.get_running_loop()
        with pytest.raises(OSError):
            await loop.create_connection(Recorder, HOST, port, happy_eyeballs_delay=0.05)

    run(loop_factory, main())
