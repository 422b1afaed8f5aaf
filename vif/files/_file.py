"""The async file objects returned by :func:`vif.open` (aiofiles' method names).

Owns :class:`AsyncBufferedIOBase` (binary), :class:`AsyncTextIOWrapper` (text) and
:class:`AsyncFileIO` (``buffering=0``).  Each wraps a stdlib file object, so
decoding, newline translation, buffering and error messages are exactly the
builtin ``open()``'s; every blocking call is one hop to the files pool.  On the
io_uring backend the file's descriptor is opened and closed by the ring, and
whole reads and binary writes on a regular file whose stdlib buffer is empty go
through the ring too.  ``async for`` on a regular file reads raw chunks (the ring,
or a ``pread`` hop on the threads backend) and splits them on the loop thread
(:mod:`vif.files._lines`); other files, codecs and newline modes fetch a chunk of
lines per hop with the stdlib's ``readlines(hint)``.  Lines fetched but not yet
consumed stay with the file, so every other method sees them first.
"""

from __future__ import annotations

import codecs
import io
import os
import warnings
from collections.abc import AsyncIterator, Iterable
from typing import Any

from . import _lines, _pool

LINES_HINT = 256 * 1024  # bytes of lines fetched per hop by ``async for`` (stdlib split)
LINES_CHUNK = 256 * 1024  # raw bytes read per fetch when the lines are split here
_run = _pool.run

_LineIter: Any = None  # the compiled ``async for`` iterator (vif.files._clines), if built
if not os.environ.get("VIF_NO_EXTENSIONS"):
    try:
        from ._clines import LineIter as _LineIter
    except ImportError:  # not compiled: the pure-Python generator below serves
        pass


def _closed() -> ValueError:
    return ValueError("I/O operation on closed file.")


def _drop_read_buffer(f: Any, pos: int) -> None:
    """Leave a buffered binary reader at ``pos`` with an empty read-ahead buffer."""
    f.seek(0, os.SEEK_END)
    f.seek(pos)


