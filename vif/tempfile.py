"""Async ``tempfile`` (aiofiles.tempfile's names): TemporaryFile, NamedTemporaryFile,
SpooledTemporaryFile and TemporaryDirectory.

Creating, closing (and so deleting) a temporary file or directory is one hop to
the files pool; the returned objects are vif's async files (see :mod:`vif.files`).
"""

from __future__ import annotations

import sys
import tempfile as _tempfile
from collections.abc import Awaitable, Generator
from typing import Any

from .files import _pool
from .files._file import AsyncBase, wrap

__all__ = ["NamedTemporaryFile", "SpooledTemporaryFile", "TemporaryDirectory", "TemporaryFile"]


class _Context:
    """``await`` it for the object, or ``async with`` it (closed/cleaned up on exit)."""

    __slots__ = ("_coro", "_obj")

    def __init__(self, coro: Awaitable[Any]) -> None:
        self._coro = coro
        self._obj: Any = None

    def __await__(self) -> Generator[Any, None, Any]:
        return self._coro.__await__()

    async def __aenter__(self) -> Any:
        self._obj = await self._coro
        if isinstance(self._obj, AsyncTemporaryDirectory):
            return self._obj.name
        return self._obj

    async def __aexit__(self, *exc: object) -> None:
        obj, self._obj = self._obj, None
        if isinstance(obj, AsyncTemporaryDirectory):
            await obj.cleanup()
        elif obj is not None:
            await obj.close()


def _close(f: Any) -> None:
    try:
        f.close()
    except Exception:
        pass


async def _make_file(factory: Any, kwargs: dict[str, Any]) -> AsyncBase:
    f = await _pool.run(lambda: factory(**kwargs), cleanup=_close)
    inner = getattr(f, "file", f)  # NamedTemporaryFile's wrapper delegates to .file
    return wrap(f, getattr(f, "name", None), text="b" not in kwargs.get("mode", "w+b"),
                inner=inner)


def TemporaryFile(mode: str = "w+b", buffering: int = -1, encoding: str | None = None,
                  newline: str | None = None, suffix: str | None = None,
                  prefix: str | None = None, dir: Any = None, loop: Any = None,
                  executor: Any = None) -> _Context:
    """An async unnamed temporary file (``tempfile.TemporaryFile``)."""
    return _Context(_make_file(_tempfile.TemporaryFile, dict(
        mode=mode, buffering=buffering, encoding=encoding, newline=newline, suffix=suffix,
        prefix=prefix, dir=dir)))


def NamedTemporaryFile(mode: str = "w+b", buffering: int = -1, encoding: str | None = None,
                       newline: str | None = None, suffix: str | None = None,
                       prefix: str | None = None, dir: Any = None, delete: bool = True,
                       delete_on_close: bool = True, loop: Any = None,
                       executor: Any = None) -> _Context:
    """An async named temporary file (``tempfile.NamedTemporaryFile``), deleted on close."""
    kwargs: dict[str, Any] = dict(mode=mode, buffering=buffering, encoding=encoding,
                                  newline=newline, suffix=suffix, prefix=prefix, dir=dir,
                                  delete=delete)
    if sys.version_info >= (3, 12):
        kwargs["delete_on_close"] = delete_on_close
    return _Context(_make_file(_tempfile.NamedTemporaryFile, kwargs))


class AsyncSpooledTemporaryFile(AsyncBase):
    """``tempfile.SpooledTemporaryFile``: in memory until ``max_size``, then on disk."""

    async def rollover(self) -> None:
        await _pool.run(self._file.rollover)

    @property
    def _rolled(self) -> bool:
        return self._file._rolled

    def fileno(self) -> int:
        return self._file.fileno()


def SpooledTemporaryFile(max_size: int = 0, mode: str = "w+b", buffering: int = -1,
                         encoding: str | None = None, newline: str | None = None,
                         suffix: str | None = None, prefix: str | None = None,
                         dir: Any = None, loop: Any = None, executor: Any = None) -> _Context:
    """An async spooled temporary file (``tempfile.SpooledTemporaryFile``)."""

    async def make() -> AsyncSpooledTemporaryFile:
        f = await _pool.run(lambda: _tempfile.SpooledTemporaryFile(
            max_size=max_size, mode=mode, buffering=buffering, encoding=encoding,
            newline=newline, suffix=suffix, prefix=prefix, dir=dir), cleanup=_close)
        obj = AsyncSpooledTemporaryFile(f, None)
        obj._binary = "b" in mode
        return obj

    return _Context(make())


class AsyncTemporaryDirectory:
    """``tempfile.TemporaryDirectory``: ``name``, and ``await cleanup()``."""

    def __init__(self, sync: _tempfile.TemporaryDirectory) -> None:
        self._sync = sync
        self.name: str = sync.name

    async def cleanup(self) -> None:
        await _pool.run(self._sync.cleanup, must_run=True)

    def __repr__(self) -> str:
        return f"<vif.tempfile.AsyncTemporaryDirectory {self.name!r}>"


def TemporaryDirectory(suffix: str | None = None, prefix: str | None = None, dir: Any = None,
                       loop: Any = None, executor: Any = None) -> _Context:
    """An async temporary directory: ``async with`` gives its name, removed on exit."""

    async def make() -> AsyncTemporaryDirectory:
        d = await _pool.run(lambda: _tempfile.TemporaryDirectory(suffix, prefix, dir),
                            cleanup=lambda d: d.cleanup())
        return AsyncTemporaryDirectory(d)

    return _Context(make())
