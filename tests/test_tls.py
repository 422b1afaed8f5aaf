"""TLS over the loop's socket transports: echo, streams, start_tls, versions, ALPN,
SNI, extra info, handshake failures and timeouts, unclean and clean shutdown, and a
flow-controlled 64 MiB transfer in both directions with bounded memory."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import ssl
import tracemalloc

import pytest
from vif_testing import REFERENCE, Echo, Recorder, ServerProtocols, open_fd_count, run

test_utils = pytest.importorskip("test.test_asyncio.utils")

HOST = "127.0.0.1"
HOSTNAME = "localhost"
SIGNED_CERT = test_utils.SIGNED_CERTFILE  # key + cert for "localhost", signed by SIGNING_CA
SIGNING_CA = test_utils.SIGNING_CA
SELF_SIGNED_CERT, SELF_SIGNED_KEY = test_utils.ONLYCERT, test_utils.ONLYKEY


def server_context(**versions) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(SIGNED_CERT)
    for name, value in versions.items():
        setattr(ctx, name, value)
    return ctx


def client_context(**versions) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the chain and hostname
    ctx.load_verify_locations(SIGNING_CA)
    for name, value in versions.items():
        setattr(ctx, name, value)
    return ctx


def record_exceptions(loop) -> list[str]:
    """Collect the messages passed to the loop's exception handler."""
    messages: list[str] = []
    loop.set_exception_handler(lambda _loop, context: messages.append(context["message"]))
    return messages


async def settle_fds(start: int, timeout: float = 3.0) -> int:
    """Give closing transports a chance to release their fds; return the fd count.

    Closing is driven by callbacks with no event the test can await, so poll:
    a few bare loop iterations first, then short naps until ``timeout``.
    """
    loop = asyncio.get_running_loop()
    for _ in range(50):
        if open_fd_count() <= start:
            return open_fd_count()
        await asyncio.sleep(0)
    deadline = loop.time() + timeout
    while open_fd_count() > start and loop.time() < deadline:
        await asyncio.sleep(0.01)
    return open_fd_count()


async def close_server(server) -> None:
    server.close()
    await server.wait_closed()


async def tls_pair(loop, *, client_cls=Recorder, server_cls=Recorder, sctx=None, cctx=None):
    """A TLS server and a client connected to it.

    Returns (server, client transport, client protocol, server protocol).
    """
    factory = ServerProtocols(server_cls)
    server = await loop.create_server(factory, HOST, 0, ssl=sctx or server_context())
    port = server.sockets[0].getsockname()[1]
    tr, client = await loop.create_connection(
        client_cls, HOST, port, ssl=cctx or client_context(), server_hostname=HOSTNAME
    )
    return server, tr, client, await factory.get()


def test_echo_over_create_server_and_create_connection(loop_factory):
    payload = os.urandom(300_000)

    async def main():
        start = open_fd_count()
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, HOST, 0, ssl=server_context())
        port = server.sockets[0].getsockname()[1]
        tr, client = await loop.create_connection(
            Recorder, HOST, port, ssl=client_context(), server_hostname=HOSTNAME
        )
        assert isinstance(tr.get_extra_info("ssl_object"), ssl.SSLObject)
        tr.write(b"ping")
        assert await client.wait_bytes(4) == b"ping"
        tr.write(payload)
        assert await client.wait_bytes(4 + len(payload)) == b"ping" + payload
        tr.close()
        assert await client.lost is None
        await close_server(server)
        assert await settle_fds(start) == start

    run(loop_factory, main())


def test_streams_over_tls(loop_factory):
    async def handler(reader, writer):
        assert writer.get_extra_info("ssl_object") is not None
        while (line := await reader.readline()) != b"QUIT\n":
            writer.write(line.upper())
            await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def main():
        start = open_fd_count()
        server = await asyncio.start_server(handler, HOST, 0, ssl=server_context(), limit=1 << 20)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection(
            HOST, port, ssl=client_context(), server_hostname=HOSTNAME, limit=1 << 20
        )
        for i in range(50):
            writer.write(b"line %d\n" % i)
            await writer.drain()
            assert await reader.readline() == b"LINE %d\n" % i
        big = b"x" * 200_000 + b"\n"
        writer.write(big)
        assert await reader.readline() == big.upper()
        assert not writer.can_write_eof()  # TLS transports have no half-close
        writer.write(b"QUIT\n")
        assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()
        await close_server(server)
        assert await settle_fds(start) == start

    run(loop_factory, main())


