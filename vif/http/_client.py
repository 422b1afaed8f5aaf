"""``ClientSession``: requests, redirects, cookies, auth, proxies and time-outs.

A request goes: build the URL and headers, take a connection from the
connector (bounded by ``connect``), write the head and body, wait for the
response head (bounded by ``sock_read`` and ``total``), then follow redirects
or return the :class:`~._response.ClientResponse`. A request that fails on a
reused keep-alive connection before any byte of the answer arrived is retried
once on a fresh connection (the server closed it while idle).
"""

from __future__ import annotations

import asyncio
import json as _json
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping
from http.cookies import Morsel, SimpleCookie
from typing import Any

from ._compress import ACCEPT_ENCODING
from ._connector import TCPConnector
from ._cookies import CookieJar
from ._errors import (
    ClientError,
    ClientOSError,
    ConnectionTimeoutError,
    InvalidUrlClientError,
    InvalidUrlRedirectClientError,
    NonHttpUrlClientError,
    NonHttpUrlRedirectClientError,
    ServerDisconnectedError,
    TooManyRedirects,
)
from ._h1 import serialize_head
from ._multidict import CIMultiDict, MultiDict
from ._payload import BasicAuth, compress_body, prepare_body
from ._protocol import HttpProtocol
from ._response import ClientResponse, RequestInfo  # noqa: F401
from ._timeouts import DEFAULT_TIMEOUT, ClientTimeout
from ._tracing import (
    Trace,
    TraceRequestEndParams,
    TraceRequestExceptionParams,
    TraceRequestRedirectParams,
    TraceRequestStartParams,
    send_all,
)
from ._url import _CACHE as _URL_CACHE
from ._url import URL

