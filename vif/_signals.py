"""Unix signal handlers for the loop (``add_signal_handler``).

The C-level handler only writes the signal number to a socket pair through
``signal.set_wakeup_fd``; the loop reads it back and schedules the Python
handler as an ordinary callback, so handlers run between callbacks, never
inside one. The socket pair is made on the first ``add_signal_handler`` call.
"""

from __future__ import annotations

import errno
import logging
import signal
import socket
import sys
import warnings
from asyncio import coroutines

logger = logging.getLogger("asyncio")


def _noop_handler(signum, frame) -> None:
    """Installed for each handled signal: the wakeup fd does the work."""


class Signals:
    """Mixin for the event loop: add_signal_handler / remove_signal_handler."""

    def _init_signals(self) -> None:
        self._signal_handlers: dict = {}
        self._ssock = self._csock = None

    def _open_signal_pipe(self) -> None:
        self._ssock, self._csock = socket.socketpair()
        self._ssock.setblocking(False)
        self._csock.setblocking(False)
        self._internal_fds += 1
        self._add_reader(self._ssock.fileno(), self._read_signal_numbers)

    def _close_signal_pipe(self) -> None:
        if self._ssock is None:
            return
        self._remove_reader(self._ssock.fileno())
        self._ssock.close()
        self._csock.close()
        self._ssock = self._csock = None
        self._internal_fds -= 1

    def _read_signal_numbers(self) -> None:
        while True:
            try:
                data = self._ssock.recv(4096)
            except (BlockingIOError, InterruptedError):
                return
            if not data:
                return
            for signum in data:
                if signum:
                    self._handle_signal(signum)

    def _check_signal(self, sig) -> None:
        if not isinstance(sig, int):
            raise TypeError(f"sig must be an int, not {sig!r}")
        if sig not in signal.valid_signals():
            raise ValueError(f"invalid signal number {sig}")

    def add_signal_handler(self, sig, callback, *args) -> None:
        if coroutines.iscoroutine(callback) or coroutines.iscoroutinefunction(callback):
            raise TypeError("coroutines cannot be used with add_signal_handler()")
        self._check_signal(sig)
        self._check_closed()
        if self._ssock is None:
            self._open_signal_pipe()
        try:
            # Raises ValueError outside the main thread.
            signal.set_wakeup_fd(self._csock.fileno())
        except (ValueError, OSError) as exc:
            raise RuntimeError(str(exc)) from None

        handle = self._make_handle(callback, args)
        self._signal_handlers[sig] = handle
        try:
            signal.signal(sig, _noop_handler)
            signal.siginterrupt(sig, False)
        except OSError as exc:
            del self._signal_handlers[sig]
            if not self._signal_handlers:
                try:
                    signal.set_wakeup_fd(-1)
                except (ValueError, OSError) as nexc:
                    logger.info("set_wakeup_fd(-1) failed: %s", nexc)
            if exc.errno == errno.EINVAL:
                raise RuntimeError(f"sig {sig:d} cannot be caught") from None
            raise

    def _handle_signal(self, sig: int) -> None:
        handle = self._signal_handlers.get(sig)
        if handle is None:
            return
        if handle._cancelled:
            self.remove_signal_handler(sig)
        else:
            self._add_callback(handle)

    def remove_signal_handler(self, sig) -> bool:
        self._check_signal(sig)
        try:
            del self._signal_handlers[sig]
        except KeyError:
            return False
        handler = signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL
        try:
            signal.signal(sig, handler)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                raise RuntimeError(f"sig {sig:d} cannot be caught") from None
            raise
        if not self._signal_handlers:
            try:
                signal.set_wakeup_fd(-1)
            except (ValueError, OSError) as exc:
                logger.info("set_wakeup_fd(-1) failed: %s", exc)
        return True

    def _close_signals(self) -> None:
        if self._signal_handlers:
            if sys.is_finalizing():
                warnings.warn(
                    f"Closing the loop {self!r} on interpreter shutdown stage, "
                    f"skipping signal handlers removal",
                    ResourceWarning,
                    stacklevel=2,
                    source=self,
                )
                self._signal_handlers.clear()
            else:
                for sig in list(self._signal_handlers):
                    self.remove_signal_handler(sig)
        self._close_signal_pipe()
