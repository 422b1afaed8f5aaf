"""Cancellation, full disks, short reads and writes, bounded memory, a dedicated pool."""

from __future__ import annotations

import asyncio
import errno
import os
import pathlib
import resource
import signal
import threading
import tracemalloc

import pytest

import vif
from vif.files import _backend, _pool

from .conftest import fd_count, open_fds, sync_outcome


async def _cancel_after(coro, spins: int):
    """Start ``coro`` as a task, let the loop run ``spins`` times, cancel it, await it."""
    task = asyncio.ensure_future(coro)
    for _ in range(spins):
        await asyncio.sleep(0)
    task.cancel()
    try:
        return await task
    except asyncio.CancelledError:
        return "cancelled"


@pytest.mark.parametrize("what", ["open", "read_bytes", "write_bytes", "open_read_close",
                                  "write_text", "iterate"])
def test_cancellation_leaves_no_fd_and_no_operation(arun, tmp_path, what):
    data = os.urandom(200_000)
    paths = []
    for i in range(20):
        p = tmp_path / f"f{i}"
        p.write_bytes(data if i % 2 else b"line\n" * 1000)
        paths.append(p)

    async def op(p):
        if what == "open":
            f = await vif.open(p, "rb")
            await f.close()
        elif what == "read_bytes":
            await vif.read_bytes(p)
        elif what == "write_bytes":
            await vif.write_bytes(p, data)
        elif what == "write_text":
            await vif.write_text(p, "text\n" * 1000)
        elif what == "iterate":
            async with vif.open(p, "rb") as f:
                async for _ in f:
                    pass
        else:
            async with vif.open(p, "rb") as f:
                await f.read()

    async def main():
        await op(paths[0])  # sets up the ring / pool threads before counting
        before = open_fds()
        results = []
        for spins in range(6):
            results += await asyncio.gather(*[_cancel_after(op(p), spins) for p in paths])
        after = open_fds()
        be = _backend.for_loop()
        in_flight = len(getattr(be, "handlers", ()))
        return before, after, in_flight, results

    before, after, in_flight, results = arun(main)
    assert {k: v for k, v in after.items() if before.get(k) != v} == {}
    assert in_flight == 0
    assert "cancelled" in results


def test_cancelled_open_closes_the_late_fd(arun, tmp_path):
    """The pool (or the ring) finishes the open after the task gave up: the fd is closed."""
    p = tmp_path / "f"
    p.write_bytes(b"x")

    async def main():
        await vif.read_bytes(p)
        before = fd_count()
        tasks = [asyncio.ensure_future(vif.open(p)) for _ in range(50)]
        await asyncio.sleep(0)
        for t in tasks:
            t.cancel()
        done = await asyncio.gather(*tasks, return_exceptions=True)
        for r in done:
            if not isinstance(r, BaseException):
                await r.close()
        return before, fd_count()

    before, after = arun(main)
    assert before == after


def test_close_failure_still_releases_fd(arun):
    async def main():
        await vif.read_bytes("/dev/null")  # the ring (or pool) exists before counting
        before = fd_count()
        f = await vif.open("/dev/full", "w")
        await f.write("x" * 100)  # buffered
        try:
            await f.close()
        except OSError as exc:
            err = exc.errno
        else:
            err = None
        return before, fd_count(), err, f.closed

    before, after, err, closed = arun(main)
    assert (after, err, closed) == (before, errno.ENOSPC, True)


def test_enospc_on_unbuffered_write(arun):
    expected = sync_outcome(lambda: open("/dev/full", "wb", buffering=0).write(b"abc"))

    async def main():
        async with vif.open("/dev/full", "wb", buffering=0) as f:
            try:
                await f.write(b"abc")
            except OSError as exc:
                return "error", (type(exc), exc.errno, exc.filename, exc.filename2, str(exc))

    assert arun(main) == expected


