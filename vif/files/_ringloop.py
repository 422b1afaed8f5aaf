"""The io_uring backend: one ring per event loop, driven through public loop APIs.

Owns :class:`RingBackend`.  Completions are signalled through an eventfd the loop
watches with ``add_reader`` (so it runs on stock asyncio, uvloop and vif alike).
Submissions are batched per loop iteration: the first operation staged schedules
one flush with ``call_soon``, and every operation staged until then goes to the
kernel in the same ``io_uring_enter`` (page-cache hits complete inside it); a
full SQ is flushed at once, and ``VIF_FILES_URING_BATCH=0`` submits each
operation as soon as it is staged.  ``read_bytes``/``write_bytes`` are one linked chain
(``openat`` into a direct descriptor -> ``read``/``write`` -> ``close``), so
open + I/O + close cost one submission; the ``openat`` posts a completion only
if it fails.  An operation's SQEs carry ``id << 2 | tag`` as user_data.  Every
operation object keeps its buffers alive until its last completion arrives; a
cancelled operation is cancelled in the kernel (``IORING_OP_ASYNC_CANCEL``) and
waited for before the cancellation propagates (see :func:`vif.files._pool.wait_job`).
What io_uring would do inline is done directly where that saves a round trip:
``vif.open`` of an existing file whose path the kernel's caches hold
(:meth:`RingBackend.open_now`), and a whole read of a small file the page cache
holds (:func:`read_cached`).  ``read_bytes`` keeps its one linked chain: a batch of
those costs one system call, fewer than the direct calls would.
"""

from __future__ import annotations

import asyncio
import errno as _errno
import fcntl
import os
import sys
from collections.abc import Awaitable
from typing import Any

from . import _pool, _uring
from ._uring import (
    AT_FDCWD,
    IOSQE_ASYNC,
    IOSQE_IO_LINK,
    U64_MAX,
    buffer_address,
    new_bytes,
)

CHUNK = 64 * 1024  # first read of a whole-file read; pooled buffers
PROBE = 4096  # the small read after an exact-size read, to see EOF
_O_CLOEXEC = os.O_CLOEXEC
_BIG = 256 * 1024  # reads at least this large go straight into a fresh bytes object
_MAX_RW = 0x7FFFF000  # Linux caps one read/write at this many bytes
# A whole-file read of at least _SPLIT_MIN bytes is split into _PARTS concurrent reads
# (one inline, one on an io-wq worker): most of its time is page faults on the fresh
# buffer, and those run in parallel on two CPUs.
_SPLIT_MIN = 8 << 20
_PARTS = 2 if (os.cpu_count() or 1) > 1 else 1
_MAX_PART = _MAX_RW & ~0xFFFF


_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()


def _cstr(path: Any) -> bytes:
    # os.fsencode(), without its Python-level call for the usual str path.
    p = path.encode(_FS_ENCODING, _FS_ERRORS) if type(path) is str else os.fsencode(path)
    if b"\0" in p:
        raise ValueError("embedded null byte")
    return p + b"\0"


def _addr(b: bytes) -> int:
    """Address of a bytes object's data (read by the kernel; ``b`` must stay referenced)."""
    return id(b) + _uring.BYTES_OFFSET


_O_NONBLOCK = os.O_NONBLOCK
_MAY_WRITE_META = os.O_CREAT | os.O_TRUNC | getattr(os, "O_TMPFILE", 0)
_F_SETFL = fcntl.F_SETFL
_SETFL_MASK = os.O_APPEND | getattr(os, "O_DIRECT", 0) | getattr(os, "O_NOATIME", 0)
_fcntl = fcntl.fcntl
_RWF_NOWAIT = getattr(os, "RWF_NOWAIT", 0)
_preadv = getattr(os, "preadv", None)


