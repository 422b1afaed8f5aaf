"""The stream socket transport (TCP and Unix stream sockets): the network hot path.

Reads go ``recv_into`` the loop's receive buffer and only the bytes received
are copied out for the protocol (or ``recv_into`` the protocol's buffer, for a
BufferedProtocol); for a protocol with ``data_received``, the loop's reader is
a ``StreamReceiver``, which the compiled twin makes an extension type. Writes try
``send`` at once and buffer only what the kernel did not take; the buffer is
flushed with vectored ``sendmsg`` when the socket becomes writable again.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
from asyncio import constants, futures, protocols

from .base import SocketTransport
from .sockio import SocketIO, set_nodelay

logger = logging.getLogger("asyncio")

_HAS_SENDMSG = hasattr(socket.socket, "sendmsg")
try:
    _IOV_MAX = os.sysconf("SC_IOV_MAX")
except (AttributeError, OSError, ValueError):  # pragma: no cover
    _IOV_MAX = 16
_set_result_unless_cancelled = futures._set_result_unless_cancelled
_BufferedProtocol = protocols.BufferedProtocol


def _immutable(data):
    """``data`` itself if it cannot change once write() returns, else a copy."""
    if type(data) is bytes or (type(data) is memoryview and type(data.obj) is bytes):
        return data
    return bytes(data)


class StreamReceiver:
    """A stream transport's read path for a protocol with ``data_received``: what
    the loop calls when the socket is readable.

    One ``recv_bytes`` into the loop's buffer (``view``), and what arrived goes to
    ``data_received`` (looked up when the protocol was set; None: the protocol's,
    looked up now), as asyncio's selector transport does it; EOF and errors go
    back to the ``transport`` (``_read_eof``, ``_fatal_error``). The compiled
    twin makes it an extension type (stream.pxd): its fields are read without
    the attribute lookups that a method of the Python transport class makes for
    each.
    """

    __slots__ = ("_recv_bytes", "_view", "_transport", "data_received")

    def __init__(self, io, view, transport) -> None:
        self._recv_bytes = io.recv_bytes
        self._view = view
        self._transport = transport
        self.data_received = None

    def read_ready(self) -> None:
        transport = self._transport
        if transport._conn_lost:
            return
        try:
            data = self._recv_bytes(self._view)
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            transport._fatal_error(exc, "Fatal read error on socket transport")
            return
        if not data:
            transport._read_eof()
            return
        try:
            receive = self.data_received
            if receive is None:
                receive = transport._protocol.data_received
            receive(data)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            transport._fatal_error(exc, "Fatal error: protocol.data_received() call failed.")


class StreamTransport(SocketTransport):
    """asyncio.Transport over a connected, non-blocking stream socket."""

    __slots__ = ("_io", "_read_ready", "_receiver")  # See base.py.
    _start_tls_compatible = True
    _sendfile_compatible = constants._SendfileMode.TRY_NATIVE
    _eof = False
    _empty_waiter = None

    def __init__(self, loop, sock, protocol, waiter=None, extra=None, server=None) -> None:
        self._io = SocketIO(sock)
        self._read_ready = self._receiver = None  # (set_protocol reads them)
        # SocketTransport's methods are called by name here, not through super():
        # in the compiled twin, super() builds a proxy and searches the MRO each call.
        SocketTransport.__init__(self, loop, sock, protocol, extra, server)
        set_nodelay(sock)
        loop._call_soon(protocol.connection_made, (self,), None)
        loop._call_soon(self._start_reading, (), None)
        if waiter is not None:
            loop._call_soon(_set_result_unless_cancelled, (waiter, None), None)

    def set_protocol(self, protocol) -> None:
        previous = self._read_ready
        if isinstance(protocol, _BufferedProtocol):
            self._read_ready = self._read_ready_into_buffer
        else:
            # A protocol with data_received is read by the StreamReceiver, which
            # holds data_received: looked up once here (as uvloop does), not on
            # every read; a protocol without one is asked again when data
            # arrives, and fails as in asyncio.
            receiver = self._receiver
            if receiver is None:
                receiver = self._receiver = StreamReceiver(self._io, self._recv_view, self)
            receiver.data_received = getattr(protocol, "data_received", None)
            self._read_ready = receiver.read_ready
        self._protocol = protocol  # What SocketTransport.set_protocol does.
        if (previous is not None and previous != self._read_ready
                and self._loop._fd_interest(self._sock_fd)[0]):
            # Reading: the loop's reader must call the new kind of read.
            self._loop._add_reader(self._sock_fd, self._read_ready)

    # -- reading ---------------------------------------------------------------

    def _read_ready_into_buffer(self) -> None:
        if self._conn_lost:
            return
        try:
            buf = self._protocol.get_buffer(-1)
            if not len(buf):
                raise RuntimeError("get_buffer() returned an empty buffer")
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal error: protocol.get_buffer() call failed.")
            return
        try:
            nbytes = self._io.recv_into(buf)
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal read error on socket transport")
            return
        if not nbytes:
            self._read_eof()
            return
        try:
            self._protocol.buffer_updated(nbytes)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal error: protocol.buffer_updated() call failed.")

    def _read_eof(self) -> None:
        if self._loop._debug:
            logger.debug("%r received EOF", self)
        try:
            keep_open = self._protocol.eof_received()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal error: protocol.eof_received() call failed.")
            return
        if keep_open:
            self._loop._remove_reader(self._sock_fd)
        else:
            self.close()

    # -- writing ---------------------------------------------------------------

    # write() sends through ``_direct_send`` (the socket's send) without further
    # checks while it is set: it is set only while nothing forbids sending at once
    # (no write_eof(), no sendfile, connection not lost, nothing buffered that
    # must go first). Whatever may change one of those clears it first, and write()
    # sets it again once it has checked them all: the usual write reads one
    # attribute of the transport instead of five.

    def write(self, data) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"data argument must be a bytes-like object, not {type(data).__name__!r}"
            )
        send = self._direct_send
        if send is None:
            if self._eof:
                raise RuntimeError("Cannot call write() after write_eof()")
            if self._empty_waiter is not None:
                raise RuntimeError("unable to write; sendfile is in progress")
            if not data:
                return
            if self._conn_lost:
                self._count_lost_write()
                return
            if self._buffer:
                self._buffer_data(data)
                return
            send = self._direct_send = self._io.send
        elif not data:
            return
        if type(data) is memoryview and data.format != "B":
            data = data.cast("B")
        try:
            n = send(data)
        except (BlockingIOError, InterruptedError):
            n = 0
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal write error on socket transport")
            return
        if n == len(data):
            return
        if n:
            data = memoryview(data)[n:]
        self._direct_send = None
        self._loop._add_writer(self._sock_fd, self._write_ready)
        self._buffer_data(data)

    def _buffer_data(self, data) -> None:
        """Queue what write() could not send now, behind what is queued already."""
        if type(data) is memoryview and data.format != "B":
            data = data.cast("B")
        data = _immutable(data)
        self._buffer.append(data)
        self._buffer_size += len(data)
        self._maybe_pause_protocol()

    def writelines(self, list_of_data) -> None:
        if self._eof:
            raise RuntimeError("Cannot call writelines() after write_eof()")
        if self._empty_waiter is not None:
            raise RuntimeError("unable to writelines; sendfile is in progress")
        chunks = [_immutable(memoryview(data).cast("B")) for data in list_of_data]
        chunks = [c for c in chunks if len(c)]
        if not chunks:
            return
        if self._conn_lost:
            self._count_lost_write()
            return
        was_empty = not self._buffer
        self._direct_send = None
        self._buffer.extend(chunks)
        self._buffer_size += sum(map(len, chunks))
        if was_empty:
            self._write_ready()
            if self._buffer:
                self._loop._add_writer(self._sock_fd, self._write_ready)
        if self._buffer:
            self._maybe_pause_protocol()

    def _write_ready(self) -> None:
        if self._conn_lost or not self._buffer:
            return
        try:
            if _HAS_SENDMSG and len(self._buffer) > 1:
                n = self._sock.sendmsg(itertools.islice(self._buffer, _IOV_MAX))
            else:
                n = self._sock.send(self._buffer[0])
        except (BlockingIOError, InterruptedError):
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._loop._remove_writer(self._sock_fd)
            self._buffer.clear()
            self._buffer_size = 0
            self._fatal_error(exc, "Fatal write error on socket transport")
            if self._empty_waiter is not None:
                self._empty_waiter.set_exception(exc)
            return
        self._consume(n)
        self._maybe_resume_protocol()  # May write more.
        if not self._buffer:
            self._loop._remove_writer(self._sock_fd)
            if self._empty_waiter is not None:
                self._empty_waiter.set_result(None)
            if self._closing:
                self._call_connection_lost(None)
            elif self._eof:
                self._sock.shutdown(socket.SHUT_WR)

    def _consume(self, nbytes: int) -> None:
        """Drop the first ``nbytes`` sent bytes from the write buffer."""
        self._buffer_size -= nbytes
        buffer = self._buffer
        while nbytes:
            chunk = buffer.popleft()
            size = len(chunk)
            if size <= nbytes:
                nbytes -= size
            else:
                buffer.appendleft(memoryview(chunk)[nbytes:])
                break

    def write_eof(self) -> None:
        if self._closing or self._eof:
            return
        self._eof = True
        self._direct_send = None
        if not self._buffer:
            self._sock.shutdown(socket.SHUT_WR)

    def can_write_eof(self) -> bool:
        return True

    # -- teardown and sendfile support ---------------------------------------------

    def _call_connection_lost(self, exc) -> None:
        SocketTransport._call_connection_lost(self, exc)
        # The reader (a bound method of this transport, or the receiver that
        # refers back to it and holds its protocol's data_received) kept on it:
        # reference cycles that would leave the transport (and the loop's
        # receive buffer, through _recv_view) to the garbage collector instead
        # of freeing it here.
        self._read_ready = self._receiver = None
        if self._empty_waiter is not None:
            self._empty_waiter.set_exception(ConnectionError("Connection is closed by peer"))

    def _make_empty_waiter(self):
        if self._empty_waiter is not None:
            raise RuntimeError("Empty waiter is already set")
        self._direct_send = None  # write() raises while sendfile runs.
        self._empty_waiter = self._loop.create_future()
        if not self._buffer:
            self._empty_waiter.set_result(None)
        return self._empty_waiter

    def _reset_empty_waiter(self) -> None:
        self._empty_waiter = None
