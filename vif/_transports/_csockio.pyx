# cython: language_level=3
"""Compiled :class:`SocketIO` (see ``vif/_transports/sockio.py`` for what it owns).

On a plain non-blocking ``socket.socket`` (IPv4 for the calls with an
address) each call is one system call made with the GIL held (the socket never
blocks, and letting go of the GIL and taking it back costs more than a small
loopback ``send``), with
``socket``'s own error handling: EINTR is retried after running signal
handlers (PEP 475), any other error raises the OSError subclass its errno maps
to, the socket's ``sendto`` audit event is raised. The peer addresses are what
``socket`` makes: ``(inet_ntop(address), port)`` received, and for sending a
``(str, int)`` tuple whose host ``inet_pton`` reads (the numeric hosts that
``socket`` itself reads without a lookup); any other address, socket or timeout
goes through the socket's own method.

The set-up calls (``local_address``, ``peer_address``, ``set_nodelay``,
``family_and_type``) read the socket object's fields (vif/_socket_head.pxd) and
make getsockname(2), getpeername(2) and setsockopt(2) with the GIL held, on a
plain ``socket.socket`` (IPv4 for the addresses); anything else goes to
``sockio.py``'s versions, which ask the socket. ``transport_socket`` and
``close_socket`` do what ``TransportSocket(sock)`` and a plain socket's
``close()`` do without the Python functions those run.
"""

import _socket
import socket as _socket_module
from asyncio import trsock as _trsock

from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.exc cimport PyErr_CheckSignals, PyErr_SetFromErrno
from cpython.unicode cimport PyUnicode_FromString
from libc.errno cimport EINTR, errno
from libc.string cimport memset
from posix.unistd cimport close as close_fd

from vif._socket_head cimport nonblocking_fd, socket_head_matches, vif_socket_head

from vif._transports import sockio as _pure


cdef extern from "Python.h":
    int PySys_Audit(const char *event, const char *format, ...) except -1
    const char *PyUnicode_AsUTF8AndSize(object unicode, Py_ssize_t *size) except NULL

cdef extern from "arpa/inet.h" nogil:
    ctypedef unsigned int socklen_t
    ctypedef unsigned short sa_family_t
    ctypedef unsigned short in_port_t
    cdef struct in_addr:
        unsigned int s_addr
    cdef struct sockaddr:
        sa_family_t sa_family
    cdef struct sockaddr_in:
        sa_family_t sin_family
        in_port_t sin_port
        in_addr sin_addr
    const char *inet_ntop(int af, const void *src, char *dst, socklen_t size)
    int inet_pton(int af, const char *src, void *dst)
    unsigned short ntohs(unsigned short)
    unsigned short htons(unsigned short)
    enum:
        AF_INET
        AF_INET6
        INET_ADDRSTRLEN

cdef extern from "sys/socket.h" nogil:
    int accept4(int fd, sockaddr *addr, socklen_t *addrlen, int flags)
    int getsockname(int fd, sockaddr *addr, socklen_t *addrlen)
    int getpeername(int fd, sockaddr *addr, socklen_t *addrlen)
    int setsockopt(int fd, int level, int name, const void *value, socklen_t size)
    enum:
        SOCK_CLOEXEC
        SOCK_NONBLOCK
        SOCK_STREAM
    ssize_t recv(int fd, void *buf, size_t n, int flags)
    ssize_t recvfrom(int fd, void *buf, size_t n, int flags, sockaddr *addr, socklen_t *addrlen)
    ssize_t send(int fd, const void *buf, size_t n, int flags)
    ssize_t sendto(int fd, const void *buf, size_t n, int flags, const sockaddr *addr,
                   socklen_t addrlen)

cdef extern from "netinet/in.h":
    enum:
        IPPROTO_TCP

cdef extern from "netinet/tcp.h":
    enum:
        TCP_NODELAY

cdef extern from *:
    """
    #include <errno.h>
    /* In C: Cython makes the comparisons a switch, and on Linux the two are one value. */
    static int vif_would_block(int error) { return error == EAGAIN || error == EWOULDBLOCK; }
    """
    bint _would_block "vif_would_block" (int error)

cdef object _socket_type = _socket_module.socket
cdef object _socket_close = _socket_module.socket.close  # socket.socket's own close()
cdef object _close_fd_of = _socket.socket.close  # ... and the C close it ends in
cdef object _TransportSocket = _trsock.TransportSocket
# The socket's family as a plain int (socket.socket's property makes an enum).
cdef object _raw_family = _socket.socket.family.__get__
cdef object _NOTHING = object()  # an argument not given
cdef bint _HEAD_KNOWN = socket_head_matches()  # See vif/_socket_head.pxd.
SOCKET_HEAD_KNOWN = _HEAD_KNOWN  # For the tests: whether the fast reads are in use.


