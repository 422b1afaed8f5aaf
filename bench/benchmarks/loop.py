"""Core loop benchmarks: callbacks, timers, tasks, queues, thread wake-ups, futures."""

from __future__ import annotations

import asyncio
import random
import threading
import time

from bench.registry import Context, benchmark

ORDER = 0  # position among the modules of its group


def _check(got: int, want: int, what: str) -> None:
    if got != want:
        raise AssertionError(f"{what}: got {got}, expected {want}")


@benchmark("call_soon", group="loop", n=1_000_000, unit="callbacks", min_n=10)
def call_soon_chain(ctx: Context, n: int) -> float:
    """call_soon chain: each callback schedules the next."""
    loop = ctx.new_loop()
    count = 0

    def step() -> None:
        nonlocal count
        count += 1
        if count < n:
            loop.call_soon(step)
        else:
            loop.stop()

    try:
        loop.call_soon(step)
        t0 = time.perf_counter()
        loop.run_forever()
        elapsed = time.perf_counter() - t0
    finally:
        loop.close()
    _check(count, n, "callbacks run")
    return elapsed


@benchmark("sleep_timers", group="loop", n=100_000, unit="sleeps", min_n=10)
def sleep_timers(ctx: Context, n: int) -> float:
    """asyncio.sleep of random length up to 0.2 s (seeded), all concurrent under gather."""
    rng = random.Random(1234)
    delays = [rng.uniform(0.0, 0.2) for _ in range(n)]

    async def main() -> float:
        t0 = time.perf_counter()
        await asyncio.gather(*(asyncio.sleep(d) for d in delays))
        return time.perf_counter() - t0

    return ctx.run(main())


@benchmark("call_later_cancel", group="loop", n=200_000, unit="timers", min_n=10)
def call_later_cancel(ctx: Context, n: int) -> float:
    """call_later with random delays then cancel, plus one loop pass to purge them."""
    rng = random.Random(4321)
    delays = [rng.uniform(1.0, 60.0) for _ in range(n)]
    fired = 0

    def never() -> None:
        nonlocal fired
        fired += 1

    async def main() -> float:
        loop = asyncio.get_running_loop()
        t0 = time.perf_counter()
        handles = [loop.call_later(d, never) for d in delays]
        for h in handles:
            h.cancel()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return time.perf_counter() - t0

    elapsed = ctx.run(main())
    _check(fired, 0, "cancelled timers fired")
    return elapsed


@benchmark("tasks_sleep0", group="loop", n=100_000, unit="tasks", min_n=10)
def tasks_sleep0(ctx: Context, n: int) -> float:
    """n tasks, each doing 5 x sleep(0), under one gather."""
    done = 0

    async def worker() -> None:
        nonlocal done
        for _ in range(5):
            await asyncio.sleep(0)
        done += 1

    async def main() -> float:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(n)))
        return time.perf_counter() - t0

    elapsed = ctx.run(main())
    _check(done, n, "tasks finished")
    return elapsed


@benchmark("queue_pingpong", group="loop", n=200_000, unit="round trips", min_n=10)
def queue_pingpong(ctx: Context, n: int) -> float:
    """Two tasks bouncing a token through two asyncio.Queue objects."""

    async def main() -> float:
        ping: asyncio.Queue[int] = asyncio.Queue()
        pong: asyncio.Queue[int] = asyncio.Queue()

        async def ponger() -> None:
            while True:
                item = await ping.get()
                pong.put_nowait(item)
                if item < 0:
                    return

        t0 = time.perf_counter()
        task = asyncio.ensure_future(ponger())
        total = 0
        for i in range(n):
            ping.put_nowait(i)
            total += await pong.get()
        ping.put_nowait(-1)
        await pong.get()
        await task
        elapsed = time.perf_counter() - t0
        _check(total, n * (n - 1) // 2, "queue checksum")
        return elapsed

    return ctx.run(main())


@benchmark("call_soon_threadsafe", group="loop", n=200_000, unit="callbacks", min_n=10)
def call_soon_threadsafe(ctx: Context, n: int) -> float:
    """Another thread calls call_soon_threadsafe n times; the loop counts until all arrived."""

    async def main() -> float:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        count = 0

        def arrived() -> None:
            nonlocal count
            count += 1
            if count == n:
                done.set_result(None)

        def producer() -> None:
            cst = loop.call_soon_threadsafe
            for _ in range(n):
                cst(arrived)

        thread = threading.Thread(target=producer, daemon=True)
        t0 = time.perf_counter()
        thread.start()
        await done
        elapsed = time.perf_counter() - t0
        thread.join()
        return elapsed

    return ctx.run(main())


@benchmark("future_await", group="loop", n=1_000_000, unit="futures", min_n=10)
def future_await(ctx: Context, n: int) -> float:
    """loop.create_future() + set_result + await, in one coroutine."""

    async def main() -> float:
        loop = asyncio.get_running_loop()
        create = loop.create_future
        total = 0
        t0 = time.perf_counter()
        for i in range(n):
            fut = create()
            fut.set_result(i)
            total += await fut
        elapsed = time.perf_counter() - t0
        _check(total, n * (n - 1) // 2, "future checksum")
        return elapsed

    return ctx.run(main())
