"""Request bodies (``data=``, ``json=``, ``FormData``) and ``BasicAuth``.

:func:`prepare_body` returns ``(body, content_type, stream)``: ``body`` is the
whole body as bytes when known up front (sent with Content-Length), ``stream``
an async iterable of bytes for a chunked upload.
"""

from __future__ import annotations

import base64
import io
import json as _json
import os
import stat
import uuid
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple
from urllib.parse import urlencode

from ._multidict import MultiDict


class BasicAuth(NamedTuple("BasicAuth", [("login", str), ("password", str), ("encoding", str)])):
    """HTTP Basic credentials (``auth=BasicAuth("user", "pass")``)."""

    def __new__(cls, login: str, password: str = "", encoding: str = "latin1") -> BasicAuth:
        if login is None:
            raise ValueError("None is not allowed as login value")
        if password is None:
            raise ValueError("None is not allowed as password value")
        if ":" in login:
            raise ValueError('A ":" is not allowed in login (RFC 7617)')
        return super().__new__(cls, login, password, encoding)

    @classmethod
    def decode(cls, auth_header: str, encoding: str = "latin1") -> BasicAuth:
        try:
            scheme, creds = auth_header.split(" ", 1)
        except ValueError:
            raise ValueError("Could not parse authorization header.") from None
        if scheme.lower() != "basic":
            raise ValueError(f"Unknown authorization method {scheme}")
        decoded = base64.b64decode(creds.encode("ascii"), validate=True).decode(encoding)
        login, _, password = decoded.partition(":")
        return cls(login, password, encoding)

    @classmethod
    def from_url(cls, url: Any, *, encoding: str = "latin1") -> BasicAuth | None:
        if url.user is None:
            return None
        return cls(url.user, url.password or "", encoding)

    def encode(self) -> str:
        creds = f"{self.login}:{self.password}".encode(self.encoding)
        return "Basic " + base64.b64encode(creds).decode(self.encoding)


def _quote_param(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class FormData:
    """Form fields: url-encoded, or multipart/form-data as soon as a field is a file."""

    def __init__(
        self,
        fields: Any = (),
        quote_fields: bool = True,
        charset: str | None = None,
        *,
        boundary: str | None = None,
        default_to_multipart: bool = False,
    ) -> None:
        self._fields: list[tuple[dict, dict, Any]] = []
        self._is_multipart = default_to_multipart
        self._quote_fields = quote_fields
        self._charset = charset
        self._boundary = boundary or uuid.uuid4().hex
        if isinstance(fields, Mapping):
            fields = list(fields.items())
        elif isinstance(fields, MultiDict):
            fields = fields.items()
        elif not isinstance(fields, list | tuple):
            fields = (fields,)
        self.add_fields(*fields)

    @property
    def is_multipart(self) -> bool:
        return self._is_multipart

    def add_field(
        self,
        name: str,
        value: Any,
        *,
        content_type: str | None = None,
        filename: str | None = None,
        content_transfer_encoding: str | None = None,
    ) -> None:
        if isinstance(value, io.IOBase) or isinstance(value, bytes | bytearray | memoryview):
            self._is_multipart = True
            if filename is None and isinstance(value, io.IOBase):
                name_attr = getattr(value, "name", None)
                if isinstance(name_attr, str):
                    filename = os.path.basename(name_attr)
        if content_type is not None or filename is not None or content_transfer_encoding:
            self._is_multipart = True
        type_options = {"name": name}
        if filename is not None:
            type_options["filename"] = filename
        headers = {}
        if content_type is not None:
            headers["Content-Type"] = content_type
        if content_transfer_encoding is not None:
            headers["Content-Transfer-Encoding"] = content_transfer_encoding
        self._fields.append((type_options, headers, value))

    def add_fields(self, *fields: Any) -> None:
        to_add = list(fields)
        while to_add:
            rec = to_add.pop(0)
            if isinstance(rec, io.IOBase):
                k = getattr(rec, "name", "unknown")
                self.add_field(os.path.basename(str(k)), rec)
            elif isinstance(rec, Mapping):
                to_add.extend(rec.items())
            elif isinstance(rec, list | tuple) and len(rec) == 2:
                k, fp = rec
                self.add_field(k, fp)
            else:
                raise TypeError(
                    f"Only io.IOBase, multidict and (name, file) pairs allowed, "
                    f"use .add_field() for passing more complex parameters, got {rec!r}"
                )

    @staticmethod
    def _to_bytes(value: Any, charset: str) -> bytes:
        if isinstance(value, bytes):
            return value
        if isinstance(value, bytearray | memoryview):
            return bytes(value)
        if isinstance(value, str):
            return value.encode(charset)
        if isinstance(value, io.IOBase) or hasattr(value, "read"):
            data = value.read()
            return data.encode(charset) if isinstance(data, str) else bytes(data)
        return str(value).encode(charset)

    def _gen_urlencoded(self) -> tuple[bytes, str]:
        charset = self._charset or "utf-8"
        pairs = []
        for opts, _, value in self._fields:
            if isinstance(value, int | float) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str):
                raise TypeError(
                    f"expected str for form field {opts['name']!r}, got {type(value).__name__}"
                )
            pairs.append((opts["name"], value))
        ct = "application/x-www-form-urlencoded"
        if charset != "utf-8":
            ct += f"; charset={charset}"
        return urlencode(pairs, doseq=True, encoding=charset).encode(), ct

    def _gen_multipart(self) -> tuple[bytes, str]:
        charset = self._charset or "utf-8"
        boundary = self._boundary
        out = []
        for opts, headers, value in self._fields:
            disp = "form-data"
            for k, v in opts.items():
                disp += f'; {k}="{_quote_param(v) if self._quote_fields else v}"'
            lines = [f"--{boundary}", f"Content-Disposition: {disp}"]
            if "Content-Type" not in headers:
                if isinstance(value, str):
                    headers = {**headers, "Content-Type": f"text/plain; charset={charset}"}
                else:
                    headers = {**headers, "Content-Type": "application/octet-stream"}
            for k, v in headers.items():
                lines.append(f"{k}: {v}")
            out.append(("\r\n".join(lines) + "\r\n\r\n").encode(charset))
            out.append(self._to_bytes(value, charset))
            out.append(b"\r\n")
        out.append(f"--{boundary}--\r\n".encode())
        return b"".join(out), f"multipart/form-data; boundary={boundary}"

    def __call__(self) -> tuple[bytes, str]:
        """The encoded body and its Content-Type."""
        if self._is_multipart:
            return self._gen_multipart()
        return self._gen_urlencoded()


