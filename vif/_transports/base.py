"""What every vif socket transport shares: write flow control, close and abort.

The transport lifecycle follows asyncio's selector transports exactly, because
protocols (asyncio's streams first) depend on its order of calls:
``connection_made`` is scheduled by the constructor, ``close()`` stops reading at
once and calls ``connection_lost(None)`` once the write buffer is flushed,
``abort()`` and fatal errors drop the buffer and call ``connection_lost(exc)``;
the socket is closed right after ``connection_lost`` returns.

``_conn_lost`` counts writes attempted after the connection was lost (asyncio
logs a warning past a threshold) and is non-zero once ``connection_lost`` is
scheduled.
"""

from __future__ import annotations

import inspect
import logging
import warnings
import weakref
from asyncio import base_events, constants, transports
from collections import deque
from typing import Any

from .sockio import close_socket, local_address, peer_address, transport_socket

logger = logging.getLogger("asyncio")
_weakref = weakref.ref

# asyncio's Server counts its connections through _attach/_detach; from 3.12.1
# on they take the transport (for close_clients/abort_clients).
_SERVER_TRACKS_TRANSPORTS = "transport" in inspect.signature(base_events.Server._attach).parameters


def server_attach(server: Any, transport: Any) -> None:
    if _SERVER_TRACKS_TRANSPORTS:
        server._attach(transport)
    else:
        server._attach()


def server_detach(server: Any, transport: Any) -> None:
    if _SERVER_TRACKS_TRANSPORTS:
        server._detach(transport)
    else:
        server._detach()


def report_fatal(transport: Any, exc: BaseException, message: str, expected: bool) -> None:
    """Report a transport's fatal error as asyncio does.

    An expected error (an OSError of the connection, say) is logged in debug
    mode only; any other goes to the loop's exception handler.
    """
    if expected:
        if transport._loop.get_debug():
            logger.debug("%r: %s", transport, message, exc_info=True)
    else:
        transport._loop.call_exception_handler({
            "message": message,
            "exception": exc,
            "transport": transport,
            "protocol": transport._protocol,
        })


def recv_view(loop: Any, max_size: int) -> memoryview:
    """The loop's receive buffer (see vif._loop.Lifecycle), cut to ``max_size`` bytes.

    Transports read into it and copy out what arrived: a ``recv(256 KiB)`` would
    have glibc mmap() and munmap() a fresh buffer for every read.
    """
    view = loop._recv_view
    return view[:max_size] if max_size < len(view) else view


class FlowControl(transports._FlowControlMixin):
    """Write-buffer high/low water marks, as asyncio's transports define them.

    It subclasses asyncio's private ``_FlowControlMixin`` only because asyncio's
    sendfile fallback checks for that type; the logic is vif's, reading a
    running ``_buffer_size`` instead of summing the buffer.
    """

    # The initial state, as class attributes: an instance writes its own only
    # when it changes (one attribute write less per field and transport made).
    _protocol_paused = False
    _high_water = 64 * 1024
    _low_water = 16 * 1024

    def _maybe_pause_protocol(self) -> None:
        if self._buffer_size <= self._high_water or self._protocol_paused:
            return
        self._protocol_paused = True
        try:
            self._protocol.pause_writing()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._loop.call_exception_handler({
                "message": "protocol.pause_writing() failed",
                "exception": exc,
                "transport": self,
                "protocol": self._protocol,
            })

    def _maybe_resume_protocol(self) -> None:
        if self._protocol_paused and self._buffer_size <= self._low_water:
            self._protocol_paused = False
            try:
                self._protocol.resume_writing()
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._loop.call_exception_handler({
                    "message": "protocol.resume_writing() failed",
                    "exception": exc,
                    "transport": self,
                    "protocol": self._protocol,
                })

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return (self._low_water, self._high_water)

    def _set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        if high is None:
            high = 64 * 1024 if low is None else 4 * low
        if low is None:
            low = high // 4
        if not high >= low >= 0:
            raise ValueError(f"high ({high!r}) must be >= low ({low!r}) must be >= 0")
        self._high_water = high
        self._low_water = low

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._set_write_buffer_limits(high=high, low=low)
        self._maybe_pause_protocol()

    def get_write_buffer_size(self) -> int:
        return self._buffer_size


