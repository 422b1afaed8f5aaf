"""UDP ping-pong over loopback between two datagram endpoints on one loop."""

from __future__ import annotations

import asyncio
import time

from bench.echoservers import HOST
from bench.registry import Context, benchmark

ORDER = 40  # position among the modules of its group

SIZE = 100


class _Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.DatagramTransport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.sendto(data, addr)


class _Pinger(asyncio.DatagramProtocol):
    def __init__(self, msg: bytes, n: int, done: asyncio.Future[int]) -> None:
        self.msg, self.n, self.done, self.count = msg, n, done, 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.DatagramTransport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.count += 1
        if self.count < self.n:
            self.transport.sendto(self.msg)
        elif not self.done.done():
            self.done.set_result(self.count)

    def error_received(self, exc: Exception) -> None:
        if not self.done.done():
            self.done.set_exception(exc)


@benchmark("udp_pingpong", group="network", n=50_000, unit="round trips", min_n=10)
def udp_pingpong(ctx: Context, n: int) -> float:
    """n round trips of a 100 B datagram between a client and an echo endpoint."""

    async def main() -> float:
        loop = asyncio.get_running_loop()
        server, _ = await loop.create_datagram_endpoint(_Echo, local_addr=(HOST, 0))
        addr = server.get_extra_info("sockname")[:2]
        done: asyncio.Future[int] = loop.create_future()
        msg = b"x" * SIZE
        client, proto = await loop.create_datagram_endpoint(
            lambda: _Pinger(msg, n, done), remote_addr=addr
        )
        try:
            t0 = time.perf_counter()
            client.sendto(msg)
            count = await asyncio.wait_for(done, timeout=max(30.0, n / 1000))
            elapsed = time.perf_counter() - t0
        finally:
            client.close()
            server.close()
        if count != n:
            raise AssertionError(f"{count} round trips, expected {n}")
        return elapsed

    return ctx.run(main())
