"""Signal handling: add_signal_handler / remove_signal_handler."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import pytest
from vif_testing import run


@pytest.fixture(autouse=True)
def restore_sigusr1():
    old = signal.getsignal(signal.SIGUSR1)
    yield
    signal.signal(signal.SIGUSR1, old)


def test_signal_handler_runs_in_loop(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        got = loop.create_future()

        def handler(*args):
            got.set_result((args, asyncio.get_running_loop()))

        loop.add_signal_handler(signal.SIGUSR1, handler, "a", 2)
        os.kill(os.getpid(), signal.SIGUSR1)
        args, running = await got
        assert args == ("a", 2)
        assert running is loop
        assert loop.remove_signal_handler(signal.SIGUSR1) is True
        assert loop.remove_signal_handler(signal.SIGUSR1) is False
        assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL

    run(loop_factory, main())


def test_signal_wakes_blocked_loop(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        got = loop.create_future()
        loop.add_signal_handler(signal.SIGUSR1, lambda: got.set_result(time.monotonic()))
        far = loop.call_later(3600, lambda: None)
        sent = []

        def kill_later():
            time.sleep(0.2)  # give the loop time to block in its poll
            sent.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGUSR1)

        thread = threading.Thread(target=kill_later)
        thread.start()
        woke = await got
        thread.join()
        far.cancel()
        loop.remove_signal_handler(signal.SIGUSR1)
        return woke - sent[0]

    assert run(loop_factory, main(), timeout=10) < 1.0


def test_signal_handler_replaced(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        got = loop.create_future()
        loop.add_signal_handler(signal.SIGUSR1, got.set_result, "first")
        loop.add_signal_handler(signal.SIGUSR1, got.set_result, "second")
        os.kill(os.getpid(), signal.SIGUSR1)
        assert await got == "second"
        loop.remove_signal_handler(signal.SIGUSR1)

    run(loop_factory, main())


def test_invalid_signals(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        with pytest.raises(ValueError):
            loop.add_signal_handler(10_000, print)
        with pytest.raises(ValueError):
            loop.remove_signal_handler(10_000)
        with pytest.raises(TypeError):
            loop.add_signal_handler("SIGUSR1", print)
        with pytest.raises(RuntimeError):
            loop.add_signal_handler(signal.SIGKILL, print)
        with pytest.raises(RuntimeError):
            loop.add_signal_handler(signal.SIGSTOP, print)
        assert loop.remove_signal_handler(signal.SIGKILL) is False

        async def coro_handler():
            pass

        with pytest.raises(TypeError):
            loop.add_signal_handler(signal.SIGUSR1, coro_handler)
        coro = coro_handler()
        try:
            with pytest.raises(TypeError):
                loop.add_signal_handler(signal.SIGUSR1, coro)
        finally:
            coro.close()
        assert loop.remove_signal_handler(signal.SIGUSR1) is False

    run(loop_factory, main())


def test_close_removes_signal_handlers(loop_factory):
    loop = loop_factory()
    try:
        loop.add_signal_handler(signal.SIGUSR1, print)
        assert signal.getsignal(signal.SIGUSR1) not in (signal.SIG_DFL, None)
    finally:
        loop.close()
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL


def test_sigint_restores_default_int_handler(loop_factory):
    old = signal.getsignal(signal.SIGINT)

    async def main():
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, print)
        assert loop.remove_signal_handler(signal.SIGINT) is True
        return signal.getsignal(signal.SIGINT)

    try:
        assert run(loop_factory, main()) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, old)
