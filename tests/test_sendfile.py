"""sendfile: loop.sendfile over TCP (whole file, offset/count, ordering with buffered
writes, writes during a transfer), over TLS (fallback and fallback=False), and
loop.sock_sendfile, all checked against stock asyncio."""

from __future__ import annotations

import asyncio
import io
import os
import socket
import ssl

import pytest
from vif_testing import REFERENCE, Recorder, ServerProtocols, ipv6_available, run

test_utils = pytest.importorskip("test.test_asyncio.utils")

HOST = "127.0.0.1"
SIZE = 10 * 1024 * 1024


@pytest.fixture(scope="module")
def content() -> bytes:
    return os.urandom(SIZE)


@pytest.fixture
def datafile(tmp_path, content):
    path = tmp_path / "data.bin"
    path.write_bytes(content)
    with open(path, "rb") as f:
        yield f


async def connect_pair(loop, host=HOST, *, ssl_pair=None):
    """(server, client transport, client protocol, server protocol)."""
    factory = ServerProtocols(Recorder)
    sctx, cctx = ssl_pair or (None, None)
    server = await loop.create_server(factory, host, 0, ssl=sctx)
    port = server.sockets[0].getsockname()[1]
    kwargs = {"ssl": cctx, "server_hostname": "localhost"} if cctx else {}
    tr, client = await loop.create_connection(Recorder, host, port, **kwargs)
    return server, tr, client, await factory.get()


def shrink_buffers(client_tr, server_tr) -> None:
    """Small fixed kernel buffers: a transfer to a paused reader stalls well before
    10 MiB have moved (autotuned loopback buffers can hold tens of MiB)."""
    client_tr.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    server_tr.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)


async def close_all(server, tr, client):
    tr.close()
    await client.lost
    server.close()
    await server.wait_closed()


def tls_contexts():
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(test_utils.SIGNED_CERTFILE)
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.load_verify_locations(test_utils.SIGNING_CA)
    return sctx, cctx


@pytest.mark.parametrize(
    "host",
    [
        HOST,
        pytest.param(
            "::1", marks=pytest.mark.skipif(not ipv6_available(), reason="no IPv6 loopback")
        ),
    ],
    ids=["ipv4", "ipv6"],
)
def test_sendfile_whole_file(loop_factory, datafile, content, host):
    async def main():
        loop = asyncio.get_running_loop()
        server, tr, client, sproto = await connect_pair(loop, host)
        sent = await loop.sendfile(tr, datafile)
        assert sent == SIZE
        assert datafile.tell() == SIZE
        assert await sproto.wait_bytes(SIZE) == content
        # The transport is fully usable afterwards, in both directions.
        tr.write(b"tail")
        assert await sproto.wait_bytes(SIZE + 4) == content + b"tail"
        sproto.transport.write(b"reply")
        assert await client.wait_bytes(5) == b"reply"
        assert tr.is_reading()
        await close_all(server, tr, client)

    run(loop_factory, main())


@pytest.mark.parametrize(
    "offset,count",
    [(1000, 5000), (SIZE - 10, None), (12345, SIZE), (0, 1), (SIZE, None), (SIZE + 100, 10)],
)
def test_sendfile_offset_and_count(loop_factory, datafile, content, offset, count):
    async def scenario():
        loop = asyncio.get_running_loop()
        server, tr, client, sproto = await connect_pair(loop)
        sent = await loop.sendfile(tr, datafile, offset, count)
        position = datafile.tell()
        tr.write(b"END")  # marks the end of what sendfile sent
        data = await sproto.wait_bytes(sent + 3)
        await close_all(server, tr, client)
        return sent, position, data

    sent, position, data = run(loop_factory, scenario())
    expected = content[offset : offset + count if count is not None else None]
    assert sent == len(expected)
    assert data == expected + b"END"
    assert (sent, position) == run(REFERENCE, scenario())[:2]


def test_sendfile_empty_file(loop_factory, tmp_path):
    path = tmp_path / "empty"
    path.write_bytes(b"")

    async def main():
        loop = asyncio.get_running_loop()
        server, tr, client, sproto = await connect_pair(loop)
        with open(path, "rb") as f:
            assert await loop.sendfile(tr, f) == 0
            assert f.tell() == 0
        tr.write(b"x")
        assert await sproto.wait_bytes(1) == b"x"
        await close_all(server, tr, client)

    run(loop_factory, main())