class AsyncBase:
    """What every async file has: the wrapped object, pending lines, ring ownership."""

    def __init__(self, f: Any, name: Any = None, ring: Any = None, fd: int = -1) -> None:
        self._file = f
        self._name = name
        self._ring = ring  # the RingBackend that opened ``fd`` (and will close it), or None
        self._fd = fd
        self._dirty = False  # the stdlib object may hold a read-ahead or write buffer
        self._it: Any = None  # iterator over lines fetched by ``async for``, not yet consumed
        binary = type(f) is not io.TextIOWrapper and (
            type(f) is io.BufferedReader or not isinstance(f, io.TextIOBase))
        self._tail: Any = b"" if binary else ""
        self._binary = binary
        self._fast: Any = None  # the RingBackend for reads/writes (regular files only)
        self._can_read = self._can_write = False

    # -- plain attributes -------------------------------------------------------------

    @property
    def name(self) -> Any:
        f = self.__dict__.get("_file")
        return self._name if f is None else f.name

    @property
    def mode(self) -> str:
        f = self.__dict__.get("_file")
        return "rb" if f is None else f.mode

    @property
    def closed(self) -> bool:
        f = self.__dict__.get("_file")
        return self._fd < 0 if f is None else f.closed

    # -- the stdlib object made on first use (see lazy_reader) ---------------------------

    def __getattr__(self, attr: str) -> Any:
        if attr == "_file" and "_lazy" in self.__dict__:
            return self._materialize()
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {attr!r}")

    def _materialize(self) -> Any:
        """The ``BufferedReader`` a lazy reader's methods need (made on the descriptor now:
        its position is the file's, and it has nothing cached yet)."""
        if self._fd < 0:
            f: Any = _ClosedReader(self._name)
        else:
            f = open(self._fd, "rb", self._lazy, closefd=False)
            f.raw.name = self._name
        self._file = f
        return f

    def fileno(self) -> int:
        return self._file.fileno()

    def readable(self) -> bool:
        return self._file.readable()

    def detach(self) -> Any:
        self._it = None
        return self._file.detach()

    def __repr__(self) -> str:
        f = self.__dict__.get("_file")
        if f is None:  # a lazy reader: say what the stdlib object would
            f = f"<_io.BufferedReader name={self._name!r}>"
        return f"<vif.files.{type(self).__name__} wrapping {f}>"

    # -- context manager and iteration --------------------------------------------------

    async def __aenter__(self) -> AsyncBase:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __aiter__(self) -> AsyncIterator[Any]:
        if _LineIter is not None:
            return _LineIter(self)
        return self._lines()

    async def __anext__(self) -> Any:
        line = await self.readline()
        if not line:
            raise StopAsyncIteration
        return line

    async def _lines(self) -> AsyncIterator[Any]:
        # Each _fetch_lines() gives a chunk of lines (split here from one raw read, or by
        # the stdlib's readlines() in one hop); they are then yielded from memory.
        # The compiled twin, vif.files._clines.LineIter, does the same.
        it = self._it
        while True:
            if it is not None:
                for line in it:
                    yield line
                if self._it is not it:  # another method took some pending lines: go on
                    it = self._it
                    continue
            lines = await self._fetch_lines()
            if not lines:
                self._it = None
                return
            it = self._it = iter(lines)

    async def _fetch_lines(self) -> list[Any]:
        """The next chunk of lines (one read or one hop), for ``async for``."""
        f = self._file
        if f.closed:
            raise _closed()
        sp = self._splitter
        if sp is None:  # first fetch: can the lines be split on this thread?
            sp = self._splitter = (
                self._regular and _lines.splitter_for(f, self._binary, _newline_of(f))) or False
        if sp is not False and not self._dirty:
            lines = await self._split_fetch(sp)
            if lines is not None:
                return lines
            self._splitter = False
        self._dirty = True
        return await _run(f.readlines, LINES_HINT)

    async def _split_fetch(self, sp: Any) -> list[Any] | None:
        """Read a raw chunk at the position and split it; None: the stdlib must split it.

        The stdlib object holds nothing buffered (not ``_dirty``), so the descriptor's
        position is the file's; it is left right after the lines returned.
        """
        self._size0 = -1
        buf = self._file if self._binary else self._file.buffer
        pos = buf.tell()  # also refreshes a buffered object's cached raw position
        ring = self._fast
        if ring is not None and not ring.closed:
            data = await ring.read(self._fd if self._fd >= 0 else buf.fileno(), LINES_CHUNK,
                                   pos)
        else:
            data = await _run(os.pread, buf.fileno(), LINES_CHUNK, pos)
        if not data:
            return []
        try:
            lines, used = sp.split(data, len(data) < LINES_CHUNK)
        except UnicodeError:
            return None  # the stdlib raises it, after the lines it can give (as sync)
        if lines is not None:
            buf.seek(pos + used)
        return lines

    # -- pending lines ----------------------------------------------------------------

    _last_partial = False
    _regular = False  # a regular file: ``async for`` may read raw chunks (see _lines)
    _size0 = -1  # bytes from the position to the end while the position is still the open's
    _splitter: Any = None  # its _lines splitter, False: stdlib readlines; None: not yet known

    def _take(self) -> list[Any]:
        """Remove and return the pending pieces (the last may be a partial line)."""
        it, self._it = self._it, None
        tail = self._tail
        self._tail = b"" if self._binary else ""
        rest = list(it) if it is not None else []
        self._last_partial = bool(tail)
        if tail:
            rest.append(tail)
        return rest

    def _give_back(self, parts: list[Any]) -> None:
        """Put back what :meth:`_take` returned and was not consumed."""
        if parts and self._last_partial:
            self._tail = parts.pop()
            self._it = iter(parts)
        elif parts:
            self._it = iter(parts)

    async def _complete_line(self, line: Any, size: int) -> Any:
        """``line`` was the partial tail: add the rest of the line from the file."""
        want = -1 if size < 0 else size - len(line)
        if want == 0:
            return line
        self._dirty = True
        return line + await _run(self._file.readline, want)

    def _unread_binary(self) -> None:
        """Move the file position back over pending lines (before a write, seek, truncate)."""
        rest = self._take()
        if rest:
            n = sum(map(len, rest))
            try:
                self._file.seek(-n, os.SEEK_CUR)
            except (OSError, ValueError):
                self._give_back(rest)
                raise

    def _from_pending(self, size: int) -> Any:
        """Up to ``size`` (>= 0) items from the pending lines, the rest kept."""
        parts = self._take()
        out = []
        n = 0
        while parts and n < size:
            p = parts.pop(0)
            if n + len(p) > size:
                cut = size - n
                parts.insert(0, p[cut:])
                p = p[:cut]
            out.append(p)
            n += len(p)
        self._give_back(parts)
        return (b"" if self._binary else "").join(out)

    # -- reading --------------------------------------------------------------------------

    async def read(self, size: int | None = -1) -> Any:
        if size is None:
            size = -1
        if "_file" not in self.__dict__:  # a lazy reader: the ring, no stdlib object
            if self._fd < 0:
                raise _closed()
            ring = self._fast
            if size < 0 and self._it is None and not ring.closed:
                data = await ring.readall(self._fd, self._name, self._size0)
                self._size0 = -1
                return data
        f = self._file
        if f.closed:
            raise _closed()
        if self._it is not None:
            if size < 0:
                head = (b"" if self._binary else "").join(self._take())
                return head + await self.read()
            got = self._from_pending(size)
            if len(got) >= size:
                return got
            return got + await self.read(size - len(got))
        ring = self._fast
        if ring is not None and not self._dirty and self._can_read and not ring.closed:
            if size < 0:
                data = await ring.readall(self._fd, self._name, self._size0)
                self._after_ring(decoded=not self._binary)
                return data if self._binary else self._decode_all(data)
            if self._binary and size > 0:
                data = await ring.read(self._fd, size)
                self._after_ring()
                return data
        self._dirty = True
        return await _run(f.read, size)

    async def readall(self) -> bytes:
        return await self.read(-1)

    async def read1(self, size: int = -1) -> bytes:
        f = self._file
        if f.closed:
            raise _closed()
        if self._it is not None:
            return self._from_pending(size if size >= 0 else 1 << 62)
        self._dirty = True
        return await _run(f.read1, size)

    async def readinto(self, b: Any) -> int:
        f = self._file
        if f.closed:
            raise _closed()
        if self._it is not None:
            view = memoryview(b).cast("B")
            got = self._from_pending(len(view))
            view[: len(got)] = got
            return len(got)
        self._dirty = True
        return await _run(f.readinto, b)

    async def readinto1(self, b: Any) -> int:
        return await self.readinto(b)

    async def readline(self, size: int | None = -1) -> Any:
        f = self._file
        if f.closed:
            raise _closed()
        if size is None:
            size = -1
        if self._it is not None:
            parts = self._take()
            partial = self._last_partial and len(parts) == 1
            line = parts.pop(0)
            if 0 <= size < len(line):
                parts.insert(0, line[size:])
                line = line[:size]
                self._give_back(parts)
                return line
            self._give_back(parts)
            if partial:
                return await self._complete_line(line, size)
            return line
        self._dirty = True
        return await _run(f.readline, size)

    async def readlines(self, hint: int | None = -1) -> list[Any]:
        f = self._file
        if f.closed:
            raise _closed()
        if hint is None:
            hint = -1
        head = self._take()
        if head and self._last_partial:
            head[-1] = await self._complete_line(head[-1], -1)
        if head:
            n = sum(map(len, head))
            if 0 < hint <= n:
                return head
            return head + await self.readlines(hint - n if hint > 0 else -1)
        self._dirty = True
        return await _run(f.readlines, hint)

    def _after_ring(self, decoded: bool = False) -> None:
        """Resynchronise the stdlib object with the descriptor after a ring read/write."""
        self._size0 = -1
        f = self._file
        if decoded:
            self._dirty = True  # a text file read through the ring: no more fast paths
            f = f.buffer
        if hasattr(f, "raw"):
            f.tell()  # refreshes the buffered object's cached raw position

    def _decode_all(self, data: bytes) -> str:
        raise NotImplementedError

    # -- writing ----------------------------------------------------------------------

    async def write(self, data: Any) -> int:
        f = self._file
        if f.closed:
            raise _closed()
        if self._it is not None:
            self._prepare_write()
        ring = self._fast
        if (ring is not None and self._binary and not self._dirty and self._can_write
                and not ring.closed and type(data) is bytes and data):
            n = await ring.write(self._fd, data)
            self._after_ring()
            return n
        self._dirty = True
        return await _run(f.write, data)

    def _prepare_write(self) -> None:
        if self._binary:
            self._unread_binary()
        else:
            self._take()

    async def writelines(self, lines: Iterable[Any]) -> None:
        f = self._file
        if f.closed:
            raise _closed()
        if self._it is not None:
            self._prepare_write()
        self._dirty = True
        await _run(f.writelines, lines)

    async def truncate(self, size: int | None = None) -> int:
        f = self._file
        if f.closed:
            raise _closed()
        if self._it is not None:
            self._prepare_write()
        self._dirty = True
        return await _run(f.truncate, size)

    async def flush(self) -> None:
        f = self._file
        if f.closed:
            raise _closed()
        await _run(f.flush)
        if not f.readable():
            self._dirty = False

    # -- positioning --------------------------------------------------------------------

    async def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        f = self._file
        if f.closed:
            raise _closed()
        self._size0 = -1
        if self._it is not None:
            if self._binary:
                if whence == os.SEEK_CUR:
                    offset -= sum(map(len, self._take()))
                else:
                    self._take()
            elif whence == os.SEEK_CUR:
                raise OSError("telling position disabled by next() call")
            else:
                self._take()
        if self._binary and isinstance(f, io.BufferedReader):
            # One hop: seek, then drop the read-ahead so the ring paths apply again.
            pos = await _run(_seek_clean, f, offset, whence)
            self._dirty = False
            return pos
        return await _run(f.seek, offset, whence)

    async def tell(self) -> int:
        f = self._file
        if f.closed:
            raise _closed()
        if self._it is not None:
            if not self._binary:
                raise OSError("telling position disabled by next() call")
            pending = sum(map(len, self._it_peek()))
            return f.tell() - pending
        return f.tell() if self._binary else await _run(f.tell)

    def _it_peek(self) -> list[Any]:
        rest = self._take()
        self._give_back(list(rest))
        return rest

    async def seekable(self) -> bool:
        return self._file.seekable()

    async def writable(self) -> bool:
        return self._file.writable()

    async def isatty(self) -> bool:
        return await _run(self._file.isatty)

    # -- closing ------------------------------------------------------------------------

    async def close(self) -> None:
        if "_file" not in self.__dict__:  # a lazy reader never materialized: read-only
            fd = self._fd
            if fd >= 0:
                self._fd = -1
                self._it = None
                ring = self._ring
                if ring.closed:
                    os.close(fd)
                else:
                    ring.close_soon(fd)
            return
        f = self._file
        if f.closed:
            return
        self._it = None
        ring, fd = self._ring, self._fd
        if ring is None:
            await _run(f.close, must_run=True)  # a cancelled close still closes
            return
        self._fd = -1
        try:
            if self._dirty and f.writable():
                await _run(f.flush)
        finally:
            try:
                f.close()  # closefd=False: flushes nothing more, releases the object
            finally:
                if ring.closed:
                    os.close(fd)
                elif self._can_write:
                    await ring.close_fd(fd)  # its errors (e.g. NFS write-back) surface
                else:
                    ring.close_soon(fd)  # read-only: submitted now, no completion awaited

    def __del__(self) -> None:
        fd = getattr(self, "_fd", -1)
        if fd >= 0 and self._ring is not None:
            self._fd = -1
            warnings.warn(f"unclosed file {self!r}", ResourceWarning, stacklevel=2)
            try:
                f = self.__dict__.get("_file")
                if f is not None:
                    f.close()
            except Exception:
                pass
            try:
                os.close(fd)
            except OSError:
                pass


