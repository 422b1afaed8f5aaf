"""``vif.trace.record()``: what it records, how it describes waits, what it leaves behind."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest

import vif
import vif.trace
from vif.trace._model import task_times

pytestmark = pytest.mark.timeout(60)
SCALE = 0.2


async def say_after(delay, what):
    await asyncio.sleep(delay)
    return what


async def gather_main(scale):
    return await asyncio.gather(
        say_after(1 * scale, "hello"),
        say_after(2 * scale, "world"),
        say_after(1 * scale, "!!!!!"),
    )


def by_label(data, prefix):
    found = [t for t in data["tasks"] if t["l"].startswith(prefix)]
    assert found, (prefix, [t["l"] for t in data["tasks"]])
    return found


def what(data, task):
    """The descriptions of everything ``task`` awaited, in order."""
    return [data["strings"][task["w"][i]] for i in range(0, len(task["w"]), 2)]


def test_gather_timeline_matches_the_tutorial():
    with vif.trace.record() as rec:
        assert vif.run(gather_main(SCALE)) == ["hello", "world", "!!!!!"]
    data = rec.to_dict()
    (main,) = by_label(data, "gather_main(")
    main_index = data["tasks"].index(main)
    children = by_label(data, "say_after(")
    assert len(data["tasks"]) == 4
    assert [c["l"] for c in children] == [
        "say_after(0.2, 'hello')", "say_after(0.4, 'world')", "say_after(0.2, '!!!!!')"]
    assert all(c["p"] == main_index for c in children)
    starts = [c["r"][0] for c in children]
    ends = [c["r"][-1] for c in children]
    assert max(starts) - min(starts) < 20, starts  # started together (ms)
    hello, world, bang = ends
    first = min(starts)
    assert 0.95 * 200 <= hello - first < 300 and 0.95 * 200 <= bang - first < 300, ends
    assert 0.95 * 400 <= world - first < 500, ends
    assert all(c["s"] == "done" for c in children) and main["s"] == "done"
    assert what(data, children[0]) == ["asyncio.sleep(0.2)"]
    assert what(data, main) == ["gather(3 awaitables)"]
    assert sorted(main["k"]["0"]) == [data["tasks"].index(c) for c in children]
    times = task_times(data, children[1])
    assert times["on"][0][0] == "asyncio.sleep(0.4)" and times["on"][0][1] >= 0.95 * 400


def test_waits_are_described():
    a, b = socket.socketpair()
    fd = a.fileno()

    async def main():
        lock, event, queue = asyncio.Lock(), asyncio.Event(), asyncio.Queue()
        loop = asyncio.get_running_loop()
        a.setblocking(False)

        async def locked():
            async with lock:
                pass

        async def reader():
            return await loop.sock_recv(a, 10)

        async def child():
            return 1

        async def awaits_task():
            return await asyncio.create_task(child(), name="the-child")

        await lock.acquire()
        tasks = [
            asyncio.create_task(locked(), name="locked"),
            asyncio.create_task(event.wait(), name="event"),
            asyncio.create_task(queue.get(), name="queue"),
            asyncio.create_task(reader(), name="reader"),
            asyncio.create_task(asyncio.to_thread(time.sleep, 0.01), name="thread"),
            asyncio.create_task(awaits_task(), name="awaits"),
        ]
        await asyncio.sleep(0)
        lock.release()
        event.set()
        queue.put_nowait(1)
        b.send(b"x")
        await asyncio.gather(*tasks)

    with a, b, vif.trace.record() as rec:
        vif.run(main())
    data = rec.to_dict()
    named = {t["n"]: what(data, t) for t in data["tasks"]}
    assert named["locked"] == ["Lock.acquire()"]
    assert named["event"] == ["Event.wait()"]
    assert named["queue"] == ["Queue.get() on a queue of 0/inf"]
    assert named["reader"] == [f"loop.sock_recv(fd {fd})"]
    assert named["thread"] == ["asyncio.to_thread()"]
    assert named["awaits"] == ["task the-child child()"]
    (awaits,) = [t for t in data["tasks"] if t["n"] == "awaits"]
    (kid,) = [t for t in data["tasks"] if t["n"] == "the-child"]
    assert awaits["k"] == {"0": [data["tasks"].index(kid)]}
    assert kid["p"] == data["tasks"].index(awaits)
    # where the user's code awaited: this file, the line of the await
    (reader,) = [t for t in data["tasks"] if t["n"] == "reader"]
    assert data["strings"][reader["w"][1]].endswith(
        f"test_trace_api.py:{main.__code__.co_firstlineno + 10}")


def test_end_states_and_task_names():
    async def fails():
        raise ValueError("boom")

    async def main():
        failing = asyncio.create_task(fails())
        hanging = asyncio.create_task(asyncio.Event().wait(), name="hanging")
        cancelled = asyncio.create_task(asyncio.sleep(10), name="cancelled")
        await asyncio.sleep(0)
        cancelled.cancel()
        await asyncio.gather(failing, cancelled, return_exceptions=True)
        loop = asyncio.get_running_loop()
        outer_create_task = vars(loop)["create_task"]
        with vif.trace.record() as inner:  # nested recordings both see the tasks
            await asyncio.create_task(asyncio.sleep(0), name="nested")
        assert vars(loop)["create_task"] is outer_create_task  # the outer one is put back
        assert hanging.get_name() == "hanging"
        return inner, hanging

    loop = vif.new_event_loop()
    try:
        with vif.trace.record() as rec:
            inner, hanging = loop.run_until_complete(main())
        hanging.cancel()
        loop.run_until_complete(asyncio.sleep(0))
    finally:
        loop.close()
    data = rec.to_dict()
    states = {t["n"]: t["s"] for t in data["tasks"]}
    assert states["hanging"] == "pending"
    assert states["cancelled"] == "cancelled"
    failed = [s for n, s in states.items() if n.startswith("Task-") and s.startswith("failed")]
    assert failed == ["failed: ValueError('boom')"]
    assert all(n in ("hanging", "cancelled", "nested") or n.startswith("Task-") for n in states)
    assert "nested" in [t["n"] for t in inner.to_dict()["tasks"]]


def test_blocking_is_blamed_on_the_line():
    def parse_report():
        time.sleep(0.12)  # the blocking line

    def slow_callback():
        time.sleep(0.05)

    async def main():
        await asyncio.sleep(0)
        parse_report()
        asyncio.get_running_loop().call_soon(slow_callback)
        await asyncio.sleep(0.01)

    with vif.trace.record(slow=0.03) as rec:
        vif.run(main())
    text = rec.summary()
    line = parse_report.__code__.co_firstlineno + 1
    worst = [ln for ln in text.splitlines() if "the loop was blocked" in ln]
    assert len(worst) == 2, text
    assert "in test_blocking_is_blamed_on_the_line.<locals>.parse_report() at " in worst[0]
    assert f"test_trace_api.py:{line} " in worst[0], text
    assert "slow_callback() at" in worst[1], text
    assert "Tasks (longest first)" in text and "main()" in text


def test_record_inside_a_running_loop_and_nothing_left_behind():
    from vif._hooks import run_listeners

    async def main():
        loop = asyncio.get_running_loop()
        before = asyncio.create_task(asyncio.sleep(0.05), name="before")
        await asyncio.sleep(0)
        with vif.trace.record() as rec:
            assert loop.get_tracer() is not None and "create_task" in vars(loop)
            assert len(run_listeners) == 1
            await asyncio.gather(say_after(0.01, "a"), before)
        assert loop.get_tracer() is None and "create_task" not in vars(loop)
        assert run_listeners == []
        return rec

    rec = vif.run(main())
    data = rec.to_dict()
    names = sorted(t["n"] for t in data["tasks"])
    assert "before" in names  # adopted: it existed when the recording started
    assert any(t["l"] == "say_after(0.01, 'a')" for t in data["tasks"])
    assert run_listeners == []


def test_stock_asyncio_loops_are_ignored():
    with vif.trace.record() as rec:
        with asyncio.Runner(loop_factory=asyncio.SelectorEventLoop) as runner:
            runner.run(say_after(0, "x"))
    assert rec.to_dict()["tasks"] == []
    assert "no vif loop ran" in rec.summary()


def test_save_writes_three_formats(tmp_path):
    with vif.trace.record(title="three <formats>") as rec:
        vif.run(gather_main(0.01))
    rec.save(tmp_path / "t.html")
    rec.save(tmp_path / "t.json")
    rec.save(tmp_path / "raw.json", format="json")
    page = (tmp_path / "t.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "three &lt;formats&gt;" in page
    for fetches in ("src=", "href=", "<link", "@import", "url(", "fetch(", "XMLHttpRequest"):
        assert fetches not in page, fetches
    start = page.index('<script id="trace-data" type="application/json">') + 48
    embedded = json.loads(page[start:page.index("</script>", start)])
    assert embedded == json.loads((tmp_path / "raw.json").read_text()) == rec.to_dict()
    trace = json.loads((tmp_path / "t.json").read_text())
    names = {e["args"]["name"] for e in trace["traceEvents"] if e.get("name") == "thread_name"}
    assert "event loop" in names and sum(n.split(" ", 1)[1].startswith("say_after(") for n in
                                         names if " " in n) == 3
    kinds = {e["ph"] for e in trace["traceEvents"]}
    assert {"M", "X", "s", "f"} <= kinds
    with pytest.raises(ValueError):
        rec.save(tmp_path / "x", format="svg")  # type: ignore[arg-type]


def test_recording_is_single_use():
    rec = vif.trace.record()
    with rec:
        pass
    with pytest.raises(RuntimeError):
        rec.start()


LOOPS = [pytest.param(vif.PyEventLoop, id="vif-python")]
if vif.CEventLoop is not None:
    LOOPS.append(pytest.param(vif.CEventLoop, id="vif-compiled"))


@pytest.mark.parametrize("loop_class", LOOPS)
def test_both_schedulers_record_the_same_facts(loop_class):
    """The compiled scheduler's C hook and the pure scheduler's tracer calls agree."""

    async def pinger(queue, n):
        for i in range(n):
            await queue.put(i)
            await asyncio.sleep(0)

    async def main():
        queue = asyncio.Queue(maxsize=1)
        ping = asyncio.create_task(pinger(queue, 3), name="pinger")
        got = [await queue.get() for _ in range(3)]
        await ping
        await asyncio.sleep(0.001)
        return got

    loop = loop_class()
    try:
        with vif.trace.record() as rec:
            assert loop.run_until_complete(main()) == [0, 1, 2]
    finally:
        loop.close()
    data = rec.to_dict()
    (ping,) = [t for t in data["tasks"] if t["n"] == "pinger"]
    (main_task,) = [t for t in data["tasks"] if t["l"] == "main()"]
    assert ping["s"] == main_task["s"] == "done"
    assert ping["p"] == data["tasks"].index(main_task)
    assert what(data, ping) == ["asyncio.sleep(0)"] * 3
    assert what(data, main_task)[0] == "Queue.get() on a queue of 0/1"
    assert what(data, main_task)[-2:] == ["task pinger pinger(Queue, 3)", "asyncio.sleep(0.001)"]
    for task in (ping, main_task):
        runs = task["r"]
        assert len(runs) == len(task["w"]) + 2  # one wait between two steps
        assert runs == sorted(runs) and all(isinstance(t, float) for t in runs)
    where = data["strings"][ping["w"][1]]
    assert where.endswith(f"test_trace_api.py:{pinger.__code__.co_firstlineno + 3}")
    assert data["stats"]["callbacks"] >= 8 and data["stats"]["callbackMs"] >= 0
    tracer_type = type(rec.recorder.tracers[0]).__mro__[1].__module__
    assert tracer_type.endswith("_cstep" if vif.implementation() == "compiled" else "_recorder")


@pytest.mark.parametrize("loop_class", LOOPS)
def test_names_labels_slow_steps_and_step_times(loop_class):
    """Names are the last ones given (read lazily by the compiled recorder), a slow
    step names its task, labels of numbers match, and steps never overlap."""

    async def worker(delay, count, *, flag=True):
        for _ in range(count):
            await asyncio.sleep(delay)
        for d in (0, 0.001, 0.001, 0):  # the same line, another delay (the memo's key)
            await asyncio.sleep(d)
        await asyncio.sleep(0)

    async def blocker():
        await asyncio.sleep(0)
        asyncio.current_task().set_name("renamed")
        time.sleep(0.04)  # a slow step
        await asyncio.sleep(0)

    async def main():
        tasks = [asyncio.create_task(worker(0.001 * i, 3)) for i in range(4)]
        slow = asyncio.create_task(blocker(), name="first")
        await asyncio.gather(*tasks, slow)

    loop = loop_class()
    try:
        with vif.trace.record(slow=0.02) as rec:
            loop.run_until_complete(main())
    finally:
        loop.close()
    data = rec.to_dict()
    workers = [t for t in data["tasks"] if t["l"].startswith("worker")]
    workers.sort(key=lambda t: t["l"])
    assert [t["l"] for t in workers] == [f"worker({0.001 * i}, 3, flag=True)" for i in range(4)]
    first = worker.__code__.co_firstlineno
    for i, task in enumerate(workers):
        waits = [(w, data["strings"][task["w"][k + 1]].rsplit(":", 1)[-1])
                 for k, w in zip(range(0, len(task["w"]), 2), what(data, task), strict=True)]
        loop_wait = (f"asyncio.sleep({0.001 * i})", str(first + 2))
        assert waits == [loop_wait] * 3 + [
            (f"asyncio.sleep({d})", str(first + 4)) for d in (0, 0.001, 0.001, 0)
        ] + [("asyncio.sleep(0)", str(first + 5))]
    (slow,) = [t for t in data["tasks"] if t["l"] == "blocker()"]
    assert slow["n"] == "renamed" and slow["s"] == "done"
    assert [s["d"] for s in data["slow"]] == ["task renamed blocker()"]
    steps = sorted(
        (t["r"][i], t["r"][i + 1]) for t in data["tasks"] for i in range(0, len(t["r"]), 2)
    )
    assert all(start <= end for start, end in steps)
    assert all(a[1] <= b[0] for a, b in zip(steps, steps[1:], strict=False)), "steps overlap"


def test_labels_and_sleep_texts_match_the_pure_descriptions():
    """The compiled recorder reads arguments and delays in place; same text as the pure one."""
    from vif.trace._describe import coro_label

    class Box:
        async def method(self, n, *, flag=True):
            await asyncio.sleep(0.5 * n)

    async def plain(a, b="x" * 30, *rest, c=None, **kw):
        await asyncio.sleep(a)

    async def closure(value, other):
        def inner():
            return value

        await asyncio.sleep(0.0)
        return inner()

    async def main():
        coros = [plain(0.1234567), plain(3, b"raw", c=[1, 2, 3, 4]), closure(1.5, {"k": 2}),
                 Box().method(0.01, flag=False), asyncio.sleep(1 / 3), asyncio.sleep(2)]
        expected = [coro_label(c) for c in coros]
        tasks = [asyncio.create_task(c, name=f"t{i}") for i, c in enumerate(coros)]
        await asyncio.sleep(0)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return expected

    with vif.trace.record() as rec:
        expected = vif.run(main())
    data = rec.to_dict()
    named = {t["n"]: t for t in data["tasks"]}
    assert [named[f"t{i}"]["l"] for i in range(6)] == expected
    assert [what(data, named[f"t{i}"]) for i in range(6)] == [
        ["asyncio.sleep(0.1234567)"], ["asyncio.sleep(3)"], ["asyncio.sleep(0.0)"],
        ["asyncio.sleep(0.005)"], [f"asyncio.sleep({1 / 3!r})"], ["asyncio.sleep(2)"]]
    assert all(isinstance(s, str) for s in data["strings"])
    if vif.implementation() == "compiled":
        from vif.trace._cstep import in_place_reads, monotonic

        assert in_place_reads()[0] > 0 and in_place_reads()[1]  # the fast paths were tested
        before = time.monotonic()
        assert before <= monotonic() <= time.monotonic()  # the recorder's clock is the loop's
