"""SocketIO (the socket transports' socket calls) against the socket's own methods.

Both versions run: the pure one (the socket's bound methods) and, when built,
the compiled one, which makes the system calls itself and keeps the last IPv4
peer address each way. Every result, address and error must be the socket's.
"""

from __future__ import annotations

import os
import socket
import sys
from asyncio import trsock

import pytest
from vif_testing import vif

from vif._transports import sockio as py_sockio
from vif._transports.sockio import SocketIO as PySocketIO
from vif._transports.sockio import accept as py_accept

try:
    from vif._transports._csockio import SocketIO as CSocketIO
    from vif._transports._csockio import accept as c_accept

    from vif._transports import _csockio as c_sockio
except ImportError:
    CSocketIO = c_accept = c_sockio = None

pytestmark = pytest.mark.skipif(vif is None, reason="vif not importable")

IO_CLASSES = [pytest.param(PySocketIO, id="python")]
if CSocketIO is not None:
    IO_CLASSES.append(pytest.param(CSocketIO, id="compiled"))


ACCEPTS = [pytest.param(py_accept, id="python")]
if c_accept is not None:
    ACCEPTS.append(pytest.param(c_accept, id="compiled"))


@pytest.fixture(params=IO_CLASSES)
def io_class(request):
    return request.param


@pytest.fixture(params=ACCEPTS)
def accept(request):
    return request.param


def _udp(host: str = "127.0.0.1", family: int = socket.AF_INET) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    sock.setblocking(False)
    return sock


def _outcome(call, *args):
    """What ``call(*args)`` gives: ("ok", result) or (exception type, message)."""
    try:
        return ("ok", call(*args))
    except Exception as exc:
        return (type(exc), str(exc))


def _wait_readable(sock: socket.socket) -> None:
    import select

    assert select.select([sock], [], [], 5)[0], "no datagram arrived"


def test_addresses_are_the_sockets_and_follow_the_peer(io_class):
    server, a, b = _udp(), _udp(), _udp()
    with server, a, b:
        io = io_class(server)
        buf = bytearray(100)
        for sender in (a, a, b, a, b, b):
            sender.sendto(b"hello", server.getsockname())
            _wait_readable(server)
            if sender is b:  # Both receive calls share the address cache.
                got = io.recvfrom_into(buf)
                assert got == (5, sender.getsockname())
                assert bytes(buf[:5]) == b"hello"
            else:
                data, address = io.recvfrom_bytes(memoryview(buf))
                assert type(data) is bytes and data == b"hello"
                got = (5, address)
                assert address == sender.getsockname()
            # The reply goes back to the address as received (the same object each time).
            assert io.sendto(b"reply", got[1]) == 5
            _wait_readable(sender)
            assert sender.recvfrom(100) == (b"reply", server.getsockname())


def test_sendto_parses_each_new_address(io_class):
    a, b, src = _udp(), _udp(), _udp()
    with a, b, src:
        io = io_class(src)
        host, port_a = a.getsockname()
        targets = [(host, port_a), ("localhost", port_a), b.getsockname(), (host, port_a)]
        targets.append(("127.0.0.1", b.getsockname()[1]))  # equal to a seen one, a new object
        for i, target in enumerate(targets):
            assert io.sendto(b"%d" % i, target) == len(b"%d" % i)
            to = a if target[1] == port_a else b
            _wait_readable(to)
            assert to.recv(10) == b"%d" % i


@pytest.mark.parametrize(
    "address",
    [
        ("127.0.0.1", 70000),
        ("127.0.0.1", -1),
        ("127.0.0.1", "80"),
        ("127.0.0.1",),
        ("127.0.0.1", 80, 0),
        None,
        "127.0.0.1",
        ("no such host.invalid", 80),
        ("1.2.3", 9),
        ("127.0.0.1\0", 9),
        ("127.0.0.\udc80", 9),
        ("١٢٧.0.0.1", 9),
        (b"127.0.0.1", 9),
    ],
)
def test_bad_addresses_fail_as_in_socket(io_class, address):
    with _udp() as src:
        io = io_class(src)
        assert _outcome(io.sendto, b"x", address) == _outcome(src.sendto, b"x", address)


