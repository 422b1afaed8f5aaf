"""I/O backends: the one small contract between the scheduler and the OS poller.

A backend watches file descriptors and reports which are ready. The scheduler
(:mod:`vif._scheduler`) owns everything else: which callback runs for an fd, the
ready queue, the timers. A backend provides:

``READ`` / ``WRITE``
    Interest bits. ``register(fd, READ | WRITE)`` watches both directions.
``register(fd, mask)`` / ``modify(fd, mask)`` / ``unregister(fd)``
    Start, change, stop watching ``fd``. ``unregister`` of an fd the OS already
    forgot (closed behind our back) is not an error.
``ONESHOT`` (optional; 0 or absent: not offered)
    ``register(fd, READ | ONESHOT)`` (or ``modify``) reports ``fd`` once, then
    keeps it registered but silent until the next ``modify`` re-arms it.
``poll(timeout)``
    Block up to ``timeout`` seconds (``None``: forever; ``0``: don't block) and
    return a list of ``(fd, events)``. ``events & ~WRITE`` means the fd is
    readable (or in error / hung up); ``events & ~READ`` means it is writable (or
    in error / hung up), so an error wakes whichever side is waiting.
``fileno()`` / ``close()``
    The poller's own fd (``-1`` when it has none) and its release.

:func:`default_backend` picks epoll on Linux and a ``selectors``-based backend
elsewhere. ``VIF_BACKEND=selectors`` forces the fallback.
"""

from __future__ import annotations

import os
import select
from typing import Protocol


class Backend(Protocol):
    READ: int
    WRITE: int
    ONESHOT: int

    def register(self, fd: int, mask: int) -> None: ...
    def modify(self, fd: int, mask: int) -> None: ...
    def unregister(self, fd: int) -> None: ...
    def poll(self, timeout: float | None) -> list[tuple[int, int]]: ...
    def fileno(self) -> int: ...
    def close(self) -> None: ...


def default_backend() -> Backend:
    """Return a new backend: epoll where available unless VIF_BACKEND says otherwise."""
    choice = os.environ.get("VIF_BACKEND", "")
    if choice not in ("", "epoll", "selectors"):
        raise ValueError(f"VIF_BACKEND must be 'epoll' or 'selectors', not {choice!r}")
    if choice != "selectors" and hasattr(select, "epoll"):
        from .epoll import EpollBackend

        return EpollBackend()
    from .portable import SelectorsBackend

    return SelectorsBackend()
