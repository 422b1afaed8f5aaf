"""``ClientResponse``: status, headers and body of one response, aiohttp's shape.

The response holds its connection until the body is read to the end (then the
connection goes back to the pool at once) or until ``release()`` / ``close()``
/ leaving ``async with``. A connection whose body was not read to its end is
closed, not reused.
"""

from __future__ import annotations

import json as _json
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any, NamedTuple

from ._errors import ClientResponseError, ContentTypeError
from ._multidict import CIMultiDictProxy
from ._streams import StreamReader
from ._url import URL


class RequestInfo(NamedTuple):
    url: URL
    method: str
    headers: Any
    real_url: URL


class _Noop:
    __slots__ = ()

    def __await__(self) -> Any:
        return iter(())


_NOOP = _Noop()

# The bytes bytes.strip() removes: a body starting with none of them is not blank.
_SPACE_BYTES = frozenset(b" \t\n\r\x0b\x0c")


# json.loads(text) with no options is this decoder's decode(text) behind a BOM check;
# decode() is the C scanner between two whitespace regex matches. A body that starts
# with its value and ends with it (the usual case) goes to the scanner alone;
# anything else, and every error, goes through decode() for the same result.
_JSON_LOADS = _json.loads
_JSON_DECODER = _json.JSONDecoder()
_JSON_DECODE = _JSON_DECODER.decode
_JSON_SCAN = _JSON_DECODER.scan_once
_JSON_SPACE = " \t\n\r"


def _json_decode(text: str) -> Any:
    """``json.loads(text)`` for a str without a BOM."""
    if text[0] not in _JSON_SPACE:
        try:
            obj, end = _JSON_SCAN(text, 0)
        except StopIteration:
            pass
        else:
            if end == len(text):
                return obj
    return _JSON_DECODE(text)

_CT_CACHE: dict[str, tuple[str, dict[str, str]]] = {}
_CT_CACHE_MAX = 256


def parse_content_type(value: str | None) -> tuple[str, dict[str, str]]:
    if not value:
        return "application/octet-stream", {}
    mime, _, rest = value.partition(";")
    params = {}
    for part in rest.split(";"):
        k, sep, v = part.partition("=")
        if sep:
            params[k.strip().lower()] = v.strip().strip('"')
    return mime.strip().lower(), params