def test_sendfile_after_buffered_writes_keeps_order(loop_factory, datafile, content):
    head = os.urandom(8 * 1024 * 1024)  # more than the socket buffers take at once

    async def main():
        loop = asyncio.get_running_loop()
        server, tr, client, sproto = await connect_pair(loop)
        shrink_buffers(tr, sproto.transport)
        sproto.transport.pause_reading()
        tr.write(head)
        assert tr.get_write_buffer_size() > 0
        task = asyncio.ensure_future(loop.sendfile(tr, datafile))
        await asyncio.sleep(0)
        sproto.transport.resume_reading()
        assert await task == SIZE
        assert await sproto.wait_bytes(len(head) + SIZE) == head + content
        await close_all(server, tr, client)

    run(loop_factory, main())


def test_write_during_sendfile(loop_factory, datafile, content):
    async def scenario():
        loop = asyncio.get_running_loop()
        server, tr, client, sproto = await connect_pair(loop)
        shrink_buffers(tr, sproto.transport)
        sproto.transport.pause_reading()  # the transfer stalls once the buffers fill
        task = asyncio.ensure_future(loop.sendfile(tr, datafile))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not task.done()
        try:
            tr.write(b"interleaved")
            outcome = None
        except RuntimeError as exc:
            outcome = (RuntimeError, str(exc))
        sproto.transport.resume_reading()
        assert await task == SIZE
        assert (await sproto.wait_bytes(SIZE))[:SIZE] == content
        await close_all(server, tr, client)
        return outcome

    got = run(loop_factory, scenario())
    assert got == run(REFERENCE, scenario())
    assert got is not None


def test_sendfile_peer_goes_away(loop_factory, datafile):
    async def scenario():
        loop = asyncio.get_running_loop()
        server, tr, client, sproto = await connect_pair(loop)
        shrink_buffers(tr, sproto.transport)
        sproto.transport.pause_reading()
        task = asyncio.ensure_future(loop.sendfile(tr, datafile))
        for _ in range(20):
            await asyncio.sleep(0)
        sproto.transport.abort()  # unread data: the kernel resets the connection
        with pytest.raises(OSError) as excinfo:
            await task
        await client.lost
        server.close()
        await server.wait_closed()
        return isinstance(excinfo.value, ConnectionError)

    assert run(loop_factory, scenario()) is run(REFERENCE, scenario()) is True


def test_sendfile_tls_fallback(loop_factory, datafile, content):
    async def main():
        loop = asyncio.get_running_loop()
        server, tr, client, sproto = await connect_pair(loop, ssl_pair=tls_contexts())
        assert await loop.sendfile(tr, datafile, 100, 3_000_000) == 3_000_000
        assert datafile.tell() == 3_000_100
        assert await sproto.wait_bytes(3_000_000) == content[100:3_000_100]
        await close_all(server, tr, client)

    run(loop_factory, main())


def test_sendfile_tls_no_fallback(loop_factory, datafile):
    async def scenario():
        loop = asyncio.get_running_loop()
        server, tr, client, sproto = await connect_pair(loop, ssl_pair=tls_contexts())
        with pytest.raises(Exception) as excinfo:
            await loop.sendfile(tr, datafile, fallback=False)
        position = datafile.tell()
        tr.write(b"ok")  # the connection survives
        assert await sproto.wait_bytes(2) == b"ok"
        await close_all(server, tr, client)
        return type(excinfo.value), position

    got = run(loop_factory, scenario())
    assert got == run(REFERENCE, scenario())
    assert got == (RuntimeError, 0)  # asyncio: "fallback is disabled and native sendfile..."


async def socket_pair(loop, family=socket.AF_INET, host=HOST):
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.bind((host, 0))
    listener.listen()
    listener.setblocking(False)
    client = socket.socket(family, socket.SOCK_STREAM)
    client.setblocking(False)
    accepted = asyncio.ensure_future(loop.sock_accept(listener))
    await loop.sock_connect(client, listener.getsockname()[:2])
    conn, _ = await accepted
    listener.close()
    return client, conn


