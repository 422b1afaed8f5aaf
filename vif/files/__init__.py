"""Async files: ``vif.open``, the one-operation helpers and async stdin/stdout/stderr.

Owns the public API of the files feature (aiofiles' names and behaviour where
aiofiles has them): :func:`open` (awaitable and an async context manager),
:func:`read_bytes`, :func:`read_text`, :func:`write_bytes`, :func:`write_text`,
:data:`stdin`, :data:`stdout`, :data:`stderr` and :func:`backend`.  It works on any
asyncio loop.  Backends: io_uring where the kernel allows it (one ring per loop,
see :mod:`vif.files._ringloop`), else a dedicated thread pool
(:mod:`vif.files._pool`); ``VIF_FILES_BACKEND=threads`` forces the latter.
"""

from __future__ import annotations

import asyncio
import io
import locale
import os
import stat
import sys
from collections.abc import Awaitable, Callable, Generator
from typing import Any

from . import _modes, _pool
from ._backend import backend, for_loop
from ._file import (
    AsyncBase,
    AsyncBufferedIOBase,
    AsyncFileIO,
    AsyncTextIOWrapper,
    decode_text,
    lazy_reader,
    wrap,
)

__all__ = [
    "AsyncBufferedIOBase",
    "AsyncFileIO",
    "AsyncTextIOWrapper",
    "backend",
    "open",
    "read_bytes",
    "read_text",
    "stderr",
    "stderr_bytes",
    "stdin",
    "stdin_bytes",
    "stdout",
    "stdout_bytes",
    "write_bytes",
    "write_text",
]

_io_open = io.open


class _OpenContext:
    """What :func:`open` returns: ``await`` it, or use it as ``async with``."""

    __slots__ = ("_coro", "_obj")

    def __await__(self) -> Generator[Any, None, AsyncBase]:
        return self._coro.__await__()

    def __aenter__(self) -> Awaitable[AsyncBase]:
        # The open itself: _open() leaves the file in _obj for __aexit__ (one coroutine
        # less per ``async with`` than awaiting it in an ``async def __aenter__``).
        return self._coro

    def __aexit__(self, *exc: object) -> Awaitable[None]:
        obj, self._obj = self._obj, None
        return obj.close() if obj is not None else _nothing()

    def close(self) -> None:
        """Discard the pending open if it was never awaited."""
        close = getattr(self._coro, "close", None)
        if close is not None:
            close()


def open(  # noqa: A001 - aiofiles' name
    file: Any,
    mode: str = "r",
    buffering: int = -1,
    encoding: str | None = None,
    errors: str | None = None,
    newline: str | None = None,
    closefd: bool = True,
    opener: Callable[[str, int], int] | None = None,
) -> _OpenContext:
    """Open ``file`` like the builtin ``open()``; ``await`` it or ``async with`` it."""
    ctx = _OpenContext()
    ctx._obj = None
    ctx._coro = _open(ctx, file, mode, buffering, encoding, errors, newline, closefd, opener)
    return ctx


async def _nothing() -> None:
    pass


def _close_file(f: Any) -> None:
    try:
        f.close()
    except Exception:
        pass


def _open_in_pool(*args: Any) -> tuple[Any, bool]:
    """The builtin ``open(*args)`` (in the pool) and whether it is a regular file."""
    f = _io_open(*args)
    try:
        regular = stat.S_ISREG(os.fstat(f.fileno()).st_mode)
    except Exception:
        regular = False
    return f, regular


def _close_opened(opened: tuple[Any, bool]) -> None:
    _close_file(opened[0])


async def _open(ctx: _OpenContext, file: Any, mode: str, buffering: int, encoding: str | None,
                errors: str | None, newline: str | None, closefd: bool, opener: Any) -> AsyncBase:
    flags = _modes.check(file, mode, buffering, encoding, errors, newline)
    be = for_loop()
    if be.name != "io_uring" or isinstance(file, int) or opener is not None or not closefd:
        obj = await _open_with_pool(file, mode, buffering, encoding, errors, newline, closefd,
                                    opener)
        ctx._obj = obj
        return obj
    name = os.fspath(file)
    fd = be.open_now(name, flags)  # no wait when the kernel's caches have the path
    if fd < 0:
        fd = await be.openat(name, flags)
    try:
        st = os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise
    st_mode = st.st_mode
    if stat.S_ISFIFO(st_mode) and flags & os.O_ACCMODE == os.O_RDONLY:
        # Both ways open a FIFO's read end without waiting for a writer (io_uring's
        # inline attempt adds O_NONBLOCK, as open_now does); the builtin waits.  Wait
        # here, keeping the descriptor: what a writer leaves in the FIFO lives only as
        # long as some descriptor holds it.  (A write end was opened in the kernel's
        # worker, which waited for a reader: O_CREAT/O_TRUNC are never tried inline.)
        try:
            await _writer_seen(fd)
        except BaseException:
            os.close(fd)
            raise
    regular = stat.S_ISREG(st_mode)
    if regular and mode == "rb" and buffering != 1:
        # The stdlib BufferedReader is made when a method first needs it (never, for a
        # whole read() and close()).  (buffering=1 keeps the builtin's warning.)
        if buffering < 0:
            buffering = st.st_blksize if st.st_blksize > 1 else io.DEFAULT_BUFFER_SIZE
        obj = ctx._obj = lazy_reader(name, be, fd, buffering, st.st_size)
        return obj
    try:
        if buffering < 0 and regular:
            # What open() picks for a regular file (never a tty), minus its isatty() call.
            buffering = st.st_blksize if st.st_blksize > 1 else io.DEFAULT_BUFFER_SIZE
        f = _io_open(fd, mode, buffering, encoding, errors, newline, closefd=False)
    except BaseException as exc:
        os.close(fd)
        if isinstance(exc, OSError) and exc.errno and exc.filename in (None, fd):
            raise OSError(exc.errno, exc.strerror, name) from None
        raise
    raw = f
    while type(raw) is not io.FileIO:
        raw = raw.buffer if hasattr(raw, "buffer") else raw.raw
    raw.name = name
    # At open the position is 0 (appending: the end), so a first read() knows its size.
    obj = ctx._obj = wrap(f, name, be, fd, newline, regular=regular,
                          size=st.st_size if regular and "a" not in mode else -1)
    return obj


