"""The Linux backend: ``select.epoll`` used directly, level-triggered.

Interest bits are epoll's own (``EPOLLIN``/``EPOLLOUT``) so that masks pass to the
kernel untranslated and ``poll`` returns the kernel's list as it is.

The scheduler unregisters an fd as soon as its last reader or writer is removed
(``EPOLL_CTL_DEL``, as in asyncio): epoll keys a registration by (file, fd), so
one left behind for a file closed while a dup keeps it open could not be told
apart from a new file that reuses the number (tests/test_fd_reuse.py). The one
exception is a fired ``EPOLLONESHOT`` registration, which the kernel keeps
silent: the scheduler parks those (see vif/_scheduler.py).
"""

from __future__ import annotations

import errno
import select

_EPOLLIN = select.EPOLLIN
_EPOLLOUT = select.EPOLLOUT


class EpollBackend:
    """Level-triggered epoll; the fd table lives in the scheduler, not here."""

    READ = _EPOLLIN
    WRITE = _EPOLLOUT
    ONESHOT = select.EPOLLONESHOT

    def __init__(self) -> None:
        self._epoll = select.epoll()
        # poll(timeout) is epoll's own method: None blocks, EINTR is retried
        # (PEP 475) and the timeout is rounded up to the kernel's millisecond,
        # so a timer is never polled for too early.
        self.poll = self._epoll.poll

    def fileno(self) -> int:
        return self._epoll.fileno()

    # CScheduler._ctl (vif/_cscheduler.pyx) makes these three calls in C with the same
    # fallbacks (EEXIST -> MOD, ENOENT -> ADD, ENOENT/EBADF ignored on DEL): keep in step.

    def register(self, fd: int, mask: int) -> None:
        try:
            self._epoll.register(fd, mask)
        except FileExistsError:
            # The fd was closed and reused without being unregistered from us.
            self._epoll.modify(fd, mask)

    def modify(self, fd: int, mask: int) -> None:
        try:
            self._epoll.modify(fd, mask)
        except FileNotFoundError:
            # The kernel dropped the fd when it was closed; a new file has its number.
            self._epoll.register(fd, mask)

    def unregister(self, fd: int) -> None:
        try:
            self._epoll.unregister(fd)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.EBADF):
                raise

    def close(self) -> None:
        self._epoll.close()
