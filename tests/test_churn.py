"""Connection churn leaves nothing behind: live objects, fds and registered fds.

Thousands of TCP connections opened, echoed through and closed on one loop; after
a warm-up, the number of objects the garbage collector tracks, the open fds and
the fds the loop watches must come back to where they were (a transport, handle
or buffer leaked per connection would show as thousands of extra objects).
"""

from __future__ import annotations

import asyncio
import gc
import os

from vif_testing import open_fd_count, registered_fd_count, run

WARMUP = 300
CHURN = int(os.environ.get("VIF_CHURN", "3000"))  # the 100k: VIF_CHURN=100000
SLACK = 300  # objects: caches and free lists settle, a per-connection leak is >= CHURN


class Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[attr-defined]

    def eof_received(self) -> None:
        self.transport.close()


async def _connect_echo_close(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"ping")
    assert await reader.readexactly(4) == b"ping"
    writer.write_eof()
    assert await reader.read() == b""
    writer.close()
    await writer.wait_closed()


def test_connection_churn_leaves_no_objects(loop_factory) -> None:
    async def main() -> tuple[int, int, int | None, int, int, int | None]:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, "127.0.0.1", 0, backlog=512)
        port = server.sockets[0].getsockname()[1]

        async def churn(n: int) -> None:
            for _ in range(n // 10):
                await asyncio.gather(*(_connect_echo_close(port) for _ in range(10)))
            for _ in range(3):  # let the server side's close callbacks run
                await asyncio.sleep(0)

        await churn(WARMUP)
        gc.collect()
        before = (len(gc.get_objects()), open_fd_count(), registered_fd_count(loop))
        await churn(CHURN)
        gc.collect()
        after = (len(gc.get_objects()), open_fd_count(), registered_fd_count(loop))
        server.close()
        await server.wait_closed()
        return (*before, *after)

    timeout = max(120.0, CHURN / 100)
    objs0, fds0, reg0, objs1, fds1, reg1 = run(loop_factory, main(), timeout=timeout)
    assert fds1 == fds0
    assert reg1 == reg0
    assert objs1 - objs0 < SLACK, f"{objs1 - objs0} more live objects after {CHURN} connections"
