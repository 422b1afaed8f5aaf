"""Child processes: spawn and wait, and pipe reading, through asyncio's subprocess API.

(Not named subprocess.py: scripts run from this folder would import it as the stdlib module.)
"""

from __future__ import annotations

import asyncio
import shutil
import time

from bench.registry import Context, benchmark

ORDER = 40
CONCURRENCY = 10


@benchmark("subprocess_spawn_wait", group="subprocess", n=2_000, unit="processes", min_n=10)
def spawn_wait(ctx: Context, n: int) -> float:
    """create_subprocess_exec('true') then wait(), 10 at a time"""
    true = shutil.which("true") or "/bin/true"

    async def one() -> None:
        proc = await asyncio.create_subprocess_exec(true)
        if await proc.wait() != 0:
            raise AssertionError("true failed")

    async def main() -> float:
        t0 = time.perf_counter()
        left = n
        while left:
            batch = min(CONCURRENCY, left)
            await asyncio.gather(*(one() for _ in range(batch)))
            left -= batch
        return time.perf_counter() - t0

    return ctx.run(main())


@benchmark("subprocess_pipe_10MiB", group="subprocess", n=20, unit="processes", min_n=2)
def pipe_read(ctx: Context, n: int) -> float:
    """a child writing 10 MiB to stdout, read through a pipe transport"""
    code = "import sys; sys.stdout.buffer.write(b'x' * (10 << 20))"

    async def main() -> float:
        import sys

        t0 = time.perf_counter()
        for _ in range(n):
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE
            )
            out, _ = await proc.communicate()
            if len(out) != 10 << 20:
                raise AssertionError(f"read {len(out)} bytes")
        return time.perf_counter() - t0

    return ctx.run(main())
