"""The io_uring layer: SQE/CQE encoding (always), the raw ring and the backend choice.

The encoding tests need no kernel support.  Tests that need a working ring are
skipped, with the kernel's refusal as the reason, where ``io_uring_setup`` fails
(ENOSYS under gVisor, EPERM under seccomp, ``kernel.io_uring_disabled``).
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import os
import struct
import subprocess
import sys

import pytest

import vif
from vif.files import _backend, _uring

from .conftest import URING_SKIP, fd_count

needs_uring = pytest.mark.skipif(URING_SKIP is not None, reason=str(URING_SKIP))


def test_sqe_layout_matches_the_kernel_abi():
    raw = _uring.encode_sqe(_uring.OP_READ, flags=_uring.IOSQE_FIXED_FILE | _uring.IOSQE_IO_LINK,
                            fd=7, off=-1, addr=0x1122334455667788, length=4096,
                            op_flags=0xA0B0C0D0, user_data=0xDEADBEEF, file_index=3,
                            addr3=0x99)
    assert len(raw) == 64
    # struct io_uring_sqe, include/uapi/linux/io_uring.h
    assert raw[0] == 22  # opcode
    assert raw[1] == 1 | 4  # flags
    assert struct.unpack_from("<H", raw, 2)[0] == 0  # ioprio
    assert struct.unpack_from("<i", raw, 4)[0] == 7  # fd
    assert struct.unpack_from("<Q", raw, 8)[0] == (1 << 64) - 1  # off: -1 = file position
    assert struct.unpack_from("<Q", raw, 16)[0] == 0x1122334455667788  # addr
    assert struct.unpack_from("<I", raw, 24)[0] == 4096  # len
    assert struct.unpack_from("<I", raw, 28)[0] == 0xA0B0C0D0  # rw_flags / open_flags
    assert struct.unpack_from("<Q", raw, 32)[0] == 0xDEADBEEF  # user_data
    assert struct.unpack_from("<i", raw, 44)[0] == 3  # file_index
    assert struct.unpack_from("<Q", raw, 48)[0] == 0x99  # addr3


def test_opcode_numbers():
    # Stable kernel ABI values (enum io_uring_op).
    assert (_uring.OP_NOP, _uring.OP_FSYNC, _uring.OP_ASYNC_CANCEL, _uring.OP_OPENAT,
            _uring.OP_CLOSE, _uring.OP_STATX, _uring.OP_READ, _uring.OP_WRITE,
            _uring.OP_RENAMEAT, _uring.OP_UNLINKAT, _uring.OP_MKDIRAT) == (
        0, 3, 14, 18, 19, 21, 22, 23, 35, 36, 37)


def test_params_and_cqe_layout():
    assert _uring.PARAMS.size == 120  # sizeof(struct io_uring_params)
    fields = list(range(25))
    packed = _uring.PARAMS.pack(*fields)
    assert struct.unpack_from("<I", packed, 40)[0] == 7  # sq_off.head at 40
    assert struct.unpack_from("<I", packed, 80)[0] == 16  # cq_off.head at 80
    assert _uring.CQE.unpack(struct.pack("<QiI", 5, -2, 0)) == (5, -2, 0)


def test_bytes_offset_is_verified():
    if _uring.BYTES_OFFSET < 0:
        pytest.skip("in-place bytes not trusted on this interpreter")
    b, addr = _uring.new_bytes(16)
    ctypes.memmove(addr, b"0123456789abcdef", 16)
    assert b == b"0123456789abcdef"


@needs_uring
def test_raw_ring_nop_and_read(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"hello ring")
    ring = _uring.Ring(8, files=8)
    try:
        assert {_uring.OP_NOP, _uring.OP_READ} <= ring.ops
        fd = os.open(p, os.O_RDONLY)
        buf = bytearray(32)
        ring.prep(_uring.OP_NOP, 1)
        ring.prep(_uring.OP_READ, 2, fd=fd, addr=_uring.buffer_address(buf), length=32, off=0)
        ring.submit(wait=2)
        cqes = sorted(ring.reap())
        os.close(fd)
        assert cqes == [(1, 0, 0), (2, 10, 0)]
        assert bytes(buf[:10]) == b"hello ring"
    finally:
        ring.close()


@needs_uring
def test_ring_error_results_are_negative_errno(tmp_path):
    ring = _uring.Ring(8, files=0)
    try:
        path = str(tmp_path / "missing").encode() + b"\0"
        ring.prep(_uring.OP_OPENAT, 9, fd=_uring.AT_FDCWD, addr=id(path) + _uring.BYTES_OFFSET,
                  op_flags=os.O_RDONLY)
        ring.submit(wait=1)
        assert ring.reap() == [(9, -errno.ENOENT, 0)]
    finally:
        ring.close()


def _backend_in_subprocess(env_value: str | None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("VIF_FILES_BACKEND", None)
    if env_value is not None:
        env["VIF_FILES_BACKEND"] = env_value
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.dirname(vif.__file__)),
                                         env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-c", "import vif.files as f; print(f.backend())"],
                          env=env, capture_output=True, text=True, timeout=60)


def test_env_forces_threads():
    out = _backend_in_subprocess("threads")
    assert out.stdout.strip() == "threads", out.stderr


def test_env_auto_picks_what_the_kernel_allows():
    out = _backend_in_subprocess(None)
    assert out.stdout.strip() == ("io_uring" if URING_SKIP is None else "threads"), out.stderr


def test_env_rejects_unknown_value():
    out = _backend_in_subprocess("carrier-pigeon")
    assert out.returncode != 0
    assert "VIF_FILES_BACKEND" in out.stderr


def test_silent_fallback_when_setup_fails(monkeypatch):
    def refuse(entries, params):
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setattr(_uring, "setup", refuse)
    monkeypatch.setattr(_backend, "_choice", None)
    monkeypatch.delenv("VIF_FILES_BACKEND", raising=False)
    try:
        assert _backend.backend() == "threads"

        async def main():
            return await vif.read_bytes(__file__)

        assert asyncio.run(main()).startswith(b'"""')
    finally:
        _backend.set_backend(None)


