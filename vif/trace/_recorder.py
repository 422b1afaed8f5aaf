"""The recorder: what runs on the loop's thread while a recording is active.

Owns the raw facts of a recording: one :class:`TaskRecord` per task (created by
which task, each step's start and end, what it awaited after each step, how it
ended), the loop's polls, and the callbacks slower than the threshold. A
:class:`LoopTracer` is installed per traced loop with ``loop.set_tracer`` (vif's
scheduler hook) and a ``create_task`` shadowing the loop's method on that loop
only (not a task factory: the program's own factory keeps working, and on 3.13.0
a factory changes task names to None); :meth:`LoopTracer.detach` puts back what
was there before. Turning facts into a timeline is :mod:`vif.trace._model`'s job.

The per-callback part (:class:`StepLog`, :class:`TaskRecord`) has a compiled twin,
:mod:`vif.trace._cstep`, which the compiled scheduler calls from C; the pure
versions here serve ``VIF_NO_EXTENSIONS=1`` and builds without it.
"""

from __future__ import annotations

import asyncio
import os
import threading
from types import FunctionType
from typing import Any

from ._describe import TASK_TYPES, coro_label, describe_callback, describe_wait, end_state

_MIN_POLL = 0.0001
_TASK_CLASSES = frozenset(TASK_TYPES)  # polls shorter than this are summed but not drawn


class PyTaskRecord:
    """One task's life. ``runs`` is flat: ``[start0, end0, start1, end1, ...]``;
    ``waits`` holds, per suspension, the interned (what, where) string ids."""

    __slots__ = ("index", "parent", "name", "label", "created", "runs", "waits", "links",
                 "state", "loop")

    def __init__(self, index: int, parent: int, label: str, created: float | None, loop: int):
        self.index = index
        self.parent = parent
        self.name = ""
        self.label = label
        self.created = created
        self.runs: list[float] = []
        self.waits: list[int] = []
        self.links: dict[int, list[int]] | None = None
        self.state = "pending"
        self.loop = loop

    def release(self) -> None:
        """Nothing to drop: the compiled record keeps the task's coroutine while it lives."""


class Recorder:
    """Facts shared by every loop of one recording."""

    def __init__(self, slow: float) -> None:
        self.slow = slow
        self.tasks: list[TaskRecord] = []
        self.live: dict[Any, TaskRecord] = {}
        self.strings: list[str] = []
        self._string_ids: dict[str, int] = {}
        self.polls: list[float] = []  # flat [start, end, ...] of polls >= _MIN_POLL
        self.poll_time = 0.0
        self.poll_count = 0
        self.tracers: list[LoopTracer] = []  # their callback counts and busy time
        # (start, end, description, task index or -1, where it blocked or "")
        self.slow_callbacks: list[tuple[float, float, str, int, str]] = []
        self.loops: list[str] = []
        self.sampler = None  # a _sampler.Sampler when blame sampling is on
        self.lock = threading.Lock()

    @property
    def callback_count(self) -> int:
        return sum(t.ncallbacks for t in self.tracers)

    @property
    def callback_time(self) -> float:
        return sum(t.busy for t in self.tracers)

    def intern(self, text: str) -> int:
        ident = self._string_ids.get(text)
        if ident is None:
            ident = self._string_ids[text] = len(self.strings)
            self.strings.append(text)
        return ident

    def new_task(self, task: Any, parent: Any, created: float | None, loop: int) -> TaskRecord:
        prec = self.live.get(parent) if parent is not None else None
        try:
            label = coro_label(task.get_coro())
        except Exception:
            label = type(task).__name__
        rec = TaskRecord(len(self.tasks), prec.index if prec is not None else -1, label,
                         created, loop)
        rec.name = task.get_name()
        self.tasks.append(rec)
        self.live[task] = rec
        return rec

    def refresh_names(self) -> None:
        """Names can change after creation (``set_name``): take the live tasks' current ones."""
        for task, rec in list(self.live.items()):
            rec.name = task.get_name()

    def release(self) -> None:
        """Forget the live tasks: no references to the program's tasks once stopped."""
        for rec in self.live.values():
            rec.release()
        self.live.clear()

    def finish(self, task: Any, rec: TaskRecord) -> None:
        rec.name = task.get_name()
        rec.state = end_state(task)
        del self.live[task]
        rec.release()


