"""The asyncio Protocol of one HTTP/1.1 client connection.

It owns the transport and drives the sans-I/O :class:`~._h1.ResponseParser`:
bytes in go to the parser; the parser's events resolve the head future and
feed the body stream. It also keeps the connection's reuse state (may it go
back to the pool?), write flow control (``drain``) and the read timer that
enforces ``sock_read`` and the total deadline.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from ._compress import get_decoder
from ._errors import (
    ClientConnectionError,
    ClientError,
    ClientOSError,
    ClientPayloadError,
    ServerDisconnectedError,
    ServerTimeoutError,
    SocketTimeoutError,
)
from ._h1 import ResponseHead, ResponseParser
from ._streams import DEFAULT_LIMIT, EmptyStreamReader, StreamReader


class HttpProtocol(asyncio.Protocol):
    """One client connection: send a request, receive its response, repeat."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        key: Any = None,
        *,
        max_line_size: int = 8190,
        max_field_size: int = 8190,
        max_headers_size: int = 65536,
    ) -> None:
        self._loop = loop
        self.key = key
        self.transport: asyncio.Transport | None = None
        self._parser = ResponseParser(
            self,
            max_line_size=max_line_size,
            max_field_size=max_field_size,
            max_headers_size=max_headers_size,
        )
        self._head_waiter: asyncio.Future | None = None
        self._stream: StreamReader | None = None
        self._decoder: Any = None
        self._auto_decompress = True
        self._limit = DEFAULT_LIMIT
        self.closed = False  # the transport is gone
        self.should_close = False  # cannot be reused
        self.response_done = True  # the last response was read to its end by the parser
        self.request_sent = True  # the last request body was fully written
        self._exc: BaseException | None = None
        self._sock_read: float | None = None
        self._deadline: float | None = None
        self._last_data = 0.0
        self._write_paused = False
        self._drain_waiter: asyncio.Future | None = None
        self._reading_paused = False
        self._closed_fut: asyncio.Future | None = None
        self.expire_at = 0.0
        self.reuse_count = 0
        self.acquired = False
        self.writer: asyncio.Task | None = None
        self._timer_handle: asyncio.TimerHandle | None = None
        self._timer_waiter: asyncio.Future | None = None
        self._timer_at = 0.0
        self._timer_target = 0.0

    # --- asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except (OSError, AttributeError):
                pass

    def data_received(self, data: bytes) -> None:
        if self._sock_read is not None:
            self._last_data = self._loop.time()
        try:
            self._parser.feed(data)
        except ClientError as exc:
            self._fail(exc)

    def eof_received(self) -> bool:
        self.should_close = True
        try:
            self._parser.feed_eof()
        except ClientError as exc:
            self._fail(exc)
        return False

    def connection_lost(self, exc: BaseException | None) -> None:
        self.closed = True
        if self._timer_handle is not None:
            self._timer_handle.cancel()
            self._timer_handle = None
        self.should_close = True
        if not self._parser.done:
            if exc is None:
                try:
                    self._parser.feed_eof()
                except ClientError as err:
                    self._fail(err, abort=False)
            else:
                if self._parser.head_received:
                    err2: ClientError = ClientPayloadError(
                        f"Response payload is not completed: {exc!r}"
                    )
                else:
                    err2 = ServerDisconnectedError(f"Server disconnected: {exc!r}")
                err2.__cause__ = exc
                self._fail(err2, abort=False)
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            self._drain_waiter = None
            waiter.set_exception(ClientConnectionError("Connection lost while writing"))
        if self._closed_fut is not None and not self._closed_fut.done():
            self._closed_fut.set_result(None)
        self.transport = None

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        waiter = self._drain_waiter
        if waiter is not None:
            self._drain_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # --- parser receiver ----------------------------------------------------------------
    def on_head(self, head: ResponseHead) -> None:
        if head.has_body:
            stream = StreamReader(self, self._limit, loop=self._loop)
            if self._auto_decompress and head.content_encoding is not None:
                self._decoder = get_decoder(head.content_encoding)
        else:
            stream = EmptyStreamReader()
        self._stream = stream
        if not head.keep_alive:
            self.should_close = True
        waiter = self._head_waiter
        if waiter is not None:
            self._head_waiter = None
            if not waiter.done():
                waiter.set_result((head, stream))

    def on_body(self, data: bytes) -> None:
        decoder = self._decoder
        if decoder is not None:
            data = decoder.decompress(data)
        self._stream.feed_data(data)  # type: ignore[union-attr]

    def on_complete(self, keep_alive: bool) -> None:
        self.response_done = True
        if not keep_alive:
            self.should_close = True
        decoder = self._decoder
        stream = self._stream
        if decoder is not None:
            self._decoder = None
            stream.feed_data(decoder.flush())  # type: ignore[union-attr]
        if stream is not None:
            stream.feed_eof()

    # --- requests -----------------------------------------------------------------------
    def send_request(
        self,
        method: str,
        data: bytes,
        sock_read: float | None = None,
        deadline: float | None = None,
        auto_decompress: bool = True,
        limit: int = DEFAULT_LIMIT,
        body_pending: bool = False,
    ) -> asyncio.Future:
        """Write a request head (and body); return the future of ``(head, stream)``."""
        if self.closed or self.transport is None:
            raise ServerDisconnectedError()
        self._parser.expect(method)
        self.response_done = False
        self.request_sent = not body_pending
        self._stream = None
        self._decoder = None
        self._exc = None
        self._auto_decompress = auto_decompress
        self._limit = limit
        self._sock_read = sock_read
        self._deadline = deadline
        if sock_read is not None:
            self._last_data = self._loop.time()
        fut = self._head_waiter = self._loop.create_future()
        self.transport.write(data)
        return fut

    def write(self, data: bytes) -> None:
        if self.closed or self.transport is None:
            raise ClientConnectionError("Connection closed while sending the request body")
        self.transport.write(data)

    async def drain(self) -> None:
        if self.closed:
            raise ClientConnectionError("Connection closed while sending the request body")
        if not self._write_paused:
            return
        waiter = self._drain_waiter = self._loop.create_future()
        await waiter

    def body_sent(self) -> None:
        self.request_sent = True

    def body_failed(self, exc: BaseException) -> None:
        """Writing the request body failed: fail the response and drop the connection."""
        if isinstance(exc, ClientError):
            err = exc
        else:
            err = ClientOSError(
                getattr(exc, "errno", None) or 0, f"Error sending the request body: {exc!r}"
            )
            err.__cause__ = exc
        self._fail(err)

    # --- flow control -------------------------------------------------------------------
    def pause_reading(self) -> None:
        if not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            try:
                self.transport.pause_reading()
            except (AttributeError, NotImplementedError, RuntimeError):
                pass

    def resume_reading(self) -> None:
        if self._reading_paused and self.transport is not None:
            self._reading_paused = False
            try:
                self.transport.resume_reading()
            except (AttributeError, NotImplementedError, RuntimeError):
                pass

    # --- time-outs ----------------------------------------------------------------------
    def arm_read_timer(self, waiter: asyncio.Future) -> None:
        """Fail ``waiter`` with a time-out at ``sock_read`` / the total deadline.

        One timer per connection is kept armed and moved lazily: a new wait only
        re-arms it when it must fire earlier; when it fires early it re-arms for
        the current target. So a keep-alive request usually costs no timer call.
        """
        sock_read = self._sock_read
        deadline = self._deadline
        if sock_read is None and deadline is None:
            return
        if sock_read is not None:
            when = self._loop.time() + sock_read
            if deadline is not None and deadline < when:
                when = deadline
        else:
            when = deadline  # type: ignore[assignment]
        self._timer_waiter = waiter
        self._timer_target = when
        handle = self._timer_handle
        if handle is None or self._timer_at > when:
            if handle is not None:
                handle.cancel()
            self._timer_at = when
            self._timer_handle = self._loop.call_at(when, self._on_read_timer)

    def disarm_read_timer(self) -> None:
        self._timer_waiter = None

    def _cancel_timer(self) -> None:
        self._timer_waiter = None
        handle = self._timer_handle
        if handle is not None:
            self._timer_handle = None
            handle.cancel()

    def _on_read_timer(self) -> None:
        self._timer_handle = None
        waiter = self._timer_waiter
        if waiter is None or waiter.done():
            return
        now = self._loop.time()
        deadline = self._deadline
        sock_read = self._sock_read
        target = self._timer_target
        if sock_read is not None:
            # sock_read counts from the last data received, not from the wait's start.
            since_data = self._last_data + sock_read
            if since_data > target:
                target = since_data
        if deadline is not None and deadline < target:
            target = deadline
        if now < target - 0.001:
            self._timer_at = target
            self._timer_handle = self._loop.call_at(target, self._on_read_timer)
            return
        if deadline is not None and now >= deadline - 0.001:
            exc: ClientError = ServerTimeoutError(
                "Timeout on reading data from socket (total timeout)"
            )
        else:
            exc = SocketTimeoutError("Timeout on reading data from socket")
        self._timer_waiter = None
        waiter.set_exception(exc)
        self._fail(exc)

    # --- failure and closing ------------------------------------------------------------
    def _fail(self, exc: BaseException, abort: bool = True) -> None:
        self.should_close = True
        self._exc = exc
        waiter = self._head_waiter
        if waiter is not None:
            self._head_waiter = None
            if not waiter.done():
                waiter.set_exception(exc)
        stream = self._stream
        if stream is not None and not stream.is_eof() and stream.exception() is None:
            stream.set_exception(exc)
        if abort and self.transport is not None:
            self.transport.abort()

    @property
    def reusable(self) -> bool:
        return (
            self.response_done and self.request_sent and not self.should_close and not self.closed
        )

    def close(self) -> None:
        """Close the transport now (TLS without a close_notify round trip)."""
        self.should_close = True
        transport = self.transport
        if transport is not None:
            if transport.get_extra_info("sslcontext") is not None:
                transport.abort()
            else:
                transport.close()

    def wait_closed(self) -> asyncio.Future:
        if self._closed_fut is None:
            self._closed_fut = self._loop.create_future()
            if self.closed:
                self._closed_fut.set_result(None)
        return self._closed_fut


__all__ = ["HttpProtocol"]
