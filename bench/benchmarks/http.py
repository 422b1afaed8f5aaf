"""HTTP client benchmarks: vif.http, aiohttp and httpx against one fast local server.

The server runs in a second process (this file run as a script: an asyncio
Protocol parsing with httptools, on uvloop when installed) and answers every
GET with the same 1 KiB JSON body over keep-alive. The client under test runs on
the loop being measured and keeps 1, 10 or 100 requests in flight, each reading
and decoding the JSON body. Rows: ``http_{vif,aiohttp,httpx}_{1,10,100}``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from typing import Any

from bench.registry import LIBRARY_ROW_IMPLS, Context, benchmark

ORDER = 10

BODY = json.dumps({"data": "x" * 1000, "n": 1}).encode()[:1024]
if len(BODY) < 1024:
    BODY = json.dumps({"data": "x" * (1024 - 22), "n": 1}).encode()
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY)
    + BODY
)
IN_FLIGHT = (1, 10, 100)
N = 10_000


# --- the server (a second process) ------------------------------------------------------


def _serve() -> None:  # pragma: no cover - runs in the server process
    import httptools

    class Proto(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            self.parser = httptools.HttpRequestParser(self)

        def data_received(self, data: bytes) -> None:
            self.parser.feed_data(data)

        def on_message_complete(self) -> None:
            self.transport.write(RESPONSE)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Proto, "127.0.0.1", 0, backlog=1024)
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes stdin
        server.close()

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


class _Server:
    def __enter__(self) -> str:
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.strip().isdigit():
            self.proc.kill()
            raise RuntimeError(f"http bench server did not start: {line!r}")
        return f"http://127.0.0.1:{int(line)}/file.json"

    def __exit__(self, *exc: Any) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()


# --- the clients ------------------------------------------------------------------------


async def _drive(n: int, in_flight: int, one: Any) -> float:
    """``in_flight`` workers share ``n`` requests; each request is ``await one()``."""
    per = [n // in_flight + (1 if i < n % in_flight else 0) for i in range(in_flight)]

    async def worker(count: int) -> None:
        for _ in range(count):
            data = await one()
            if data["n"] != 1:
                raise RuntimeError("wrong body")

    for _ in range(min(in_flight, 10)):  # open the connections before the clock starts
        await one()
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in per if c))
    return time.perf_counter() - t0


async def _vif_http(url: str, n: int, in_flight: int) -> float:
    import vif.http

    conn = vif.http.TCPConnector(limit=max(100, in_flight))
    async with vif.http.ClientSession(connector=conn) as session:

        async def one() -> Any:
            async with session.get(url) as resp:
                return await resp.json()

        return await _drive(n, in_flight, one)


async def _aiohttp(url: str, n: int, in_flight: int) -> float:
    import aiohttp

    conn = aiohttp.TCPConnector(limit=max(100, in_flight))
    async with aiohttp.ClientSession(connector=conn) as session:

        async def one() -> Any:
            async with session.get(url) as resp:
                return await resp.json()

        return await _drive(n, in_flight, one)


async def _httpx(url: str, n: int, in_flight: int) -> float:
    import httpx

    limits = httpx.Limits(
        max_connections=max(100, in_flight), max_keepalive_connections=max(100, in_flight)
    )
    async with httpx.AsyncClient(limits=limits) as client:

        async def one() -> Any:
            resp = await client.get(url)
            return resp.json()

        return await _drive(n, in_flight, one)


CLIENTS = {"vif": _vif_http, "aiohttp": _aiohttp, "httpx": _httpx}


def run_client(ctx: Context, client: str, n: int, in_flight: int) -> float:
    with _Server() as url:
        return ctx.run(CLIENTS[client](url, n, in_flight))


def _register() -> None:
    for client in CLIENTS:
        for k in IN_FLIGHT:

            def fn(ctx: Context, n: int, _client: str = client, _k: int = k) -> float:
                return run_client(ctx, _client, n, _k)

            fn.__name__ = f"http_{client}_{k}"
            benchmark(
                f"http_{client}_{k}",
                group="http",
                impls=LIBRARY_ROW_IMPLS,
                n=N if client != "httpx" else N // 10,
                unit="requests",
                min_n=200,
                description=f"{client} client: GET 1 KiB JSON, keep-alive, {k} in flight, "
                "server in a second process",
            )(fn)


_register()

if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:] == ["--serve"]:
        _serve()
