"""Transport factories, listening sockets, Unix sockets and name resolution.

asyncio's ``BaseEventLoop`` already implements the protocol-agnostic parts of
``create_connection`` (happy eyeballs included), ``create_server``,
``create_datagram_endpoint``, ``connect_accepted_socket`` and ``start_tls``; it
calls the hooks defined here to make vif's transports. This module adds the
Unix-socket entry points, accepting on listening sockets, and ``getaddrinfo`` /
``getnameinfo`` shortcuts that resolve numeric addresses without a thread hop.
"""

from __future__ import annotations

import errno
import inspect
import logging
import os
import socket
import stat
import sys
from asyncio import base_events, constants, sslproto, tasks, trsock, unix_events

from ._transports.datagram import DatagramTransport
from ._transports.pipes import ReadPipeTransport, WritePipeTransport
from ._transports.sockio import accept
from ._transports.stream import StreamTransport

logger = logging.getLogger("asyncio")

_NUMERIC_FLAGS = socket.AI_NUMERICHOST | getattr(socket, "AI_NUMERICSERV", 0)
_NUMERIC_NAME_FLAGS = socket.NI_NUMERICHOST | socket.NI_NUMERICSERV
_OUT_OF_RESOURCES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


_SOCKET = socket.socket
_SOCK_NONBLOCK = getattr(socket, "SOCK_NONBLOCK", 0)
# Read once here: the compiled twin looks a module's attribute up on each use.
_AF_UNSPEC, _AF_INET = socket.AF_UNSPEC, socket.AF_INET
_SOCK_STREAM, _IPPROTO_TCP = socket.SOCK_STREAM, socket.IPPROTO_TCP
_inet_pton = socket.inet_pton
# create_connection's all_errors when the caller did not give it.
_NOT_GIVEN = object()


def _numeric_port(port) -> bool:
    if port is None or isinstance(port, int):
        return True
    if isinstance(port, (str, bytes)):
        return port.isdigit()
    return False


def _numeric_stream_info(host, port, family, proto):
    """asyncio's ``_ipaddr_info`` for a TCP connection: the one getaddrinfo() entry
    a numeric host and port resolve to, or None.

    The common case, a str IPv4 address and an int port, is answered here; any
    other goes to ``_ipaddr_info`` itself.
    """
    if (
        type(host) is str
        and type(port) is int
        and (family == _AF_UNSPEC or family == _AF_INET)
        and (proto == 0 or proto == _IPPROTO_TCP)
    ):
        try:
            _inet_pton(_AF_INET, host)
        except (OSError, ValueError):
            pass
        else:
            return _AF_INET, _SOCK_STREAM, _IPPROTO_TCP, "", (host, port)
    return base_events._ipaddr_info(host, port, family, _SOCK_STREAM, proto)