class SocketTransport(FlowControl):
    """State and teardown shared by the stream and datagram socket transports."""

    # What each transport sets as it is made, what the read and write paths read,
    # and what every connection's life changes (closing), as slots: read without
    # a dict lookup, and a transport that only connects, exchanges data and
    # closes has no instance dict at all (on 3.13 a method call, transport.write,
    # is on CPython's fast path only then: 68 ns, 137 ns with a dict). The rest of
    # the state, which starts out the same for every transport and changes only
    # in rarer turns (flow control, pausing, EOF), is a class attribute below (see
    # FlowControl), which a transport overrides in its instance dict when it
    # changes.
    __slots__ = ("_loop", "_sock_fd", "_protocol", "_buffer", "_recv_view", "_conn_lost",
                 "_direct_send", "_sock", "_server", "_closing")
    max_size = 256 * 1024  # How much one read asks for (at most the loop's buffer).
    # asyncio's transports keep whether set_protocol() was called; a vif
    # transport's constructor always calls it.
    _protocol_connected = True
    _buffer_size = 0
    _paused = False
    _direct_sendto = None  # See _direct_send in __init__.

    def __init__(self, loop, sock, protocol, extra=None, server=None) -> None:
        # asyncio's BaseTransport keeps extra info in _extra.
        if extra is None:
            extra = {}
        self._extra = extra
        self._loop = loop
        # The socket's send / sendto kept for the write path while nothing forbids
        # sending at once (see StreamTransport.write, DatagramTransport.sendto);
        # closing clears them.
        self._direct_send = None
        self._conn_lost = 0
        self._closing = False
        extra["socket"] = transport_socket(sock)
        try:
            extra["sockname"] = local_address(sock)
        except OSError:
            extra["sockname"] = None
        if "peername" not in extra:
            try:
                extra["peername"] = peer_address(sock)
            except OSError:
                extra["peername"] = None
        self._sock = sock
        # Attached with the socket taken: from here on __del__ of a transport
        # whose __init__ fails closes the socket and detaches it.
        self._server = server
        if server is not None:
            server_attach(server, self)
        fd = self._sock_fd = sock.fileno()
        self._recv_view = recv_view(loop, self.max_size)
        self.set_protocol(protocol)
        self._buffer: deque = deque()
        loop._transports[fd] = _weakref(self)

    def __repr__(self) -> str:
        info = [self.__class__.__name__]
        if self._sock is None:
            info.append("closed")
        elif self._closing:
            info.append("closing")
        info.append(f"fd={self._sock_fd}")
        loop = self._loop
        if loop is not None and not loop.is_closed():
            reading, writing = loop._fd_interest(self._sock_fd)
            info.append("read=polling" if reading else "read=idle")
            state = "polling" if writing else "idle"
            info.append(f"write=<{state}, bufsize={self.get_write_buffer_size()}>")
        return "<{}>".format(" ".join(info))

    def set_protocol(self, protocol) -> None:
        self._protocol = protocol

    def get_protocol(self):
        return self._protocol

    def is_closing(self) -> bool:
        return self._closing

    def is_reading(self) -> bool:
        return not self._closing and not self._paused

    def pause_reading(self) -> None:
        if self._closing or self._paused:
            return
        self._paused = True
        self._loop._remove_reader(self._sock_fd)
        if self._loop._debug:
            logger.debug("%r pauses reading", self)

    def resume_reading(self) -> None:
        if self._closing or not self._paused:
            return
        self._paused = False
        self._loop._add_reader(self._sock_fd, self._read_ready)
        if self._loop._debug:
            logger.debug("%r resumes reading", self)

    def _start_reading(self) -> None:
        """Scheduled by the constructor, after connection_made."""
        if not self._closing and not self._paused:
            self._loop._add_reader(self._sock_fd, self._read_ready)

    def close(self) -> None:
        self._stop_direct_sends()
        if self._closing:
            return
        self._closing = True
        loop = self._loop
        fd = self._sock_fd
        loop._remove_reader(fd)
        if not self._buffer:
            self._conn_lost += 1
            loop._remove_writer(fd)
            loop.call_soon(self._call_connection_lost, None)

    def abort(self) -> None:
        self._force_close(None)

    def __del__(self, _warn=warnings.warn) -> None:
        try:
            sock = self._sock
        except AttributeError:  # __init__ failed before it took the socket
            return
        if sock is not None:
            _warn(f"unclosed transport {self!r}", ResourceWarning, source=self)
            sock.close()
            if self._server is not None:
                server_detach(self._server, self)

    def _count_lost_write(self) -> None:
        """A write after the connection was lost: not sent, counted, and warned
        about from asyncio's threshold on."""
        if self._conn_lost >= constants.LOG_THRESHOLD_FOR_CONNLOST_WRITES:
            logger.warning("socket.send() raised exception.")
        self._conn_lost += 1

    def _fatal_error(self, exc: BaseException, message: str = "Fatal error on transport") -> None:
        report_fatal(self, exc, message, expected=isinstance(exc, OSError))
        self._force_close(exc)

    def _stop_direct_sends(self) -> None:
        """Later writes are counted or queued, not sent at once. (Each attribute is
        cleared only if set: a stream transport writing _direct_sendto, a class
        attribute for it, would make its instance dict.)"""
        if self._direct_send is not None:
            self._direct_send = None
        if self._direct_sendto is not None:
            self._direct_sendto = None

    def _force_close(self, exc: BaseException | None) -> None:
        self._stop_direct_sends()
        if self._conn_lost:
            return
        if self._buffer:
            self._buffer.clear()
            self._buffer_size = 0
            self._loop._remove_writer(self._sock_fd)
        if not self._closing:
            self._closing = True
            self._loop._remove_reader(self._sock_fd)
        self._conn_lost += 1
        self._loop.call_soon(self._call_connection_lost, exc)

    def _call_connection_lost(self, exc: BaseException | None) -> None:
        try:
            self._protocol.connection_lost(exc)
        finally:
            close_socket(self._sock)
            self._sock = None
            self._protocol = None
            self._loop = None
            server = self._server
            if server is not None:
                server_detach(server, self)
                self._server = None
