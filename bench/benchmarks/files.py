"""Async files: vif.files against aiofiles (and the sync calls), on the loop being measured.

Issue 5's benchmark: 2000 files of 4 KiB, page cache warm, read whole with 1 and
64 reads in flight (``read_bytes`` and ``async with open`` + ``read``); line
iteration over a 20k-line file; one 64 MiB sequential read.  Rows are named
``files_<what>_<client>[_<in flight>]``; client ``sync`` is the plain blocking
call run on the loop thread (the ceiling), ``aiofiles`` the peer (n/a when not
installed).  The data is made once per run, outside the timed part, in the
directory the runner shares with its children (``VIF_BENCH_SHARED``, removed when
the run ends; a child run by hand makes its own under ``TMPDIR``); every row checks
what it read.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.registry import LIBRARY_ROW_IMPLS, Context, benchmark

ORDER = 10

N_FILES = 2000
FILE_SIZE = 4096
LINES = 20_000
BIG = 64 << 20
_data: dict[str, Any] = {}


def _make_dataset(root: str) -> None:
    """Write the data set into ``root``: small files, a lines file, a 64 MiB file."""
    for i in range(N_FILES):
        with open(os.path.join(root, f"f{i:04d}"), "wb") as f:
            f.write(bytes([i % 251]) * FILE_SIZE)
    with open(os.path.join(root, "lines.txt"), "w") as f:
        f.writelines(f"{i:08d} some words of a log line, as text\n" for i in range(LINES))
    with open(os.path.join(root, "big.bin"), "wb") as f:
        chunk = os.urandom(1 << 20)
        for _ in range(BIG >> 20):
            f.write(chunk)


def _dataset() -> dict[str, Any]:
    """The files, made once per run (in the runner's ``VIF_BENCH_SHARED``) or per process."""
    if not _data:
        shared = os.environ.get("VIF_BENCH_SHARED")
        if shared:
            root = os.path.join(shared, "files")
            if not os.path.isdir(root):  # children run one at a time: no race
                tmp = tempfile.mkdtemp(dir=shared)
                _make_dataset(tmp)
                os.rename(tmp, root)
        else:
            root = tempfile.mkdtemp(prefix="vif-bench-files-")
            _make_dataset(root)
        paths = [os.path.join(root, f"f{i:04d}") for i in range(N_FILES)]
        lines = os.path.join(root, "lines.txt")
        big = os.path.join(root, "big.bin")
        for p in [*paths, lines, big]:  # warm the page cache
            with open(p, "rb") as f:
                f.read()
        _data.update(root=root, paths=paths, lines=lines, big=big)
    return _data


def _vif() -> Any:
    import vif.files

    return vif.files


def _aiofiles() -> Any:
    try:
        import aiofiles
    except ImportError as exc:
        raise NotImplementedError(f"aiofiles not installed ({exc})") from exc
    return aiofiles


async def _sweep(read: Callable[[str], Awaitable[bytes]], n: int, in_flight: int) -> float:
    """Read ``n`` of the small files (cycling), ``in_flight`` at a time; check sizes."""
    paths = _dataset()["paths"]
    todo = iter(range(n))
    bad = 0

    async def worker() -> None:
        nonlocal bad
        for i in todo:
            if len(await read(paths[i % N_FILES])) != FILE_SIZE:
                bad += 1

    await read(paths[-1])  # per-loop set-up (vif's ring, aiofiles' executor) not timed
    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    elapsed = time.perf_counter() - t0
    if bad:
        raise AssertionError(f"{bad} reads returned the wrong size")
    return elapsed


def _readers() -> dict[str, Callable[[], Callable[[str], Awaitable[bytes]]]]:
    def vif_read_bytes() -> Callable[[str], Awaitable[bytes]]:
        return _vif().read_bytes

    def vif_open() -> Callable[[str], Awaitable[bytes]]:
        files = _vif()

        async def read(p: str) -> bytes:
            async with files.open(p, "rb") as f:
                return await f.read()

        return read

    def aiofiles_open() -> Callable[[str], Awaitable[bytes]]:
        aiofiles = _aiofiles()

        async def read(p: str) -> bytes:
            async with aiofiles.open(p, "rb") as f:
                return await f.read()

        return read

    def sync() -> Callable[[str], Awaitable[bytes]]:
        async def read(p: str) -> bytes:
            with open(p, "rb") as f:
                return f.read()

        return read

    return {
        "read_bytes_vif": vif_read_bytes,
        "open_read_vif": vif_open,
        "open_read_aiofiles": aiofiles_open,
        "open_read_sync": sync,
    }


def _sweep_row(
    make: Callable[[], Callable[[str], Awaitable[bytes]]], in_flight: int
) -> Callable[[Context, int], float]:
    def fn(ctx: Context, n: int) -> float:
        _dataset()
        return ctx.run(_sweep(make(), n, in_flight))

    return fn


for _row, _make in _readers().items():
    for _in_flight in (1,) if _row.endswith("_sync") else (1, 64):
        benchmark(
            f"files_{_row}_{_in_flight}",
            group="files",
            impls=LIBRARY_ROW_IMPLS,
            n=N_FILES,
            unit="files",
            min_n=64,
            description=f"{N_FILES} x 4 KiB files read whole ({_row}, {_in_flight} in flight)",
        )(_sweep_row(_make, _in_flight))


async def _vif_lines(path: str) -> int:
    n = 0
    async with _vif().open(path) as f:
        async for _ in f:
            n += 1
    return n


async def _aiofiles_lines(path: str) -> int:
    n = 0
    async with _aiofiles().open(path) as f:
        async for _ in f:
            n += 1
    return n


async def _sync_lines(path: str) -> int:
    n = 0
    with open(path) as f:
        for _ in f:
            n += 1
    return n


def _lines_row(count: Callable[[str], Awaitable[int]]) -> Callable[[Context, int], float]:
    def fn(ctx: Context, n: int) -> float:
        path = _dataset()["lines"]
        reps = max(1, n // LINES)

        async def main() -> float:
            await count(path)  # imports and per-loop set-up, not timed
            t0 = time.perf_counter()
            for _ in range(reps):
                got = await count(path)
                if got != LINES:
                    raise AssertionError(f"{got} lines, expected {LINES}")
            return (time.perf_counter() - t0) * n / (reps * LINES)

        return ctx.run(main())

    return fn


for _client, _count in (("vif", _vif_lines), ("aiofiles", _aiofiles_lines), ("sync", _sync_lines)):
    benchmark(
        f"files_lines_{_client}",
        group="files",
        impls=LIBRARY_ROW_IMPLS,
        n=LINES,
        unit="lines",
        min_n=LINES,
        description=f"async for line in f over a {LINES}-line text file ({_client})",
    )(_lines_row(_count))


def _seq_row(client: str) -> Callable[[Context, int], float]:
    def fn(ctx: Context, n: int) -> float:
        big = _dataset()["big"]
        reps = max(1, n // (BIG >> 20))

        async def read_once() -> bytes:
            if client == "vif":
                async with _vif().open(big, "rb") as f:
                    return await f.read()
            if client == "vif_read_bytes":
                return await _vif().read_bytes(big)
            if client == "aiofiles":
                async with _aiofiles().open(big, "rb") as f:
                    return await f.read()
            with open(big, "rb") as f:
                return f.read()

        async def main() -> float:
            await read_once()  # imports and per-loop set-up, not timed
            t0 = time.perf_counter()
            for _ in range(reps):
                if len(await read_once()) != BIG:
                    raise AssertionError("short read")
            return (time.perf_counter() - t0) * n / (reps * (BIG >> 20))

        return ctx.run(main())

    return fn


for _client in ("vif", "vif_read_bytes", "aiofiles", "sync"):
    benchmark(
        f"files_seq64m_{_client}",
        group="files",
        impls=LIBRARY_ROW_IMPLS,
        n=128,
        unit="MiB",
        min_n=64,
        description=f"one 64 MiB file read whole, sequentially ({_client})",
    )(_seq_row(_client))
