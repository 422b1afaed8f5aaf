"""Callback handles: asyncio's Handle and TimerHandle with a lean constructor.

The scheduler creates one handle per scheduled callback, so their construction is
on the hot path. These subclasses keep asyncio's public classes (``isinstance``
checks, ``cancel()``, ``when()``, reprs) and only skip the per-call
``loop.get_debug()`` method lookup. ``check_callback`` mirrors asyncio's argument
checks (which asyncio makes in debug mode only).
"""

from __future__ import annotations

import contextvars
import sys
from asyncio import coroutines, events, format_helpers
from typing import Any

_copy_context = contextvars.copy_context
_getframe = sys._getframe
_extract_stack = format_helpers.extract_stack


def check_callback(callback: Any, method: str) -> None:
    """Raise TypeError as asyncio does for a coroutine or non-callable callback.

    Like asyncio, the loop checks callbacks only in debug mode.
    """
    if coroutines.iscoroutine(callback) or coroutines.iscoroutinefunction(callback):
        raise TypeError(f"coroutines cannot be used with {method}()")
    if not callable(callback):
        raise TypeError(
            f"a callable object was expected by {method}(), got {callback!r}"
        )


class Handle(events.Handle):
    """asyncio.Handle whose constructor reads the loop's debug flag directly."""

    __slots__ = ()

    def __init__(self, callback, args, loop, context=None):
        if context is None:
            context = _copy_context()
        self._context = context
        self._loop = loop
        self._callback = callback
        self._args = args
        self._cancelled = False
        self._repr = None
        if loop._debug:
            self._source_traceback = _extract_stack(_getframe(1))
        else:
            self._source_traceback = None


class TimerHandle(events.TimerHandle):
    """asyncio.TimerHandle with the same lean constructor as :class:`Handle`.

    Timers due at the same time run in the order they were scheduled: the
    heap orders them by ``(when, seq)``, as the compiled scheduler does.
    """

    __slots__ = ("_seq",)

    def __lt__(self, other):
        # The heap's comparison: as cheap as asyncio's when the times differ.
        when = self._when
        other_when = other._when
        if when != other_when:
            return when < other_when
        return self._seq < getattr(other, "_seq", self._seq)

    def __init__(self, when, callback, args, loop, context=None):
        if context is None:
            context = _copy_context()
        self._context = context
        self._loop = loop
        self._callback = callback
        self._args = args
        self._cancelled = False
        self._repr = None
        if loop._debug:
            self._source_traceback = _extract_stack(_getframe(1))
            del self._source_traceback[-1]
        else:
            self._source_traceback = None
        self._when = when
        self._scheduled = False
