"""Fixtures for the async files tests.

``arun`` runs a coroutine function under every combination of event loop (stock
asyncio, uvloop when installed, vif's pure-Python and compiled loops) and files
backend (threads; io_uring when the kernel allows it, otherwise that variant is
skipped with the reason), bounded by a timeout.  Helpers compare with the
sync calls.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import vif
from vif.files import _backend

TIMEOUT = 60.0


def _loops() -> list[Any]:
    params = [pytest.param(asyncio.SelectorEventLoop, id="asyncio")]
    try:
        import uvloop
    except ImportError:
        pass
    else:
        params.append(pytest.param(uvloop.new_event_loop, id="uvloop"))
    params.append(pytest.param(vif.PyEventLoop, id="vif-python"))
    if vif.CEventLoop is not None:
        params.append(pytest.param(vif.CEventLoop, id="vif-compiled"))
    return params


def uring_unavailable_reason() -> str | None:
    """None if io_uring works here, else why not (for skip messages)."""
    from vif.files import _uring

    if not _uring.arch_supported():
        return "io_uring backend is enabled on x86_64 only"
    try:
        ring = _uring.Ring(8, files=8)
    except OSError as exc:
        return f"io_uring_setup refused by the kernel: {exc}"
    ring.close()
    if not _backend._probe_uring():
        return "io_uring lacks an opcode vif needs (openat/read/write/close/async_cancel)"
    return None


URING_SKIP = uring_unavailable_reason()
BACKENDS = [
    pytest.param("threads", id="threads"),
    pytest.param("io_uring", id="io_uring",
                 marks=pytest.mark.skipif(URING_SKIP is not None, reason=str(URING_SKIP))),
]


@pytest.fixture(params=_loops())
def files_loop(request: pytest.FixtureRequest) -> Callable[[], asyncio.AbstractEventLoop]:
    return request.param


@pytest.fixture(params=BACKENDS)
def files_backend(request: pytest.FixtureRequest) -> Any:
    _backend.set_backend(request.param)
    yield request.param
    _backend.set_backend(None)


@pytest.fixture
def arun(files_loop: Any, files_backend: str) -> Callable[..., Any]:
    """``arun(coro_fn, *args)``: run ``coro_fn(*args)`` on a fresh loop, with a timeout."""

    def run(fn: Callable[..., Awaitable[Any]], *args: Any, timeout: float = TIMEOUT) -> Any:
        async def main() -> Any:
            async with asyncio.timeout(timeout):
                result = await fn(*args)
            be = _backend.for_loop()
            assert be.name == files_backend
            return result

        with asyncio.Runner(loop_factory=files_loop) as runner:
            return runner.run(main())

    return run


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def open_fds() -> dict[int, str]:
    """This process's descriptors and what they point to."""
    out = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            out[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            pass  # the listing's own descriptor
    return out


def sync_outcome(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[str, Any]:
    """``("ok", result)`` or ``("error", (type, errno, filename, filename2))`` of a sync call."""
    try:
        return "ok", fn(*args, **kwargs)
    except Exception as exc:
        return "error", _describe(exc)


async def async_outcome(aw: Awaitable[Any]) -> tuple[str, Any]:
    try:
        return "ok", await aw
    except Exception as exc:
        return "error", _describe(exc)


def _describe(exc: BaseException) -> tuple[Any, ...]:
    if isinstance(exc, OSError):
        return type(exc), exc.errno, exc.filename, exc.filename2, str(exc)
    return type(exc), str(exc)
