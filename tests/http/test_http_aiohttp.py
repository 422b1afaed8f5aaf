"""vif.http against an aiohttp.web server: every client feature, on every loop."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import socket
import zlib

import pytest
from aiohttp import web
from http_support import aiohttp_server, raw_server, tls_contexts

import vif.http as http

STATE = web.AppKey("state", dict)


def make_app() -> web.Application:
    app = web.Application()
    state = {"peers": set()}
    app[STATE] = state

    async def track(request):
        state["peers"].add(request.transport.get_extra_info("peername"))

    async def json_handler(request):
        await track(request)
        return web.json_response({"ok": True, "query": list(request.query.items())})

    async def echo(request):
        await track(request)
        body = await request.read()
        return web.json_response(
            {
                "method": request.method,
                "body": body.decode("latin-1"),
                "content_type": request.headers.get("Content-Type"),
                "content_length": request.headers.get("Content-Length"),
                "transfer_encoding": request.headers.get("Transfer-Encoding"),
                "headers": dict(request.headers),
            }
        )

    async def form(request):
        data = await request.post()
        out = {}
        for k, v in data.items():
            if isinstance(v, web.FileField):
                out[k] = {
                    "filename": v.filename,
                    "data": v.file.read().decode(),
                    "content_type": v.content_type,
                }
            else:
                out[k] = v
        return web.json_response(out)

    async def chunked(request):
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for i in range(10):
            await resp.write(f"chunk {i}\n".encode())
        await resp.write_eof()
        return resp

    async def gz(request):
        data = b"hello gzip " * 100
        return web.Response(body=gzip.compress(data), headers={"Content-Encoding": "gzip"})

    async def deflate(request):
        data = b"hello deflate " * 100
        return web.Response(body=zlib.compress(data), headers={"Content-Encoding": "deflate"})

    async def status(request):
        return web.Response(status=int(request.match_info["code"]), text="status body")

    async def no_content(request):
        return web.Response(status=204)

    async def not_modified(request):
        return web.Response(status=304)

    async def redirect(request):
        code = int(request.match_info["code"])
        loc = request.query.get("to", "/echo")
        return web.Response(status=code, headers={"Location": loc})

    async def redirect_loop(request):
        return web.Response(status=302, headers={"Location": "/loop"})

    async def set_cookie(request):
        resp = web.json_response({"set": True})
        resp.set_cookie("session", "abc123", path="/")
        resp.set_cookie("scoped", "yes", path="/cookies/scoped")
        resp.set_cookie("sec", "s", secure=True)
        resp.set_cookie("gone", "x", max_age=0)
        return resp

    async def show_cookies(request):
        return web.json_response(dict(request.cookies))

    async def slow(request):
        await asyncio.sleep(10)
        return web.Response(text="late")

    async def big(request):
        return web.Response(body=b"x" * (1 << 20))

    async def lines(request):
        return web.Response(text="alpha\nbeta\ngamma\n")

    async def close_conn(request):
        return web.Response(text="bye", headers={"Connection": "close"})

    app.router.add_get("/json", json_handler)
    app.router.add_route("*", "/echo", echo)
    app.router.add_post("/form", form)
    app.router.add_get("/chunked", chunked)
    app.router.add_get("/gzip", gz)
    app.router.add_get("/deflate", deflate)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/204", no_content)
    app.router.add_get("/304", not_modified)
    app.router.add_route("*", "/redirect/{code}", redirect)
    app.router.add_get("/loop", redirect_loop)
    app.router.add_get("/cookies/set", set_cookie)
    app.router.add_get("/cookies/show", show_cookies)
    app.router.add_get("/cookies/scoped/show", show_cookies)
    app.router.add_get("/slow", slow)
    app.router.add_get("/big", big)
    app.router.add_get("/lines", lines)
    app.router.add_get("/close", close_conn)
    return app


def with_server(runner, fn, **session_kwargs):
    async def body():
        async with aiohttp_server(make_app()) as base:
            async with http.ClientSession(**session_kwargs) as session:
                return await fn(session, base)

    return runner(body)


# --- basics -------------------------------------------------------------------------------


def test_get_json(runner):
    async def fn(s, base):
        async with s.get(base + "/json") as resp:
            assert resp.status == 200
            assert resp.reason == "OK"
            assert resp.ok
            assert resp.content_type == "application/json"
            assert resp.charset == "utf-8"
            assert resp.headers["content-type"].startswith("application/json")
            assert str(resp.url) == base + "/json"
            assert resp.version == (1, 1)
            assert await resp.json() == {"ok": True, "query": []}

    with_server(runner, fn)


def test_await_without_context_manager(runner):
    async def fn(s, base):
        resp = await s.get(base + "/json")
        assert (await resp.json())["ok"]
        resp.release()

    with_server(runner, fn)


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_methods(runner, method):
    async def fn(s, base):
        async with s.request(method, base + "/echo") as resp:
            assert (await resp.json())["method"] == method
        verb = getattr(s, method.lower())
        async with verb(base + "/echo") as resp:
            assert (await resp.json())["method"] == method

    with_server(runner, fn)


def test_head(runner):
    async def fn(s, base):
        async with s.head(base + "/json") as resp:
            assert resp.status == 200
            assert int(resp.headers["Content-Length"]) > 0
            assert await resp.read() == b""
        async with s.get(base + "/json") as resp:  # the connection is still usable
            assert (await resp.json())["ok"]
        assert s.connector.idle_count() == 1

    with_server(runner, fn)


def test_params(runner):
    async def fn(s, base):
        async with s.get(base + "/json", params={"a": "1", "b": "x y"}) as resp:
            assert (await resp.json())["query"] == [["a", "1"], ["b", "x y"]]
        async with s.get(base + "/json?z=0", params=[("a", "1"), ("a", "2")]) as resp:
            assert (await resp.json())["query"] == [["z", "0"], ["a", "1"], ["a", "2"]]

    with_server(runner, fn)


def test_base_url_and_default_headers(runner):
    async def body():
        async with aiohttp_server(make_app()) as base:
            async with http.ClientSession(base + "/", headers={"X-Default": "d"}) as s:
                async with s.get("echo", headers={"X-Extra": "e"}) as resp:
                    data = await resp.json()
                    assert data["headers"]["X-Default"] == "d"
                    assert data["headers"]["X-Extra"] == "e"
                    assert data["headers"]["Host"] == base.split("//")[1]
                    assert "gzip" in data["headers"]["Accept-Encoding"]
                async with s.get("/echo", headers={"X-Default": "override"}) as resp:
                    assert (await resp.json())["headers"]["X-Default"] == "override"

    runner(body)


# --- bodies out ---------------------------------------------------------------------------


def test_post_bodies(runner):
    async def fn(s, base):
        async with s.post(base + "/echo", json={"a": [1, 2]}) as resp:
            d = await resp.json()
            assert json.loads(d["body"]) == {"a": [1, 2]}
            assert d["content_type"] == "application/json"
        async with s.post(base + "/echo", data=b"raw bytes") as resp:
            d = await resp.json()
            assert d["body"] == "raw bytes" and d["content_length"] == "9"
        async with s.post(base + "/echo", data="text") as resp:
            d = await resp.json()
            assert d["body"] == "text" and d["content_type"].startswith("text/plain")
        async with s.post(base + "/echo", data={"k": "v w", "n": "2"}) as resp:
            d = await resp.json()
            assert d["body"] == "k=v+w&n=2"
            assert d["content_type"] == "application/x-www-form-urlencoded"
        async with s.post(base + "/echo", data=io.BytesIO(b"from a file")) as resp:
            assert (await resp.json())["body"] == "from a file"

    with_server(runner, fn)


def test_chunked_upload(runner):
    async def gen():
        for i in range(20):
            yield f"part{i};".encode()

    async def fn(s, base):
        async with s.post(base + "/echo", data=gen()) as resp:
            d = await resp.json()
            assert d["transfer_encoding"] == "chunked"
            assert d["body"] == "".join(f"part{i};" for i in range(20))
        async with s.post(base + "/echo", data=b"forced", chunked=True) as resp:
            d = await resp.json()
            assert d["transfer_encoding"] == "chunked" and d["body"] == "forced"

    with_server(runner, fn)


@pytest.mark.parametrize("compress", [True, "gzip"])
def test_compressed_upload(runner, compress):
    async def gen():
        yield b"streamed " * 100

    async def fn(s, base):
        # aiohttp.web decodes Content-Encoding of request bodies on its own.
        async with s.post(base + "/echo", data=b"squeeze " * 100, compress=compress) as resp:
            d = await resp.json()
            assert d["body"] == "squeeze " * 100
            assert d["headers"]["Content-Encoding"] == ("deflate" if compress is True else "gzip")
            assert int(d["content_length"]) < 800
        async with s.post(base + "/echo", data=gen(), compress=compress) as resp:
            d = await resp.json()
            assert d["body"] == "streamed " * 100 and d["transfer_encoding"] == "chunked"

    with_server(runner, fn)


def test_file_upload_streams_with_length(runner, tmp_path):
    path = tmp_path / "upload.bin"
    payload = bytes(range(256)) * 1000
    path.write_bytes(payload)

    async def fn(s, base):
        with open(path, "rb") as f:
            async with s.post(base + "/echo", data=f) as resp:
                d = await resp.json()
        assert d["content_length"] == str(len(payload))
        assert d["transfer_encoding"] is None
        assert d["body"].encode("latin-1") == payload
        with open(path, "rb") as f:
            f.seek(1000)
            async with s.post(base + "/echo", data=f, chunked=True) as resp:
                d = await resp.json()
        assert d["transfer_encoding"] == "chunked"
        assert d["body"].encode("latin-1") == payload[1000:]

    with_server(runner, fn)


def test_large_upload(runner):
    payload = bytes(range(256)) * 4096  # 1 MiB

    async def fn(s, base):
        async with s.post(base + "/echo", data=payload) as resp:
            assert (await resp.json())["content_length"] == str(len(payload))

    with_server(runner, fn)


def test_form_and_multipart(runner):
    async def fn(s, base):
        form = http.FormData()
        form.add_field("name", "value")
        form.add_field(
            "file", io.BytesIO(b"file contents"), filename="a.txt", content_type="text/plain"
        )
        async with s.post(base + "/form", data=form) as resp:
            d = await resp.json()
            assert d["name"] == "value"
            assert d["file"] == {
                "filename": "a.txt",
                "data": "file contents",
                "content_type": "text/plain",
            }
        async with s.post(base + "/form", data=http.FormData({"a": "1", "b": "2"})) as resp:
            assert await resp.json() == {"a": "1", "b": "2"}

    with_server(runner, fn)


# --- bodies in ----------------------------------------------------------------------------


def test_chunked_response(runner):
    async def fn(s, base):
        async with s.get(base + "/chunked") as resp:
            assert resp.headers["Transfer-Encoding"] == "chunked"
            assert await resp.text() == "".join(f"chunk {i}\n" for i in range(10))
        assert s.connector.idle_count() == 1

    with_server(runner, fn)


@pytest.mark.parametrize(
    "path,expected", [("/gzip", b"hello gzip " * 100), ("/deflate", b"hello deflate " * 100)]
)
def test_decompression(runner, path, expected):
    async def fn(s, base):
        async with s.get(base + path) as resp:
            assert await resp.read() == expected
        async with s.get(base + path, auto_decompress=False) as resp:
            raw = await resp.read()
            assert raw != expected and len(raw) < len(expected)

    with_server(runner, fn)


@pytest.mark.parametrize("path,status", [("/204", 204), ("/304", 304)])
def test_no_body_statuses(runner, path, status):
    async def fn(s, base):
        for _ in range(2):
            async with s.get(base + path) as resp:
                assert resp.status == status
                assert await resp.read() == b""
        assert s.connector.idle_count() == 1

    with_server(runner, fn)


def test_streaming_api(runner):
    async def fn(s, base):
        async with s.get(base + "/big") as resp:
            total = 0
            async for chunk in resp.content.iter_chunked(10000):
                assert len(chunk) <= 10000
                total += len(chunk)
            assert total == 1 << 20
        async with s.get(base + "/big") as resp:
            first = await resp.content.readexactly(100)
            assert first == b"x" * 100
            rest = b"".join([c async for c in resp.content.iter_any()])
            assert len(rest) == (1 << 20) - 100
            assert resp.content.at_eof()
        async with s.get(base + "/lines") as resp:
            assert await resp.content.readline() == b"alpha\n"
            assert [line async for line in resp.content] == [b"beta\n", b"gamma\n"]
        async with s.get(base + "/big") as resp:
            assert len(await resp.content.read(5)) <= 5
        # The last body was not read to its end: that connection was closed, not pooled.

    with_server(runner, fn)


def test_text_and_json_errors(runner):
    async def fn(s, base):
        async with s.get(base + "/lines") as resp:
            with pytest.raises(http.ContentTypeError):
                await resp.json()
            with pytest.raises(ValueError):
                await resp.json(content_type=None)
        async with s.get(base + "/lines") as resp:
            assert await resp.text() == "alpha\nbeta\ngamma\n"

    with_server(runner, fn)


# --- keep-alive and the pool --------------------------------------------------------------


def test_keepalive_reuse(runner):
    async def body():
        app = make_app()
        async with aiohttp_server(app) as base:
            async with http.ClientSession() as s:
                for _ in range(10):
                    async with s.get(base + "/json") as resp:
                        await resp.read()
                assert len(app[STATE]["peers"]) == 1
                assert s.connector.idle_count() == 1

    runner(body)


def test_concurrent_pool_limit(runner):
    async def body():
        app = make_app()
        async with aiohttp_server(app) as base:
            conn = http.TCPConnector(limit=3)
            async with http.ClientSession(connector=conn) as s:

                async def one():
                    async with s.get(base + "/json") as resp:
                        assert conn.acquired_count <= 3
                        return (await resp.json())["ok"]

                assert all(await asyncio.gather(*(one() for _ in range(30))))
                assert len(app[STATE]["peers"]) <= 3
                assert conn.acquired_count == 0

    runner(body)


def test_limit_per_host(runner):
    async def body():
        async with aiohttp_server(make_app()) as base:
            conn = http.TCPConnector(limit=0, limit_per_host=2)
            async with http.ClientSession(connector=conn) as s:

                async def one():
                    async with s.get(base + "/json") as resp:
                        return await resp.json()

                await asyncio.gather(*(one() for _ in range(10)))
                assert conn.idle_count() <= 2

    runner(body)


def test_pool_timeout(runner):
    async def body():
        async with aiohttp_server(make_app()) as base:
            conn = http.TCPConnector(limit=1)
            timeout = http.ClientTimeout(pool=0.2)
            async with http.ClientSession(connector=conn, timeout=timeout) as s:
                held = await s.get(base + "/json")
                with pytest.raises(TimeoutError) as info:
                    await s.get(base + "/json")
                assert isinstance(info.value, http.ClientError)
                held.release()
                async with s.get(base + "/json") as resp:  # the slot is free again
                    assert resp.status == 200

    runner(body)


def test_server_closes_connection(runner):
    async def fn(s, base):
        async with s.get(base + "/close") as resp:
            assert await resp.text() == "bye"
        assert s.connector.idle_count() == 0
        async with s.get(base + "/json") as resp:
            assert resp.status == 200

    with_server(runner, fn)


def test_keepalive_expiry(runner):
    async def body():
        async with aiohttp_server(make_app()) as base:
            conn = http.TCPConnector(keepalive_timeout=0.05)
            async with http.ClientSession(connector=conn) as s:
                async with s.get(base + "/json") as resp:
                    await resp.read()
                assert conn.idle_count() == 1
                # Wait for the pool's own clean-up timer (keep-alive expiry) to run.
                while conn.idle_count():
                    await asyncio.sleep(0.02)
                async with s.get(base + "/json") as resp:
                    assert resp.status == 200

    runner(body)


def test_session_close_closes_everything(runner):
    async def body():
        async with aiohttp_server(make_app()) as base:
            s = http.ClientSession()
            resps = [await s.get(base + "/big") for _ in range(3)]  # bodies not read
            async with s.get(base + "/json") as r:
                await r.read()
            await s.close()
            assert s.closed
            for r in resps:
                r.release()
            with pytest.raises(RuntimeError):
                await s.get(base + "/json")

    runner(body)


# --- timeouts -----------------------------------------------------------------------------


def test_sock_read_timeout(runner):
    async def fn(s, base):
        with pytest.raises(TimeoutError) as info:
            await s.get(base + "/slow", timeout=http.ClientTimeout(sock_read=0.2))
        assert isinstance(info.value, http.ServerTimeoutError)

    with_server(runner, fn)


def test_total_timeout(runner):
    async def fn(s, base):
        with pytest.raises(TimeoutError):
            await s.get(base + "/slow", timeout=http.ClientTimeout(total=0.2))
        with pytest.raises(TimeoutError):
            await s.get(base + "/slow", timeout=0.2)
        assert s.connector.idle_count() == 0

    with_server(runner, fn)


def test_connect_timeout_tls_handshake(runner):
    async def silent(reader, writer):
        await reader.read()  # accept the TCP connection, never answer the ClientHello

    async def body():
        async with raw_server(silent) as (base, _):
            url = base.replace("http://", "https://") + "/"
            timeout = http.ClientTimeout(sock_connect=0.2)
            async with http.ClientSession(timeout=timeout) as s:
                with pytest.raises(TimeoutError) as info:
                    await s.get(url)
                assert isinstance(info.value, http.ClientError)
                with pytest.raises(TimeoutError):
                    await s.get(url, timeout=http.ClientTimeout(connect=0.2))

    runner(body)


def test_connection_refused(runner):
    async def body():
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]  # bound, not listening: connections are refused
            async with http.ClientSession() as s:
                with pytest.raises(http.ClientConnectorError) as info:
                    await s.get(f"http://127.0.0.1:{port}/")
                assert info.value.port == port

    runner(body)


def test_invalid_urls(runner):
    async def body():
        async with http.ClientSession() as s:
            with pytest.raises(http.InvalidURL):
                await s.get("ftp://example.com/")
            with pytest.raises(http.InvalidURL):
                await s.get("/relative/without/base")
            with pytest.raises(http.InvalidURL):
                await s.get("http://bad host/")
            with pytest.raises(http.InvalidURL):
                await s.get("http://h:99999/")

    runner(body)


# --- redirects ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code,method,expected_method,keeps_body",
    [
        (301, "GET", "GET", False),
        (302, "GET", "GET", False),
        (303, "GET", "GET", False),
        (301, "POST", "GET", False),
        (302, "POST", "GET", False),
        (303, "POST", "GET", False),
        (303, "PUT", "GET", False),
        (307, "POST", "POST", True),
        (308, "PUT", "PUT", True),
        (307, "GET", "GET", False),
    ],
)
def test_redirect_rules(runner, code, method, expected_method, keeps_body):
    async def fn(s, base):
        data = b"payload" if method != "GET" else None
        async with s.request(method, base + f"/redirect/{code}", data=data) as resp:
            d = await resp.json()
            assert resp.status == 200
            assert d["method"] == expected_method
            assert d["body"] == ("payload" if keeps_body else "")
            assert [r.status for r in resp.history] == [code]
            assert str(resp.url) == base + "/echo"

    with_server(runner, fn)


def test_redirect_disabled_and_too_many(runner):
    async def fn(s, base):
        async with s.get(base + "/redirect/302", allow_redirects=False) as resp:
            assert resp.status == 302 and resp.headers["Location"] == "/echo"
        with pytest.raises(http.TooManyRedirects) as info:
            await s.get(base + "/loop", max_redirects=3)
        assert len(info.value.history) == 4
        assert s.connector.acquired_count == 0

    with_server(runner, fn)


def test_redirect_drops_authorization_on_host_change(runner):
    async def body():
        async with aiohttp_server(make_app()) as base, aiohttp_server(make_app()) as other:
            other_host = other.replace("127.0.0.1", "localhost")
            async with http.ClientSession() as s:
                auth = http.BasicAuth("user", "pw")
                async with s.get(base + "/redirect/302?to=/echo", auth=auth) as resp:
                    assert "Authorization" in (await resp.json())["headers"]
                async with s.get(
                    base + f"/redirect/302?to={other_host}/echo", auth=auth, headers={"X-Keep": "1"}
                ) as resp:
                    hdrs = (await resp.json())["headers"]
                    assert "Authorization" not in hdrs
                    assert hdrs["X-Keep"] == "1"

    runner(body)


# --- cookies, auth, status ---------------------------------------------------------------


def test_cookies(runner):
    async def fn(s, base):
        async with s.get(base + "/cookies/set") as resp:
            assert resp.cookies["session"].value == "abc123"
        async with s.get(base + "/cookies/show") as resp:
            assert await resp.json() == {"session": "abc123"}  # not scoped, not secure, not gone
        async with s.get(base + "/cookies/scoped/show") as resp:
            assert await resp.json() == {"session": "abc123", "scoped": "yes"}
        async with s.get(base + "/cookies/show", cookies={"extra": "1"}) as resp:
            assert await resp.json() == {"session": "abc123", "extra": "1"}
        assert {m.key for m in s.cookie_jar} == {"session", "scoped", "sec"}

    with_server(runner, fn, cookie_jar=http.CookieJar(unsafe=True))


def test_cookies_not_from_ip_by_default(runner):
    async def fn(s, base):
        async with s.get(base + "/cookies/set") as resp:
            await resp.read()
        assert len(s.cookie_jar) == 0

    with_server(runner, fn)


def test_basic_auth(runner):
    async def fn(s, base):
        async with s.get(base + "/echo", auth=http.BasicAuth("u", "p")) as resp:
            assert (await resp.json())["headers"]["Authorization"] == "Basic dTpw"
        url = base.replace("http://", "http://u:p@") + "/echo"
        async with s.get(url) as resp:
            assert (await resp.json())["headers"]["Authorization"] == "Basic dTpw"

    with_server(runner, fn)


def test_raise_for_status(runner):
    async def fn(s, base):
        async with s.get(base + "/status/404") as resp:
            assert resp.status == 404 and not resp.ok
            with pytest.raises(http.ClientResponseError) as info:
                resp.raise_for_status()
            assert info.value.status == 404
        with pytest.raises(http.ClientResponseError) as info:
            await s.get(base + "/status/500", raise_for_status=True)
        assert info.value.status == 500
        assert s.connector.acquired_count == 0

    with_server(runner, fn)


def test_session_raise_for_status(runner):
    async def fn(s, base):
        with pytest.raises(http.ClientResponseError):
            await s.get(base + "/status/418")
        async with s.get(base + "/status/418", raise_for_status=False) as resp:
            assert resp.status == 418

    with_server(runner, fn, raise_for_status=True)


# --- one-shot helpers, tracing -------------------------------------------------------------


def test_one_shot_helpers(runner):
    async def body():
        async with aiohttp_server(make_app()) as base:
            resp = await http.get(base + "/json")
            assert (await resp.json())["ok"]
            resp = await http.post(base + "/echo", json={"x": 1})
            assert json.loads((await resp.json())["body"]) == {"x": 1}
            async with http.request("GET", base + "/json") as resp:
                assert resp.status == 200

    runner(body)


def test_tracing(runner):
    events = []

    def hook(name):
        async def cb(session, ctx, params):
            events.append((name, ctx.trace_request_ctx))

        return cb

    async def body():
        tc = http.TraceConfig()
        for name in (
            "on_request_start",
            "on_request_end",
            "on_connection_create_start",
            "on_connection_create_end",
            "on_connection_reuseconn",
            "on_dns_resolvehost_start",
            "on_dns_resolvehost_end",
            "on_dns_cache_hit",
            "on_dns_cache_miss",
            "on_request_redirect",
            "on_request_exception",
        ):
            getattr(tc, name).append(hook(name))
        async with aiohttp_server(make_app()) as base:
            base = base.replace("127.0.0.1", "localhost")
            async with http.ClientSession(trace_configs=[tc]) as s:
                async with s.get(base + "/json", trace_request_ctx="first") as resp:
                    await resp.read()
                async with s.get(base + "/redirect/302", trace_request_ctx="second") as resp:
                    await resp.read()
                with pytest.raises(http.ClientResponseError):
                    await s.get(base + "/status/500", raise_for_status=True)

    runner(body)
    names = [n for n, _ in events]
    assert names[:6] == [
        "on_request_start",
        "on_connection_create_start",
        "on_dns_cache_miss",
        "on_dns_resolvehost_start",
        "on_dns_resolvehost_end",
        "on_connection_create_end",
    ]
    assert ("on_request_end", "first") in events
    assert ("on_connection_reuseconn", "second") in events
    assert ("on_request_redirect", "second") in events


# --- TLS ----------------------------------------------------------------------------------


def test_https_with_test_certificate(runner):
    server_ctx, client_ctx = tls_contexts()

    async def body():
        async with aiohttp_server(make_app(), ssl_context=server_ctx) as base:
            base = base.replace("127.0.0.1", "localhost")
            async with http.ClientSession() as s:
                for _ in range(3):
                    async with s.get(base + "/json", ssl=client_ctx) as resp:
                        assert (await resp.json())["ok"]
                assert s.connector.idle_count() == 1
                # The default context (system store) rejects the test CA.
                with pytest.raises(http.ClientConnectorCertificateError):
                    await s.get(base + "/json")
                async with s.get(base + "/json", ssl=False) as resp:
                    assert resp.status == 200

    runner(body)
