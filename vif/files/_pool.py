"""The dedicated, bounded thread pool of the files API and its per-loop completion sink.

Owns :class:`Job` (one blocking call), :class:`Pool` (the workers) and
:func:`wait_job`, which awaits a job and, if the awaiting task is cancelled,
waits for the job to finish and runs its cleanup (e.g. closes an opened fd)
before the cancellation propagates.  Completions are handed back to the loop in
batches: one ``call_soon_threadsafe`` wakes the loop for every completion queued
meanwhile, so 64 operations in flight cost far fewer wake-ups than 64.
"""

from __future__ import annotations

import asyncio
import collections
import os
import threading
from collections.abc import Callable
from typing import Any

_QUEUED, _RUNNING, _DONE, _ABANDONED = range(4)
_claim_lock = threading.Lock()  # makes "abandon" (loop thread) and "claim" (worker) exclusive


class Job:
    """One operation: run ``fn(*args)`` somewhere, deliver the outcome to ``fut`` on the loop."""

    __slots__ = ("fn", "args", "fut", "state", "result", "exc", "waiter", "cleanup", "sink")

    def __init__(self, fn: Callable[..., Any], args: tuple, fut: asyncio.Future,
                 cleanup: Callable[[Any], None] | None) -> None:
        self.fn = fn
        self.args = args
        self.fut = fut
        self.state = _QUEUED
        self.result: Any = None
        self.exc: BaseException | None = None
        self.waiter: asyncio.Future | None = None
        self.cleanup = cleanup
        self.sink: Any = None

    def complete(self, result: Any, exc: BaseException | None) -> None:
        """Record the outcome (on the loop thread) and wake whoever waits for it."""
        self.state = _DONE
        self.result, self.exc = result, exc
        fut = self.fut
        if self.waiter is not None:
            if not self.waiter.done():
                self.waiter.set_result(None)
        elif not fut.done():
            if exc is None:
                fut.set_result(result)
            else:
                fut.set_exception(exc)
        elif exc is None and self.cleanup is not None:
            # The awaiting task was cancelled before it could take over: undo here.
            self.cleanup(result)
            self.cleanup = None

    def abandon(self) -> bool:
        """Drop a job not started yet; False if a worker (or the kernel) already has it."""
        with _claim_lock:
            if self.state == _QUEUED:
                self.state = _ABANDONED
                return True
        return False

    def claim(self) -> bool:
        """A worker takes the job, unless the awaiting task abandoned it first."""
        with _claim_lock:
            if self.state != _QUEUED:
                return False
            self.state = _RUNNING
            return True


#: How long a cancelled task waits for a pool job already running (a thread can't be
#: interrupted).  Regular-file operations end long before; one blocked for good (a FIFO
#: open with no writer, a hung NFS server) is left to clean up after itself when it ends.
CANCEL_GRACE = 2.0


async def wait_job(job: Job, must_run: bool = False, grace: float | None = None) -> Any:
    """Await ``job``; on cancellation, finish or cancel it, clean up, then re-raise.

    ``must_run``: a job not started yet still runs (e.g. a close) before the re-raise.
    ``grace``: give up waiting after this many seconds (the job then cleans up itself).
    """
    try:
        return await job.fut
    except asyncio.CancelledError:
        await after_cancel(job, None, must_run, grace)
        raise


async def after_cancel(job: Job, cancel: Callable[[Job], None] | None = None,
                       must_run: bool = False, grace: float | None = None) -> None:
    """The task awaiting ``job`` was cancelled: settle the job (see :func:`wait_job`).

    The caller re-raises the cancellation once this returns.
    """
    job.fut.cancel()  # whatever comes now is ours to clean up, never a live result
    if job.state == _DONE:
        if job.exc is None and job.cleanup is not None:
            job.cleanup(job.result)
            job.cleanup = None
        return
    if not must_run and job.abandon():
        return
    loop = job.fut.get_loop()
    waiter = job.waiter = loop.create_future()
    if cancel is not None:
        cancel(job)  # may complete the job right away
    timer = None
    if grace is not None:
        timer = loop.call_later(grace, set_none, waiter)
    while not waiter.done() and job.state != _DONE:
        try:
            await asyncio.shield(waiter)
        except asyncio.CancelledError:
            continue
    if timer is not None:
        timer.cancel()
    if job.state != _DONE:  # gave up: Job.complete() runs the cleanup later
        job.waiter = None
        return
    if job.exc is None and job.cleanup is not None:
        job.cleanup(job.result)
        job.cleanup = None


