"""vif.open without a ring round trip when the kernel's caches have the path.

On the io_uring backend, ``vif.open`` of an existing file (no create, no truncate)
first tries ``openat2`` with ``RESOLVE_CACHED`` and ``O_NONBLOCK``, the attempt
io_uring makes inline, and asks the ring only when that would have to wait or
isn't available.  These tests check that both ways give what the builtin gives --
data, errors, a blocking fd, FIFOs -- and that the fast way submits no ``openat``.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import os
import threading

import pytest

import vif
from vif.files import _backend, _ringloop, _uring

from .conftest import URING_SKIP, open_fds

pytestmark = pytest.mark.skipif(URING_SKIP is not None, reason=str(URING_SKIP))


@pytest.fixture
def uring(files_loop):
    """Run a coroutine function on the io_uring backend, on every loop."""
    _backend.set_backend("io_uring")

    def run(fn, *args):
        async def main():
            async with asyncio.timeout(30):
                return await fn(*args)

        with asyncio.Runner(loop_factory=files_loop) as runner:
            return runner.run(main())

    yield run
    _backend.set_backend(None)


@pytest.fixture(params=["cached", "ring"])
def open_way(request, monkeypatch):
    """``cached``: openat2 as the machine has it; ``ring``: as on a kernel without it."""
    if request.param == "ring":
        monkeypatch.setattr(_uring, "open_cached_works", False)
    return request.param


def _spy_opcodes(monkeypatch) -> list[int]:
    """Record the opcode of every SQE any ring stages from now on."""
    seen: list[int] = []
    real = _uring.Ring.prep

    def prep(self, opcode, *args, **kwargs):
        seen.append(opcode)
        return real(self, opcode, *args, **kwargs)

    monkeypatch.setattr(_uring.Ring, "prep", prep)
    return seen


def _failing_openat2(monkeypatch, err: int) -> list[int]:
    """Make openat2 fail with ``err`` (as a kernel would); returns the errors given."""
    calls: list[int] = []
    real = _uring._syscall

    def syscall(number, *args):
        if number == _uring.SYS_OPENAT2:
            calls.append(err)
            ctypes.set_errno(err)
            return -1
        return real(number, *args)

    monkeypatch.setattr(_uring, "_syscall", syscall)
    return calls


async def _read(path, mode="rb"):
    async with vif.open(path, mode) as f:
        blocking = os.get_blocking(f.fileno())
        return await f.read(), blocking


@pytest.mark.parametrize("mode", ["rb", "r", "r+b"])
def test_open_and_read_match_the_builtin(uring, open_way, tmp_path, mode):
    path = tmp_path / "f"
    path.write_bytes(b"line one\nline two\n")
    with open(path, mode) as f:
        expected = f.read(), os.get_blocking(f.fileno())
    assert uring(_read, path, mode) == expected


@pytest.mark.parametrize("name", ["missing", "dir", "file/below", "loop"])
def test_errors_match_the_builtin(uring, open_way, tmp_path, name):
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_bytes(b"x")
    (tmp_path / "loop").symlink_to("loop")
    path = str(tmp_path / name)
    with pytest.raises(OSError) as sync:
        with open(path, "rb") as f:
            f.read()
    with pytest.raises(OSError) as got:
        uring(_read, path)
    assert (type(got.value), got.value.errno, got.value.filename, str(got.value)) == (
        type(sync.value), sync.value.errno, sync.value.filename, str(sync.value))


def test_cached_open_submits_no_openat(uring, monkeypatch, tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"data")
    uring(_read, path)  # the ring exists and the path is in the dentry cache
    seen = _spy_opcodes(monkeypatch)
    assert uring(_read, path) == (b"data", True)
    assert _uring.OP_OPENAT not in seen


def test_uncached_lookup_goes_to_the_ring(uring, monkeypatch, tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"data")
    calls = _failing_openat2(monkeypatch, errno.EAGAIN)
    seen = _spy_opcodes(monkeypatch)
    assert uring(_read, path) == (b"data", True)
    assert calls == [errno.EAGAIN]
    assert _uring.OP_OPENAT in seen
    assert _uring.open_cached_works  # EAGAIN is "not this time", not "never"


def test_missing_openat2_is_asked_once(uring, monkeypatch, tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"data")
    calls = _failing_openat2(monkeypatch, errno.ENOSYS)
    monkeypatch.setattr(_uring, "open_cached_works", True)
    assert uring(_read, path) == (b"data", True)
    assert uring(_read, path) == (b"data", True)
    assert calls == [errno.ENOSYS]
    assert not _uring.open_cached_works


def test_fifo_is_not_waited_for_on_the_loop(uring, open_way, tmp_path):
    # The builtin open of a FIFO waits for a writer; vif waits off the loop thread.
    # The writer connects once the loop has shown it keeps running meanwhile (or
    # after 5 s regardless, so that a loop blocked in the open fails, not hangs).
    path = tmp_path / "fifo"
    os.mkfifo(path)
    go = threading.Event()
    forced = []

    def writer() -> None:
        forced.append(not go.wait(5))
        with open(path, "wb") as w:
            w.write(b"through the fifo")

    thread = threading.Thread(target=writer)
    thread.start()

    async def main():
        ticks = 0

        async def tick():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        ticker = asyncio.create_task(tick())
        opening = asyncio.create_task(_read(path))
        while ticks < 20:  # the open is pending; the loop keeps running
            await asyncio.sleep(0)
        go.set()
        data, _ = await opening
        ticker.cancel()
        return data

    try:
        assert uring(main) == b"through the fifo"
    finally:
        go.set()
        thread.join()
    assert forced == [False]


def _write_when_vif_holds_the_read_end(monkeypatch, path, data: bytes) -> list[int]:
    """A writer that comes, writes ``data`` and leaves while vif's open holds the
    FIFO's read end (the moment either open way returns its descriptor)."""
    written: list[int] = []
    real_now, real_at = _ringloop.RingBackend.open_now, _ringloop.RingBackend.openat

    def write(fd: int) -> int:
        if fd >= 0 and not written:
            w = os.open(path, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO unless a reader is there
            written.append(os.write(w, data))
            os.close(w)
        return fd

    def open_now(self, name, flags):
        return write(real_now(self, name, flags))

    async def openat(self, name, flags, mode=0o666):
        return write(await real_at(self, name, flags, mode))

    monkeypatch.setattr(_ringloop.RingBackend, "open_now", open_now)
    monkeypatch.setattr(_ringloop.RingBackend, "openat", openat)
    return written


def test_fifo_writer_gone_before_the_open_returns_is_read(uring, open_way, monkeypatch,
                                                          tmp_path):
    # With the builtin, a writer that writes and closes before the reader's open
    # returns leaves its data for the reader; vif's open must not lose it either
    # (it used to close the descriptor it held and open the FIFO again: the data
    # went with the last descriptor, and the new open waited for another writer).
    path = tmp_path / "fifo"
    os.mkfifo(path)
    written = _write_when_vif_holds_the_read_end(monkeypatch, path, b"came and went")
    assert uring(_read, path) == (b"came and went", True)
    assert written == [len(b"came and went")]


def test_fifo_opened_for_writing_reaches_its_reader(uring, tmp_path):
    # The write end is opened once (the kernel waits for the reader, as for the
    # builtin); the reader sees the data and then the end of file, nothing before.
    path = tmp_path / "fifo"
    os.mkfifo(path)
    got = []

    def reader() -> None:
        with open(path, "rb") as r:
            got.append(r.read())

    thread = threading.Thread(target=reader)
    thread.start()

    async def main():
        async with vif.open(path, "wb") as f:
            await f.write(b"to the reader")

    wrote = False
    try:
        uring(main)
        wrote = True
    finally:
        while not wrote and thread.is_alive():  # the open failed: end the reader's
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:  # ENXIO: the reader is not in its open() yet
                pass
            thread.join(0.01)
        thread.join()
    assert got == [b"to the reader"]


def test_cancelled_fifo_open_closes_its_descriptor(uring, open_way, tmp_path):
    # No writer ever comes: cancelling the open ends it, with nothing left open or
    # registered with the loop.
    path = tmp_path / "fifo"
    os.mkfifo(path)

    def held() -> list[int]:
        return [fd for fd, target in open_fds().items() if target == str(path)]

    async def main():
        opening = asyncio.create_task(_read(path))
        while not held():  # vif holds the read end, waiting for a writer
            await asyncio.sleep(0)
        [fd] = held()
        opening.cancel()
        with pytest.raises(asyncio.CancelledError):
            await opening
        return fd, held(), asyncio.get_running_loop().remove_reader(fd)

    fd, after, was_registered = uring(main)
    assert after == []
    assert not was_registered  # (uvloop's remove_reader returns None)