def read_cached(fd: int, be: RingBackend) -> tuple[bytes, bool]:
    """What the page cache holds of ``fd`` from its position on, read without blocking.

    Returns ``(data, at_eof)``; the file position moves past ``data``.  This is the
    attempt io_uring itself makes inline when a read is submitted (``RWF_NOWAIT``: the
    kernel copies what is cached and never waits for the disk), minus the ring
    round trip: a small file read whole right after it was opened costs no
    operation and no task switch.  Anything else -- data not cached, a file system
    without non-blocking reads, more than :data:`CHUNK` bytes -- answers
    ``at_eof=False`` and the caller goes on through the ring.  A short non-blocking
    read need not be the end of the file, so EOF is confirmed by a second read
    returning 0.
    """
    if not _RWF_NOWAIT or _preadv is None:
        return b"", False
    buf = be.take_buffer()
    try:
        n = _preadv(fd, (buf[0],), -1, _RWF_NOWAIT)
        data = buf[0][:n].tobytes()
    except OSError:  # EAGAIN (not cached), EOPNOTSUPP, ...: the ring will say
        return b"", False
    finally:
        be.give_buffer(buf)
    if n == 0:
        return b"", True
    if n == CHUNK:
        return data, False
    probe = bytearray(1)
    try:
        more = _preadv(fd, [probe], -1, _RWF_NOWAIT)
    except OSError:
        return data, False
    if more:
        return data + bytes(probe), False
    return data, True


def _oserror(res: int, filename: Any = None, filename2: Any = None) -> OSError:
    err = -res
    if filename2 is not None:
        return OSError(err, os.strerror(err), filename, None, filename2)
    if filename is not None:
        return OSError(err, os.strerror(err), filename)
    return OSError(err, os.strerror(err))


class _Op(_pool.Job):
    """A ring operation: one or more SQEs, completed by :meth:`on_cqe` on the loop thread."""

    __slots__ = ("be", "id", "keep")

    def __init__(self, be: RingBackend, cleanup=None) -> None:
        # Job's fields, set here directly (this runs once per operation).
        self.fn = None
        self.args = ()
        self.fut = be.loop.create_future()
        self.state = _pool._RUNNING
        self.result = self.exc = self.waiter = self.sink = None
        self.cleanup = cleanup
        self.be = be
        # Registered under ``id``: its SQEs carry user_data ``id << 2 | tag`` (tag 0..3).
        # (Registered in ``be.handlers`` by its first :meth:`RingBackend.prep`.)
        self.id = op_id = be._next
        be._next = op_id + 1
        self.keep: list[Any] = []  # buffers and paths the kernel may still read or write

    def on_cqe(self, tag: int, res: int) -> None:
        raise NotImplementedError

    def finish(self, result: Any = None, exc: BaseException | None = None) -> None:
        """The operation's last CQE arrived: unregister, release buffers, deliver."""
        self.be.handlers.pop(self.id, None)
        self.keep = []
        self.complete(result, exc)


class _Single(_Op):
    """One SQE; the result is the CQE's ``res`` or an OSError naming the file(s)."""

    __slots__ = ("names",)

    def __init__(self, be: RingBackend, names: tuple = (), cleanup=None) -> None:
        super().__init__(be, cleanup)
        self.names = names

    def on_cqe(self, tag: int, res: int) -> None:
        if res < 0:
            self.finish(exc=_oserror(res, *self.names))
        else:
            self.finish(res)


class _Read(_Op):
    """``read(fd, n)`` at an offset (or the file position): bytes, short at EOF."""

    __slots__ = ("buf", "n")

    def on_cqe(self, tag: int, res: int) -> None:
        if res < 0:
            self.finish(exc=_oserror(res))
            return
        buf = self.buf
        if type(buf) is bytes:
            self.finish(buf if res == self.n else buf[:res])
        else:
            self.finish(bytes(memoryview(buf)[:res]))


