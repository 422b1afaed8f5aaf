"""Async versions of ``os`` file-system calls (aiofiles.os's names and behaviour).

Each call is one operation on the files backend: on io_uring, ``mkdir``,
``rename``/``replace``, ``remove``/``unlink``, ``rmdir`` and ``stat``/``lstat``
(``statx``) are ring operations (when called with plain paths and no
``dir_fd``), and so are ``fsync``/``fdatasync``; everything else is one hop to
the files thread pool.  Errors are those of the sync ``os`` call.
"""

from __future__ import annotations

import os as _os
from collections.abc import Callable
from functools import wraps
from typing import Any

from ..files import _pool
from ..files._backend import for_loop

__all__ = [
    "access",
    "getcwd",
    "link",
    "listdir",
    "makedirs",
    "mkdir",
    "path",
    "readlink",
    "remove",
    "removedirs",
    "rename",
    "renames",
    "replace",
    "fdatasync",
    "fsync",
    "rmdir",
    "scandir",
    "sendfile",
    "stat",
    "lstat",
    "statvfs",
    "symlink",
    "unlink",
    "wrap",
]


def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
    """An async version of blocking ``func``: one hop to the files pool per call.

    aiofiles' ``loop=`` and ``executor=`` keywords are accepted and ignored.
    """

    @wraps(func)
    async def run(*args: Any, loop: Any = None, executor: Any = None, **kwargs: Any) -> Any:
        if kwargs:
            return await _pool.run(lambda: func(*args, **kwargs))
        return await _pool.run(func, *args)

    return run


def _plain(p: Any) -> bool:
    return isinstance(p, (str, bytes, _os.PathLike))


def _ring() -> Any:
    be = for_loop()
    return be if be.name == "io_uring" else None


renames = wrap(_os.renames)
makedirs = wrap(_os.makedirs)
removedirs = wrap(_os.removedirs)
link = wrap(_os.link)
symlink = wrap(_os.symlink)
readlink = wrap(_os.readlink)
listdir = wrap(_os.listdir)
scandir = wrap(_os.scandir)
access = wrap(_os.access)
getcwd = wrap(_os.getcwd)
sendfile = wrap(_os.sendfile)
statvfs = wrap(_os.statvfs)

_sync_mkdir, _sync_rename, _sync_replace = _os.mkdir, _os.rename, _os.replace
_sync_unlink, _sync_rmdir = _os.unlink, _os.rmdir


async def mkdir(path: Any, mode: int = 0o777, *, dir_fd: int | None = None,
                loop: Any = None, executor: Any = None) -> None:
    """``os.mkdir``: a ring ``mkdirat`` on io_uring."""
    be = _ring() if dir_fd is None and _plain(path) else None
    if be is not None and 37 in be.ops:
        await be.mkdir(_os.fspath(path), mode)
    else:
        await _pool.run(lambda: _sync_mkdir(path, mode, dir_fd=dir_fd))


async def _rename(sync: Callable[..., Any], src: Any, dst: Any, src_dir_fd: int | None,
                  dst_dir_fd: int | None) -> None:
    be = (_ring() if src_dir_fd is None and dst_dir_fd is None and _plain(src) and _plain(dst)
          else None)
    if be is not None and 35 in be.ops:
        await be.rename(_os.fspath(src), _os.fspath(dst))
    else:
        await _pool.run(lambda: sync(src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd))


async def rename(src: Any, dst: Any, *, src_dir_fd: int | None = None,
                 dst_dir_fd: int | None = None, loop: Any = None, executor: Any = None) -> None:
    """``os.rename``: a ring ``renameat`` on io_uring."""
    await _rename(_sync_rename, src, dst, src_dir_fd, dst_dir_fd)


async def replace(src: Any, dst: Any, *, src_dir_fd: int | None = None,
                  dst_dir_fd: int | None = None, loop: Any = None, executor: Any = None) -> None:
    """``os.replace``: a ring ``renameat`` on io_uring."""
    await _rename(_sync_replace, src, dst, src_dir_fd, dst_dir_fd)


async def _unlink(sync: Callable[..., Any], path: Any, dir_fd: int | None, rmdir: bool) -> None:
    be = _ring() if dir_fd is None and _plain(path) else None
    if be is not None and 36 in be.ops:
        await be.unlink(_os.fspath(path), rmdir)
    else:
        await _pool.run(lambda: sync(path, dir_fd=dir_fd))


async def unlink(path: Any, *, dir_fd: int | None = None, loop: Any = None,
                 executor: Any = None) -> None:
    """``os.unlink``: a ring ``unlinkat`` on io_uring."""
    await _unlink(_sync_unlink, path, dir_fd, False)


async def remove(path: Any, *, dir_fd: int | None = None, loop: Any = None,
                 executor: Any = None) -> None:
    """``os.remove``: a ring ``unlinkat`` on io_uring."""
    await _unlink(_sync_unlink, path, dir_fd, False)


async def rmdir(path: Any, *, dir_fd: int | None = None, loop: Any = None,
                executor: Any = None) -> None:
    """``os.rmdir``: a ring ``unlinkat(AT_REMOVEDIR)`` on io_uring."""
    await _unlink(_sync_rmdir, path, dir_fd, True)


_sync_stat, _sync_fsync, _sync_fdatasync = _os.stat, _os.fsync, _os.fdatasync


async def stat(path: Any, *, dir_fd: int | None = None, follow_symlinks: bool = True,
               loop: Any = None, executor: Any = None) -> _os.stat_result:
    """``os.stat``: a ring ``statx`` on io_uring."""
    be = _ring() if dir_fd is None and _plain(path) else None
    if be is not None and 21 in be.ops:
        return await be.stat(_os.fspath(path), follow_symlinks)
    return await _pool.run(lambda: _sync_stat(path, dir_fd=dir_fd,
                                              follow_symlinks=follow_symlinks))


async def lstat(path: Any, *, dir_fd: int | None = None, loop: Any = None,
                executor: Any = None) -> _os.stat_result:
    """``os.lstat``: a ring ``statx`` (not following symlinks) on io_uring."""
    return await stat(path, dir_fd=dir_fd, follow_symlinks=False)


def _fd_of(fd: Any) -> int:
    if isinstance(fd, int):
        return fd
    fileno = getattr(fd, "fileno", None)
    if fileno is None:
        raise TypeError(f"argument must be an int, or have a fileno() method, not {fd!r}")
    return fileno()


async def fsync(fd: Any, *, loop: Any = None, executor: Any = None) -> None:
    """``os.fsync``: a ring ``fsync`` on io_uring (``fd``: an int or has ``fileno()``)."""
    fd = _fd_of(fd)
    be = _ring()
    if be is not None and 3 in be.ops and fd >= 0:
        await be.fsync(fd)
    else:
        await _pool.run(_sync_fsync, fd)


async def fdatasync(fd: Any, *, loop: Any = None, executor: Any = None) -> None:
    """``os.fdatasync``: a ring ``fsync(IORING_FSYNC_DATASYNC)`` on io_uring."""
    fd = _fd_of(fd)
    be = _ring()
    if be is not None and 3 in be.ops and fd >= 0:
        await be.fsync(fd, datasync=True)
    else:
        await _pool.run(_sync_fdatasync, fd)


from . import path  # noqa: E402 - path uses wrap() defined above
