"""Unit tests of the I/O-free parts: multi-dicts, URLs, the cookie jar, the DNS cache."""

from __future__ import annotations

import asyncio
import time

import pytest
from http_support import run

import vif.http as http
from vif.http._dns import DNSCache


def test_cimultidict():
    h = http.CIMultiDict([("Set-Cookie", "a"), ("set-cookie", "b"), ("X", "1")])
    assert h["SET-COOKIE"] == "a"
    assert h.getall("set-cookie") == ["a", "b"]
    assert "x" in h and len(h) == 3
    h["x"] = "2"
    assert h["X"] == "2" and len(h) == 3
    del h["set-cookie"]
    assert "Set-Cookie" not in h
    ro = http.CIMultiDictProxy(h)
    with pytest.raises(TypeError):
        ro["a"] = "b"
    assert ro.copy() == h


def test_url():
    u = http.URL("HTTP://Example.COM:80/a b/?q=1#frag")
    assert u.scheme == "http" and u.host == "example.com" and u.port == 80
    assert u.raw_path == "/a%20b/" and u.query_string == "q=1" and u.fragment == "frag"
    assert u.authority == "example.com"
    assert str(u.join(http.URL("../c"))) == "http://example.com:80/c"
    assert u.query["q"] == "1"
    assert str(http.URL("http://[::1]:8080/").authority) == "[::1]:8080"
    assert http.URL("http://bücher.de/").host == "xn--bcher-kva.de"
    with pytest.raises(http.InvalidURL):
        http.URL("http://a:99999/")


def jar_with(set_cookie: str, url: str, **kw) -> http.CookieJar:
    jar = http.CookieJar(**kw)
    jar.update_from_headers([set_cookie], http.URL(url))
    return jar


def header(jar, url):
    return jar.cookie_header(http.URL(url))


def test_cookie_domain_rules():
    jar = jar_with("a=1; Domain=example.com", "http://www.example.com/")
    assert header(jar, "http://example.com/") == "a=1"
    assert header(jar, "http://sub.example.com/") == "a=1"
    assert header(jar, "http://example.org/") == ""
    host_only = jar_with("b=2", "http://www.example.com/")
    assert header(host_only, "http://www.example.com/") == "b=2"
    assert header(host_only, "http://x.www.example.com/") == ""
    foreign = jar_with("c=3; Domain=other.com", "http://www.example.com/")
    assert len(foreign) == 0


def test_cookie_path_rules():
    jar = jar_with("a=1; Path=/docs", "http://h.com/")
    assert header(jar, "http://h.com/docs") == "a=1"
    assert header(jar, "http://h.com/docs/x") == "a=1"
    assert header(jar, "http://h.com/docsx") == ""
    assert header(jar, "http://h.com/") == ""
    default = jar_with("b=2", "http://h.com/dir/page")
    assert header(default, "http://h.com/dir/other") == "b=2"
    assert header(default, "http://h.com/") == ""


def test_cookie_expiry_and_secure():
    jar = jar_with("a=1; Max-Age=1000", "http://h.com/")
    assert header(jar, "http://h.com/") == "a=1"
    jar.update_from_headers(["a=1; Max-Age=0"], http.URL("http://h.com/"))
    assert header(jar, "http://h.com/") == ""
    old = jar_with("b=2; Expires=Thu, 01 Jan 1970 00:00:00 GMT", "http://h.com/")
    assert len(old) == 0
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 3600))
    assert len(jar_with(f"c=3; Expires={future}", "http://h.com/")) == 1
    sec = jar_with("d=4; Secure", "https://h.com/")
    assert header(sec, "https://h.com/") == "d=4"
    assert header(sec, "http://h.com/") == ""


def test_cookie_ip_hosts():
    assert len(jar_with("a=1", "http://127.0.0.1/")) == 0
    jar = jar_with("a=1", "http://127.0.0.1/", unsafe=True)
    assert header(jar, "http://127.0.0.1/") == "a=1"


def test_dns_cache_ttl_and_size(loop_factory):
    async def body():
        loop = asyncio.get_running_loop()
        cache = DNSCache(ttl=0.05, max_size=2)
        infos, cached = await cache.resolve(loop, "localhost", 80)
        assert infos and not cached
        _, cached = await cache.resolve(loop, "localhost", 80)
        assert cached
        await cache.resolve(loop, "localhost", 81)
        await cache.resolve(loop, "localhost", 82)
        assert len(cache) == 2  # the size bound evicted the oldest
        assert cache.get(("localhost", 82, 0), loop.time() + 1) is None  # the TTL expired
        # Concurrent lookups of one name share one getaddrinfo.
        results = await asyncio.gather(*(cache.resolve(loop, "localhost", 90) for _ in range(5)))
        assert sum(1 for _, c in results if not c) == 1

    run(loop_factory, body())