class _ReadAll(_Op):
    """Read to EOF from the file position: an exact-size read linked to a small EOF probe.

    A regular file known to hold less than a chunk is read in one SQE instead: a
    whole pooled chunk, whose short result is the end of the file (as in
    :class:`_ReadFile`); a full chunk goes on the exact-size way.  A big one is read
    by :meth:`split`: concurrent reads at explicit offsets into one buffer, then the
    position is set past what they read and the EOF probe goes on as above.
    """

    __slots__ = ("fd", "parts", "main", "main_n", "probe", "got", "name", "pos", "spans",
                 "left")

    def start(self, size: int, small: bool = False) -> None:
        self.parts: list[bytes] = []
        self.got = 0
        self.left = 0
        self.probe: Any = None
        if small:
            be = self.be
            self.probe = buf = be.take_buffer()
            be.handlers[self.id] = self
            be.reserve(1)
            be.ring.prep(_uring.OP_READ, self.id << 2 | 2, self.fd, buf[1], CHUNK, U64_MAX)
            self.keep = [buf]
        else:
            self._issue(size)

    def split(self, size: int, pos: int, parts: int) -> None:
        """Read ``size`` bytes at ``pos`` as ``parts`` (<= 4) concurrent reads.

        They are pread-style (the position does not move) and fill one fresh buffer;
        part ``i`` carries tag ``i``.  :meth:`_split_done` runs when all have completed.
        """
        be = self.be
        self.parts = []
        self.probe = None
        size = min(size, parts * _MAX_PART)
        self.main, addr = new_bytes(size)
        self.main_n = size
        self.pos = pos
        step = max((-(-size // parts) + 0xFFFF) & ~0xFFFF, 0x10000)  # 64 KiB-aligned offsets
        self.spans = spans = [[off, min(step, size - off), 0] for off in range(0, size, step)]
        self.left = len(spans)
        be.handlers[self.id] = self
        be.reserve(len(spans))
        ud = self.id << 2
        prep = be.ring.prep
        # Parts 1.. go to io-wq first; part 0 is read inline by the submitting thread
        # meanwhile (io-wq wakes one idle worker for work queued back to back, so the
        # parts forced there would run one after the other).
        for tag in range(len(spans) - 1, -1, -1):
            off, n, _res = spans[tag]
            prep(_uring.OP_READ, ud | tag, self.fd, addr + off, n, pos + off, 0,
                 IOSQE_ASYNC if tag else 0)
        self.keep = [self.main]

    def _split_done(self) -> None:
        """Every part completed: ``spans[i]`` is ``[offset, length, result]`` of part ``i``."""
        main, self.main = self.main, None
        if self.fut.done():  # cancelled: nothing more is read, the position stays
            self.finish()
            return
        got = 0
        for off, n, res in self.spans:  # keep the contiguous prefix (the file may shrink)
            if res < 0:
                self.finish(exc=_oserror(res))
                return
            got = off + res
            if res < n:
                break
        self.parts.append(main if got == self.main_n else main[:got])
        try:
            os.lseek(self.fd, self.pos + got, os.SEEK_SET)
        except OSError as exc:
            self.finish(exc=exc)
            return
        # The file may have grown (probe) or the read come up short (read on, as _issue's).
        self._issue(0 if got == self.main_n else CHUNK)

    def _issue(self, size: int) -> None:
        be = self.be
        if self.probe is None:
            self.probe = be.take_buffer()  # pooled; given back by finish()
        be.handlers[self.id] = self
        ud = self.id << 2
        prep = be.ring.prep
        self.got = -1  # the main read's result, once it comes
        if size >= 2:
            size = min(size, _MAX_RW)
            self.main, addr = new_bytes(size)
            self.main_n = size
            be.reserve(2)
            prep(_uring.OP_READ, ud, self.fd, addr, size, U64_MAX, 0, IOSQE_IO_LINK)
        else:
            self.main = None
            be.reserve(1)
        prep(_uring.OP_READ, ud | 1, self.fd, self.probe[1], PROBE, U64_MAX)
        self.keep = [self.main, self.probe]

    def finish(self, result: Any = None, exc: BaseException | None = None) -> None:
        probe, self.probe = self.probe, None
        self.be.give_buffer(probe)
        super().finish(result, exc)

    def on_cqe(self, tag: int, res: int) -> None:
        if self.left:  # a part of a split read
            self.spans[tag][2] = res
            self.left -= 1
            if not self.left:
                self._split_done()
            return
        if tag == 2:  # the single chunk read of a small file
            if res < 0:
                self.finish(exc=_oserror(res))
            elif res < CHUNK:
                self.finish(self.probe[0][:res].tobytes())
            else:
                self.parts.append(self.probe[0].tobytes())
                self._issue(4 * CHUNK)
            return
        if tag == 0:
            if res < 0:
                self.exc = _oserror(res)
            elif res < self.main_n:  # shrank, or short: the probe is cancelled
                self.parts.append(self.main[:res])
            else:
                self.parts.append(self.main)
            self.main = None
            self.got = res
            return
        if self.exc is not None:
            exc, self.exc = self.exc, None
            self.finish(exc=exc)
            return
        if res == -_errno.ECANCELED and self.got != 0 and not self.fut.done():
            self._issue(CHUNK)  # the main read was short: read on
            return
        if res < 0 and res != -_errno.ECANCELED:
            self.finish(exc=_oserror(res))
            return
        if res <= 0:  # EOF (the probe's or a main read's 0), or the task was cancelled
            parts = self.parts
            self.finish(parts[0] if len(parts) == 1 else b"".join(parts))
            return
        self.parts.append(self.probe[0][:res].tobytes())
        self._issue(CHUNK if res < PROBE else 4 * CHUNK)


class _Retry(Exception):
    """The kernel ignored the direct-descriptor request (pre-5.15): use plain fds."""


class _ReadFile(_Op):
    """open + read + close of a small file as one linked chain on a direct descriptor.

    ``openat`` (into a direct-descriptor slot) -> ``read`` of up to CHUNK bytes ->
    ``close`` (hard-linked, so it runs even when the read fails).  A file that
    fills the chunk is read again by :meth:`RingBackend.read_file` on a plain
    descriptor, straight into an exact-size buffer.  The ``openat`` posts a
    completion only when it fails (``IOSQE_CQE_SKIP_SUCCESS``, where the kernel
    has it); the ``close`` always comes last and ends the operation.
    """

    __slots__ = ("name", "path", "slot", "buf", "data", "error")

    def start(self, path: Any) -> None:
        be = self.be
        self.name = path
        self.path = p = _cstr(path)
        self.slot = slot = be.slots.pop()
        self.buf = buf = be.take_buffer()
        self.data: Any = None
        self.error: BaseException | None = None
        be.reserve(3)
        be.handlers[self.id] = self
        be.ring.prep_chain(self.id << 2, _uring.OP_READ, _addr(p), os.O_RDONLY, 0, slot, buf[1],
                           CHUNK, 0, be.skip)
        self.keep = [p, buf]

    def on_cqe(self, tag: int, res: int) -> None:
        if tag == 1:
            if self.error is None:
                if res < 0:  # EISDIR is open()'s error in the sync call: it names the file
                    self.error = _oserror(res, self.name if res == -_errno.EISDIR else None)
                elif res < CHUNK:
                    self.data = self.buf[0][:res].tobytes()
                else:
                    self.error = _Retry()  # bigger than a chunk: read it on a plain fd
        elif tag == 0:
            if res > 0:  # a plain fd: this kernel has no direct descriptors
                _close_fd(res)
                self.be.direct = False
                self.error = _Retry()
            elif res < 0:
                self.error = _oserror(res, self.name)
                if self.be.skip:
                    # A failed CQE_SKIP_SUCCESS head: the read and close were cancelled
                    # unexecuted and post nothing, so this is the last completion.
                    self._done()
        else:  # the close, last of the chain
            self._done()

    def _done(self) -> None:
        be = self.be
        be.slots.append(self.slot)
        buf, self.buf = self.buf, None
        be.give_buffer(buf)
        if self.error is not None:
            self.finish(exc=self.error)
        else:
            self.finish(self.data)


class _WriteFile(_Op):
    """open + write + close through a direct descriptor, as one linked chain."""

    __slots__ = ("name", "path", "slot", "data", "flags", "written", "error", "opened")

    def start(self, path: Any, data: bytes, flags: int) -> None:
        be = self.be
        self.name = path
        self.path = _cstr(path)
        self.slot = be.slots.pop()
        self.data = data
        self.flags = flags
        self.written = 0
        self.error: BaseException | None = None
        self.opened = False
        be.reserve(3)
        be.handlers[self.id] = self
        off = U64_MAX if flags & os.O_APPEND else 0
        be.ring.prep_chain(self.id << 2, _uring.OP_WRITE, _addr(self.path), flags, 0o666,
                           self.slot, _addr(data) if data else 0, min(len(data), _MAX_RW), off,
                           be.skip)
        self.keep = [self.path, data]

    def on_cqe(self, tag: int, res: int) -> None:
        if tag == 0:  # with CQE_SKIP_SUCCESS, only a failed open reports
            if res < 0:
                self.error = _oserror(res, self.name)
                if self.be.skip:  # ... and its cancelled write and close post nothing
                    self.be.slots.append(self.slot)
                    self.finish(exc=self.error)
            else:
                self.opened = True
            return
        if tag == 1:
            if self.error is None:
                if res < 0:  # like os.write: no file name in the error
                    self.error = _oserror(res)
                else:
                    self.written = res
            return
        # tag 2: close (or its cancellation when the open failed), always last
        self.be.slots.append(self.slot)
        if self.error is None and res < 0 and res != -_errno.ECANCELED:
            self.error = _oserror(res, self.name)
        if self.error is not None:
            self.finish(exc=self.error)
        elif self.written < len(self.data):
            self.finish(("short", self.written))
        else:
            self.finish(self.written)


class RingBackend:
    """Files on io_uring for one loop (see the module docstring)."""

    name = "io_uring"

    def __init__(self, loop: asyncio.AbstractEventLoop, entries: int = 256) -> None:
        self.loop = loop
        self.ring = ring = _uring.Ring(entries, files=entries)
        self.ops = ring.ops
        try:
            self.efd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            ring.register_eventfd(self.efd)
            loop.add_reader(self.efd, self._on_eventfd)
        except BaseException:
            ring.close()
            raise
        self.direct = ring.files > 0
        self.slots = list(range(ring.files - 1, -1, -1))
        # Operations with SQEs in the kernel, by id (user_data = id << 2 | tag); id 0 is
        # never registered: cancellation requests carry it.
        self.handlers: dict[int, _Op] = {}
        self._next = 1
        self._scheduled = False
        # A linked chain's openat posts no completion when it succeeds (kernel 5.17+).
        self.skip = _uring.IOSQE_CQE_SKIP_SUCCESS if ring.features & _uring.FEAT_CQE_SKIP else 0
        # Submissions are gathered per loop iteration: the first staged operation
        # schedules one flush (call_soon); a full SQ is flushed at once.
        # VIF_FILES_URING_BATCH=0 submits each operation as soon as it is staged.
        self.eager = os.environ.get("VIF_FILES_URING_BATCH", "1") == "0"
        # Operations in flight at most (each has up to 3 completions, plus cancellations).
        self._max_ops = (min(ring.cq_entries, 4 * ring.sq_entries) - 8) // 4
        self._room: list[asyncio.Future] = []
        self._buffers: list[tuple[memoryview, int]] = []
        self.closed = False

    # -- plumbing ---------------------------------------------------------------------

    def prep(self, op: _Op, tag: int, opcode: int, **kw: int) -> None:
        self.handlers[op.id] = op
        self.ring.prep(opcode, op.id << 2 | tag, **kw)

    def reserve(self, n: int) -> None:
        """Make room for ``n`` consecutive SQEs (a linked chain must go in one submit)."""
        if self.ring.space() < n:
            self.flush(reschedule=False)

    def kick(self) -> None:
        """Staged SQEs go to the kernel once per loop iteration (or now, if eager)."""
        if self.eager:
            self.flush(reschedule=False)
        elif not self._scheduled:
            self._scheduled = True
            self.loop.call_soon(self.flush)

    def flush(self, reschedule: bool = True) -> None:
        if reschedule:
            self._scheduled = False
        if self.closed:
            return
        self.ring.submit()
        self._reap()

    def _on_eventfd(self) -> None:
        try:
            os.read(self.efd, 8)
        except BlockingIOError:
            pass
        self._reap()

    def _reap(self) -> None:
        get = self.handlers.get
        ring = self.ring
        while True:
            cqes = ring.reap()
            if not cqes:
                if ring.pending:  # follow-up SQEs staged by the handlers below
                    ring.submit()
                    continue
                break
            for ud, res, _flags in cqes:
                op = get(ud >> 2)
                if op is not None:
                    try:
                        op.on_cqe(ud & 3, res)
                    except BaseException as exc:  # a bug here must not wedge the ring
                        self.loop.call_exception_handler({
                            "message": "vif.files: error handling an io_uring completion",
                            "exception": exc,
                        })
        if self._room and len(self.handlers) < self._max_ops:
            waiters, self._room = self._room, []
            for w in waiters:
                if not w.done():
                    w.set_result(None)

    async def _wait_room(self) -> None:
        while len(self.handlers) >= self._max_ops:
            w = self.loop.create_future()
            self._room.append(w)
            await w

    def _cancel(self, op: _Op) -> None:
        if self.closed:
            return
        base = op.id << 2
        for tag in range(4):  # the op's SQEs still in the kernel (others: ENOENT, ignored)
            self.reserve(1)
            self.ring.prep(_uring.OP_ASYNC_CANCEL, 0, addr=base | tag)
        self.flush(reschedule=False)

    async def _run(self, op: _Op) -> Any:
        self.kick()
        try:
            return await op.fut
        except asyncio.CancelledError:
            await _pool.after_cancel(op, self._cancel)
            raise

    def take_buffer(self) -> tuple[memoryview, int]:
        """A pooled CHUNK-byte buffer and its address."""
        if self._buffers:
            return self._buffers.pop()
        buf = bytearray(CHUNK)
        return memoryview(buf), buffer_address(buf)

    def give_buffer(self, buf: tuple[memoryview, int] | None) -> None:
        if buf is not None and len(self._buffers) < 128:
            self._buffers.append(buf)

    def close(self) -> None:
        """Tear the ring down (the loop is closing); in-flight buffers are kept alive."""
        if self.closed:
            return
        self.closed = True
        if self.ring.pending:  # e.g. closes staged by close_soon(): they must still run
            try:
                self.ring.submit()
            except OSError:
                pass
        if not self.loop.is_closed():
            try:
                self.loop.remove_reader(self.efd)
            except Exception:
                pass
        if self.handlers:
            # Operations still in the kernel (their loop closed under them): closing the
            # ring cancels them, but their buffers must outlive the ring's teardown.
            self._reap()
            if self.handlers:
                _graveyard.append(self.handlers)
        self.ring.close()
        os.close(self.efd)

    # -- operations ---------------------------------------------------------------------

    async def single(self, opcode: int, names: tuple = (), cleanup=None, keep: Any = None,
                     fd: int = 0, addr: int = 0, length: int = 0, off: int = 0,
                     op_flags: int = 0) -> int:
        """One SQE (fields as in :meth:`_uring.Ring.prep`); ``keep``: what it points to."""
        if len(self.handlers) >= self._max_ops:
            await self._wait_room()
        op = _Single(self, names, cleanup)
        if keep is not None:
            op.keep = keep
        self.reserve(1)
        self.handlers[op.id] = op
        self.ring.prep(opcode, op.id << 2, fd, addr, length, off, op_flags)
        return await self._run(op)

    async def openat(self, path: Any, flags: int, mode: int = 0o666) -> int:
        """``os.open(path, flags | O_CLOEXEC, mode)`` (single() inlined: hot)."""
        p = _cstr(path)
        if len(self.handlers) >= self._max_ops:
            await self._wait_room()
        op = _Single(self, (path,), _close_fd)
        op.keep = [p]
        self.reserve(1)
        self.handlers[op.id] = op
        self.ring.prep(_uring.OP_OPENAT, op.id << 2, AT_FDCWD, _addr(p), mode, 0,
                       flags | _O_CLOEXEC)
        return await self._run(op)

    def open_now(self, path: Any, flags: int) -> int:
        """``os.open(path, flags | O_CLOEXEC)`` at once if the kernel can do it
        without waiting (see :func:`vif.files._uring.open_cached`), else -1: then
        :meth:`openat` asks the ring.  Opens that create or truncate always go
        to the ring (io_uring never tries those inline either).
        """
        if flags & _MAY_WRITE_META or not _uring.open_cached_works:
            return -1
        # (openat2 wants mode 0 when nothing is created.)
        fd = _uring.open_cached(_cstr(path), flags | _O_CLOEXEC | _O_NONBLOCK, 0, path)
        if fd >= 0:
            try:  # what io_uring does too: O_NONBLOCK was for the open only
                _fcntl(fd, _F_SETFL, flags & _SETFL_MASK)
            except BaseException:
                os.close(fd)
                raise
        return fd

    def close_fd(self, fd: int) -> Awaitable[int]:
        return self.single(_uring.OP_CLOSE, (), None, None, fd)

    def close_soon(self, fd: int) -> None:
        """Close ``fd`` now, through the ring; nothing is reported back.

        For read-only files, whose ``close(2)`` has nothing to report: the caller
        does not wait a loop iteration for it.  The SQE is submitted at once (with
        whatever else is staged), so the descriptor is gone when the caller returns,
        as after the builtin's close() (a close left for the iteration's batch would
        drop POSIX locks taken on the same file in between).  It carries user_data 0
        (no handler) and, where the kernel has it, posts no completion when it succeeds.
        """
        self.reserve(1)
        self.ring.prep(_uring.OP_CLOSE, 0, fd, flags=self.skip)
        try:
            self.ring.submit()
        except OSError:
            self.kick()  # e.g. EINTR: submitted with the iteration's batch instead

    async def read(self, fd: int, n: int, offset: int = -1) -> bytes:
        if n <= 0:
            return b""
        n = min(n, _MAX_RW)
        if len(self.handlers) >= self._max_ops:
            await self._wait_room()
        op = _Read(self)
        if n >= _BIG:
            op.buf, addr = new_bytes(n)
        else:
            op.buf = bytearray(n)
            addr = buffer_address(op.buf)
        op.n = n
        op.keep = [op.buf]
        self.reserve(1)
        self.prep(op, 0, _uring.OP_READ, fd=fd, addr=addr, length=n, off=offset & U64_MAX)
        return await self._run(op)

    async def readall(self, fd: int, name: Any = None, size: int = -1) -> bytes:
        """Read from the file position to EOF (like ``FileIO.readall``).

        ``size``: the bytes expected (the caller knows size and position of this
        regular file), else -1.  A small file the page cache holds whole is read at
        once, without a ring operation (see :func:`read_cached`).
        """
        known = size >= 0
        head = b""
        if known and size < CHUNK:
            head, eof = read_cached(fd, self)
            if eof:
                return head
            if head:  # the page cache held only part of it: the ring reads the rest
                known, size = False, -1
        pos = -1
        if not known:
            try:
                st = os.fstat(fd)
                pos = os.lseek(fd, 0, os.SEEK_CUR)
                size = st.st_size - pos if st.st_size > pos else 0
            except OSError:
                size = 0
        if len(self.handlers) >= self._max_ops:
            await self._wait_room()
        op = _ReadAll(self)
        op.fd, op.name = fd, name
        if size >= _SPLIT_MIN and _PARTS > 1:
            try:
                if pos < 0:
                    pos = os.lseek(fd, 0, os.SEEK_CUR)
            except OSError:
                pos = -1
            if pos >= 0:
                op.split(size, pos, _PARTS)
                return head + await self._run(op)
        op.start(size, 0 < size < CHUNK and known)
        return head + await self._run(op)  # (b"" + data is data itself, not a copy)

    async def write(self, fd: int, data: bytes, offset: int = -1) -> int:
        """Write all of ``data`` (short writes are continued); returns ``len(data)``."""
        if type(data) is not bytes:
            data = bytes(data)
        total = len(data)
        done = 0
        view = memoryview(data)
        while done < total:
            chunk = data if done == 0 else bytes(view[done:done + _MAX_RW])
            off = offset if offset < 0 else offset + done
            n = await self.single(_uring.OP_WRITE, fd=fd, addr=_addr(chunk),
                                  length=min(len(chunk), _MAX_RW), off=off & U64_MAX,
                                  keep=[chunk])
            if n == 0:
                raise OSError(_errno.EIO, "write returned 0")
            done += n
        return total

    async def read_file(self, path: Any) -> bytes:
        if not self.direct or not self.slots:
            fd = await self.openat(path, os.O_RDONLY)
            try:
                return await self.readall(fd, path)
            finally:
                await _close_quietly(self, fd)
        if len(self.handlers) >= self._max_ops:
            await self._wait_room()
            if not self.slots:
                return await self.read_file(path)
        op = _ReadFile(self)
        op.start(path)
        self.kick()
        try:  # _run's wait, with the _Retry fallback (one coroutine less per file)
            return await op.fut
        except asyncio.CancelledError:
            await _pool.after_cancel(op, self._cancel)
            raise
        except _Retry:
            fd = await self.openat(path, os.O_RDONLY)
            try:
                return await self.readall(fd, path)
            finally:
                await _close_quietly(self, fd)

    async def write_file(self, path: Any, data: bytes, flags: int) -> int:
        if type(data) is not bytes:
            data = bytes(data)
        if self.direct and self.slots and len(data) <= _MAX_RW:
            if len(self.handlers) >= self._max_ops:
                await self._wait_room()
            if self.slots:
                op = _WriteFile(self)
                op.start(path, data, flags)
                res = await self._run(op)
                if type(res) is int:
                    return res
                # short write: continue on a plain descriptor (this surfaces ENOSPC)
                written = res[1]
                fd = await self.openat(path, (flags & ~(os.O_CREAT | os.O_EXCL | os.O_TRUNC)))
                try:
                    await self.write(fd, memoryview(data)[written:].tobytes(),
                                     -1 if flags & os.O_APPEND else written)
                finally:
                    await _close_quietly(self, fd)
                return len(data)
        fd = await self.openat(path, flags)
        try:
            await self.write(fd, data, -1 if flags & os.O_APPEND else 0)
        finally:
            await _close_quietly(self, fd)
        return len(data)

    async def mkdir(self, path: Any, mode: int = 0o777) -> None:
        p = _cstr(path)
        await self.single(_uring.OP_MKDIRAT, (path,), fd=AT_FDCWD, addr=_addr(p), length=mode,
                          keep=[p])

    async def unlink(self, path: Any, rmdir: bool = False) -> None:
        p = _cstr(path)
        await self.single(_uring.OP_UNLINKAT, (path,), fd=AT_FDCWD, addr=_addr(p),
                          op_flags=_uring.AT_REMOVEDIR if rmdir else 0, keep=[p])

    async def rename(self, src: Any, dst: Any, flags: int = 0) -> None:
        s, d = _cstr(src), _cstr(dst)
        await self.single(_uring.OP_RENAMEAT, (src, dst), fd=AT_FDCWD, addr=_addr(s),
                          length=AT_FDCWD & 0xFFFFFFFF, off=_addr(d), op_flags=flags, keep=[s, d])

    async def stat(self, path: Any, follow_symlinks: bool = True) -> os.stat_result:
        """``os.stat(path)`` (``os.lstat`` without ``follow_symlinks``) as a ring ``statx``."""
        p = _cstr(path)
        buf = bytearray(_uring.STATX_SIZE)
        await self.single(_uring.OP_STATX, (path,), None, [p, buf], AT_FDCWD, _addr(p),
                          _uring.STATX_BASIC_STATS, buffer_address(buf),
                          0 if follow_symlinks else _uring.AT_SYMLINK_NOFOLLOW)
        return stat_result(buf)

    async def fsync(self, fd: int, datasync: bool = False) -> None:
        await self.single(_uring.OP_FSYNC, fd=fd, op_flags=1 if datasync else 0)


def stat_result(buf: bytes | bytearray) -> os.stat_result:
    """The ``os.stat_result`` that ``os.stat`` builds, from a ``struct statx``."""
    (_mask, blksize, _attrs, nlink, uid, gid, mode, _spare, ino, size, blocks, _amask,
     a_s, a_ns, _r1, _b_s, _b_ns, _r2, c_s, c_ns, _r3, m_s, m_ns, _r4,
     rdev_major, rdev_minor, dev_major, dev_minor) = _uring.STATX.unpack_from(buf)
    return os.stat_result(
        (mode, ino, os.makedev(dev_major, dev_minor), nlink, uid, gid, size, a_s, m_s, c_s),
        {
            "st_atime": a_s + a_ns * 1e-9,
            "st_mtime": m_s + m_ns * 1e-9,
            "st_ctime": c_s + c_ns * 1e-9,
            "st_atime_ns": a_s * 1_000_000_000 + a_ns,
            "st_mtime_ns": m_s * 1_000_000_000 + m_ns,
            "st_ctime_ns": c_s * 1_000_000_000 + c_ns,
            "st_blksize": blksize,
            "st_blocks": blocks,
            "st_rdev": os.makedev(rdev_major, rdev_minor),
        },
    )


_graveyard: list = []  # operations whose buffers must outlive a ring we could not drain


def _close_fd(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


async def _close_quietly(be: RingBackend, fd: int) -> None:
    try:
        await be.close_fd(fd)
    except OSError:
        pass
