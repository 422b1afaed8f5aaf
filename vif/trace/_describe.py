"""Human descriptions of what a suspended task waits on, and of callbacks.

Owns the mapping from live objects to short text: the awaited API
(``asyncio.sleep(1)``, ``Queue.get()``, ``sock_recv(fd 7 127.0.0.1:8080)``...),
the awaited task or ``gather``, the user line that awaits, and a callback's
function with its source location. Everything here runs on the loop's thread
while a recording is active, so it stays cheap: it walks the coroutine's
``cr_await`` chain (a few attribute reads) and formats only what it finds.
"""

from __future__ import annotations

import asyncio
import os
import reprlib
from asyncio import tasks as _tasks
from types import CodeType, CoroutineType, FrameType, GeneratorType
from typing import Any

_ASYNCIO_DIR = os.path.dirname(asyncio.__file__) + os.sep
_VIF_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_TRACE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_STDLIB_DIR = os.path.dirname(os.__file__) + os.sep

TASK_TYPES: tuple[type, ...] = tuple({asyncio.Task, _tasks._PyTask})
_GATHERING = getattr(_tasks, "_GatheringFuture", ())

_repr = reprlib.Repr()
_repr.maxstring = 24
_repr.maxother = 24
_repr.maxlevel = 1
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 3

# Library code: the first frame of an await chain inside one of these is "the API awaited".
_LIBRARY_DIRS = (_ASYNCIO_DIR, _VIF_DIR)


def is_library(filename: str) -> bool:
    return filename.startswith(_LIBRARY_DIRS)


def is_user(filename: str) -> bool:
    """Code that is neither the stdlib, site-packages nor vif: where blame goes."""
    if filename.startswith(_VIF_DIR) or filename.startswith("<frozen"):
        return False
    if "site-packages" in filename or "dist-packages" in filename:
        return False
    return not filename.startswith(_STDLIB_DIR)


_short_paths: dict[str, str] = {}


def short_path(filename: str) -> str:
    """A path short enough for a tooltip: relative to the cwd when under it, else the name."""
    short = _short_paths.get(filename)
    if short is None:
        short = _short_paths[filename] = _shorten(filename)
    return short


def _shorten(filename: str) -> str:
    try:
        rel = os.path.relpath(filename)
    except ValueError:
        return filename
    if rel.startswith(".."):
        return os.path.basename(filename) if is_library(filename) else filename
    return rel


def code_location(code: CodeType, lineno: int | None = None) -> str:
    return f"{short_path(code.co_filename)}:{lineno if lineno is not None else code.co_firstlineno}"


_PASS_THROUGH = frozenset({"__aenter__", "__aexit__"})
_PLAIN = (int, float, str, bytes, bool, type(None), complex)


def _arg(value: Any) -> str:
    """A short repr for plain values; the type's name for everything else."""
    cls = type(value)
    if cls is int or cls is float or cls is bool or value is None:
        return repr(value)
    if cls is str and len(value) <= 24:
        return repr(value)
    if cls in _PLAIN or cls in (tuple, list, dict, set):
        return _repr.repr(value)
    return type(value).__name__


def label_name(code: CodeType) -> str:
    """The name a label shows: ``main.<locals>.worker`` is ``worker``."""
    return code.co_qualname.rsplit("<locals>.", 1)[-1]


