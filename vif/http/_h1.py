"""Sans-I/O HTTP/1.1 for the client side: request heads out, response events in.

:func:`serialize_head` turns a request line and headers into bytes.
:class:`ResponseParser` is fed the bytes the socket received and reports, through
a receiver object, ``on_head(head)``, ``on_body(data)`` and ``on_complete()``.
Parsing itself is done by httptools (llhttp); this module adds what llhttp
leaves to the caller: size limits, responses without a body by request method
(HEAD, CONNECT), skipping 1xx responses and ending read-until-close bodies.
Nothing here touches a socket or an event loop.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import httptools

from ._errors import (
    ClientPayloadError,
    ContentLengthError,
    HeadersTooLarge,
    InvalidResponseError,
    LineTooLong,
    ServerDisconnectedError,
    TransferEncodingError,
)

MAX_LINE_SIZE = 8190
MAX_FIELD_SIZE = 8190
MAX_HEADERS_SIZE = 65536
MAX_HEADERS = 256


class HttpVersion(NamedTuple):
    major: int
    minor: int


HttpVersion10 = HttpVersion(1, 0)
HttpVersion11 = HttpVersion(1, 1)


def _check_header(name: str, value: str) -> None:
    if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
        raise ValueError(f"invalid characters in header {name!r}: {value!r}")


def serialize_head(method: str, target: str, headers: Any) -> bytes:
    """The request line and header block, ending with the blank line.

    ``headers`` is an iterable of (name, value) string pairs.
    """
    parts = [f"{method} {target} HTTP/1.1\r\n"]
    append = parts.append
    for name, value in headers:
        if "\r" in value or "\n" in value or "\n" in name or "\r" in name:
            _check_header(name, value)
        append(f"{name}: {value}\r\n")
    append("\r\n")
    return "".join(parts).encode("utf-8", "surrogateescape")


class ResponseHead:
    """The status line and headers of one response, as the parser saw them."""

    __slots__ = (
        "status",
        "reason",
        "version",
        "raw_headers",
        "_list",
        "keep_alive",
        "chunked",
        "content_length",
        "has_body",
        "upgrade",
        "content_encoding",
        "has_set_cookie",
        "content_type",
    )

    def __init__(
        self,
        status: int,
        reason: str,
        version: HttpVersion,
        raw_headers: tuple,
        keep_alive: bool,
        chunked: bool,
        content_length: int | None,
        has_body: bool,
        content_encoding: str | None = None,
        has_set_cookie: bool = False,
    ) -> None:
        self.status = status
        self.reason = reason
        self.version = version
        self.raw_headers = raw_headers
        self._list: list | None = None
        self.keep_alive = keep_alive
        self.chunked = chunked
        self.content_length = content_length
        self.has_body = has_body
        self.upgrade = False
        self.content_encoding = content_encoding
        self.has_set_cookie = has_set_cookie
        self.content_type: str | None = None

    @property
    def headers_list(self) -> list:
        """(lower name, name, value) string triples, decoded on first use."""
        lst = self._list
        if lst is None:
            lst = self._list = []
            for name, value in self.raw_headers:
                n = name.decode("latin-1")
                lst.append((n.lower(), n, value.decode("utf-8", "surrogateescape")))
        return lst


# The header names the parser looks at, by their lower-case spelling; the usual
# spellings are found as they are, others are lowered once their length matches.
_TE, _CL, _CE, _SC, _CT = range(5)
_SPECIAL = {
    b"transfer-encoding": _TE,
    b"content-length": _CL,
    b"content-encoding": _CE,
    b"set-cookie": _SC,
    b"content-type": _CT,
}
_SPECIAL_LENGTHS = frozenset(len(name) for name in _SPECIAL)
_SPECIAL.update({name.title(): kind for name, kind in _SPECIAL.items()})


class ResponseParser:
    """Parse responses with httptools and report them to ``receiver``.

    The receiver has ``on_head(head)``, ``on_body(data)`` and ``on_complete(keep_alive)``.
    Call :meth:`expect` before each response with the request method, then
    :meth:`feed` with each chunk of bytes and :meth:`feed_eof` when the peer
    closed. Errors are raised from :meth:`feed` / :meth:`feed_eof` as
    :class:`InvalidResponseError` (in the head) or :class:`ClientPayloadError`
    (in the body).
    """

    __slots__ = (
        "_receiver",
        "_parser",
        "_method",
        "_raw",
        "_reason",
        "_head_bytes",
        "_in_head",
        "_in_body",
        "_head",
        "_done",
        "_chunked",
        "_clen",
        "_fresh_parser",
        "max_line_size",
        "max_field_size",
        "max_headers_size",
        "_error",
        "_hsize",
        "_encoding",
        "_cookie",
        "_ctype",
        "_v11",
    )

    def __init__(
        self,
        receiver: Any,
        *,
        max_line_size: int = MAX_LINE_SIZE,
        max_field_size: int = MAX_FIELD_SIZE,
        max_headers_size: int = MAX_HEADERS_SIZE,
    ) -> None:
        self._receiver = receiver
        self.max_line_size = max_line_size
        self.max_field_size = max_field_size
        self.max_headers_size = max_headers_size
        self._parser = httptools.HttpResponseParser(self)
        self._fresh_parser = False
        self._method = "GET"
        self._reset()
        self._done = True
        self._error: BaseException | None = None
        # The head being parsed began a chunk with "HTTP/1.1 ": its version is known
        # without get_http_version() (which formats a string). False: ask the parser.
        self._v11 = False

    def _reset(self) -> None:
        self._raw: list = []
        self._reason = ""
        self._head_bytes = 0
        self._hsize = 0
        self._in_head = False
        self._in_body = False
        self._head: ResponseHead | None = None
        self._chunked = False
        self._clen: int | None = None
        self._encoding: str | None = None
        self._cookie = False
        self._ctype: str | None = None

    # --- driving ------------------------------------------------------------------------
    def expect(self, method: str) -> None:
        """Prepare for the response to a request with ``method``."""
        if self._fresh_parser:
            self._parser = httptools.HttpResponseParser(self)
            self._fresh_parser = False
        self._method = method
        # What started / head_received / feed / feed_eof read before the first byte;
        # on_message_begin, which llhttp calls before every head, resets the rest.
        self._head = None
        self._in_head = False
        self._head_bytes = 0
        self._done = False
        self._error = None

    @property
    def done(self) -> bool:
        return self._done

    @property
    def head_received(self) -> bool:
        return self._head is not None

    @property
    def started(self) -> bool:
        return self._in_head or self._head is not None

    def feed(self, data: bytes) -> None:
        if self._done:
            # Bytes nobody asked for: the connection cannot be trusted any more.
            raise InvalidResponseError(None, message="data received without a request")
        in_head = self._head is None
        if in_head:
            self._head_bytes += len(data)
            if not self._in_head:  # no head begun: one begins with this chunk
                self._v11 = data.startswith(b"HTTP/1.1 ")
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            return
        except httptools.HttpParserError as exc:
            err = self._error
            if (
                err is None
                and exc.__context__ is not None
                and isinstance(exc.__context__, InvalidResponseError | ClientPayloadError)
            ):
                err = exc.__context__
            if err is not None:
                raise err from None
            if self._head is None:
                raise InvalidResponseError(
                    None, status=400, message=f"Bad response head: {exc}"
                ) from None
            msg = str(exc)
            if "chunk" in msg.lower():
                raise TransferEncodingError(f"Malformed chunked body: {msg}") from None
            raise ClientPayloadError(f"Malformed response body: {msg}") from None
        if self._head is None and not self._done and self._head_bytes > self.max_headers_size:
            raise HeadersTooLarge(
                None, status=400, message=f"Response head over {self.max_headers_size} bytes"
            )

    def feed_eof(self) -> None:
        """The peer closed: complete a read-until-close body, or raise."""
        if self._done:
            return
        head = self._head
        if head is None:
            if self._in_head:
                raise ServerDisconnectedError(
                    "Server disconnected in the middle of the response head"
                )
            raise ServerDisconnectedError()
        if not head.chunked and head.content_length is None:
            self._done = True
            self._receiver.on_complete(False)
            return
        if head.chunked:
            raise TransferEncodingError(
                "Response payload is not completed: the chunked body ended early"
            )
        raise ContentLengthError(
            "Response payload is not completed: the body is shorter than its Content-Length"
        )

    # --- httptools callbacks ------------------------------------------------------------
    def on_message_begin(self) -> None:
        if self._done:
            self._error = InvalidResponseError(None, message="data received after the response")
            raise self._error
        self._reset()
        self._in_head = True

    def on_status(self, status: bytes) -> None:
        # llhttp reports the reason phrase in pieces when it spans two reads.
        reason = (
            self._reason + status.decode("latin-1") if self._reason else status.decode("latin-1")
        )
        if len(reason) > self.max_line_size:
            self._error = LineTooLong(None, status=400, message="Status line is too long")
            raise self._error
        self._reason = reason

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._head is not None:
            return  # a trailer: ignored
        n = len(name)
        size = n + len(value)
        if size + 2 > self.max_field_size:
            self._error = LineTooLong(
                None,
                status=400,
                message=f"Header line is too long: got more than {self.max_field_size} bytes",
            )
            raise self._error
        hsize = self._hsize = self._hsize + size + 4
        if hsize > self.max_headers_size:
            self._error = HeadersTooLarge(
                None, status=400, message=f"Response headers over {self.max_headers_size} bytes"
            )
            raise self._error
        raw = self._raw
        if len(raw) >= MAX_HEADERS:
            self._error = HeadersTooLarge(None, status=400, message="Too many headers")
            raise self._error
        raw.append((name, value))
        kind = _SPECIAL.get(name)
        if kind is None:
            if n not in _SPECIAL_LENGTHS:
                return
            kind = _SPECIAL.get(name.lower())
            if kind is None:
                return
        if kind == _CL:
            try:
                self._clen = int(value)
            except ValueError:
                self._error = InvalidResponseError(None, status=400, message="Bad Content-Length")
                raise self._error from None
        elif kind == _CT:
            if self._ctype is None:
                self._ctype = value.decode("latin-1")
        elif kind == _TE:
            if b"chunked" in value.lower():
                self._chunked = True
        elif kind == _CE:
            self._encoding = value.decode("latin-1")
        else:
            self._cookie = True

    def on_headers_complete(self) -> None:
        parser = self._parser
        status = parser.get_status_code()
        if status < 200 and status != 101:
            return  # 1xx: llhttp completes it without a body; wait for the real answer
        if self._v11 or parser.get_http_version() == "1.1":
            version = HttpVersion11
        else:
            version = HttpVersion10
        method = self._method
        has_body = not (
            method == "HEAD"
            or status in (204, 304)
            or (method == "CONNECT" and 200 <= status < 300)
        )
        head = ResponseHead(
            status,
            self._reason,
            version,
            tuple(self._raw),
            parser.should_keep_alive(),
            self._chunked,
            self._clen if not self._chunked else None,
            has_body,
            self._encoding,
            self._cookie,
        )
        head.content_type = self._ctype
        self._head = head
        self._in_head = False
        if status == 101:
            head.upgrade = True
            head.keep_alive = False
        self._receiver.on_head(head)
        if (method == "HEAD" or method == "CONNECT") and status >= 200:
            # llhttp does not know the method; it would read a body we must not expect.
            self._fresh_parser = True
            self._done = True
            self._receiver.on_complete(head.keep_alive and method == "HEAD")

    def on_body(self, body: bytes) -> None:
        if self._done:
            return
        self._receiver.on_body(body)

    def on_message_complete(self) -> None:
        if self._head is None:
            # The end of a 1xx response; the next head may begin anywhere in the chunk.
            self._reset()
            self._v11 = False
            return
        if self._done:
            return
        self._done = True
        self._receiver.on_complete(self._parser.should_keep_alive() and self._head.keep_alive)


__all__ = [
    "HttpVersion",
    "HttpVersion10",
    "HttpVersion11",
    "ResponseHead",
    "ResponseParser",
    "serialize_head",
]
