"""create_connection to a numeric address, and accepting, compared with stock asyncio.

vif connects to an IP literal without asyncio's two resolutions and creates the
socket non-blocking, and accepts on create_server's sockets without the Python
wrapper of ``socket.accept``.  These tests check that what a program can see is
asyncio's: the socket's options and extra info, the exception and its message
when the connection is refused, cancellation and fds, and that a loop whose
``sock_connect`` was replaced still goes through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vif_testing import (
    Echo,
    ipv6_available,
    is_reference,
    open_fd_count,
    registered_fd_count,
    run,
    unused_port,
    vif,
)


class Client(asyncio.Protocol):
    def __init__(self) -> None:
        self.got = asyncio.get_running_loop().create_future()
        self.lost = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)

    def data_received(self, data: bytes) -> None:
        if not self.got.done():
            self.got.set_result(data)


def _hosts() -> list:
    hosts = [pytest.param("127.0.0.1", id="ipv4")]
    hosts.append(pytest.param("::1", id="ipv6", marks=pytest.mark.skipif(
        not ipv6_available(), reason="no IPv6 loopback")))
    return hosts


def _describe_socket(sock: socket.socket) -> dict:
    return {
        "family": sock.family,
        "type": sock.type,
        "proto": sock.proto,
        "nonblocking": bool(fcntl.fcntl(sock.fileno(), fcntl.F_GETFL) & os.O_NONBLOCK),
        "inheritable": os.get_inheritable(sock.fileno()),
        "nodelay": sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0,
    }


class DescribingEcho(Echo):
    """Server side: records how the accepted socket looks."""

    seen: list = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        described = _describe_socket(transport.get_extra_info("socket"))
        described["sockname"] = transport.get_extra_info("sockname")[0]
        type(self).seen.append(described)


async def _connect_and_describe(host: str) -> tuple[dict, dict, bytes]:
    loop = asyncio.get_running_loop()
    DescribingEcho.seen = []
    server = await loop.create_server(DescribingEcho, host, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        transport, protocol = await loop.create_connection(Client, host, port)
        client = _describe_socket(transport.get_extra_info("socket"))
        client["peername"] = transport.get_extra_info("peername")[:2]
        client["sockname_host"] = transport.get_extra_info("sockname")[0]
        transport.write(b"ping")
        echoed = await protocol.got
        transport.close()
        (accepted,) = DescribingEcho.seen
        return client, accepted, echoed
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("host", _hosts())
def test_connected_and_accepted_sockets_are_asyncios(loop_factory, host):
    client, accepted, echoed = run(loop_factory, _connect_and_describe(host))
    exp_client, exp_accepted, _ = run(asyncio.SelectorEventLoop, _connect_and_describe(host))
    assert echoed == b"ping"
    assert client.pop("peername")[0] == exp_client.pop("peername")[0] == host
    assert client == exp_client
    assert accepted == exp_accepted


async def _refused(host: str, port: int, **kwargs) -> tuple[type, str, int]:
    loop = asyncio.get_running_loop()
    try:
        await loop.create_connection(asyncio.Protocol, host, port, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - compared with asyncio's below
        if isinstance(exc, BaseExceptionGroup):
            inner = exc.exceptions[0]
            return type(exc), f"{exc.message} / {type(inner).__name__}: {inner}", len(
                exc.exceptions)
        return type(exc), str(exc), getattr(exc, "errno", None)
    raise AssertionError("connected to a closed port")


@pytest.mark.parametrize("host", _hosts())
def test_refused_connection_raises_what_asyncio_raises(loop_factory, host):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    port = unused_port(family, host)
    before = open_fd_count()
    got = run(loop_factory, _refused(host, port))
    assert open_fd_count() == before
    assert got == run(asyncio.SelectorEventLoop, _refused(host, port))
    assert issubclass(got[0], ConnectionRefusedError)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="all_errors is new in 3.12")
def test_refused_connection_with_all_errors(loop_factory):
    port = unused_port()
    got = run(loop_factory, _refused("127.0.0.1", port, all_errors=True))
    assert got == run(asyncio.SelectorEventLoop, _refused("127.0.0.1", port, all_errors=True))
    assert got[0] is ExceptionGroup


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="all_errors exists from 3.12 on")
@pytest.mark.parametrize("value", [True, False])
def test_all_errors_is_unknown_before_3_12(loop_factory, value):
    async def main() -> str:
        loop = asyncio.get_running_loop()
        with pytest.raises(TypeError) as info:
            await loop.create_connection(asyncio.Protocol, "127.0.0.1", 1, all_errors=value)
        return str(info.value).split(")", 1)[-1]

    assert run(loop_factory, main()) == run(asyncio.SelectorEventLoop, main())


class Tracked(asyncio.Protocol):
    """Server side: counts the connections still open; ``idle`` is set at zero;
    ``greeted`` resolves when a connection sends data."""

    live = 0
    idle: asyncio.Event
    greeted: asyncio.Future

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        type(self).live += 1
        type(self).idle.clear()

    def data_received(self, data: bytes) -> None:
        if not type(self).greeted.done():
            type(self).greeted.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        type(self).live -= 1
        if not type(self).live:
            type(self).idle.set()


def test_cancelled_connect_leaves_no_fd(loop_factory):
    async def main() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        Tracked.live = 0
        Tracked.idle = asyncio.Event()
        Tracked.idle.set()
        Tracked.greeted = loop.create_future()
        server = await loop.create_server(Tracked, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        before = open_fd_count()
        for spins in range(4):  # cancelled while connecting, or while making the transport
            task = asyncio.create_task(loop.create_connection(Client, "127.0.0.1", port))
            for _ in range(spins):
                await asyncio.sleep(0)
            task.cancel()
            try:
                transport, protocol = await task
            except asyncio.CancelledError:
                pass
            else:
                transport.close()
                await protocol.lost
        # A last connection says hello: once the server has it, it has accepted every
        # connection queued before it (accept takes them in order).
        transport, protocol = await loop.create_connection(Client, "127.0.0.1", port)
        transport.write(b"hello")
        await Tracked.greeted
        transport.close()
        await protocol.lost
        await Tracked.idle.wait()  # the server saw every accepted connection end
        after = open_fd_count()
        server.close()
        await server.wait_closed()
        return before, after

    before, after = run(loop_factory, main())
    assert after == before


def test_replaced_sock_connect_is_still_called(loop_factory):
    if is_reference(loop_factory):
        pytest.skip("checks vif's shortcut against a replaced step")

    async def main() -> tuple[list, int]:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        calls = []
        real = loop.sock_connect

        async def spy(sock, address):
            calls.append(address)
            return await real(sock, address)

        loop.sock_connect = spy
        try:
            transport, _ = await loop.create_connection(Client, "127.0.0.1", port)
            transport.close()
        finally:
            del loop.sock_connect
            server.close()
            await server.wait_closed()
        return calls, port

    calls, port = run(loop_factory, main())
    assert calls == [("127.0.0.1", port)]


def test_steps_replaced_on_a_class_are_still_called(loop_factory, monkeypatch):
    # After a first connection (the shortcut's checks have run once), steps replaced
    # on the loop's class and on asyncio's BaseEventLoop are called, as on asyncio.
    async def main() -> tuple[list, list, int]:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        transport, _ = await loop.create_connection(Client, "127.0.0.1", port)
        transport.close()
        via_class, via_asyncio = [], []
        real_sock_connect = type(loop).sock_connect
        real_connect_sock = asyncio.BaseEventLoop._connect_sock

        async def sock_connect(self, sock, address):
            via_class.append(address)
            return await real_sock_connect(self, sock, address)

        async def connect_sock(self, exceptions, addr_info, local_addr_infos=None):
            via_asyncio.append(addr_info[4])
            return await real_connect_sock(self, exceptions, addr_info, local_addr_infos)

        monkeypatch.setattr(type(loop), "sock_connect", sock_connect)
        monkeypatch.setattr(asyncio.BaseEventLoop, "_connect_sock", connect_sock)
        try:
            transport, _ = await loop.create_connection(Client, "127.0.0.1", port)
            transport.close()
        finally:
            monkeypatch.undo()

        # The last step alone, replaced on asyncio's class.
        made = []
        real_make = asyncio.BaseEventLoop._create_connection_transport

        async def create_connection_transport(self, sock, *args, **kwargs):
            made.append(sock.getpeername())
            return await real_make(self, sock, *args, **kwargs)

        monkeypatch.setattr(asyncio.BaseEventLoop, "_create_connection_transport",
                            create_connection_transport)
        try:
            transport, _ = await loop.create_connection(Client, "127.0.0.1", port)
            transport.close()
        finally:
            monkeypatch.undo()
            server.close()
            await server.wait_closed()
        return via_class, via_asyncio + made, port

    via_class, via_asyncio, port = run(loop_factory, main())
    assert via_class == [("127.0.0.1", port)]
    assert via_asyncio == [("127.0.0.1", port), ("127.0.0.1", port)]


def test_class_version_changes_with_the_class_and_its_bases(loop_factory, monkeypatch):
    """The shortcut keeps its answer for the loop's class while the class's version
    holds, so the version must change when the class, or a base (asyncio's
    included), is modified. The pure loop knows no version: it checks each time."""
    if is_reference(loop_factory):
        pytest.skip("vif's shortcut")
    loop = loop_factory()
    try:
        if vif.CEventLoop is None or not isinstance(loop, vif.CEventLoop):
            assert loop._class_version() == 0
            return
        assert type(loop).sock_connect  # (a lookup gives the class a version)
        versions = [loop._class_version()]
        monkeypatch.setattr(type(loop), "_vif_test_marker", 1, raising=False)
        versions.append(loop._class_version())
        monkeypatch.setattr(asyncio.BaseEventLoop, "_vif_test_marker", 2, raising=False)
        versions.append(loop._class_version())
        monkeypatch.undo()
        assert type(loop).sock_connect
        versions.append(loop._class_version())
        assert 0 not in versions
        assert len(set(versions)) == len(versions), versions
    finally:
        loop.close()


def _refused_for_lack_of_fds(**kwargs):
    import resource

    async def main():
        spare = os.dup(0)
        os.close(spare)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (spare, hard))  # no fd left for a socket
        try:
            return await _refused("127.0.0.1", 1, **kwargs)
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    return main()


@pytest.mark.parametrize("all_errors", [
    pytest.param(False, id="one-error"),
    pytest.param(True, id="all-errors", marks=pytest.mark.skipif(
        sys.version_info < (3, 12), reason="all_errors is new in 3.12")),
])
def test_no_fd_for_the_socket_raises_what_asyncio_raises(loop_factory, all_errors):
    kwargs = {"all_errors": True} if all_errors else {}
    got = run(loop_factory, _refused_for_lack_of_fds(**kwargs))
    assert got == run(asyncio.SelectorEventLoop, _refused_for_lack_of_fds(**kwargs))
    assert "Too many open files" in got[1]


def test_debug_log_names_the_connection_as_asyncio_does(loop_factory, caplog):
    async def main() -> str:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        transport, _ = await loop.create_connection(Client, "127.0.0.1", str(port))
        transport.close()
        server.close()
        await server.wait_closed()
        return str(port)

    with caplog.at_level("DEBUG", logger="asyncio"):
        port = run(loop_factory, main(), debug=True)
    records = [r for r in caplog.records if "connected to" in r.getMessage()]
    assert len(records) == 1
    sock_arg, host, port_arg = records[0].args[:3]
    assert type(sock_arg).__name__ == "TransportSocket"
    assert (host, port_arg) == ("127.0.0.1", port)


_HOSTS = st.one_of(
    st.sampled_from(["127.0.0.1", "::1", "0.0.0.0", "1.2.3", "01.2.3.4", "a%b", "1\0", "",
                     "localhost", "255.255.255.255", "256.1.1.1", b"127.0.0.1"]),
    st.ip_addresses(v=4).map(str),
    st.text(alphabet="0123456789.:%", max_size=16),
    st.none(),
)
_PORTS = st.one_of(st.integers(-1, 70000), st.sampled_from(["80", "", b"", "http", None, True,
                                                            1.5]))


@given(
    host=_HOSTS,
    port=_PORTS,
    family=st.sampled_from([socket.AF_UNSPEC, socket.AF_INET, socket.AF_INET6, socket.AF_UNIX]),
    proto=st.sampled_from([0, socket.IPPROTO_TCP, socket.IPPROTO_UDP, 255]),
)
@settings(max_examples=400, deadline=None)
def test_numeric_address_shortcut_answers_what_ipaddr_info_does(host, port, family, proto):
    """create_connection's shortcut for "is this a numeric address?" is asyncio's."""
    from asyncio import base_events

    from vif._network import _numeric_stream_info

    def outcome(function, *args):
        try:
            return function(*args)
        except Exception as exc:  # noqa: BLE001 - compared below
            return type(exc), str(exc)

    expected = outcome(base_events._ipaddr_info, host, port, family, socket.SOCK_STREAM, proto)
    assert outcome(_numeric_stream_info, host, port, family, proto) == expected
    try:  # the compiled twin's, which the compiled loop calls
        from vif._cnetwork import _numeric_stream_info as compiled
    except ImportError:
        return
    assert outcome(compiled, host, port, family, proto) == expected


class SubclassSocket(socket.socket):
    """Not a plain socket.socket: sock_connect goes through its connect()."""


async def _sock_connect_outcome(family, address, socket_class=socket.socket):
    loop = asyncio.get_running_loop()
    with socket_class(family, socket.SOCK_STREAM) as sock:
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, address), 10)
        except OSError as exc:
            return type(exc), exc.errno, str(exc)
        return "connected", sock.getpeername() == address


@pytest.mark.parametrize("socket_class", [socket.socket, SubclassSocket],
                         ids=["plain", "subclass"])
def test_sock_connect_outcomes_are_asyncios(loop_factory, socket_class, tmp_path):
    """An error connect() reports at once, a connection made at once, and one that
    completes later: the same result or exception as on asyncio's loop."""
    missing = str(tmp_path / "missing")
    listening = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listening.bind(str(tmp_path / "s"))
    listening.listen(8)
    refused_port = unused_port()
    tcp = socket.create_server(("127.0.0.1", 0))
    cases = [
        (socket.AF_UNIX, missing),  # ENOENT from connect() itself
        (socket.AF_UNIX, str(tmp_path / "s")),  # connected at once
        (socket.AF_INET, ("127.0.0.1", refused_port)),  # refused after the wait
        (socket.AF_INET, tcp.getsockname()),  # connected after the wait
    ]
    with listening, tcp:
        before = open_fd_count()
        for family, address in cases:
            got = run(loop_factory, _sock_connect_outcome(family, address, socket_class))
            want = run(asyncio.SelectorEventLoop,
                       _sock_connect_outcome(family, address, socket_class))
            assert got == want, address
        assert open_fd_count() == before


