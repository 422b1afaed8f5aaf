"""DatagramIO (the datagram transport's socket calls) against the socket's own methods.

Both versions run: the pure one (the socket's bound methods) and, when built,
the compiled one, which makes IPv4 system calls itself and keeps the last peer
address each way. Every result, address and error must be the socket's.
"""

from __future__ import annotations

import socket
import sys

import pytest
from vif_testing import vif

from vif._transports.dgram_io import DatagramIO as PyDatagramIO

try:
    from vif._transports._cdgram_io import DatagramIO as CDatagramIO
except ImportError:
    CDatagramIO = None

pytestmark = pytest.mark.skipif(vif is None, reason="vif not importable")

IO_CLASSES = [pytest.param(PyDatagramIO, id="python")]
if CDatagramIO is not None:
    IO_CLASSES.append(pytest.param(CDatagramIO, id="compiled"))


@pytest.fixture(params=IO_CLASSES)
def io_class(request):
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
            got = io.recvfrom_into(buf)
            assert got == (5, sender.getsockname())
            assert bytes(buf[:5]) == b"hello"
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
