"""Pipe transports: connect_read_pipe / connect_write_pipe over os.pipe, a FIFO and
a pty; regular files rejected; a vanished reader; pause/resume reading; write
flow control against a peer that does not read."""

from __future__ import annotations

import asyncio
import errno
import os
import tty

import pytest
from vif_testing import REFERENCE, open_fd_count, run


class PipeRecorder(asyncio.Protocol):
    """Records the callbacks of a pipe protocol; futures resolve on the key events."""

    def __init__(self):
        loop = asyncio.get_running_loop()
        self.transport = None
        self.data = bytearray()
        self.events: list[str] = []
        self.made = loop.create_future()
        self.eof = loop.create_future()
        self.lost = loop.create_future()
        self.paused = loop.create_future()
        self.resumed = loop.create_future()
        self.buffer_at_pause = None
        self.buffer_at_resume = None
        self._waiters: list[tuple[int, asyncio.Future]] = []

    def connection_made(self, transport):
        self.transport = transport
        self.events.append("made")
        self.made.set_result(transport)

    def data_received(self, data):
        if not self.events or self.events[-1] != "data":
            self.events.append("data")
        self.data += data
        for n, fut in list(self._waiters):
            if len(self.data) >= n and not fut.done():
                fut.set_result(bytes(self.data))

    def eof_received(self):
        self.events.append("eof")
        self.eof.set_result(None)

    def connection_lost(self, exc):
        self.events.append("lost")
        self.lost.set_result(exc)

    def pause_writing(self):
        self.events.append("pause_writing")
        self.buffer_at_pause = self.transport.get_write_buffer_size()
        if not self.paused.done():
            self.paused.set_result(None)

    def resume_writing(self):
        self.events.append("resume_writing")
        self.buffer_at_resume = self.transport.get_write_buffer_size()
        if not self.resumed.done():
            self.resumed.set_result(None)

    def wait_bytes(self, n: int) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        if len(self.data) >= n:
            fut.set_result(bytes(self.data))
        else:
            self._waiters.append((n, fut))
        return fut


def record_exceptions(loop) -> list[str]:
    messages: list[str] = []
    loop.set_exception_handler(lambda _loop, context: messages.append(context["message"]))
    return messages


async def loop_lives_on() -> None:
    """A callback scheduled now still runs: the loop survived."""
    fut = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_soon(fut.set_result, "ran")
    assert await fut == "ran"


async def poll_round() -> None:
    """Let the loop poll for I/O at least once: an unrelated pipe delivers data."""
    loop = asyncio.get_running_loop()
    r, w = os.pipe()
    tr, proto = await loop.connect_read_pipe(PipeRecorder, os.fdopen(r, "rb", buffering=0))
    os.write(w, b"!")
    await proto.wait_bytes(1)
    os.close(w)
    await proto.lost


async def transfer(loop, read_file, write_file, payload: bytes):
    """Write ``payload`` through connect_write_pipe, read it through connect_read_pipe,
    close the writer; returns (reader protocol, writer protocol)."""
    rtr, reader = await loop.connect_read_pipe(PipeRecorder, read_file)
    wtr, writer = await loop.connect_write_pipe(PipeRecorder, write_file)
    assert rtr.get_extra_info("pipe") is read_file
    assert wtr.get_extra_info("pipe") is write_file
    assert rtr.is_reading()
    assert wtr.can_write_eof()
    wtr.write(payload[:1])
    wtr.write(bytearray(payload[1:100]))
    wtr.write(memoryview(payload)[100:])
    assert await reader.wait_bytes(len(payload)) == payload
    wtr.close()
    assert wtr.is_closing()
    assert await writer.lost is None
    return reader, writer


def test_os_pipe(loop_factory):
    payload = os.urandom(1_000_000)

    async def main():
        loop = asyncio.get_running_loop()
        start = open_fd_count()
        r, w = os.pipe()
        reader, writer = await transfer(
            loop, os.fdopen(r, "rb", buffering=0), os.fdopen(w, "wb", buffering=0), payload
        )
        assert await reader.lost is None
        assert reader.events == ["made", "data", "eof", "lost"]
        assert writer.events in (
            ["made", "lost"],
            ["made", "pause_writing", "resume_writing", "lost"],
        )
        assert open_fd_count() == start

    run(loop_factory, main())