def test_basic_auth_and_timeout():
    assert http.BasicAuth("u", "p").encode() == "Basic dTpw"
    assert http.BasicAuth.decode("Basic dTpw") == http.BasicAuth("u", "p")
    with pytest.raises(ValueError):
        http.BasicAuth("a:b", "c")
    assert http.ClientTimeout(total=0).total is None


def test_connection_key_reused_for_plain_requests():
    """The plain case (no proxy, default ssl) hands back one key object per origin."""
    from vif.http._connector import ConnectionKey

    conn = http.TCPConnector()
    url = http.URL("http://example.com/a")
    k1 = conn.make_key(url, True, None, None, None)
    k2 = conn.make_key(http.URL("http://example.com/b?q=1"), None, None, None, None)
    assert k1 is k2
    assert k1 == ConnectionKey("example.com", 80, False, True, None, None, None, None)
    https = conn.make_key(http.URL("https://example.com/"), True, None, None, None)
    assert https.is_ssl and https.port == 443 and https != k1
    other_port = conn.make_key(http.URL("http://example.com:8080/"), True, None, None, None)
    assert other_port.port == 8080
    # Anything beyond the plain case builds its own key.
    named = conn.make_key(url, True, None, None, "other.example")
    assert named.server_hostname == "other.example" and named is not k1
    insecure = conn.make_key(http.URL("https://example.com/"), False, None, None, None)
    assert insecure.ssl is False and insecure != https


def test_response_content_type_parsed_per_value():
    from vif.http._response import ClientResponse, parse_content_type

    class Head:
        status, reason, version = 200, "OK", None

        def __init__(self, ctype: str | None) -> None:
            self.content_type = ctype

    def resp(ctype: str | None) -> ClientResponse:
        r = ClientResponse("GET", http.URL("http://h/"), Head(ctype), None, None, None, [])
        r._protocol = None
        return r

    a = resp("text/plain; charset=latin-1")
    b = resp("Application/JSON")
    c = resp("text/plain; charset=latin-1")
    assert a.content_type == "text/plain" and a.charset == "latin-1"
    assert b.content_type == "application/json" and b.charset is None
    assert c.charset == "latin-1" and c.get_encoding() == "latin-1"
    assert resp(None).content_type == "application/octet-stream"
    assert parse_content_type("a/b; x=1") == ("a/b", {"x": "1"})


def test_response_json_decoding_paths(loop_factory):
    import json

    from vif.http._response import ClientResponse

    class Head:
        status, reason, version = 200, "OK", None
        content_type = "application/json; charset=utf-8"

    def resp(body: bytes) -> ClientResponse:
        r = ClientResponse("GET", http.URL("http://h/"), Head(), None, None, None, [])
        r._body = body
        return r

    async def main() -> None:
        assert await resp(b' {"a": [1, "\\u00e9"]} ').json() == {"a": [1, "é"]}
        assert await resp(b"  ").json() is None
        with pytest.raises(json.JSONDecodeError, match="BOM"):
            await resp('\ufeff{"a": 1}'.encode()).json()
        with pytest.raises(json.JSONDecodeError, match="Extra data"):
            await resp(b'{"a": 1} x').json()
        # The scanner-only path (no leading space) agrees with json.loads on all of these.
        for body in (b'{"a": 1}', b"[1, 2]\n", b'"s"', b"1.5", b"nul", b'{"a":', b"1 2"):
            try:
                expected: object = json.loads(body.decode())
            except json.JSONDecodeError as exc:
                with pytest.raises(json.JSONDecodeError) as info:
                    await resp(body).json()
                assert str(info.value) == str(exc)
            else:
                assert await resp(body).json() == expected
        assert await resp(b"").json() is None
        assert await resp(b"\x0b\x0c").json() is None  # blank to bytes.strip(), as before
        assert await resp(b'{"a": 1}').json(loads=lambda s: ("custom", s)) == (
            "custom",
            '{"a": 1}',
        )

    run(loop_factory, main())
