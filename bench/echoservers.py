"""Echo servers on the running loop, one per API style: protocols, streams, sock_* calls.

Used by the in-process echo benchmarks and by the separate-process client ones, so
that both measure the same server code.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

HOST = "127.0.0.1"
READ_SIZE = 256 * 1024


@dataclass
class EchoServer:
    """A running echo server: where it listens and how to stop it."""

    addr: tuple[str, int]
    close: Callable[[], Awaitable[None]]


class _EchoProtocol(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


async def _close_server(server: asyncio.AbstractServer) -> None:
    server.close()
    await server.wait_closed()


async def start_protocol_server() -> EchoServer:
    """Echo with an asyncio.Protocol: data_received writes the data back."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_EchoProtocol, HOST, 0)
    addr = server.sockets[0].getsockname()[:2]
    return EchoServer(addr, lambda: _close_server(server))


async def _stream_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(READ_SIZE)
            if not data:
                break
            writer.write(data)
    except ConnectionError:
        pass
    finally:
        writer.close()


async def start_stream_server() -> EchoServer:
    """Echo with asyncio.start_server: read() then write() (uvloop's streams style)."""
    server = await asyncio.start_server(_stream_echo, HOST, 0)
    addr = server.sockets[0].getsockname()[:2]
    return EchoServer(addr, lambda: _close_server(server))


def nodelay(sock: socket.socket) -> None:
    """Disable Nagle, as asyncio's transports do for TCP."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _report_failure(task: asyncio.Task[None]) -> None:
    """Send a server task's exception to the loop's exception handler (as transports do)."""
    if not task.cancelled() and task.exception() is not None:
        task.get_loop().call_exception_handler(
            {"message": "echo server task failed", "exception": task.exception(), "task": task}
        )


async def start_sock_server() -> EchoServer:
    """Echo with loop.sock_accept / sock_recv / sock_sendall."""
    loop = asyncio.get_running_loop()
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((HOST, 0))
    lsock.listen(128)
    lsock.setblocking(False)
    handlers: set[asyncio.Task[None]] = set()

    async def handle(conn: socket.socket) -> None:
        with conn:
            try:
                while True:
                    data = await loop.sock_recv(conn, READ_SIZE)
                    if not data:
                        break
                    await loop.sock_sendall(conn, data)
            except ConnectionError:
                pass

    async def accept() -> None:
        while True:
            conn, _ = await loop.sock_accept(lsock)
            conn.setblocking(False)
            nodelay(conn)
            task = asyncio.ensure_future(handle(conn))
            handlers.add(task)
            task.add_done_callback(handlers.discard)
            task.add_done_callback(_report_failure)

    acceptor = asyncio.ensure_future(accept())
    acceptor.add_done_callback(_report_failure)

    async def close() -> None:
        acceptor.cancel()
        for task in list(handlers):
            task.cancel()
        await asyncio.gather(acceptor, *handlers, return_exceptions=True)
        lsock.close()

    return EchoServer(lsock.getsockname()[:2], close)


SERVERS: dict[str, Callable[[], Awaitable[EchoServer]]] = {
    "proto": start_protocol_server,
    "stream": start_stream_server,
    "sock": start_sock_server,
}