def test_short_reads_are_continued(arun):
    """A pipe delivers a few bytes at a time; read(n) still returns n bytes, as sync does."""

    async def main():
        r, w = os.pipe()

        def writer():
            for i in range(50):
                os.write(w, bytes([i]) * 7)
            os.close(w)

        t = threading.Thread(target=writer)
        t.start()
        async with vif.open(r, "rb") as f:
            first = await f.read(100)
            rest = await f.read()
        t.join()
        return first, rest

    first, rest = arun(main)
    expected = b"".join(bytes([i]) * 7 for i in range(50))
    assert first == expected[:100]
    assert rest == expected[100:]


@pytest.fixture
def fsize_limit():
    """RLIMIT_FSIZE of 64 KiB: writes past it are short, then fail with EFBIG."""
    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (65536, old[1]))
    yield 65536
    resource.setrlimit(resource.RLIMIT_FSIZE, old)
    signal.signal(signal.SIGXFSZ, old_handler)


def test_short_writes_then_efbig_like_sync(arun, tmp_path, fsize_limit):
    data = os.urandom(100_000)
    expected = sync_outcome(pathlib.Path(tmp_path / "sync").write_bytes, data)
    assert expected[0] == "error" and expected[1][1] == errno.EFBIG

    async def main():
        try:
            await vif.write_bytes(tmp_path / "async", data)
        except OSError as exc:
            got = "error", (type(exc), exc.errno, exc.filename, exc.filename2, str(exc))
        else:
            got = "ok", None
        return got, (tmp_path / "async").read_bytes()

    got, written = arun(main)
    assert got == expected
    assert written == data[:fsize_limit]  # the short part was written, as sync does


def test_sparse_1gib_file_read_in_chunks_bounded_memory(arun, tmp_path):
    p = tmp_path / "sparse"
    with open(p, "wb") as f:
        f.truncate(1 << 30)
        f.seek((1 << 30) - 3)
        f.write(b"end")
    chunk = 1 << 20

    async def main():
        total = 0
        tail = b""
        tracemalloc.start()
        try:
            async with vif.open(p, "rb") as f:
                while True:
                    data = await f.read(chunk)
                    if not data:
                        break
                    total += len(data)
                    tail = data[-3:]
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        return total, tail, peak

    total, tail, peak = arun(main, timeout=110)
    assert total == 1 << 30
    assert tail == b"end"
    assert peak < 8 * chunk, f"peak {peak} bytes"


def test_files_pool_is_not_the_default_executor(arun, tmp_path):
    """Saturate the loop's default executor: file I/O still proceeds."""
    p = tmp_path / "f"
    p.write_bytes(b"ok")

    async def main():
        loop = asyncio.get_running_loop()
        gate = threading.Event()
        blockers = [loop.run_in_executor(None, gate.wait) for _ in range(64)]
        try:
            return await asyncio.wait_for(vif.read_bytes(p), 10)
        finally:
            gate.set()
            await asyncio.gather(*blockers)

    assert arun(main) == b"ok"


def test_many_concurrent_operations(arun, tmp_path):
    contents = {tmp_path / f"f{i}": os.urandom(i * 997) for i in range(60)}
    for p, data in contents.items():
        p.write_bytes(data)

    async def main():
        async def one(p):
            async with vif.open(p, "rb") as f:
                return await f.read()

        got = await asyncio.gather(*[vif.read_bytes(p) for p in contents for _ in range(5)])
        got2 = await asyncio.gather(*[one(p) for p in contents])
        return got, got2

    got, got2 = arun(main)
    assert got == [d for d in contents.values() for _ in range(5)]
    assert got2 == list(contents.values())


def test_pool_is_bounded():
    pool = _pool.Pool(max_workers=3)
    loop = asyncio.new_event_loop()
    try:
        gate = threading.Event()
        jobs = [pool.submit(loop, gate.wait, ()) for _ in range(10)]
        assert pool._workers == 3
        gate.set()

        async def wait_all():
            async with asyncio.timeout(10):
                return await asyncio.gather(*[_pool.wait_job(j) for j in jobs])

        assert loop.run_until_complete(wait_all()) == [True] * 10
    finally:
        loop.close()