def test_errors_are_the_sockets(io_class):
    with _udp() as sock:
        io = io_class(sock)
        buf = bytearray(10)
        for call, args, own in [
            (io.recvfrom_into, (buf,), sock.recvfrom_into),  # nothing there: would block
            (io.recvfrom_bytes, (memoryview(buf),), sock.recvfrom_into),
            (io.recv_into, (buf,), sock.recv_into),
            (io.recvfrom_into, (buf, 11), sock.recvfrom_into),
            (io.recvfrom_into, (buf, -1), sock.recvfrom_into),
            (io.recv_into, (buf, 11), sock.recv_into),
            (io.recv_into, (buf, -1), sock.recv_into),
            (io.recvfrom_into, (b"read-only",), sock.recvfrom_into),
            (io.sendto, ("text", ("127.0.0.1", 9)), sock.sendto),
            (io.send, (b"x",), sock.send),  # not connected
        ]:
            mine = _outcome(call, *args)
            assert mine == _outcome(own, *args)
            assert mine[0] != "ok"
    # Closed behind the io object: EBADF, as the socket says.
    sock = _udp()
    io = io_class(sock)
    sock.close()
    for call, args in [(io.recvfrom_into, (bytearray(10),)), (io.sendto, (b"x", ("127.0.0.1", 9)))]:
        mine = _outcome(call, *args)
        assert mine[0] is OSError and "Bad file descriptor" in mine[1]


def test_connected_send_and_recv_into(io_class):
    a, b = _udp(), _udp()
    with a, b:
        a.connect(b.getsockname())
        b.connect(a.getsockname())
        io_a, io_b = io_class(a), io_class(b)
        assert io_a.send(b"ping") == 4
        _wait_readable(b)
        buf = bytearray(100)
        assert io_b.recv_into(buf) == 4
        assert bytes(buf[:4]) == b"ping"
        io_b.send(b"pong")
        _wait_readable(a)
        assert io_a.recv_into(memoryview(buf)[10:], 2) == 2  # nbytes: the rest is dropped
        assert bytes(buf[10:12]) == b"po"


def test_other_families_and_blocking_sockets_use_the_socket(io_class):
    """IPv6, a socket with a timeout: the socket's own methods decide."""
    with _udp() as target, _udp() as blocking:
        blocking.settimeout(0.05)
        io = io_class(blocking)
        assert io.sendto(b"x", target.getsockname()) == 1
        with pytest.raises(TimeoutError):
            io.recvfrom_into(bytearray(10))  # waits out the timeout, as the socket would
        if socket.has_ipv6:
            try:
                six = _udp("::1", socket.AF_INET6)
            except OSError:
                return
            with six:
                io = io_class(six)
                assert io.sendto(b"v6", six.getsockname()) == 2
                _wait_readable(six)
                assert io.recvfrom_into(bytearray(10)) == (2, six.getsockname())


def test_a_timeout_set_later_is_honoured(io_class):
    """The compiled calls read the socket's timeout (and fd) at each call, not once."""
    a, b = socket.socketpair()
    with a, b:
        a.setblocking(False)
        io = io_class(a)
        buf = bytearray(10)
        assert _outcome(io.recv_into, buf) == _outcome(a.recv_into, buf)  # would block
        a.settimeout(0.05)
        with pytest.raises(TimeoutError):
            io.recv_into(buf)  # waits out the timeout, as the socket would
        a.setblocking(False)
        b.send(b"x")
        _wait_readable(a)
        assert io.recv_bytes(memoryview(buf)) == b"x"
        a.close()
        mine = _outcome(io.recv_into, buf)
        assert mine[0] is OSError and "Bad file descriptor" in mine[1]


@pytest.mark.skipif(CSocketIO is None, reason="not compiled")
def test_compiled_calls_read_the_socket_object_itself():
    """On the CPython versions vif supports, the socket's fd and timeout are read
    from the object (vif/_socket_head.pxd), not through its methods."""
    assert c_sockio.SOCKET_HEAD_KNOWN is True


def test_sendto_raises_the_audit_event(io_class):
    seen = []

    def hook(event, args):
        if event == "socket.sendto" and recording:
            seen.append(args[1])

    recording = False
    sys.addaudithook(hook)  # Hooks cannot be removed: this one only records while asked.
    with _udp() as target, _udp() as src:
        io = io_class(src)
        address = target.getsockname()
        recording = True
        try:
            io.sendto(b"x", address)
            io.sendto(b"x", address)
        finally:
            recording = False
    assert seen == [address, address]


