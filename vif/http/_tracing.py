"""Request tracing hooks with aiohttp's names (``TraceConfig`` and the ``Trace*Params``).

Each signal is a list of ``async def cb(session, trace_config_ctx, params)``
callbacks. A session with no trace configs pays nothing: the client checks for
an empty list before building any params object.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any


class Signal(list):
    """A list of async callbacks; ``freeze()`` makes it immutable."""

    def __init__(self, owner: Any = None) -> None:
        super().__init__()
        self._frozen = False

    @property
    def frozen(self) -> bool:
        return self._frozen

    def freeze(self) -> None:
        self._frozen = True

    def _check(self) -> None:
        if self._frozen:
            raise RuntimeError("Cannot modify a frozen signal")

    def append(self, cb: Callable[..., Awaitable[None]]) -> None:  # type: ignore[override]
        self._check()
        super().append(cb)

    def insert(self, i: Any, cb: Any) -> None:  # type: ignore[override]
        self._check()
        super().insert(i, cb)

    def remove(self, cb: Any) -> None:  # type: ignore[override]
        self._check()
        super().remove(cb)

    async def send(self, *args: Any, **kwargs: Any) -> None:
        for cb in self:
            await cb(*args, **kwargs)


_SIGNALS = (
    "on_request_start",
    "on_request_chunk_sent",
    "on_response_chunk_received",
    "on_request_end",
    "on_request_exception",
    "on_request_redirect",
    "on_connection_queued_start",
    "on_connection_queued_end",
    "on_connection_create_start",
    "on_connection_create_end",
    "on_connection_reuseconn",
    "on_dns_resolvehost_start",
    "on_dns_resolvehost_end",
    "on_dns_cache_hit",
    "on_dns_cache_miss",
    "on_request_headers_sent",
)


class TraceConfig:
    """A set of signals to trace requests; pass it in ``ClientSession(trace_configs=[...])``."""

    def __init__(self, trace_config_ctx_factory: Callable[..., Any] = SimpleNamespace) -> None:
        for name in _SIGNALS:
            setattr(self, name, Signal(self))
        self._trace_config_ctx_factory = trace_config_ctx_factory

    def trace_config_ctx(self, trace_request_ctx: Any = None) -> Any:
        return self._trace_config_ctx_factory(trace_request_ctx=trace_request_ctx)

    def freeze(self) -> None:
        for name in _SIGNALS:
            getattr(self, name).freeze()


class _Params:
    """Base of the immutable ``Trace*Params`` records (no dataclass: cheap to import)."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        fields = self._fields
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__name__} takes {len(fields)} arguments")
        values = dict(zip(fields, args, strict=False))
        values.update(kwargs)
        for name in fields:
            if name not in values:
                raise TypeError(f"{type(self).__name__} missing argument {name!r}")
            object.__setattr__(self, name, values[name])

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self._fields)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, f) for f in self._fields))

    def __repr__(self) -> str:
        body = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{type(self).__name__}({body})"


def _params(name: str, *fields: str) -> type:
    return type(name, (_Params,), {"__slots__": fields, "_fields": fields, "__module__": __name__})


TraceRequestStartParams = _params("TraceRequestStartParams", "method", "url", "headers")
TraceRequestChunkSentParams = _params("TraceRequestChunkSentParams", "method", "url", "chunk")
TraceResponseChunkReceivedParams = _params(
    "TraceResponseChunkReceivedParams", "method", "url", "chunk"
)
TraceRequestEndParams = _params("TraceRequestEndParams", "method", "url", "headers", "response")
TraceRequestExceptionParams = _params(
    "TraceRequestExceptionParams", "method", "url", "headers", "exception"
)
TraceRequestRedirectParams = _params(
    "TraceRequestRedirectParams", "method", "url", "headers", "response"
)
TraceRequestHeadersSentParams = _params("TraceRequestHeadersSentParams", "method", "url", "headers")
TraceConnectionQueuedStartParams = _params("TraceConnectionQueuedStartParams")
TraceConnectionQueuedEndParams = _params("TraceConnectionQueuedEndParams")
TraceConnectionCreateStartParams = _params("TraceConnectionCreateStartParams")
TraceConnectionCreateEndParams = _params("TraceConnectionCreateEndParams")
TraceConnectionReuseconnParams = _params("TraceConnectionReuseconnParams")
TraceDnsResolveHostStartParams = _params("TraceDnsResolveHostStartParams", "host")
TraceDnsResolveHostEndParams = _params("TraceDnsResolveHostEndParams", "host")
TraceDnsCacheHitParams = _params("TraceDnsCacheHitParams", "host")
TraceDnsCacheMissParams = _params("TraceDnsCacheMissParams", "host")


class Trace:
    """One trace config bound to one request: ``await trace.send("on_request_start", params)``."""

    __slots__ = ("_session", "_config", "_ctx")

    def __init__(self, session: Any, config: TraceConfig, ctx: Any) -> None:
        self._session = session
        self._config = config
        self._ctx = ctx

    async def send(self, signal: str, params: Any) -> None:
        for cb in getattr(self._config, signal):
            await cb(self._session, self._ctx, params)


async def send_all(traces: list[Trace], signal: str, params: Any) -> None:
    for trace in traces:
        await trace.send(signal, params)


__all__ = [
    "Trace",
    "TraceConfig",
    "TraceConnectionCreateEndParams",
    "TraceConnectionCreateStartParams",
    "TraceConnectionQueuedEndParams",
    "TraceConnectionQueuedStartParams",
    "TraceConnectionReuseconnParams",
    "TraceDnsCacheHitParams",
    "TraceDnsCacheMissParams",
    "TraceDnsResolveHostEndParams",
    "TraceDnsResolveHostStartParams",
    "TraceRequestChunkSentParams",
    "TraceRequestEndParams",
    "TraceRequestExceptionParams",
    "TraceRequestHeadersSentParams",
    "TraceRequestRedirectParams",
    "TraceRequestStartParams",
    "TraceResponseChunkReceivedParams",
]
