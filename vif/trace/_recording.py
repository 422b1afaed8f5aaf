"""The public recording object: ``with vif.trace.record() as rec: ...``.

Owns the lifetime of a recording: attaching a :class:`~vif.trace._recorder.LoopTracer`
to the running vif loop (when ``record()`` is entered inside one) and to every vif
loop that starts running on this thread while the block runs, the blame sampler,
and detaching everything on exit. The results are read through :meth:`Recording.save`,
:meth:`Recording.summary` and :meth:`Recording.to_dict`.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any, Literal

from . import _hooks
from ._recorder import LoopTracer, Recorder
from ._sampler import Sampler

Format = Literal["html", "perfetto", "json"]


class Recording:
    """A recording of task lives on vif loops; a context manager (see :func:`record`)."""

    def __init__(self, *, slow: float = 0.010, sample: bool = True, title: str = "") -> None:
        self.slow = slow
        self.sample = sample
        self.title = title or "vif trace"
        self.recorder = Recorder(slow)
        self.start_time: float | None = None
        self.end_time: float | None = None
        self._tracers: list[LoopTracer] = []
        self._thread = threading.get_ident()
        self._active = False

    # -- lifetime ----------------------------------------------------------------

    def start(self) -> Recording:
        if self._active or self.end_time is not None:
            raise RuntimeError("a Recording can be started only once")
        self._active = True
        self._thread = threading.get_ident()
        self.start_time = time.monotonic()
        if self.sample:
            interval = min(max(self.slow / 2, 0.002), 0.02)
            self.recorder.sampler = Sampler(self._thread, interval)
            self.recorder.sampler.start()
        _hooks.add_listener(self._on_loop_running)
        loop = asyncio._get_running_loop()
        if loop is not None:
            self._on_loop_running(loop)
        return self

    def stop(self) -> None:
        if not self._active:
            return
        self._active = False
        _hooks.remove_listener(self._on_loop_running)
        for tracer in self._tracers:
            tracer.detach()
        self._tracers.clear()
        self.recorder.refresh_names()
        self.recorder.release()  # no references to the program's tasks once stopped
        if self.recorder.sampler is not None:
            self.recorder.sampler.stop()
        self.end_time = time.monotonic()

    def __enter__(self) -> Recording:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def _on_loop_running(self, loop: Any) -> None:
        if threading.get_ident() != self._thread or not hasattr(loop, "set_tracer"):
            return  # another thread's loop, or not a vif loop
        if any(t.loop is loop for t in self._tracers):
            return
        self._tracers.append(LoopTracer(self.recorder, loop))

    # -- results -------------------------------------------------------------------

    @property
    def loop_count(self) -> int:
        return len(self.recorder.loops)

    def to_dict(self) -> dict[str, Any]:
        """The timeline as plain data (what the HTML page draws); times in ms from the start."""
        from ._model import build

        return build(self)

    def summary(self, limit: int = 20) -> str:
        """A text report: the worst blocking callbacks, then each task's time."""
        from ._summary import summary

        return summary(self.to_dict(), limit=limit)

    def save(self, path: str | os.PathLike[str], format: Format | None = None) -> None:
        """Write the recording: ``html`` (a self-contained timeline page), ``perfetto``
        (Chrome trace JSON for ui.perfetto.dev) or ``json`` (:meth:`to_dict`).

        Without ``format``, ``.json`` means perfetto and anything else html.
        """
        path = os.fspath(path)
        if format is None:
            format = "perfetto" if path.endswith(".json") else "html"
        data = self.to_dict()
        if format == "html":
            from ._html import write_html

            write_html(data, path)
        elif format == "perfetto":
            from ._perfetto import write_perfetto

            write_perfetto(data, path)
        elif format == "json":
            import json

            with open(path, "w", encoding="utf-8") as f:
                json.dump(data, f, separators=(",", ":"))
        else:
            raise ValueError(f"unknown trace format {format!r}: use html, perfetto or json")


def record(*, slow: float = 0.010, sample: bool = True, title: str = "") -> Recording:
    """Record task lives on vif loops while the ``with`` block runs.

    Entered inside a running vif loop, it traces that loop; outside one, it traces
    each vif loop started on this thread during the block (``vif.run``,
    ``asyncio.run`` with vif installed). ``slow`` is the threshold (seconds) above
    which a callback or task step counts as blocking the loop; ``sample`` turns on
    the thread that finds which line of code blocked it.
    """
    return Recording(slow=slow, sample=sample, title=title)