_SENTINEL: Any = object()
_HTTP_SCHEMES = frozenset({"http", "https"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
_NEEDS_LENGTH = frozenset({"POST", "PUT", "PATCH"})
_BODY_HEADERS = ("content-type", "content-length", "transfer-encoding", "content-encoding")
USER_AGENT = f"Python/{sys.version_info[0]}.{sys.version_info[1]} vif-http/0.1"


def _header_items(headers: Any) -> Iterable[tuple[str, str]]:
    if headers is None:
        return ()
    if isinstance(headers, MultiDict):
        return headers.items()
    if isinstance(headers, Mapping):
        return headers.items()
    return headers


class ClientSession:
    """A set of requests sharing a connection pool, cookies and defaults."""

    def __init__(
        self,
        base_url: str | URL | None = None,
        *,
        connector: TCPConnector | None = None,
        cookies: Any = None,
        headers: Any = None,
        skip_auto_headers: Iterable[str] | None = None,
        auth: BasicAuth | None = None,
        json_serialize: Callable[[Any], str] = _json.dumps,
        cookie_jar: CookieJar | None = None,
        connector_owner: bool = True,
        raise_for_status: bool | Callable[[ClientResponse], Any] = False,
        timeout: ClientTimeout | float | None = _SENTINEL,
        auto_decompress: bool = True,
        trust_env: bool = False,
        requote_redirect_url: bool = True,
        trace_configs: list | None = None,
        read_bufsize: int = 2**16,
        max_line_size: int = 8190,
        max_field_size: int = 8190,
        max_headers_size: int = 65536,
        max_redirects: int = 10,
        fallback_charset_resolver: Any = None,
    ) -> None:
        self._closed = True  # until fully initialized, for __del__
        if base_url is not None:
            base_url = URL(str(base_url)) if not isinstance(base_url, URL) else base_url
            if not base_url.is_absolute():
                raise ValueError("base_url must be an absolute URL")
        self._base_url: URL | None = base_url
        if connector is None:
            connector = TCPConnector()
        connector.max_line_size = max_line_size
        connector.max_field_size = max_field_size
        connector.max_headers_size = max_headers_size
        self._connector = connector
        self._connector_owner = connector_owner
        self._cookie_jar = cookie_jar if cookie_jar is not None else CookieJar()
        if cookies:
            self._cookie_jar.update_cookies(cookies)
        # The default jar's cookie store (a dict it never replaces): testing it for
        # emptiness spares a CookieJar.__bool__ call per request.
        jar = self._cookie_jar
        self._jar_cookies: dict | None = jar._cookies if type(jar) is CookieJar else None
        self._default_headers = CIMultiDict(headers) if headers else CIMultiDict()
        self._skip_auto_headers = frozenset(h.lower() for h in (skip_auto_headers or ()))
        self._auth = auth
        self._json_serialize = json_serialize
        self._raise_for_status = raise_for_status
        if timeout is _SENTINEL:
            timeout = DEFAULT_TIMEOUT
        elif timeout is None:
            timeout = ClientTimeout()
        elif not isinstance(timeout, ClientTimeout):
            timeout = ClientTimeout(total=timeout)
        self._timeout: ClientTimeout = timeout
        self._auto_decompress = auto_decompress
        self._trust_env = trust_env
        self._trace_configs = list(trace_configs or ())
        for tc in self._trace_configs:
            tc.freeze()
        self._read_bufsize = read_bufsize
        self._max_redirects = max_redirects
        self._default_items = self._build_default_items()
        self._default_pairs = [(k, v) for k, v, _ in self._default_items]
        self._default_block = (
            "".join(f"{k}: {v}\r\n" for k, v in self._default_pairs) + "\r\n"
        ).encode("utf-8")
        self._fast_headers = "host" not in self._skip_auto_headers and not any(
            "\r" in v or "\n" in v for _, v in self._default_pairs
        )
        self._closed = False

    def _build_default_items(self) -> list[tuple[str, str, str]]:
        """Session headers plus the automatic ones, as (name, value, lower name)."""
        items = [(k, v, k.lower()) for k, v in self._default_headers.items()]
        present = {lk for _, _, lk in items}
        skip = self._skip_auto_headers
        for name, value in (
            ("Accept", "*/*"),
            ("Accept-Encoding", ACCEPT_ENCODING),
            ("User-Agent", USER_AGENT),
        ):
            ln = name.lower()
            if ln not in present and ln not in skip:
                if ln == "accept-encoding" and not self._auto_decompress:
                    continue
                items.append((name, value, ln))
        return items

    def __del__(self, _warnings: Any = warnings) -> None:
        if not self._closed:
            _warnings.warn(f"Unclosed client session {self!r}", ResourceWarning, source=self)

    # --- properties ---------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def connector(self) -> TCPConnector:
        return self._connector

    @property
    def cookie_jar(self) -> CookieJar:
        return self._cookie_jar

    @property
    def headers(self) -> CIMultiDict:
        return self._default_headers

    @property
    def timeout(self) -> ClientTimeout:
        return self._timeout

    @property
    def auth(self) -> BasicAuth | None:
        return self._auth

    @property
    def trust_env(self) -> bool:
        return self._trust_env

    @property
    def trace_configs(self) -> list:
        return self._trace_configs

    @property
    def version(self) -> tuple[int, int]:
        return (1, 1)

    # --- verbs --------------------------------------------------------------------------
    def request(self, method: str, url: str | URL, **kwargs: Any) -> _RequestContextManager:
        return _RequestContextManager(self._request(method, url, **kwargs))

    def get(
        self, url: str | URL, *, allow_redirects: bool = True, **kwargs: Any
    ) -> _RequestContextManager:
        return _RequestContextManager(
            self._request("GET", url, allow_redirects=allow_redirects, **kwargs)
        )

    def options(
        self, url: str | URL, *, allow_redirects: bool = True, **kwargs: Any
    ) -> _RequestContextManager:
        return _RequestContextManager(
            self._request("OPTIONS", url, allow_redirects=allow_redirects, **kwargs)
        )

    def head(
        self, url: str | URL, *, allow_redirects: bool = False, **kwargs: Any
    ) -> _RequestContextManager:
        return _RequestContextManager(
            self._request("HEAD", url, allow_redirects=allow_redirects, **kwargs)
        )

    def post(self, url: str | URL, *, data: Any = None, **kwargs: Any) -> _RequestContextManager:
        return _RequestContextManager(self._request("POST", url, data=data, **kwargs))

    def put(self, url: str | URL, *, data: Any = None, **kwargs: Any) -> _RequestContextManager:
        return _RequestContextManager(self._request("PUT", url, data=data, **kwargs))

    def patch(self, url: str | URL, *, data: Any = None, **kwargs: Any) -> _RequestContextManager:
        return _RequestContextManager(self._request("PATCH", url, data=data, **kwargs))

    def delete(self, url: str | URL, **kwargs: Any) -> _RequestContextManager:
        return _RequestContextManager(self._request("DELETE", url, **kwargs))

    # --- closing ------------------------------------------------------------------------
    async def close(self) -> None:
        """Close the session and (if it owns it) the connector and all its connections."""
        if self._closed:
            return
        self._closed = True
        if self._connector_owner:
            await self._connector.close()

    def detach(self) -> None:
        self._closed = True

    async def __aenter__(self) -> ClientSession:
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        await self.close()

    # --- the request --------------------------------------------------------------------
    def _make_url(self, str_or_url: str | URL) -> URL:
        try:
            url = URL(str_or_url) if not isinstance(str_or_url, URL) else str_or_url
        except (ValueError, TypeError) as exc:
            raise InvalidUrlClientError(str_or_url, str(exc)) from None
        if self._base_url is not None and not url.is_absolute():
            url = self._base_url.join(url)
        return url

    def _proxy_for(
        self, url: URL, proxy: Any, proxy_auth: BasicAuth | None
    ) -> tuple[Any, str | None]:
        if proxy is None and self._trust_env:
            import urllib.request  # heavy (email, http.client): only for trust_env

            proxies = urllib.request.getproxies()
            candidate = proxies.get(url.scheme)
            if candidate and not urllib.request.proxy_bypass(url.host or ""):
                proxy = candidate
        if proxy is None:
            return None, None
        proxy_url = URL(str(proxy)) if not isinstance(proxy, URL) else proxy
        if proxy_url.scheme not in _HTTP_SCHEMES or not proxy_url.host:
            raise InvalidUrlClientError(proxy, "unsupported proxy URL")
        if proxy_auth is None and proxy_url.user is not None:
            proxy_auth = BasicAuth(proxy_url.user, proxy_url.password or "")
        if proxy_url.user is not None:
            proxy_url = proxy_url.with_user(None)
        return proxy_url, (proxy_auth.encode() if proxy_auth is not None else None)

    async def _request(
        self,
        method: str,
        str_or_url: str | URL,
        *,
        params: Any = None,
        data: Any = None,
        json: Any = None,
        cookies: Any = None,
        headers: Any = None,
        skip_auto_headers: Iterable[str] | None = None,
        auth: BasicAuth | None = None,
        allow_redirects: bool = True,
        max_redirects: int | None = None,
        compress: Any = None,
        chunked: bool | None = None,
        expect100: bool = False,
        raise_for_status: Any = None,
        read_until_eof: bool = True,
        proxy: Any = None,
        proxy_auth: BasicAuth | None = None,
        timeout: Any = _SENTINEL,
        ssl: Any = True,
        server_hostname: str | None = None,
        proxy_headers: Any = None,
        trace_request_ctx: Any = None,
        read_bufsize: int | None = None,
        auto_decompress: bool | None = None,
        max_line_size: int | None = None,
        max_field_size: int | None = None,
    ) -> ClientResponse:
        if self._closed:
            raise RuntimeError("Session is closed")
        method = method.upper()
        # A URL string seen before is one dict lookup (URL() caches by string).
        url = (
            _URL_CACHE.get(str_or_url)
            if self._base_url is None and type(str_or_url) is str
            else None
        )
        if url is None:
            url = self._make_url(str_or_url)
        if url.scheme not in _HTTP_SCHEMES:
            raise NonHttpUrlClientError(url)
        if not url.host:
            raise InvalidUrlClientError(url, "URL has no host")
        if params:
            url = url.extend_query(params)
        if url.fragment:
            url = url.with_fragment(None)

        if timeout is _SENTINEL:
            t = self._timeout
        elif timeout is None:
            t = ClientTimeout()
        elif isinstance(timeout, ClientTimeout):
            t = timeout
        else:
            t = ClientTimeout(total=timeout)
        # The connector is bound to the loop it first ran on (its pooled transports are);
        # reusing it skips get_running_loop, which costs a getpid() syscall on 3.11.
        loop = self._connector._loop or asyncio.get_running_loop()
        deadline = loop.time() + t.total if t.total is not None else None

        if data is None and json is None:
            body = content_type = stream = None
        else:
            body, content_type, stream = prepare_body(data, json, self._json_serialize)
        content_encoding = None
        if compress and (body is not None or stream is not None):
            body, stream, content_encoding = compress_body(body, stream, compress)
            if stream is not None:
                chunked = True
        stream_length = (
            getattr(stream, "size", None) if stream is not None and not chunked else None
        )
        if chunked and body is not None and stream is None:
            stream = _single(body)
            body = None

        if auth is None:
            auth = self._auth
        if auth is None and url.user is not None:
            auth = BasicAuth.from_url(url)
            url = url.with_user(None)
        elif auth is not None and url.user is not None:
            raise ValueError("Cannot combine AUTH argument with credentials encoded in URL")
        elif url.user is not None:
            url = url.with_user(None)

        extra_cookies = _cookie_pairs(cookies) if cookies else ""

        traces: list = []
        if self._trace_configs:
            traces = [
                Trace(self, tc, tc.trace_config_ctx(trace_request_ctx=trace_request_ctx))
                for tc in self._trace_configs
            ]

        skip = self._skip_auto_headers
        if skip_auto_headers:
            skip = skip | {h.lower() for h in skip_auto_headers}
        decompress = self._auto_decompress if auto_decompress is None else auto_decompress
        limit = read_bufsize or self._read_bufsize
        max_redirects = self._max_redirects if max_redirects is None else max_redirects
        raise_status = self._raise_for_status if raise_for_status is None else raise_for_status
        history: list[ClientResponse] = []
        connector = self._connector
        first_url = url
        user_headers = headers

        while True:
            if proxy is None and not self._trust_env:
                proxy_url = proxy_auth_header = None  # the common case, without a call
            else:
                proxy_url, proxy_auth_header = self._proxy_for(url, proxy, proxy_auth)
            # --- headers -----------------------------------------------------------------
            if (
                not user_headers
                and body is None
                and stream is None
                and content_encoding is None
                and auth is None
                and proxy_url is None
                and skip is self._skip_auto_headers
                and self._fast_headers
                and not extra_cookies
                and not (self._jar_cookies if self._jar_cookies is not None else self._cookie_jar)
                and method not in _NEEDS_LENGTH
            ):
                # The common case: only the session's headers, serialized once.
                authority = url.authority
                hdrs = [("Host", authority), *self._default_pairs]
                head_bytes = (
                    f"{method} {url.raw_path_qs} HTTP/1.1\r\nHost: {authority}\r\n".encode()
                    + self._default_block
                )
            else:
                hdrs: list[tuple[str, str]] = []
                present: set[str] = set()
                if user_headers:
                    for k, v in _header_items(user_headers):
                        if not isinstance(v, str):
                            v = str(v)
                        hdrs.append((k, v))
                        present.add(k.lower())
                for k, v, lk in self._default_items:
                    if lk not in present and lk not in skip:
                        hdrs.append((k, v))
                if "host" not in present and "host" not in skip:
                    hdrs.insert(0, ("Host", url.authority))
                if auth is not None and "authorization" not in present:
                    hdrs.append(("Authorization", auth.encode()))
                if self._cookie_jar or extra_cookies:
                    cookie = self._cookie_jar.cookie_header(url) if self._cookie_jar else ""
                    if extra_cookies:
                        cookie = f"{cookie}; {extra_cookies}" if cookie else extra_cookies
                    if cookie and "cookie" not in present:
                        hdrs.append(("Cookie", cookie))
                if content_encoding is not None and "content-encoding" not in present:
                    hdrs.append(("Content-Encoding", content_encoding))
                if body is not None:
                    if (
                        content_type
                        and "content-type" not in present
                        and "content-type" not in skip
                    ):
                        hdrs.append(("Content-Type", content_type))
                    if "content-length" not in present:
                        hdrs.append(("Content-Length", str(len(body))))
                elif stream is not None:
                    if (
                        content_type
                        and "content-type" not in present
                        and "content-type" not in skip
                    ):
                        hdrs.append(("Content-Type", content_type))
                    if stream_length is not None:
                        if "content-length" not in present:
                            hdrs.append(("Content-Length", str(stream_length)))
                    elif "transfer-encoding" not in present:
                        hdrs.append(("Transfer-Encoding", "chunked"))
                elif method in ("POST", "PUT", "PATCH") and "content-length" not in present:
                    hdrs.append(("Content-Length", "0"))
                if proxy_url is not None and url.scheme == "http":
                    if proxy_auth_header is not None:
                        hdrs.append(("Proxy-Authorization", proxy_auth_header))
                    if proxy_headers:
                        hdrs.extend(_header_items(proxy_headers))
                    target = str(url)
                else:
                    target = url.raw_path_qs
                head_bytes = serialize_head(method, target, hdrs)

            if traces:
                req_headers = CIMultiDict(hdrs)
                await send_all(
                    traces, "on_request_start", TraceRequestStartParams(method, url, req_headers)
                )
            else:
                req_headers = None

            key = connector.make_key(
                url,
                ssl,
                proxy_url,
                proxy_auth_header,
                server_hostname,
                tuple(_header_items(proxy_headers)) if proxy_headers and proxy_url else None,
            )
            try:
                resp = await self._send(
                    connector,
                    key,
                    method,
                    url,
                    head_bytes,
                    body,
                    stream,
                    t,
                    deadline,
                    decompress,
                    limit,
                    traces,
                    hdrs,
                    loop,
                    stream_length,
                )
            except BaseException as exc:
                if traces and isinstance(exc, Exception):
                    await send_all(
                        traces,
                        "on_request_exception",
                        TraceRequestExceptionParams(method, url, req_headers, exc),
                    )
                raise

            if resp._head.has_set_cookie:
                self._cookie_jar.update_from_headers(resp.headers.getall("Set-Cookie"), url)

            status = resp.status
            if status in _REDIRECTS and allow_redirects:
                if traces:
                    await send_all(
                        traces,
                        "on_request_redirect",
                        TraceRequestRedirectParams(method, url, req_headers, resp),
                    )
                history.append(resp)
                if max_redirects and len(history) > max_redirects:
                    resp.close()
                    raise TooManyRedirects(
                        resp.request_info,
                        tuple(history),
                        status=status,
                        message="Too many redirects",
                        headers=resp.headers,
                    )
                location = resp.headers.get("Location") or resp.headers.get("URI")
                if location is None:
                    break
                # Read (small) redirect bodies so that the connection can be reused.
                try:
                    if resp._head.content_length is not None and resp._head.content_length <= 65536:
                        await resp.read()
                finally:
                    resp.release()
                if (status == 303 and method != "HEAD") or (
                    status in (301, 302) and method == "POST"
                ):
                    method = "GET"
                    body = None
                    stream = None
                    stream_length = None
                    content_encoding = None
                    if user_headers:
                        user_headers = [
                            (k, v)
                            for k, v in _header_items(user_headers)
                            if k.lower() not in _BODY_HEADERS
                        ]
                elif stream is not None:
                    break  # a streamed body cannot be sent twice: return the redirect
                try:
                    new_url = url.join(URL(location))
                except (ValueError, TypeError, ClientError) as exc:
                    raise InvalidUrlRedirectClientError(location, str(exc)) from None
                if new_url.scheme not in _HTTP_SCHEMES:
                    raise NonHttpUrlRedirectClientError(new_url)
                if not new_url.host:
                    raise InvalidUrlRedirectClientError(new_url, "no host")
                if (new_url.scheme, new_url.host, new_url.port) != (
                    first_url.scheme,
                    first_url.host,
                    first_url.port,
                ):
                    # The host changed: credentials stay behind.
                    auth = None
                    if user_headers:
                        user_headers = [
                            (k, v)
                            for k, v in _header_items(user_headers)
                            if k.lower() != "authorization"
                        ]
                if new_url.user is not None:
                    auth = BasicAuth.from_url(new_url)
                    new_url = new_url.with_user(None)
                url = new_url.with_fragment(None) if new_url.fragment else new_url
                continue
            break

        if history:
            resp._history = tuple(history)
        if raise_status:
            if callable(raise_status):
                await raise_status(resp)
            else:
                resp.raise_for_status()
        if traces:
            await send_all(
                traces, "on_request_end", TraceRequestEndParams(method, url, req_headers, resp)
            )
        return resp

    async def _send(
        self,
        connector: TCPConnector,
        key: Any,
        method: str,
        url: URL,
        head_bytes: bytes,
        body: bytes | None,
        stream: Any,
        t: ClientTimeout,
        deadline: float | None,
        decompress: bool,
        limit: int,
        traces: list,
        hdrs: list,
        loop: asyncio.AbstractEventLoop,
        stream_length: int | None = None,
    ) -> ClientResponse:
        # A small body goes out with the head in one write; a large one after it.
        if body is not None and len(body) < 16384:
            head_bytes += body
            body = None
        sock_read = t.sock_read
        body_pending = stream is not None
        retried = False
        while True:
            # Fast path: a live idle connection and a free slot, no await needed.
            proto = None if traces else connector._take_idle(key)
            if proto is None:
                proto = await self._acquire(connector, key, t, deadline, traces, loop)
            reused = proto.reuse_count > 0
            try:
                fut = proto.send_request(
                    method, head_bytes, sock_read, deadline, decompress, limit, body_pending
                )
                if body is not None:
                    proto.write(body)
                if stream is not None:
                    proto.writer = loop.create_task(_write_stream(proto, stream, stream_length))
                if fut.done():
                    head, content = fut.result()
                else:
                    proto.arm_read_timer(fut)
                    try:
                        head, content = await fut
                    finally:
                        proto.disarm_read_timer()
            except (ServerDisconnectedError, ClientOSError) as exc:
                connector.release(proto, reuse=False)
                if (
                    reused
                    and not retried
                    and stream is None
                    and method in _IDEMPOTENT
                    and not proto._parser.started
                ):
                    retried = True
                    continue  # the server closed the idle connection as we wrote
                if isinstance(exc, ServerDisconnectedError) and exc.__cause__ is None:
                    raise
                raise
            except BaseException:
                connector.release(proto, reuse=False)
                raise
            resp = ClientResponse(method, url, head, content, proto, connector, hdrs)
            if content._eof and proto.response_done and not content._buffer:
                # No body (HEAD, 204, 304, Content-Length: 0): the connection is free now.
                resp._body = b""
                resp._release_connection()
            return resp

    async def _acquire(
        self,
        connector: TCPConnector,
        key: Any,
        t: ClientTimeout,
        deadline: float | None,
        traces: list,
        loop: asyncio.AbstractEventLoop,
    ) -> HttpProtocol:
        # (The no-wait case, an idle connection and a free slot, is connector._take_idle.)
        limit = t.connect
        if deadline is not None:
            remaining = deadline - loop.time()
            limit = remaining if limit is None else min(limit, remaining)
        if limit is None:
            return await connector.connect(key, traces, t)
        try:
            async with asyncio.timeout(limit):
                return await connector.connect(key, traces, t)
        except ConnectionTimeoutError:
            raise
        except TimeoutError:
            raise ConnectionTimeoutError(
                f"Connection timeout to host {key.host}:{key.port} (connect={t.connect}, "
                f"total={t.total})"
            ) from None


def _cookie_pairs(cookies: Any) -> str:
    """``cookies=`` of one request (a mapping, pairs or a BaseCookie) as a Cookie value."""
    items = cookies.items() if hasattr(cookies, "items") else cookies
    out = []
    for name, value in items:
        if isinstance(value, Morsel):
            out.append(f"{value.key}={value.coded_value}")
        else:
            out.append(f"{name}={_cookie_value(str(value))}")
    return "; ".join(out)


def _cookie_value(value: str) -> str:
    return SimpleCookie().value_encode(value)[1]


async def _single(data: bytes) -> Any:
    yield data


async def _write_stream(proto: HttpProtocol, stream: Any, length: int | None) -> None:
    """Send a streamed body: chunked, or raw when its ``length`` was announced."""
    try:
        sent = 0
        async for chunk in stream:
            if isinstance(chunk, str):
                chunk = chunk.encode("utf-8")
            if not chunk:
                continue
            if length is None:
                proto.write(b"%x\r\n%b\r\n" % (len(chunk), bytes(chunk)))
            else:
                sent += len(chunk)
                if sent > length:
                    raise ClientOSError(0, "Request body is longer than its Content-Length")
                proto.write(bytes(chunk))
            await proto.drain()
        if length is None:
            proto.write(b"0\r\n\r\n")
        elif sent != length:
            raise ClientOSError(0, "Request body is shorter than its Content-Length")
        proto.body_sent()
    except asyncio.CancelledError:
        proto.body_failed(ClientOSError(0, "Request body upload cancelled"))
        raise
    except BaseException as exc:
        if not proto.closed:
            proto.body_failed(exc)


class _RequestContextManager:
    """``await session.get(url)`` or ``async with session.get(url) as resp``."""

    __slots__ = ("_coro", "_resp")

    def __init__(self, coro: Any) -> None:
        self._coro = coro
        self._resp: ClientResponse | None = None

    def __await__(self) -> Any:
        return self._coro.__await__()

    def send(self, arg: Any) -> Any:
        return self._coro.send(arg)

    def throw(self, *args: Any) -> Any:
        return self._coro.throw(*args)

    def close(self) -> None:
        self._coro.close()

    def __iter__(self) -> Any:
        return self.__await__()

    async def __aenter__(self) -> ClientResponse:
        self._resp = await self._coro
        return self._resp

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        resp = self._resp
        if resp is not None:
            resp.release()


class _SessionRequestContextManager:
    """The one-shot helpers: a private session around one request."""

    __slots__ = ("_method", "_url", "_kwargs", "_session", "_resp", "_session_kwargs")

    def __init__(self, method: str, url: str | URL, session_kwargs: dict, kwargs: dict) -> None:
        self._method = method
        self._url = url
        self._kwargs = kwargs
        self._session_kwargs = session_kwargs
        self._session: ClientSession | None = None
        self._resp: ClientResponse | None = None

    async def _run(self) -> ClientResponse:
        session = ClientSession(**self._session_kwargs)
        try:
            resp = await session._request(self._method, self._url, **self._kwargs)
            await resp.read()
            return resp
        finally:
            await session.close()

    def __await__(self) -> Any:
        return self._run().__await__()

    async def __aenter__(self) -> ClientResponse:
        self._session = ClientSession(**self._session_kwargs)
        try:
            self._resp = await self._session._request(self._method, self._url, **self._kwargs)
        except BaseException:
            await self._session.close()
            raise
        return self._resp

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._resp is not None:
            self._resp.release()
        if self._session is not None:
            await self._session.close()


_SESSION_KEYS = frozenset(
    {
        "connector",
        "cookies",
        "cookie_jar",
        "json_serialize",
        "trust_env",
        "trace_configs",
        "connector_owner",
        "read_bufsize",
        "max_line_size",
        "max_field_size",
        "max_headers_size",
        "auto_decompress_session",
        "base_url",
    }
)


def request(method: str, url: str | URL, **kwargs: Any) -> _SessionRequestContextManager:
    """One request on a private session: ``resp = await vif.http.request("GET", url)``
    (the body is read before the session closes) or ``async with vif.http.request(...)``."""
    session_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in _SESSION_KEYS}
    if "timeout" in kwargs:
        session_kwargs["timeout"] = kwargs.pop("timeout")
    return _SessionRequestContextManager(method, url, session_kwargs, kwargs)


def _verb(method: str) -> Callable[..., _SessionRequestContextManager]:
    def fn(url: str | URL, **kwargs: Any) -> _SessionRequestContextManager:
        return request(method, url, **kwargs)

    fn.__name__ = method.lower()
    fn.__qualname__ = method.lower()
    fn.__doc__ = f"One {method} request on a private session (see :func:`request`)."
    return fn


get = _verb("GET")
post = _verb("POST")
put = _verb("PUT")
patch = _verb("PATCH")
delete = _verb("DELETE")
head = _verb("HEAD")
options = _verb("OPTIONS")

__all__ = [
    "ClientSession",
    "RequestInfo",
    "delete",
    "get",
    "head",
    "options",
    "patch",
    "post",
    "put",
    "request",
]