class Network:
    """Mixin for the event loop: the transport hooks BaseEventLoop calls, and more."""

    # The compiled loop puts the compiled twins of the transports here.
    _StreamTransport = StreamTransport
    _DatagramTransport = DatagramTransport
    # What record_connect_steps() found on the loop class: ((name, method), ...).
    _original_connect_steps: tuple = ()

    # -- transport factories (hooks of BaseEventLoop) ----------------------------

    def _make_socket_transport(self, sock, protocol, waiter=None, *, extra=None, server=None):
        return self._StreamTransport(self, sock, protocol, waiter, extra, server)

    def _make_datagram_transport(self, sock, protocol, address=None, waiter=None, extra=None):
        return self._DatagramTransport(self, sock, protocol, address, waiter, extra)

    def _make_ssl_transport(
        self,
        rawsock,
        protocol,
        sslcontext,
        waiter=None,
        *,
        server_side=False,
        server_hostname=None,
        extra=None,
        server=None,
        ssl_handshake_timeout=constants.SSL_HANDSHAKE_TIMEOUT,
        ssl_shutdown_timeout=constants.SSL_SHUTDOWN_TIMEOUT,
        call_connection_made=True,
    ):
        # TLS runs over a memory BIO in asyncio's SSLProtocol, which sits on a
        # plain vif stream transport like any other protocol.
        ssl_protocol = sslproto.SSLProtocol(
            self,
            protocol,
            sslcontext,
            waiter,
            server_side,
            server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
            call_connection_made=call_connection_made,
        )
        self._StreamTransport(self, rawsock, ssl_protocol, extra=extra, server=server)
        return ssl_protocol._app_transport

    def _make_read_pipe_transport(self, pipe, protocol, waiter=None, extra=None):
        return ReadPipeTransport(self, pipe, protocol, waiter, extra)

    def _make_write_pipe_transport(self, pipe, protocol, waiter=None, extra=None):
        return WritePipeTransport(self, pipe, protocol, waiter, extra)

    # -- serving -------------------------------------------------------------------

    def _start_serving(
        self,
        protocol_factory,
        sock,
        sslcontext=None,
        server=None,
        backlog=100,
        ssl_handshake_timeout=constants.SSL_HANDSHAKE_TIMEOUT,
        ssl_shutdown_timeout=constants.SSL_SHUTDOWN_TIMEOUT,
    ):
        self._add_reader(
            sock.fileno(),
            self._accept_connection,
            protocol_factory,
            sock,
            sslcontext,
            server,
            backlog,
            ssl_handshake_timeout,
            ssl_shutdown_timeout,
        )

    def _accept_connection(
        self,
        protocol_factory,
        sock,
        sslcontext=None,
        server=None,
        backlog=100,
        ssl_handshake_timeout=constants.SSL_HANDSHAKE_TIMEOUT,
        ssl_shutdown_timeout=constants.SSL_SHUTDOWN_TIMEOUT,
    ):
        plain = type(sock) is _SOCKET  # what create_server makes: accept() it here
        left = backlog  # (a count, not range(): one object less per readiness)
        while left > 0:
            left -= 1
            try:
                if plain:
                    accepted = accept(sock)
                    if accepted is None:
                        return  # None waiting.
                    conn, addr = accepted
                else:
                    conn, addr = sock.accept()
                    conn.setblocking(False)
                if self._debug:
                    logger.debug("%r got a new connection from %r: %r", server, addr, conn)
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as exc:
                if exc.errno not in _OUT_OF_RESOURCES:
                    raise  # The loop's exception handler logs it.
                # Out of fds or memory: stop accepting for a while, keep serving.
                self.call_exception_handler({
                    "message": "socket.accept() out of system resource",
                    "exception": exc,
                    "socket": trsock.TransportSocket(sock),
                })
                self._remove_reader(sock.fileno())
                self.call_later(
                    constants.ACCEPT_RETRY_DELAY,
                    self._start_serving,
                    protocol_factory,
                    sock,
                    sslcontext,
                    server,
                    backlog,
                    ssl_handshake_timeout,
                    ssl_shutdown_timeout,
                )
                return
            extra = {"peername": addr}
            if sslcontext:
                self.create_task(
                    self._accept_tls_connection(
                        protocol_factory,
                        conn,
                        extra,
                        sslcontext,
                        server,
                        ssl_handshake_timeout,
                        ssl_shutdown_timeout,
                    )
                )
            else:
                self._accept_plain_connection(protocol_factory, conn, extra, server)

    def _accept_plain_connection(self, protocol_factory, conn, extra, server) -> None:
        # No handshake to wait for: make the transport now rather than in a task.
        protocol = None
        try:
            protocol = protocol_factory()
            self._StreamTransport(self, conn, protocol, None, extra, server)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            conn.close()
            if self._debug:
                context = {
                    "message": "Error on transport creation for incoming connection",
                    "exception": exc,
                }
                if protocol is not None:
                    context["protocol"] = protocol
                self.call_exception_handler(context)

    async def _accept_tls_connection(
        self,
        protocol_factory,
        conn,
        extra,
        sslcontext,
        server,
        ssl_handshake_timeout,
        ssl_shutdown_timeout,
    ):
        protocol = None
        transport = None
        try:
            protocol = protocol_factory()
            waiter = self.create_future()
            transport = self._make_ssl_transport(
                conn,
                protocol,
                sslcontext,
                waiter=waiter,
                server_side=True,
                extra=extra,
                server=server,
                ssl_handshake_timeout=ssl_handshake_timeout,
                ssl_shutdown_timeout=ssl_shutdown_timeout,
            )
            try:
                await waiter
            except BaseException:
                transport.close()
                waiter = None
                raise
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            if self._debug:
                context = {
                    "message": "Error on transport creation for incoming connection",
                    "exception": exc,
                }
                if protocol is not None:
                    context["protocol"] = protocol
                if transport is not None:
                    context["transport"] = transport
                self.call_exception_handler(context)

    def _stop_serving(self, sock) -> None:
        path = sock.getsockname() if sock in self._unix_server_sockets else None
        self._remove_reader(sock.fileno())
        sock.close()
        if path is not None:
            inode = self._unix_server_sockets.pop(sock)
            try:
                if os.stat(path).st_ino == inode:
                    os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as err:
                logger.error("Unable to clean up listening UNIX socket %r: %r", path, err)

    # -- Unix sockets ----------------------------------------------------------------

    async def create_unix_connection(
        self,
        protocol_factory,
        path=None,
        *,
        ssl=None,
        sock=None,
        server_hostname=None,
        ssl_handshake_timeout=None,
        ssl_shutdown_timeout=None,
    ):
        assert server_hostname is None or isinstance(server_hostname, str)
        if ssl:
            if server_hostname is None:
                raise ValueError("you have to pass server_hostname when using ssl")
        else:
            if server_hostname is not None:
                raise ValueError("server_hostname is only meaningful with ssl")
            if ssl_handshake_timeout is not None:
                raise ValueError("ssl_handshake_timeout is only meaningful with ssl")
            if ssl_shutdown_timeout is not None:
                raise ValueError("ssl_shutdown_timeout is only meaningful with ssl")
        if path is not None:
            if sock is not None:
                raise ValueError("path and sock can not be specified at the same time")
            path = os.fspath(path)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, 0)
            try:
                sock.setblocking(False)
                await self.sock_connect(sock, path)
            except BaseException:
                sock.close()
                raise
        else:
            if sock is None:
                raise ValueError("no path and sock were specified")
            if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
                raise ValueError(f"A UNIX Domain Stream Socket was expected, got {sock!r}")
            sock.setblocking(False)
        return await self._create_connection_transport(
            sock,
            protocol_factory,
            ssl,
            server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
        )

    async def create_unix_server(
        self,
        protocol_factory,
        path=None,
        *,
        sock=None,
        backlog=100,
        ssl=None,
        ssl_handshake_timeout=None,
        ssl_shutdown_timeout=None,
        start_serving=True,
        **kwargs,
    ):
        cleanup_socket = self._unix_cleanup_option(kwargs)
        if isinstance(ssl, bool):
            raise TypeError("ssl argument must be an SSLContext or None")
        if ssl_handshake_timeout is not None and not ssl:
            raise ValueError("ssl_handshake_timeout is only meaningful with ssl")
        if ssl_shutdown_timeout is not None and not ssl:
            raise ValueError("ssl_shutdown_timeout is only meaningful with ssl")
        if path is not None:
            if sock is not None:
                raise ValueError("path and sock can not be specified at the same time")
            path = os.fspath(path)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            if path[0] not in (0, "\x00"):
                # A stale socket file from a previous run would make bind() fail.
                try:
                    if stat.S_ISSOCK(os.stat(path).st_mode):
                        os.remove(path)
                except FileNotFoundError:
                    pass
                except OSError as err:
                    logger.error("Unable to check or remove stale UNIX socket %r: %r", path, err)
            try:
                sock.bind(path)
            except OSError as exc:
                sock.close()
                if exc.errno == errno.EADDRINUSE:
                    raise OSError(errno.EADDRINUSE, f"Address {path!r} is already in use") from None
                raise
            except BaseException:
                sock.close()
                raise
        else:
            if sock is None:
                raise ValueError("path was not specified, and no sock specified")
            if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
                raise ValueError(f"A UNIX Domain Stream Socket was expected, got {sock!r}")
        if cleanup_socket:
            name = sock.getsockname()
            if name and name[0] not in (0, "\x00"):
                try:
                    self._unix_server_sockets[sock] = os.stat(name).st_ino
                except FileNotFoundError:
                    pass
        sock.setblocking(False)
        server = base_events.Server(
            self, [sock], protocol_factory, ssl, backlog,
            ssl_handshake_timeout, ssl_shutdown_timeout,
        )
        if start_serving:
            server._start_serving()
            await tasks.sleep(0)
        return server

    @staticmethod
    def _unix_cleanup_option(kwargs) -> bool:
        """``cleanup_socket`` exists from Python 3.13; before, sockets are left as asyncio does."""
        if sys.version_info >= (3, 13):
            cleanup = kwargs.pop("cleanup_socket", True)
        else:
            cleanup = False
        if kwargs:
            name = next(iter(kwargs))
            raise TypeError(f"create_unix_server() got an unexpected keyword argument {name!r}")
        return cleanup

    # -- outgoing TCP connections -----------------------------------------------------

    async def create_connection(
        self,
        protocol_factory,
        host=None,
        port=None,
        *,
        ssl=None,
        family=0,
        proto=0,
        flags=0,
        sock=None,
        local_addr=None,
        server_hostname=None,
        ssl_handshake_timeout=None,
        ssl_shutdown_timeout=None,
        happy_eyeballs_delay=None,
        interleave=None,
        all_errors=_NOT_GIVEN,
    ):
        if all_errors is _NOT_GIVEN:
            all_errors = False
        elif sys.version_info < (3, 12):
            raise TypeError("create_connection() got an unexpected keyword argument 'all_errors'")
        if (
            ssl is None
            and sock is None
            and local_addr is None
            and happy_eyeballs_delay is None
            and server_hostname is None
            and ssl_handshake_timeout is None
            and ssl_shutdown_timeout is None
        ):
            info = self._numeric_connect_info(host, port, family, proto)
            if info is not None:
                return await self._connect_numeric(protocol_factory, info, all_errors,
                                                   host, port)
        kwargs = {"all_errors": all_errors} if sys.version_info >= (3, 12) else {}
        return await super().create_connection(
            protocol_factory, host, port, ssl=ssl, family=family, proto=proto, flags=flags,
            sock=sock, local_addr=local_addr, server_hostname=server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
            happy_eyeballs_delay=happy_eyeballs_delay, interleave=interleave, **kwargs,
        )

    def _numeric_connect_info(self, host, port, family, proto):
        """The one address create_connection's shortcut connects to (see
        ``_numeric_stream_info``), or None: asyncio's full path. A plain method,
        so that the compiled loop makes both checks without a Python call."""
        if not self._plain_connect_is_ours():
            return None
        return _numeric_stream_info(host, port, family, proto)

    def _plain_connect_is_ours(self) -> bool:
        """Whether the steps create_connection takes are asyncio's and vif's own.

        The numeric-host shortcut below does what they do without calling them; a
        loop, loop class or asyncio class on which one of them was replaced (a
        subclass, a test's mock) -- or a patched socket module -- gets asyncio's
        full path, which calls it. The class's answer is kept while its version
        (``_class_version``: CPython's version tag, which changes with the class
        or any base) stays the same.
        """
        global _steps_found_ours
        # (typed: the twin looks each name up in C)
        instance_attributes: dict = self._instance_attributes()
        for name in _PLAIN_CONNECT_STEPS:
            if name in instance_attributes:
                return False
        cls = type(self)
        version = self._class_version()
        if not version or _steps_found_ours != (cls, version):
            if not _class_steps_are_ours(cls):
                return False
            _steps_found_ours = (cls, self._class_version())  # (the lookups gave it one)
        return base_events.socket is socket and socket.socket is _SOCKET

    async def _connect_numeric(self, protocol_factory, info, all_errors, host, port):
        """create_connection to one numeric address: asyncio's steps, without the
        second resolution in sock_connect and with a socket created non-blocking
        (then what asyncio's _create_connection_transport does, as create_connection
        does, but for making the socket non-blocking again).

        The outcome is asyncio's: the same socket (family, proto, TCP_NODELAY), the
        same exceptions (connect(2)'s own, or "Connect call failed (addr)" when the
        error comes after the wait), the same transport and waiter.
        """
        family, type_, proto, _, address = info
        sock = None
        try:
            sock = _SOCKET(family, type_ | _SOCK_NONBLOCK, proto)
            if not _SOCK_NONBLOCK:
                sock.setblocking(False)
            fut = self.create_future()
            self._sock_connect(fut, sock, address)
            try:
                await fut
            finally:
                fut = None  # Break the cycle through a connect exception.
        except OSError as exc:
            if sock is not None:
                sock.close()
            if all_errors:
                raise ExceptionGroup("create_connection failed", [exc]) from None
            raise
        except BaseException:
            if sock is not None:
                sock.close()
            raise
        # asyncio's _create_connection_transport without its setblocking(False)
        # (one system call) on the socket made non-blocking above.
        protocol = protocol_factory()
        waiter = self.create_future()
        transport = self._make_socket_transport(sock, protocol, waiter)
        try:
            await waiter
        except BaseException:
            transport.close()
            raise
        if self._debug:
            logger.debug("%r connected to %s:%r: (%r, %r)", transport.get_extra_info("socket"),
                         host, port, transport, protocol)
        return transport, protocol

    # -- name resolution -------------------------------------------------------------

    async def getaddrinfo(self, host, port, *, family=0, type=0, proto=0, flags=0):
        resolve = self._getaddrinfo_debug if self._debug else socket.getaddrinfo
        if _numeric_port(port):
            # A numeric host needs no resolver: answer without a thread hop.
            try:
                return resolve(host, port, family, type, proto, flags | _NUMERIC_FLAGS)
            except socket.gaierror:
                pass
        return await self.run_in_executor(None, resolve, host, port, family, type, proto, flags)

    async def getnameinfo(self, sockaddr, flags=0):
        if flags & _NUMERIC_NAME_FLAGS == _NUMERIC_NAME_FLAGS:
            return socket.getnameinfo(sockaddr, flags)
        return await self.run_in_executor(None, socket.getnameinfo, sockaddr, flags)