def prepare_body(
    data: Any,
    json: Any,
    json_serialize: Callable[[Any], str] = _json.dumps,
) -> tuple[bytes | None, str | None, Any]:
    """``(body, content_type, stream)`` for the ``data=`` / ``json=`` arguments."""
    if json is not None:
        if data is not None:
            raise ValueError("data and json parameters can not be used at the same time")
        return json_serialize(json).encode("utf-8"), "application/json", None
    if data is None:
        return None, None, None
    if isinstance(data, bytes):
        return data, "application/octet-stream", None
    if isinstance(data, str):
        return data.encode("utf-8"), "text/plain; charset=utf-8", None
    if isinstance(data, bytearray | memoryview):
        return bytes(data), "application/octet-stream", None
    if isinstance(data, FormData):
        body, ct = data()
        return body, ct, None
    if isinstance(data, Mapping | MultiDict) or (isinstance(data, list | tuple)):
        form = FormData(data)
        body, ct = form()
        return body, ct, None
    if _is_real_file(data):
        return None, "application/octet-stream", FileStream(data)
    if isinstance(data, io.IOBase) or hasattr(data, "read") and not hasattr(data, "__aiter__"):
        raw = data.read()
        if isinstance(raw, str):
            return raw.encode("utf-8"), "text/plain; charset=utf-8", None
        return bytes(raw), "application/octet-stream", None
    if hasattr(data, "__aiter__"):
        return None, "application/octet-stream", data
    if isinstance(data, Iterable):
        return None, "application/octet-stream", _aiter_sync(data)
    raise TypeError(f"cannot send data of type {type(data).__name__}")


def _is_real_file(data: Any) -> bool:
    """A binary file on disk (streamed from a thread, with its size as Content-Length)."""
    if not isinstance(data, io.BufferedIOBase | io.RawIOBase):
        return False
    try:
        return stat.S_ISREG(os.fstat(data.fileno()).st_mode)
    except (OSError, ValueError, io.UnsupportedOperation):
        return False


class FileStream:
    """A binary file read in 64 KiB chunks in the default executor; ``size`` is what is left."""

    CHUNK = 2**16

    def __init__(self, f: Any) -> None:
        self._f = f
        self.size: int | None = None
        try:
            st = os.fstat(f.fileno())
            if stat.S_ISREG(st.st_mode):
                self.size = max(0, st.st_size - f.tell())
        except (OSError, ValueError, io.UnsupportedOperation):
            self.size = None

    async def __aiter__(self) -> Any:
        import asyncio

        loop = asyncio.get_running_loop()
        left = self.size
        while left is None or left > 0:
            n = self.CHUNK if left is None else min(self.CHUNK, left)
            chunk = await loop.run_in_executor(None, self._f.read, n)
            if not chunk:
                break
            if left is not None:
                left -= len(chunk)
            yield chunk


def compress_body(body: bytes | None, stream: Any, compress: Any) -> tuple[bytes | None, Any, str]:
    """``compress=True`` (deflate), ``"deflate"`` or ``"gzip"``: the encoded body or stream."""
    encoding = "deflate" if compress is True else str(compress).lower()
    if encoding not in ("deflate", "gzip"):
        raise ValueError(f"unsupported compress={compress!r}: use 'deflate' or 'gzip'")
    wbits = zlib.MAX_WBITS if encoding == "deflate" else 16 + zlib.MAX_WBITS
    if body is not None:
        obj = zlib.compressobj(wbits=wbits)
        return obj.compress(body) + obj.flush(), None, encoding
    return None, _compress_stream(stream, wbits), encoding


async def _compress_stream(stream: Any, wbits: int) -> Any:
    obj = zlib.compressobj(wbits=wbits)
    async for chunk in stream:
        if isinstance(chunk, str):
            chunk = chunk.encode("utf-8")
        data = obj.compress(chunk)
        if data:
            yield data
    yield obj.flush()


async def _aiter_sync(it: Iterable) -> Any:
    for chunk in it:
        yield chunk


__all__ = ["BasicAuth", "FormData", "compress_body", "prepare_body"]
