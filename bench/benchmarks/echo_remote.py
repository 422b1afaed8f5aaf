"""TCP echo with the clients in separate processes (uvloop's echoclient style).

The server runs on the implementation being measured; CLIENTS plain blocking-socket
processes (``bench/echoclient.py``, identical for every implementation) each do
their share of the round trips concurrently.  Client start-up and connection are
outside the measured part: the clock starts when they are told to go and stops
when the last one reports done.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.echoservers import SERVERS
from bench.registry import Context, benchmark

ORDER = 20  # position among the modules of its group

CLIENTS = 4
CLIENT_SCRIPT = Path(__file__).resolve().parent.parent / "echoclient.py"
SIZES = {"1KiB": (1024, 20_000), "10KiB": (10 * 1024, 10_000), "100KiB": (100 * 1024, 2_000)}


def _drive_clients(
    procs: list[subprocess.Popen[str]],
    expected: list[int],
    loop: asyncio.AbstractEventLoop,
    done: asyncio.Future[float],
) -> None:
    """Thread body: wait for ready, say go, wait for done; report to the loop."""

    def report(fn: Any, value: Any) -> None:
        try:
            loop.call_soon_threadsafe(lambda: done.done() or fn(value))
        except RuntimeError:  # the loop is already closed: the benchmark gave up
            pass

    try:
        for proc in procs:
            line = proc.stdout.readline() if proc.stdout else ""
            if line.strip() != "ready":
                raise RuntimeError(f"echo client did not connect: {line!r}")
        t0 = time.perf_counter()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for proc, want in zip(procs, expected, strict=True):
            line = proc.stdout.readline() if proc.stdout else ""
            if line.split() != ["done", str(want)]:
                raise RuntimeError(f"echo client failed: {line.strip()!r}, expected {want} bytes")
        report(done.set_result, time.perf_counter() - t0)
    except BaseException as exc:  # report anything, or the loop would wait forever
        report(done.set_exception, exc)


def run_remote(ctx: Context, style: str, size: int, n: int, clients: int = CLIENTS) -> float:
    """Serve ``style`` echo on ctx's loop; ``clients`` processes share ``n`` round trips."""
    counts = [n // clients + (1 if i < n % clients else 0) for i in range(clients)]
    counts = [c for c in counts if c > 0]

    async def main() -> float:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[float] = loop.create_future()

        def on_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            # A server error would leave the blocking clients waiting forever: fail now.
            loop.default_exception_handler(context)
            if not done.done():
                exc = context.get("exception")
                done.set_exception(exc or RuntimeError(context.get("message", "server error")))

        loop.set_exception_handler(on_error)
        server = await SERVERS[style]()
        host, port = server.addr
        procs = [
            subprocess.Popen(
                # -I -S: stdlib only, so skip site-packages and start faster.
                [
                    sys.executable,
                    "-I",
                    "-S",
                    str(CLIENT_SCRIPT),
                    host,
                    str(port),
                    str(size),
                    str(count),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for count in counts
        ]
        thread = threading.Thread(
            target=_drive_clients,
            args=(procs, [c * size for c in counts], loop, done),
            daemon=True,
        )
        try:
            thread.start()
            return await done
        finally:
            for proc in procs:
                if not done.done() or done.cancelled() or done.exception() is not None:
                    proc.kill()  # failed: the client may be blocked on a dead server
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            await server.close()

    return ctx.run(main())


def _register(style: str, label: str) -> None:
    for tag, (size, n) in SIZES.items():

        def fn(ctx: Context, n: int, _style: str = style, _size: int = size) -> float:
            return run_remote(ctx, _style, _size, n)

        fn.__name__ = f"remote_{style}_{tag}"
        benchmark(
            f"remote_{style}_{tag}",
            group="network",
            n=n,
            unit="round trips",
            description=f"echo server ({label}), {CLIENTS} client processes, {tag} messages",
            min_n=CLIENTS,
        )(fn)


_register("proto", "protocols")
_register("stream", "streams")
_register("sock", "sock_* calls")
