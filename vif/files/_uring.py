"""A minimal io_uring ring over raw syscalls (ctypes + mmap), no liburing needed.

Owns the kernel interface only: ``io_uring_setup``/``enter``/``register``, the
mmapped SQ/CQ rings and SQE array, SQE encoding (:func:`encode_sqe`), CQE
decoding, opcode probing, a sparse table of direct descriptors and eventfd
registration; and :func:`open_cached`, the ``openat2`` that only succeeds without
waiting (io_uring's inline attempt, made directly).  Scheduling (futures,
loops) lives in :mod:`vif.files._ringloop`.

Only x86_64 is enabled by default: the ring indices are shared with the kernel
and this module relies on x86's ordered stores and loads instead of explicit
memory barriers (``VIF_FILES_URING_ANYARCH=1`` lifts the check).
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import platform
import struct

# Syscall numbers (identical on x86_64 and aarch64 since these calls are recent).
SYS_SETUP, SYS_ENTER, SYS_REGISTER = 425, 426, 427

# Opcodes (include/uapi/linux/io_uring.h).
OP_NOP = 0
OP_FSYNC = 3
OP_ASYNC_CANCEL = 14
OP_OPENAT = 18
OP_CLOSE = 19
OP_STATX = 21
OP_READ = 22
OP_WRITE = 23
OP_RENAMEAT = 35
OP_UNLINKAT = 36
OP_MKDIRAT = 37

# SQE flags.
IOSQE_FIXED_FILE = 1 << 0
IOSQE_IO_LINK = 1 << 2
IOSQE_IO_HARDLINK = 1 << 3
IOSQE_ASYNC = 1 << 4
IOSQE_CQE_SKIP_SUCCESS = 1 << 6

# io_uring_enter flags, register opcodes, features, mmap offsets.
ENTER_GETEVENTS = 1
REGISTER_FILES = 2
REGISTER_EVENTFD = 4
REGISTER_EVENTFD_ASYNC = 7
REGISTER_PROBE = 8
REGISTER_FILES2 = 13
RSRC_REGISTER_SPARSE = 1
FEAT_SINGLE_MMAP = 1 << 0
FEAT_NODROP = 1 << 1
FEAT_CQE_SKIP = 1 << 11
OFF_SQ_RING = 0
OFF_CQ_RING = 0x8000000
OFF_SQES = 0x10000000

AT_FDCWD = -100
AT_REMOVEDIR = 0x200
U64_MAX = (1 << 64) - 1  # "current file position" as an offset

SQE = struct.Struct("<BBHiQQIIQHHiQQ")
# struct statx: mask, blksize, attributes, nlink, uid, gid, mode, spare, ino, size, blocks,
# attributes_mask, then atime, btime, ctime, mtime (sec, nsec, reserved), then rdev and dev
# (major, minor); 256 bytes in all.
STATX = struct.Struct("<IIQIIIHHQQQQ" + "qIi" * 4 + "IIII")
STATX_SIZE = 256
STATX_BASIC_STATS = 0x7FF
AT_SYMLINK_NOFOLLOW = 0x100
SQE3 = struct.Struct("<" + "BBHiQQIIQHHiQQ" * 3)  # a linked chain of three, in one call
CQE = struct.Struct("<QiI")
PARAMS = struct.Struct("<IIIIIII12x" + "IIIIIIIIQ" + "IIIIIIIIQ")
assert SQE.size == 64 and CQE.size == 16 and PARAMS.size == 120

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long


def encode_sqe(opcode: int, *, flags: int = 0, fd: int = 0, off: int = 0, addr: int = 0,
               length: int = 0, op_flags: int = 0, user_data: int = 0,
               file_index: int = 0, addr3: int = 0) -> bytes:
    """The 64 bytes of one submission queue entry (for tests and one-off uses)."""
    return SQE.pack(opcode, flags, 0, fd, off & U64_MAX, addr, length, op_flags & 0xFFFFFFFF,
                    user_data, 0, 0, file_index, addr3, 0)


def _check(ret: int) -> int:
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return ret


def setup(entries: int, params: ctypes.Array) -> int:
    return _check(_syscall(SYS_SETUP, ctypes.c_uint(entries), params))


def enter(fd: int, to_submit: int, min_complete: int, flags: int) -> int:
    while True:
        ret = _syscall(SYS_ENTER, ctypes.c_int(fd), ctypes.c_uint(to_submit),
                       ctypes.c_uint(min_complete), ctypes.c_uint(flags), None, ctypes.c_size_t(0))
        if ret >= 0:
            return ret
        err = ctypes.get_errno()
        if err != errno.EINTR:
            raise OSError(err, os.strerror(err))


SYS_OPENAT2 = 437  # the same on x86_64 and aarch64
RESOLVE_CACHED = 0x20  # openat2: fail with EAGAIN unless the lookup needs no I/O (5.12+)
_OPEN_HOW = struct.Struct("<QQQ")  # struct open_how: flags, mode, resolve
# Errors after which the ring's openat is asked instead: the lookup isn't cached
# (EAGAIN), or this kernel / sandbox has no such openat2 (ENOSYS, EINVAL for an
# unknown resolve flag, EPERM from a seccomp filter).  The ring then gives the
# real answer, if there is an error to give.
_ASK_THE_RING = frozenset({errno.EAGAIN, errno.ENOSYS, errno.EINVAL, errno.EPERM,
                           errno.EOPNOTSUPP})
open_cached_works = True  # cleared once openat2 turns out to be missing
_C_AT_FDCWD = ctypes.c_int(AT_FDCWD)
_C_HOW_SIZE = ctypes.c_size_t(_OPEN_HOW.size)


def open_cached(path: bytes, flags: int, mode: int, filename: object = None) -> int:
    """``openat2(AT_FDCWD, path, flags, mode)`` limited to the dentry cache.

    ``path`` is NUL-terminated.  This is the attempt io_uring makes inline for an
    ``openat`` (``RESOLVE_CACHED``; the caller passes ``O_NONBLOCK`` as io_uring
    does, so that a FIFO is not waited for): it never waits for the disk.  Returns
    the fd, or -1 when the ring must do the open; raises OSError (naming
    ``filename``) for errors the open itself reports (ENOENT, EACCES, ...).
    """
    global open_cached_works
    how = _OPEN_HOW.pack(flags, mode, RESOLVE_CACHED)
    fd = _syscall(SYS_OPENAT2, _C_AT_FDCWD, path, how, _C_HOW_SIZE)
    if fd >= 0:
        return fd
    err = ctypes.get_errno()
    if err in _ASK_THE_RING:
        if err == errno.ENOSYS:
            open_cached_works = False
        return -1
    raise OSError(err, os.strerror(err), filename)


def register(fd: int, opcode: int, arg: object, nr: int) -> int:
    return _check(_syscall(SYS_REGISTER, ctypes.c_int(fd), ctypes.c_uint(opcode), arg,
                           ctypes.c_uint(nr)))


def arch_supported() -> bool:
    return platform.machine() in ("x86_64", "AMD64") or bool(
        os.environ.get("VIF_FILES_URING_ANYARCH"))


class Ring:
    """One io_uring instance: SQEs are staged by :meth:`prep`, sent by :meth:`submit`."""

    def __init__(self, entries: int = 256, files: int = 256) -> None:
        if not arch_supported():
            raise OSError(errno.ENOSYS, "io_uring support is enabled on x86_64 only")
        params = ctypes.create_string_buffer(PARAMS.size)
        self.fd = setup(entries, params)
        self._maps: list[mmap.mmap] = []
        try:
            self._map(PARAMS.unpack(params.raw))
            self.ops = self._probe()
            self.files = self._register_files(files)
        except BaseException:
            self.close()
            raise
        self.pending = 0  # SQEs staged, not yet submitted

    def _map(self, p: tuple) -> None:
        sq_entries, cq_entries, _flags, _cpu, _idle, features, _wq = p[:7]
        (sq_head, sq_tail, sq_mask, _sq_n, _sq_flags, sq_dropped, sq_array, _r1, _ua1) = p[7:16]
        (cq_head, cq_tail, cq_mask, _cq_n, _overflow, cqes, _cq_flags, _r2, _ua2) = p[16:25]
        self.features = features
        self.sq_entries, self.cq_entries = sq_entries, cq_entries
        sq_size = sq_array + sq_entries * 4
        cq_size = cqes + cq_entries * CQE.size
        prot = mmap.PROT_READ | mmap.PROT_WRITE
        if features & FEAT_SINGLE_MMAP:
            sq = cq = mmap.mmap(self.fd, max(sq_size, cq_size), mmap.MAP_SHARED, prot,
                                offset=OFF_SQ_RING)
            self._maps.append(sq)
        else:
            sq = mmap.mmap(self.fd, sq_size, mmap.MAP_SHARED, prot, offset=OFF_SQ_RING)
            self._maps.append(sq)
            cq = mmap.mmap(self.fd, cq_size, mmap.MAP_SHARED, prot, offset=OFF_CQ_RING)
            self._maps.append(cq)
        sqes = mmap.mmap(self.fd, sq_entries * SQE.size, mmap.MAP_SHARED, prot, offset=OFF_SQES)
        self._maps.append(sqes)
        self._sq, self._cq, self._sqes = sq, cq, sqes
        self._sq32 = memoryview(sq).cast("I")
        self._cq32 = memoryview(cq).cast("I")
        self._cqb = memoryview(cq)
        self._sq_head, self._sq_tail = sq_head // 4, sq_tail // 4
        self._sq_mask = self._sq32[sq_mask // 4]
        self._sq_dropped = sq_dropped // 4
        self._cq_head, self._cq_tail = cq_head // 4, cq_tail // 4
        self._cq_mask = self._cq32[cq_mask // 4]
        self._cqes = cqes
        # Identity SQ array: slot i of the ring always points at SQE i.
        array = sq_array // 4
        for i in range(sq_entries):
            self._sq32[array + i] = i
        self._tail = self._sq32[self._sq_tail]

    def _probe(self) -> frozenset[int]:
        n = 256
        buf = ctypes.create_string_buffer(16 + 8 * n)
        try:
            register(self.fd, REGISTER_PROBE, buf, n)
        except OSError:
            return frozenset()
        last = buf.raw[0]
        ops = set()
        for i in range(min(n, last + 1)):
            op, _r, flags = struct.unpack_from("<BBH", buf.raw, 16 + 8 * i)
            if flags & 1:
                ops.add(op)
        return frozenset(ops)

    def _register_files(self, n: int) -> int:
        """Reserve ``n`` direct-descriptor slots (sparse); 0 if the kernel can't."""
        reg = ctypes.create_string_buffer(struct.pack("<IIQQQ", n, RSRC_REGISTER_SPARSE, 0, 0, 0))
        try:
            register(self.fd, REGISTER_FILES2, reg, len(reg.raw))
            return n
        except OSError:
            pass
        fds = (ctypes.c_int * n)(*([-1] * n))
        try:
            register(self.fd, REGISTER_FILES, fds, n)
            return n
        except OSError:
            return 0

    def register_eventfd(self, efd: int, async_only: bool = False) -> None:
        """Signal ``efd`` on completions.

        ``async_only`` (IORING_REGISTER_EVENTFD_ASYNC) is not used by the backend: it
        misses completions posted through task_work, which would hang the waiter.
        """
        arg = ctypes.byref(ctypes.c_int(efd))
        if async_only:
            try:
                register(self.fd, REGISTER_EVENTFD_ASYNC, arg, 1)
                return
            except OSError:
                pass
        register(self.fd, REGISTER_EVENTFD, arg, 1)

    def space(self) -> int:
        """Free SQ slots."""
        return self.sq_entries - (self._tail - self._sq32[self._sq_head])

    def prep(self, opcode: int, user_data: int, fd: int = 0, addr: int = 0, length: int = 0,
             off: int = 0, op_flags: int = 0, flags: int = 0, file_index: int = 0,
             addr3: int = 0) -> None:
        """Stage one SQE (the caller checks :meth:`space` first)."""
        tail = self._tail
        SQE.pack_into(self._sqes, (tail & self._sq_mask) * 64, opcode, flags, 0, fd,
                      off & U64_MAX, addr, length, op_flags, user_data, 0, 0, file_index,
                      addr3, 0)
        self._tail = (tail + 1) & 0xFFFFFFFF
        self.pending += 1

    def prep_chain(self, user_data: int, rw_op: int, path_addr: int, open_flags: int,
                   mode: int, slot: int, buf_addr: int, length: int, off: int,
                   open_sqe_flags: int = 0) -> None:
        """Stage ``openat`` into direct slot ``slot`` -> ``rw_op`` on it -> ``close``, linked.

        Their user_data are ``user_data`` + 0, 1, 2; the read/write is hard-linked to
        the close, so the slot is emptied whatever happens.  The caller reserved 3 SQEs.
        """
        tail = self._tail
        i = tail & self._sq_mask
        if i + 3 > self.sq_entries:  # the chain wraps around the SQE array
            self.prep(OP_OPENAT, user_data, AT_FDCWD, path_addr, mode, 0, open_flags,
                      IOSQE_IO_LINK | open_sqe_flags, slot + 1)
            self.prep(rw_op, user_data + 1, slot, buf_addr, length, off, 0,
                      IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK)
            self.prep(OP_CLOSE, user_data + 2, file_index=slot + 1)
            return
        SQE3.pack_into(
            self._sqes, i * 64,
            OP_OPENAT, IOSQE_IO_LINK | open_sqe_flags, 0, AT_FDCWD, 0, path_addr, mode,
            open_flags, user_data, 0, 0, slot + 1, 0, 0,
            rw_op, IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK, 0, slot, off, buf_addr, length, 0,
            user_data + 1, 0, 0, 0, 0, 0,
            OP_CLOSE, 0, 0, 0, 0, 0, 0, 0, user_data + 2, 0, 0, slot + 1, 0, 0)
        self._tail = (tail + 3) & 0xFFFFFFFF
        self.pending += 3

    def submit(self, wait: int = 0) -> int:
        """Publish staged SQEs to the kernel; returns how many it consumed."""
        n = self.pending
        if not n and not wait:
            return 0
        self._sq32[self._sq_tail] = self._tail
        done = enter(self.fd, n, wait, ENTER_GETEVENTS if wait else 0)
        self.pending = 0
        return done

    def reap(self) -> list[tuple[int, int, int]]:
        """Every available completion as ``(user_data, res, flags)``."""
        cq32 = self._cq32
        head = cq32[self._cq_head]
        tail = cq32[self._cq_tail]
        if head == tail:
            return []
        mask = self._cq_mask
        n = (tail - head) & 0xFFFFFFFF
        first = head & mask
        start = self._cqes + first * 16
        cqb = self._cqb
        if first + n <= mask + 1:
            out = list(CQE.iter_unpack(cqb[start:start + n * 16]))
        else:
            k = mask + 1 - first
            out = list(CQE.iter_unpack(cqb[start:start + k * 16]))
            out += CQE.iter_unpack(cqb[self._cqes:self._cqes + (n - k) * 16])
        cq32[self._cq_head] = tail
        return out

    def close(self) -> None:
        for name in ("_sq32", "_cq32", "_cqb"):
            mv = getattr(self, name, None)
            if mv is not None:
                mv.release()
                setattr(self, name, None)
        for m in self._maps:
            m.close()
        self._maps = []
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def buffer_address(buf: bytearray | memoryview) -> int:
    """Address of a writable buffer (the caller keeps ``buf`` alive while the kernel uses it)."""
    return ctypes.addressof(ctypes.c_char.from_buffer(buf))


def _bytes_offset() -> int:
    """Offset of the data inside a ``bytes`` object, verified; -1 if it can't be trusted."""
    try:
        probe = bytes(range(256)) * 4
        off = bytes.__basicsize__ - 1
        if ctypes.string_at(id(probe) + off, len(probe)) == probe:
            return off
    except Exception:
        pass
    return -1


BYTES_OFFSET = _bytes_offset()


_uninit_bytes = ctypes.pythonapi.PyBytes_FromStringAndSize
_uninit_bytes.restype = ctypes.py_object
_uninit_bytes.argtypes = (ctypes.c_void_p, ctypes.c_ssize_t)


def new_bytes(n: int) -> tuple[bytes, int]:
    """A fresh ``bytes`` of ``n`` bytes and the address of its data, for the kernel to fill.

    This is what CPython's own ``read()`` does (allocate uninitialised, then read into
    the object) and saves a copy of large reads; only for fresh objects nobody else has
    seen.  Callers hand out the object only when the kernel filled all of it, else a
    copy of the part it filled.
    """
    if BYTES_OFFSET < 0 or n < 2:
        raise ValueError("in-place bytes not available")
    b = _uninit_bytes(None, n)
    return b, id(b) + BYTES_OFFSET
