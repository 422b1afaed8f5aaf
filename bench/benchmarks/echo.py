"""In-process TCP echo over loopback: client and server on one loop, one message in flight.

Three API styles (protocols, streams, sock_* calls), each with 100 B and 16 KiB
messages.  The 100 B rows carry the C epoll floor, which does the same work.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable

from bench.echoservers import SERVERS, nodelay
from bench.registry import Context, benchmark

ORDER = 10  # position among the modules of its group

SMALL = 100
LARGE = 16 * 1024
N_SMALL = 100_000
N_LARGE = 10_000


class _PingPongClient(asyncio.Protocol):
    def __init__(self, msg: bytes, n: int, done: asyncio.Future[int]) -> None:
        self.msg, self.size, self.left, self.done = msg, len(msg), n, done
        self.got = 0
        self.rounds = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]

    def start(self) -> None:
        self.transport.write(self.msg)

    def data_received(self, data: bytes) -> None:
        self.got += len(data)
        if self.got < self.size:
            return
        self.got -= self.size
        self.rounds += 1
        if self.rounds < self.left:
            self.transport.write(self.msg)
        elif not self.done.done():
            self.done.set_result(self.rounds)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(exc or ConnectionError("connection lost"))


async def _proto_client(addr: tuple[str, int], msg: bytes, n: int) -> float:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()
    transport, proto = await loop.create_connection(lambda: _PingPongClient(msg, n, done), *addr)
    try:
        t0 = time.perf_counter()
        proto.start()
        rounds = await done
        elapsed = time.perf_counter() - t0
    finally:
        transport.close()
    if rounds != n:
        raise AssertionError(f"{rounds} round trips, expected {n}")
    return elapsed


async def _stream_client(addr: tuple[str, int], msg: bytes, n: int) -> float:
    reader, writer = await asyncio.open_connection(*addr)
    size = len(msg)
    try:
        t0 = time.perf_counter()
        for _ in range(n):
            writer.write(msg)
            await reader.readexactly(size)
        elapsed = time.perf_counter() - t0
    finally:
        writer.close()
    return elapsed


async def _sock_client(addr: tuple[str, int], msg: bytes, n: int) -> float:
    loop = asyncio.get_running_loop()
    size = len(msg)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    with sock:
        await loop.sock_connect(sock, addr)
        nodelay(sock)
        t0 = time.perf_counter()
        for _ in range(n):
            await loop.sock_sendall(sock, msg)
            got = 0
            while got < size:
                chunk = await loop.sock_recv(sock, size - got)
                if not chunk:
                    raise ConnectionError("server closed the connection")
                got += len(chunk)
        return time.perf_counter() - t0


CLIENTS: dict[str, Callable[[tuple[str, int], bytes, int], Awaitable[float]]] = {
    "proto": _proto_client,
    "stream": _stream_client,
    "sock": _sock_client,
}


def run_echo(ctx: Context, style: str, size: int, n: int) -> float:
    """Start the ``style`` echo server and run ``n`` round trips of ``size`` bytes."""

    async def main() -> float:
        server = await SERVERS[style]()
        try:
            return await CLIENTS[style](server.addr, b"x" * size, n)
        finally:
            await server.close()

    return ctx.run(main())


def _register(style: str, label: str) -> None:
    for size, n, tag in ((SMALL, N_SMALL, "100B"), (LARGE, N_LARGE, "16KiB")):

        def fn(ctx: Context, n: int, _style: str = style, _size: int = size) -> float:
            return run_echo(ctx, _style, _size, n)

        fn.__name__ = f"echo_{style}_{tag}"
        benchmark(
            f"echo_{style}_{tag}",
            group="network",
            n=n,
            unit="round trips",
            description=f"in-process echo, {label}, {tag} messages",
            min_n=10,
            floor=(n, size) if size == SMALL else None,
        )(fn)


_register("proto", "protocols")
_register("stream", "streams")
_register("sock", "sock_* calls")
