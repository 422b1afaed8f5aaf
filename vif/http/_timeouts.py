"""``ClientTimeout``: the time limits of a request, aiohttp's fields plus ``pool``.

* ``total`` - the whole request, from acquiring a connection to the end of the body;
* ``connect`` - acquiring a connection: waiting for the pool plus connecting;
* ``sock_connect`` - the TCP connect (and TLS handshake) to one peer;
* ``sock_read`` - the longest silence between two reads from the socket;
* ``pool`` - the longest wait for a free slot of the connection pool.

``None`` (or 0) disables a limit.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ClientTimeout:
    total: float | None = None
    connect: float | None = None
    sock_read: float | None = None
    sock_connect: float | None = None
    ceil_threshold: float = 5
    pool: float | None = None

    def __post_init__(self) -> None:
        for name in ("total", "connect", "sock_read", "sock_connect", "pool"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                object.__setattr__(self, name, None)


#: aiohttp's defaults: five minutes in total, 30 s for one socket connect.
DEFAULT_TIMEOUT = ClientTimeout(total=5 * 60, sock_connect=30)

__all__ = ["DEFAULT_TIMEOUT", "ClientTimeout"]