def set_none(fut: asyncio.Future) -> None:
    """Resolve ``fut`` with None unless it is done (a wake-up from a timer or a reader)."""
    if not fut.done():
        fut.set_result(None)


class _Sink:
    """Where workers drop finished jobs for one loop; drained in one loop callback."""

    __slots__ = ("loop", "done", "scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.done: collections.deque = collections.deque()
        self.scheduled = False

    def post(self, job: Job, result: Any, exc: BaseException | None) -> None:
        self.done.append((job, result, exc))
        if not self.scheduled:
            self.scheduled = True
            try:
                self.loop.call_soon_threadsafe(self.drain)
            except RuntimeError:  # loop closed: nobody will take the result
                self.scheduled = False
                self.done.clear()
                if exc is None and job.cleanup is not None:
                    job.cleanup(result)

    def drain(self) -> None:
        self.scheduled = False
        done = self.done
        pop = done.popleft
        while done:
            job, result, exc = pop()
            job.complete(result, exc)


def default_workers() -> int:
    """Pool size: ``VIF_FILES_THREADS`` or 2 x CPUs, between 4 and 32."""
    env = os.environ.get("VIF_FILES_THREADS")
    if env:
        return max(1, int(env))
    return max(4, min(32, 2 * (os.cpu_count() or 1)))


class Pool:
    """A bounded set of daemon worker threads, started on demand, shared by all loops."""

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = max_workers or default_workers()
        self._queue: collections.deque = collections.deque()
        self._cond = threading.Condition(threading.Lock())
        self._workers = 0
        self._idle = 0
        self._sinks: dict[int, tuple[Any, _Sink]] = {}

    def sink_for(self, loop: asyncio.AbstractEventLoop) -> _Sink:
        entry = self._sinks.get(id(loop))
        if entry is None or entry[0] is not loop:
            if len(self._sinks) > 64:
                self._sinks = {k: v for k, v in self._sinks.items() if not v[0].is_closed()}
            entry = self._sinks[id(loop)] = (loop, _Sink(loop))
        return entry[1]

    def submit(self, loop: asyncio.AbstractEventLoop, fn: Callable[..., Any], args: tuple,
               cleanup: Callable[[Any], None] | None = None) -> Job:
        job = Job(fn, args, loop.create_future(), cleanup)
        job.sink = self.sink_for(loop)
        with self._cond:
            self._queue.append(job)
            if self._idle:
                self._cond.notify()
            elif self._workers < self.max_workers:
                self._workers += 1
                threading.Thread(target=self._work, name=f"vif-files-{self._workers}",
                                 daemon=True).start()
        return job

    def _work(self) -> None:
        queue, cond = self._queue, self._cond
        while True:
            with cond:
                while not queue:
                    self._idle += 1
                    cond.wait()
                    self._idle -= 1
                job = queue.popleft()
            if not job.claim():
                continue
            try:
                result, exc = job.fn(*job.args), None
            except BaseException as e:  # delivered to the awaiting task
                result, exc = None, e
            job.sink.post(job, result, exc)
            job = None  # drop references before sleeping


_pool: Pool | None = None
_pool_lock = threading.Lock()


def pool() -> Pool:
    """The process-wide files pool (created on first use; reset in a forked child)."""
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = Pool()
    return _pool


def _after_fork() -> None:
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_after_fork)


async def run(fn: Callable[..., Any], *args: Any,
              cleanup: Callable[[Any], None] | None = None, must_run: bool = False) -> Any:
    """Run ``fn(*args)`` in the files pool: one hop; cancellation-safe (see :func:`wait_job`)."""
    loop = asyncio.get_running_loop()
    return await wait_job(pool().submit(loop, fn, args, cleanup), must_run=must_run,
                          grace=CANCEL_GRACE)
