"""The text report of a recording: blocking first, then each task's time.

Owns the wording. Reads only the timeline data of :mod:`vif.trace._model`.
"""

from __future__ import annotations

from typing import Any

from ._model import task_times


def _fmt(ms: float) -> str:
    if ms >= 1000:
        return f"{ms / 1000:.3f} s"
    if ms >= 1:
        return f"{ms:.1f} ms"
    return f"{ms * 1000:.0f} us"


def summary(data: dict[str, Any], limit: int = 20) -> str:
    tasks = data["tasks"]
    stats = data["stats"]
    end = data["end"]
    lines = [
        f"{data['title']}: {_fmt(end)} recorded on {len(data['loops'])} loop(s), "
        f"{len(tasks)} task(s), {stats['callbacks']} callback(s)",
    ]
    if data["loops"]:
        lines.append(
            f"the loop ran callbacks for {_fmt(stats['callbackMs'])} and waited in the poll "
            f"for {_fmt(stats['pollMs'])} ({stats['polls']} polls)"
        )
    else:
        lines.append("no vif loop ran during the recording")

    slow = sorted(data["slow"], key=lambda s: s["s"] - s["e"])
    lines.append("")
    if slow:
        over = _fmt(data["slowMs"])
        lines.append(f"Blocking (callbacks and task steps over {over}), worst first:")
        for s in slow[:limit]:
            dur = _fmt(s["e"] - s["s"])
            if s["b"]:
                line = f"  the loop was blocked {dur} in {s['b']} ({s['d']})"
            else:
                line = f"  the loop was blocked {dur} in {s['d']}"
            lines.append(f"{line}, at {_fmt(s['s'])}")
        if len(slow) > limit:
            lines.append(f"  ... and {len(slow) - limit} more")
    else:
        lines.append(f"Blocking: no callback or task step took {_fmt(data['slowMs'])} or more.")

    lines.append("")
    lines.append("Tasks (longest first): wall time = running + waiting")
    rows = [(t, task_times(data, t)) for t in tasks]
    rows.sort(key=lambda row: -row[1]["wall"])
    for task, times in rows[:limit]:
        state = task["s"]
        lines.append(
            f"  {task['n']} {task['l']}: wall {_fmt(times['wall'])}, "
            f"running {_fmt(times['running'])}, waiting {_fmt(times['waiting'])}, {state}"
        )
        for what, ms in times["on"][:3]:
            lines.append(f"      waiting {_fmt(ms)} on {what}")
        if len(times["on"]) > 3:
            rest = sum(ms for _, ms in times["on"][3:])
            lines.append(f"      waiting {_fmt(rest)} on {len(times['on']) - 3} other thing(s)")
    if len(rows) > limit:
        lines.append(f"  ... and {len(rows) - limit} more tasks")
    return "\n".join(lines) + "\n"
