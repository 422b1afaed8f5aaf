"""Optional content encodings: br (brotli / brotlicffi) and zstd (zstandard), when installed."""

from __future__ import annotations

import pytest
from aiohttp import web
from http_support import aiohttp_server

import vif.http as http
from vif.http._compress import ACCEPT_ENCODING

DATA = b"compressible text " * 500


def serve_encoded(encoding: str, body: bytes):
    async def handler(request):
        assert encoding in request.headers["Accept-Encoding"]
        return web.Response(body=body, headers={"Content-Encoding": encoding})

    app = web.Application()
    app.router.add_get("/", handler)
    return app


def test_brotli(runner):
    brotli = pytest.importorskip("brotli")
    assert "br" in ACCEPT_ENCODING

    async def body():
        async with aiohttp_server(serve_encoded("br", brotli.compress(DATA))) as base:
            async with http.ClientSession() as s:
                async with s.get(base + "/") as resp:
                    assert await resp.read() == DATA

    runner(body)


def test_zstd(runner):
    zstandard = pytest.importorskip("zstandard")
    assert "zstd" in ACCEPT_ENCODING

    async def body():
        frame = zstandard.ZstdCompressor().compress(DATA)
        async with aiohttp_server(serve_encoded("zstd", frame)) as base:
            async with http.ClientSession() as s:
                async with s.get(base + "/") as resp:
                    assert await resp.read() == DATA

    runner(body)


def test_unknown_encoding_passes_through(runner):
    async def body():
        async with aiohttp_server(serve_encoded("identity", DATA)) as base:
            async with http.ClientSession() as s:
                async with s.get(base + "/", headers={"Accept-Encoding": "identity"}) as resp:
                    assert await resp.read() == DATA

    runner(body)