def _tcp_pair() -> tuple[socket.socket, socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        a = socket.create_connection(listener.getsockname())
        b, _ = listener.accept()
    return a, b


@pytest.mark.parametrize("pair", [socket.socketpair, _tcp_pair], ids=["unix", "tcp"])
def test_stream_send_and_recv_into(io_class, pair):
    a, b = pair()
    with a, b:
        a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 15)
        b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 15)
        a.setblocking(False)
        b.setblocking(False)
        io_a, io_b = io_class(a), io_class(b)
        buf = bytearray(1 << 16)
        assert _outcome(io_b.recv_into, buf) == _outcome(b.recv_into, buf)  # would block
        payload = bytes(range(256)) * 4096  # 1 MiB: more than one send takes
        sent = io_a.send(payload)
        assert 0 < sent < len(payload)
        received = bytearray()
        while len(received) < sent:
            _wait_readable(b)
            n = io_b.recv_into(buf)
            received += buf[:n]
        assert received == payload[:sent]
        assert io_a.send(memoryview(payload)[sent:sent + 5]) == 5
        _wait_readable(b)
        assert io_b.recv_into(buf, 3) == 3 and bytes(buf[:3]) == payload[sent:sent + 3]
        assert io_b.recv_into(buf) == 2
        assert io_a.send(b"bytes") == 5
        _wait_readable(b)
        got = io_b.recv_bytes(memoryview(buf))
        assert type(got) is bytes and got == b"bytes"
        view = memoryview(buf)
        assert _outcome(io_b.recv_bytes, view) == (BlockingIOError, _outcome(b.recv, 1)[1])
        a.shutdown(socket.SHUT_WR)
        _wait_readable(b)
        assert io_b.recv_bytes(view) == b""  # end of file
        b.close()
        # The peer is gone: the errors are the socket's (EPIPE or ECONNRESET, no SIGPIPE).
        mine = _outcome(io_a.send, b"x")
        if mine[0] is BrokenPipeError:  # Writing was shut down above: EPIPE at once.
            assert mine == _outcome(a.send, b"x")
            return
        if mine[0] == "ok":  # TCP: the first send is taken, and answered with a reset.
            _wait_readable(a)
            mine = _outcome(io_a.send, b"x")
        assert mine[0] in (BrokenPipeError, ConnectionResetError)
        assert _outcome(io_a.send, b"x") == _outcome(a.send, b"x")
        assert _outcome(io_a.send, "text") == _outcome(a.send, "text")
        assert _outcome(io_a.recv_into, buf, 1 << 17) == _outcome(a.recv_into, buf, 1 << 17)



def _listener(family: int, address) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.bind(address)
    sock.listen(8)
    return sock


def _accepted_as_socket_does(accept, listener: socket.socket, address) -> None:
    """A connection waiting on ``listener``: ``accept`` takes it as ``accept()``
    would, and hands it over non-blocking."""
    client = socket.socket(listener.family, socket.SOCK_STREAM)
    with client:
        client.connect(address)
        accepted = accept(listener)
        assert accepted is not None
        conn, peer = accepted
        with conn:
            assert type(conn) is socket.socket
            assert peer == client.getsockname()
            assert conn.getpeername() == client.getsockname()
            assert (conn.family, conn.type, conn.proto) == (
                listener.family, listener.type, listener.proto)
            assert type(conn.family) is socket.AddressFamily
            assert type(conn.type) is socket.SocketKind
            assert not os.get_inheritable(conn.fileno())  # close-on-exec, as accept() makes it
            assert conn.gettimeout() == 0.0
            assert not os.get_blocking(conn.fileno())
            conn.sendall(b"ping")
            assert client.recv(4) == b"ping"
        if listener.gettimeout() == 0:
            assert accept(listener) is None  # none waiting: no BlockingIOError


@pytest.mark.parametrize("family", ["ipv4", "unix", "blocking-ipv4"])
def test_accept_takes_what_socket_accept_takes(accept, family, tmp_path):
    if family == "unix":
        listener = _listener(socket.AF_UNIX, str(tmp_path / "s"))
    else:
        listener = _listener(socket.AF_INET, ("127.0.0.1", 0))
    with listener:
        if family != "blocking-ipv4":  # (a blocking one would wait here)
            listener.setblocking(False)
            assert accept(listener) is None
        _accepted_as_socket_does(accept, listener, listener.getsockname())