def short_label(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def coro_label(coro: Any) -> str:
    """``say_after(1, 'hello')``: the coroutine's name and its arguments, short."""
    code = getattr(coro, "cr_code", None) or getattr(coro, "gi_code", None)
    frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
    if code is None:
        return _repr.repr(coro)
    name = label_name(code)
    if frame is None:
        return f"{name}()"
    try:
        f_locals = frame.f_locals
        names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
        args = [
            _arg(f_locals[n]) if i < code.co_argcount else f"{n}={_arg(f_locals[n])}"
            for i, n in enumerate(names)
            if n in f_locals and n != "self"
        ]
    except Exception:  # a hostile __repr__ must not break the traced program
        args = ["..."]
    return short_label(f"{name}({', '.join(args)})")


def task_label(task: Any) -> str:
    try:
        return coro_label(task.get_coro())
    except Exception:
        return type(task).__name__


def _peer(obj: Any) -> str:
    """``fd 7 127.0.0.1:8080`` for a socket or transport, best effort."""
    sock = obj
    get_extra = getattr(obj, "get_extra_info", None)
    if get_extra is not None:
        sock = get_extra("socket")
        if sock is None:
            return ""
    try:
        fd = sock.fileno()
    except Exception:
        return ""
    try:
        peer = sock.getpeername()
    except Exception:
        peer = None
    if isinstance(peer, tuple):
        peer = f"{peer[0]}:{peer[1]}"
    return f"fd {fd} {peer}" if peer else f"fd {fd}"


def _api_text(code: CodeType, frame: FrameType | None) -> str:
    """Describe a library coroutine frame: the API call the user awaited."""
    name = code.co_qualname
    module = "vif" if code.co_filename.startswith(_VIF_DIR) else "asyncio"
    loc = frame.f_locals if frame is not None else {}
    this = loc.get("self")
    if name == "sleep" and module == "asyncio":
        return f"asyncio.sleep({_arg(loc.get('delay'))})"
    if name in ("wait_for", "timeout"):
        return f"asyncio.wait_for(timeout={_repr.repr(loc.get('timeout'))})"
    if name.startswith("sock_") or ".sock_" in name:
        sock = loc.get("sock")
        peer = _peer(sock) if sock is not None else ""
        return f"loop.{name.rsplit('.', 1)[-1]}({peer})"
    if name.startswith(("StreamReader.", "StreamWriter.")):
        transport = getattr(this, "_transport", None)
        peer = _peer(transport) if transport is not None else ""
        return f"{name}({peer})"
    if name.startswith(("Queue.", "PriorityQueue.", "LifoQueue.")) and this is not None:
        try:
            return f"{name}() on a queue of {this.qsize()}/{this.maxsize or 'inf'}"
        except Exception:
            pass
    if module == "vif":
        fn = code.co_filename
        url = loc.get("str_or_url", loc.get("url"))
        if f"{os.sep}http{os.sep}" in fn and "method" in loc and url is not None:
            text = str(url)
            return f"vif.http {loc['method']} {text if len(text) <= 60 else text[:57] + '...'}"
        if f"{os.sep}files{os.sep}" in fn and name == "_open" and "file" in loc:
            target = loc["file"]
            if isinstance(target, str | bytes | os.PathLike):
                return f"vif.open({_repr.repr(os.path.basename(os.fsdecode(target)))})"
        target = getattr(this, "name", None) if this is not None else None
        if isinstance(target, str | bytes | os.PathLike):
            base = os.path.basename(os.fsdecode(target))
            return f"vif file {code.co_name}({_repr.repr(base)})"
    return f"{module}.{name}()" if "." not in name else f"{name}()"


def end_state(task: Any) -> str:
    """How a finished task ended: ``done``, ``cancelled`` or ``failed: <exception>``."""
    if task.cancelled():
        return "cancelled"
    exc = getattr(task, "_exception", None)  # not .exception(): it marks it retrieved
    return "done" if exc is None else f"failed: {exc!r}"[:200]


def describe_future(fut: Any) -> tuple[str, list[Any]]:
    """Describe an awaited future; the second item lists the tasks it links to."""
    if fut is None:
        return "asyncio.sleep(0) (yield to the loop)", []
    if isinstance(fut, TASK_TYPES):
        return f"task {fut.get_name()} {task_label(fut)}", [fut]
    if _GATHERING and isinstance(fut, _GATHERING):
        children = [c for c in getattr(fut, "_children", ()) if isinstance(c, TASK_TYPES)]
        return f"gather({len(getattr(fut, '_children', ()))} awaitables)", children
    cls = type(fut)
    if cls.__module__.startswith("concurrent") or "wrap_future" in repr(fut):
        return "a thread (run_in_executor / to_thread)", []
    return f"a {cls.__name__} (set by another task or callback)", []


_USER, _API, _PASS, _FUTURE = 0, 1, 2, 3
# Per-code facts, found by the code's id: hashing a code object hashes its bytecode
# and constants, too slow per step. An entry keeps its code, so the id stays its own.
_code_kinds: dict[int, tuple[CodeType, int, str | None]] = {}  # (code, kind, static text)
_DYNAMIC_NAMES = ("sleep", "wait_for", "timeout", "_open", "_request")


def _code_entry(code: CodeType) -> tuple[CodeType, int, str | None]:
    entry = _code_kinds.get(id(code))
    if entry is None:
        static = None
        if not is_library(code.co_filename):
            kind = _USER
        elif code.co_qualname in ("Future.__await__", "Future.__iter__"):
            kind = _FUTURE  # the pure-Python Future: describe the future itself
        elif code.co_name in _PASS_THROUGH:
            kind = _PASS
        else:
            kind = _API
            # APIs whose text does not depend on their arguments are described once
            if not ({"self", "sock", "delay", "timeout", "url", "file", "str_or_url"}
                    & set(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount])) \
                    and code.co_name not in _DYNAMIC_NAMES:
                static = _api_text(code, None)
        if len(_code_kinds) > 100_000:
            _code_kinds.clear()
        entry = _code_kinds[id(code)] = (code, kind, static)
    return entry


