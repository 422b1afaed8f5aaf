# The fd and timeout of a socket object, read from the object itself.
#
# A compiled call that makes a socket's system call itself needs two things from
# the socket first: its fd and whether it is non-blocking. ``sock.fileno()`` and
# ``sock.timeout`` are a method call and a property read (about 300 machine
# instructions together, against some 100 for a small loopback send). Both are
# fields at the head of CPython's socket object (``PySocketSockObject`` in
# Modules/socketmodule.h, the same from 3.11 to 3.13: the fd, family, type and
# protocol, an error handler, the timeout in nanoseconds, negative for blocking).
# That struct is not in CPython's public headers, so each module that reads it
# first checks, once at import, that a socket's fields read as its methods
# say (``socket_head_matches``); where they do not, the module uses the methods.
#
# Only for objects of type ``_socket.socket`` or a subclass (socket.socket):
# a subclass keeps its base's layout at the start.

from libc.stdint cimport int64_t


cdef extern from *:
    """
    typedef struct {
        PyObject_HEAD
        int sock_fd;
        int sock_family;
        int sock_type;
        int sock_proto;
        PyObject *(*errorhandler)(void);
        int64_t sock_timeout;
    } vif_socket_head;
    """
    ctypedef struct vif_socket_head:
        int sock_fd
        int sock_family
        int sock_type
        int sock_proto
        int64_t sock_timeout


cdef inline int nonblocking_fd(object sock, bint head_known) except -3:
    """The fd of ``sock`` (a _socket.socket; -1 once closed) if it has no timeout,
    else -2: read from its head if ``head_known`` (what ``socket_head_matches()``
    said), else from its methods."""
    cdef vif_socket_head *head
    if head_known:
        head = <vif_socket_head *>sock
        return head.sock_fd if head.sock_timeout == 0 else -2
    return sock.fileno() if sock.timeout == 0.0 else -2


cdef inline bint socket_head_matches() except -1:
    """Whether a socket's head reads as its methods say, through each timeout
    setting and after close (see the comment at the top)."""
    import socket
    cdef object sock
    cdef vif_socket_head *head
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    except OSError:
        return False  # No sockets here (a sandbox): nothing to read them for.
    head = <vif_socket_head *>sock
    try:
        sock.settimeout(None)
        if (head.sock_fd != sock.fileno() or head.sock_family != socket.AF_UNIX
                or head.sock_type != socket.SOCK_STREAM or head.sock_timeout >= 0):
            return False
        sock.settimeout(0.0)
        if head.sock_timeout != 0:
            return False
        sock.settimeout(2.5)
        if head.sock_timeout != 2_500_000_000:
            return False
    finally:
        sock.close()
    return head.sock_fd == -1
