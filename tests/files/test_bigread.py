"""Big whole-file reads: ``f.read()`` and ``read_bytes`` split into concurrent parts.

On the io_uring backend a read of at least ``_ringloop._SPLIT_MIN`` bytes is split
into ``_ringloop._PARTS`` reads at explicit offsets; the tests lower the threshold
(and use three parts, for uneven splits) so that small files take that path, and
check what the sync calls would give: the data, the file position afterwards,
files that shrink or grow after the open, and cancellation.  The threads backend
runs the same cases (the stdlib reads there).
"""

from __future__ import annotations

import asyncio
import os

import pytest

import vif
from vif.files import _backend, _ringloop

from .conftest import URING_SKIP, open_fds

SPLIT_MIN = 256 * 1024


@pytest.fixture
def split(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Small split threshold, three parts; records the size of every split read."""
    monkeypatch.setattr(_ringloop, "_SPLIT_MIN", SPLIT_MIN)
    monkeypatch.setattr(_ringloop, "_PARTS", 3)
    sizes: list[int] = []
    real = _ringloop._ReadAll.split

    def spy(self: _ringloop._ReadAll, size: int, pos: int, parts: int) -> None:
        sizes.append(size)
        real(self, size, pos, parts)

    monkeypatch.setattr(_ringloop._ReadAll, "split", spy)
    return sizes


def _write(path: os.PathLike, n: int) -> bytes:
    data = os.urandom(n)
    with open(path, "wb") as f:
        f.write(data)
    return data


SIZES = [SPLIT_MIN - 1, SPLIT_MIN, SPLIT_MIN + 1, 3 * 65536 * 2 + 7, 1_000_003]


@pytest.mark.parametrize("n", SIZES)
def test_big_read_matches_sync(arun, files_backend, split, tmp_path, n):
    p = tmp_path / "big"
    data = _write(p, n)

    async def main():
        async with vif.open(p, "rb") as f:
            got = await f.read()
            tell = await f.tell()
            more = await f.read()
        return got, tell, more, await vif.read_bytes(p)

    got, tell, more, whole = arun(main)
    assert got == data and whole == data
    assert (tell, more) == (n, b"")
    if files_backend == "io_uring":  # open's read and read_bytes' were split
        assert split == ([n, n] if n >= SPLIT_MIN else [])


@pytest.mark.parametrize("start", [1001, 65536, 300_000])
def test_big_read_from_a_nonzero_position(arun, files_backend, split, tmp_path, start):
    n = 1_000_003
    p = tmp_path / "big"
    data = _write(p, n)

    async def main():
        async with vif.open(p, "rb") as f:
            head = await f.read(start)
            rest = await f.read()
            tell = await f.tell()
        async with vif.open(p, "rb") as f:
            await f.seek(start + 7)
            after_seek = await f.read()
            await f.seek(5)
            again = await f.read(10)
        return head, rest, tell, after_seek, again

    head, rest, tell, after_seek, again = arun(main)
    assert head + rest == data and len(head) == start
    assert tell == n
    assert after_seek == data[start + 7:]
    assert again == data[5:15]
    if files_backend == "io_uring":
        assert split == [n - start, n - start - 7]


def test_big_read_of_a_file_that_shrank(arun, files_backend, split, tmp_path):
    """Opened at 1 MB, cut to 400 kB before the read: the parts past the end come up
    short and the read returns what the file holds, like the sync read."""
    p = tmp_path / "big"
    data = _write(p, 1_000_000)

    async def main():
        async with vif.open(p, "rb") as f:
            os.truncate(p, 400_001)
            got = await f.read()
            tell = await f.tell()
            more = await f.read()
        return got, tell, more

    assert arun(main) == (data[:400_001], 400_001, b"")
    if files_backend == "io_uring":
        assert split == [1_000_000]


def test_big_read_of_a_file_that_grew(arun, files_backend, split, tmp_path):
    """Opened at 600 kB, 300 kB appended before the read: the EOF probe finds them."""
    p = tmp_path / "big"
    data = _write(p, 600_000)
    extra = os.urandom(300_000)

    async def main():
        async with vif.open(p, "rb") as f:
            with open(p, "ab") as g:
                g.write(extra)
            got = await f.read()
            tell = await f.tell()
        return got, tell

    assert arun(main) == (data + extra, 900_000)
    if files_backend == "io_uring":
        assert split == [600_000]


def test_big_text_read(arun, split, tmp_path):
    """A text file's whole read goes through the same split read, then is decoded."""
    p = tmp_path / "big.txt"
    text = "".join(f"line {i} \u00e9\u00e8\n" for i in range(40_000))
    with open(p, "w", encoding="utf-8") as f:
        f.write(text)

    async def main():
        async with vif.open(p, encoding="utf-8") as f:
            got = await f.read()
            return got, await f.read()

    assert arun(main) == (text, "")


def test_default_threshold_sizes(arun, files_backend, tmp_path):
    """Around the real threshold, with the real number of parts."""
    m = _ringloop._SPLIT_MIN
    p = tmp_path / "big"
    for n in (m - 1, m + 65536 + 3):
        data = _write(p, n)

        async def main():
            async with vif.open(p, "rb") as f:
                got = await f.read()
                tell = await f.tell()
            return got, tell, await vif.read_bytes(p)

        assert arun(main) == (data, n, data)


@pytest.mark.parametrize("how", ["open", "read_bytes"])
def test_cancelled_big_read_leaves_nothing_behind(arun, files_backend, split, tmp_path, how):
    """Cancelled while the parts are in flight: the cancellation waits for the kernel to
    let go of the buffer; no descriptor stays open and the loop goes on working."""
    n = 4_000_000
    p = tmp_path / "big"
    data = _write(p, n)

    async def read_once():
        if how == "read_bytes":
            return await vif.read_bytes(p)
        async with vif.open(p, "rb") as f:
            return await f.read()

    async def main():
        await vif.read_bytes(p)  # the ring (and its descriptors) set up before counting
        before = open_fds()
        outcomes = []
        for spins in range(6):  # cancel at different points of the read
            task = asyncio.ensure_future(read_once())
            for _ in range(spins):
                await asyncio.sleep(0)
            task.cancel()
            try:
                outcomes.append(len(await task))
            except asyncio.CancelledError:
                outcomes.append("cancelled")
        be = _backend.for_loop()
        in_flight = len(getattr(be, "handlers", ()))
        for _ in range(3):  # a read-only file's close goes with the ring's next batch
            after = open_fds()
            if after == before:
                break
            await asyncio.sleep(0)
        return outcomes, before, after, in_flight, await read_once()

    outcomes, before, after, in_flight, again = arun(main)
    assert "cancelled" in outcomes
    assert all(o in ("cancelled", n) for o in outcomes)
    assert after == before and in_flight == 0
    assert again == data


@pytest.mark.skipif(URING_SKIP is not None, reason=str(URING_SKIP))
def test_cancel_keeps_the_position_of_a_split_read(split, tmp_path):
    """The parts read at explicit offsets: a cancelled split read does not move the
    position, so the next read starts where the cancelled one did."""
    n = 2_000_000
    p = tmp_path / "big"
    data = _write(p, n)
    _backend.set_backend("io_uring")
    try:
        async def main():
            async with vif.open(p, "rb") as f:
                head = await f.read(100)
                task = asyncio.ensure_future(f.read())
                await asyncio.sleep(0)  # staged and submitted, not completed
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                return head, await f.tell(), await f.read()

        head, tell, rest = asyncio.run(main())
        assert (head, tell, rest) == (data[:100], 100, data[100:])
        assert split == [n - 100, n - 100]
    finally:
        _backend.set_backend(None)
