"""Waking a loop that sleeps in the poll, from another thread.

An eventfd on Linux, a non-blocking self-pipe elsewhere. ``wake()`` is safe from
any thread; the loop watches ``fileno()`` and calls ``drain()`` when it is
readable. A write that would block means a wakeup is already pending, which is
all that is needed.
"""

from __future__ import annotations

import os


class Wakeup:
    """One counter (eventfd) or pipe that makes the loop's fd readable."""

    def __init__(self) -> None:
        eventfd = getattr(os, "eventfd", None)
        if eventfd is not None:
            self._rfd = self._wfd = eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            self._token = (1).to_bytes(8, "little")
            self._chunk = 8
        else:  # pragma: no cover - non-Linux
            self._rfd, self._wfd = os.pipe()
            os.set_blocking(self._rfd, False)
            os.set_blocking(self._wfd, False)
            self._token = b"\0"
            self._chunk = 4096

    def fileno(self) -> int:
        return self._rfd

    def wake(self) -> None:
        try:
            os.write(self._wfd, self._token)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            # Closed concurrently with the loop's close(): nobody to wake.
            pass

    def drain(self) -> None:
        try:
            while os.read(self._rfd, self._chunk) and self._chunk != 8:
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def close(self) -> None:
        if self._rfd < 0:
            return
        os.close(self._rfd)
        if self._wfd != self._rfd:
            os.close(self._wfd)
        self._rfd = self._wfd = -1
