"""``resp.content``: the buffered, flow-controlled body stream of a response.

The connection's protocol feeds it (``feed_data``, ``feed_eof``,
``set_exception``); the user reads it (``read``, ``readany``, ``readexactly``,
``readline``, ``iter_chunked``, ``iter_any``, ``async for line``). Waits are
bounded by the response's read time-outs through the protocol's timer.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

DEFAULT_LIMIT = 2**16


class StreamReader:
    """The body of a response as an asynchronous byte stream."""

    __slots__ = (
        "_protocol",
        "_loop",
        "_limit",
        "_buffer",
        "_size",
        "_eof",
        "_exception",
        "_waiter",
        "_total_bytes",
        "_paused",
    )

    def __init__(self, protocol: Any, limit: int = DEFAULT_LIMIT, *, loop: Any = None) -> None:
        self._protocol = protocol
        self._loop = loop
        self._limit = limit
        self._buffer: deque[bytes] = deque()
        self._size = 0
        self._eof = False
        self._exception: BaseException | None = None
        self._waiter: asyncio.Future | None = None
        self._total_bytes = 0
        self._paused = False

    def __repr__(self) -> str:
        state = " eof" if self._eof else ""
        return f"<StreamReader {self._size} bytes{state}>"

    # --- producer side ------------------------------------------------------------------
    def feed_data(self, data: bytes) -> None:
        if not data:
            return
        self._buffer.append(data)
        self._size += len(data)
        self._total_bytes += len(data)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)
        if self._size > 2 * self._limit and not self._paused and self._protocol is not None:
            self._paused = True
            self._protocol.pause_reading()

    def feed_eof(self) -> None:
        self._eof = True
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def set_exception(self, exc: BaseException) -> None:
        self._exception = exc
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_exception(exc)

    # --- state --------------------------------------------------------------------------
    def exception(self) -> BaseException | None:
        return self._exception

    def is_eof(self) -> bool:
        return self._eof

    def at_eof(self) -> bool:
        return self._eof and not self._buffer

    @property
    def total_bytes(self) -> int:
        return self._total_bytes

    # --- consumer side ------------------------------------------------------------------
    async def _wait(self) -> None:
        if self._waiter is not None:
            raise RuntimeError("another coroutine is already waiting for this stream")
        loop = self._loop or asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        protocol = self._protocol
        if protocol is not None:
            protocol.arm_read_timer(waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            if protocol is not None:
                protocol.disarm_read_timer()

    def _consumed(self) -> None:
        if self._paused and self._size <= self._limit:
            self._paused = False
            if self._protocol is not None:
                self._protocol.resume_reading()

    def _take(self, n: int) -> bytes:
        """Up to ``n`` bytes (all if n < 0) from the buffer, which is not empty."""
        buf = self._buffer
        if n < 0 or n >= self._size:
            data = buf.popleft() if len(buf) == 1 else b"".join(buf)
            buf.clear()
            self._size = 0
        else:
            first = buf[0]
            if len(first) <= n:
                data = buf.popleft()
            else:
                data = first[:n]
                buf[0] = first[n:]
            self._size -= len(data)
        self._consumed()
        return data

    async def read(self, n: int = -1) -> bytes:
        """``n`` < 0: the rest of the body; otherwise up to ``n`` bytes (b"" at the end)."""
        if self._exception is not None:
            raise self._exception
        if n == 0:
            return b""
        if n < 0:
            if self._eof:
                return self._take(-1) if self._buffer else b""
            parts = []
            while True:
                if self._buffer:
                    parts.append(self._take(-1))  # consuming lets a paused transport resume
                if self._eof:
                    break
                await self._wait()
                if self._exception is not None:
                    raise self._exception
            return parts[0] if len(parts) == 1 else b"".join(parts)
        while not self._buffer and not self._eof:
            await self._wait()
        if not self._buffer:
            return b""
        return self._take(n)

    async def readany(self) -> bytes:
        """Whatever is buffered (waiting for some if nothing is); b"" at the end."""
        if self._exception is not None:
            raise self._exception
        while not self._buffer and not self._eof:
            await self._wait()
        if not self._buffer:
            return b""
        return self._take(-1)

    async def readchunk(self) -> tuple[bytes, bool]:
        data = await self.readany()
        return data, False

    async def readexactly(self, n: int) -> bytes:
        if self._exception is not None:
            raise self._exception
        parts = []
        need = n
        while need > 0:
            while not self._buffer and not self._eof:
                await self._wait()
            if not self._buffer:
                partial = b"".join(parts)
                raise asyncio.IncompleteReadError(partial, n)
            chunk = self._take(need)
            parts.append(chunk)
            need -= len(chunk)
        return b"".join(parts)

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        if self._exception is not None:
            raise self._exception
        seplen = len(separator)
        collected = bytearray()
        while True:
            while not self._buffer and not self._eof:
                await self._wait()
            if not self._buffer:
                return bytes(collected)
            chunk = self._buffer[0]
            start = max(0, len(collected) - seplen + 1)
            collected += chunk
            idx = collected.find(separator, start)
            if idx >= 0:
                end = idx + seplen
                extra = len(collected) - end
                self._buffer.popleft()
                self._size -= len(chunk)
                if extra:
                    self._buffer.appendleft(chunk[len(chunk) - extra :])
                    self._size += extra
                self._consumed()
                return bytes(collected[:end])
            self._buffer.popleft()
            self._size -= len(chunk)
            self._consumed()

    async def readline(self) -> bytes:
        return await self.readuntil(b"\n")

    async def iter_chunked(self, n: int) -> AsyncIterator[bytes]:
        while True:
            data = await self.read(n)
            if not data:
                return
            yield data

    async def iter_any(self) -> AsyncIterator[bytes]:
        while True:
            data = await self.readany()
            if not data:
                return
            yield data

    async def iter_chunks(self) -> AsyncIterator[tuple[bytes, bool]]:
        while True:
            data = await self.readany()
            if not data:
                return
            yield data, False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._lines()

    async def _lines(self) -> AsyncIterator[bytes]:
        while True:
            line = await self.readline()
            if not line:
                return
            yield line

    def unread_data(self, data: bytes) -> None:
        if data:
            self._buffer.appendleft(data)
            self._size += len(data)


class EmptyStreamReader(StreamReader):
    """The body of a response that has none (HEAD, 204, 304)."""

    def __init__(self) -> None:
        super().__init__(None)
        self._eof = True


__all__ = ["EmptyStreamReader", "StreamReader"]
