"""vif.http: an HTTP/1.1 client with aiohttp's shape, on any asyncio loop.

::

    async with vif.http.ClientSession() as session:
        async with session.get("http://127.0.0.1:8080/file.json") as resp:
            print(resp.status, await resp.json())

    resp = await vif.http.get(url)        # one-shot helper; the body is already read

Layers: :mod:`._h1` (sans-I/O parsing with httptools), :mod:`._protocol` (the
asyncio Protocol of one connection), :mod:`._connector` (the pool, DNS, TLS,
proxies), :mod:`._client` (sessions, redirects, cookies, time-outs).
"""

from __future__ import annotations

from ._client import (
    ClientSession,
    delete,
    get,
    head,
    options,
    patch,
    post,
    put,
    request,
)
from ._connector import ClientConnectorDNSError, ConnectionKey, TCPConnector
from ._cookies import CookieJar, DummyCookieJar
from ._errors import (
    ClientConnectionError,
    ClientConnectorCertificateError,
    ClientConnectorError,
    ClientConnectorSSLError,
    ClientError,
    ClientHttpProxyError,
    ClientOSError,
    ClientPayloadError,
    ClientProxyConnectionError,
    ClientResponseError,
    ClientSSLError,
    ConnectionTimeoutError,
    ContentLengthError,
    ContentTypeError,
    HeadersTooLarge,
    InvalidResponseError,
    InvalidURL,
    InvalidUrlClientError,
    InvalidUrlRedirectClientError,
    LineTooLong,
    NonHttpUrlClientError,
    NonHttpUrlRedirectClientError,
    ServerConnectionError,
    ServerDisconnectedError,
    ServerTimeoutError,
    SocketTimeoutError,
    TooManyRedirects,
    TransferEncodingError,
)
from ._h1 import HttpVersion, HttpVersion10, HttpVersion11
from ._multidict import CIMultiDict, CIMultiDictProxy, MultiDict
from ._payload import BasicAuth, FormData
from ._response import ClientResponse, RequestInfo
from ._streams import StreamReader
from ._timeouts import ClientTimeout
from ._tracing import (
    TraceConfig,
    TraceConnectionCreateEndParams,
    TraceConnectionCreateStartParams,
    TraceConnectionQueuedEndParams,
    TraceConnectionQueuedStartParams,
    TraceConnectionReuseconnParams,
    TraceDnsCacheHitParams,
    TraceDnsCacheMissParams,
    TraceDnsResolveHostEndParams,
    TraceDnsResolveHostStartParams,
    TraceRequestEndParams,
    TraceRequestExceptionParams,
    TraceRequestRedirectParams,
    TraceRequestStartParams,
)
from ._url import URL

__all__ = [
    "URL",
    "BasicAuth",
    "CIMultiDict",
    "CIMultiDictProxy",
    "ClientConnectionError",
    "ClientConnectorCertificateError",
    "ClientConnectorDNSError",
    "ClientConnectorError",
    "ClientConnectorSSLError",
    "ClientError",
    "ClientHttpProxyError",
    "ClientOSError",
    "ClientPayloadError",
    "ClientProxyConnectionError",
    "ClientResponse",
    "ClientResponseError",
    "ClientSSLError",
    "ClientSession",
    "ClientTimeout",
    "ConnectionKey",
    "ConnectionTimeoutError",
    "ContentLengthError",
    "ContentTypeError",
    "CookieJar",
    "DummyCookieJar",
    "FormData",
    "HeadersTooLarge",
    "HttpVersion",
    "HttpVersion10",
    "HttpVersion11",
    "InvalidResponseError",
    "InvalidURL",
    "InvalidUrlClientError",
    "InvalidUrlRedirectClientError",
    "LineTooLong",
    "MultiDict",
    "NonHttpUrlClientError",
    "NonHttpUrlRedirectClientError",
    "RequestInfo",
    "ServerConnectionError",
    "ServerDisconnectedError",
    "ServerTimeoutError",
    "SocketTimeoutError",
    "StreamReader",
    "TCPConnector",
    "TooManyRedirects",
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
    "TraceRequestEndParams",
    "TraceRequestExceptionParams",
    "TraceRequestRedirectParams",
    "TraceRequestStartParams",
    "TransferEncodingError",
    "delete",
    "get",
    "head",
    "options",
    "patch",
    "post",
    "put",
    "request",
]
