"""The loop's ``sock_*`` coroutines: one syscall attempt, then wait on the fd.

Each operation first tries the non-blocking call directly (most calls succeed
without waiting); only when the kernel says "would block" does it register a
reader or writer that retries the call until it succeeds or fails, completing a
future. The coroutine unregisters the fd when its wait ends (done, failed or
cancelled), unless another operation replaced the registration meanwhile: no
done callback, so a completed wait costs no extra callback in the loop. The
wait is one-shot (``_wait_fd``): on epoll, a wait that ended with its event
costs one system call (re-arming) rather than two (register, unregister).
"""

from __future__ import annotations

import errno
import functools
import os
import socket
from asyncio import base_events

from ._transports.sockio import family_and_type

_check_ssl_socket = base_events._check_ssl_socket
_socket_type = socket.socket
_SOL_SOCKET, _SO_ERROR = socket.SOL_SOCKET, socket.SO_ERROR
# sock_recv(n) past this size reads through the loop's receive buffer.
_LARGE_RECV = 64 * 1024
# connect_ex() results that mean "wait until the socket is writable": the
# errnos of BlockingIOError and InterruptedError.
_CONNECT_PENDING = frozenset(
    (errno.EAGAIN, errno.EWOULDBLOCK, errno.EALREADY, errno.EINPROGRESS, errno.EINTR)
)


def _connect_pending(sock, address) -> bool:
    """``sock.connect(address)``: True if the connection is in progress, False if
    made; raises what connect() raises for any other outcome.

    A plain socket's ``connect_ex`` reports "in progress" as a number, which
    costs less than the BlockingIOError that ``connect`` raises for it.
    """
    if type(sock) is not _socket_type:
        try:
            sock.connect(address)
        except (BlockingIOError, InterruptedError):
            return True
        return False
    err = sock.connect_ex(address)
    if err in _CONNECT_PENDING:
        return True
    if err:
        raise OSError(err, os.strerror(err))
    return False


# The retried operations look the method up on each attempt, as asyncio does.
def _recv(sock, n):
    return sock.recv(n)


def _recv_copy(sock, view, n):
    """``sock.recv(n)`` through the loop's receive buffer (see ``SockOps.sock_recv``)."""
    nbytes = sock.recv_into(view, n)
    return view[:nbytes].tobytes()


def _recv_into(sock, buf):
    return sock.recv_into(buf)


def _recvfrom(sock, bufsize):
    return sock.recvfrom(bufsize)


def _recvfrom_into(sock, buf, nbytes):
    return sock.recvfrom_into(buf, nbytes)


def _sendto(sock, data, address):
    return sock.sendto(data, 0, address)


def _send_rest(sock, view, pos):
    """One ``send`` of what ``sock_sendall`` has left; "would block" until all is sent."""
    start = pos[0] + sock.send(view[pos[0]:])
    pos[0] = start
    if start < len(view):
        raise BlockingIOError


def _accept_nonblocking(sock):
    conn, address = sock.accept()
    conn.setblocking(False)
    return conn, address


