"""Unix domain sockets: create_unix_server / create_unix_connection."""

from __future__ import annotations

import asyncio
import os
import socket
import sys

import pytest
from vif_testing import REFERENCE, Echo, Recorder, ServerProtocols, is_reference, run


async def unix_roundtrip(path, payload=b"over a unix socket"):
    loop = asyncio.get_running_loop()
    tr, proto = await loop.create_unix_connection(Recorder, path)
    assert tr.get_extra_info("peername") == path
    assert tr.get_extra_info("socket").family == socket.AF_UNIX
    tr.write(payload)
    assert await proto.wait_bytes(len(payload)) == payload
    tr.close()
    assert await proto.lost is None


def socket_file_left_after_close(loop_factory, path) -> bool:
    """Serve on ``path``, do a round trip, close; is the socket file still there?"""

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_unix_server(Echo, path)
        assert os.path.exists(path)
        await unix_roundtrip(path)
        server.close()
        await server.wait_closed()
        return os.path.exists(path)

    return run(loop_factory, main())


def test_unix_roundtrip_and_cleanup(loop_factory, short_tmp):
    path = os.path.join(short_tmp, "s.sock")
    left = socket_file_left_after_close(loop_factory, path)
    # Reference behaviour: asyncio removes the file on close from 3.13
    # (cleanup_socket=True); older versions leave it behind.
    assert left == (sys.version_info < (3, 13))
    if not is_reference(loop_factory):
        ref_path = os.path.join(short_tmp, "ref.sock")
        assert left == socket_file_left_after_close(REFERENCE, ref_path)


def test_unix_server_replaces_stale_socket_file(loop_factory, short_tmp):
    path = os.path.join(short_tmp, "stale.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()  # leaves a socket file nobody listens on

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_unix_server(Echo, path)
        await unix_roundtrip(path)
        server.close()
        await server.wait_closed()

    run(loop_factory, main())


def test_unix_server_refuses_regular_file(loop_factory, short_tmp):
    path = os.path.join(short_tmp, "regular")
    with open(path, "w") as f:
        f.write("not a socket")

    async def main():
        with pytest.raises(OSError):
            await asyncio.get_running_loop().create_unix_server(Echo, path)

    run(loop_factory, main())
    assert os.path.isfile(path)


@pytest.mark.skipif(sys.version_info < (3, 13), reason="cleanup_socket is 3.13+")
def test_unix_server_cleanup_socket_false(loop_factory, short_tmp):
    path = os.path.join(short_tmp, "keep.sock")

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_unix_server(Echo, path, cleanup_socket=False)
        server.close()
        await server.wait_closed()

    run(loop_factory, main())
    assert os.path.exists(path)


def test_unix_connection_eof_and_server_side_info(loop_factory, short_tmp):
    path = os.path.join(short_tmp, "eof.sock")

    async def main():
        loop = asyncio.get_running_loop()
        factory = ServerProtocols()
        server = await loop.create_unix_server(factory, path)
        tr, client = await loop.create_unix_connection(Recorder, path)
        sproto = await factory.get()
        assert sproto.transport.get_extra_info("sockname") == path
        assert tr.can_write_eof()
        tr.write(b"bye")
        tr.write_eof()
        await sproto.eof
        assert bytes(sproto.data) == b"bye"
        assert await client.lost is None
        server.close()
        await server.wait_closed()

    run(loop_factory, main())


def test_unix_connection_with_sock(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        a, b = socket.socketpair()
        tr, proto = await loop.create_unix_connection(Recorder, sock=a)
        b.sendall(b"from b")
        assert await proto.wait_bytes(6) == b"from b"
        b.close()
        await proto.eof
        assert await proto.lost is None

    run(loop_factory, main())


def test_unix_connection_missing_path(loop_factory, short_tmp):
    path = os.path.join(short_tmp, "missing.sock")

    async def main():
        with pytest.raises(FileNotFoundError):
            await asyncio.get_running_loop().create_unix_connection(Recorder, path)

    run(loop_factory, main())