def _code_kind(code: CodeType) -> int:
    return _code_entry(code)[1]


def static_api(code: CodeType) -> str | None:
    """The text of an awaited library API that does not depend on its arguments."""
    return _code_entry(code)[2]


def _api(code: CodeType, frame: FrameType | None) -> str:
    text = _code_entry(code)[2]
    return text if text is not None else _api_text(code, frame)


def describe_wait(task: Any) -> tuple[str, str, list[Any]]:
    """What a just-suspended ``task`` waits on: (what, user location, linked tasks).

    Walks the coroutine's ``cr_await`` chain: the first library frame names the
    API awaited (``asyncio.sleep(1)``); the last user frame before it is where.
    This runs after every step of every task while recording, so it is written
    for speed: per-code facts are computed once and cached.
    """
    obj = task.get_coro()
    where_frame = None
    fallback = ""
    depth = 0
    while obj is not None and depth < 64:
        depth += 1
        cls = type(obj)
        if cls is CoroutineType:
            code, frame, nxt = obj.cr_code, obj.cr_frame, obj.cr_await
        elif cls is GeneratorType:
            code, frame, nxt = obj.gi_code, obj.gi_frame, obj.gi_yieldfrom
        else:
            code = getattr(obj, "cr_code", None) or getattr(obj, "gi_code", None)
            if code is None:
                break  # a Future iterator or a foreign awaitable
            frame = getattr(obj, "cr_frame", None) or getattr(obj, "gi_frame", None)
            nxt = getattr(obj, "cr_await", None) or getattr(obj, "gi_yieldfrom", None)
        _, kind, static = _code_entry(code)
        if kind == _API:
            what = static if static is not None else _api_text(code, frame)
            return what, _where(where_frame), []
        if kind == _FUTURE:
            break
        if kind == _PASS:
            # ``async with lock``: describe what __aenter__ awaits (Lock.acquire)
            fallback = fallback or _api(code, frame)
        elif frame is not None and not fallback:
            where_frame = frame
        obj = nxt
    what, links = describe_future(task._fut_waiter)
    return fallback or what, _where(where_frame), links


_wheres: dict[tuple[int, int], tuple[CodeType, str]] = {}  # (id(code), line) -> (code, text)


def _where(frame: FrameType | None) -> str:
    if frame is None:
        return ""
    code = frame.f_code
    key = (id(code), frame.f_lineno)
    entry = _wheres.get(key)
    if entry is None:
        if len(_wheres) > 100_000:
            _wheres.clear()
        entry = _wheres[key] = (code, f"{short_path(code.co_filename)}:{key[1]}")
    return entry[1]


def describe_callback(handle: Any) -> str:
    """``Proto.data_received() at server.py:12`` for a loop callback handle."""
    cb = getattr(handle, "_callback", None)
    seen = 0
    while hasattr(cb, "func") and seen < 8:  # functools.partial
        cb, seen = cb.func, seen + 1
    func = getattr(cb, "__func__", cb)
    code = getattr(func, "__code__", None)
    if code is None:
        name = getattr(cb, "__qualname__", None) or type(cb).__name__
        return f"{name}()"
    return f"{code.co_qualname}() at {code_location(code)}"
