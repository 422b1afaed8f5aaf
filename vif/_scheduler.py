"""The scheduler: ready queue, timer heap, fd table and the run-once step.

This is the loop's hot path and the unit a compiled twin replaces. It owns:

* ``_ready``: a deque of handles to run in the next step;
* ``_scheduled``: a heap of TimerHandles ordered by ``(when, seq)``;
* ``_fd_table``: fd -> ``[mask, reader handle, writer handle]``, the only record
  of who waits on what; the backend only knows masks;
* the cross-thread wakeup (``call_soon_threadsafe``).

One-shot waits. A ``sock_*`` coroutine waits for one readiness event and then
stops waiting; registering and unregistering the fd around every wait would cost
two system calls per wait. Where the backend offers ``ONESHOT`` (epoll), such a
wait (``_wait_fd``) on an fd nobody else watches registers it one-shot: the
kernel reports it once, then keeps the registration but silent. When the wait
ends after that report, the fd leaves the table without a system call and is
*parked* (``_parked``); the next wait re-arms it with one ``modify``. A silent
registration cannot report anything, so a parked fd that is closed while a dup
keeps its file open neither spins the loop nor wakes the new owner of its number
(the hazard that rules out leaving ordinary registrations behind): a ``modify``
of a number now owned by another file finds no registration and registers anew.
A wait that ends before its report (cancelled) unregisters as usual, and any
second interest in the fd turns the registration into an ordinary one.

One step (``_run_once``) drops cancelled timers, polls the backend for at most
the time to the next timer (without blocking when callbacks are ready), queues
the handles of ready fds and due timers, then runs exactly the handles queued so
far: callbacks scheduled meanwhile wait for the next step, as in asyncio.

Unlike asyncio, a step with callbacks ready skips the poll when the previous
poll was less than ``_BUSY_POLL_INTERVAL`` (250 us) ago: a poll is a system
call, far dearer than a typical callback, and a chain of callbacks would
otherwise pay one per step. I/O is still noticed within that bound, and a step
that has nothing ready always polls (blocking until the next timer or I/O).

Threads and the GIL. A thread waiting for the GIL takes it when the holder lets
go only if it wins the race for it, and each release restarts its
switch-interval clock (5 ms), after which it would ask the holder for it. A loop
that lets go briefly every 250 us starves such a thread (``run_in_executor``
round trips of 0.3 s, up to 4 s, on a busy loop); one that never lets go while
busy hands the GIL over every 5 ms; one that lets go at every step, as asyncio's
does, within about 0.1 ms (tests/test_threads.py). This module's polls always
let go (``select.epoll``), so it skips polls only while the last poll saw no
other Python thread (``threading.active_count()``). The compiled twin can poll
without letting go: it skips polls and keeps the GIL for a poll that finds
events, as long as no threads are at work for the loop -- no
``run_in_executor`` future pending and no ``call_soon_threadsafe`` seen by a step
in the last 10 ms; while there are, it polls at every step and lets go for each poll. Other
threads (an idle executor's, a sampler's) then get the GIL at the switch
interval, as from any busy Python code, and their mere existence costs no
system call per step (a callback chain polling at every step took 4x as long).

Wakeups from other threads are coalesced: a thread writes to the wakeup fd only
when no wakeup is pending. The flag is cleared after the fd is drained, and the
drain runs before the step looks at ``_ready`` again, so a callback appended by a
thread that saw the flag set is always seen without a poll.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from asyncio import base_events
from typing import Any

from ._backends import Backend, default_backend
from ._handles import Handle, TimerHandle, check_callback
from ._hooks import notify_run, run_listeners
from ._wakeup import Wakeup

logger = logging.getLogger("asyncio")

_MAXIMUM_POLL_TIMEOUT = 24 * 3600
# While callbacks are ready, the backend is polled at most this often (seconds):
# a poll is a system call, dearer than most callbacks. I/O readiness is still
# seen within this bound, and at once whenever the loop would otherwise wait.
_BUSY_POLL_INTERVAL = 250e-6
_MIN_SCHEDULED_TIMER_HANDLES = 100
_MIN_CANCELLED_TIMER_HANDLES_FRACTION = 0.5
_heappush = heapq.heappush
_heappop = heapq.heappop
_monotonic = time.monotonic
_active_count = threading.active_count


def fileobj_to_fd(fileobj: Any) -> int:
    """Return the fd of an int or of an object with ``fileno()``, as selectors does."""
    if isinstance(fileobj, int):
        fd = fileobj
    else:
        try:
            fd = int(fileobj.fileno())
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"Invalid file object: {fileobj!r}") from None
    if fd < 0:
        raise ValueError(f"Invalid file descriptor: {fd}")
    return fd


class Scheduler:
    """Mixin for the event loop: scheduling, polling and the fd table."""

    def _init_scheduler(self, backend: Backend | None = None) -> None:
        self._backend = backend if backend is not None else default_backend()
        self._poll = self._backend.poll
        self._READ = self._backend.READ
        self._WRITE = self._backend.WRITE
        self._fd_table: dict[int, list] = {}
        self._timer_seq = itertools.count().__next__
        self._wakeup = Wakeup()
        self._wakeup_fd = self._wakeup.fileno()
        self._wake_pending = False
        self._backend.register(self._wakeup_fd, self._READ)
        # One-shot waits (see the module docstring); 0 where the backend has none.
        self._ONESHOT = getattr(self._backend, "ONESHOT", 0)
        self._parked: set[int] = set()
        self._tracer = None
        self._last_poll = float("-inf")
        self._alone = True  # no other Python thread at the last poll

    def _drop_queued(self) -> None:
        """Before close() empties the queues. Nothing here: the compiled twin's
        handles are outside the garbage collector and must let go of their
        callbacks; these are collectable."""

    def _close_scheduler(self) -> None:
        self._fd_table.clear()
        self._parked.clear()
        self._backend.close()
        self._wakeup.close()
        self._wakeup_fd = -1

    def _instance_attributes(self) -> dict:
        """The attributes set on this loop itself (its ``__dict__``), e.g. a test's
        patched method. (The compiled loop answers without making the dict.)"""
        return self.__dict__

    def _registered_fd_count(self) -> int:
        """How many fds user code and transports have readers or writers on."""
        return len(self._fd_table)

    def _fd_interest(self, fd: int) -> tuple[bool, bool]:
        """Whether a reader and whether a writer is registered for ``fd`` (for reprs,
        and a transport that changes how it reads)."""
        entry = self._fd_table.get(fd)
        if entry is None:
            return (False, False)
        return (entry[1] is not None, entry[2] is not None)

    # -- clock -------------------------------------------------------------

    def _class_version(self) -> int:
        """A number that changes whenever this loop's class or one of its bases
        does; 0: none known (a check against the class must be made again).
        The compiled scheduler answers with the class's version tag; this one
        knows none."""
        return 0

    def time(self) -> float:
        return _monotonic()

    # -- scheduling ----------------------------------------------------------

    def call_soon(self, callback, *args, context=None):
        if self._closed:
            raise RuntimeError("Event loop is closed")
        if self._debug:
            self._check_thread()
            check_callback(callback, "call_soon")
        handle = Handle(callback, args, self, context)
        if handle._source_traceback:
            del handle._source_traceback[-1]
        self._ready.append(handle)
        return handle

    def _call_soon(self, callback, args, context):
        handle = Handle(callback, args, self, context)
        if handle._source_traceback:
            del handle._source_traceback[-1]
        self._ready.append(handle)
        return handle

    def _make_handle(self, callback, args, context=None):
        """A handle of this scheduler's kind, not yet scheduled."""
        return Handle(callback, args, self, context)

    def _add_callback(self, handle) -> None:
        if not handle._cancelled:
            self._ready.append(handle)

    def call_later(self, delay, callback, *args, context=None):
        if delay is None:
            raise TypeError("delay must not be None")
        timer = self.call_at(self.time() + delay, callback, *args, context=context)
        if timer._source_traceback:
            del timer._source_traceback[-1]
        return timer

    def call_at(self, when, callback, *args, context=None):
        if when is None:
            raise TypeError("when cannot be None")
        if self._closed:
            raise RuntimeError("Event loop is closed")
        if self._debug:
            self._check_thread()
            check_callback(callback, "call_at")
        timer = TimerHandle(when, callback, args, self, context)
        if timer._source_traceback:
            del timer._source_traceback[-1]
        timer._seq = self._timer_seq()
        _heappush(self._scheduled, timer)
        timer._scheduled = True
        return timer

    def _timer_handle_cancelled(self, handle) -> None:
        if handle._scheduled:
            self._timer_cancelled_count += 1

    def call_soon_threadsafe(self, callback, *args, context=None):
        if self._closed:
            raise RuntimeError("Event loop is closed")
        if self._debug:
            check_callback(callback, "call_soon_threadsafe")
        handle = Handle(callback, args, self, context)
        if handle._source_traceback:
            del handle._source_traceback[-1]
        self._ready.append(handle)
        if not self._wake_pending:
            self._wake_pending = True
            self._wakeup.wake()
        return handle

    def _write_to_self(self) -> None:
        """Wake the loop from the poll (asyncio's name for it)."""
        if not self._wake_pending and self._wakeup_fd >= 0:
            self._wake_pending = True
            self._wakeup.wake()

    # -- fd table ------------------------------------------------------------

    def _add_reader(self, fd, callback, *args):
        self._check_closed()
        fd = fileobj_to_fd(fd)
        handle = Handle(callback, args, self, None)
        entry = self._fd_table.get(fd)
        if entry is None:
            self._register(fd, self._READ)
            self._fd_table[fd] = [self._READ, handle, None]
        else:
            mask = entry[0]
            if mask & self._ONESHOT:  # A one-shot wait's registration becomes ordinary.
                self._want(fd, entry, self._READ | (self._WRITE if entry[2] is not None else 0))
            elif not mask & self._READ:
                self._want(fd, entry, mask | self._READ)
            old = entry[1]
            entry[1] = handle
            if old is not None:
                old.cancel()
        return handle

    def _add_writer(self, fd, callback, *args):
        self._check_closed()
        fd = fileobj_to_fd(fd)
        handle = Handle(callback, args, self, None)
        entry = self._fd_table.get(fd)
        if entry is None:
            self._register(fd, self._WRITE)
            self._fd_table[fd] = [self._WRITE, None, handle]
        else:
            mask = entry[0]
            if mask & self._ONESHOT:  # A one-shot wait's registration becomes ordinary.
                self._want(fd, entry, self._WRITE | (self._READ if entry[1] is not None else 0))
            elif not mask & self._WRITE:
                self._want(fd, entry, mask | self._WRITE)
            old = entry[2]
            entry[2] = handle
            if old is not None:
                old.cancel()
        return handle

    def _remove_reader(self, fd) -> bool:
        if self._closed:
            return False
        fd = fileobj_to_fd(fd)
        entry = self._fd_table.get(fd)
        if entry is None:
            return False
        handle = entry[1]
        if handle is None:
            return False
        self._drop_interest(fd, entry, self._READ)
        entry[1] = None
        handle.cancel()
        return True

    def _remove_writer(self, fd) -> bool:
        if self._closed:
            return False
        fd = fileobj_to_fd(fd)
        entry = self._fd_table.get(fd)
        if entry is None:
            return False
        handle = entry[2]
        if handle is None:
            return False
        self._drop_interest(fd, entry, self._WRITE)
        entry[2] = None
        handle.cancel()
        return True

    def _register(self, fd: int, mask: int) -> None:
        """Register ``fd`` (not in the table) with the backend; re-arm it if parked."""
        if fd in self._parked:
            self._parked.discard(fd)
            self._backend.modify(fd, mask)  # Another file now at this number: registers it.
        else:
            self._backend.register(fd, mask)

    def _wait_fd(self, fd: int, reading: bool, callback, args):
        """``_add_reader`` (or writer) for a wait that ends after one event.

        One-shot where the backend can and nobody else watches ``fd`` (see the
        module docstring); the callback calls ``_rearm(fd)`` when the event
        turns out to be spurious and it waits on.
        """
        oneshot = self._ONESHOT
        if not oneshot or fd in self._fd_table:
            if reading:
                return self._add_reader(fd, callback, *args)
            return self._add_writer(fd, callback, *args)
        self._check_closed()
        handle = Handle(callback, args, self, None)
        if reading:
            self._register(fd, self._READ | oneshot)
            self._fd_table[fd] = [self._READ | oneshot, handle, None]
        else:
            self._register(fd, self._WRITE | oneshot)
            self._fd_table[fd] = [self._WRITE | oneshot, None, handle]
        return handle

    def _rearm(self, fd: int) -> None:
        """Re-arm ``fd``'s fired one-shot registration: its waiter waits on."""
        entry = self._fd_table.get(fd)
        if entry is not None and entry[0] == self._ONESHOT:
            side = self._READ if entry[1] is not None else self._WRITE
            self._want(fd, entry, side | self._ONESHOT)

    def _want(self, fd: int, entry: list, mask: int) -> None:
        """Raise the interest in ``fd`` (in the table) to ``mask``."""
        self._backend.modify(fd, mask)
        entry[0] = mask

    def _drop_interest(self, fd: int, entry: list, bit: int) -> None:
        mask = entry[0]
        if mask & self._ONESHOT:  # ``bit`` is its only waiter's.
            del self._fd_table[fd]
            if mask == self._ONESHOT:  # Fired: silent until re-armed.
                self._parked.add(fd)
            else:
                self._backend.unregister(fd)
            return
        mask &= ~bit
        entry[0] = mask
        if mask:
            self._backend.modify(fd, mask)
        else:
            del self._fd_table[fd]
            self._backend.unregister(fd)

    def add_reader(self, fd, callback, *args) -> None:
        self._ensure_fd_no_transport(fd)
        self._add_reader(fd, callback, *args)

    def remove_reader(self, fd) -> bool:
        self._ensure_fd_no_transport(fd)
        return self._remove_reader(fd)

    def add_writer(self, fd, callback, *args) -> None:
        self._ensure_fd_no_transport(fd)
        self._add_writer(fd, callback, *args)

    def remove_writer(self, fd) -> bool:
        self._ensure_fd_no_transport(fd)
        return self._remove_writer(fd)

    def _ensure_fd_no_transport(self, fd) -> None:
        fileno = fd
        if not isinstance(fileno, int):
            try:
                fileno = int(fileno.fileno())
            except (AttributeError, TypeError, ValueError):
                raise ValueError(f"Invalid file object: {fd!r}") from None
        ref = self._transports.get(fileno)  # see Lifecycle.__init__
        transport = None if ref is None else ref()
        if transport is not None and not transport.is_closing():
            raise RuntimeError(f"File descriptor {fd!r} is used by transport {transport!r}")

    # -- the step --------------------------------------------------------------

    def run_forever(self) -> None:
        # The first step of every run polls: run_until_complete() of a future
        # that is already done still gives I/O its one step, as in asyncio.
        self._last_poll = float("-inf")
        if run_listeners:
            notify_run(self)
        super().run_forever()

    def _process_events(self, events) -> None:
        table = self._fd_table
        ready = self._ready
        not_write = ~self._WRITE
        not_read = ~self._READ
        wakeup_fd = self._wakeup_fd
        oneshot = self._ONESHOT
        for fd, ev in events:
            entry = table.get(fd)
            if entry is None:
                if fd == wakeup_fd:
                    self._wakeup.drain()
                    self._wake_pending = False
                continue
            if entry[0] & oneshot:
                entry[0] = oneshot  # Fired: the kernel reports it no more until re-armed.
            if ev & not_write:
                handle = entry[1]
                if handle is not None:
                    if handle._cancelled:
                        self._remove_reader(fd)
                    else:
                        ready.append(handle)
            if ev & not_read:
                handle = entry[2]
                if handle is not None:
                    if handle._cancelled:
                        self._remove_writer(fd)
                    else:
                        ready.append(handle)

    def _run_once(self) -> None:
        ready = self._ready
        scheduled = self._scheduled

        if scheduled:
            count = len(scheduled)
            if (
                count > _MIN_SCHEDULED_TIMER_HANDLES
                and self._timer_cancelled_count / count > _MIN_CANCELLED_TIMER_HANDLES_FRACTION
            ):
                self._purge_cancelled_timers()
                scheduled = self._scheduled
            else:
                while scheduled and scheduled[0]._cancelled:
                    self._timer_cancelled_count -= 1
                    _heappop(scheduled)._scheduled = False

        if ready:
            if (self.time() - self._last_poll < _BUSY_POLL_INTERVAL and not self._stopping
                    and self._alone):
                timeout = -1.0  # Skip this poll: callbacks are waiting, I/O was just polled.
            else:
                timeout = 0
        elif self._stopping:
            timeout = 0
        elif scheduled:
            timeout = scheduled[0]._when - self.time()
            if timeout > _MAXIMUM_POLL_TIMEOUT:
                timeout = _MAXIMUM_POLL_TIMEOUT
            elif timeout < 0:
                timeout = 0
        else:
            timeout = None

        if timeout != -1.0:
            if self._tracer is None:
                events = self._poll(timeout)
            else:
                events = self._traced_poll(timeout)
            self._last_poll = self.time()
            self._alone = _active_count() == 1  # (polls let go of the GIL: see above)
            if events:
                self._process_events(events)
            events = None

        if scheduled:
            end_time = self.time() + self._clock_resolution
            while scheduled:
                handle = scheduled[0]
                if handle._when >= end_time:
                    break
                _heappop(scheduled)
                handle._scheduled = False
                ready.append(handle)

        ntodo = len(ready)
        if self._debug or self._tracer is not None:
            self._run_ready_slow(ntodo)
            return
        popleft = ready.popleft
        while ntodo:
            ntodo -= 1
            handle = popleft()
            if not handle._cancelled:
                handle._run()
        handle = None  # Break cycles through the traceback of an exception.

    def _purge_cancelled_timers(self) -> None:
        kept = []
        for handle in self._scheduled:
            if handle._cancelled:
                handle._scheduled = False
            else:
                kept.append(handle)
        heapq.heapify(kept)
        self._scheduled = kept
        self._timer_cancelled_count = 0

    # -- the slow path: debug mode and tracing ------------------------------------

    def set_tracer(self, tracer) -> None:
        """Install (or, with ``None``, remove) a tracer: vif's hook for ``vif.trace``.

        A tracer has two methods, called on the loop's thread:
        ``poll(start, end, nevents)`` after each poll of the backend, and
        ``callback(handle, start, end)`` after each callback ran. Times are
        ``loop.time()`` values. With no tracer the loop pays one attribute
        test per step.
        """
        self._tracer = tracer

    def get_tracer(self):
        return self._tracer

    def _traced_poll(self, timeout):
        start = self.time()
        events = self._poll(timeout)
        self._tracer.poll(start, self.time(), len(events))
        return events

    def _run_ready_slow(self, ntodo: int) -> None:
        ready = self._ready
        tracer = self._tracer
        debug = self._debug
        for _ in range(ntodo):
            handle = ready.popleft()
            if handle._cancelled:
                continue
            try:
                self._current_handle = handle
                t0 = self.time()
                handle._run()
                dt = self.time() - t0
                if debug and dt >= self.slow_callback_duration:
                    logger.warning(
                        "Executing %s took %.3f seconds", base_events._format_handle(handle), dt
                    )
                if tracer is not None:
                    tracer.callback(handle, t0, t0 + dt)
            finally:
                self._current_handle = None
        handle = None