cdef inline bint _get_buffer(object obj, Py_buffer *view, int flags):
    """Whether ``obj`` lends its buffer; if not, the socket's method will say why."""
    try:
        PyObject_GetBuffer(obj, view, flags)
    except Exception:
        return False
    return True


cdef inline bint _lend_for_receiving(int fd, object buffer, Py_ssize_t *nbytes, Py_buffer *view):
    """Whether a receive of ``nbytes`` (0: all) into ``buffer`` is ours to make.

    If so, ``view`` holds the buffer and ``nbytes`` the size to receive; if not,
    the socket's method makes the call, or raises what it raises for it.
    """
    if fd == -1 or nbytes[0] < 0 or not _get_buffer(buffer, view, PyBUF_WRITABLE):
        return False
    if nbytes[0] > view.len:
        PyBuffer_Release(view)
        return False
    if nbytes[0] == 0:
        nbytes[0] = view.len
    return True


cdef inline int _check(ssize_t result) except -1:
    """0 when a system call returned ``result`` >= 0, 1 to retry it (EINTR); raises."""
    if result >= 0:
        return 0
    if errno == EINTR:
        PyErr_CheckSignals()
        return 1
    PyErr_SetFromErrno(OSError)
    return -1


cdef unsigned int _last_host_addr = 0
cdef object _last_host = None  # the host of the last address formatted, as text


cdef object _ipv4_address(sockaddr_in *addr):
    """``(host, port)`` as the socket module formats an IPv4 address.

    The host text of the last address is kept: a server's peers and a client's
    servers are few, and formatting "127.0.0.1" (inet_ntop's sprintf) costs
    more than the system call that returned it."""
    global _last_host, _last_host_addr
    cdef char text[INET_ADDRSTRLEN]
    if _last_host is None or addr.sin_addr.s_addr != _last_host_addr:
        inet_ntop(AF_INET, &addr.sin_addr, text, sizeof(text))
        _last_host = PyUnicode_FromString(text)
        _last_host_addr = addr.sin_addr.s_addr
    return (_last_host, ntohs(addr.sin_port))


# -- a socket's set-up calls (see sockio.py) -----------------------------------

cdef inline int _plain_family(object sock) except -2:
    """The family of a plain socket.socket, -1 for any other object."""
    if type(sock) is not _socket_type:
        return -1
    if _HEAD_KNOWN:
        return (<vif_socket_head *>sock).sock_family
    return _raw_family(sock)


cdef inline vif_socket_head *_plain_head(object sock):
    """The head of a plain socket.socket (a subclass may override its methods),
    or NULL: the socket's own methods answer."""
    if _HEAD_KNOWN and type(sock) is _socket_type:
        return <vif_socket_head *>sock
    return NULL


def family_and_type(sock):
    """``(sock.family, sock.type)`` as plain ints."""
    cdef vif_socket_head *head
    if _HEAD_KNOWN and isinstance(sock, _socket.socket):
        head = <vif_socket_head *>sock
        return head.sock_family, head.sock_type
    return _pure.family_and_type(sock)