async def recv_exactly(loop, sock, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        data = await loop.sock_recv(sock, min(n - len(buf), 1 << 20))
        assert data, "unexpected EOF"
        buf += data
    return bytes(buf)


@pytest.mark.parametrize("offset,count", [(0, None), (777, 1_000_000), (SIZE - 5, 100)])
def test_sock_sendfile(loop_factory, datafile, content, offset, count):
    async def main():
        loop = asyncio.get_running_loop()
        client, conn = await socket_pair(loop)
        expected = content[offset : offset + count if count is not None else None]
        receiving = asyncio.ensure_future(recv_exactly(loop, conn, len(expected)))
        sent = await loop.sock_sendfile(client, datafile, offset, count, fallback=False)
        assert sent == len(expected)
        assert datafile.tell() == offset + len(expected)
        assert await receiving == expected
        client.close()
        assert await loop.sock_recv(conn, 10) == b""
        conn.close()

    run(loop_factory, main())


def test_sock_sendfile_not_a_regular_file(loop_factory):
    """A BytesIO has no fd: native sendfile is unavailable, the fallback copies."""

    async def scenario():
        loop = asyncio.get_running_loop()
        client, conn = await socket_pair(loop)
        src = io.BytesIO(b"in memory" * 1000)
        with pytest.raises(asyncio.SendfileNotAvailableError):
            await loop.sock_sendfile(client, src, fallback=False)
        sent = await loop.sock_sendfile(client, src, 9)
        data = await recv_exactly(loop, conn, sent)
        client.close()
        conn.close()
        return sent, src.tell(), data

    got = run(loop_factory, scenario())
    assert got == run(REFERENCE, scenario())
    assert got[0] == 8991


def test_sock_sendfile_argument_errors(loop_factory, datafile):
    async def scenario():
        loop = asyncio.get_running_loop()
        outcomes = []
        client, conn = await socket_pair(loop)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.setblocking(False)
        with pytest.raises(ValueError) as excinfo:
            await loop.sock_sendfile(udp, datafile)
        outcomes.append(type(excinfo.value))
        udp.close()
        for bad in ({"offset": -1}, {"count": 0}, {"count": -5}, {"offset": "0"}):
            try:
                await loop.sock_sendfile(client, datafile, **bad)
                outcomes.append(None)
            except (TypeError, ValueError) as exc:
                outcomes.append(type(exc))
        client.close()
        conn.close()
        return outcomes

    got = run(loop_factory, scenario())
    assert got == run(REFERENCE, scenario())
    assert got[0] is ValueError


def test_cancel_sendfile(loop_factory, datafile, content):
    """A cancelled transfer leaves the transport usable; what arrived is a prefix of
    the file; the file position is what stock asyncio leaves."""

    async def scenario():
        loop = asyncio.get_running_loop()
        server, tr, client, sproto = await connect_pair(loop)
        shrink_buffers(tr, sproto.transport)
        sproto.transport.pause_reading()  # the transfer stalls once the buffers fill
        task = asyncio.ensure_future(loop.sendfile(tr, datafile))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        position = datafile.tell()
        assert tr.is_reading()
        tr.write(b"MARK")  # the transport is ours again
        sproto.transport.resume_reading()
        while not sproto.data.endswith(b"MARK"):
            await sproto.wait_bytes(len(sproto.data) + 1)
        received = bytes(sproto.data[:-4])
        assert 0 < len(received) < SIZE
        assert received == content[: len(received)]
        sproto.transport.write(b"pong")
        assert await client.wait_bytes(4) == b"pong"
        await close_all(server, tr, client)
        return position

    assert run(loop_factory, scenario()) == run(REFERENCE, scenario())


def test_sendfile_keeps_reading_paused_and_rejects_closing(loop_factory, datafile, content):
    async def scenario():
        loop = asyncio.get_running_loop()
        server, tr, client, sproto = await connect_pair(loop)
        tr.pause_reading()
        assert await loop.sendfile(tr, datafile, 0, 100_000) == 100_000
        still_paused = not tr.is_reading()
        assert await sproto.wait_bytes(100_000) == content[:100_000]
        tr.resume_reading()
        sproto.transport.write(b"hello")
        assert await client.wait_bytes(5) == b"hello"
        tr.close()
        try:
            await loop.sendfile(tr, datafile)
            closing = None
        except RuntimeError as exc:
            closing = (RuntimeError, str(exc))
        await client.lost
        server.close()
        await server.wait_closed()
        return still_paused, closing

    got = run(loop_factory, scenario())
    assert got == run(REFERENCE, scenario())
    assert got == (True, (RuntimeError, "Transport is closing"))
