"""Choosing the files backend and finding the one for the running loop.

Owns :func:`backend` (the name chosen at first use), :func:`for_loop` (the
per-loop backend object) and :class:`ThreadBackend`, the portable backend: every
operation is one hop to the files pool (:mod:`vif.files._pool`).
``VIF_FILES_BACKEND`` = ``threads`` | ``io_uring`` | ``auto`` (default) picks;
``auto`` uses io_uring when a test ring can be set up, and threads otherwise,
silently (ENOSYS, EPERM under seccomp, ``kernel.io_uring_disabled``).
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from typing import Any

from . import _pool

_NEEDED_OPS = frozenset({18, 19, 22, 23, 14})  # openat close read write async_cancel


def _read_file(path: Any) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _write_file(path: Any, data: bytes, flags: int) -> int:
    fd = os.open(path, flags | os.O_CLOEXEC, 0o666)
    try:
        view = memoryview(data)
        done, total = 0, len(data)
        while done < total:
            done += os.write(fd, view[done:])
        return total
    finally:
        os.close(fd)


class ThreadBackend:
    """Every operation is one hop to the dedicated files pool."""

    name = "threads"
    closed = False

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop

    async def read_file(self, path: Any) -> bytes:
        return await _pool.run(_read_file, path)

    async def write_file(self, path: Any, data: bytes, flags: int) -> int:
        return await _pool.run(_write_file, path, data, flags)

    async def mkdir(self, path: Any, mode: int = 0o777) -> None:
        await _pool.run(os.mkdir, path, mode)

    async def unlink(self, path: Any, rmdir: bool = False) -> None:
        await _pool.run(os.rmdir if rmdir else os.unlink, path)

    async def rename(self, src: Any, dst: Any, flags: int = 0) -> None:
        await _pool.run(os.rename, src, dst)

    def close(self) -> None:
        pass


_THREADS = ThreadBackend()
_choice: str | None = None
_lock = threading.Lock()
_per_loop: dict[int, tuple[weakref.ref, Any]] = {}


def _probe_uring() -> bool:
    from . import _uring

    if not _uring.arch_supported():
        return False
    try:
        ring = _uring.Ring(8, files=8)
    except (OSError, ValueError, AttributeError):
        return False
    try:
        return _NEEDED_OPS <= ring.ops and _uring.BYTES_OFFSET >= 0 and hasattr(os, "eventfd")
    finally:
        ring.close()


def backend() -> str:
    """``"io_uring"`` or ``"threads"``: the backend the files API uses in this process."""
    global _choice
    if _choice is None:
        with _lock:
            if _choice is None:
                want = os.environ.get("VIF_FILES_BACKEND", "auto").strip().lower() or "auto"
                if want not in ("auto", "threads", "io_uring"):
                    raise ValueError(f"VIF_FILES_BACKEND={want!r}: use threads, io_uring or auto")
                if want == "threads":
                    _choice = "threads"
                else:
                    ok = _probe_uring()
                    if want == "io_uring" and not ok:
                        raise OSError("VIF_FILES_BACKEND=io_uring but io_uring is unavailable")
                    _choice = "io_uring" if ok else "threads"
    return _choice


def set_backend(name: str | None) -> None:
    """Force ``"threads"`` or ``"io_uring"`` (tests); None re-runs the automatic choice."""
    global _choice
    with _lock:
        if name == "io_uring" and not _probe_uring():
            raise OSError("io_uring is unavailable")
        _choice = name
        for _ref, be in list(_per_loop.values()):
            be.close()
        _per_loop.clear()


def _sweep() -> None:
    for key, (ref, be) in list(_per_loop.items()):
        loop = ref()
        if loop is None or loop.is_closed():
            be.close()
            del _per_loop[key]


def for_loop(loop: asyncio.AbstractEventLoop | None = None) -> Any:
    """The backend object serving ``loop`` (default: the running loop)."""
    if loop is None:
        loop = asyncio.get_running_loop()
    entry = _per_loop.get(id(loop))
    if entry is not None and entry[0]() is loop:
        be = entry[1]
        if not be.closed:
            return be
    if (_choice or backend()) == "threads":
        return _THREADS
    _sweep()
    from ._ringloop import RingBackend

    try:
        be = RingBackend(loop)
    except (OSError, NotImplementedError, RuntimeError):
        be = _THREADS  # e.g. RLIMIT_MEMLOCK or a loop without add_reader: fall back
    _per_loop[id(loop)] = (weakref.ref(loop), be)
    return be