def _pending_connect_target(lsock: socket.socket, fillers: list) -> None:
    """Fill ``lsock``'s accept queue (listening with backlog 0) with blocking
    connections, so that the next connect to it stays in progress: the kernel
    drops its SYN while the queue is full."""
    lsock.listen(0)
    for _ in range(8):
        filler = socket.socket()
        filler.settimeout(0.5)
        fillers.append(filler)
        try:
            filler.connect(lsock.getsockname())
        except (TimeoutError, OSError):
            return  # This one waits: the queue is full.
    pytest.skip("the kernel accepted every connection: no connect stays pending")


def test_cancelled_pending_sock_connect_leaves_nothing_registered(loop_factory):
    # The connect's writer wait is dropped by the future's done callback; a
    # cancelled connect must leave the socket unwatched, as on asyncio.
    async def main() -> tuple[int | None, int | None, bool]:
        loop = asyncio.get_running_loop()
        fillers: list[socket.socket] = []
        with socket.socket() as lsock, socket.socket() as sock:
            lsock.bind(("127.0.0.1", 0))
            try:
                _pending_connect_target(lsock, fillers)
                sock.setblocking(False)
                before = registered_fd_count(loop)
                task = asyncio.create_task(loop.sock_connect(sock, lsock.getsockname()))
                for _ in range(3):
                    await asyncio.sleep(0)
                pending = not task.done()
                during = registered_fd_count(loop)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                await asyncio.sleep(0)  # the done callbacks have run
                after = registered_fd_count(loop)
                # The fd is free for a writer of the program's own again.
                loop.add_writer(sock.fileno(), lambda: None)
                loop.remove_writer(sock.fileno())
            finally:
                for filler in fillers:
                    filler.close()
        assert pending, "the connect did not stay pending"
        return before, during, after

    before, during, after = run(loop_factory, main())
    if before is not None:
        assert during == before + 1
        assert after == before