def test_accept_errors_are_the_sockets(accept):
    listener = _listener(socket.AF_INET, ("127.0.0.1", 0))
    listener.setblocking(False)
    listener.close()
    want = _outcome(socket.socket.accept, listener)
    assert want[0] is OSError
    assert _outcome(accept, listener) == want
    with socket.socket() as unbound:  # not listening: EINVAL
        unbound.setblocking(False)
        assert _outcome(accept, unbound) == _outcome(socket.socket.accept, unbound)
        assert _outcome(accept, unbound)[0] is OSError


def test_accept_closes_the_fd_it_cannot_make_a_socket_of(accept, monkeypatch):
    """accept() took the fd: if making its socket object fails, the fd is closed."""
    listener = _listener(socket.AF_INET, ("127.0.0.1", 0))
    listener.setblocking(False)

    def failing_init(self, *args, **kwargs):
        raise MemoryError("no socket object")

    with listener, socket.create_connection(listener.getsockname(), timeout=5) as client:
        before = set(os.listdir("/proc/self/fd"))
        monkeypatch.setattr(socket.socket, "__init__", failing_init)
        with pytest.raises(MemoryError, match="no socket object"):
            accept(listener)
        monkeypatch.undo()
        assert set(os.listdir("/proc/self/fd")) == before
        assert client.recv(1) == b""  # the server's end was closed


# -- a socket's set-up calls -----------------------------------------------------

SETUP_MODULES = [pytest.param(py_sockio, id="python")]
if c_sockio is not None:
    SETUP_MODULES.append(pytest.param(c_sockio, id="compiled"))


class _Subclass(socket.socket):
    """A socket subclass that answers for itself."""

    def getsockname(self):
        return ("subclass", 1)

    def getpeername(self):
        return ("subclass", 2)