class SockOps:
    """Mixin for the event loop: sock_recv, sock_sendall, sock_connect, ..."""

    def _check_sock(self, sock: socket.socket) -> None:
        if type(sock) is not _socket_type:
            _check_ssl_socket(sock)  # A plain socket.socket is no SSLSocket.
        if self._debug and sock.gettimeout() != 0:
            raise ValueError("the socket must be non-blocking")

    async def sock_recv(self, sock, n):
        self._check_sock(sock)
        if n > _LARGE_RECV and type(sock) is _socket_type and n <= len(self._recv_view):
            # A large recv(n) allocates n bytes (an mmap() past glibc's threshold)
            # and shrinks them to what arrived; the loop's buffer avoids both.
            view = self._recv_view
            nbytes = self._try_recv_into(sock, view, n)
            if nbytes is not None:
                return view[:nbytes].tobytes()
            return await self._wait_and_retry(sock, True, _recv_copy, (sock, view, n))
        data = self._try_recv(sock, n)
        if data is not None:
            return data
        return await self._wait_and_retry(sock, True, _recv, (sock, n))

    async def sock_recv_into(self, sock, buf):
        self._check_sock(sock)
        nbytes = self._try_recv_into(sock, buf)
        if nbytes is not None:
            return nbytes
        return await self._wait_and_retry(sock, True, _recv_into, (sock, buf))

    # The first attempt of a recv: None when it would block. The compiled
    # scheduler has its own, in C, that raises no exception for "would block".

    def _try_recv(self, sock, n):
        """``sock.recv(n)``, or None if it would block."""
        try:
            return sock.recv(n)
        except (BlockingIOError, InterruptedError):
            return None

    def _try_recv_into(self, sock, buf, nbytes=0):
        """``sock.recv_into(buf, nbytes)``, or None if it would block."""
        try:
            return sock.recv_into(buf, nbytes)
        except (BlockingIOError, InterruptedError):
            return None

    async def sock_recvfrom(self, sock, bufsize):
        self._check_sock(sock)
        try:
            return sock.recvfrom(bufsize)
        except (BlockingIOError, InterruptedError):
            pass
        return await self._wait_and_retry(sock, True, _recvfrom, (sock, bufsize))

    async def sock_recvfrom_into(self, sock, buf, nbytes=0):
        self._check_sock(sock)
        if not nbytes:
            nbytes = len(buf)
        try:
            return sock.recvfrom_into(buf, nbytes)
        except (BlockingIOError, InterruptedError):
            pass
        return await self._wait_and_retry(
            sock, True, _recvfrom_into, (sock, buf, nbytes)
        )

    async def sock_sendto(self, sock, data, address):
        self._check_sock(sock)
        try:
            return sock.sendto(data, address)
        except (BlockingIOError, InterruptedError):
            pass
        return await self._wait_and_retry(
            sock, False, _sendto, (sock, data, address)
        )

    async def sock_accept(self, sock):
        self._check_sock(sock)
        try:
            return _accept_nonblocking(sock)
        except (BlockingIOError, InterruptedError):
            pass
        return await self._wait_and_retry(sock, True, _accept_nonblocking, (sock,))

    async def _wait_and_retry(self, sock, reading: bool, op, args):
        """Retry ``op(*args)`` each time ``sock`` is readable (or writable)."""
        fut = self.create_future()
        fd = sock.fileno()
        self._ensure_fd_no_transport(fd)
        handle = self._wait_fd(fd, reading, self._retry_sock_op, (fut, fd, op, args))
        try:
            return await fut
        finally:
            # A cancelled handle was replaced (add_reader) or removed by someone else.
            if not handle._cancelled:
                if reading:
                    self._remove_reader(fd)
                else:
                    self._remove_writer(fd)

    def _retry_sock_op(self, fut, fd, op, args) -> None:
        if fut.done():
            return  # Cancelled while the fd was already reported ready.
        try:
            result = op(*args)
        except (BlockingIOError, InterruptedError):
            self._rearm(fd)  # A spurious report: wait for the next one.
            return
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            fut.set_exception(exc)
        else:
            fut.set_result(result)

    def _sock_connect_done(self, fd, handle, fut) -> None:
        """``fut``'s done callback: drop the wait for ``fd``'s connect (the wait
        ``handle``), unless it was cancelled. No transport has ``fd`` yet: this
        runs before the connecting task resumes."""
        if not handle.cancelled():
            self._remove_writer(fd)

    async def sock_sendall(self, sock, data):
        self._check_sock(sock)
        try:
            n = sock.send(data)
        except (BlockingIOError, InterruptedError):
            n = 0
        if n == len(data):
            return
        await self._wait_and_retry(sock, False, _send_rest, (sock, memoryview(data), [n]))

    async def sock_connect(self, sock, address):
        self._check_sock(sock)
        family, kind = family_and_type(sock)
        if family == socket.AF_INET or (base_events._HAS_IPv6 and family == socket.AF_INET6):
            resolved = await self._ensure_resolved(
                address, family=family, type=kind, proto=sock.proto, loop=self
            )
            _, _, _, _, address = resolved[0]
        fut = self.create_future()
        self._sock_connect(fut, sock, address)
        try:
            return await fut
        finally:
            fut = None  # Break the cycle through a connect exception.

    def _sock_connect(self, fut, sock, address) -> None:
        fd = sock.fileno()
        try:
            pending = _connect_pending(sock, address)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            fut.set_exception(exc)
            fut = None
            return
        if pending:
            self._ensure_fd_no_transport(fd)
            # One-shot: a transport that reads the socket next re-arms the fd
            # rather than registering it again.
            handle = self._wait_fd(fd, False, self._sock_connect_cb, (fut, sock, address))
            fut.add_done_callback(functools.partial(self._sock_connect_done, fd, handle))
        else:
            fut.set_result(None)

    def _sock_connect_cb(self, fut, sock, address) -> None:
        if fut.done():
            return
        try:
            err = sock.getsockopt(_SOL_SOCKET, _SO_ERROR)
            if err != 0:
                raise OSError(err, f"Connect call failed {address}")
        except (BlockingIOError, InterruptedError):
            self._rearm(sock.fileno())  # Not connected yet: wait for the next report.
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            fut.set_exception(exc)
        else:
            fut.set_result(None)
        finally:
            fut = None