def test_read_pipe_eof_when_writer_closes(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        r, w = os.pipe()
        tr, proto = await loop.connect_read_pipe(PipeRecorder, os.fdopen(r, "rb", buffering=0))
        os.write(w, b"abc")
        assert await proto.wait_bytes(3) == b"abc"
        os.close(w)
        await proto.eof
        assert await proto.lost is None
        assert proto.events == ["made", "data", "eof", "lost"]
        assert tr.is_closing()

    run(loop_factory, main())


def test_fifo(loop_factory, tmp_path):
    path = tmp_path / "fifo"
    os.mkfifo(path)
    payload = os.urandom(500_000)

    async def main():
        loop = asyncio.get_running_loop()
        start = open_fd_count()
        rfd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        wfd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        reader, writer = await transfer(
            loop, open(rfd, "rb", buffering=0), open(wfd, "wb", buffering=0), payload
        )
        assert await reader.lost is None
        assert reader.events == ["made", "data", "eof", "lost"]
        assert open_fd_count() == start

    run(loop_factory, main())


def test_pty(loop_factory):
    """Both directions through a pty in raw mode, then the slave side goes away."""
    payload = os.urandom(3000)

    async def scenario():
        loop = asyncio.get_running_loop()
        errors = record_exceptions(loop)
        start = open_fd_count()
        master, slave = os.openpty()
        tty.setraw(slave)
        master_file = open(master, "r+b", buffering=0)
        mtr, mproto = await loop.connect_read_pipe(PipeRecorder, master_file)
        wtr, wproto = await loop.connect_write_pipe(PipeRecorder, open(slave, "wb", buffering=0))
        wtr.write(payload)
        assert await mproto.wait_bytes(len(payload)) == payload
        # The other direction: master -> slave.
        master2 = os.dup(master)
        str_, sproto = await loop.connect_read_pipe(
            PipeRecorder, open(os.dup(slave), "rb", buffering=0)
        )
        m2tr, m2proto = await loop.connect_write_pipe(
            PipeRecorder, open(master2, "wb", buffering=0)
        )
        m2tr.write(b"to the slave")
        assert await sproto.wait_bytes(12) == b"to the slave"
        str_.close()
        await sproto.lost
        m2tr.close()
        await m2proto.lost
        # Closing the last slave fd: the master reads EIO (a hang-up), not data.
        wtr.close()
        await wproto.lost
        exc = await mproto.lost
        assert open_fd_count() == start
        return (
            mproto.events,
            type(exc),
            getattr(exc, "errno", None),
            sorted(set(errors)),
        )

    got = run(loop_factory, scenario())
    ref = run(REFERENCE, scenario())
    assert got == ref
    assert ref[2] in (None, errno.EIO)


@pytest.mark.parametrize("direction", ["read", "write"])
def test_regular_file_rejected(loop_factory, tmp_path, direction):
    path = tmp_path / "regular"
    path.write_bytes(b"not a pipe")

    async def scenario():
        loop = asyncio.get_running_loop()
        start = open_fd_count()
        with open(path, "rb" if direction == "read" else "wb", buffering=0) as f:
            connect = loop.connect_read_pipe if direction == "read" else loop.connect_write_pipe
            with pytest.raises(ValueError) as excinfo:
                await connect(PipeRecorder, f)
            still_open = not f.closed
        await loop_lives_on()
        assert open_fd_count() == start
        return type(excinfo.value), still_open

    got = run(loop_factory, scenario())
    assert got == run(REFERENCE, scenario())


@pytest.mark.parametrize("case", ["write-after-close", "buffered-data", "idle"])
def test_reader_gone(loop_factory, case):
    """The read end of the pipe closes under a write pipe transport.

    write-after-close: the reader goes, then write() is called at once;
    buffered-data: the reader goes while data waits in the transport's buffer;
    idle: the reader goes while nothing is being written.
    """

    async def scenario():
        loop = asyncio.get_running_loop()
        errors = record_exceptions(loop)
        start = open_fd_count()
        r, w = os.pipe()
        tr, proto = await loop.connect_write_pipe(PipeRecorder, os.fdopen(w, "wb", buffering=0))
        if case == "buffered-data":
            tr.write(b"x" * (1 << 20))  # far more than the pipe's capacity
            assert tr.get_write_buffer_size() > 0
            await poll_round()
            os.close(r)
        elif case == "write-after-close":
            os.close(r)
            tr.write(b"into the void")
        else:
            os.close(r)
        exc = await proto.lost
        assert tr.is_closing()
        tr.write(b"after the end")  # dropped silently, not an exception
        await loop_lives_on()
        assert open_fd_count() == start
        return proto.events, type(exc), sorted(set(errors))

    got = run(loop_factory, scenario())
    ref = run(REFERENCE, scenario())
    assert got == ref
    if case != "idle":
        assert ref[1] is BrokenPipeError


def test_pause_and_resume_reading(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        r, w = os.pipe()
        tr, proto = await loop.connect_read_pipe(PipeRecorder, os.fdopen(r, "rb", buffering=0))
        os.write(w, b"one")
        assert await proto.wait_bytes(3) == b"one"
        assert tr.is_reading()
        tr.pause_reading()
        assert not tr.is_reading()
        tr.pause_reading()  # idempotent
        os.write(w, b"two")
        await poll_round()
        await poll_round()
        assert bytes(proto.data) == b"one"
        tr.resume_reading()
        assert tr.is_reading()
        tr.resume_reading()  # idempotent
        assert await proto.wait_bytes(6) == b"onetwo"
        # Paused at EOF: nothing is reported until reading resumes.
        tr.pause_reading()
        os.close(w)
        await poll_round()
        assert proto.events == ["made", "data"]
        tr.resume_reading()
        await proto.eof
        assert await proto.lost is None

    run(loop_factory, main())


def test_pause_reading_in_connection_made(loop_factory):
    class PausedAtStart(PipeRecorder):
        def connection_made(self, transport):
            super().connection_made(transport)
            transport.pause_reading()

    async def main():
        loop = asyncio.get_running_loop()
        r, w = os.pipe()
        os.write(w, b"early")
        tr, proto = await loop.connect_read_pipe(PausedAtStart, os.fdopen(r, "rb", buffering=0))
        await poll_round()
        assert proto.data == b""
        assert not tr.is_reading()
        tr.resume_reading()
        assert await proto.wait_bytes(5) == b"early"
        os.close(w)
        await proto.lost

    run(loop_factory, main())


def test_write_flow_control(loop_factory):
    payload = os.urandom(2 * 1024 * 1024)

    async def main():
        loop = asyncio.get_running_loop()
        r, w = os.pipe()
        wtr, writer = await loop.connect_write_pipe(PipeRecorder, os.fdopen(w, "wb", buffering=0))
        assert wtr.get_write_buffer_limits() == (16 * 1024, 64 * 1024)
        wtr.set_write_buffer_limits(high=128 * 1024, low=32 * 1024)
        assert wtr.get_write_buffer_limits() == (32 * 1024, 128 * 1024)
        chunk = 64 * 1024
        offset = 0
        while not writer.paused.done() and offset < len(payload):
            wtr.write(payload[offset : offset + chunk])  # may call pause_writing
            offset += chunk
        assert writer.paused.done()
        assert writer.buffer_at_pause > 128 * 1024
        assert wtr.get_write_buffer_size() > 128 * 1024
        await poll_round()
        assert not writer.resumed.done()  # nobody reads: it stays paused
        # Now a reader drains the pipe.
        rtr, reader = await loop.connect_read_pipe(PipeRecorder, os.fdopen(r, "rb", buffering=0))
        await writer.resumed
        assert writer.buffer_at_resume <= 32 * 1024
        wtr.write(payload[offset:])
        assert await reader.wait_bytes(len(payload)) == payload
        assert wtr.get_write_buffer_size() == 0
        wtr.close()
        await writer.lost
        await reader.lost
        return writer.events

    events = run(loop_factory, main())
    assert events[:3] == ["made", "pause_writing", "resume_writing"]
    assert events[-1] == "lost"


def test_write_eof_flushes_buffer_first(loop_factory):
    payload = os.urandom(1 << 20)

    async def main():
        loop = asyncio.get_running_loop()
        r, w = os.pipe()
        wtr, writer = await loop.connect_write_pipe(PipeRecorder, os.fdopen(w, "wb", buffering=0))
        wtr.write(payload)
        assert wtr.get_write_buffer_size() > 0
        wtr.write_eof()
        assert wtr.is_closing()
        await poll_round()
        assert not writer.lost.done()  # still flushing
        rtr, reader = await loop.connect_read_pipe(PipeRecorder, os.fdopen(r, "rb", buffering=0))
        await reader.eof
        assert bytes(reader.data) == payload
        assert await writer.lost is None

    run(loop_factory, main())


def test_abort_drops_buffer(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        r, w = os.pipe()
        wtr, writer = await loop.connect_write_pipe(PipeRecorder, os.fdopen(w, "wb", buffering=0))
        wtr.write(b"y" * (1 << 20))
        wtr.abort()
        assert await writer.lost is None
        rtr, reader = await loop.connect_read_pipe(PipeRecorder, os.fdopen(r, "rb", buffering=0))
        await reader.eof
        assert len(reader.data) < 1 << 20  # only what the pipe had taken
        await reader.lost

    run(loop_factory, main())


def test_write_pipe_to_dev_null(loop_factory):
    """A character device that is always writable: nothing is ever buffered."""

    async def main():
        loop = asyncio.get_running_loop()
        start = open_fd_count()
        tr, proto = await loop.connect_write_pipe(PipeRecorder, open(os.devnull, "wb"))
        for _ in range(160):
            tr.write(b"\0" * 65536)
            assert tr.get_write_buffer_size() == 0
        tr.close()
        assert await proto.lost is None
        assert proto.events == ["made", "lost"]
        assert open_fd_count() == start

    run(loop_factory, main())


def test_pipe_transports_over_a_socketpair(loop_factory):
    import socket

    async def main():
        loop = asyncio.get_running_loop()
        a, b = socket.socketpair()
        rtr, reader = await loop.connect_read_pipe(PipeRecorder, a.makefile("rb", buffering=0))
        wtr, writer = await loop.connect_write_pipe(PipeRecorder, b.makefile("wb", buffering=0))
        wtr.write(b"over a socket")
        assert await reader.wait_bytes(13) == b"over a socket"
        wtr.close()
        await writer.lost
        b.close()
        await reader.eof
        assert await reader.lost is None
        a.close()

    run(loop_factory, main())
