"""``CookieJar``: a session's cookies with RFC 6265 domain, path, expiry and secure rules.

Set-Cookie headers are parsed with :mod:`http.cookies`; expiry dates with
:func:`http.cookiejar.http2time`. As in aiohttp, cookies from IP-address hosts
are only accepted with ``CookieJar(unsafe=True)``.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable, Iterator, Mapping
from http.cookies import BaseCookie, Morsel, SimpleCookie
from typing import Any

from ._url import URL

_EMPTY_URL = URL()


def is_ip_address(host: str | None) -> bool:
    if not host:
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def domain_match(host: str, domain: str) -> bool:
    if host == domain:
        return True
    return host.endswith("." + domain) and not is_ip_address(host)


def path_match(req_path: str, cookie_path: str) -> bool:
    if req_path == cookie_path:
        return True
    if not req_path.startswith(cookie_path):
        return False
    return cookie_path.endswith("/") or req_path[len(cookie_path)] == "/"


def default_path(url: URL) -> str:
    path = url.raw_path
    if not path.startswith("/") or path.count("/") <= 1:
        return "/"
    return path[: path.rfind("/")]


class CookieJar:
    """Cookies keyed by (domain, path, name), with host-only flags and expirations."""

    def __init__(
        self,
        *,
        unsafe: bool = False,
        quote_cookie: bool = True,
        treat_as_secure_origin: Iterable[Any] = (),
    ) -> None:
        self._unsafe = unsafe
        self._quote_cookie = quote_cookie
        self._cookies: dict[tuple[str, str], SimpleCookie] = {}
        self._host_only: set[tuple[str, str, str]] = set()
        self._expirations: dict[tuple[str, str, str], float] = {}
        self._secure_origins = {str(URL(str(o)).origin()) for o in treat_as_secure_origin}

    @property
    def quote_cookie(self) -> bool:
        return self._quote_cookie

    def __len__(self) -> int:
        self._purge()
        return sum(len(c) for c in self._cookies.values())

    def __iter__(self) -> Iterator[Morsel]:
        self._purge()
        for cookie in self._cookies.values():
            yield from cookie.values()

    def __bool__(self) -> bool:
        return bool(self._cookies)

    # --- mutation -----------------------------------------------------------------------
    def clear(self, predicate: Any = None) -> None:
        if predicate is None:
            self._cookies.clear()
            self._host_only.clear()
            self._expirations.clear()
            return
        for (domain, path), cookie in list(self._cookies.items()):
            for name, morsel in list(cookie.items()):
                if predicate(morsel):
                    self._delete(domain, path, name)

    def clear_domain(self, domain: str) -> None:
        self.clear(lambda m: domain_match(m["domain"], domain))

    def _delete(self, domain: str, path: str, name: str) -> None:
        cookie = self._cookies.get((domain, path))
        if cookie is not None and name in cookie:
            del cookie[name]
            if not cookie:
                del self._cookies[(domain, path)]
        self._host_only.discard((domain, path, name))
        self._expirations.pop((domain, path, name), None)

    def _purge(self) -> None:
        if not self._expirations:
            return
        now = time.time()
        for key, when in list(self._expirations.items()):
            if when <= now:
                self._delete(*key)

    def update_cookies(self, cookies: Any, response_url: URL | str = _EMPTY_URL) -> None:
        """Store ``cookies`` (a mapping, pairs or a BaseCookie) as set by ``response_url``."""
        url = URL(response_url) if not isinstance(response_url, URL) else response_url
        hostname = url.host or ""
        if not self._unsafe and is_ip_address(hostname):
            return  # as aiohttp: no cookies from IP addresses unless unsafe
        if isinstance(cookies, Mapping):
            items: Iterable = cookies.items()
        else:
            items = cookies
        for name, value in items:
            if isinstance(value, Morsel):
                morsel = value
                if not isinstance(name, str):
                    name = morsel.key
            else:
                tmp: SimpleCookie = SimpleCookie()
                tmp[name] = value
                morsel = tmp[name]
            self._store(morsel, name, url, hostname)

    def update_from_headers(self, set_cookie_values: Iterable[str], response_url: URL) -> None:
        """Store the cookies of a response's Set-Cookie header values."""
        hostname = response_url.host or ""
        if not self._unsafe and is_ip_address(hostname):
            return
        for header in set_cookie_values:
            parsed: SimpleCookie = SimpleCookie()
            try:
                parsed.load(header)
            except Exception:
                continue
            for name, morsel in parsed.items():
                self._store(morsel, name, response_url, hostname)

    def _store(self, morsel: Morsel, name: str, url: URL, hostname: str) -> None:
        domain = morsel["domain"]
        if domain.startswith("."):
            domain = domain[1:]
        domain = domain.lower()
        host_only = False
        if not domain:
            if not hostname:
                return
            domain = hostname
            host_only = True
        elif hostname and not domain_match(hostname, domain):
            return  # a domain the response host does not belong to
        path = morsel["path"]
        if not path or not path.startswith("/"):
            path = default_path(url)
        if path != "/" and path.endswith("/"):
            path = path.rstrip("/") or "/"
        expires_at: float | None = None
        max_age = morsel["max-age"]
        if max_age:
            try:
                delta = int(max_age)
            except ValueError:
                delta = None
            if delta is not None:
                expires_at = time.time() + delta if delta > 0 else 0.0
        elif morsel["expires"]:
            from http.cookiejar import http2time  # imports urllib.request: load on demand

            when = http2time(morsel["expires"])
            if when is not None:
                expires_at = float(when)
        if expires_at is not None and expires_at <= time.time():
            self._delete(domain, path, name)
            return
        m: Morsel = Morsel()
        m.set(name, morsel.value, morsel.coded_value)
        for attr in ("expires", "max-age", "secure", "httponly", "samesite", "comment", "version"):
            if morsel[attr]:
                m[attr] = morsel[attr]
        m["domain"] = domain
        m["path"] = path
        self._cookies.setdefault((domain, path), SimpleCookie())[name] = m
        key = (domain, path, name)
        if host_only:
            self._host_only.add(key)
        else:
            self._host_only.discard(key)
        if expires_at is not None:
            self._expirations[key] = expires_at
        else:
            self._expirations.pop(key, None)

    # --- lookup -------------------------------------------------------------------------
    def filter_cookies(self, request_url: URL | str) -> BaseCookie:
        """The cookies to send with a request to ``request_url``."""
        url = URL(request_url) if not isinstance(request_url, URL) else request_url
        out: SimpleCookie = SimpleCookie()
        if not self._cookies:
            return out
        self._purge()
        hostname = url.host or ""
        is_ip = is_ip_address(hostname)
        if is_ip and not self._unsafe:
            return out
        secure = url.scheme in ("https", "wss") or str(url.origin()) in self._secure_origins
        path = url.raw_path or "/"
        found = []
        for (domain, cpath), cookie in self._cookies.items():
            if not path_match(path, cpath):
                continue
            for name, morsel in cookie.items():
                if (domain, cpath, name) in self._host_only:
                    if hostname != domain:
                        continue
                elif not (hostname == domain or (not is_ip and hostname.endswith("." + domain))):
                    continue
                if morsel["secure"] and not secure:
                    continue
                found.append((len(cpath), name, morsel))
        found.sort(key=lambda t: -t[0])
        for _, name, morsel in found:
            if name not in out:
                out[name] = morsel.value
                out[name]._coded_value = morsel.coded_value  # type: ignore[attr-defined]
        return out

    def cookie_header(self, request_url: URL) -> str:
        """The Cookie request header value for ``request_url`` ('' when none apply)."""
        cookies = self.filter_cookies(request_url)
        return "; ".join(f"{m.key}={m.coded_value}" for m in cookies.values())


class DummyCookieJar(CookieJar):
    """A jar that stores nothing (``ClientSession(cookie_jar=DummyCookieJar())``)."""

    def update_cookies(self, cookies: Any, response_url: URL | str = _EMPTY_URL) -> None:
        pass

    def update_from_headers(self, set_cookie_values: Iterable[str], response_url: URL) -> None:
        pass


__all__ = ["CookieJar", "DummyCookieJar"]
