"""One socket's receive and send calls, as the socket transports make them.

This pure-Python version hands each call to the socket's own method. The
compiled twin (``vif/_transports/_csockio.pyx``, used by the compiled loop)
makes the system calls itself on a plain non-blocking socket, without letting
go of the GIL (the socket never blocks), and on IPv4 keeps the last peer
address in both directions: ``recvfrom_into`` formats an address only when it
differs from the last one (an echo server answers the same few peers, and
formatting "127.0.0.1" cost more than the system call), and ``sendto`` parses
one only when it is not the object it was given last time. Both return and
raise exactly what the socket's methods do. ``recv_bytes`` and
``recvfrom_bytes`` (a receive into the loop's buffer, copied out as bytes) are
one C function each there, with no slice or memoryview made per read.
``accept`` takes a connection from a listening socket, made non-blocking, and
says "none waiting" with None: the compiled one without the BlockingIOError
that ends every round of accepting.

The set-up and teardown calls a transport makes on its socket are here too:
``family_and_type``, ``set_nodelay``, ``local_address``, ``peer_address``,
``transport_socket`` and ``close_socket``. The compiled ones read the socket
object's own fields and make the system calls with the GIL held (socket's
``getsockname`` lets go of it and takes it back, which costs more than the
call), on a plain ``socket.socket``; their ``transport_socket`` and
``close_socket`` do what the Python ones do without the Python calls inside
(``TransportSocket``'s ``__init__``, ``socket.close`` and ``_real_close``).
"""

from __future__ import annotations

import _socket
import os
import socket
from asyncio import trsock
from typing import Any

_raw_family = _socket.socket.family.__get__
_raw_type = _socket.socket.type.__get__


class SocketIO:
    """``recvfrom_into``, ``recv_into``, ``sendto`` and ``send`` of one socket, and
    ``recv_bytes`` / ``recvfrom_bytes``: what they put in a buffer, as bytes."""

    __slots__ = ("recv_into", "recvfrom_into", "send", "sendto")

    def __init__(self, sock: socket.socket) -> None:
        self.recvfrom_into = sock.recvfrom_into
        self.recv_into = sock.recv_into
        self.sendto = sock.sendto
        self.send = sock.send

    def recv_bytes(self, buffer) -> bytes:
        """``recv_into(buffer)``, a memoryview, and a copy of what arrived (``b""``: EOF)."""
        nbytes = self.recv_into(buffer)
        return buffer[:nbytes].tobytes()

    def recvfrom_bytes(self, buffer) -> tuple[bytes, object]:
        """``recvfrom_into(buffer)``, a memoryview: a copy of what arrived, and its sender."""
        nbytes, address = self.recvfrom_into(buffer)
        return buffer[:nbytes].tobytes(), address


def accept(sock: socket.socket) -> tuple[socket.socket, Any] | None:
    """``sock.accept()`` on a listening socket, the new socket non-blocking:
    ``(conn, address)``, or None when no connection waits (where ``accept()``
    raises BlockingIOError). ``conn`` has the listening socket's family, type and
    protocol and is close-on-exec, as ``accept()`` makes it.

    The compiled twin accepts a plain IPv4 socket itself, non-blocking from the
    start (accept4's SOCK_NONBLOCK: no ioctl to make it so afterwards).
    """
    try:
        fd, address = sock._accept()
    except BlockingIOError:
        return None
    family, kind = family_and_type(sock)
    try:
        conn = socket.socket(family, kind, sock.proto, fd)
    except BaseException:
        os.close(fd)
        raise
    conn.setblocking(False)
    return conn, address


def transport_socket(sock: socket.socket) -> trsock.TransportSocket:
    """``asyncio.trsock.TransportSocket(sock)``: what a transport's
    ``get_extra_info("socket")`` returns."""
    return trsock.TransportSocket(sock)


def close_socket(sock: socket.socket) -> None:
    """``sock.close()``."""
    sock.close()


def family_and_type(sock: Any) -> tuple[int, int]:
    """``(sock.family, sock.type)`` as plain ints.

    socket.socket's properties convert both to enums on each access, which
    costs more than the attribute read itself.
    """
    if isinstance(sock, _socket.socket):
        return _raw_family(sock), _raw_type(sock)
    return sock.family, sock.type


def set_nodelay(sock: Any) -> None:
    """asyncio's base_events._set_nodelay: TCP_NODELAY on a TCP socket."""
    family, kind = family_and_type(sock)
    if (family == socket.AF_INET or family == socket.AF_INET6) and (
        kind == socket.SOCK_STREAM and sock.proto == socket.IPPROTO_TCP
    ):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def local_address(sock: socket.socket) -> Any:
    """``sock.getsockname()``."""
    return sock.getsockname()


def peer_address(sock: socket.socket) -> Any:
    """``sock.getpeername()``."""
    return sock.getpeername()