@needs_uring
def test_cancel_blocked_ring_read_returns_promptly(tmp_path):
    """A FIFO read with no writer blocks in the kernel; ASYNC_CANCEL ends it."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    _backend.set_backend("io_uring")
    try:
        async def main():
            await vif.read_bytes("/dev/null")
            before = fd_count()
            task = asyncio.ensure_future(vif.read_bytes(fifo))
            for _ in range(5):
                await asyncio.sleep(0)
            assert not task.done()
            task.cancel()
            async with asyncio.timeout(5):
                with pytest.raises(asyncio.CancelledError):
                    await task
            be = _backend.for_loop()
            return before, fd_count(), len(be.handlers)

        before, after, in_flight = asyncio.run(main())
        assert (after, in_flight) == (before, 0)
    finally:
        _backend.set_backend(None)


@needs_uring
def test_one_ring_per_loop_and_closed_loops_are_swept():
    _backend.set_backend("io_uring")
    try:
        async def get():
            await vif.read_bytes("/dev/null")
            return _backend.for_loop()

        first = asyncio.run(get())
        second = asyncio.run(get())  # the first loop is closed: its ring is torn down
        assert first is not second
        assert first.closed and not second.closed
    finally:
        _backend.set_backend(None)


@needs_uring
@pytest.mark.parametrize("batch", ["1", "0"], ids=["batched", "eager"])
def test_submissions_batched_per_iteration_or_eager(tmp_path, monkeypatch, batch):
    """By default the operations staged in one loop iteration share one io_uring_enter."""
    monkeypatch.setenv("VIF_FILES_URING_BATCH", batch)
    paths = []
    for i in range(32):
        p = tmp_path / f"f{i}"
        p.write_bytes(bytes([i]) * (100 + i))
        paths.append(p)
    calls = []
    real_enter = _uring.enter

    def counting_enter(*args):
        calls.append(args[1])  # to_submit
        return real_enter(*args)

    monkeypatch.setattr(_uring, "enter", counting_enter)
    _backend.set_backend("io_uring")
    try:
        async def main():
            await vif.read_bytes("/dev/null")
            calls.clear()
            got = await asyncio.gather(*(vif.read_bytes(p) for p in paths))
            with pytest.raises(FileNotFoundError) as info:
                await vif.read_bytes(tmp_path / "missing")
            assert info.value.filename == str(tmp_path / "missing")
            return got, len(_backend.for_loop().handlers)

        got, in_flight = asyncio.run(main())
        assert got == [p.read_bytes() for p in paths]
        assert in_flight == 0
        if batch == "1":
            assert calls[0] == 3 * 32  # the 32 linked chains in one submission
        else:
            assert calls[:32] == [3] * 32
    finally:
        _backend.set_backend(None)
