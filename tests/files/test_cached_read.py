"""A small file's whole read() served from the page cache without a ring operation.

On the io_uring backend, ``f.read()`` of a regular file known to hold less than a
chunk first tries a non-blocking read (``preadv2`` with ``RWF_NOWAIT``, what io_uring
tries inline) and goes to the ring only for what the cache can't give at once.
These tests check the outcome against the sync calls -- data and file position --
when the cache gives everything, nothing, part of the file, or when the file grew
after the open; and that the fast case really submits no read to the ring.  The
threads backend runs the same cases (the stdlib reads there).
"""

from __future__ import annotations

import asyncio
import errno
import os

import pytest

import vif
from vif.files import _backend, _ringloop

from .conftest import URING_SKIP


def _write(path: os.PathLike, n: int) -> bytes:
    data = os.urandom(n)
    with open(path, "wb") as f:
        f.write(data)
    return data


async def _read_whole(path: os.PathLike, mode: str = "rb") -> tuple[object, int]:
    async with vif.open(path, mode) as f:
        data = await f.read()
        return data, await f.tell()


@pytest.mark.parametrize("n", [0, 1, 4096, 65535])
def test_small_read_matches_sync(arun, tmp_path, n):
    path = tmp_path / "f"
    data = _write(path, n)
    assert arun(_read_whole, path) == (data, n)


def test_small_text_read_matches_sync(arun, tmp_path):
    path = tmp_path / "f"
    path.write_text("one\r\ntwo\nthree\r", newline="")
    with open(path) as f:
        expected = f.read(), f.tell()
    assert arun(_read_whole, path, "r") == expected


@pytest.mark.skipif(URING_SKIP is not None, reason=str(URING_SKIP))
def test_cached_small_read_submits_no_ring_read(tmp_path):
    path = tmp_path / "f"
    data = _write(path, 5000)
    path.read_bytes()  # in the page cache
    _backend.set_backend("io_uring")
    try:
        async def main() -> tuple[bytes, list[int]]:
            async with vif.open(path, "rb") as f:
                be = _backend.for_loop()
                opcodes: list[int] = []
                real_prep = be.ring.prep

                def spy(opcode: int, *args: object, **kw: object) -> None:
                    opcodes.append(opcode)
                    real_prep(opcode, *args, **kw)

                be.ring.prep = spy
                try:
                    got = await f.read()
                finally:
                    del be.ring.prep
                return got, opcodes

        got, opcodes = vif.run(main())
    finally:
        _backend.set_backend(None)
    assert got == data
    assert opcodes == []


def _fake_preadv(monkeypatch: pytest.MonkeyPatch, answers: list[object]) -> list[object]:
    """Replace the non-blocking read: each call takes the next answer -- an int k
    (really read at most k bytes) or an errno (raise it); the real call once they
    run out."""
    real = os.preadv
    calls: list[object] = []

    def fake(fd: int, buffers: list, offset: int, flags: int) -> int:
        assert flags == os.RWF_NOWAIT
        answer = answers.pop(0) if answers else None
        calls.append(answer)
        if answer is None:
            return real(fd, buffers, offset, flags)
        if isinstance(answer, int) and answer < 0:
            raise OSError(-answer, os.strerror(-answer))
        view = memoryview(buffers[0])[:answer]
        return real(fd, [view], offset, flags)

    monkeypatch.setattr(_ringloop, "_preadv", fake)
    return calls


@pytest.mark.skipif(URING_SKIP is not None, reason=str(URING_SKIP))
@pytest.mark.parametrize("answers", [
    pytest.param([-errno.EAGAIN], id="not-cached"),
    pytest.param([-errno.EOPNOTSUPP], id="no-nowait-on-this-fs"),
    pytest.param([1000, -errno.EAGAIN], id="part-cached"),
    pytest.param([4096, -errno.EAGAIN], id="cached-up-to-a-page"),
])
def test_what_the_cache_cannot_give_comes_from_the_ring(monkeypatch, tmp_path, files_loop,
                                                      answers):
    path = tmp_path / "f"
    data = _write(path, 10_000)
    calls = _fake_preadv(monkeypatch, list(answers))
    _backend.set_backend("io_uring")
    try:
        with asyncio.Runner(loop_factory=files_loop) as runner:
            got = runner.run(_read_whole(path))
    finally:
        _backend.set_backend(None)
    assert got == (data, len(data))
    assert calls == answers


def test_read_sees_what_was_appended_after_the_open(arun, tmp_path):
    path = tmp_path / "f"
    first = _write(path, 3000)

    async def main() -> tuple[object, int]:
        async with vif.open(path, "rb") as f:
            with open(path, "ab") as g:  # the size taken at the open is now stale
                g.write(b"x" * 5000)
            return await f.read(), await f.tell()

    assert arun(main) == (first + b"x" * 5000, 8000)


def test_read_sees_a_file_that_grew_past_a_chunk(arun, tmp_path):
    path = tmp_path / "f"
    first = _write(path, 100)
    more = os.urandom(3 * _ringloop.CHUNK + 5)

    async def main() -> tuple[object, int]:
        async with vif.open(path, "rb") as f:
            with open(path, "ab") as g:
                g.write(more)
            return await f.read(), await f.tell()

    assert arun(main) == (first + more, len(first) + len(more))


def test_read_after_a_partial_read(arun, tmp_path):
    path = tmp_path / "f"
    data = _write(path, 9000)

    async def main() -> tuple[object, object, int]:
        async with vif.open(path, "rb") as f:
            head = await f.read(100)
            return head, await f.read(), await f.tell()

    assert arun(main) == (data[:100], data[100:], 9000)
