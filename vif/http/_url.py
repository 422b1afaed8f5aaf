"""A small immutable URL (the part of yarl.URL the client needs), built on urllib.parse.

Parsing normalizes the scheme and host (lower case, IDNA), re-quotes the path
and query and checks the port; the result is cached by string, since clients
request the same few URLs over and over.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit

from ._errors import InvalidURL
from ._multidict import MultiDict

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = "/?%:@!$&'()*+,;=-._~"
_NEEDS_QUOTE = re.compile(r"[^A-Za-z0-9\-._~!$&'()*+,;=:@/%?]|%(?![0-9A-Fa-f]{2})")
_BAD_HOST = re.compile(r"[\x00-\x20\x7f/\\?#@]")

_CACHE: dict[str, URL] = {}
_CACHE_MAX = 512


def _requote(part: str, safe: str) -> str:
    if not _NEEDS_QUOTE.search(part):
        return part
    # A '%' not starting an escape is quoted; existing escapes are kept.
    part = re.sub(r"%(?![0-9A-Fa-f]{2})", "%25", part)
    return quote(part, safe=safe, encoding="utf-8", errors="surrogateescape")


class URL:
    """An immutable, parsed URL. ``str(url)`` gives the normalized form."""

    __slots__ = (
        "_str",
        "scheme",
        "user",
        "password",
        "host",
        "explicit_port",
        "raw_path",
        "query_string",
        "fragment",
        "_authority",
        "_path_qs",
    )

    def __new__(cls, val: str | URL = "", *, encoded: bool = False) -> URL:
        if isinstance(val, URL):
            return val
        if not isinstance(val, str):
            raise TypeError(f"URL must be a str or URL, not {type(val).__name__}")
        cached = _CACHE.get(val)
        if cached is not None:
            return cached
        self = object.__new__(cls)
        self._parse(val, encoded)
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        _CACHE[val] = self
        return self

    def _parse(self, val: str, encoded: bool) -> None:
        text = val.strip()
        if any(c in text for c in "\r\n\t\x00"):
            raise InvalidURL(val, "control characters in URL")
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError as exc:
            raise InvalidURL(val, str(exc)) from None
        self.scheme = parts.scheme.lower()
        self.user = unquote(parts.username) if parts.username is not None else None
        self.password = unquote(parts.password) if parts.password is not None else None
        host = parts.hostname
        if host is not None:
            host = unquote(host) if "%" in host and not host.startswith("[") else host
            if _BAD_HOST.search(host):
                raise InvalidURL(val, "invalid host")
            if not host.isascii():
                try:
                    host = host.encode("idna").decode("ascii")
                except UnicodeError as exc:
                    raise InvalidURL(val, f"invalid host: {exc}") from None
            host = host.lower()
        elif parts.netloc:
            raise InvalidURL(val, "invalid host")
        self.host = host
        self.explicit_port = port
        path = parts.path
        query = parts.query
        if not encoded:
            path = _requote(path, _PATH_SAFE)
            query = _requote(query, _QUERY_SAFE)
        if not path and host is not None:
            path = "/"
        self.raw_path = path
        self.query_string = query
        self.fragment = parts.fragment
        self._str = self._build()

    def _build(self) -> str:
        self._authority = None
        self._path_qs = (
            f"{self.raw_path}?{self.query_string}" if self.query_string else self.raw_path
        )
        out = []
        if self.scheme:
            out.append(self.scheme + ":")
        if self.host is not None:
            out.append("//")
            if self.user is not None:
                out.append(quote(self.user, safe=""))
                if self.password is not None:
                    out.append(":" + quote(self.password, safe=""))
                out.append("@")
            out.append(self.raw_host_for_authority)
            if self.explicit_port is not None:
                out.append(f":{self.explicit_port}")
        out.append(self.raw_path)
        if self.query_string:
            out.append("?" + self.query_string)
        if self.fragment:
            out.append("#" + self.fragment)
        return "".join(out)

    @classmethod
    def _from_parts(
        cls,
        scheme: str,
        host: str | None,
        port: int | None,
        path: str,
        query: str = "",
        fragment: str = "",
        user: str | None = None,
        password: str | None = None,
    ) -> URL:
        self = object.__new__(cls)
        self.scheme, self.host, self.explicit_port = scheme, host, port
        self.raw_path, self.query_string, self.fragment = path, query, fragment
        self.user, self.password = user, password
        self._str = self._build()
        return self

    # --- properties ---------------------------------------------------------------------
    @property
    def raw_host_for_authority(self) -> str:
        host = self.host or ""
        return f"[{host}]" if ":" in host else host

    @property
    def port(self) -> int | None:
        if self.explicit_port is not None:
            return self.explicit_port
        return DEFAULT_PORTS.get(self.scheme)

    @property
    def raw_host(self) -> str | None:
        return self.host

    @property
    def path(self) -> str:
        return unquote(self.raw_path)

    @property
    def raw_query_string(self) -> str:
        return self.query_string

    @property
    def query(self) -> MultiDict:
        return MultiDict(parse_qsl(self.query_string, keep_blank_values=True))

    @property
    def raw_path_qs(self) -> str:
        return self._path_qs

    path_qs = raw_path_qs

    @property
    def authority(self) -> str:
        """host[:port] for the Host header (the port only when not the default)."""
        auth = self._authority
        if auth is None:
            if self.explicit_port is not None and not self.is_default_port():
                auth = f"{self.raw_host_for_authority}:{self.explicit_port}"
            else:
                auth = self.raw_host_for_authority
            self._authority = auth
        return auth

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def is_absolute(self) -> bool:
        return self.host is not None

    absolute = property(is_absolute)

    def is_default_port(self) -> bool:
        if self.explicit_port is None:
            return True
        return DEFAULT_PORTS.get(self.scheme) == self.explicit_port

    # --- derived URLs -------------------------------------------------------------------
    def origin(self) -> URL:
        return URL._from_parts(self.scheme, self.host, self.explicit_port, "/")

    def with_fragment(self, fragment: str | None) -> URL:
        return URL._from_parts(
            self.scheme,
            self.host,
            self.explicit_port,
            self.raw_path,
            self.query_string,
            fragment or "",
            self.user,
            self.password,
        )

    def with_user(self, user: str | None) -> URL:
        return URL._from_parts(
            self.scheme,
            self.host,
            self.explicit_port,
            self.raw_path,
            self.query_string,
            self.fragment,
            user,
            self.password if user is not None else None,
        )

    def with_query(self, query: Any = None, **kwargs: Any) -> URL:
        qs = encode_query(query if query is not None else kwargs)
        return URL._from_parts(
            self.scheme,
            self.host,
            self.explicit_port,
            self.raw_path,
            qs,
            self.fragment,
            self.user,
            self.password,
        )

    def extend_query(self, query: Any) -> URL:
        qs = encode_query(query)
        if not qs:
            return self
        if self.query_string:
            qs = f"{self.query_string}&{qs}"
        return URL._from_parts(
            self.scheme,
            self.host,
            self.explicit_port,
            self.raw_path,
            qs,
            self.fragment,
            self.user,
            self.password,
        )

    update_query = extend_query

    def join(self, url: URL | str) -> URL:
        return URL(urljoin(self._str, str(url)))

    def __truediv__(self, name: str) -> URL:
        base = self.raw_path if self.raw_path.endswith("/") else self.raw_path + "/"
        return URL._from_parts(
            self.scheme,
            self.host,
            self.explicit_port,
            base + quote(name, safe=""),
            "",
            "",
            self.user,
            self.password,
        )

    # --- dunder -------------------------------------------------------------------------
    def __str__(self) -> str:
        return self._str

    def human_repr(self) -> str:
        return unquote(self._str)

    def __repr__(self) -> str:
        return f"URL({self._str!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, URL):
            return self._str == other._str
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._str)


def encode_query(query: Any) -> str:
    """``params=``: a str, a mapping or an iterable of (key, value) pairs, as a query string."""
    if query is None:
        return ""
    if isinstance(query, str):
        return _requote(query, _QUERY_SAFE)
    if isinstance(query, MultiDict):
        pairs: Iterable = query.items()
    elif isinstance(query, Mapping):
        pairs = query.items()
    else:
        pairs = query
    out = []
    for k, v in pairs:
        if isinstance(v, list | tuple) and not isinstance(query, MultiDict):
            for item in v:
                out.append((k, _query_value(item)))
        else:
            out.append((k, _query_value(v)))
    return urlencode(out)


def _query_value(v: Any) -> str:
    if isinstance(v, bool):
        raise TypeError("bool values are not allowed in params; convert to str explicitly")
    if isinstance(v, str):
        return v
    if isinstance(v, int | float):
        return str(v)
    raise TypeError(f"invalid params value type {type(v).__name__}")


__all__ = ["URL", "encode_query"]