def _seek_clean(f: Any, offset: int, whence: int) -> int:
    pos = f.seek(offset, whence)
    _drop_read_buffer(f, pos)
    return pos


class AsyncBufferedIOBase(AsyncBase):
    """A binary file opened with buffering (``rb``, ``wb``, ``ab``, ``r+b`` ...)."""

    @property
    def raw(self) -> Any:
        return self._file.raw

    async def peek(self, size: int = 0) -> bytes:
        f = self._file
        if f.closed:
            raise _closed()
        if self._it is not None:
            rest = self._it_peek()
            return b"".join(rest)
        self._dirty = True
        return await _run(f.peek, size)


class AsyncFileIO(AsyncBufferedIOBase):
    """A binary file opened with ``buffering=0``."""

    @property
    def raw(self) -> Any:
        return self._file


class AsyncTextIOWrapper(AsyncBase):
    """A text-mode file: the builtin's decoding and newline handling."""

    @property
    def buffer(self) -> Any:
        return self._file.buffer

    @property
    def encoding(self) -> str:
        return self._file.encoding

    @property
    def errors(self) -> str:
        return self._file.errors

    @property
    def line_buffering(self) -> bool:
        return self._file.line_buffering

    _seen_newlines: Any = None

    def _decode_all(self, data: bytes) -> str:
        f = self._file
        text, self._seen_newlines = decode_text(data, f.encoding, f.errors, _newline_of(f),
                                                with_newlines=True)
        return text

    @property
    def newlines(self) -> Any:
        sp = self._splitter
        return _merge_newlines(self._file.newlines, self._seen_newlines,
                               sp.nl.newlines if sp and sp.nl is not None else None)


