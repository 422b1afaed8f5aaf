"""Blame for blocking: a thread that samples the loop thread's stack while it is busy.

The scheduler tells a tracer about a callback only after it ran, so nothing on
the loop's thread can see *where* a long callback spent its time. While a
recording is on, a daemon thread wakes every few milliseconds; when the loop
has not returned from a poll for longer than that, it reads the loop thread's
current frame (``sys._current_frames``) and, unless the loop is in its own code
(polling, between callbacks), notes the innermost line of user code. A slow callback is
then blamed on the line seen most often while it ran:
"the loop was blocked 120 ms in parse_report() at report.py:42".
"""

from __future__ import annotations

import collections
import sys
import threading
import time
from types import FrameType

from ._describe import is_library, is_user, short_path

# The loop's own frames: when one is the innermost Python frame, the loop is polling
# (the compiled scheduler polls from C, under run_forever) or between callbacks.
_IDLE_FUNCS = frozenset({"_traced_poll", "poll", "select", "_run_once", "run_forever",
                         "_run_ready_slow"})


def _blame_text(frame: FrameType) -> str | None:
    """The innermost user frame as ``func() at file:line``; None when the loop is idle."""
    top = frame
    if top.f_code.co_name in _IDLE_FUNCS and is_library(top.f_code.co_filename):
        return None
    f: FrameType | None = frame
    while f is not None:
        code = f.f_code
        if is_user(code.co_filename):
            return f"{code.co_qualname}() at {short_path(code.co_filename)}:{f.f_lineno}"
        f = f.f_back
    code = top.f_code
    return f"{code.co_qualname}() at {short_path(code.co_filename)}:{top.f_lineno}"


class Sampler:
    """Samples one thread's stack while its loop is busy; see the module docstring."""

    def __init__(self, thread_id: int, interval: float) -> None:
        self.thread_id = thread_id
        self.interval = interval
        self.busy_since = time.monotonic()
        self.samples: collections.deque[tuple[float, str]] = collections.deque(maxlen=50_000)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vif-trace-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        interval = self.interval
        frames = sys._current_frames
        while not self._stop.wait(interval):
            now = time.monotonic()
            if now - self.busy_since < interval:
                continue
            frame = frames().get(self.thread_id)
            if frame is None:
                continue
            text = _blame_text(frame)
            frame = None
            if text is not None:
                self.samples.append((now, text))

    def blame(self, start: float, end: float) -> str:
        """The user line seen most often between ``start`` and ``end`` ("" if none)."""
        samples = self.samples
        while samples and samples[0][0] < start:
            samples.popleft()
        counts: collections.Counter[str] = collections.Counter()
        for t, text in list(samples):
            if t > end:
                break
            counts[text] += 1
        return counts.most_common(1)[0][0] if counts else ""
