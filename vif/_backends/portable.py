"""The portable backend: the stdlib ``selectors.DefaultSelector`` (kqueue, poll, select).

Used on Unix systems without epoll, or when ``VIF_BACKEND=selectors`` is set.
"""

from __future__ import annotations

import selectors

_READ = selectors.EVENT_READ
_WRITE = selectors.EVENT_WRITE


class SelectorsBackend:
    """Adapts a ``selectors`` selector to the backend contract."""

    READ = _READ
    WRITE = _WRITE
    ONESHOT = 0  # Not offered: one-shot waits register and unregister.

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()

    def fileno(self) -> int:
        try:
            return self._selector.fileno()  # type: ignore[attr-defined]
        except AttributeError:
            return -1

    def register(self, fd: int, mask: int) -> None:
        try:
            self._selector.register(fd, mask)
        except KeyError:
            self._selector.modify(fd, mask)

    def modify(self, fd: int, mask: int) -> None:
        try:
            self._selector.modify(fd, mask)
        except KeyError:
            self._selector.register(fd, mask)

    def unregister(self, fd: int) -> None:
        try:
            self._selector.unregister(fd)
        except (KeyError, ValueError):
            pass

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        if timeout is not None and timeout < 0:
            timeout = 0
        return [(key.fd, events) for key, events in self._selector.select(timeout)]

    def close(self) -> None:
        self._selector.close()
