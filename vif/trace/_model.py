"""The timeline data: a recording's raw facts as plain, compact, JSON-ready data.

Owns the one format that the HTML page, the Perfetto writer and the summary all
read. Times are milliseconds since the recording started, rounded to the
microsecond. Each task is ``{"n": name, "l": label, "p": parent index or -1,
"c": created, "s": state, "r": [run0 start, run0 end, ...], "w": [what id,
where id, ...] (one pair per suspension, ids into "strings"), "k": {suspension:
[linked task indices]}}``. :func:`task_times` derives running / waiting totals.
"""

from __future__ import annotations

import time
from typing import Any

VERSION = 1


def build(recording: Any) -> dict[str, Any]:
    r = recording.recorder
    t0 = recording.start_time if recording.start_time is not None else time.monotonic()
    t_end = recording.end_time if recording.end_time is not None else time.monotonic()

    def ms(t: float) -> float:
        return round((t - t0) * 1000.0, 3)

    records = [tr for tr in list(r.tasks) if not _is_runner_internal(tr)]
    renumber = {tr.index: i for i, tr in enumerate(records)}
    tasks = []
    for tr in records:
        created = tr.created if tr.created is not None else (tr.runs[0] if tr.runs else t0)
        task: dict[str, Any] = {
            "n": tr.name,
            "l": tr.label,
            "p": renumber.get(tr.parent, -1),
            "c": ms(created),
            "s": tr.state,
            "r": [ms(t) for t in tr.runs],
            "w": list(tr.waits),
        }
        if tr.links:
            task["k"] = {
                str(k): [renumber[i] for i in v if i in renumber] for k, v in tr.links.items()
            }
        if tr.loop:
            task["o"] = tr.loop
        tasks.append(task)
    end = ms(t_end)
    return {
        "version": VERSION,
        "title": recording.title,
        "end": end,
        "slowMs": round(recording.slow * 1000.0, 3),
        "strings": [s if type(s) is str else str(s) for s in r.strings],  # some are lazy
        "tasks": tasks,
        "loops": list(r.loops),
        "polls": [ms(t) for t in r.polls],
        "slow": [
            {"s": ms(s), "e": ms(e), "d": what, "t": renumber.get(task, -1), "b": blame}
            for s, e, what, task, blame in r.slow_callbacks
        ],
        "stats": {
            "pollMs": round(r.poll_time * 1000.0, 3),
            "polls": r.poll_count,
            "callbackMs": round(r.callback_time * 1000.0, 3),
            "callbacks": r.callback_count,
        },
    }


_RUNNER_INTERNALS = (
    "BaseEventLoop.shutdown_asyncgens(",
    "BaseEventLoop.shutdown_default_executor(",
)


def _is_runner_internal(tr: Any) -> bool:
    """The tasks ``asyncio.run`` makes while closing: noise on a timeline when quick."""
    if not tr.label.startswith(_RUNNER_INTERNALS) or tr.parent != -1:
        return False
    runs = tr.runs
    return sum(runs[i + 1] - runs[i] for i in range(0, len(runs), 2)) < 0.001


def task_times(data: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
    """Wall, running and waiting time of one task (ms), waiting broken down by what."""
    runs = task["r"]
    strings = data["strings"]
    finished = task["s"] != "pending"
    end = runs[-1] if (finished and runs) else data["end"]
    running = sum(runs[i + 1] - runs[i] for i in range(0, len(runs), 2))
    waiting: dict[str, float] = {}
    if runs:
        start_wait = runs[0] - task["c"]
    else:
        start_wait = end - task["c"]
    if start_wait > 0:
        waiting["its first step (scheduled)"] = start_wait
    waits = task["w"]
    for k in range(len(waits) // 2):
        s = runs[2 * k + 1]
        e = runs[2 * k + 2] if 2 * k + 2 < len(runs) else data["end"]
        what = strings[waits[2 * k]]
        waiting[what] = waiting.get(what, 0.0) + (e - s)
    return {
        "wall": end - task["c"],
        "running": running,
        "waiting": sum(waiting.values()),
        "on": sorted(waiting.items(), key=lambda kv: -kv[1]),
        "end": end,
    }
