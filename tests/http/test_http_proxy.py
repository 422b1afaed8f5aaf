"""Proxies: explicit ``proxy=``, ``trust_env`` (HTTP_PROXY / NO_PROXY), CONNECT for https."""

from __future__ import annotations

import asyncio
import base64

import pytest
from http_support import aiohttp_server, tls_contexts
from test_http_aiohttp import make_app

import vif.http as http


class Proxy:
    """A minimal forward proxy: absolute-form requests and CONNECT tunnels."""

    def __init__(self):
        self.requests: list[bytes] = []
        self.tasks: set[asyncio.Task] = set()

    async def handle(self, reader, writer):
        self.tasks.add(asyncio.current_task())
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.requests.append(head)
            line = head.split(b"\r\n", 1)[0].decode()
            method, target, _ = line.split(" ")
            if method == "CONNECT":
                host, port = target.rsplit(":", 1)
                up_r, up_w = await asyncio.open_connection(host, int(port))
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                rest = target.split("://", 1)[1]
                hostport, _, path = rest.partition("/")
                host, port = hostport.rsplit(":", 1)
                up_r, up_w = await asyncio.open_connection(host, int(port))
                first, hdrs = head.split(b"\r\n", 1)
                up_w.write(f"{method} /{path} HTTP/1.1\r\n".encode() + hdrs)
            await asyncio.gather(self._pipe(reader, up_w), self._pipe(up_r, writer))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            self.tasks.discard(asyncio.current_task())

    @staticmethod
    async def _pipe(reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


async def start_proxy():
    proxy = Proxy()
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    return proxy, server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def stop_proxy(proxy, server):
    server.close()
    if proxy.tasks:
        _, pending = await asyncio.wait(list(proxy.tasks), timeout=5)
        for t in pending:
            t.cancel()
    await server.wait_closed()


def test_http_proxy_explicit(runner):
    async def body():
        proxy, server, proxy_url = await start_proxy()
        try:
            async with aiohttp_server(make_app()) as base:
                async with http.ClientSession() as s:
                    auth = http.BasicAuth("pu", "pp")
                    async with s.get(base + "/json", proxy=proxy_url, proxy_auth=auth) as resp:
                        assert (await resp.json())["ok"]
            first = proxy.requests[0].decode()
            assert first.startswith(f"GET {base}/json HTTP/1.1")
            token = base64.b64encode(b"pu:pp").decode()
            assert f"Proxy-Authorization: Basic {token}" in first
        finally:
            await stop_proxy(proxy, server)

    runner(body)


def test_https_through_connect(runner):
    server_ctx, client_ctx = tls_contexts()

    async def body():
        proxy, server, proxy_url = await start_proxy()
        try:
            async with aiohttp_server(make_app(), ssl_context=server_ctx) as base:
                base = base.replace("127.0.0.1", "localhost")
                async with http.ClientSession() as s:
                    for _ in range(2):
                        async with s.get(
                            base + "/json",
                            proxy=proxy_url,
                            ssl=client_ctx,
                            proxy_headers={"X-Via": "test"},
                        ) as r:
                            assert (await r.json())["ok"]
            assert proxy.requests[0].startswith(b"CONNECT localhost:")
            assert b"X-Via: test\r\n" in proxy.requests[0]
            assert len(proxy.requests) == 1  # the tunnel was kept alive and reused
        finally:
            await stop_proxy(proxy, server)

    runner(body)


def test_trust_env(runner, monkeypatch):
    async def body():
        proxy, server, proxy_url = await start_proxy()
        try:
            async with aiohttp_server(make_app()) as base:
                monkeypatch.setenv("http_proxy", proxy_url)
                monkeypatch.setenv("no_proxy", "")
                async with http.ClientSession(trust_env=True) as s:
                    async with s.get(base.replace("127.0.0.1", "localhost") + "/json") as r:
                        assert r.status == 200
                assert len(proxy.requests) == 1
                async with http.ClientSession() as s:  # trust_env off: direct
                    async with s.get(base + "/json") as r:
                        assert r.status == 200
                assert len(proxy.requests) == 1
                monkeypatch.setenv("no_proxy", "localhost")
                async with http.ClientSession(trust_env=True) as s:
                    async with s.get(base.replace("127.0.0.1", "localhost") + "/json") as r:
                        assert r.status == 200
                assert len(proxy.requests) == 1
        finally:
            await stop_proxy(proxy, server)

    runner(body)


def test_proxy_refused(runner):
    async def body():
        async with http.ClientSession() as s:
            with pytest.raises(http.ClientProxyConnectionError):
                await s.get("http://example.invalid/", proxy="http://127.0.0.1:1")

    runner(body)
