"""Helpers for the vif.http tests: servers on 127.0.0.1, TLS contexts, fd counting.

* :func:`aiohttp_server` - an aiohttp.web app on 127.0.0.1, in the test's loop;
* :func:`raw_server` - an asyncio server whose handler gets (reader, writer), for
  malformed answers;
* :func:`tls_contexts` - server and client SSL contexts from the interpreter's test data;
* :func:`run` - run a coroutine on a fresh loop under ``asyncio.timeout``.

(A module of its own, not ``conftest``: the repository has several conftest.py files.)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
from collections.abc import AsyncIterator


def open_fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def run(loop_factory, coro, timeout: float = 30):
    """Run ``coro`` on a fresh loop, bounded by ``asyncio.timeout``."""

    async def guarded():
        async with asyncio.timeout(timeout):
            return await coro

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(guarded())


@contextlib.asynccontextmanager
async def aiohttp_server(app, *, ssl_context=None) -> AsyncIterator[str]:
    """Serve an aiohttp.web ``app``; yields its base URL."""
    from aiohttp import web

    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    scheme = "https" if ssl_context else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


class RawServer:
    """An asyncio server running ``handler(reader, writer)`` per connection."""

    def __init__(self, handler):
        self.handler = handler
        self.connections = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.tasks: set[asyncio.Task] = set()

    async def _serve(self, reader, writer):
        self.connections += 1
        self.writers.append(writer)
        task = asyncio.current_task()
        self.tasks.add(task)
        try:
            await self.handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.tasks.discard(task)
            writer.close()


@contextlib.asynccontextmanager
async def raw_server(handler) -> AsyncIterator[tuple[str, RawServer]]:
    state = RawServer(handler)
    server = await asyncio.start_server(state._serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", state
    finally:
        server.close()
        for w in state.writers:
            w.close()  # handlers blocked on reads see EOF and return
        if state.tasks:
            _, pending = await asyncio.wait(list(state.tasks), timeout=5)
            for t in pending:
                t.cancel()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """The head of one request (up to the blank line), b"" at EOF."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return b""


def tls_contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context trusting the test CA) from the stdlib test data."""
    from test.test_asyncio import utils as test_utils

    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(test_utils.SIGNED_CERTFILE)
    client = ssl.create_default_context()
    client.load_verify_locations(cafile=test_utils.SIGNING_CA)
    return server, client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