class PyStepLog:
    """The scheduler's tracer interface: what runs after each callback (pure twin of
    :class:`vif.trace._cstep.StepLog`). ``LoopTracer`` derives from it."""

    _prev_tracer: Any

    def _bind(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.slow = recorder.slow
        self.ncallbacks = 0
        self.busy = 0.0

    def _make_create_task(self, orig: Any, loop: Any) -> Any:
        """The ``create_task`` put on ``loop``: ``orig``, then a note of the new task."""
        recorder = self.recorder
        index = self.loop_index

        def create_task(coro, **kwargs):
            task = orig(coro, **kwargs)
            rec = recorder.live.get(task)
            if rec is None and not task.done():
                try:
                    recorder.new_task(task, asyncio.current_task(loop), loop.time(), index)
                except Exception:  # never let tracing break the traced program
                    pass
            elif rec is not None:
                rec.name = task.get_name()
            return task

        return create_task

    def callback(self, handle: Any, start: float, end: float) -> None:
        # The hot path: runs after every callback while recording. Plain
        # callbacks cost a counter, two attribute reads and a few compares.
        self.ncallbacks += 1
        self.busy += end - start
        callback = handle._callback
        task = None if type(callback) is FunctionType else getattr(callback, "__self__", None)
        if type(task) in _TASK_CLASSES or (task is not None and isinstance(task, TASK_TYPES)):
            self._task_step(handle, task, start, end)
        elif end - start >= self.slow:
            self._slow(handle, None, start, end)
        if self._prev_tracer is not None:
            self._prev_tracer.callback(handle, start, end)

    def _task_step(self, handle: Any, task: Any, start: float, end: float) -> None:
        r = self.recorder
        rec = r.live.get(task)
        if rec is None:
            if task.done():
                if end - start >= self.slow:
                    self._slow(handle, None, start, end)
                return
            rec = r.new_task(task, None, start, self.loop_index)  # made before the recording
        if not rec.runs:  # asyncio.create_task(name=) names it after creating it
            rec.name = task.get_name()
        rec.runs += (start, end)
        if task.done():
            r.finish(task, rec)
        else:
            try:
                what, where, links = describe_wait(task)
            except Exception as exc:  # never let tracing break the traced program
                what, where, links = f"(not described: {exc!r})", "", None
            ids = r._string_ids
            w = ids.get(what)
            if w is None:
                w = r.intern(what)
            h = ids.get(where)
            if h is None:
                h = r.intern(where)
            waits = rec.waits
            waits += (w, h)
            if links:
                linked = [lr.index for lr in map(r.live.get, links) if lr is not None]
                if linked:
                    if rec.links is None:
                        rec.links = {}
                    rec.links[len(waits) // 2 - 1] = linked
        if end - start >= self.slow:
            rec.name = task.get_name()  # the name it has now, for the slow step's text
            self._slow(handle, rec, start, end)


StepLog: type = PyStepLog
TaskRecord: type = PyTaskRecord
if not os.environ.get("VIF_NO_EXTENSIONS"):
    try:
        from ._cstep import StepLog, TaskRecord  # type: ignore[no-redef]
    except ImportError:
        pass


class LoopTracer(StepLog):
    """What is installed on one vif loop: the scheduler's tracer and a ``create_task``
    that notes each new task and which task made it."""

    def __init__(self, recorder: Recorder, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.loop_index = len(recorder.loops)
        recorder.loops.append(f"{type(loop).__name__} 0x{id(loop):x}")
        self.thread = threading.get_ident()
        self._bind(recorder)
        recorder.tracers.append(self)
        self._prev_tracer = loop.get_tracer()
        loop.set_tracer(self)
        self._create_task = None
        self._shadowed = vars(loop).get("create_task")  # an outer recording's, if nested
        create_task = self._make_create_task(loop.create_task, loop)
        try:  # shadow the method on this loop only; create_task's behaviour is unchanged
            loop.create_task = create_task
            self._create_task = create_task
        except AttributeError:
            pass
        now = loop.time()
        for task in asyncio.all_tasks(loop):  # tasks made before the recording began
            if task not in recorder.live:
                recorder.new_task(task, None, now, self.loop_index)

    def detach(self) -> None:
        loop = self.loop
        if self._create_task is not None and vars(loop).get("create_task") is self._create_task:
            if self._shadowed is not None:
                loop.create_task = self._shadowed
            else:
                del loop.create_task
        if loop.get_tracer() is self:
            loop.set_tracer(self._prev_tracer)

    # -- the scheduler's tracer interface -------------------------------------

    def poll(self, start: float, end: float, nevents: int) -> None:
        r = self.recorder
        dt = end - start
        r.poll_time += dt
        r.poll_count += 1
        if dt >= _MIN_POLL:
            r.polls.append(start)
            r.polls.append(end)
        sampler = r.sampler
        if sampler is not None:
            sampler.busy_since = end
        prev = self._prev_tracer
        if prev is not None:
            prev.poll(start, end, nevents)

    def _slow(self, handle: Any, rec: TaskRecord | None, start: float, end: float) -> None:
        r = self.recorder
        blame = r.sampler.blame(start, end) if r.sampler is not None else ""
        what = f"task {rec.name} {rec.label}" if rec is not None else describe_callback(handle)
        r.slow_callbacks.append((start, end, what, rec.index if rec is not None else -1, blame))