def _setup_sockets(tmp_path):
    """Sockets in the states a transport meets, and some it should not."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    unbound = socket.socket()
    unix_a, unix_b = socket.socketpair()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.2", 0))
    timed = socket.socket()
    timed.settimeout(3)
    closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    closed.close()
    sub = _Subclass()
    sockets = {"client": client, "server": server, "unbound": unbound, "unix": unix_a,
               "udp": udp, "timed": timed, "closed": closed, "subclass": sub}
    others = [unix_b]
    if socket.has_ipv6:
        try:
            six = socket.create_server(("::1", 0), family=socket.AF_INET6)
        except OSError:
            pass
        else:
            sockets["ipv6"] = socket.create_connection(six.getsockname()[:2])
            others.append(six)
    return sockets, others


@pytest.mark.parametrize("module", SETUP_MODULES)
def test_setup_calls_answer_what_the_socket_does(module, tmp_path):
    sockets, others = _setup_sockets(tmp_path)
    try:
        for name, sock in sockets.items():
            assert _outcome(module.local_address, sock) == _outcome(sock.getsockname), name
            assert _outcome(module.peer_address, sock) == _outcome(sock.getpeername), name
            assert module.family_and_type(sock) == (sock.family, sock.type), name
            assert type(module.family_and_type(sock)[0]) is int
            before = _outcome(sock.getsockopt, socket.IPPROTO_TCP, socket.TCP_NODELAY)
            outcome = _outcome(module.set_nodelay, sock)
            # asyncio's rule (base_events._set_nodelay): a TCP socket made as one.
            tcp = (sock.family in (socket.AF_INET, socket.AF_INET6)
                   and sock.type == socket.SOCK_STREAM and sock.proto == socket.IPPROTO_TCP)
            if name == "closed":
                own = _outcome(sock.setsockopt, socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                assert outcome == own
                assert outcome[0] is OSError
            else:
                assert outcome == ("ok", None), name
                after = _outcome(sock.getsockopt, socket.IPPROTO_TCP, socket.TCP_NODELAY)
                assert after == (("ok", 1) if tcp else before), name
        # A transport socket (not a socket.socket) answers through its properties.
        wrapped = trsock.TransportSocket(sockets["client"])
        assert module.family_and_type(wrapped) == (socket.AF_INET, socket.SOCK_STREAM)
    finally:
        for sock in [*sockets.values(), *others]:
            sock.close()


@pytest.mark.parametrize("module", SETUP_MODULES)
def test_transport_socket_is_asyncios(module):
    with socket.socket() as sock:
        made = module.transport_socket(sock)
        want = trsock.TransportSocket(sock)
        assert type(made) is trsock.TransportSocket
        slots = [name for cls in trsock.TransportSocket.__mro__
                 for name in getattr(cls, "__slots__", ())]
        assert slots  # (if asyncio drops its slots, compare whatever it keeps instead)
        for name in slots:
            assert getattr(made, name) is getattr(want, name), name
        assert repr(made) == repr(want)
        assert made.fileno() == sock.fileno()


def _close_state(sock: socket.socket) -> tuple:
    return sock._closed, sock.fileno(), "[closed]" in repr(sock)


@pytest.mark.parametrize("module", SETUP_MODULES)
def test_close_socket_does_what_close_does(module, monkeypatch):
    # A plain socket, closed twice (the second time does nothing, as close()).
    mine, theirs = socket.socket(), socket.socket()
    for _ in range(2):
        module.close_socket(mine)
        theirs.close()
        assert _close_state(mine) == _close_state(theirs) == (True, -1, True)
    # A makefile() object still open keeps the fd until it is closed.
    for close in (module.close_socket, socket.socket.close):
        a, b = socket.socketpair()
        with b:
            reader = a.makefile("rb")
            close(a)
            assert a._closed and a.fileno() != -1
            b.sendall(b"x")
            assert reader.read(1) == b"x"
            reader.close()
            assert a.fileno() == -1
    # A subclass's close(), and a close() patched on socket.socket, are called.
    calls = []

    class Sub(socket.socket):
        def close(self):
            calls.append("subclass")
            super().close()

    sub = Sub()
    module.close_socket(sub)
    assert calls == ["subclass"] and sub.fileno() == -1
    real_close = socket.socket.close
    monkeypatch.setattr(socket.socket, "close", lambda self: (calls.append("patched"),
                                                             real_close(self))[1])
    plain = socket.socket()
    module.close_socket(plain)
    assert calls == ["subclass", "patched"] and plain.fileno() == -1


@pytest.mark.parametrize("module", SETUP_MODULES)
def test_addresses_alternating_between_hosts_are_each_right(module):
    """The compiled calls keep the last host's text: a new host is formatted anew."""
    socks = []
    try:
        for host in ["127.0.0.1", "127.0.0.2", "127.0.0.1", "127.0.0.3", "127.0.0.3"]:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(sock)
            sock.bind((host, 0))
            assert module.local_address(sock) == sock.getsockname()
            assert module.local_address(sock)[0] == host
    finally:
        for sock in socks:
            sock.close()


@pytest.mark.skipif(CSocketIO is None, reason="not compiled")
def test_compiled_calls_import_where_sockets_are_refused():
    """A sandbox that refuses the socket the import-time check makes: the compiled
    module still imports (it asks the sockets' methods instead) and answers."""
    import subprocess
    import textwrap

    script = textwrap.dedent("""
        import socket
        real = socket.socket

        class Refusing(real):
            def __init__(self, family=-1, *args, **kwargs):
                if family == socket.AF_UNIX:
                    raise PermissionError(1, "Operation not permitted")
                super().__init__(family, *args, **kwargs)

        socket.socket = Refusing
        from vif._transports import _csockio
        socket.socket = real
        assert _csockio.SOCKET_HEAD_KNOWN is False
        a, b = socket.socketpair()
        a.setblocking(False)
        io = _csockio.SocketIO(a)
        assert io.send(b"ok") == 2
        assert b.recv(10) == b"ok"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            assert _csockio.local_address(udp) == udp.getsockname()
        # The module took Refusing for socket.socket: its sockets are the plain ones,
        # and accepting on one reads the listener through its methods.
        with Refusing(socket.AF_INET, socket.SOCK_STREAM) as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            listener.setblocking(False)
            with socket.create_connection(listener.getsockname()) as client:
                conn, peer = _csockio.accept(listener)
                with conn:
                    assert peer == client.getsockname() == conn.getpeername()
                    assert (conn.type, conn.gettimeout()) == (socket.SOCK_STREAM, 0.0)
        print("imported")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported"
