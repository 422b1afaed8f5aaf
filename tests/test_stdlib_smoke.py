"""Smoke tests: asyncio's high-level APIs (streams, locks, queues, ...) on the loop."""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading

import pytest
from vif_testing import run

HOST = "127.0.0.1"


def test_streams_echo(loop_factory):
    async def handle(reader, writer):
        while line := await reader.readline():
            writer.write(line.upper())
            await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def main():
        server = await asyncio.start_server(handle, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(b"hello\nworld\n")
        await writer.drain()
        assert await reader.readline() == b"HELLO\n"
        assert await reader.readexactly(6) == b"WORLD\n"
        big = b"x" * 60_000 + b"\n"  # below the 64 KiB StreamReader limit
        writer.write(big)
        await writer.drain()
        assert await reader.readuntil(b"\n") == big.upper()
        writer.write_eof()
        assert await reader.read() == b""
        assert reader.at_eof()
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    run(loop_factory, main())


def test_unix_streams(loop_factory, short_tmp):
    path = os.path.join(short_tmp, "streams.sock")

    async def handle(reader, writer):
        writer.write(await reader.read(100))
        writer.close()

    async def main():
        server = await asyncio.start_unix_server(handle, path)
        reader, writer = await asyncio.open_unix_connection(path)
        writer.write(b"unix")
        assert await reader.read() == b"unix"
        writer.close()
        server.close()
        await server.wait_closed()

    run(loop_factory, main())


def test_locks(loop_factory):
    async def main():
        lock, event, cond, sem = (
            asyncio.Lock(),
            asyncio.Event(),
            asyncio.Condition(),
            asyncio.Semaphore(2),
        )
        order = []

        async def locked(i):
            async with lock:
                order.append(i)
                await asyncio.sleep(0)
                order.append(i)

        await asyncio.gather(*(locked(i) for i in range(3)))
        assert order == [0, 0, 1, 1, 2, 2]

        async def waiter():
            await event.wait()
            return "set"

        task = asyncio.create_task(waiter())
        await asyncio.sleep(0)
        event.set()
        assert await task == "set"

        async def cond_waiter():
            async with cond:
                await cond.wait_for(lambda: order == [])
                return "notified"

        task = asyncio.create_task(cond_waiter())
        await asyncio.sleep(0)
        async with cond:
            order.clear()
            cond.notify_all()
        assert await task == "notified"

        active = []

        async def limited():
            async with sem:
                active.append(1)
                assert len(active) <= 2
                await asyncio.sleep(0)
                active.pop()

        await asyncio.gather(*(limited() for _ in range(6)))

    run(loop_factory, main())


def test_queue(loop_factory):
    async def main():
        queue = asyncio.Queue(maxsize=3)
        got = []

        async def consumer():
            while True:
                item = await queue.get()
                got.append(item)
                queue.task_done()

        task = asyncio.create_task(consumer())
        for i in range(20):
            await queue.put(i)
        await queue.join()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert got == list(range(20))

    run(loop_factory, main())


def test_task_group(loop_factory):
    async def main():
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(asyncio.sleep(0, i)) for i in range(5)]
        assert [t.result() for t in tasks] == list(range(5))

        async def fail():
            raise ValueError("boom")

        sibling = None
        with pytest.raises(ExceptionGroup) as info:
            async with asyncio.TaskGroup() as tg:
                sibling = tg.create_task(asyncio.sleep(3600))
                tg.create_task(fail())
        assert sibling.cancelled()
        assert [type(e) for e in info.value.exceptions] == [ValueError]

    run(loop_factory, main())


def test_timeout_and_wait_for(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):
                await asyncio.sleep(3600)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.sleep(3600), 0.01)
        assert await asyncio.wait_for(asyncio.sleep(0, "fast"), 10) == "fast"
        start = loop.time()
        await asyncio.sleep(0.05)
        assert loop.time() - start >= 0.05 - 0.001

    run(loop_factory, main())


def test_gather_wait_shield(loop_factory):
    async def boom():
        raise KeyError("k")

    async def main():
        assert await asyncio.gather(asyncio.sleep(0, 1), asyncio.sleep(0, 2)) == [1, 2]
        results = await asyncio.gather(boom(), asyncio.sleep(0, 3), return_exceptions=True)
        assert isinstance(results[0], KeyError) and results[1] == 3
        tasks = {asyncio.create_task(asyncio.sleep(0)), asyncio.create_task(asyncio.sleep(3600))}
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        assert len(done) == 1 and len(pending) == 1
        for t in pending:
            t.cancel()
        inner = asyncio.create_task(asyncio.sleep(0, "shielded"))
        outer = asyncio.ensure_future(asyncio.shield(inner))
        outer.cancel()
        assert await inner == "shielded"
        ordered = [await f for f in asyncio.as_completed([asyncio.sleep(0, 5)])]
        assert ordered == [5]

    run(loop_factory, main())


def test_executor_and_to_thread(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        main_thread = threading.get_ident()
        assert await loop.run_in_executor(None, threading.get_ident) != main_thread
        assert await asyncio.to_thread(sum, [1, 2, 3]) == 6
        var = contextvars.ContextVar("var")
        var.set("ctx")
        assert await asyncio.to_thread(var.get) == "ctx"

    run(loop_factory, main())


def test_context_vars_in_callbacks(loop_factory):
    var = contextvars.ContextVar("var", default="unset")

    async def main():
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        ctx.run(var.set, "in ctx")
        fut = loop.create_future()
        loop.call_soon(lambda: fut.set_result(var.get()), context=ctx)
        assert await fut == "in ctx"
        assert var.get() == "unset"

        async def child():
            return var.get()

        var.set("parent")
        assert await asyncio.create_task(child()) == "parent"

    run(loop_factory, main())


def test_async_generators_finalized(loop_factory):
    finalized = []

    async def agen():
        try:
            yield 1
            yield 2
        finally:
            finalized.append(True)

    async def main():
        gen = agen()
        assert await gen.__anext__() == 1
        return gen  # left suspended: shutdown_asyncgens must close it

    run(loop_factory, main())
    assert finalized == [True]


def test_sock_methods(loop_factory):
    import socket

    async def main():
        loop = asyncio.get_running_loop()
        listener = socket.create_server((HOST, 0))
        listener.setblocking(False)
        client = socket.socket()
        client.setblocking(False)
        await loop.sock_connect(client, listener.getsockname())
        conn, _ = await loop.sock_accept(listener)
        conn.setblocking(False)
        await loop.sock_sendall(client, b"abc" * 100_000)
        received = bytearray()
        while len(received) < 300_000:
            received += await loop.sock_recv(conn, 65536)
        assert received == b"abc" * 100_000
        buf = bytearray(10)
        await loop.sock_sendall(conn, b"into")
        assert await loop.sock_recv_into(client, buf) == 4
        assert buf[:4] == b"into"
        for s in (listener, client, conn):
            s.close()

    run(loop_factory, main())