def set_nodelay(sock):
    """asyncio's base_events._set_nodelay: TCP_NODELAY on a TCP socket."""
    cdef vif_socket_head *head = _plain_head(sock)
    cdef int one = 1
    if head == NULL:
        return _pure.set_nodelay(sock)
    if ((head.sock_family == AF_INET or head.sock_family == AF_INET6)
            and head.sock_type == SOCK_STREAM and head.sock_proto == IPPROTO_TCP):
        if setsockopt(head.sock_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0:
            PyErr_SetFromErrno(OSError)


ctypedef int (*name_call)(int fd, sockaddr *addr, socklen_t *addrlen) nogil


cdef object _ipv4_name(object sock, name_call call):
    """``call`` (getsockname or getpeername) on an IPv4 ``sock`` as socket makes
    it, or None if the socket's own method should."""
    cdef vif_socket_head *head = _plain_head(sock)
    cdef sockaddr_in addr
    cdef socklen_t addrlen = sizeof(addr)
    if head == NULL or head.sock_family != AF_INET:
        return None
    memset(&addr, 0, sizeof(addr))
    if call(head.sock_fd, <sockaddr *>&addr, &addrlen) < 0:
        PyErr_SetFromErrno(OSError)
    if addrlen < sizeof(addr) or addr.sin_family != AF_INET:
        return None  # Not an IPv4 address after all: the method formats it.
    return _ipv4_address(&addr)


def local_address(sock):
    """``sock.getsockname()``."""
    address = _ipv4_name(sock, getsockname)
    return sock.getsockname() if address is None else address


def peer_address(sock):
    """``sock.getpeername()``."""
    address = _ipv4_name(sock, getpeername)
    return sock.getpeername() if address is None else address


def accept(sock):
    """``sock.accept()`` on a listening socket, the new socket non-blocking:
    ``(conn, address)``, or None when no connection waits.

    A plain non-blocking IPv4 socket is accepted here with accept4(2), the new
    fd close-on-exec as ``accept()`` makes it and non-blocking from the start
    (the socket object is told so through its type's SOCK_NONBLOCK flag: no
    ioctl afterwards); any other socket goes to ``sockio.accept``.
    """
    cdef sockaddr_in addr
    cdef socklen_t addrlen
    cdef int fd, listening
    listening = -2
    if _plain_family(sock) == AF_INET:
        listening = nonblocking_fd(sock, _HEAD_KNOWN)
    if listening == -2:
        return _pure.accept(sock)
    while True:
        addrlen = sizeof(addr)
        fd = accept4(listening, <sockaddr *>&addr, &addrlen, SOCK_CLOEXEC | SOCK_NONBLOCK)
        if fd >= 0:
            break
        if _would_block(errno):
            return None
        _check(fd)  # EINTR: retried after the signal handlers ran; anything else raises.
    return _accepted_socket(sock, fd), _ipv4_address(&addr)


cdef object _accepted_socket(object listening, int fd):
    """A ``socket.socket`` for the non-blocking ``fd`` with ``listening``'s family,
    type and protocol (``fd`` is closed if it cannot be made)."""
    cdef vif_socket_head *head
    try:
        if _HEAD_KNOWN:
            head = <vif_socket_head *>listening
            family, kind, proto = head.sock_family, head.sock_type, head.sock_proto
        else:
            (family, kind), proto = _pure.family_and_type(listening), listening.proto
        return _socket_type(family, kind | SOCK_NONBLOCK, proto, fd)
    except BaseException:
        close_fd(fd)
        raise


def transport_socket(sock):
    """``asyncio.trsock.TransportSocket(sock)``, made without a Python call: its
    ``__init__`` only sets ``_sock``."""
    transport_sock = _TransportSocket.__new__(_TransportSocket)
    transport_sock._sock = sock
    return transport_sock


def close_socket(sock):
    """``sock.close()``. For a plain ``socket.socket`` whose ``close`` is socket's
    own, what it does without its two Python calls: mark it closed, and close
    the fd unless a ``makefile()`` object still uses it."""
    if type(sock) is _socket_type and _socket_type.close is _socket_close:
        sock._closed = True
        if sock._io_refs <= 0:
            _close_fd_of(sock)
    else:
        sock.close()


cdef inline ssize_t _recv(int fd, Py_buffer *view, Py_ssize_t nbytes) except -1:
    """recv(2) of up to ``nbytes`` into ``view``: the size received."""
    cdef ssize_t got
    while True:
        got = recv(fd, view.buf, nbytes, 0)
        if not _check(got):
            return got


cdef class SocketIO:
    """``recvfrom_into``, ``recv_into``, ``sendto`` and ``send`` of one socket, and
    ``recv_bytes`` / ``recvfrom_bytes``: what they put in a buffer, as bytes."""

    cdef object _sock
    cdef bint _plain           # a socket.socket (not a subclass, not a wrapper)
    cdef bint _ipv4            # ... of family AF_INET
    cdef sockaddr_in _from     # the last address recvfrom_into received from
    cdef object _from_obj      # ... as socket formats it (None: none yet)
    cdef object _to_obj        # the last address object given to sendto
    cdef sockaddr_in _to       # ... parsed

    def __init__(self, sock):
        self._sock = sock
        self._plain = type(sock) is _socket_type
        self._ipv4 = _plain_family(sock) == AF_INET
        self._from_obj = None
        self._to_obj = _NOTHING

    cdef inline int _fd(self, bint ours) except -2:
        """The fd if the call is ``ours`` to make and the socket does not block;
        -1: the socket's own method makes it."""
        cdef int fd
        if ours:
            fd = nonblocking_fd(self._sock, _HEAD_KNOWN)
            if fd != -2:
                return fd  # -1 once closed: the method fails with EBADF.
        return -1

    cdef object _recvfrom(self, int fd, Py_buffer *view, Py_ssize_t nbytes, ssize_t *got):
        """recvfrom(2) into ``view``: the sender's address (``got``: the size)."""
        cdef sockaddr_in addr
        cdef socklen_t addrlen
        while True:
            addrlen = sizeof(addr)
            got[0] = recvfrom(fd, view.buf, nbytes, 0, <sockaddr *>&addr, &addrlen)
            if not _check(got[0]):
                break
        if addrlen < sizeof(addr) or addr.sin_family != AF_INET:
            return None  # No address (socket's makesockaddr says None too).
        if (self._from_obj is None or addr.sin_addr.s_addr != self._from.sin_addr.s_addr
                or addr.sin_port != self._from.sin_port):
            self._from_obj = _ipv4_address(&addr)
            self._from = addr
        return self._from_obj

    def recvfrom_into(self, buffer, Py_ssize_t nbytes=0):
        cdef int fd = self._fd(self._ipv4)
        cdef Py_buffer view
        cdef ssize_t got
        if not _lend_for_receiving(fd, buffer, &nbytes, &view):
            return self._sock.recvfrom_into(buffer, nbytes)
        try:
            address = self._recvfrom(fd, &view, nbytes, &got)
        finally:
            PyBuffer_Release(&view)
        return got, address

    def recv_into(self, buffer, Py_ssize_t nbytes=0, int flags=0):
        cdef int fd = self._fd(self._plain)
        cdef Py_buffer view
        cdef ssize_t got
        if flags or not _lend_for_receiving(fd, buffer, &nbytes, &view):
            return self._sock.recv_into(buffer, nbytes, flags)
        try:
            return _recv(fd, &view, nbytes)
        finally:
            PyBuffer_Release(&view)

    cdef object _receive_bytes(self, object buffer, bint sender):
        """What ``recv_into(buffer)`` (or ``recvfrom_into``, with ``sender``) put in
        ``buffer``, a memoryview, as bytes (with the sender's address)."""
        cdef int fd = self._fd(self._ipv4 if sender else self._plain)
        cdef Py_ssize_t nbytes = 0
        cdef Py_buffer view
        cdef ssize_t got
        if not _lend_for_receiving(fd, buffer, &nbytes, &view):
            if sender:
                got, address = self._sock.recvfrom_into(buffer)
                return buffer[:got].tobytes(), address
            got = self._sock.recv_into(buffer)
            return buffer[:got].tobytes()
        try:
            if sender:
                address = self._recvfrom(fd, &view, nbytes, &got)
                return PyBytes_FromStringAndSize(<char *>view.buf, got), address
            got = _recv(fd, &view, nbytes)
            return PyBytes_FromStringAndSize(<char *>view.buf, got)
        finally:
            PyBuffer_Release(&view)

    def recv_bytes(self, buffer):
        """``recv_into(buffer)``, a memoryview, and a copy of what arrived (``b""``: EOF)."""
        return self._receive_bytes(buffer, False)

    def recvfrom_bytes(self, buffer):
        """``recvfrom_into(buffer)``, a memoryview: a copy of what arrived, and its sender."""
        return self._receive_bytes(buffer, True)

    cdef bint _parse_to(self, address) except -1:
        """Parse an IPv4 ``(host, port)`` that socket reads without a lookup into ``_to``."""
        cdef Py_ssize_t size
        cdef const char *host
        cdef sockaddr_in to
        if type(address) is not tuple or len(address) != 2:
            return False
        name, port = address
        if type(name) is not str or type(port) is not int or not 0 <= port <= 0xFFFF:
            return False
        if not name or not name.isascii() or "\0" in name:
            return False  # Empty (INADDR_ANY), not ASCII, or with a NUL: socket's own rules.
        host = PyUnicode_AsUTF8AndSize(name, &size)
        memset(&to, 0, sizeof(to))
        if inet_pton(AF_INET, host, &to.sin_addr) != 1:
            return False
        to.sin_family = AF_INET
        to.sin_port = htons(<unsigned short>port)
        self._to = to
        self._to_obj = address
        return True

    def sendto(self, data, flags_or_address=_NOTHING, address=_NOTHING):
        cdef int fd = self._fd(self._ipv4)
        cdef Py_buffer view
        cdef ssize_t sent
        if address is not _NOTHING:  # sendto(data, flags, address)
            return self._sock.sendto(data, flags_or_address, address)
        if flags_or_address is _NOTHING:
            return self._sock.sendto(data)  # The socket's TypeError.
        address = flags_or_address
        if (fd == -1 or (address is not self._to_obj and not self._parse_to(address))
                or not _get_buffer(data, &view, PyBUF_SIMPLE)):
            return self._sock.sendto(data, address)
        try:
            PySys_Audit("socket.sendto", "OO", <void *>self._sock, <void *>address)
            while True:
                sent = sendto(fd, view.buf, view.len, 0, <sockaddr *>&self._to, sizeof(self._to))
                if not _check(sent):
                    return sent
        finally:
            PyBuffer_Release(&view)

    def send(self, data, int flags=0):
        cdef int fd = self._fd(self._plain)
        cdef Py_buffer view
        cdef ssize_t sent
        if fd == -1 or flags or not _get_buffer(data, &view, PyBUF_SIMPLE):
            return self._sock.send(data, flags)
        try:
            while True:
                sent = send(fd, view.buf, view.len, 0)
                if not _check(sent):
                    return sent
        finally:
            PyBuffer_Release(&view)
