"""A short stress of the compiled loop's C paths, meant to run under valgrind.

Not collected by pytest. Run it as::

    PYTHONPATH=. PYTHONMALLOC=malloc valgrind --error-limit=no python tests/stress/loop_stress.py

and look for "Invalid read" / "Invalid write" (there must be none). It drives
TCP echo with streams, UDP ping-pong, sock_* echo, four threads calling ``call_soon_threadsafe``,
timers armed and cancelled by the thousand, and handles in every shape the
compiled ``Handle`` stores (no argument, one or two kept inline, more in a
tuple; kept by the caller or not; in a context given or not; cancelled,
run, or still queued when the loop closes); ``--trace`` runs it all inside
``vif.trace.record()`` and summarises the recording (the compiled recorder's paths).
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
import threading

import vif

ARGS = [a for a in sys.argv[1:] if a != "--trace"]
ROUNDS = int(ARGS[0]) if ARGS else 300
TRACE = "--trace" in sys.argv  # the same, inside vif.trace.record()


class Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[attr-defined]


class UdpEcho(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.transport.sendto(data, addr)  # type: ignore[attr-defined]


async def tcp_echo() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for i in range(ROUNDS):
        msg = bytes([i % 256]) * (100 if i % 2 else 20000)
        writer.write(msg)
        assert await reader.readexactly(len(msg)) == msg
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()


async def udp_pingpong() -> None:
    loop = asyncio.get_running_loop()
    server, _ = await loop.create_datagram_endpoint(UdpEcho, local_addr=("127.0.0.1", 0))
    addr = server.get_extra_info("sockname")
    got: asyncio.Queue[bytes] = asyncio.Queue()

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            got.put_nowait(data)

    client, _ = await loop.create_datagram_endpoint(Client, remote_addr=addr)
    for i in range(ROUNDS):
        client.sendto(b"x" * (i % 50 + 1))
        assert len(await got.get()) == i % 50 + 1
    client.close()
    server.close()


async def sock_echo() -> None:
    """sock_* calls that wait (one-shot epoll registrations, re-armed per wait)."""
    import socket

    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    with a, b:
        a.setblocking(False)
        b.setblocking(False)

        async def serve() -> None:
            while data := await loop.sock_recv(b, 65536):
                await loop.sock_sendall(b, data)

        server = asyncio.ensure_future(serve())
        for i in range(ROUNDS):
            msg = bytes([i % 256]) * (100 if i % 2 else 300000)
            await loop.sock_sendall(a, msg)
            got = 0
            while got < len(msg):
                got += len(await loop.sock_recv(a, 65536))
        a.shutdown(socket.SHUT_WR)
        await server


async def threadsafe() -> None:
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    count = 0
    total = 4 * ROUNDS * 5

    def bump() -> None:
        nonlocal count
        count += 1
        if count == total and not done.done():
            done.set_result(None)

    def worker() -> None:
        for _ in range(ROUNDS * 5):
            loop.call_soon_threadsafe(bump)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    await done
    for t in threads:
        t.join()


async def timers() -> None:
    loop = asyncio.get_running_loop()
    fired = 0

    def tick() -> None:
        nonlocal fired
        fired += 1

    handles = [loop.call_later((i % 7) / 1000, tick) for i in range(ROUNDS * 20)]
    for h in handles[::2]:
        h.cancel()
    await asyncio.sleep(0.02)
    assert fired == len(handles) // 2, fired


async def handles() -> None:
    """call_soon / call_later / call_soon_threadsafe with 0-3 arguments, kept or
    dropped by the caller, in a given Context or the running one."""
    loop = asyncio.get_running_loop()
    var: contextvars.ContextVar[int] = contextvars.ContextVar("var", default=-1)
    seen: list[tuple] = []
    expected: list[tuple] = []
    kept = []

    def record(*args: object) -> None:
        seen.append((var.get(), *args))

    for i in range(ROUNDS * 5):
        args = tuple(bytes([i % 256]) * j for j in range(i % 4))
        var.set(i)
        context = contextvars.copy_context() if (i // 3) % 2 == 0 else None  # every kind both ways
        schedule = (loop.call_soon, loop.call_soon_threadsafe,
                    lambda *a, **k: loop.call_later(0, *a, **k))[i % 3]
        handle = schedule(record, *args, context=context)
        if i % 5 == 0:
            handle.cancel()
        else:
            expected.append((i, *args))
        if i % 2:
            kept.append(handle)  # Ran while kept: drops its callback and arguments.
    done = loop.create_future()
    loop.call_later(0.001, done.set_result, None)
    await done
    assert sorted(seen) == sorted(expected), (len(seen), len(expected))
    if vif.implementation() == "compiled":
        assert all(h.cancelled() or h._callback is None for h in kept)

    # Handles still waiting when their loop closes: close() drops them.
    other = vif.new_event_loop()
    for i in range(ROUNDS):
        other.call_soon(record, bytes(i % 7), i)
        other.call_later(3600, record, i, i, i)
        kept.append(other.call_later(60, record, i))
    other.close()


async def main() -> None:
    parts = (tcp_echo(), udp_pingpong(), sock_echo(), threadsafe(), timers(), handles())
    await asyncio.wait_for(asyncio.gather(*parts), 600)


if __name__ == "__main__":
    if TRACE:
        import vif.trace

        with vif.trace.record() as rec:
            vif.run(main())
        assert "tcp_echo" in rec.summary()
    else:
        vif.run(main())
    print("stress done on", vif.implementation())
