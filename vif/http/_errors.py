"""The exception hierarchy of :mod:`vif.http`, mirroring aiohttp's names.

Every failure of a request ends in a :class:`ClientError` subclass, or in a
:class:`TimeoutError` (the time-out classes here subclass both).
"""

from __future__ import annotations

import ssl
from typing import Any


class ClientError(Exception):
    """Base class of every error raised by the client."""


class ClientConnectionError(ClientError):
    """The connection failed or was lost."""


class ClientOSError(ClientConnectionError, OSError):
    """An OS-level error on the connection."""


class ClientConnectorError(ClientOSError):
    """Connecting to the host failed (DNS, refused, unreachable, TLS ...)."""

    def __init__(self, connection_key: Any, os_error: OSError) -> None:
        self._conn_key = connection_key
        self._os_error = os_error
        super().__init__(os_error.errno, os_error.strerror)
        self.args = (connection_key, os_error)

    @property
    def os_error(self) -> OSError:
        return self._os_error

    @property
    def host(self) -> str:
        return self._conn_key.host

    @property
    def port(self) -> int | None:
        return self._conn_key.port

    @property
    def ssl(self) -> Any:
        return self._conn_key.ssl

    def __str__(self) -> str:
        return (
            f"Cannot connect to host {self.host}:{self.port} "
            f"ssl:{'default' if self.ssl is True else self.ssl} "
            f"[{self._os_error.strerror or self._os_error}]"
        )

    __reduce__ = BaseException.__reduce__


class ClientProxyConnectionError(ClientConnectorError):
    """Connecting to the proxy failed."""


class ClientSSLError(ClientConnectorError):
    """The TLS handshake failed."""


class ClientConnectorSSLError(ClientSSLError):
    """A TLS error other than certificate verification."""


class ClientConnectorCertificateError(ClientSSLError):
    """The server certificate failed verification."""

    def __init__(self, connection_key: Any, certificate_error: Exception) -> None:
        self._conn_key = connection_key
        self._certificate_error = certificate_error
        ClientError.__init__(self, connection_key, certificate_error)
        self._os_error = certificate_error if isinstance(certificate_error, OSError) else OSError()

    @property
    def certificate_error(self) -> Exception:
        return self._certificate_error

    def __str__(self) -> str:
        return (
            f"Cannot connect to host {self.host}:{self.port} ssl:{self.ssl} "
            f"[{self._certificate_error.__class__.__name__}: {self._certificate_error.args}]"
        )


class ServerConnectionError(ClientConnectionError):
    """The server misbehaved at the connection level."""


class ServerDisconnectedError(ServerConnectionError):
    """The server closed the connection before the response was complete."""

    def __init__(self, message: str | None = None) -> None:
        if message is None:
            message = "Server disconnected"
        self.args = (message,)
        self.message = message


class ServerTimeoutError(ServerConnectionError, TimeoutError):
    """A read from the server timed out (``sock_read`` or ``total``)."""


class ConnectionTimeoutError(ServerTimeoutError):
    """Connecting (``connect``, ``sock_connect``) or waiting for the pool timed out."""


class SocketTimeoutError(ServerTimeoutError):
    """No data arrived within ``sock_read``."""


class ServerFingerprintMismatch(ServerConnectionError):
    """The server certificate fingerprint did not match."""


class ClientPayloadError(ClientError):
    """The response body was malformed or incomplete."""


class ContentLengthError(ClientPayloadError):
    """The body was shorter than its Content-Length."""


class TransferEncodingError(ClientPayloadError):
    """The chunked encoding was malformed."""


class InvalidURL(ClientError, ValueError):
    """The URL cannot be requested (no host, bad scheme, bad characters ...)."""

    def __init__(self, url: Any, description: str | None = None) -> None:
        self._url = url
        self._description = description
        if description:
            super().__init__(url, description)
        else:
            super().__init__(url)

    @property
    def url(self) -> Any:
        return self._url

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} {self}>"

    def __str__(self) -> str:
        if self._description:
            return f"{self._url} - {self._description}"
        return str(self._url)


class InvalidUrlClientError(InvalidURL):
    """An invalid URL given by the caller."""


class InvalidUrlRedirectClientError(InvalidUrlClientError):
    """A redirect pointed to an invalid URL."""


class NonHttpUrlClientError(InvalidURL):
    """A URL with a scheme other than http/https."""


class NonHttpUrlRedirectClientError(NonHttpUrlClientError):
    """A redirect to a non-HTTP URL."""


class ClientResponseError(ClientError):
    """An error tied to a response: an error status, or a malformed head."""

    def __init__(
        self,
        request_info: Any,
        history: tuple = (),
        *,
        status: int | None = None,
        message: str = "",
        headers: Any = None,
    ) -> None:
        self.request_info = request_info
        self.status = status if status is not None else 0
        self.message = message
        self.headers = headers
        self.history = history
        self.args = (request_info, history)

    def __str__(self) -> str:
        url = getattr(self.request_info, "real_url", None)
        return f"{self.status}, message={self.message!r}, url={str(url)!r}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.request_info!r}, {self.history!r}, "
            f"status={self.status}, message={self.message!r})"
        )


class ContentTypeError(ClientResponseError):
    """``resp.json()`` found an unexpected Content-Type."""


class TooManyRedirects(ClientResponseError):
    """More redirects than ``max_redirects``."""


class ClientHttpProxyError(ClientResponseError):
    """The proxy answered CONNECT with an error status."""


class InvalidResponseError(ClientResponseError):
    """The server sent a malformed status line or headers, or headers over the limits."""


class LineTooLong(InvalidResponseError):
    """A header line (or the status line) is longer than ``max_line_size``."""


class HeadersTooLarge(InvalidResponseError):
    """The response head is larger than ``max_headers_size``."""


def is_cert_error(exc: BaseException) -> bool:
    return isinstance(exc, ssl.SSLCertVerificationError | ssl.CertificateError)


__all__ = [
    "ClientConnectionError",
    "ClientConnectorCertificateError",
    "ClientConnectorError",
    "ClientConnectorSSLError",
    "ClientError",
    "ClientHttpProxyError",
    "ClientOSError",
    "ClientPayloadError",
    "ClientProxyConnectionError",
    "ClientResponseError",
    "ClientSSLError",
    "ConnectionTimeoutError",
    "ContentLengthError",
    "ContentTypeError",
    "HeadersTooLarge",
    "InvalidResponseError",
    "InvalidURL",
    "InvalidUrlClientError",
    "InvalidUrlRedirectClientError",
    "LineTooLong",
    "NonHttpUrlClientError",
    "NonHttpUrlRedirectClientError",
    "ServerConnectionError",
    "ServerDisconnectedError",
    "ServerFingerprintMismatch",
    "ServerTimeoutError",
    "SocketTimeoutError",
    "TooManyRedirects",
    "TransferEncodingError",
]
