"""Tutorial: the HTTP client - three slow requests made concurrently take as long as the slowest.

Run with ``python examples/http_example.py [--scale 0.2]``; it takes about
2 seconds (times the scale). The example starts its own small HTTP server on
127.0.0.1, whose ``/delay/N/WORD`` answers WORD after N seconds (times the
scale), so nothing leaves the machine.
"""

import argparse
import asyncio
import time

import vif
import vif.http


async def serve(reader, writer, scale):
    # A tiny HTTP/1.1 server: GET /delay/<seconds>/<word> answers <word> after a delay.
    request = await reader.readuntil(b"\r\n\r\n")
    path = request.split(b" ", 2)[1].decode()
    _, _, seconds, word = path.split("/")
    await asyncio.sleep(float(seconds) * scale)
    body = word.encode()
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    await writer.drain()
    writer.close()


async def fetch(session, url):
    async with session.get(url) as resp:
        return f"{resp.status} {await resp.text()}"


async def main(scale):
    server = await asyncio.start_server(lambda r, w: serve(r, w, scale), "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    print(f"started at {time.strftime('%X')}")

    async with vif.http.ClientSession() as session:
        # All three requests are in flight at once: 'world' decides the total time.
        results = await asyncio.gather(
            fetch(session, f"{base}/delay/1/hello"),
            fetch(session, f"{base}/delay/2/world"),
            fetch(session, f"{base}/delay/1/!!!!!"),
        )
    for result in results:
        print(result)

    print(f"finished at {time.strftime('%X')}")
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every delay")
    vif.run(main(parser.parse_args().scale))
