"""In-process TLS echo over loopback: protocols on both ends, one message in flight.

The certificate is the one CPython ships for its own tests (never fetched); the
server context loads it and the client trusts its signing CA.
"""

from __future__ import annotations

import asyncio
import ssl
import time

from bench.benchmarks.echo import _PingPongClient
from bench.echoservers import HOST, _EchoProtocol
from bench.registry import Context, benchmark

ORDER = 30


def _contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    from test.test_asyncio import utils as test_utils

    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(test_utils.SIGNED_CERTFILE)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(test_utils.SIGNING_CA)
    return server, client


def _tls_echo(ctx: Context, n: int, size: int) -> float:
    server_ctx, client_ctx = _contexts()

    async def main() -> float:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_EchoProtocol, HOST, 0, ssl=server_ctx)
        addr = server.sockets[0].getsockname()[:2]
        done: asyncio.Future[int] = loop.create_future()
        transport, proto = await loop.create_connection(
            lambda: _PingPongClient(b"x" * size, n, done),
            *addr,
            ssl=client_ctx,
            server_hostname="localhost",
        )
        try:
            t0 = time.perf_counter()
            proto.start()
            rounds = await done
            elapsed = time.perf_counter() - t0
        finally:
            transport.close()
            server.close()
            await server.wait_closed()
        if rounds != n:
            raise AssertionError(f"{rounds} round trips, expected {n}")
        return elapsed

    return ctx.run(main())


@benchmark("tls_echo_100B", group="tls", n=50_000, unit="round trips", min_n=10)
def tls_echo_small(ctx: Context, n: int) -> float:
    """in-process TLS echo with protocols, 100 B messages"""
    return _tls_echo(ctx, n, 100)


@benchmark("tls_echo_16KiB", group="tls", n=5_000, unit="round trips", min_n=10)
def tls_echo_large(ctx: Context, n: int) -> float:
    """in-process TLS echo with protocols, 16 KiB messages"""
    return _tls_echo(ctx, n, 16 * 1024)
