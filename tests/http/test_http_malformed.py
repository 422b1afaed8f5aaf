"""Malformed and hostile servers: every case ends in a ClientError or a TimeoutError,
never a hang, and the broken connection is dropped (the fd check of ``runner``)."""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest
from http_support import raw_server, read_request

import vif.http as http

GOOD = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def answer(data: bytes, *, close: bool = True):
    async def handler(reader, writer):
        while await read_request(reader):
            writer.write(data)
            await writer.drain()
            if close:
                writer.close()
                return

    return handler


CASES = {
    "bad-status-line": (b"HTTX/1.1 200 OK\r\n\r\n", http.InvalidResponseError),
    "bad-status-code": (b"HTTP/1.1 2000 OK\r\n\r\n", http.InvalidResponseError),
    "bad-header": (b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n", http.InvalidResponseError),
    "bad-content-length": (
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        http.InvalidResponseError,
    ),
    "bad-chunk-size": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n",
        http.ClientPayloadError,
    ),
    "short-body": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a few",
        http.ClientPayloadError,
    ),
    "truncated-chunked": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
        http.ClientPayloadError,
    ),
    "empty-reply": (b"", http.ServerDisconnectedError),
    "partial-head": (b"HTTP/1.1 200 OK\r\nContent-", http.ServerDisconnectedError),
    "long-header": (b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", http.LineTooLong),
    "huge-head": (
        b"HTTP/1.1 200 OK\r\n"
        + b"X-H: "
        + b"b" * 4000
        + b"\r\n" * 1
        + b"".join(b"X-%d: %s\r\n" % (i, b"c" * 4000) for i in range(20))
        + b"\r\n",
        http.HeadersTooLarge,
    ),
    "bad-gzip": (
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\nnotgz",
        http.ClientPayloadError,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_malformed_response(runner, name):
    data, exc_type = CASES[name]

    async def body():
        async with raw_server(answer(data)) as (base, _):
            async with http.ClientSession() as s:
                with pytest.raises(exc_type):
                    async with s.get(base + "/") as resp:
                        await resp.read()
                assert s.connector.acquired_count == 0
                assert s.connector.idle_count() == 0

    runner(body)


def test_reset_mid_body(runner):
    async def handler(reader, writer):
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial")
        await writer.drain()
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # RST

    async def body():
        async with raw_server(handler) as (base, _):
            async with http.ClientSession() as s:
                with pytest.raises(http.ClientPayloadError):
                    async with s.get(base + "/") as resp:
                        await resp.read()

    runner(body)


def test_server_never_answers(runner):
    async def handler(reader, writer):
        await read_request(reader)
        await reader.read()  # never answers

    async def body():
        async with raw_server(handler) as (base, _):
            async with http.ClientSession() as s:
                with pytest.raises(TimeoutError):
                    await s.get(base + "/", timeout=http.ClientTimeout(sock_read=0.3))
                with pytest.raises(TimeoutError):
                    await s.get(base + "/", timeout=0.3)
                assert s.connector.idle_count() == 0

    runner(body)


def test_drip_feed(runner):
    """A byte at a time, slowly: the total time-out ends it (sock_read alone would not)."""

    async def handler(reader, writer):
        await read_request(reader)
        for b in b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 1000:
            writer.write(bytes([b]))
            await writer.drain()
            await asyncio.sleep(0.05)

    async def body():
        async with raw_server(handler) as (base, _):
            async with http.ClientSession() as s:
                timeout = http.ClientTimeout(total=0.5, sock_read=0.2)
                with pytest.raises(TimeoutError):
                    async with s.get(base + "/", timeout=timeout) as resp:
                        await resp.read()

    runner(body)


def test_stale_keepalive_is_retried(runner):
    """The server closes the idle connection; the next GET goes out on a new one."""

    async def handler(reader, writer):
        await read_request(reader)
        writer.write(GOOD)
        await writer.drain()
        writer.close()  # no Connection: close header: the client pools it

    async def body():
        async with raw_server(handler) as (base, server):
            async with http.ClientSession() as s:
                for _ in range(3):
                    async with s.get(base + "/") as resp:
                        assert await resp.read() == b"ok"
                assert server.connections == 3

    runner(body)


def test_read_until_close(runner):
    async def body():
        data = b"HTTP/1.1 200 OK\r\n\r\nall of it until close"
        async with raw_server(answer(data)) as (base, _):
            async with http.ClientSession() as s:
                async with s.get(base + "/") as resp:
                    assert await resp.read() == b"all of it until close"
                assert s.connector.idle_count() == 0

    runner(body)


def test_informational_then_final(runner):
    async def body():
        data = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nLink: x\r\n\r\n" + GOOD
        async with raw_server(answer(data, close=False)) as (base, _):
            async with http.ClientSession() as s:
                for _ in range(2):
                    async with s.get(base + "/") as resp:
                        assert resp.status == 200 and await resp.read() == b"ok"

    runner(body)


def test_unsolicited_data_drops_connection(runner):
    async def body():
        async with raw_server(answer(GOOD + b"garbage", close=False)) as (base, _):
            async with http.ClientSession() as s:
                async with s.get(base + "/") as resp:
                    assert await resp.read() == b"ok"
                assert s.connector.idle_count() == 0

    runner(body)


def test_limits_are_configurable(runner):
    async def body():
        data = b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 9000 + b"\r\nContent-Length: 0\r\n\r\n"
        async with raw_server(answer(data)) as (base, _):
            async with http.ClientSession(max_field_size=16384) as s:
                async with s.get(base + "/") as resp:
                    assert len(resp.headers["X-Big"]) == 9000

    runner(body)
