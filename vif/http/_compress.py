"""Content-Encoding decoders: gzip and deflate (zlib), br and zstd when available.

:func:`get_decoder` returns an object with ``decompress(data)`` and
``flush()``, or ``None`` for an identity or unknown encoding.
:data:`ACCEPT_ENCODING` is the Accept-Encoding value we can honour.
"""

from __future__ import annotations

import zlib
from typing import Any

from ._errors import ClientPayloadError

try:  # pragma: no cover - optional
    import brotli  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover
    try:
        import brotlicffi as brotli  # type: ignore[import-not-found,no-redef]
    except ImportError:
        brotli = None

try:  # pragma: no cover - optional (Python 3.14 has compression.zstd)
    from compression import zstd as _zstd  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover
    try:
        import zstandard as _zstandard  # type: ignore[import-not-found]
    except ImportError:
        _zstandard = None
    _zstd = None


class ZlibDecoder:
    """gzip or deflate; deflate accepts both the zlib wrapper and raw streams."""

    __slots__ = ("_obj", "_encoding", "_started")

    def __init__(self, encoding: str) -> None:
        self._encoding = encoding
        wbits = 16 + zlib.MAX_WBITS if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._obj = zlib.decompressobj(wbits=wbits)
        self._started = False

    def decompress(self, data: bytes) -> bytes:
        try:
            if not self._started and self._encoding == "deflate":
                self._started = True
                try:
                    return self._obj.decompress(data)
                except zlib.error:
                    self._obj = zlib.decompressobj(wbits=-zlib.MAX_WBITS)
            self._started = True
            return self._obj.decompress(data)
        except zlib.error as exc:
            raise ClientPayloadError(
                f"Can not decode content-encoding: {self._encoding}: {exc}"
            ) from None

    def flush(self) -> bytes:
        try:
            data = self._obj.flush()
        except zlib.error as exc:
            raise ClientPayloadError(
                f"Can not decode content-encoding: {self._encoding}: {exc}"
            ) from None
        if self._started and not self._obj.eof and self._encoding != "deflate":
            raise ClientPayloadError(
                f"Can not decode content-encoding: {self._encoding}: truncated"
            )
        return data


class _BrotliDecoder:
    __slots__ = ("_obj",)

    def __init__(self) -> None:
        self._obj = brotli.Decompressor()

    def decompress(self, data: bytes) -> bytes:
        try:
            if hasattr(self._obj, "decompress"):
                return self._obj.decompress(data)
            return self._obj.process(data)
        except Exception as exc:
            raise ClientPayloadError(f"Can not decode content-encoding: br: {exc}") from None

    def flush(self) -> bytes:
        if hasattr(self._obj, "flush"):
            return self._obj.flush()
        return b""


class _ZstdDecoder:
    __slots__ = ("_obj",)

    def __init__(self) -> None:
        if _zstd is not None:
            self._obj = _zstd.ZstdDecompressor()
        else:
            self._obj = _zstandard.ZstdDecompressor().decompressobj()

    def decompress(self, data: bytes) -> bytes:
        try:
            return self._obj.decompress(data)
        except Exception as exc:
            raise ClientPayloadError(f"Can not decode content-encoding: zstd: {exc}") from None

    def flush(self) -> bytes:
        return b""


def _encodings() -> str:
    names = ["gzip", "deflate"]
    if brotli is not None:
        names.append("br")
    if _zstd is not None or _zstandard is not None:
        names.append("zstd")
    return ", ".join(names)


ACCEPT_ENCODING = _encodings()


def get_decoder(encoding: str) -> Any:
    enc = encoding.strip().lower()
    if enc in ("gzip", "x-gzip", "deflate"):
        return ZlibDecoder(enc)
    if enc == "br" and brotli is not None:
        return _BrotliDecoder()
    if enc == "zstd" and (_zstd is not None or _zstandard is not None):
        return _ZstdDecoder()
    return None


__all__ = ["ACCEPT_ENCODING", "get_decoder"]
