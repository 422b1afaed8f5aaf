"""Splitting raw file chunks into lines on the loop thread, exactly as stdlib iteration does.

Owns :func:`splitter_for`, which picks a :class:`TextSplitter` / :class:`BytesSplitter`
for a stdlib file object (or None when only the stdlib itself can split it), and
the splitters.  ``async for`` on a regular file reads raw chunks (io_uring, or one
``pread`` hop to the files pool) and splits them here, so no line object is made on
another thread (handing thousands of fresh objects across cores cost more than
making them).  A chunk is split up to its last ``b"\\n"`` only; the rest is read
again with the next chunk, so no decoder or newline state is carried between
chunks and the file position always sits right after the lines handed out.

Text is handled for the ASCII-compatible codecs whose ``b"\\n"`` byte is always the
``"\\n"`` character and that need no start-of-stream state (UTF-8, ASCII,
Latin-1), with the standard error handlers and the ``newline`` modes None, ``""``
and ``"\\n"``; anything else keeps the stdlib's ``readlines()`` in the pool.
"""

from __future__ import annotations

import codecs
import io
import os
from typing import Any

_ascii_lines: Any = None  # the compiled ASCII splitter (vif.files._clines), if built
if not os.environ.get("VIF_NO_EXTENSIONS"):
    try:
        from ._clines import ascii_lines as _ascii_lines
    except ImportError:
        pass

_CODECS = frozenset({"utf-8", "ascii", "iso8859-1"})
_ERRORS = frozenset({"strict", "replace", "ignore", "surrogateescape", "backslashreplace"})
# Line boundaries of str.splitlines() that TextIOWrapper does not split on.
_EXTRA_ASCII = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e")
_EXTRA_WIDE = ("\x85", "\u2028", "\u2029")


class BytesSplitter:
    """Binary files: lines end at ``b"\\n"`` only (as ``BufferedReader`` iteration)."""

    __slots__ = ()
    nl = None

    def split(self, data: bytes, final: bool) -> tuple[list[bytes] | None, int]:
        """The whole lines of ``data`` (all of it if ``final``) and the bytes they take.

        ``(None, 0)``: a full chunk without a line end (the caller falls back).
        """
        if final:
            return io.BytesIO(data).readlines(), len(data)
        end = data.rfind(b"\n") + 1
        if not end:
            return None, 0
        lines = io.BytesIO(data).readlines()
        if end < len(data):
            lines.pop()  # the partial last line: read again with the next chunk
        return lines, end


class TextSplitter:
    """Text files in an ASCII-compatible codec (see the module docstring)."""

    __slots__ = ("decode", "errors", "newline", "nl", "extra_ascii", "extra_wide")

    def __init__(self, decode: Any, errors: str, newline: str | None) -> None:
        self.decode = decode
        self.errors = errors
        self.newline = newline
        # Translates (newline=None) and records the kinds of line ends seen (``newlines``).
        self.nl = (io.IncrementalNewlineDecoder(None, translate=newline is None)
                   if newline is None or newline == "" else None)
        self.extra_ascii = _EXTRA_ASCII + (("\r",) if newline == "\n" else ())
        self.extra_wide = self.extra_ascii + _EXTRA_WIDE

    def split(self, data: bytes, final: bool) -> tuple[list[str] | None, int]:
        """As :meth:`BytesSplitter.split`; decoding errors propagate (nothing consumed)."""
        if (_ascii_lines is not None and data.isascii()
                and (self.newline == "\n" or b"\r" not in data)):
            # ASCII decodes alike in every codec here, and "\n" is the only boundary.
            end = len(data) if final else data.rfind(b"\n") + 1
            if not end:
                return None, 0
            nl = self.nl
            if nl is not None and (not final or b"\n" in data):
                nl.decode("\n", True)  # records the kind of line end seen
            return _ascii_lines(data, end), end
        if final:
            end = len(data)
            text = self.decode(data, self.errors)[0]
        else:
            end = data.rfind(b"\n") + 1
            if not end:
                return None, 0
            # A b"\n" byte is a whole character here, so the piece decodes alone.
            text = self.decode(memoryview(data)[:end] if end < len(data) else data,
                               self.errors)[0]
        nl = self.nl
        if nl is not None:
            text = nl.decode(text, True)  # ends with "\n" unless final: nothing pending
        for c in self.extra_ascii if text.isascii() else self.extra_wide:
            if c in text:
                return self._exact(text), end
        return text.splitlines(True), end

    def _exact(self, text: str) -> list[str]:
        """Split only where TextIOWrapper would (``text`` holds other boundaries)."""
        if self.newline == "":
            return io.StringIO(text, newline="").readlines()
        parts = text.split("\n")
        last = parts.pop()
        lines = [p + "\n" for p in parts]
        if last:
            lines.append(last)
        return lines


BYTES = BytesSplitter()


def splitter_for(f: Any, binary: bool, newline: str | None) -> Any:
    """The splitter for stdlib file ``f`` (opened on a regular file), or None."""
    if binary:
        if type(f) in (io.BufferedReader, io.BufferedRandom, io.FileIO) and f.readable():
            return BYTES
        return None
    if type(f) is not io.TextIOWrapper or not f.readable():
        return None
    if newline not in (None, "", "\n") or f.errors not in _ERRORS:
        return None
    if type(f.buffer) not in (io.BufferedReader, io.BufferedRandom):
        return None
    try:
        info = codecs.lookup(f.encoding)
    except LookupError:
        return None
    if info.name not in _CODECS:
        return None
    return TextSplitter(info.decode, f.errors, newline)
