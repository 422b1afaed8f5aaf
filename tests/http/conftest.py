"""Fixtures for the vif.http tests: the loop factories, ``runner`` and uvicorn.

``loop_factory`` is parametrized over stock asyncio, each vif loop and uvloop
(when installed); ``runner``
runs a test body on it and checks that no file descriptor leaked; ``uvicorn_url``
serves ``http_asgi_app:app`` with uvicorn in a subprocess. Plain helpers live in
``http_support.py``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable

import pytest
from http_support import free_port as _free_port
from http_support import open_fd_count as _open_fd_count
from http_support import run as _run

import vif

HERE = os.path.dirname(os.path.abspath(__file__))


def _loop_params():
    params = [
        pytest.param(asyncio.SelectorEventLoop, id="asyncio"),
        pytest.param(vif.PyEventLoop, id="vif-python"),
    ]
    if vif.CEventLoop is not None:
        params.append(pytest.param(vif.CEventLoop, id="vif-compiled"))
    try:  # the client only uses public loop APIs: it must work on uvloop too
        import uvloop
    except ImportError:
        pass
    else:
        params.append(pytest.param(uvloop.new_event_loop, id="uvloop"))
    return params


@pytest.fixture(params=_loop_params())
def loop_factory(request):
    return request.param


@pytest.fixture
def runner(loop_factory):
    """``runner(coro_fn)`` runs ``coro_fn()`` on the parametrized loop and checks fds."""

    def go(fn: Callable[[], Awaitable], timeout: float = 30):
        async def body():
            # Loops may keep fds of their own opened on first use (libuv reserves one
            # on its first listening socket): make those exist before counting.
            loop = asyncio.get_running_loop()
            await loop.getaddrinfo("127.0.0.1", 80)
            server = await loop.create_server(asyncio.Protocol, "127.0.0.1", 0)
            server.close()
            await server.wait_closed()
            before = _open_fd_count()
            result = await fn()
            # Everything a test opened must be closed once its session is closed.
            for _ in range(20):  # transports close on the next loop iterations
                if _open_fd_count() <= before:
                    break
                await asyncio.sleep(0)
            after = _open_fd_count()
            assert after <= before, f"fd leak: {before} -> {after}"
            return result

        return _run(loop_factory, body(), timeout)

    return go


@pytest.fixture(scope="session")
def uvicorn_url():
    """uvicorn serving ``asgi_app:app`` in a subprocess; yields its base URL."""
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "http_asgi_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "info",
            "--no-access-log",
        ],
        env=env,
        cwd=HERE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # Wait for uvicorn's own "startup complete" line rather than polling the port.
    lines = []
    for raw in proc.stderr:
        line = raw.decode(errors="replace")
        lines.append(line)
        if "Uvicorn running on" in line:
            break
    else:
        proc.kill()
        proc.wait()
        pytest.fail("uvicorn did not start: " + "".join(lines))
    # Keep draining its stderr so that it can never block on a full pipe.
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stderr:
        proc.stderr.close()
