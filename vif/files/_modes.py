"""``open()`` mode strings: the same validation as the builtin, and the ``os.open`` flags."""

from __future__ import annotations

import os
from typing import Any


def validate(file: Any, mode: str, buffering: int, encoding: str | None, errors: str | None,
             newline: str | None) -> None:
    """Raise what the builtin ``open()`` raises for these arguments, before any I/O."""
    if not isinstance(file, int):
        file = os.fspath(file)
    if not isinstance(file, (str, bytes, int)):
        raise TypeError(f"invalid file: {file!r}")
    if not isinstance(mode, str):
        raise TypeError(f"invalid mode: {mode!r}")
    if not isinstance(buffering, int):
        raise TypeError(f"invalid buffering: {buffering!r}")
    if encoding is not None and not isinstance(encoding, str):
        raise TypeError(f"invalid encoding: {encoding!r}")
    if errors is not None and not isinstance(errors, str):
        raise TypeError(f"invalid errors: {errors!r}")
    modes = set(mode)
    if modes - set("axrwb+t") or len(mode) > len(modes):
        raise ValueError(f"invalid mode: {mode!r}")
    creating, reading, writing, appending = "x" in modes, "r" in modes, "w" in modes, "a" in modes
    text, binary = "t" in modes, "b" in modes
    if text and binary:
        raise ValueError("can't have text and binary mode at once")
    if creating + reading + writing + appending > 1:
        raise ValueError("must have exactly one of create/read/write/append mode")
    if not (creating or reading or writing or appending):
        raise ValueError(
            "Must have exactly one of create/read/write/append mode and at most one plus")
    if binary and encoding is not None:
        raise ValueError("binary mode doesn't take an encoding argument")
    if binary and errors is not None:
        raise ValueError("binary mode doesn't take an errors argument")
    if binary and newline is not None:
        raise ValueError("binary mode doesn't take a newline argument")
    if not binary and buffering == 0:
        raise ValueError("can't have unbuffered text I/O")


_checked: dict[tuple, int] = {}  # (mode, buffering, encoding, errors, newline) -> flags


def check(file: Any, mode: str, buffering: int, encoding: str | None, errors: str | None,
          newline: str | None) -> int:
    """:func:`validate`, then the ``os.open`` flags; argument sets seen before skip the checks."""
    try:
        key = (mode, buffering, encoding, errors, newline)
        fl = _checked.get(key)
    except TypeError:  # unhashable: validate() says what is wrong
        key, fl = None, None
    # (Exact types: -1.0 == -1 in the key, but open() refuses a float buffering.)
    if (fl is not None and type(mode) is str and type(buffering) is int
            and isinstance(file, (str, bytes))):
        return fl
    validate(file, mode, buffering, encoding, errors, newline)
    fl = flags(mode)
    if key is not None and type(mode) is str and len(_checked) < 256:
        _checked[key] = fl
    return fl


def flags(mode: str) -> int:
    """``os.open`` flags for a validated mode string (O_CLOEXEC added by the caller)."""
    plus = "+" in mode
    if "r" in mode:
        f = os.O_RDWR if plus else os.O_RDONLY
    elif "w" in mode:
        f = (os.O_RDWR if plus else os.O_WRONLY) | os.O_CREAT | os.O_TRUNC
    elif "x" in mode:
        f = (os.O_RDWR if plus else os.O_WRONLY) | os.O_CREAT | os.O_EXCL
    else:
        f = (os.O_RDWR if plus else os.O_WRONLY) | os.O_CREAT | os.O_APPEND
    return f
