"""Debug mode and diagnostics: slow callbacks, ResourceWarnings, unretrieved exceptions."""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import threading
import time

import pytest
from vif_testing import Recorder, run


def asyncio_messages(caplog, level=logging.WARNING):
    return [r.getMessage() for r in caplog.records if r.name == "asyncio" and r.levelno >= level]


def test_debug_flag(loop_factory):
    async def main():
        return asyncio.get_running_loop().get_debug()

    assert run(loop_factory, main(), debug=True) is True
    assert run(loop_factory, main(), debug=False) is False
    loop = loop_factory()
    try:
        loop.set_debug(True)
        assert loop.get_debug()
    finally:
        loop.close()


def test_slow_callback_warning(loop_factory, caplog):
    caplog.set_level(logging.WARNING, logger="asyncio")

    async def main():
        loop = asyncio.get_running_loop()
        loop.slow_callback_duration = 0.01
        done = loop.create_future()

        def slow():
            time.sleep(0.05)
            done.set_result(None)

        loop.call_soon(slow)
        await done

    run(loop_factory, main(), debug=True)
    slow = [m for m in asyncio_messages(caplog) if m.startswith("Executing")]
    assert slow, asyncio_messages(caplog)
    assert "took" in slow[0] and "seconds" in slow[0]


def test_no_slow_callback_warning_without_debug(loop_factory, caplog):
    caplog.set_level(logging.WARNING, logger="asyncio")

    async def main():
        loop = asyncio.get_running_loop()
        loop.slow_callback_duration = 0.01
        done = loop.create_future()
        loop.call_soon(lambda: (time.sleep(0.05), done.set_result(None)))
        await done

    run(loop_factory, main(), debug=False)
    assert not [m for m in asyncio_messages(caplog) if m.startswith("Executing")]


def test_unclosed_loop_resource_warning(loop_factory):
    loop = loop_factory()
    with pytest.warns(ResourceWarning, match="unclosed event loop"):
        del loop
        gc.collect()


def test_unclosed_transport_resource_warning(loop_factory):
    a, b = socket.socketpair()

    async def main():
        loop = asyncio.get_running_loop()
        await loop.create_connection(Recorder, sock=a)
        # The transport is dropped without close(); closing the loop releases it.

    try:
        with pytest.warns(ResourceWarning, match="unclosed transport"):
            run(loop_factory, main())
            gc.collect()
    finally:
        b.close()
    assert a.fileno() == -1  # the transport closed its socket


def test_future_exception_never_retrieved(loop_factory, caplog):
    caplog.set_level(logging.ERROR, logger="asyncio")

    async def main():
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        fut.set_exception(ValueError("lost"))
        del fut

        async def fail():
            raise KeyError("lost too")

        task = loop.create_task(fail())
        await asyncio.sleep(0)
        assert task.done()
        del task
        gc.collect()

    run(loop_factory, main())
    first_lines = [m.splitlines()[0] for m in asyncio_messages(caplog, logging.ERROR)]
    assert "Future exception was never retrieved" in first_lines
    assert "Task exception was never retrieved" in first_lines


def test_exception_handler_api(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        assert loop.get_exception_handler() is None
        seen = []

        def handler(lp, ctx):
            seen.append((lp, ctx))

        loop.set_exception_handler(handler)
        assert loop.get_exception_handler() is handler
        loop.call_exception_handler({"message": "custom"})
        assert seen == [(loop, {"message": "custom"})]
        with pytest.raises(TypeError):
            loop.set_exception_handler("not callable")
        loop.set_exception_handler(None)
        assert loop.get_exception_handler() is None

    run(loop_factory, main())


def test_default_exception_handler_logs(loop_factory, caplog):
    caplog.set_level(logging.ERROR, logger="asyncio")

    async def main():
        loop = asyncio.get_running_loop()
        loop.call_exception_handler({"message": "something odd", "exception": OSError("x")})

    run(loop_factory, main())
    assert any(m.startswith("something odd") for m in asyncio_messages(caplog, logging.ERROR))


def test_debug_detects_call_soon_from_other_thread(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        errors = []

        def other_thread():
            try:
                loop.call_soon(print)
            except RuntimeError as exc:
                errors.append(exc)

        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
        return errors

    errors = run(loop_factory, main(), debug=True)
    assert len(errors) == 1
    assert "thread" in str(errors[0])
