"""Name resolution with a cache (TTL and size bound) and happy-eyeballs connecting.

:class:`DNSCache` resolves through ``loop.getaddrinfo``, answers numeric
addresses without a lookup, coalesces concurrent lookups of one name and
forgets answers after ``ttl`` seconds or when more than ``max_size`` names are
cached. :func:`happy_connect` races the addresses (RFC 8305: families
interleaved, a new attempt every ``delay`` seconds or as soon as one fails) with
``loop.sock_connect`` and returns the first connected socket.
"""

from __future__ import annotations

import asyncio
import socket
from collections import OrderedDict
from typing import Any

AddrInfo = tuple[int, int, int, str, tuple]


def numeric_addrinfo(host: str, port: int) -> list[AddrInfo] | None:
    """The address list of an IP literal, or None if ``host`` is a name."""
    try:
        socket.inet_pton(socket.AF_INET, host)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (host, port))]
    except OSError:
        pass
    if ":" in host:
        try:
            infos = socket.getaddrinfo(
                host,
                port,
                socket.AF_INET6,
                socket.SOCK_STREAM,
                socket.IPPROTO_TCP,
                socket.AI_NUMERICHOST,
            )
        except OSError:
            return None
        return list(infos)
    return None


class DNSCache:
    """Cached ``getaddrinfo`` answers per (host, port, family)."""

    def __init__(self, ttl: float | None = 10.0, max_size: int = 1024) -> None:
        self.ttl = ttl
        self.max_size = max_size
        self._cache: OrderedDict[tuple, tuple[float, list[AddrInfo]]] = OrderedDict()
        self._inflight: dict[tuple, asyncio.Future] = {}

    def __len__(self) -> int:
        return len(self._cache)

    def clear(self) -> None:
        self._cache.clear()

    def get(self, key: tuple, now: float) -> list[AddrInfo] | None:
        entry = self._cache.get(key)
        if entry is None:
            return None
        expires, infos = entry
        if self.ttl is not None and now >= expires:
            del self._cache[key]
            return None
        self._cache.move_to_end(key)
        return infos

    def put(self, key: tuple, infos: list[AddrInfo], now: float) -> None:
        self._cache[key] = (now + (self.ttl or 0.0), infos)
        self._cache.move_to_end(key)
        while len(self._cache) > self.max_size:
            self._cache.popitem(last=False)

    async def resolve(
        self,
        loop: asyncio.AbstractEventLoop,
        host: str,
        port: int,
        family: int = 0,
        *,
        use_cache: bool = True,
    ) -> tuple[list[AddrInfo], bool]:
        """Return ``(addrinfos, from_cache)``."""
        key = (host, port, family)
        if use_cache:
            infos = self.get(key, loop.time())
            if infos is not None:
                return infos, True
            fut = self._inflight.get(key)
            if fut is not None:
                return list(await asyncio.shield(fut)), True
        fut = loop.create_future()
        self._inflight[key] = fut
        try:
            infos = await loop.getaddrinfo(
                host, port, family=family, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
            infos = [tuple(i) for i in infos]  # type: ignore[misc]
            if not infos:
                raise OSError(f"getaddrinfo({host!r}) returned no addresses")
        except BaseException as exc:
            if not fut.done():
                if isinstance(exc, asyncio.CancelledError):
                    fut.cancel()
                else:
                    fut.set_exception(exc)
                    fut.exception()  # mark retrieved
            raise
        finally:
            self._inflight.pop(key, None)
        if use_cache:
            self.put(key, infos, loop.time())
        fut.set_result(infos)
        return infos, False


def _interleave(infos: list[AddrInfo]) -> list[AddrInfo]:
    """RFC 8305 order: alternate families, starting with the first one listed."""
    by_family: dict[int, list[AddrInfo]] = {}
    for info in infos:
        by_family.setdefault(info[0], []).append(info)
    if len(by_family) < 2:
        return list(infos)
    lists = list(by_family.values())
    out = []
    for i in range(max(len(x) for x in lists)):
        for lst in lists:
            if i < len(lst):
                out.append(lst[i])
    return out


async def _connect_one(
    loop: asyncio.AbstractEventLoop, info: AddrInfo, local_addr: Any = None
) -> socket.socket:
    family, type_, proto, _, address = info
    sock = socket.socket(family, type_, proto)
    try:
        sock.setblocking(False)
        if local_addr is not None:
            sock.bind(local_addr)
        await loop.sock_connect(sock, address)
        return sock
    except BaseException:
        sock.close()
        raise


async def happy_connect(
    loop: asyncio.AbstractEventLoop,
    infos: list[AddrInfo],
    delay: float | None = 0.25,
    local_addr: Any = None,
) -> socket.socket:
    """Connect to the first address that answers; raise the first error if none does."""
    if len(infos) == 1 or delay is None:
        errors: list[BaseException] = []
        for info in infos:
            try:
                return await _connect_one(loop, info, local_addr)
            except OSError as exc:
                errors.append(exc)
        raise _combine(errors)
    order = _interleave(infos)
    pending: set[asyncio.Task] = set()
    errors = []
    winner: socket.socket | None = None
    nxt = 0
    try:
        while winner is None:
            if nxt < len(order):
                pending.add(loop.create_task(_connect_one(loop, order[nxt], local_addr)))
                nxt += 1
            if not pending:
                break
            done, pending = await asyncio.wait(
                pending,
                timeout=delay if nxt < len(order) else None,
                return_when=asyncio.FIRST_COMPLETED,
            )
            for task in done:
                exc = task.exception()
                if exc is not None:
                    errors.append(exc)
                elif winner is None:
                    winner = task.result()
                else:
                    task.result().close()
    finally:
        if pending:
            for task in pending:
                task.cancel()
            done, _ = await asyncio.wait(pending)
            for task in done:
                if not task.cancelled() and task.exception() is None:
                    task.result().close()
    if winner is None:
        raise _combine(errors)
    return winner


def _combine(errors: list[BaseException]) -> OSError:
    if not errors:
        return OSError("no addresses to connect to")
    if len(errors) == 1 or len({str(e) for e in errors}) == 1:
        exc = errors[0]
        return exc if isinstance(exc, OSError) else OSError(str(exc))
    first = errors[0]
    return OSError(
        getattr(first, "errno", None), "Multiple exceptions: " + ", ".join(str(e) for e in errors)
    )


__all__ = ["DNSCache", "happy_connect", "numeric_addrinfo"]
