"""The datagram socket transport (UDP and Unix datagram sockets).

A connected IPv4 endpoint reads with ``recv_into`` and reports its peer's
address (what ``recvfrom`` would say: the kernel delivers nothing else to a
connected socket) without formatting it anew for each datagram. The socket
calls go through :class:`~vif._transports.sockio.SocketIO`, whose compiled
twin makes them in C; the loop's reader is a ``DatagramReceiver``, which the
compiled twin of this module makes an extension type.

Follows the running Python's asyncio: from 3.13 an empty datagram is sent and
the write-buffer size counts 8 header bytes a datagram; before, empty data is
ignored.
"""

from __future__ import annotations

import socket
import sys
from asyncio import futures, transports

from .base import SocketTransport
from .sockio import SocketIO, family_and_type

_SENDS_EMPTY = sys.version_info >= (3, 13)
_HEADER_SIZE = 8 if _SENDS_EMPTY else 0


class DatagramReceiver:
    """A datagram transport's read path: what the loop calls when the socket is
    readable.

    One datagram received into the loop's buffer (``view``) goes to the
    transport's protocol's ``datagram_received``, an OSError to its
    ``error_received``, as asyncio's selector transport does it; from a connected
    IPv4 endpoint with ``recv_bytes``, its ``peer`` given as the sender. The
    compiled twin makes it an extension type (datagram.pxd): its fields are read
    without the attribute lookups that a method of the Python transport class
    makes for each.
    """

    __slots__ = ("_recv_bytes", "_recvfrom_bytes", "_view", "_peer", "_transport")

    def __init__(self, io, view, peer, transport) -> None:
        self._recv_bytes = io.recv_bytes
        self._recvfrom_bytes = io.recvfrom_bytes
        self._view = view
        self._peer = peer
        self._transport = transport

    def read_ready(self) -> None:
        transport = self._transport
        if transport._conn_lost:
            return
        try:
            if self._peer is None:
                data, addr = self._recvfrom_bytes(self._view)
            else:
                data = self._recv_bytes(self._view)
                addr = self._peer
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as exc:
            transport._protocol.error_received(exc)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            transport._fatal_error(exc, "Fatal read error on datagram transport")
        else:
            transport._protocol.datagram_received(data, addr)


class DatagramTransport(SocketTransport, transports.DatagramTransport):
    """asyncio.DatagramTransport over a non-blocking datagram socket."""

    __slots__ = ("_io", "_address", "_read_ready")

    def __init__(self, loop, sock, protocol, address=None, waiter=None, extra=None) -> None:
        super().__init__(loop, sock, protocol, extra)
        self._io = SocketIO(sock)
        self._address = address
        peer = self._extra["peername"]
        peer = peer if peer and family_and_type(sock)[0] == socket.AF_INET else None
        # The loop's reader (kept here for _start_reading and resume_reading).
        self._read_ready = DatagramReceiver(self._io, self._recv_view, peer, self).read_ready
        loop._call_soon(protocol.connection_made, (self,), None)
        loop._call_soon(self._start_reading, (), None)
        if waiter is not None:
            loop._call_soon(futures._set_result_unless_cancelled, (waiter, None), None)

    def _call_connection_lost(self, exc) -> None:
        SocketTransport._call_connection_lost(self, exc)
        # The reader refers back to this transport: a cycle, broken here so that
        # the transport (and, through the reader, the loop's receive buffer) is
        # freed at once rather than by the garbage collector.
        self._read_ready = None

    # sendto() sends without further checks through ``_direct_send`` (the socket's
    # send, for sendto(data) on a connected socket) or ``_direct_sendto`` (its
    # sendto, for sendto(data, addr) on an unconnected one) while it is set: only
    # while nothing is queued and the transport is not closing. Queueing and
    # closing clear both; _checked_sendto() sets one again once it has checked
    # everything. The usual sendto then reads one attribute of the transport.

    def sendto(self, data, addr=None) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"data argument must be a bytes-like object, not {type(data).__name__!r}"
            )
        try:
            if addr is None:
                send = self._direct_send
                if send is not None and data:
                    send(data)
                    return
            else:
                send = self._direct_sendto
                if send is not None and data:
                    send(data, addr)
                    return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._send_failed(exc, data, addr)
            return
        self._checked_sendto(data, addr)

    def _checked_sendto(self, data, addr) -> None:
        """sendto() with every check asyncio makes; arms the direct send when it can."""
        if not data and not _SENDS_EMPTY:
            return
        if self._address:
            if addr not in (None, self._address):
                raise ValueError(f"Invalid address: must be None or {self._address}")
            addr = self._address
        if self._conn_lost and self._address:
            self._count_lost_write()
            return
        if self._buffer:
            self._queue(data, addr)
            return
        try:
            if self._extra["peername"]:
                self._io.send(data)
                if not self._conn_lost:
                    self._direct_send = self._io.send
            else:
                self._io.sendto(data, addr)
                if not self._conn_lost:
                    self._direct_sendto = self._io.sendto
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._send_failed(exc, data, addr)

    def _send_failed(self, exc: BaseException, data, addr) -> None:
        """What a send that raised ``exc`` leads to, as in asyncio."""
        if isinstance(exc, (BlockingIOError, InterruptedError)):
            self._loop._add_writer(self._sock_fd, self._sendto_ready)
            self._queue(data, addr)
        elif isinstance(exc, OSError):
            self._protocol.error_received(exc)
        else:
            self._fatal_error(exc, "Fatal write error on datagram transport")

    def _queue(self, data, addr) -> None:
        self._direct_send = self._direct_sendto = None  # Datagrams go out in order.
        self._buffer.append((bytes(data), addr))
        self._buffer_size += len(data) + _HEADER_SIZE
        self._maybe_pause_protocol()

    def _sendto_ready(self) -> None:
        while self._buffer:
            data, addr = self._buffer.popleft()
            self._buffer_size -= len(data) + _HEADER_SIZE
            try:
                if self._extra["peername"]:
                    self._sock.send(data)
                else:
                    self._sock.sendto(data, addr)
            except (BlockingIOError, InterruptedError):
                self._buffer.appendleft((data, addr))
                self._buffer_size += len(data) + _HEADER_SIZE
                break
            except OSError as exc:
                self._protocol.error_received(exc)
                return
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "Fatal write error on datagram transport")
                return
        self._maybe_resume_protocol()
        if not self._buffer:
            self._loop._remove_writer(self._sock_fd)
            if self._closing:
                self._call_connection_lost(None)
