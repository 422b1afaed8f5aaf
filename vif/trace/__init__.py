"""Seeing concurrency: record what every task did, then draw or summarise it.

``with vif.trace.record() as rec: ...`` records, on the vif loops that run during
the block, each task's creation (and by which task), each step it ran, what it
awaited between steps, and how it ended, plus the loop's time in the poll and the
callbacks that blocked it. ``rec.save("timeline.html")`` writes a self-contained
timeline page, ``rec.save("trace.json")`` Chrome trace JSON for ui.perfetto.dev,
``rec.summary()`` a text report. ``python -m vif trace script.py`` does all that
for a whole program. With no recording active the loop pays nothing beyond one
attribute test per step.

Modules: :mod:`._recording` (the public object), :mod:`._recorder` (the loop-side
hook), :mod:`._cstep` (its compiled per-callback part, which the compiled scheduler
calls from C), :mod:`._describe` (what a task waits on), :mod:`._sampler` (who
blocked the loop), :mod:`._model` (the timeline data), :mod:`._summary`,
:mod:`._html`, :mod:`._perfetto` (the outputs), :mod:`._hooks` (noticing loops as
they start).
"""

from __future__ import annotations

from ._recording import Recording, record

__all__ = ["Recording", "record"]
