"""Pipe transports: the read and write ends of pipes, FIFOs, sockets and ttys.

Used by ``connect_read_pipe`` / ``connect_write_pipe`` and by subprocess pipes.
Only pipes, sockets and character devices are accepted (a regular file is
always "ready" and cannot be polled), as in asyncio. A write pipe watches its
fd for readability too where the OS reports the reader going away that way,
so a closed reader ends the transport instead of waiting for the next write.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import sys
import warnings
from asyncio import constants, futures, transports

from .base import FlowControl, recv_view, report_fatal

logger = logging.getLogger("asyncio")
_set_result_unless_cancelled = futures._set_result_unless_cancelled


def _fd_state(loop, fd) -> str:
    if loop is None or loop.is_closed():
        return "open"
    return "polling" if any(loop._fd_interest(fd)) else "idle"


class ReadPipeTransport(transports.ReadTransport):
    """asyncio.ReadTransport over the read end of a pipe-like fd."""

    max_size = 256 * 1024
    _pipe = None

    def __init__(self, loop, pipe, protocol, waiter=None, extra=None) -> None:
        super().__init__(extra)
        self._extra["pipe"] = pipe
        self._loop = loop
        self._pipe = pipe
        self._fileno = pipe.fileno()
        self._protocol = protocol
        self._closing = False
        self._paused = False
        mode = os.fstat(self._fileno).st_mode
        if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)):
            self._pipe = None
            self._fileno = None
            self._protocol = None
            raise ValueError("Pipe transport is for pipes/sockets only.")
        os.set_blocking(self._fileno, False)
        self._recv_bufs = (recv_view(loop, self.max_size),)  # read into, copy out (base.py)
        loop.call_soon(protocol.connection_made, self)
        loop.call_soon(self._start_reading)
        if waiter is not None:
            loop.call_soon(_set_result_unless_cancelled, waiter, None)

    def _start_reading(self) -> None:
        if self.is_reading():
            self._loop._add_reader(self._fileno, self._read_ready)

    def __repr__(self) -> str:
        info = [self.__class__.__name__]
        if self._pipe is None:
            info.append("closed")
        elif self._closing:
            info.append("closing")
        info.append(f"fd={self._fileno}")
        info.append(_fd_state(self._loop, self._fileno) if self._pipe is not None else "closed")
        return "<{}>".format(" ".join(info))

    def _read_ready(self) -> None:
        try:
            nbytes = os.readv(self._fileno, self._recv_bufs)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as exc:
            self._fatal_error(exc, "Fatal read error on pipe transport")
        else:
            if nbytes:
                self._protocol.data_received(self._recv_bufs[0][:nbytes].tobytes())
            else:
                if self._loop.get_debug():
                    logger.info("%r was closed by peer", self)
                self._closing = True
                self._loop._remove_reader(self._fileno)
                self._loop.call_soon(self._protocol.eof_received)
                self._loop.call_soon(self._call_connection_lost, None)

    def is_reading(self) -> bool:
        return not self._paused and not self._closing

    def pause_reading(self) -> None:
        if not self.is_reading():
            return
        self._paused = True
        self._loop._remove_reader(self._fileno)
        if self._loop.get_debug():
            logger.debug("%r pauses reading", self)

    def resume_reading(self) -> None:
        if self._closing or not self._paused:
            return
        self._paused = False
        self._loop._add_reader(self._fileno, self._read_ready)
        if self._loop.get_debug():
            logger.debug("%r resumes reading", self)

    def set_protocol(self, protocol) -> None:
        self._protocol = protocol

    def get_protocol(self):
        return self._protocol

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if not self._closing:
            self._close(None)

    def __del__(self, _warn=warnings.warn) -> None:
        if self._pipe is not None:
            _warn(f"unclosed transport {self!r}", ResourceWarning, source=self)
            self._pipe.close()

    def _fatal_error(self, exc, message="Fatal error on pipe transport") -> None:
        # EIO is how a pty reports that its other side closed.
        report_fatal(self, exc, message, isinstance(exc, OSError) and exc.errno == errno.EIO)
        self._close(exc)

    def _close(self, exc) -> None:
        self._closing = True
        self._loop._remove_reader(self._fileno)
        self._loop.call_soon(self._call_connection_lost, exc)

    def _call_connection_lost(self, exc) -> None:
        try:
            self._protocol.connection_lost(exc)
        finally:
            self._pipe.close()
            self._pipe = None
            self._protocol = None
            self._loop = None


class WritePipeTransport(FlowControl, transports.WriteTransport):
    """asyncio.WriteTransport over the write end of a pipe-like fd."""

    _pipe = None

    def __init__(self, loop, pipe, protocol, waiter=None, extra=None) -> None:
        transports.WriteTransport.__init__(self, extra)
        self._extra["pipe"] = pipe
        self._loop = loop
        self._pipe = pipe
        self._fileno = pipe.fileno()
        self._protocol = protocol
        self._buffer = bytearray()
        self._conn_lost = 0
        self._closing = False  # Set by close() or write_eof().
        mode = os.fstat(self._fileno).st_mode
        is_fifo = stat.S_ISFIFO(mode)
        is_socket = stat.S_ISSOCK(mode)
        if not (stat.S_ISCHR(mode) or is_fifo or is_socket):
            self._pipe = None
            self._fileno = None
            self._protocol = None
            raise ValueError("Pipe transport is only for pipes, sockets and character devices")
        os.set_blocking(self._fileno, False)
        loop.call_soon(protocol.connection_made, self)
        # The write end of a pipe becomes readable when its reader closes.
        if is_socket or (is_fifo and not sys.platform.startswith("aix")):
            loop.call_soon(loop._add_reader, self._fileno, self._read_ready)
        if waiter is not None:
            loop.call_soon(_set_result_unless_cancelled, waiter, None)

    @property
    def _buffer_size(self) -> int:
        return len(self._buffer)

    def __repr__(self) -> str:
        info = [self.__class__.__name__]
        if self._pipe is None:
            info.append("closed")
        elif self._closing:
            info.append("closing")
        info.append(f"fd={self._fileno}")
        if self._pipe is not None:
            info.append(_fd_state(self._loop, self._fileno))
            info.append(f"bufsize={self.get_write_buffer_size()}")
        else:
            info.append("closed")
        return "<{}>".format(" ".join(info))

    def _read_ready(self) -> None:
        if self._loop.get_debug():
            logger.info("%r was closed by peer", self)
        if self._buffer:
            self._close(BrokenPipeError())
        else:
            self._close()

    def write(self, data) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"data argument must be a bytes-like object, not {type(data).__name__!r}"
            )
        if isinstance(data, bytearray):
            data = memoryview(data)
        if not data:
            return
        if self._conn_lost or self._closing:
            if self._conn_lost >= constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES:
                logger.warning("pipe closed by peer or os.write(pipe, data) raised exception.")
            self._conn_lost += 1
            return
        if not self._buffer:
            try:
                n = os.write(self._fileno, data)
            except (BlockingIOError, InterruptedError):
                n = 0
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._conn_lost += 1
                self._fatal_error(exc, "Fatal write error on pipe transport")
                return
            if n == len(data):
                return
            if n > 0:
                data = memoryview(data)[n:]
            self._loop._add_writer(self._fileno, self._write_ready)
        self._buffer += data
        self._maybe_pause_protocol()

    def _write_ready(self) -> None:
        try:
            n = os.write(self._fileno, self._buffer)
        except (BlockingIOError, InterruptedError):
            pass
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._buffer.clear()
            self._conn_lost += 1
            self._loop._remove_writer(self._fileno)
            self._fatal_error(exc, "Fatal write error on pipe transport")
        else:
            if n == len(self._buffer):
                self._buffer.clear()
                self._loop._remove_writer(self._fileno)
                self._maybe_resume_protocol()  # May write more.
                if self._closing:
                    self._loop._remove_reader(self._fileno)
                    self._call_connection_lost(None)
                return
            if n > 0:
                del self._buffer[:n]

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        if self._closing:
            return
        assert self._pipe
        self._closing = True
        if not self._buffer:
            self._loop._remove_reader(self._fileno)
            self._loop.call_soon(self._call_connection_lost, None)

    def set_protocol(self, protocol) -> None:
        self._protocol = protocol

    def get_protocol(self):
        return self._protocol

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if self._pipe is not None and not self._closing:
            self.write_eof()

    def __del__(self, _warn=warnings.warn) -> None:
        if self._pipe is not None:
            _warn(f"unclosed transport {self!r}", ResourceWarning, source=self)
            self._pipe.close()

    def abort(self) -> None:
        self._close(None)

    def _fatal_error(self, exc, message="Fatal error on pipe transport") -> None:
        report_fatal(self, exc, message, isinstance(exc, OSError))
        self._close(exc)

    def _close(self, exc=None) -> None:
        self._closing = True
        if self._buffer:
            self._loop._remove_writer(self._fileno)
        self._buffer.clear()
        self._loop._remove_reader(self._fileno)
        self._loop.call_soon(self._call_connection_lost, exc)

    def _call_connection_lost(self, exc) -> None:
        try:
            self._protocol.connection_lost(exc)
        finally:
            self._pipe.close()
            self._pipe = None
            self._protocol = None
            self._loop = None
