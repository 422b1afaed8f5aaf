"""A small ASGI app for the uvicorn tests (run in a subprocess by ``uvicorn_url``).

Routes: ``/json`` (a 1 KiB JSON body), ``/echo`` (the request body back, with its
length and transfer encoding), ``/stream`` (a chunked answer), ``/empty`` (204),
``/notmod`` (304), ``/headers`` (the request headers as JSON), ``/redirect``.
"""

import json

PAYLOAD = json.dumps({"items": [{"id": i, "name": f"item-{i:04d}"} for i in range(40)]})[:1024]
JSON_BODY = json.dumps({"data": PAYLOAD}).encode()


async def _body(receive):
    chunks = []
    while True:
        msg = await receive()
        chunks.append(msg.get("body", b""))
        if not msg.get("more_body"):
            return b"".join(chunks)


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"]
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
    if path == "/json":
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": JSON_BODY})
    elif path == "/echo":
        body = await _body(receive)
        info = {
            "len": len(body),
            "te": headers.get("transfer-encoding"),
            "ct": headers.get("content-type"),
        }
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"x-info", json.dumps(info).encode()),
                    (b"content-type", b"application/octet-stream"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
    elif path == "/stream":
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        for i in range(5):
            await send(
                {"type": "http.response.body", "body": f"line {i}\n".encode(), "more_body": True}
            )
        await send({"type": "http.response.body", "body": b""})
    elif path == "/empty":
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/notmod":
        await send({"type": "http.response.start", "status": 304, "headers": []})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/headers":
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps(headers).encode()})
    elif path == "/redirect":
        await send(
            {"type": "http.response.start", "status": 307, "headers": [(b"location", b"/echo")]}
        )
        await send({"type": "http.response.body", "body": b""})
    else:
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"not found"})
