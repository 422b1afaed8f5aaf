"""Connecting: happy eyeballs through the DNS cache, and releasing connections."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

import pytest
from http_support import aiohttp_server, run
from test_http_aiohttp import make_app

import vif.http as http
from vif.http._dns import happy_connect


@contextlib.contextmanager
def blackhole():
    """A listening socket whose accept queue is full: connects to it hang (SYN dropped)."""
    bh = socket.socket()
    bh.bind(("127.0.0.1", 0))
    bh.listen(0)
    fillers = []
    try:
        for _ in range(4):
            s = socket.socket()
            s.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                s.connect(bh.getsockname())
            fillers.append(s)
        yield bh.getsockname()
    finally:
        for s in fillers:
            s.close()
        bh.close()


def info(addr):
    return (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", addr)


def test_happy_eyeballs_skips_a_hanging_address(loop_factory):
    async def body():
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        good = server.sockets[0].getsockname()
        try:
            with blackhole() as bad:
                loop = asyncio.get_running_loop()
                t0 = time.monotonic()
                sock = await happy_connect(loop, [info(bad), info(good)], delay=0.05)
                with sock:
                    assert sock.getpeername() == good
                assert time.monotonic() - t0 < 2
        finally:
            server.close()
            await server.wait_closed()

    run(loop_factory, body())


def test_happy_eyeballs_falls_back_after_refusal(loop_factory):
    async def body():
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        good = server.sockets[0].getsockname()
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            refused = closed.getsockname()
            try:
                loop = asyncio.get_running_loop()
                sock = await happy_connect(loop, [info(refused), info(good)], delay=5)
                with sock:
                    assert sock.getpeername() == good
                with pytest.raises(OSError):
                    await happy_connect(loop, [info(refused)], delay=0.05)
            finally:
                server.close()
                await server.wait_closed()

    run(loop_factory, body())


def test_session_uses_dns_cache_and_happy_eyeballs(runner):
    async def body():
        async with aiohttp_server(make_app()) as base:
            port = int(base.rsplit(":", 1)[1])
            with blackhole() as bad:
                conn = http.TCPConnector(happy_eyeballs_delay=0.05)
                loop = asyncio.get_running_loop()
                conn._dns.put(
                    ("multi.test", port, 0), [info(bad), info(("127.0.0.1", port))], loop.time()
                )
                async with http.ClientSession(connector=conn) as s:
                    async with s.get(f"http://multi.test:{port}/json") as resp:
                        assert (await resp.json())["ok"]

    runner(body)


def test_unknown_host(runner):
    async def body():
        async with http.ClientSession() as s:
            with pytest.raises(http.ClientConnectorError):
                await s.get("http://does-not-exist.invalid/")

    runner(body)


def test_release_without_reading_drops_connection(runner):
    async def body():
        async with aiohttp_server(make_app()) as base:
            async with http.ClientSession() as s:
                resp = await s.get(base + "/big")
                resp.release()  # 1 MiB not read: the connection cannot be reused
                assert s.connector.idle_count() == 0
                resp = await s.get(base + "/json")
                resp.close()
                assert s.connector.idle_count() == 0
                async with s.get(base + "/json") as resp:
                    pass  # small body already complete: reused
                assert s.connector.idle_count() == 1

    runner(body)


def test_no_unclosed_warnings_after_close(loop_factory):
    import gc
    import warnings

    async def body():
        async with aiohttp_server(make_app()) as base:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                s = http.ClientSession()
                for path in ("/json", "/big", "/chunked"):
                    resp = await s.get(base + path)  # some bodies deliberately left unread
                await s.close()
                resp.release()
                del s, resp
                gc.collect()
            assert not [w for w in caught if issubclass(w.category, ResourceWarning)]

    run(loop_factory, body())


def test_unclosed_session_warns(loop_factory):
    import gc

    async def body():
        s = http.ClientSession()
        with pytest.warns(ResourceWarning, match="Unclosed client session"):
            del s
            gc.collect()

    run(loop_factory, body())
