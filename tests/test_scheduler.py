"""The scheduler's overridable parts: time(), call_at(), _run_once(), create_future().

The compiled loop reads the clock, pushes timers and runs its steps in C; it
must still honour a loop whose methods are overridden (by a subclass or on the
instance), as asyncio's BaseEventLoop does.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys

import pytest
from vif_testing import is_reference, run, vif


def test_timers_fire_in_time_then_schedule_order(loop_factory):
    order = []

    async def main():
        loop = asyncio.get_running_loop()
        when = loop.time() + 0.01
        for i in range(50):
            loop.call_at(when + (i % 5) * 0.001, order.append, ((i % 5), i))
        cancelled = [loop.call_later(0.002, order.append, "cancelled") for _ in range(300)]
        for h in cancelled:
            h.cancel()
        after_all = loop.create_future()  # due after every timer above
        loop.call_at(when + 0.006, after_all.set_result, None)
        await after_all

    run(loop_factory, main())
    assert len(order) == 50
    groups = [group for group, _ in order]
    assert groups == sorted(groups)
    if not is_reference(loop_factory):  # vif: equal times run in the order scheduled
        assert order == sorted(order)


def test_instance_time_override_drives_timers(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        real_time = loop.time
        offset = 0.0
        loop.time = lambda: real_time() + offset  # the loop must read this clock
        try:
            fut = loop.create_future()
            loop.call_later(20, fut.set_result, "fired")
            # Jump the clock past the timer (and not past run()'s 30 s guard):
            # the next steps must run it without waiting.
            offset = 21.0
            for _ in range(5):
                await asyncio.sleep(0)
            return fut.done()
        finally:
            del loop.time

    assert run(loop_factory, main())


def test_subclass_call_at_sees_call_later(loop_factory):
    seen = []

    class Loop(loop_factory):
        def call_at(self, when, callback, *args, context=None):
            seen.append(when)
            return super().call_at(when, callback, *args, context=context)

    async def main():
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        loop.call_later(10, print).cancel()
        assert seen and seen[-1] >= t0 + 10

    run(Loop, main())


@pytest.mark.parametrize("where", ["class", "instance"])
def test_call_at_patched_after_first_use_is_seen(loop_factory, where):
    """The compiled loop caches which methods are overridden: a change resets it."""
    seen = []

    class Loop(loop_factory):
        pass

    def call_at(self, when, callback, *args, context=None):
        seen.append(when)
        return loop_factory.call_at(self, when, callback, *args, context=context)

    async def main():
        loop = asyncio.get_running_loop()
        target = Loop if where == "class" else loop
        patched = call_at if where == "class" else call_at.__get__(loop)
        loop.call_later(10, print).cancel()
        target.call_at = patched
        loop.call_later(10, print).cancel()
        assert len(seen) == 1
        del target.call_at
        loop.call_later(10, print).cancel()
        assert len(seen) == 1

    run(Loop, main())


def test_subclass_run_once_is_called(loop_factory):
    class Loop(loop_factory):
        steps = 0

        def _run_once(self):
            type(self).steps += 1
            super()._run_once()

    async def main():
        await asyncio.sleep(0)

    run(Loop, main())
    assert Loop.steps > 0


def test_create_future_belongs_to_its_loop_running_or_not(loop_factory):
    loop = loop_factory()
    other = loop_factory()
    try:
        fut = loop.create_future()
        assert fut.get_loop() is loop

        async def inner():
            return other.create_future().get_loop(), loop.create_future().get_loop()

        got_other, got_loop = loop.run_until_complete(inner())
        assert got_other is other and got_loop is loop
    finally:
        other.close()
        loop.close()


def test_get_debug_follows_set_debug(loop_factory):
    loop = loop_factory()
    try:
        # The default follows -X dev / PYTHONASYNCIODEBUG, as asyncio's does.
        expected = sys.flags.dev_mode or bool(os.environ.get("PYTHONASYNCIODEBUG"))
        assert loop.get_debug() is expected
        loop.set_debug(False)
        assert loop.get_debug() is False
        loop.set_debug(True)
        assert loop.get_debug() is True
        handle = loop.call_soon(print)
        handle.cancel()
        assert "print" in repr(handle)  # debug mode keeps the description
    finally:
        loop.close()


@pytest.mark.parametrize("schedule", ["call_later", "call_soon", "call_soon_threadsafe"])
def test_callback_context_is_the_context_when_scheduled(loop_factory, schedule):
    """A callback runs in a copy of the context it was scheduled in: later changes
    on either side stay apart, and two callbacks do not share one (the compiled loop
    makes a handle's Context only when it runs or is asked for it)."""
    import contextvars

    var = contextvars.ContextVar("var", default="unset")
    seen = []
    all_ran = None

    def report(tag):
        seen.append((tag, var.get()))
        var.set(f"set by {tag}")
        if len(seen) == 3:
            all_ran.set()

    async def main():
        nonlocal all_ran
        all_ran = asyncio.Event()
        loop = asyncio.get_running_loop()
        if schedule == "call_later":
            delays = iter([0.001, 0.002, 0.003, 0.001])

            def call(*args):
                return loop.call_later(next(delays), *args)
        else:
            call = getattr(loop, schedule)
        var.set("before")
        first = call(report, "first")
        second = call(report, "second")
        asked = call(report, "asked")
        ctx = asked._context
        assert asked._context is ctx and ctx[var] == "before"
        var.set("after")
        cancelled = call(report, "cancelled")
        cancelled.cancel()
        assert cancelled._context[var] == "after"
        await all_ran.wait()  # by then the cancelled one would have run too
        assert var.get() == "after"
        assert first._context[var] == "set by first"
        assert second._context is not first._context
        return ctx[var]

    assert run(loop_factory, main()) == "set by asked"
    assert seen == [("first", "before"), ("second", "before"), ("asked", "before")]


@pytest.mark.parametrize("ending", ["fired", "cancelled", "pending at stop"])
def test_cycle_through_a_timer_is_collected(loop_factory, ending):
    """An object that keeps its own timer (a cycle) is collected once the loop lets go:
    the timer fired, was cancelled, or still waited when the loop closed.

    The compiled loop's timers are outside the garbage collector; they must let go
    of their callbacks then.
    """
    import gc
    import weakref

    class Owner:
        def __init__(self, loop, delay):
            self.timer = loop.call_later(delay, self.fire)

        def fire(self):
            pass

    loop = loop_factory()
    try:

        async def main():
            running = asyncio.get_running_loop()
            owner = Owner(running, 0 if ending == "fired" else 3600)
            if ending == "cancelled":
                owner.timer.cancel()
            for _ in range(200):  # enough to purge or pop the cancelled timer
                running.call_later(3600, print).cancel()
            later = running.create_future()  # due after the "fired" timer
            running.call_later(0.001, later.set_result, None)
            await later
            return weakref.ref(owner)

        ref = loop.run_until_complete(main())
        if ending == "pending at stop":
            loop.close()
        gc.collect()
        assert ref() is None
    finally:
        loop.close()


@pytest.mark.parametrize("ending", ["ran", "cancelled", "pending at stop"])
@pytest.mark.parametrize("schedule", ["call_soon", "call_soon_threadsafe"])
def test_cycle_through_a_queued_handle_is_collected(loop_factory, schedule, ending):
    """An object that keeps the handle of its own callback (a cycle) is collected
    once the loop lets go of the handle: it ran, was cancelled, or was still queued
    when the loop closed.

    The compiled loop's handles are outside the garbage collector; they must let
    go of their callbacks then.
    """
    import gc
    import weakref

    class Owner:
        def __init__(self, loop):
            self.handle = getattr(loop, schedule)(self.fire)

        def fire(self):
            pass

    loop = loop_factory()
    try:

        async def main():
            running = asyncio.get_running_loop()
            owner = Owner(running)
            if ending == "cancelled":
                owner.handle.cancel()
            if ending == "pending at stop":
                running.stop()  # run_until_complete's own stop comes later: owner stays queued
                return weakref.ref(owner)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            return weakref.ref(owner)

        if ending == "pending at stop":
            task = loop.create_task(main())
            loop.run_forever()
            ref = task.result()
            assert len(loop._ready) >= 1
            loop.close()
        else:
            ref = loop.run_until_complete(main())
        gc.collect()
        assert ref() is None
    finally:
        loop.close()


def test_handles_are_outside_the_collector_in_the_compiled_loop(loop_factory):
    """The compiled loop's handles and timers are not garbage-collected objects
    (allocating them does not bring the next collection closer); the pure loop's
    are Python objects."""
    import gc

    async def main():
        loop = asyncio.get_running_loop()
        handles = [loop.call_soon(print), loop.call_later(3600, print)]
        for handle in handles:
            handle.cancel()
        return [gc.is_tracked(handle) for handle in handles]

    tracked = run(loop_factory, main())
    assert tracked == [loop_factory.__name__ != "CEventLoop"] * 2


@pytest.mark.parametrize("schedule", ["call_soon", "call_soon_threadsafe", "call_later"])
def test_callbacks_nobody_keeps_do_not_share_a_context(loop_factory, schedule):
    """What a callback sets in its context stays there: the next callbacks (handles
    nobody keeps, which the compiled loop runs in one reused Context) see the
    context they were scheduled in, and so does code after them."""
    import contextvars

    var = contextvars.ContextVar("var", default="unset")
    seen = []

    def setter(tag):
        seen.append((tag, var.get()))
        var.set(f"set by {tag}")

    def reader(tag):
        seen.append((tag, var.get()))
        # What a callback schedules gets the callback's context, changes included.
        asyncio.get_running_loop().call_soon(lambda: seen.append((f"after {tag}", var.get())))

    async def main():
        loop = asyncio.get_running_loop()
        call = getattr(loop, schedule)
        if schedule == "call_later":
            call = functools.partial(loop.call_later, 0)
        var.set("one")
        call(setter, "a")
        call(reader, "b")
        var.set("two")
        kept = call(setter, "c")
        call(reader, "d")
        while len(seen) < 6:  # the four callbacks and what two of them scheduled
            await asyncio.sleep(0)
        assert kept.cancelled() is False
        return var.get()

    assert run(loop_factory, main()) == "two"
    assert seen == [
        ("a", "one"), ("b", "one"), ("c", "two"), ("d", "two"),
        ("after b", "one"), ("after d", "two"),
    ]


def test_the_loop_keeps_no_context_of_a_callback_that_ran(loop_factory):
    """Once a callback ran (and nobody keeps its handle), the values of the context
    it ran in are freed: the loop holds on to none of them."""
    import contextvars
    import weakref

    var = contextvars.ContextVar("var")

    class Value:
        pass

    async def main():
        loop = asyncio.get_running_loop()
        ran = []

        def schedule():
            value = Value()
            var.set(value)
            loop.call_soon(ran.append, "ran")
            return weakref.ref(value)

        ref = contextvars.Context().run(schedule)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        return ran, ref() is None

    assert run(loop_factory, main()) == (["ran"], True)


def test_a_handle_that_ran_keeps_its_context(loop_factory):
    """As asyncio's: a handle kept after it ran still gives its context (the
    compiled loop drops only the callback and arguments of a kept handle)."""
    import contextvars

    var = contextvars.ContextVar("var")

    async def main():
        loop = asyncio.get_running_loop()
        ran = []
        var.set("at call time")
        kept = [loop.call_soon(ran.append, 1), loop.call_later(0, ran.append, 2)]
        var.set("later")
        while len(ran) < 2:
            await asyncio.sleep(0)
        return [handle._context[var] for handle in kept]

    assert run(loop_factory, main()) == ["at call time"] * 2


@pytest.mark.skipif(vif is None or vif.CEventLoop is None, reason="needs the compiled loop")
def test_compiled_loop_keeps_its_state_in_its_own_fields():
    """What asyncio's BaseEventLoop and vif's mixins set on the compiled loop lands
    in its C fields, not an instance ``__dict__``: on 3.13 a method call from Python
    (``loop.call_soon``) is fast only while the instance has none."""
    import signal

    from vif._cscheduler import _has_instance_dict

    class Server(asyncio.Protocol):
        def connection_made(self, transport):
            transport.close()

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_debug(True)
        loop.set_debug(False)
        loop.set_task_factory(None)
        loop.set_exception_handler(None)
        loop.slow_callback_duration = 0.2
        loop.add_signal_handler(signal.SIGUSR1, print)
        loop.remove_signal_handler(signal.SIGUSR1)
        await asyncio.gather(asyncio.sleep(0), asyncio.sleep(0.001))
        assert await loop.run_in_executor(None, int, "7") == 7
        server = await loop.create_server(Server, "127.0.0.1", 0)
        closed = loop.create_future()
        transport, _ = await loop.create_connection(
            lambda: type("Client", (asyncio.Protocol,), {
                "connection_lost": lambda self, exc: closed.set_result(None)})(),
            *server.sockets[0].getsockname()[:2])
        await closed
        server.close()
        await server.wait_closed()
        return _has_instance_dict(loop)

    with asyncio.Runner(loop_factory=vif.CEventLoop) as runner:
        made = runner.run(main())
        loop = runner.get_loop()
    assert made is (False if sys.version_info >= (3, 13) else None)
    assert vars(loop) == {}
