"""Connection churn: open and close many TCP connections over loopback, one at a time."""

from __future__ import annotations

import asyncio
import time

from bench.echoservers import HOST
from bench.guard import run_guarded
from bench.registry import Context, benchmark

ORDER = 30  # position among the modules of its group


class _CloseAtOnce(asyncio.Protocol):
    """Server side: count the connection and close it straight away."""

    accepted = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        type(self).accepted += 1
        transport.close()


class _WaitClosed(asyncio.Protocol):
    """Client side: resolve ``closed`` when the server's close arrives."""

    def __init__(self, closed: asyncio.Future[None]) -> None:
        self.closed = closed

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


@benchmark("connections", group="network", n=10_000, unit="connections", min_n=10)
def connections(ctx: Context, n: int) -> float:
    """Open n connections one after the other; the server closes each, the client sees EOF."""
    done = 0

    async def churn(loop: asyncio.AbstractEventLoop, addr: tuple[str, int]) -> None:
        nonlocal done
        for _ in range(n):
            closed: asyncio.Future[None] = loop.create_future()
            await loop.create_connection(lambda c=closed: _WaitClosed(c), *addr)
            await closed
            done += 1

    async def main() -> float:
        loop = asyncio.get_running_loop()
        _CloseAtOnce.accepted = 0
        server = await loop.create_server(_CloseAtOnce, HOST, 0)
        addr = server.sockets[0].getsockname()[:2]
        try:
            t0 = time.perf_counter()
            await run_guarded(
                churn(loop, addr), lambda: done, "client waiting for the server's close"
            )
            elapsed = time.perf_counter() - t0
        finally:
            server.close()
        if _CloseAtOnce.accepted != n:
            raise AssertionError(f"server accepted {_CloseAtOnce.accepted}, expected {n}")
        return elapsed

    return ctx.run(main())
