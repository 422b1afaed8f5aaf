"""The Linux backend: ``select.epoll`` used directly, level-triggered.

Interest bits are epoll's own (``EPOLLIN``/``EPOLLOUT``) so that masks pass to the
kernel untranslated and ``poll`` returns the kernel's list as it is.

epoll forgets a file when its last fd is closed, so the scheduler could leave an
fd registered after its last reader or writer is removed (``LAZY_UNREGISTER``)
and drop it only when an event shows nobody wants it (``forget``); a file closed
while kept but alive through a dup cannot be dropped by fd any more: ``rebuild``
then starts a fresh epoll set under the same fd number. That mode is off
(``LAZY_UNREGISTER = False``): when such a file's fd number is reused by a new
file that is waited on at once, epoll reports the old file under the new one's
number and nothing can tell the two apart (tests/test_fd_reuse.py shows it). It
needs a generation kept in epoll's event data, which ``select.epoll`` cannot
carry; until then every removal is an ``EPOLL_CTL_DEL``, as in asyncio.
"""

from __future__ import annotations

import errno
import os
import select

_EPOLLIN = select.EPOLLIN
_EPOLLOUT = select.EPOLLOUT


class EpollBackend:
    """Level-triggered epoll; the fd table lives in the scheduler, not here."""

    READ = _EPOLLIN
    WRITE = _EPOLLOUT
    LAZY_UNREGISTER = False  # see the module docstring: a reused fd number can be misread

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
        self.forget(fd)

    def forget(self, fd: int) -> int:
        """Unregister ``fd``; return 0, or the errno (ENOENT, EBADF) if epoll had no such fd."""
        try:
            self._epoll.unregister(fd)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.EBADF):
                raise
            return exc.errno
        return 0

    def rebuild(self, fds: list[tuple[int, int]]) -> None:
        """Replace the watched set by ``fds`` (``(fd, mask)`` pairs), keeping our fd number."""
        fresh = select.epoll()
        try:
            for fd, mask in fds:
                if fd == fresh.fileno():
                    continue  # A closed fd's number, which the fresh set itself now has.
                try:
                    fresh.register(fd, mask)
                except OSError as exc:
                    if exc.errno != errno.EBADF:
                        raise
            os.dup2(fresh.fileno(), self._epoll.fileno(), inheritable=False)
        finally:
            fresh.close()

    def close(self) -> None:
        self._epoll.close()