class ClientResponse:
    """A response; use it as ``async with session.get(url) as resp``."""

    __slots__ = (
        "method",
        "url",
        "_real_url",
        "status",
        "reason",
        "version",
        "_head",
        "_headers",
        "content",
        "_body",
        "_protocol",
        "_connector",
        "_request_info_args",
        "_request_info",
        "_history",
        "_cookies",
        "_ctype",
        "_closed",
        "__weakref__",
    )

    def __init__(
        self,
        method: str,
        url: URL,
        head: Any,
        stream: StreamReader,
        protocol: Any,
        connector: Any,
        request_headers: Any,
    ) -> None:
        self.method = method
        self.url = url
        self._real_url = url
        self._head = head
        self.status: int = head.status
        self.reason: str = head.reason
        self.version = head.version
        self._headers: CIMultiDictProxy | None = None
        self.content = stream
        self._body: bytes | None = None
        self._protocol = protocol
        self._connector = connector
        self._request_info_args = request_headers
        self._request_info: RequestInfo | None = None
        self._history: tuple = ()
        self._cookies: SimpleCookie | None = None
        self._ctype: tuple[str, dict] | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"<ClientResponse({self.url}) [{self.status} {self.reason}]>"

    # --- head ---------------------------------------------------------------------------
    @property
    def headers(self) -> CIMultiDictProxy:
        h = self._headers
        if h is None:
            h = self._headers = CIMultiDictProxy._from_raw(self._head.headers_list)
        return h

    @property
    def raw_headers(self) -> tuple:
        return self._head.raw_headers

    @property
    def real_url(self) -> URL:
        return self._real_url

    @property
    def host(self) -> str | None:
        return self.url.host

    @property
    def history(self) -> tuple:
        return self._history

    @property
    def ok(self) -> bool:
        return self.status < 400

    @property
    def request_info(self) -> RequestInfo:
        info = self._request_info
        if info is None:
            info = self._request_info = RequestInfo(
                self.url, self.method, self._request_info_args, self._real_url
            )
        return info

    @property
    def cookies(self) -> SimpleCookie:
        c = self._cookies
        if c is None:
            c = self._cookies = SimpleCookie()
            for value in self.headers.getall("Set-Cookie", ()):
                try:
                    c.load(value)
                except Exception:
                    pass
        return c

    def _content_type(self) -> tuple[str, dict]:
        ct = self._ctype
        if ct is None:
            # Responses repeat their Content-Type: parse each value once. The cached
            # params dict is shared, so it is only read here (content_type, charset).
            value = self._head.content_type
            ct = _CT_CACHE.get(value) if value else None
            if ct is None:
                ct = parse_content_type(value)
                if value:
                    if len(_CT_CACHE) >= _CT_CACHE_MAX:
                        _CT_CACHE.clear()
                    _CT_CACHE[value] = ct
            self._ctype = ct
        return ct

    @property
    def content_type(self) -> str:
        return self._content_type()[0]

    @property
    def charset(self) -> str | None:
        return self._content_type()[1].get("charset")

    @property
    def content_length(self) -> int | None:
        return self._head.content_length

    @property
    def connection(self) -> Any:
        return self._protocol

    @property
    def closed(self) -> bool:
        return self._closed

    # --- body ---------------------------------------------------------------------------
    def _read_now(self) -> bytes | None:
        """The whole body if it has already arrived (no await needed), else None."""
        body = self._body
        if body is None:
            content = self.content
            if content._eof and content._exception is None:
                buf = content._buffer
                if buf:  # content._take(-1), inlined
                    body = buf.popleft() if len(buf) == 1 else b"".join(buf)
                    buf.clear()
                    content._size = 0
                    if content._paused:
                        content._consumed()
                else:
                    body = b""
                self._body = body
                self._release_connection()
        return body

    async def read(self) -> bytes:
        """The whole body (decoded from gzip/deflate); releases the connection."""
        body = self._body
        if body is None:
            try:
                body = self._body = await self.content.read()
            except BaseException:
                self._drop()
                raise
            self._release_connection()
        return body

    def get_encoding(self) -> str:
        charset = self.charset
        if charset:
            return charset
        return "utf-8"

    async def text(self, encoding: str | None = None, errors: str = "strict") -> str:
        body = self._body or self._read_now()
        if body is None:
            body = await self.read()
        return body.decode(encoding or self.get_encoding(), errors)

    async def json(
        self,
        *,
        encoding: str | None = None,
        loads: Callable[[Any], Any] = _json.loads,
        content_type: str | None = "application/json",
    ) -> Any:
        body = self._body or self._read_now()
        if body is None:
            body = await self.read()
        ctype, params = self._ctype or self._content_type()
        if content_type:
            if "json" not in ctype and ctype != content_type:
                raise ContentTypeError(
                    self.request_info,
                    self._history,
                    status=self.status,
                    message=f"Attempt to decode JSON with unexpected mimetype: {ctype}",
                    headers=self.headers,
                )
        if not body or (body[0] in _SPACE_BYTES and not body.strip()):
            return None
        text = body.decode(encoding or params.get("charset") or "utf-8")
        if loads is _JSON_LOADS and not text.startswith("\ufeff"):
            return _json_decode(text)
        return loads(text)

    def raise_for_status(self) -> None:
        if self.status >= 400:
            self.release()
            raise ClientResponseError(
                self.request_info,
                self._history,
                status=self.status,
                message=self.reason,
                headers=self.headers,
            )

    # --- connection ---------------------------------------------------------------------
    def _release_connection(self) -> None:
        proto = self._protocol
        if proto is not None:
            self._protocol = None
            self._connector.release(proto)

    def _drop(self) -> None:
        proto = self._protocol
        if proto is not None:
            self._protocol = None
            self._connector.release(proto, reuse=False)

    def release(self) -> Any:
        """Give the connection back (reused if the body was read to its end)."""
        self._closed = True
        proto = self._protocol
        if proto is not None:
            self._protocol = None
            self._connector.release(proto, reuse=proto.response_done)
        return _NOOP

    def close(self) -> None:
        """Close the connection now, whatever the state of the body."""
        self._closed = True
        self._drop()

    async def wait_for_close(self) -> None:
        self.release()

    def __del__(self) -> None:
        if self._protocol is not None:
            try:
                self._drop()
            except Exception:
                pass

    async def __aenter__(self) -> ClientResponse:
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.release()


__all__ = ["ClientResponse", "RequestInfo"]
