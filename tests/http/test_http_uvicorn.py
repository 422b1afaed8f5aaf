"""vif.http against uvicorn (a server no one here wrote) running a small ASGI app."""

from __future__ import annotations

import json

import pytest

import vif.http as http


def test_json_keepalive(runner, uvicorn_url):
    async def body():
        async with http.ClientSession() as s:
            for _ in range(5):
                async with s.get(uvicorn_url + "/json") as resp:
                    assert resp.status == 200
                    assert "data" in await resp.json()
            assert s.connector.idle_count() == 1

    runner(body)


def test_chunked_both_ways(runner, uvicorn_url):
    async def gen():
        for i in range(5):
            yield b"x" * (i + 1)

    async def body():
        async with http.ClientSession() as s:
            async with s.get(uvicorn_url + "/stream") as resp:
                assert resp.headers.get("Transfer-Encoding") == "chunked"
                lines = [line async for line in resp.content]
                assert lines == [f"line {i}\n".encode() for i in range(5)]
            async with s.post(uvicorn_url + "/echo", data=gen()) as resp:
                info = json.loads(resp.headers["X-Info"])
                assert info["te"] == "chunked" and info["len"] == 15
                assert await resp.read() == b"x" * 15

    runner(body)


@pytest.mark.parametrize("path,status", [("/empty", 204), ("/notmod", 304)])
def test_no_body(runner, uvicorn_url, path, status):
    async def body():
        async with http.ClientSession() as s:
            for _ in range(2):
                async with s.get(uvicorn_url + path) as resp:
                    assert resp.status == status
                    assert await resp.read() == b""

    runner(body)


def test_head_and_headers(runner, uvicorn_url):
    async def body():
        async with http.ClientSession(headers={"X-Session": "1"}) as s:
            async with s.head(uvicorn_url + "/json") as resp:
                assert resp.status == 200
                assert await resp.read() == b""
            async with s.get(uvicorn_url + "/headers") as resp:
                hdrs = await resp.json()
                assert hdrs["x-session"] == "1"
                assert hdrs["host"] == uvicorn_url.split("//")[1]

    runner(body)


def test_redirect_307_keeps_body(runner, uvicorn_url):
    async def body():
        async with http.ClientSession() as s:
            async with s.post(uvicorn_url + "/redirect", data=b"keep me") as resp:
                assert resp.status == 200
                assert await resp.read() == b"keep me"
                assert [r.status for r in resp.history] == [307]

    runner(body)


def test_concurrent(runner, uvicorn_url):
    async def body():
        import asyncio

        async with http.ClientSession(connector=http.TCPConnector(limit=10)) as s:

            async def one():
                async with s.get(uvicorn_url + "/json") as resp:
                    return resp.status

            assert await asyncio.gather(*(one() for _ in range(50))) == [200] * 50

    runner(body)
