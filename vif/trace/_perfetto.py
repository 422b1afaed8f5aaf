"""Chrome trace JSON (the "Trace Event Format") for ui.perfetto.dev and chrome://tracing.

Owns the mapping from the timeline data to trace events: process 1 is the
recording, thread 0 the event loop (idle polls, blocking callbacks), thread
``i + 1`` the task ``i`` with a complete event for each step ("running") and
each wait (named after what it awaited), and flow events from the creating task
to the created one. Events are formatted by hand, one per line, because a
100k-task trace has a million of them and ``json.dumps`` per event is slow.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

#: Parents with more children than this get no creation arrows (they would be a solid wall).
MAX_FLOWS_PER_PARENT = 1000
#: Above this many tasks, waits lose their "at" (file:line) argument, to keep files small.
MAX_TASKS_WITH_LOCATIONS = 10_000


def _num(ms: float) -> str:
    us = round(ms * 1000.0, 1)
    return str(int(us)) if us == int(us) else str(us)


def lines(data: dict[str, Any]) -> Iterator[str]:
    quote = json.dumps
    strings = [quote(s) for s in data["strings"]]
    head = '{"ph":"X","pid":1,"tid":'
    title = quote(data["title"])
    yield f'{{"ph":"M","pid":1,"name":"process_name","args":{{"name":{title}}}}}'
    yield '{"ph":"M","pid":1,"tid":0,"name":"thread_name","args":{"name":"event loop"}}'
    polls = data["polls"]
    for i in range(0, len(polls) - 1, 2):
        ts, dur = _num(polls[i]), _num(polls[i + 1] - polls[i])
        yield f'{head}0,"ts":{ts},"dur":{dur},"name":"idle (poll)"}}'
    for s in data["slow"]:
        ts, dur = _num(s["s"]), _num(s["e"] - s["s"])
        name, callback = quote(f"blocked: {s['b'] or s['d']}"), quote(s["d"])
        yield f'{head}0,"ts":{ts},"dur":{dur},"name":{name},"args":{{"callback":{callback}}}}}'
    tasks = data["tasks"]
    nchildren = [0] * len(tasks)
    for t in tasks:
        if t["p"] >= 0:
            nchildren[t["p"]] += 1
    end = data["end"]
    locations = len(tasks) <= MAX_TASKS_WITH_LOCATIONS
    for i, t in enumerate(tasks):
        tid = i + 1
        label = quote(f"{t['n']} {t['l']}")
        yield f'{{"ph":"M","pid":1,"tid":{tid},"name":"thread_name","args":{{"name":{label}}}}}'
        runs, waits = t["r"], t["w"]
        for k in range(0, len(runs) - 1, 2):
            ts, dur = _num(runs[k]), _num(runs[k + 1] - runs[k])
            yield f'{head}{tid},"ts":{ts},"dur":{dur},"name":"running"}}'
            if k < len(waits):
                ws = runs[k + 1]
                we = runs[k + 2] if k + 2 < len(runs) else end
                where = waits[k + 1]
                located = locations and data["strings"][where]
                args = f',"args":{{"at":{strings[where]}}}' if located else ""
                ts, dur = _num(ws), _num(we - ws)
                yield f'{head}{tid},"ts":{ts},"dur":{dur},"name":{strings[waits[k]]}{args}}}'
        p = t["p"]
        if p >= 0 and nchildren[p] <= MAX_FLOWS_PER_PARENT:
            first = runs[0] if runs else end
            flow = f'"id":{tid},"name":"create_task"'
            yield f'{{"ph":"s","pid":1,"tid":{p + 1},{flow},"ts":{_num(t["c"])}}}'
            ts = _num(max(first, t["c"]))
            yield f'{{"ph":"f","bp":"e","pid":1,"tid":{tid},{flow},"ts":{ts}}}'


def write_perfetto(data: dict[str, Any], path: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"displayTimeUnit":"ms","traceEvents":[\n')
        f.write(",\n".join(lines(data)))
        f.write("\n]}\n")
