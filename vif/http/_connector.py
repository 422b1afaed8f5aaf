"""``TCPConnector``: the connection pool.

Idle keep-alive connections wait in one deque per key (host, port, TLS,
proxy); acquiring pops the most recent live one, releasing appends, both O(1).
Slots are counted against ``limit`` (all hosts) and ``limit_per_host``; a
request finding none waits in a FIFO queue, bounded by the ``pool`` timeout,
and a released slot passes straight to the first waiter. Idle connections
expire after ``keepalive_timeout``; ones the server closed are skipped.
Connecting resolves through the DNS cache, races addresses (happy eyeballs),
and for TLS through a proxy sends CONNECT and upgrades with ``loop.start_tls``.
"""

from __future__ import annotations

import asyncio
import base64
import ssl as _ssl
import warnings
from collections import deque
from typing import Any, NamedTuple

from ._dns import DNSCache, happy_connect, numeric_addrinfo
from ._errors import (
    ClientConnectorCertificateError,
    ClientConnectorError,
    ClientConnectorSSLError,
    ClientError,
    ClientHttpProxyError,
    ClientProxyConnectionError,
    ConnectionTimeoutError,
)
from ._h1 import serialize_head
from ._protocol import HttpProtocol
from ._timeouts import ClientTimeout
from ._tracing import (
    TraceConnectionCreateEndParams,
    TraceConnectionCreateStartParams,
    TraceConnectionQueuedEndParams,
    TraceConnectionQueuedStartParams,
    TraceConnectionReuseconnParams,
    TraceDnsCacheHitParams,
    TraceDnsCacheMissParams,
    TraceDnsResolveHostEndParams,
    TraceDnsResolveHostStartParams,
    send_all,
)


class ConnectionKey(NamedTuple):
    host: str
    port: int
    is_ssl: bool
    ssl: Any  # True (default verification), False (none) or an SSLContext
    proxy: Any  # URL of the proxy or None
    proxy_auth: str | None
    server_hostname: str | None = None
    proxy_headers: tuple | None = None  # extra headers of the CONNECT request


class ClientConnectorDNSError(ClientConnectorError):
    """Resolving the host name failed."""


_default_ctx: _ssl.SSLContext | None = None
_insecure_ctx: _ssl.SSLContext | None = None


def default_ssl_context() -> _ssl.SSLContext:
    """The verifying context on the system trust store (created once)."""
    global _default_ctx
    if _default_ctx is None:
        _default_ctx = _ssl.create_default_context()
    return _default_ctx