_NEWLINE_ORDER = ("\r", "\n", "\r\n")  # the order IncrementalNewlineDecoder reports them in


def _merge_newlines(*seen: Any) -> Any:
    """The union of ``newlines`` values (None, a str or a tuple), as the stdlib spells it."""
    kinds: set[str] = set()
    for s in seen:
        if s is not None:
            kinds.update((s,) if isinstance(s, str) else s)
    out = tuple(k for k in _NEWLINE_ORDER if k in kinds)
    return None if not out else out[0] if len(out) == 1 else out


def _newline_of(f: Any) -> str | None:
    # TextIOWrapper does not expose ``newline``; the constructor arguments are kept by us.
    return getattr(f, "_vif_newline", None)


def decode_text(data: bytes, encoding: str, errors: str | None, newline: str | None,
                with_newlines: bool = False) -> Any:
    """Decode a whole file exactly as ``TextIOWrapper.read()`` does from the start.

    With ``with_newlines``, returns ``(text, newlines)`` (the wrapper's ``newlines``).
    """
    decoder = codecs.getincrementaldecoder(encoding)(errors or "strict")
    if newline is None or newline == "":
        decoder = io.IncrementalNewlineDecoder(decoder, translate=newline is None)
    text = decoder.decode(data, final=True)
    if with_newlines:
        return text, getattr(decoder, "newlines", None)
    return text