def test_stream_writer_start_tls_upgrade(loop_factory):
    async def handler(reader, writer):
        assert await reader.readline() == b"STARTTLS\n"
        writer.write(b"GO\n")
        await writer.drain()
        await writer.start_tls(server_context())
        assert writer.get_extra_info("ssl_object") is not None
        line = await reader.readline()
        writer.write(b"secure " + line)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def main():
        server = await asyncio.start_server(handler, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection(HOST, port)
        assert writer.get_extra_info("ssl_object") is None
        writer.write(b"STARTTLS\n")
        assert await reader.readline() == b"GO\n"
        await writer.start_tls(client_context(), server_hostname=HOSTNAME)
        ssl_object = writer.get_extra_info("ssl_object")
        assert ssl_object is not None
        assert ssl_object.getpeercert()["subjectAltName"] == (("DNS", HOSTNAME),)
        writer.write(b"hello\n")
        assert await reader.readline() == b"secure hello\n"
        assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()
        await close_server(server)

    run(loop_factory, main())


def test_loop_start_tls_upgrade(loop_factory):
    """loop.start_tls on both sides of a plain connection made by the loop."""

    async def main():
        loop = asyncio.get_running_loop()
        factory = ServerProtocols(Recorder)
        server = await loop.create_server(factory, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        tr, client = await loop.create_connection(Recorder, HOST, port)
        sproto = await factory.get()
        tr.write(b"plain")
        assert await sproto.wait_bytes(5) == b"plain"
        server_side = loop.create_task(
            loop.start_tls(sproto.transport, sproto, server_context(), server_side=True)
        )
        ctr = await loop.start_tls(tr, client, client_context(), server_hostname=HOSTNAME)
        str_ = await server_side
        assert ctr.get_extra_info("ssl_object") is not None
        assert str_.get_extra_info("ssl_object") is not None
        assert ctr.get_protocol() is client
        ctr.write(b"-secret")
        assert await sproto.wait_bytes(12) == b"plain-secret"
        str_.write(b"reply")
        assert await client.wait_bytes(5) == b"reply"
        ctr.close()
        assert await client.lost is None
        await sproto.lost
        await close_server(server)

    run(loop_factory, main())


@pytest.mark.parametrize(
    "version,name",
    [(ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")],
    ids=["tls1.2", "tls1.3"],
)
def test_pinned_protocol_version(loop_factory, version, name):
    async def main():
        loop = asyncio.get_running_loop()
        cctx = client_context(minimum_version=version, maximum_version=version)
        server, tr, client, sproto = await tls_pair(loop, cctx=cctx)
        versions = (
            tr.get_extra_info("ssl_object").version(),
            sproto.transport.get_extra_info("ssl_object").version(),
            tr.get_extra_info("cipher")[1],
        )
        tr.write(b"data")
        assert await sproto.wait_bytes(4) == b"data"
        sproto.transport.write(b"back")
        assert await client.wait_bytes(4) == b"back"
        tr.close()
        await client.lost
        await sproto.lost
        await close_server(server)
        return versions

    assert run(loop_factory, main()) == (name, name, name)


def test_alpn_negotiated(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        sctx = server_context()
        sctx.set_alpn_protocols(["h2", "http/1.1"])
        cctx = client_context()
        cctx.set_alpn_protocols(["spdy/3", "http/1.1"])
        server, tr, client, sproto = await tls_pair(loop, sctx=sctx, cctx=cctx)
        chosen = (
            tr.get_extra_info("ssl_object").selected_alpn_protocol(),
            sproto.transport.get_extra_info("ssl_object").selected_alpn_protocol(),
        )
        tr.close()
        await client.lost
        await close_server(server)
        return chosen

    assert run(loop_factory, main()) == ("http/1.1", "http/1.1")


def test_sni_seen_by_server(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        seen = []
        sctx = server_context()

        def sni_callback(ssl_object, server_name, context):
            seen.append((server_name, ssl_object.server_side))
            return None

        sctx.sni_callback = sni_callback
        server, tr, client, sproto = await tls_pair(loop, sctx=sctx)
        tr.close()
        await client.lost
        await close_server(server)
        return seen

    assert run(loop_factory, main()) == [(HOSTNAME, True)]


def test_extra_info(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        sctx = server_context()
        sctx.verify_mode = ssl.CERT_REQUIRED  # mutual TLS: the server sees a peercert too
        sctx.load_verify_locations(SIGNING_CA)
        cctx = client_context()
        cctx.load_cert_chain(SIGNED_CERT)
        server, tr, client, sproto = await tls_pair(loop, sctx=sctx, cctx=cctx)
        info = {}
        for side, transport in (("client", tr), ("server", sproto.transport)):
            ssl_object = transport.get_extra_info("ssl_object")
            assert isinstance(ssl_object, ssl.SSLObject)
            assert ssl_object.server_side == (side == "server")
            peercert = transport.get_extra_info("peercert")
            assert peercert == ssl_object.getpeercert()
            assert dict(x[0] for x in peercert["subject"])["commonName"] == HOSTNAME
            cipher = transport.get_extra_info("cipher")
            assert cipher == ssl_object.cipher()
            assert len(cipher) == 3 and isinstance(cipher[0], str)
            assert transport.get_extra_info("compression") == ssl_object.compression()
            assert transport.get_extra_info("sslcontext") is (cctx if side == "client" else sctx)
            assert transport.get_extra_info("socket") is not None
            assert transport.get_extra_info("peername")[0] == HOST
            assert transport.get_extra_info("sockname")[0] == HOST
            assert transport.get_extra_info("no such key", "dflt") == "dflt"
            info[side] = (
                type(ssl_object).__name__,
                cipher[1],
                transport.get_extra_info("compression"),
                transport.get_extra_info("peername")[1] > 0,
            )
        assert tr.get_extra_info("peername") == sproto.transport.get_extra_info("sockname")
        tr.close()
        await client.lost
        await close_server(server)
        return info

    got = run(loop_factory, main())
    assert got == run(REFERENCE, main())


def test_handshake_failure_wrong_ca(loop_factory):
    """The server's self-signed certificate does not verify against SIGNING_CA."""

    async def scenario():
        loop = asyncio.get_running_loop()
        errors = record_exceptions(loop)
        start = open_fd_count()
        sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sctx.load_cert_chain(SELF_SIGNED_CERT, SELF_SIGNED_KEY)
        factory = ServerProtocols(Recorder)
        server = await loop.create_server(factory, HOST, 0, ssl=sctx)
        port = server.sockets[0].getsockname()[1]
        with pytest.raises(ssl.SSLError) as excinfo:
            await loop.create_connection(
                Recorder, HOST, port, ssl=client_context(), server_hostname=HOSTNAME
            )
        await close_server(server)
        assert await settle_fds(start) == start
        assert not any(p.made.done() for p in factory.protocols)
        return type(excinfo.value), excinfo.value.reason, sorted(set(errors))

    got = run(loop_factory, scenario())
    assert issubclass(got[0], ssl.SSLError)
    assert got == run(REFERENCE, scenario())


def test_handshake_failure_streams(loop_factory):
    async def scenario():
        start = open_fd_count()
        sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sctx.load_cert_chain(SELF_SIGNED_CERT, SELF_SIGNED_KEY)
        server = await asyncio.start_server(lambda r, w: w.close(), HOST, 0, ssl=sctx)
        port = server.sockets[0].getsockname()[1]
        with pytest.raises(ssl.SSLError) as excinfo:
            await asyncio.open_connection(
                HOST, port, ssl=client_context(), server_hostname=HOSTNAME
            )
        await close_server(server)
        assert await settle_fds(start) == start
        return type(excinfo.value)

    assert run(loop_factory, scenario()) is run(REFERENCE, scenario())


def test_handshake_timeout(loop_factory):
    """A TCP server that accepts and never answers the ClientHello."""

    async def scenario():
        loop = asyncio.get_running_loop()
        start = open_fd_count()
        listener = socket.create_server((HOST, 0))
        listener.setblocking(False)
        port = listener.getsockname()[1]
        accepted = loop.create_task(loop.sock_accept(listener))
        t0 = loop.time()
        with pytest.raises(Exception) as excinfo:
            await loop.create_connection(
                Recorder,
                HOST,
                port,
                ssl=client_context(),
                server_hostname=HOSTNAME,
                ssl_handshake_timeout=0.3,
            )
        elapsed = loop.time() - t0
        assert 0.25 <= elapsed < 5, elapsed
        conn, _ = await accepted
        # The client gave up: its socket is closed, so the silent server sees EOF.
        assert await loop.sock_recv(conn, 65536)  # the ClientHello
        while await loop.sock_recv(conn, 65536):
            pass
        conn.close()
        listener.close()
        assert await settle_fds(start) == start
        return type(excinfo.value)

    got = run(loop_factory, scenario())
    assert got is run(REFERENCE, scenario())
    assert issubclass(got, (ConnectionError, TimeoutError))


def test_server_handshake_timeout(loop_factory):
    """A client that connects to a TLS server and never sends its ClientHello."""

    async def scenario():
        loop = asyncio.get_running_loop()
        errors = record_exceptions(loop)
        start = open_fd_count()
        factory = ServerProtocols(Recorder)
        server = await loop.create_server(
            factory, HOST, 0, ssl=server_context(), ssl_handshake_timeout=0.3
        )
        port = server.sockets[0].getsockname()[1]
        sock = socket.socket()
        sock.setblocking(False)
        await loop.sock_connect(sock, (HOST, port))
        t0 = loop.time()
        try:
            outcome = ("eof", await loop.sock_recv(sock, 1024))
        except OSError as exc:
            outcome = ("error", type(exc))
        elapsed = loop.time() - t0
        assert 0.25 <= elapsed < 5, elapsed
        sock.close()
        assert factory.protocols == [] or not factory.protocols[0].made.done()
        await close_server(server)
        assert await settle_fds(start) == start
        return outcome, sorted(set(errors))

    got = run(loop_factory, scenario())
    assert got == run(REFERENCE, scenario())


def test_non_tls_client_does_not_break_server(loop_factory):
    """Plain-text garbage instead of a ClientHello: that connection fails, the
    server keeps serving TLS clients."""

    async def scenario():
        loop = asyncio.get_running_loop()
        errors = record_exceptions(loop)
        start = open_fd_count()
        server = await loop.create_server(Echo, HOST, 0, ssl=server_context())
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(b"GET / HTTP/1.0\r\n\r\n")
        try:
            outcome = ("eof", await reader.read())
        except OSError as exc:
            outcome = ("error", type(exc))
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass
        tr, client = await loop.create_connection(
            Recorder, HOST, port, ssl=client_context(), server_hostname=HOSTNAME
        )
        tr.write(b"still serving")
        assert await client.wait_bytes(13) == b"still serving"
        tr.close()
        await client.lost
        await close_server(server)
        assert await settle_fds(start) == start
        return outcome, sorted(set(errors))

    got = run(loop_factory, scenario())
    assert got == run(REFERENCE, scenario())


def test_cancel_during_handshake(loop_factory):
    """Cancelling create_connection while the server stays silent closes the socket."""

    async def scenario():
        loop = asyncio.get_running_loop()
        start = open_fd_count()
        listener = socket.create_server((HOST, 0))
        listener.setblocking(False)
        port = listener.getsockname()[1]
        accepted = loop.create_task(loop.sock_accept(listener))
        connecting = loop.create_task(
            loop.create_connection(
                Recorder, HOST, port, ssl=client_context(), server_hostname=HOSTNAME
            )
        )
        conn, _ = await accepted
        assert await loop.sock_recv(conn, 65536)  # the ClientHello: mid-handshake now
        connecting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await connecting
        assert await loop.sock_recv(conn, 65536) == b""  # the client socket went away
        conn.close()
        listener.close()
        assert await settle_fds(start) == start
        return connecting.cancelled()

    assert run(loop_factory, scenario()) is run(REFERENCE, scenario()) is True


def silent_tls_server(listener: socket.socket, stop) -> None:
    """Blocking TLS server: completes one handshake, then neither reads nor writes
    until ``stop`` is set."""
    conn, _ = listener.accept()
    tls = server_context().wrap_socket(conn, server_side=True)
    try:
        stop.wait(10)
    finally:
        tls.close()


def test_shutdown_timeout_when_peer_never_answers_close_notify(loop_factory):
    async def scenario():
        import threading

        loop = asyncio.get_running_loop()
        errors = record_exceptions(loop)
        start = open_fd_count()
        listener = socket.create_server((HOST, 0))
        stop = threading.Event()
        server = asyncio.ensure_future(asyncio.to_thread(silent_tls_server, listener, stop))
        try:
            tr, client = await loop.create_connection(
                Recorder,
                HOST,
                listener.getsockname()[1],
                ssl=client_context(),
                server_hostname=HOSTNAME,
                ssl_shutdown_timeout=0.3,
            )
            t0 = loop.time()
            tr.close()
            exc = await client.lost
            elapsed = loop.time() - t0
        finally:
            stop.set()
            await server
            listener.close()
        assert elapsed < 5, elapsed
        assert await settle_fds(start) == start
        return summarize(client.events), type(exc), elapsed >= 0.25, sorted(set(errors))

    got = run(loop_factory, scenario())
    assert got == run(REFERENCE, scenario())


def test_abort_tls_transport(loop_factory):
    async def scenario():
        loop = asyncio.get_running_loop()
        errors = record_exceptions(loop)
        start = open_fd_count()
        server, tr, client, sproto = await tls_pair(loop)
        tr.write(b"before abort")
        assert await sproto.wait_bytes(12) == b"before abort"
        tr.abort()
        client_exc = await client.lost
        server_exc = await sproto.lost
        tr.write(b"after abort")  # ignored
        await close_server(server)
        assert await settle_fds(start) == start
        return (
            summarize(client.events),
            type(client_exc),
            summarize(sproto.events),
            type(server_exc),
            sorted(set(errors)),
        )

    got = run(loop_factory, scenario())
    assert got == run(REFERENCE, scenario())


def test_many_concurrent_tls_connections(loop_factory):
    async def one(port, i):
        reader, writer = await asyncio.open_connection(
            HOST, port, ssl=client_context(), server_hostname=HOSTNAME
        )
        writer.write(b"%d\n" % i)
        line = await reader.readline()
        writer.close()
        await writer.wait_closed()
        return line

    async def main():
        start = open_fd_count()
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, HOST, 0, ssl=server_context(), backlog=128)
        port = server.sockets[0].getsockname()[1]
        lines = await asyncio.gather(*(one(port, i) for i in range(64)))
        assert lines == [b"%d\n" % i for i in range(64)]
        await close_server(server)
        assert await settle_fds(start) == start

    run(loop_factory, main())


class BufferedEcho(asyncio.BufferedProtocol):
    """Echo server over the BufferedProtocol interface, with a tiny buffer."""

    def connection_made(self, transport):
        self.transport = transport
        self.buf = bytearray(1000)

    def get_buffer(self, sizehint):
        return memoryview(self.buf)  # SSLProtocol slices it: a bytearray slice would copy

    def buffer_updated(self, nbytes):
        self.transport.write(bytes(self.buf[:nbytes]))


def test_buffered_protocol_over_tls(loop_factory):
    payload = os.urandom(500_000)

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(BufferedEcho, HOST, 0, ssl=server_context())
        port = server.sockets[0].getsockname()[1]
        tr, client = await loop.create_connection(
            Recorder, HOST, port, ssl=client_context(), server_hostname=HOSTNAME
        )
        tr.write(payload)
        assert await client.wait_bytes(len(payload)) == payload
        tr.close()
        await client.lost
        await close_server(server)

    run(loop_factory, main())


class Greeter(Recorder):
    """Server protocol that greets the client as soon as the session is up."""

    def connection_made(self, transport):
        super().connection_made(transport)
        transport.write(b"hi")


def raw_tls_client(port: int, payload: bytes, *, close_notify: bool) -> None:
    """Blocking TLS client: read the greeting, send ``payload``, then close the
    connection with or without a close_notify alert."""
    ctx = client_context()
    raw = socket.create_connection((HOST, port), timeout=10)
    tls = ctx.wrap_socket(raw, server_hostname=HOSTNAME)
    try:
        greeting = b""
        while len(greeting) < 2:  # also consumes the TLS 1.3 session tickets
            greeting += tls.recv(2 - len(greeting))
        assert greeting == b"hi"
        tls.sendall(payload)
        if close_notify:
            tls.unwrap().close()
    finally:
        tls.close()  # without unwrap(): the socket just goes away, no close_notify


def summarize(events: list[str]) -> list[str]:
    """The event list with runs of 'data' collapsed."""
    out: list[str] = []
    for event in events:
        if not (event == "data" and out and out[-1] == "data"):
            out.append(event)
    return out


@pytest.mark.parametrize("close_notify", [False, True], ids=["no-close-notify", "close-notify"])
def test_peer_closes_under_ssl_server(loop_factory, close_notify):
    payload = os.urandom(100_000)

    async def scenario():
        loop = asyncio.get_running_loop()
        errors = record_exceptions(loop)
        factory = ServerProtocols(Greeter)
        server = await loop.create_server(factory, HOST, 0, ssl=server_context())
        port = server.sockets[0].getsockname()[1]
        client = asyncio.to_thread(raw_tls_client, port, payload, close_notify=close_notify)
        await client
        sproto = await factory.get()
        exc = await sproto.lost
        assert bytes(sproto.data) == payload
        await close_server(server)
        return summarize(sproto.events), type(exc), sorted(set(errors))

    got = run(loop_factory, scenario())
    assert got == run(REFERENCE, scenario())


@pytest.mark.parametrize("close_notify", [False, True], ids=["no-close-notify", "close-notify"])
def test_peer_closes_under_ssl_stream_server(loop_factory, close_notify):
    payload = os.urandom(100_000)

    async def scenario():
        loop = asyncio.get_running_loop()
        result = loop.create_future()

        async def handler(reader, writer):
            writer.write(b"hi")
            await writer.drain()
            try:
                data = await reader.read()
                outcome = ("eof", data == payload)
            except Exception as exc:  # compared with stock asyncio below
                outcome = ("error", type(exc))
            writer.close()
            result.set_result(outcome)

        server = await asyncio.start_server(handler, HOST, 0, ssl=server_context())
        port = server.sockets[0].getsockname()[1]
        await asyncio.to_thread(raw_tls_client, port, payload, close_notify=close_notify)
        outcome = await result
        await close_server(server)
        return outcome

    got = run(loop_factory, scenario())
    assert got == run(REFERENCE, scenario())


def test_clean_close_notify_shutdown(loop_factory):
    async def scenario():
        loop = asyncio.get_running_loop()
        errors = record_exceptions(loop)
        start = open_fd_count()
        server, tr, client, sproto = await tls_pair(loop)
        tr.write(b"last words")
        assert await sproto.wait_bytes(10) == b"last words"
        tr.close()
        assert tr.is_closing()
        client_exc = await client.lost
        server_exc = await sproto.lost
        assert client_exc is None and server_exc is None
        await close_server(server)
        assert await settle_fds(start) == start
        return summarize(client.events), summarize(sproto.events), sorted(set(errors))

    got = run(loop_factory, scenario())
    assert got[1][-1] == "lost"
    assert got == run(REFERENCE, scenario())


def test_server_side_close_reaches_stream_client(loop_factory):
    async def handler(reader, writer):
        writer.write(b"bye")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def main():
        server = await asyncio.start_server(handler, HOST, 0, ssl=server_context())
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection(
            HOST, port, ssl=client_context(), server_hostname=HOSTNAME
        )
        assert await reader.read() == b"bye"
        assert reader.at_eof()
        writer.close()
        await writer.wait_closed()
        await close_server(server)

    run(loop_factory, main())


# -- a large flow-controlled transfer ----------------------------------------------

TOTAL = 64 * 1024 * 1024
CHUNK = os.urandom(256 * 1024)
PAUSE_EVERY = 1024 * 1024  # the receiver stops reading after each MiB...
PAUSE_FOR = 0.01  # ...for 10 ms: longer than a MiB takes to arrive
HIGH_WATER = 256 * 1024


def expected_digest() -> str:
    digest = hashlib.sha256()
    for _ in range(TOTAL // len(CHUNK)):
        digest.update(CHUNK)
    return digest.hexdigest()


class Pump(asyncio.Protocol):
    """Sends TOTAL bytes under write flow control while receiving TOTAL bytes,
    pausing its reading half of the time."""

    def __init__(self):
        self.loop = asyncio.get_running_loop()
        self.sent = 0
        self.received = 0
        self.digest = hashlib.sha256()
        self.can_write = True
        self.max_write_buffer = 0
        self.read_pauses = 0
        self.write_pauses = 0
        self.next_pause = PAUSE_EVERY
        self.sent_all = self.loop.create_future()
        self.received_all = self.loop.create_future()
        self.lost = self.loop.create_future()

    def connection_made(self, transport):
        self.transport = transport
        transport.set_write_buffer_limits(high=HIGH_WATER)
        self.loop.call_soon(self.pump)

    def pump(self):
        while self.can_write and self.sent < TOTAL and not self.transport.is_closing():
            self.transport.write(CHUNK)
            self.sent += len(CHUNK)
            size = self.transport.get_write_buffer_size()
            self.max_write_buffer = max(self.max_write_buffer, size)
        if self.sent >= TOTAL and not self.sent_all.done():
            self.sent_all.set_result(None)

    def pause_writing(self):
        self.can_write = False
        self.write_pauses += 1

    def resume_writing(self):
        self.can_write = True
        self.loop.call_soon(self.pump)

    def data_received(self, data):
        self.received += len(data)
        self.digest.update(data)
        if self.received >= TOTAL:
            if not self.received_all.done():
                self.received_all.set_result(self.digest.hexdigest())
        elif self.received >= self.next_pause:
            self.next_pause += PAUSE_EVERY
            self.read_pauses += 1
            self.transport.pause_reading()
            self.loop.call_later(PAUSE_FOR, self.transport.resume_reading)

    def eof_received(self):
        return None

    def connection_lost(self, exc):
        if not self.lost.done():
            self.lost.set_result(exc)


@pytest.mark.timeout(240)
def test_64mib_both_directions_bounded_memory(loop_factory):
    want = expected_digest()

    async def main():
        loop = asyncio.get_running_loop()
        server, tr, client, sproto = await tls_pair(loop, client_cls=Pump, server_cls=Pump)
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        digests = await asyncio.gather(client.received_all, sproto.received_all)
        await asyncio.gather(client.sent_all, sproto.sent_all)
        peak = tracemalloc.get_traced_memory()[1] - baseline
        tr.close()
        await client.lost
        await sproto.lost
        await close_server(server)
        return digests, peak, client, sproto

    tracemalloc.start()
    try:
        digests, peak, client, sproto = run(loop_factory, main(), timeout=180)
    finally:
        tracemalloc.stop()
    assert digests == [want, want]
    for side in (client, sproto):
        assert side.sent == side.received == TOTAL
        assert side.read_pauses >= TOTAL // PAUSE_EVERY - 1
        assert side.write_pauses > 0  # flow control was exercised
        # write() may overshoot the high-water mark by one chunk (plus TLS framing).
        assert side.max_write_buffer <= HIGH_WATER + 2 * len(CHUNK), side.max_write_buffer
    assert peak < 32 * 1024 * 1024, f"peak traced memory {peak / 2**20:.1f} MiB"