# What inspect.signature shows for the methods whose parameters depend on the
# Python version: asyncio's on this Python (create_connection's all_errors from
# 3.12, create_unix_server's cleanup_socket from 3.13), which are what they accept.
for _name, _stock in (("create_connection", base_events.BaseEventLoop),
                      ("create_unix_server", unix_events._UnixSelectorEventLoop)):
    getattr(Network, _name).__signature__ = inspect.signature(getattr(_stock, _name))

# The steps create_connection's numeric-host shortcut stands in for (see
# Network._plain_connect_is_ours): replacing any of them, on a loop, its class or
# asyncio's, after the loop class was assembled turns the shortcut off.
_PLAIN_CONNECT_STEPS = (
    "_ensure_resolved",
    "_connect_sock",
    "sock_connect",
    "_sock_connect",
    "_create_connection_transport",
)
_ORIGINAL_CREATE = base_events.BaseEventLoop.create_connection


# The loop class whose steps were last found to be ours, and its version then.
_steps_found_ours: tuple = (None, 0)


def _class_steps_are_ours(cls: type) -> bool:
    """Whether ``cls``'s create_connection steps are the ones it was built with,
    and asyncio's create_connection is asyncio's."""
    steps = cls._original_connect_steps
    if not steps:
        return False  # a loop class assembled without record_connect_steps()
    for name, original in steps:
        if getattr(cls, name) is not original:
            return False
    return base_events.BaseEventLoop.create_connection is _ORIGINAL_CREATE


def record_connect_steps(loop_class: type) -> None:
    """Remember ``loop_class``'s create_connection steps as they are now: the
    ones its numeric-host shortcut may stand in for."""
    loop_class._original_connect_steps = tuple(
        (name, getattr(loop_class, name)) for name in _PLAIN_CONNECT_STEPS
    )