class _ClosedReader:
    """What a lazy reader closed before any use stands on: ``closed``, a name, a mode."""

    closed = True
    mode = "rb"

    def __init__(self, name: Any) -> None:
        self.name = name

    def __getattr__(self, attr: str) -> Any:
        raise _closed()


def lazy_reader(name: Any, ring: Any, fd: int, buffering: int, size: int) -> AsyncBase:
    """The async object of a regular file opened ``"rb"`` by the ring, without its stdlib
    ``BufferedReader``: made on first use (``_materialize``), which a whole ``read()``
    and ``close()`` never need."""
    obj = AsyncBufferedIOBase.__new__(AsyncBufferedIOBase)
    obj._lazy = buffering
    obj._name = name
    obj._ring = obj._fast = ring
    obj._fd = fd
    obj._dirty = False
    obj._it = None
    obj._tail = b""
    obj._binary = obj._regular = obj._can_read = True
    obj._can_write = False
    obj._size0 = size
    return obj


def wrap(f: Any, name: Any = None, ring: Any = None, fd: int = -1,
         newline: str | None = None, text: bool | None = None, inner: Any = None,
         regular: bool = False, size: int = -1) -> AsyncBase:
    """The async object for stdlib file ``f`` (ring/fd: the ring owns ``fd``).

    ``inner``: the real file when ``f`` is a wrapper (``NamedTemporaryFile``).
    ``size``: the bytes from ``fd``'s position to the end, if known (just opened).
    """
    kind = inner if inner is not None else f
    if type(kind) is io.BufferedReader and not text:  # the common case, no ABC checks
        cls: type[AsyncBase] = AsyncBufferedIOBase
    elif type(kind) is io.TextIOWrapper or isinstance(kind, io.TextIOBase) or text:
        try:
            f._vif_newline = newline
        except AttributeError:
            pass
        cls = AsyncTextIOWrapper
    elif isinstance(kind, io.RawIOBase):
        cls = AsyncFileIO
    else:
        cls = AsyncBufferedIOBase
    if ring is not None:
        obj = cls(f, name, ring, fd)
        obj._fast = ring if regular else None  # no ring reads/writes on ttys, devices
        obj._can_read, obj._can_write = f.readable(), f.writable()
        obj._regular = regular
        obj._size0 = size
        return obj
    obj = cls(f, name)
    obj._binary = cls is not AsyncTextIOWrapper
    obj._regular = regular
    return obj