def insecure_ssl_context() -> _ssl.SSLContext:
    """``ssl=False``: encryption without verification."""
    global _insecure_ctx
    if _insecure_ctx is None:
        ctx = _ssl.SSLContext(_ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = _ssl.CERT_NONE
        _insecure_ctx = ctx
    return _insecure_ctx


def _ssl_context(value: Any) -> _ssl.SSLContext:
    if isinstance(value, _ssl.SSLContext):
        return value
    if value is False:
        return insecure_ssl_context()
    return default_ssl_context()


class TCPConnector:
    """A pool of HTTP/1.1 connections over TCP (and TLS)."""

    def __init__(
        self,
        *,
        limit: int = 100,
        limit_per_host: int = 0,
        keepalive_timeout: float | None = 15.0,
        force_close: bool = False,
        ssl: Any = True,
        use_dns_cache: bool = True,
        ttl_dns_cache: float | None = 10,
        dns_cache_size: int = 1024,
        family: int = 0,
        local_addr: tuple[str, int] | None = None,
        happy_eyeballs_delay: float | None = 0.25,
        enable_cleanup_closed: bool = False,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if force_close and keepalive_timeout not in (None, 15.0):
            raise ValueError("keepalive_timeout cannot be set if force_close is True")
        self._loop = loop
        self.limit = limit or 0
        self.limit_per_host = limit_per_host or 0
        self.keepalive_timeout = None if force_close else keepalive_timeout
        self.force_close = force_close
        self._ssl = ssl
        self.use_dns_cache = use_dns_cache
        self._dns = DNSCache(ttl_dns_cache, dns_cache_size)
        self.family = family
        self.local_addr = local_addr
        self.happy_eyeballs_delay = happy_eyeballs_delay
        self._idle: dict[Any, deque[HttpProtocol]] = {}
        # (scheme, host, port) -> its key, for the plain case (no proxy, default ssl):
        # the same key object each time, which also makes the pool's lookups identity hits.
        self._plain_keys: dict[tuple, ConnectionKey] = {}
        self._acquired = 0
        self._acquired_per_host: dict[Any, int] = {}
        self._waiters: deque[tuple[Any, asyncio.Future]] = deque()
        self._all: set[HttpProtocol] = set()
        self._cleanup_handle: asyncio.TimerHandle | None = None
        self._closed = False
        self.max_line_size = 8190
        self.max_field_size = 8190
        self.max_headers_size = 65536

    def __del__(self, _warnings: Any = warnings) -> None:
        if self._closed or not self._all:
            return
        if any(not p.closed for p in self._all):
            _warnings.warn(f"Unclosed connector {self!r}", ResourceWarning, source=self)

    # --- properties ---------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def ssl(self) -> Any:
        return self._ssl

    def _get_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def idle_count(self, key: Any = None) -> int:
        """Live idle connections (for ``key`` or in total)."""
        if key is not None:
            return sum(1 for p in self._idle.get(key, ()) if not p.closed)
        return sum(1 for dq in self._idle.values() for p in dq if not p.closed)

    @property
    def acquired_count(self) -> int:
        return self._acquired

    def make_key(
        self,
        url: Any,
        ssl: Any,
        proxy: Any,
        proxy_auth: str | None,
        server_hostname: str | None,
        proxy_headers: tuple | None = None,
    ) -> ConnectionKey:
        plain = (
            (ssl is True or ssl is None)
            and proxy is None
            and proxy_auth is None
            and server_hostname is None
        )
        if plain:
            ck = (url.scheme, url.host, url.explicit_port)  # no port property call
            key = self._plain_keys.get(ck)
            if key is not None:
                return key
        is_ssl = url.scheme in ("https", "wss")
        if ssl is True or ssl is None:
            ssl = self._ssl
        key = ConnectionKey(
            url.host,
            url.port,
            is_ssl,
            ssl if is_ssl else True,
            proxy,
            proxy_auth,
            server_hostname,
            proxy_headers if (proxy is not None and is_ssl) else None,
        )
        if plain:
            if len(self._plain_keys) >= 256:
                self._plain_keys.clear()
            self._plain_keys[ck] = key
        return key

    # --- slots --------------------------------------------------------------------------
    def _has_slot(self, key: Any) -> bool:
        if self.limit and self._acquired >= self.limit:
            return False
        if self.limit_per_host and self._acquired_per_host.get(key, 0) >= self.limit_per_host:
            return False
        return True

    def _take_slot(self, key: Any) -> None:
        self._acquired += 1
        if self.limit_per_host:
            self._acquired_per_host[key] = self._acquired_per_host.get(key, 0) + 1

    def _drop_slot(self, key: Any) -> None:
        self._acquired -= 1
        if self.limit_per_host:
            n = self._acquired_per_host.get(key, 1) - 1
            if n:
                self._acquired_per_host[key] = n
            else:
                self._acquired_per_host.pop(key, None)
        if self._waiters:
            self._wake_waiters()

    def _wake_waiters(self) -> None:
        waiters = self._waiters
        if not self.limit_per_host:
            while waiters and self._has_slot(None):
                key, fut = waiters.popleft()
                if not fut.done():
                    self._take_slot(key)
                    fut.set_result(None)
            return
        skipped: list = []
        while waiters and not (self.limit and self._acquired >= self.limit):
            key, fut = waiters.popleft()
            if fut.done():
                continue
            if self._has_slot(key):
                self._take_slot(key)
                fut.set_result(None)
            else:
                skipped.append((key, fut))
        waiters.extendleft(reversed(skipped))

    async def _wait_for_slot(self, key: Any, timeout: ClientTimeout, traces: list) -> None:
        loop = self._get_loop()
        fut = loop.create_future()
        self._waiters.append((key, fut))
        if traces:
            await send_all(traces, "on_connection_queued_start", TraceConnectionQueuedStartParams())
        try:
            if timeout.pool is not None:
                try:
                    async with asyncio.timeout(timeout.pool):
                        await fut
                except TimeoutError:
                    raise ConnectionTimeoutError(
                        f"Timed out after {timeout.pool} s waiting for a free connection "
                        f"in the pool (limit={self.limit}, limit_per_host={self.limit_per_host})"
                    ) from None
            else:
                await fut
        except BaseException:
            if fut.done() and not fut.cancelled():
                self._drop_slot(key)  # it was granted before we were cancelled
            else:
                fut.cancel()
            raise
        if traces:
            await send_all(traces, "on_connection_queued_end", TraceConnectionQueuedEndParams())

    # --- acquire / release --------------------------------------------------------------
    async def connect(
        self, key: ConnectionKey, traces: list, timeout: ClientTimeout
    ) -> HttpProtocol:
        """A connection for ``key`` with its slot taken: an idle one or a new one."""
        if self._closed:
            raise ClientError("Connector is closed")
        if self._has_slot(key) and not self._waiters:
            self._take_slot(key)
        else:
            await self._wait_for_slot(key, timeout, traces)
        try:
            proto = self._pop_idle(key)
            if proto is not None:
                if traces:
                    await send_all(
                        traces, "on_connection_reuseconn", TraceConnectionReuseconnParams()
                    )
                proto.acquired = True
                return proto
            if traces:
                await send_all(
                    traces, "on_connection_create_start", TraceConnectionCreateStartParams()
                )
            proto = await self._create_connection(key, traces, timeout)
            if traces:
                await send_all(traces, "on_connection_create_end", TraceConnectionCreateEndParams())
        except BaseException:
            self._drop_slot(key)
            raise
        if self._closed:
            proto.close()
            self._drop_slot(key)
            raise ClientError("Connector is closed")
        proto.acquired = True
        return proto

    def _take_idle(self, key: Any) -> HttpProtocol | None:
        """A live idle connection for ``key`` with its slot taken, if one is free now.

        The no-await fast path of a keep-alive request: ``None`` when it would have
        to wait (queued waiters, no free slot) or connect.
        """
        if self._waiters or not self._has_slot(key):
            return None
        proto = self._pop_idle(key)
        if proto is not None:
            self._take_slot(key)
            proto.acquired = True
        return proto

    def _pop_idle(self, key: Any) -> HttpProtocol | None:
        dq = self._idle.get(key)
        if not dq:
            return None
        now = (self._loop or self._get_loop()).time()
        while dq:
            proto = dq.pop()
            if proto.closed or proto.should_close:
                self._all.discard(proto)
                continue
            if proto.expire_at and proto.expire_at <= now:
                # This one and every older one have expired.
                proto.close()
                self._all.discard(proto)
                while dq:
                    old = dq.pop()
                    old.close()
                    self._all.discard(old)
                break
            proto.reuse_count += 1
            return proto
        return None

    def release(self, proto: HttpProtocol, *, reuse: bool = True) -> None:
        """Give back a connection taken by :meth:`connect`; idle it or close it."""
        if not proto.acquired:
            return
        proto.acquired = False
        key = proto.key
        if reuse and proto.reusable and not self._closed and not self.force_close:
            keepalive = self.keepalive_timeout
            dq = self._idle.get(key)
            if dq is None:
                dq = self._idle[key] = deque()
            if keepalive is not None:
                proto.expire_at = (self._loop or self._get_loop()).time() + keepalive
                if self._cleanup_handle is None:
                    self._cleanup_handle = self._get_loop().call_at(
                        proto.expire_at + 0.05, self._cleanup
                    )
            else:
                proto.expire_at = 0.0
            dq.append(proto)
        else:
            proto.close()
            self._all.discard(proto)
        self._drop_slot(key)

    def _cleanup(self) -> None:
        """Close idle connections past their keep-alive time; re-arm for the next."""
        self._cleanup_handle = None
        if self._closed:
            return
        now = self._get_loop().time()
        next_expiry = None
        for key in list(self._idle):
            dq = self._idle[key]
            while dq and (dq[0].closed or dq[0].should_close or dq[0].expire_at <= now):
                old = dq.popleft()
                old.close()
                self._all.discard(old)
            # Dead connections deeper in the deque are skipped lazily on acquire.
            if dq:
                exp = dq[0].expire_at
                next_expiry = exp if next_expiry is None else min(next_expiry, exp)
            else:
                del self._idle[key]
        self._all = {p for p in self._all if not p.closed}
        if next_expiry is not None:
            self._cleanup_handle = self._get_loop().call_at(next_expiry + 0.05, self._cleanup)

    # --- connecting ---------------------------------------------------------------------
    async def _resolve(self, host: str, port: int, traces: list) -> list:
        infos = numeric_addrinfo(host, port)
        if infos is not None:
            return infos
        loop = self._get_loop()
        if traces:
            cached = (
                self._dns.get((host, port, self.family), loop.time())
                if self.use_dns_cache
                else None
            )
            await send_all(
                traces,
                "on_dns_cache_hit" if cached else "on_dns_cache_miss",
                (TraceDnsCacheHitParams if cached else TraceDnsCacheMissParams)(host),
            )
            if cached:
                return cached
            await send_all(traces, "on_dns_resolvehost_start", TraceDnsResolveHostStartParams(host))
        infos, _ = await self._dns.resolve(
            loop, host, port, self.family, use_cache=self.use_dns_cache
        )
        if traces:
            await send_all(traces, "on_dns_resolvehost_end", TraceDnsResolveHostEndParams(host))
        return infos

    def clear_dns_cache(self, host: str | None = None, port: int | None = None) -> None:
        if host is None:
            self._dns.clear()
        else:
            for k in [
                k for k in self._dns._cache if k[0] == host and (port is None or k[1] == port)
            ]:
                del self._dns._cache[k]

    def _new_protocol(self, key: Any) -> HttpProtocol:
        return HttpProtocol(
            self._get_loop(),
            key,
            max_line_size=self.max_line_size,
            max_field_size=self.max_field_size,
            max_headers_size=self.max_headers_size,
        )

    async def _open_socket(
        self,
        key: ConnectionKey,
        host: str,
        port: int,
        traces: list,
        timeout: ClientTimeout,
        err_cls: type,
    ) -> Any:
        loop = self._get_loop()
        try:
            async with asyncio.timeout(timeout.sock_connect):
                try:
                    infos = await self._resolve(host, port, traces)
                except OSError as exc:
                    raise ClientConnectorDNSError(key, exc) from exc
                return await happy_connect(loop, infos, self.happy_eyeballs_delay, self.local_addr)
        except TimeoutError:
            raise ConnectionTimeoutError(
                f"Connection timeout to host {host}:{port} (sock_connect={timeout.sock_connect})"
            ) from None
        except OSError as exc:
            raise err_cls(key, exc) from exc

    async def _create_connection(
        self, key: ConnectionKey, traces: list, timeout: ClientTimeout
    ) -> HttpProtocol:
        loop = self._get_loop()
        proxy = key.proxy
        if proxy is None:
            sock = await self._open_socket(
                key, key.host, key.port, traces, timeout, ClientConnectorError
            )
        else:
            sock = await self._open_socket(
                key, proxy.host, proxy.port, traces, timeout, ClientProxyConnectionError
            )
        proto = self._new_protocol(key)
        direct_tls = key.is_ssl and proxy is None
        try:
            async with asyncio.timeout(timeout.sock_connect):
                if direct_tls:
                    await loop.create_connection(
                        lambda: proto,
                        sock=sock,
                        ssl=_ssl_context(key.ssl),
                        server_hostname=key.server_hostname or key.host,
                    )
                else:
                    await loop.create_connection(lambda: proto, sock=sock)
                if key.is_ssl and proxy is not None:
                    self._all.add(proto)
                    await self._tunnel(proto, key)
        except TimeoutError:
            proto.close()
            sock.close()
            raise ConnectionTimeoutError(
                f"Connection timeout to host {key.host}:{key.port} (TLS handshake or CONNECT)"
            ) from None
        except (_ssl.SSLCertVerificationError, _ssl.CertificateError) as exc:
            proto.close()
            sock.close()
            raise ClientConnectorCertificateError(key, exc) from exc
        except _ssl.SSLError as exc:
            proto.close()
            sock.close()
            raise ClientConnectorSSLError(key, exc) from exc
        except ClientError:
            proto.close()
            sock.close()
            raise
        except OSError as exc:
            proto.close()
            sock.close()
            raise ClientConnectorError(key, exc) from exc
        except BaseException:
            proto.close()
            sock.close()
            raise
        self._all.add(proto)
        return proto

    async def _tunnel(self, proto: HttpProtocol, key: ConnectionKey) -> None:
        """CONNECT through the proxy, then TLS to the origin over the tunnel."""
        authority = f"[{key.host}]:{key.port}" if ":" in key.host else f"{key.host}:{key.port}"
        headers = [("Host", authority)]
        if key.proxy_auth:
            headers.append(("Proxy-Authorization", key.proxy_auth))
        if key.proxy_headers:
            headers.extend(key.proxy_headers)
        fut = proto.send_request("CONNECT", serialize_head("CONNECT", authority, headers))
        head, _stream = await fut
        if head.status != 200:
            from ._response import RequestInfo

            info = RequestInfo(key.proxy, "CONNECT", None, key.proxy)
            raise ClientHttpProxyError(info, (), status=head.status, message=head.reason)
        loop = self._get_loop()
        transport = await loop.start_tls(
            proto.transport,
            proto,
            _ssl_context(key.ssl),
            server_hostname=key.server_hostname or key.host,
        )
        proto.transport = transport  # type: ignore[assignment]
        proto.should_close = False

    # --- closing ------------------------------------------------------------------------
    async def close(self) -> None:
        """Close every connection, idle or in use, and wait until they are closed."""
        if self._closed:
            return
        self._closed = True
        if self._cleanup_handle is not None:
            self._cleanup_handle.cancel()
            self._cleanup_handle = None
        for _, fut in self._waiters:
            if not fut.done():
                fut.set_exception(ClientError("Connector is closed"))
        self._waiters.clear()
        protos = list(self._all)
        for dq in self._idle.values():
            protos.extend(dq)
        self._idle.clear()
        self._all.clear()
        waits = []
        for proto in set(protos):
            if not proto.closed:
                proto.close()
                waits.append(proto.wait_closed())
        if waits:
            await asyncio.wait(waits, timeout=2.0)


def basic_auth_header(login: str, password: str, encoding: str = "latin1") -> str:
    creds = f"{login}:{password}".encode(encoding)
    return "Basic " + base64.b64encode(creds).decode("ascii")


__all__ = ["ClientConnectorDNSError", "ConnectionKey", "TCPConnector"]
