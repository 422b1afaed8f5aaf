"""Public API: vif.run, new_event_loop, the policy, install() and implementation()."""

from __future__ import annotations

import asyncio
import sys

import pytest
from vif_testing import requires_vif, run, vif


def test_loop_is_abstract_event_loop(loop_factory):
    loop = loop_factory()
    try:
        assert isinstance(loop, asyncio.AbstractEventLoop)
        assert not loop.is_running()
        assert not loop.is_closed()
    finally:
        loop.close()
    assert loop.is_closed()


def test_runner_with_loop_factory(loop_factory):
    async def main():
        return asyncio.get_running_loop()

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        loop = runner.get_loop()
        assert runner.run(main()) is loop
        assert runner.run(main()) is loop  # the runner reuses its loop
    assert isinstance(loop, loop_factory)
    assert loop.is_closed()


def test_run_helper_times_out(loop_factory):
    # Sanity check for the conftest helper every other test relies on.
    with pytest.raises(TimeoutError):
        run(loop_factory, asyncio.sleep(3600), timeout=0.05)


@requires_vif
class TestVif:
    def test_classes(self):
        assert issubclass(vif.EventLoop, asyncio.AbstractEventLoop)
        assert issubclass(vif.PyEventLoop, asyncio.AbstractEventLoop)
        assert vif.CEventLoop is None or issubclass(vif.CEventLoop, asyncio.AbstractEventLoop)
        assert vif.EventLoop in (vif.PyEventLoop, vif.CEventLoop)

    def test_implementation(self):
        impl = vif.implementation()
        assert impl in ("python", "compiled")
        if impl == "python":
            assert vif.EventLoop is vif.PyEventLoop
        else:
            assert vif.CEventLoop is not None
            assert vif.EventLoop is vif.CEventLoop

    @pytest.mark.skipif(vif.CEventLoop is None, reason="the compiled loop is not built")
    def test_compiled_loop_parts(self):
        """The compiled loop takes the plain methods of sock_* and connection set-up
        from the compiled twins, and keeps the coroutines whose frames the tracer reads."""
        import inspect

        loop_class = vif.CEventLoop
        for name in ("_sock_connect", "_accept_connection", "_make_socket_transport",
                     "_plain_connect_is_ours", "_numeric_connect_info", "_retry_sock_op"):
            method = getattr(loop_class, name)
            assert type(method).__name__ == "cython_function_or_method", name
        for name in ("sock_recv", "sock_connect", "create_connection", "getaddrinfo"):
            method = getattr(loop_class, name)
            assert inspect.iscoroutinefunction(method), name
            assert method is getattr(vif.PyEventLoop, name), name
        # A twin's .pxd (stream.pxd, datagram.pxd) is found at build time: the
        # transports' receivers are extension types there (a Python class would
        # still work, slower).
        from vif._transports import _cdatagram, _cstream

        heap_type = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made by a class statement
        assert not _cstream.StreamReceiver.__flags__ & heap_type
        assert not _cdatagram.DatagramReceiver.__flags__ & heap_type
        # The numeric-host shortcut compares against the methods the class was built with.
        for loop_type in (vif.PyEventLoop, loop_class):
            recorded = dict(loop_type._original_connect_steps)
            assert set(recorded) == {"_ensure_resolved", "_connect_sock", "sock_connect",
                                     "_sock_connect", "_create_connection_transport"}
            assert all(getattr(loop_type, name) is recorded[name] for name in recorded)

    def test_new_event_loop(self):
        loop = vif.new_event_loop()
        try:
            assert isinstance(loop, vif.EventLoop)
            assert isinstance(loop, asyncio.AbstractEventLoop)
            assert not loop.is_running()
            assert loop.run_until_complete(asyncio.sleep(0, "ok")) == "ok"
        finally:
            loop.close()
        assert loop.is_closed()

    def test_run_returns_result_on_vif_loop(self):
        seen = {}

        async def main(x):
            seen["loop"] = asyncio.get_running_loop()
            seen["debug"] = seen["loop"].get_debug()
            await asyncio.sleep(0)
            return x * 2

        assert vif.run(main(21)) == 42
        assert isinstance(seen["loop"], vif.EventLoop)
        assert seen["loop"].is_closed()

    def test_run_debug_flag(self):
        async def main():
            return asyncio.get_running_loop().get_debug()

        assert vif.run(main(), debug=True) is True
        assert vif.run(main(), debug=False) is False

    def test_run_propagates_exception(self):
        async def main():
            await asyncio.sleep(0)
            raise KeyError("boom")

        with pytest.raises(KeyError, match="boom"):
            vif.run(main())

    def test_run_cancels_leftover_tasks(self):
        cancelled = []

        async def forever():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancelled.append(True)
                raise

        async def main():
            asyncio.get_running_loop().create_task(forever())
            await asyncio.sleep(0)

        vif.run(main())
        assert cancelled == [True]

    def test_run_inside_running_loop(self):
        async def inner():
            pass

        async def main():
            coro = inner()
            try:
                with pytest.raises(RuntimeError):
                    vif.run(coro)
            finally:
                coro.close()

        vif.run(main())

    def test_run_rejects_non_coroutine(self):
        with pytest.raises((ValueError, TypeError)):
            vif.run(42)

    def test_asyncio_runner_with_vif_factory(self):
        async def main():
            return asyncio.get_running_loop()

        with asyncio.Runner(loop_factory=vif.new_event_loop) as runner:
            loop = runner.run(main())
        assert isinstance(loop, vif.EventLoop)

    @pytest.mark.skipif(sys.version_info < (3, 12), reason="asyncio.run(loop_factory=) is 3.12+")
    def test_asyncio_run_loop_factory(self):
        async def main():
            return asyncio.get_running_loop()

        assert isinstance(asyncio.run(main(), loop_factory=vif.new_event_loop), vif.EventLoop)

    def test_policy_new_event_loop(self):
        policy = vif.EventLoopPolicy()
        assert isinstance(policy, asyncio.AbstractEventLoopPolicy)
        loop = policy.new_event_loop()
        try:
            assert isinstance(loop, vif.EventLoop)
        finally:
            loop.close()

    def test_install_sets_policy(self):
        old = asyncio.get_event_loop_policy()
        try:
            vif.install()
            assert isinstance(asyncio.get_event_loop_policy(), vif.EventLoopPolicy)
            loop = asyncio.new_event_loop()
            try:
                assert isinstance(loop, vif.EventLoop)
            finally:
                loop.close()

            async def main():
                return asyncio.get_running_loop()

            assert isinstance(asyncio.run(main()), vif.EventLoop)
        finally:
            asyncio.set_event_loop_policy(old)
        assert asyncio.get_event_loop_policy() is old
        loop = asyncio.new_event_loop()
        try:
            assert not isinstance(loop, vif.EventLoop)
        finally:
            loop.close()


@pytest.mark.skip(reason="the Windows ImportError message can only be checked on Windows")
def test_windows_import_message():
    pass


def _parameters(method) -> list[tuple[str, object, object]]:
    """A method's parameters as (name, kind, default), annotations left out."""
    import inspect

    return [(p.name, p.kind, p.default) for p in inspect.signature(method).parameters.values()]


def test_public_methods_take_asyncios_parameters(loop_factory):
    """Every public method asyncio's own loop has takes the same parameters on this
    Python (names, kinds, defaults): what code that feature-detects with
    ``inspect.signature`` sees, e.g. ``all_errors`` (3.12+) or ``cleanup_socket``
    (3.13+)."""
    loop, stock = loop_factory(), asyncio.new_event_loop()
    try:
        names = [n for n in dir(stock) if not n.startswith("_") and callable(getattr(stock, n))]
        assert "create_connection" in names and "call_soon" in names
        differ = {n: (_parameters(getattr(loop, n)), _parameters(getattr(stock, n)))
                  for n in names if _parameters(getattr(loop, n)) != _parameters(getattr(stock, n))}
        assert differ == {}
    finally:
        loop.close()
        stock.close()