async def _writer_seen(fd: int) -> None:
    """Until the FIFO read end ``fd`` has data, or a writer came and went.

    The builtin's open returns once a writer opens; here the open returns once the
    first read would not wait for that writer (its data, or its end of file).
    """
    loop = asyncio.get_running_loop()
    seen = loop.create_future()
    loop.add_reader(fd, _pool.set_none, seen)
    try:
        await seen
    finally:
        loop.remove_reader(fd)
    os.set_blocking(fd, True)  # (libuv's add_reader made it non-blocking)


async def _open_with_pool(file: Any, mode: str, buffering: int, encoding: str | None,
                          errors: str | None, newline: str | None, closefd: bool,
                          opener: Any) -> AsyncBase:
    f, regular = await _pool.run(_open_in_pool, file, mode, buffering, encoding, errors,
                                 newline, closefd, opener, cleanup=_close_opened)
    return wrap(f, file, newline=newline, regular=regular)


async def read_bytes(path: Any) -> bytes:
    """The whole content of ``path``: open + read + close as one operation."""
    return await for_loop().read_file(os.fspath(path))


def _text_encoding(encoding: str | None) -> str:
    enc = io.text_encoding(encoding)
    if enc == "locale":
        getenc = getattr(locale, "getencoding", None)
        enc = getenc() if getenc is not None else locale.getpreferredencoding(False)
    return enc


async def read_text(path: Any, encoding: str | None = None, errors: str | None = None,
                    newline: str | None = None) -> str:
    """``path`` decoded as ``open(path, encoding=..., errors=..., newline=...).read()`` does."""
    enc = _text_encoding(encoding)
    data = await read_bytes(path)
    return decode_text(data, enc, errors, newline)


_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC


async def write_bytes(path: Any, data: Any) -> int:
    """Replace the content of ``path`` with ``data``: open + write + close as one operation."""
    view = memoryview(data)
    raw = data if type(data) is bytes else view.tobytes()
    return await for_loop().write_file(os.fspath(path), raw, _WRITE_FLAGS)


async def write_text(path: Any, data: str, encoding: str | None = None,
                     errors: str | None = None, newline: str | None = None) -> int:
    """Write ``data`` as ``open(path, "w", encoding=..., newline=...).write(data)`` does."""
    if not isinstance(data, str):
        raise TypeError(f"data must be str, not {type(data).__name__}")
    if newline not in (None, "", "\n", "\r", "\r\n"):
        raise ValueError(f"illegal newline value: {newline!r}")
    enc = _text_encoding(encoding)
    text = data
    if newline is None:
        newline = os.linesep
    if newline not in ("", "\n"):
        text = text.replace("\n", newline)
    raw = text.encode(enc, errors or "strict")
    await for_loop().write_file(os.fspath(path), raw, _WRITE_FLAGS)
    return len(data)


class _StdText(AsyncTextIOWrapper):
    """An async view of ``sys.<name>``, looked up at each call (it may be replaced)."""

    def __init__(self, attr: str, binary: bool = False) -> None:
        self._attr = attr
        self._want_binary = binary
        super().__init__(None)
        self._binary = binary

    @property  # type: ignore[override]
    def _file(self) -> Any:
        f = getattr(sys, self._attr)
        return f.buffer if self._want_binary else f

    @_file.setter
    def _file(self, value: Any) -> None:
        pass


stdin = _StdText("stdin")
stdout = _StdText("stdout")
stderr = _StdText("stderr")
stdin_bytes = _StdText("stdin", binary=True)
stdout_bytes = _StdText("stdout", binary=True)
stderr_bytes = _StdText("stderr", binary=True)
