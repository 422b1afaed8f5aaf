# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The compiled recorder: the per-callback part of :mod:`vif.trace._recorder`, in C.

Owns what runs after every callback while a recording is on: :class:`StepLog`
(the base of ``LoopTracer``) and :class:`TaskRecord`. The compiled scheduler
calls :func:`_hook` through the capsule ``StepLog._vif_hook`` -- a C call, no
Python frame -- after each callback, with the handle, its callback and when it
started; the hook reads the monotonic clock (``clock_gettime``, the clock of
``time.monotonic()`` and so of ``loop.time()``) once per callback and hands that
reading back: the next callback starts then, and the loop's next step uses it
instead of reading the clock again. So a traced loop reads the clock as often as
an untraced one when each step runs one callback. Plain callbacks cost a counter, a type test and a
compare; a task step walks the task's await chain here, in C, with the caches
of :mod:`vif.trace._describe`, whose Python functions still describe the rare
cases. The texts mean the same as the pure recorder's; to get them cheaply, the
arguments of a new coroutine and the first local of a suspended one (sleep's
delay, a queue method's self) are read where CPython keeps them, at an offset
found and checked at import (else the frame's ``f_locals`` as before), and a
float's repr waits until the recording is read. Records keep their times in C
arrays, out of the garbage collector's sight. The pure-Python scheduler calls
:meth:`StepLog.callback` instead. ``VIF_NO_EXTENSIONS=1`` or a missing build:
:mod:`._recorder` uses its pure twin.
"""

import asyncio
from asyncio import tasks as _asyncio_tasks
from types import CoroutineType, FunctionType, GeneratorType, GetSetDescriptorType, MethodType

cimport cython
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from cpython.object cimport PyObject
from cpython.pycapsule cimport PyCapsule_New
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec

from . import _describe
from ._describe import (
    TASK_TYPES,
    coro_label,
    describe_future,
    end_state,
    label_name,
    short_label,
)

cdef extern from *:
    """
    /* A coroutine's or generator's code object, borrowed, from its struct where
       CPython keeps it there (3.11: gi_code; its getter also raises an audit
       event, a few hundred instructions); NULL elsewhere. */
    static PyObject *vif_gen_code(PyObject *gen) {
    #if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
        return (PyObject *)((PyGenObject *)gen)->gi_code;
    #else
        (void)gen;
        return NULL;
    #endif
    }
    """
    PyObject *vif_gen_code(object gen)

cdef extern from "Python.h":
    void PyObject_GC_UnTrack(object op)
    ctypedef struct PyGenObject:  # the part of generators and coroutines read here
        signed char gi_frame_state
    bint PyCFunction_Check(object op)
    ctypedef struct PyFrameObject
    int PyFrame_GetLasti(PyFrameObject *frame)
    ctypedef object (*getter)(object, void *)
    ctypedef struct PyGetSetDef:
        getter get
        void *closure
    ctypedef struct PyGetSetDescrObject:
        PyGetSetDef *d_getset
    PyObject *PyCFunction_GET_SELF(object op)
    PyObject *PyMethod_GET_SELF(object op)

# The hook's C signature; vif/_cscheduler.pyx declares the same.
ctypedef int (*trace_hook_t)(object, object, object, double *) except -1

cdef object _Task = asyncio.Task
cdef object _current_task = asyncio.current_task
cdef object _PyTask = _asyncio_tasks._PyTask
cdef dict _is_task_type = {}
cdef object _static_api = _describe.static_api
cdef object _code_kind = _describe._code_kind
cdef object _api_text = _describe._api_text
cdef object _where_text = _describe._where
cdef object _arg = _describe._arg
cdef int _USER = _describe._USER
cdef int _API = _describe._API
cdef int _PASS = _describe._PASS
cdef int _FUTURE = _describe._FUTURE
cdef object _SLEEP_CODE = _asyncio_tasks.sleep.__code__
cdef tuple _QUEUE_PREFIXES = ("Queue.", "PriorityQueue.", "LifoQueue.")
cdef frozenset _STDLIB_QUEUES = frozenset({asyncio.Queue, asyncio.PriorityQueue, asyncio.LifoQueue})
# Memoised texts (no tuple keys: they would feed the garbage collector per step)
cdef dict _sleep_int = {}  # delay -> "asyncio.sleep(delay)"
cdef dict _sleep_float = {}  # delay -> SleepText
# describe_wait's second and third results
cdef str _wait_where = ""
cdef object _wait_links = None
# Set by describe_wait when the task's own coroutine awaits asyncio.sleep directly:
# the delay (else None), for TaskRecord's memo of its last such wait.
cdef object _wait_sleep_delay = None


cdef inline double _now() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    # the same double as time.monotonic(): nanoseconds, then seconds
    return <double>(ts.tv_sec * 1000000000 + ts.tv_nsec) / 1e9


def monotonic():
    """The recorder's clock (``time.monotonic()``'s clock), for tests."""
    return _now()


# The type of the C Task's step callbacks on 3.11 (TaskStepMethWrapper: its task,
# then the value to send), once a callback has shown that its __self__, a C Task,
# is stored right after the object header; NULL until then.
cdef PyObject *_step_wrapper = NULL
cdef object _step_wrapper_ref = None


cdef void _note_wrapper(object callback, object task) noexcept:
    global _step_wrapper, _step_wrapper_ref
    tp = type(callback)
    if (tp.__name__ == "TaskStepMethWrapper"
            and tp.__basicsize__ == sizeof(PyObject) + 2 * sizeof(PyObject *)
            and (<PyObject **>((<char *><PyObject *>callback) + sizeof(PyObject)))[0]
            == <PyObject *>task):
        _step_wrapper_ref = tp
        _step_wrapper = <PyObject *>tp


cdef inline object _task_of(object callback):
    """The task whose step or wakeup ``callback`` is, else None."""
    cdef PyObject *owner
    cdef type tp = type(callback)
    if tp is FunctionType:
        return None
    if PyCFunction_Check(callback):
        owner = PyCFunction_GET_SELF(callback)
        if owner == NULL:
            return None
        obj = <object>owner
    elif tp is MethodType:
        obj = <object>PyMethod_GET_SELF(callback)
    elif <PyObject *>tp == _step_wrapper:  # its task is its first field: see _note_wrapper
        obj = <object>(<PyObject **>((<char *><PyObject *>callback) + sizeof(PyObject)))[0]
    else:
        obj = getattr(callback, "__self__", None)  # 3.11's TaskStepMethWrapper, partials...
        if obj is None:
            return None
        if _step_wrapper == NULL and type(obj) is _Task:
            _note_wrapper(callback, obj)
    tp = type(obj)
    if tp is _Task or tp is _PyTask:
        return obj
    known = _is_task_type.get(tp)
    if known is None:
        known = _is_task_type[tp] = isinstance(obj, TASK_TYPES)
    return obj if known else None


# Where a suspended coroutine keeps its first local variable (its first argument),
# as a byte offset into the coroutine object: asyncio.sleep's delay is read there,
# without making a frame object and its f_locals dict (a few thousand instructions
# per sleep on 3.11). Found at import by looking for a known object in a suspended
# probe coroutine; -1 (f_locals then) if not found exactly where expected.
cdef Py_ssize_t _LOCAL0 = -1
_PROBE_SOURCE = """
import types

@types.coroutine
def _once():
    yield

async def probe(first, second):
    await _once()
"""


cdef Py_ssize_t _find_local0() except -2:
    cdef Py_ssize_t off, found = -1, step = sizeof(PyObject *)
    cdef char *base
    namespace = {}
    exec(_PROBE_SOURCE, namespace)
    for attempt in range(2):
        first, second = object(), object()
        coro = namespace["probe"](first, second)
        try:
            coro.send(None)
            base = <char *><PyObject *>coro
            off = sizeof(PyObject)
            hit = -1
            while off + 2 * step <= coro.__sizeof__():
                if ((<PyObject **>(base + off))[0] == <PyObject *>first
                        and (<PyObject **>(base + off + step))[0] == <PyObject *>second):
                    hit = off
                    break
                off += step
        finally:
            coro.close()
        if hit < 0 or (found >= 0 and hit != found):
            return -1
        found = hit
    return found


cdef signed char _CREATED = 127  # gi_frame_state of a coroutine not started yet


cdef signed char _find_created() except? 127:
    """The frame state of a new coroutine, if its arguments are where _LOCAL0 says."""
    cdef PyObject **base
    namespace = {}
    exec(_PROBE_SOURCE, namespace)
    first, second = object(), object()
    coro = namespace["probe"](first, second)
    try:
        base = <PyObject **>((<char *><PyObject *>coro) + _LOCAL0)
        if base[0] != <PyObject *>first or base[1] != <PyObject *>second:
            return 127
        state = (<PyGenObject *><PyObject *>coro).gi_frame_state
        coro.send(None)
        if (<PyGenObject *><PyObject *>coro).gi_frame_state == state:
            return 127
        return state
    finally:
        coro.close()


cdef signed char _SUSPENDED = 127  # gi_frame_state of a suspended coroutine, if known


cdef signed char _find_suspended() except? 127:
    """The frame state of a suspended coroutine, if ``cr_suspended`` agrees."""
    namespace = {}
    exec(_PROBE_SOURCE, namespace)
    coro = namespace["probe"](None, None)
    try:
        before = (<PyGenObject *><PyObject *>coro).gi_frame_state
        if coro.cr_suspended:
            return 127
        coro.send(None)
        state = (<PyGenObject *><PyObject *>coro).gi_frame_state
        if not coro.cr_suspended or state == before:
            return 127
        return state
    finally:
        coro.close()


cdef inline bint _suspended(object coro) except -1:
    """``coro.cr_suspended`` of a coroutine, read in its struct when that is known."""
    if _SUSPENDED != 127:
        return (<PyGenObject *><PyObject *>coro).gi_frame_state == _SUSPENDED
    return coro.cr_suspended


_LOCAL0 = _find_local0()
if _LOCAL0 >= 0:
    _CREATED = _find_created()
_SUSPENDED = _find_suspended()


# The C getters of coroutines' and generators' cr_await, cr_code... : called
# directly, they skip the attribute lookup (a third of a task step's recording).
cdef getter _getter(type cls, str name) except? NULL:
    descr = cls.__dict__.get(name)
    if type(descr) is not GetSetDescriptorType:
        return NULL
    return (<PyGetSetDescrObject *><PyObject *>descr).d_getset.get


cdef getter _cr_await = _getter(CoroutineType, "cr_await")
cdef getter _cr_code = _getter(CoroutineType, "cr_code")
cdef getter _cr_frame = _getter(CoroutineType, "cr_frame")
cdef getter _gi_yieldfrom = _getter(GeneratorType, "gi_yieldfrom")
cdef getter _gi_code = _getter(GeneratorType, "gi_code")
cdef getter _gi_frame = _getter(GeneratorType, "gi_frame")


def in_place_reads():
    """(where coroutines keep their first local, in bytes, or -1; whether the
    arguments of coroutines not started yet are read there): for tests."""
    return _LOCAL0, _CREATED != 127


cdef object _first_local(object coro):
    """A suspended coroutine's first local, or None when it cannot be read here."""
    cdef PyObject *value
    if _LOCAL0 < 0 or not _suspended(coro):
        return None
    value = (<PyObject **>((<char *><PyObject *>coro) + _LOCAL0))[0]
    return None if value == NULL else <object>value


@cython.final
cdef class _Code:
    """What is known of one code object. Found by the code's id: hashing a code
    object hashes its bytecode and constants, far too slow per step; the entry
    holds the code, so the id stays its own."""

    cdef object code
    cdef int kind
    cdef object static  # the API text when it does not depend on the call
    cdef str queue  # the qualname of a Queue method, else ""
    cdef object first_local  # the name of local 0 when _first_local may read it, else None
    cdef dict queue_texts  # maxsize -> qsize -> text
    cdef dict wheres  # f_lasti -> "file:line"
    cdef int where_lasti  # the last f_lasti looked up, and its text
    cdef str where_text
    cdef str label  # a coroutine's label when it takes no argument, "" if it does
    cdef object label_name  # label_name(code), once needed
    cdef tuple argnames  # the names of the arguments a label shows
    cdef Py_ssize_t argcount  # how many of them are positional


cdef dict _codes = {}  # id(code) -> _Code
# In front of it, a direct-mapped cache keyed by the code's address; the _Code in
# the slot keeps that code alive, so an address found there is still that code.
cdef enum:
    _SLOTS = 1024
cdef PyObject *_slot_codes[_SLOTS]
cdef list _slot_infos = [None] * _SLOTS


cdef _Code _code_info(object code):
    cdef _Code info
    cdef size_t slot = (<size_t><PyObject *>code >> 4) & (_SLOTS - 1)
    if _slot_codes[slot] == <PyObject *>code:
        return <_Code>_slot_infos[slot]
    key = id(code)
    found = _codes.get(key)
    if found is not None:
        info = <_Code>found
    else:
        if len(_codes) > 100_000:
            _codes.clear()
        info = _Code.__new__(_Code)
        info.code = code
        info.kind = _code_kind(code)
        info.static = _static_api(code)
        qualname = code.co_qualname
        info.queue = qualname if qualname.startswith(_QUEUE_PREFIXES) else ""
        first = code.co_varnames[:1]
        info.first_local = first[0] if first and code.co_argcount and (
            first[0] not in code.co_cellvars) else None
        info.queue_texts = None
        info.wheres = {}
        info.where_lasti = -1
        info.label = None
        info.label_name = None
        _codes[key] = info
    _slot_infos[slot] = info
    _slot_codes[slot] = <PyObject *>code
    return info


cdef object _task_label(object task):
    """``_describe.task_label``; the label of a coroutine without arguments is memoised."""
    cdef _Code info
    try:
        coro = task.get_coro()
        cls = type(coro)
        if cls is CoroutineType:
            code = coro.cr_code
        elif cls is GeneratorType:
            code = coro.gi_code
        else:
            return coro_label(coro)
        info = _code_info(code)
        if info.label is None:
            static = True
            for name in code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]:
                if name != "self":
                    static = False
            text = coro_label(coro)
            info.label = text if static else ""
            return text
        if info.label:
            return info.label
        if cls is CoroutineType and _CREATED != 127 and (
                (<PyGenObject *><PyObject *>coro).gi_frame_state == _CREATED):
            return _created_label(coro, info)
        return coro_label(coro)
    except Exception:
        return type(task).__name__


cdef object _SKIP = object()  # an argument a label does not show (self, unset)


@cython.final
@cython.no_gc
cdef class LazyLabel:
    """The label of a new coroutine whose arguments are all numbers (or None),
    formatted only when the recording is read: ``sleep(0.1234)``'s float repr
    alone costs thousands of instructions per task. Numbers cannot change, so
    the text is the one ``coro_label`` gives at creation."""

    cdef _Code info
    cdef list values  # one per name in info.argnames; _SKIP where none is shown

    def __str__(self):
        cdef _Code info = self.info
        parts = []
        for i, value in enumerate(self.values):
            if value is _SKIP:
                continue
            text = _arg(value)
            parts.append(text if i < info.argcount else "".join((info.argnames[i], "=", text)))
        return short_label("".join((info.label_name, "(", ", ".join(parts), ")")))

    def __repr__(self):
        return repr(str(self))


cdef object _created_label(object coro, _Code info):
    """``coro_label`` of a coroutine not started yet, its arguments read where its
    frame keeps them (before it starts, even an argument a closure uses is there);
    a :class:`LazyLabel` when they are all numbers."""
    cdef PyObject **args = <PyObject **>((<char *><PyObject *>coro) + _LOCAL0)
    cdef Py_ssize_t i
    cdef LazyLabel lazy
    cdef type vtype
    if info.label_name is None:
        code = info.code
        info.argcount = code.co_argcount
        info.argnames = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
        info.label_name = label_name(code)
    values = []
    for i in range(len(info.argnames)):
        if args[i] == NULL or info.argnames[i] == "self":
            values.append(_SKIP)
            continue
        value = <object>args[i]
        vtype = type(value)
        if vtype is float or vtype is int or vtype is bool or value is None:
            values.append(value)
        else:
            break
    else:
        lazy = LazyLabel.__new__(LazyLabel)
        lazy.info = info
        lazy.values = values
        return lazy
    parts = []
    try:
        for i in range(len(info.argnames)):
            name = info.argnames[i]
            if args[i] == NULL or name == "self":
                continue
            text = _arg(<object>args[i])
            parts.append(text if i < info.argcount else "".join((name, "=", text)))
    except Exception:  # a hostile __repr__ must not break the traced program
        parts = ["..."]
    return short_label("".join((info.label_name, "(", ", ".join(parts), ")")))


@cython.final
@cython.no_gc
cdef class SleepText:
    """``asyncio.sleep(<a float>)``, a wait's text formatted only when the recording
    is read: a float's repr costs thousands of instructions, and a program that
    sleeps for random times would pay one per sleep."""

    cdef readonly object delay

    def __str__(self):
        return "".join(("asyncio.sleep(", _arg(self.delay), ")"))

    def __repr__(self):
        return repr(str(self))


cdef inline object _remember(dict memo, object key, object value, Py_ssize_t limit):
    """Store ``value`` under ``key`` in a memo bounded to ``limit`` entries; return it."""
    if len(memo) > limit:
        memo.clear()
    memo[key] = value
    return value


cdef object _last_delay = None  # the last delay _sleep_text saw (an int or a float),
cdef object _last_sleep = None  # and its text


cdef object _sleep_text(object delay):
    """The text of ``asyncio.sleep(delay)`` for an int or float delay; else None."""
    global _last_delay, _last_sleep
    if delay is _last_delay and delay is not None:
        return _last_sleep
    text = _sleep_text_of(delay)
    if text is not None:
        _last_delay = delay
        _last_sleep = text
    return text


cdef object _sleep_text_of(object delay):
    dtype = type(delay)
    if dtype is float:
        found = _sleep_float.get(delay)
        if found is None:
            found = SleepText.__new__(SleepText)
            (<SleepText>found).delay = delay
            _remember(_sleep_float, delay, found, 10_000)
        return found
    if dtype is not int:
        return None
    text = _sleep_int.get(delay)
    if text is None:
        text = _remember(_sleep_int, delay, f"asyncio.sleep({_arg(delay)})", 10_000)
    return text


cdef str _queue_text(_Code info, object this):
    """``Queue.get() on a queue of 0/inf`` for the queue ``this``; None if it fails."""
    cdef Py_ssize_t size
    try:
        if type(this) in _STDLIB_QUEUES:  # their qsize() and maxsize, without two calls
            size = len(this._queue)
            maxsize = this._maxsize
        else:
            size = this.qsize()
            maxsize = this.maxsize
    except Exception:
        return None
    if info.queue_texts is None:
        info.queue_texts = {}
    texts = info.queue_texts.get(maxsize)
    if texts is None:
        texts = info.queue_texts[maxsize] = {}
    text = texts.get(size)
    if text is None:
        text = f"{info.queue}() on a queue of {size}/{maxsize or 'inf'}"
        _remember(texts, size, text, 1_000)
    return text


cdef object _api(_Code info, object frame):
    """``_describe._api``: the cached text, sleep and Queue waits memoised here."""
    if info.static is not None:
        return info.static
    code = info.code
    if frame is None:
        return _api_text(code, frame)
    if code is _SLEEP_CODE:
        delay = frame.f_locals.get("delay")
        text = _sleep_text(delay)
        return _api_text(code, frame) if text is None else text
    if info.queue:
        this = frame.f_locals.get("self")
        if this is not None:
            text = _queue_text(info, this)
            if text is not None:
                return text
    return _api_text(code, frame)


cdef str _where(_Code info, object frame):
    """``_describe._where`` of ``frame`` (running ``info``'s code), keyed by its
    instruction: no line-table walk."""
    if frame is None:
        return ""
    cdef int lasti = PyFrame_GetLasti(<PyFrameObject *><PyObject *>frame)
    if lasti == info.where_lasti and lasti >= 0:
        return info.where_text
    cdef dict wheres = info.wheres
    text = wheres.get(lasti)
    if text is None:
        text = wheres[lasti] = _where_text(frame)
    info.where_lasti = lasti
    info.where_text = text
    return text


cdef inline object _code_of(object obj, type cls):
    """``_coro_attr(obj, cls, "cr_code", "gi_code", ...)``, from the struct when it can."""
    cdef PyObject *code
    if cls is CoroutineType or cls is GeneratorType:
        code = vif_gen_code(obj)
        if code != NULL:
            return <object>code
    return _coro_attr(obj, cls, "cr_code", "gi_code", _cr_code, _gi_code)


cdef inline object _coro_attr(object obj, type cls, str cr_name, str gi_name,
                              getter cr_get, getter gi_get):
    """A coroutine's ``cr_name`` attribute, a generator's ``gi_name`` (through their
    C getters when found); for another awaitable whichever it has, or None."""
    if cls is CoroutineType:
        return cr_get(obj, NULL) if cr_get != NULL else getattr(obj, cr_name)
    if cls is GeneratorType:
        return gi_get(obj, NULL) if gi_get != NULL else getattr(obj, gi_name)
    return getattr(obj, cr_name, None) or getattr(obj, gi_name, None)


cdef object describe_wait(object task, TaskRecord rec):
    """:func:`vif.trace._describe.describe_wait`, compiled: returns what the task waits
    on and sets ``_wait_where`` and ``_wait_links`` (None or the linked tasks).

    The task's own coroutine, its code and frame do not change from step to step:
    ``rec`` keeps them while the task lives (see ``TaskRecord.release``)."""
    global _wait_where, _wait_links, _wait_sleep_delay
    _wait_sleep_delay = None
    cdef int depth = 0
    cdef int kind
    cdef type cls
    cdef _Code info, where_info = None
    cdef bint top
    if rec._coro is None:
        rec._coro = task.get_coro()
    obj = rec._coro
    where_frame = None
    fallback = None
    while obj is not None and depth < 64:
        depth += 1
        cls = type(obj)
        top = depth == 1 and rec._coro_info is not None
        if top:
            info = rec._coro_info
            code = info.code
        else:
            code = _code_of(obj, cls)
            if code is None:
                break  # a Future iterator or a foreign awaitable
            info = _code_info(code)
            if depth == 1 and (cls is CoroutineType or cls is GeneratorType):
                rec._coro_info = info
        kind = info.kind
        if kind == _FUTURE:
            break
        if kind == _API and cls is CoroutineType and info.first_local is not None:
            # no frame object for sleep's delay or a queue method's self: see _LOCAL0
            text = None
            if code is _SLEEP_CODE and info.first_local == "delay":
                delay = _first_local(obj)
                text = _sleep_text(delay)
                if depth == 2 and where_info is rec._coro_info and text is not None:
                    _wait_sleep_delay = delay
            elif info.queue and info.first_local == "self":
                this = _first_local(obj)
                if this is not None:
                    text = _queue_text(info, this)
            if text is not None:
                _wait_where = _where(where_info, where_frame)
                _wait_links = None
                return text
        if kind == _USER and fallback is not None:
            pass  # below an ``async with``: the where is already decided
        else:
            if top and rec._coro_frame is not None:
                frame = rec._coro_frame
            else:
                frame = _coro_attr(obj, cls, "cr_frame", "gi_frame", _cr_frame, _gi_frame)
            if top:
                rec._coro_frame = frame
            if kind == _API:
                _wait_where = _where(where_info, where_frame)
                _wait_links = None
                return _api(info, frame)
            if kind == _PASS:
                if fallback is None:
                    fallback = _api(info, frame)
            elif frame is not None:
                where_frame = frame
                where_info = info
        obj = _coro_attr(obj, cls, "cr_await", "gi_yieldfrom", _cr_await, _gi_yieldfrom)
    what, _wait_links = describe_future(task._fut_waiter)
    _wait_where = _where(where_info, where_frame)
    return fallback if fallback else what


@cython.no_gc
cdef class TaskRecord:
    """One task's life. ``runs`` is flat: ``[start0, end0, start1, end1, ...]``;
    ``waits`` holds, per suspension, the interned (what, where) string ids. Both are
    C arrays here (lists when read), and a record is not tracked by the garbage
    collector (no cycle goes through one): a recording of many tasks must not make
    the program's collections slower."""

    cdef public Py_ssize_t index
    cdef public Py_ssize_t parent
    cdef public object name
    cdef object _label  # a str, or a LazyLabel until read
    cdef public object created
    cdef public object links
    cdef public object state
    cdef public Py_ssize_t loop
    cdef double *_runs
    cdef Py_ssize_t _nruns, _runs_room
    cdef long long *_waits
    cdef Py_ssize_t _nwaits, _waits_room
    cdef object _coro  # while the task lives: its coroutine,
    cdef _Code _coro_info  # what is known of that coroutine's code,
    cdef object _coro_frame  # and its frame (the same object from step to step)
    # The last wait that was asyncio.sleep awaited by the task's own coroutine: at
    # that instruction, with that delay object, it is the same wait again.
    cdef int _sleep_lasti
    cdef object _sleep_delay
    cdef long long _sleep_what, _sleep_where

    def __init__(self, Py_ssize_t index, Py_ssize_t parent, label, created, Py_ssize_t loop):
        self.index = index
        self.parent = parent
        self.name = ""
        self.label = label
        self.created = created
        self.links = None
        self.state = "pending"
        self.loop = loop

    def __dealloc__(self):
        PyMem_Free(self._runs)
        PyMem_Free(self._waits)

    def release(self):
        """Drop the references to the task's coroutine and frame (it ended, or the
        recording did)."""
        self._release()

    cdef inline void _release(self) noexcept:
        self._coro = self._coro_info = self._coro_frame = self._sleep_delay = None

    cdef inline bint _same_sleep(self, object coro) noexcept:
        """Whether the task's coroutine waits as at its memoised sleep (see above)."""
        cdef PyObject *code
        frame = self._coro_frame
        if self._sleep_delay is None or frame is None or _cr_await == NULL:
            return False
        if PyFrame_GetLasti(<PyFrameObject *><PyObject *>frame) != self._sleep_lasti:
            return False
        try:
            sub = _cr_await(coro, NULL)
        except Exception:
            return False
        if type(sub) is not CoroutineType:
            return False
        code = vif_gen_code(sub)
        return code == <PyObject *>_SLEEP_CODE and _first_local(sub) is self._sleep_delay

    @property
    def label(self):
        if type(self._label) is LazyLabel:
            self._label = str(self._label)
        return self._label

    @label.setter
    def label(self, value):
        self._label = value

    @property
    def runs(self):
        return [self._runs[i] for i in range(self._nruns)]

    @property
    def waits(self):
        return [self._waits[i] for i in range(self._nwaits)]

    cdef int add_run(self, double start, double end) except -1:
        cdef Py_ssize_t room
        cdef double *grown
        if self._nruns + 2 > self._runs_room:
            room = 8 if self._runs_room == 0 else 2 * self._runs_room
            grown = <double *>PyMem_Realloc(self._runs, room * sizeof(double))
            if grown == NULL:
                raise MemoryError()
            self._runs, self._runs_room = grown, room
        self._runs[self._nruns] = start
        self._runs[self._nruns + 1] = end
        self._nruns += 2
        return 0

    cdef int add_wait(self, long long what, long long where) except -1:
        cdef Py_ssize_t room
        cdef long long *grown
        if self._nwaits + 2 > self._waits_room:
            room = 8 if self._waits_room == 0 else 2 * self._waits_room
            grown = <long long *>PyMem_Realloc(self._waits, room * sizeof(long long))
            if grown == NULL:
                raise MemoryError()
            self._waits, self._waits_room = grown, room
        self._waits[self._nwaits] = what
        self._waits[self._nwaits + 1] = where
        self._nwaits += 2
        return 0


cdef enum:
    _ID_SLOTS = 16


cdef class StepLog:
    """The scheduler's tracer interface, compiled; ``LoopTracer`` derives from it.

    The subclass binds a recorder (``_bind``) and provides ``_slow``; see the
    module docstring for the C hook.
    """

    cdef public double slow
    cdef public Py_ssize_t ncallbacks
    cdef public double busy
    cdef public object recorder
    cdef public Py_ssize_t loop_index
    cdef public object _prev_tracer
    cdef dict _live
    cdef list _tasks
    cdef dict _string_ids
    cdef list _strings
    # In front of _string_ids: the last texts interned, by address (the list keeps
    # them alive, so an address found there is still that text).
    cdef PyObject *_ids_key[_ID_SLOTS]
    cdef Py_ssize_t _ids_value[_ID_SLOTS]
    cdef list _ids_refs

    _vif_hook = PyCapsule_New(<void *>_hook, b"vif.trace.hook.2", NULL)

    def _bind(self, recorder):
        self.recorder = recorder
        self.slow = recorder.slow
        self._live = recorder.live
        self._tasks = recorder.tasks
        self._string_ids = recorder._string_ids
        self._strings = recorder.strings
        self._ids_refs = [None] * _ID_SLOTS
        for i in range(_ID_SLOTS):
            self._ids_key[i] = NULL
        # These lists only ever hold records and strings (no references that could
        # make a cycle): the garbage collector need not walk them, as it would on
        # each full collection of the program.
        PyObject_GC_UnTrack(self._tasks)
        PyObject_GC_UnTrack(self._strings)

    def _make_create_task(self, orig, loop):
        return TaskCreator(orig, self, loop)

    cdef Py_ssize_t _intern(self, object text) except -1:
        """``Recorder.intern``: the id of ``text`` in the recording's strings."""
        cdef size_t slot = (<size_t><PyObject *>text >> 4) & (_ID_SLOTS - 1)
        if self._ids_key[slot] == <PyObject *>text:
            return self._ids_value[slot]
        ids = self._string_ids
        ident = ids.get(text)
        if ident is None:
            ident = ids[text] = len(self._strings)
            self._strings.append(text)
        self._ids_refs[slot] = text
        self._ids_key[slot] = <PyObject *>text
        self._ids_value[slot] = ident
        return ident

    cdef int _finish(self, object task, TaskRecord rec) except -1:
        """``Recorder.finish``: the task's end state; it is no longer live."""
        rec.name = task.get_name()
        rec.state = end_state(task)  # once per task: the shared one
        del self._live[task]
        rec._release()
        return 0

    cdef TaskRecord _new_task(self, object task, object parent, double created):
        """``Recorder.new_task``, compiled, for the tasks that ``create_task`` makes."""
        cdef TaskRecord rec = TaskRecord.__new__(TaskRecord)
        cdef list tasks = self._tasks
        found = self._live.get(parent) if parent is not None else None
        rec.index = len(tasks)
        rec.parent = (<TaskRecord>found).index if found is not None else -1
        rec._label = _task_label(task)
        rec.created = created
        rec.links = None
        rec.state = "pending"
        rec.loop = self.loop_index
        rec.name = ""  # read as the task ends (or is named slow, or the recording stops)
        tasks.append(rec)
        self._live[task] = rec
        return rec

    def callback(self, handle, double start, double end):
        """The pure-Python scheduler's call, after each callback ran."""
        _record(self, handle, handle._callback, start, end)

    cdef int _task_step(self, object handle, object task, double start, double end) except -1:
        cdef TaskRecord rec
        cdef Py_ssize_t n, w, h
        cdef bint done
        found = self._live.get(task)
        if found is None:
            if task.done():
                if end - start >= self.slow:
                    self._slow(handle, None, start, end)
                return 0
            found = self.recorder.new_task(task, None, start, self.loop_index)  # made before the recording
        rec = <TaskRecord>found
        rec.add_run(start, end)
        coro = rec._coro
        if coro is None:
            coro = rec._coro = task.get_coro()
        if type(coro) is CoroutineType and _SUSPENDED != 127:
            # A task is done once its coroutine is, never while it is suspended.
            done = (<PyGenObject *><PyObject *>coro).gi_frame_state != _SUSPENDED and task.done()
        else:
            done = task.done()
        if done:
            self._finish(task, rec)
        elif type(coro) is CoroutineType and rec._same_sleep(coro):
            rec.add_wait(rec._sleep_what, rec._sleep_where)
        else:
            try:
                what = describe_wait(task, rec)
                where = _wait_where
                links = _wait_links
            except Exception as exc:  # never let tracing break the traced program
                what, where, links = f"(not described: {exc!r})", "", None
            w = self._intern(what)
            h = self._intern(where)
            n = rec._nwaits
            rec.add_wait(w, h)
            if _wait_sleep_delay is not None and rec._coro_frame is not None:
                rec._sleep_delay = _wait_sleep_delay
                rec._sleep_lasti = PyFrame_GetLasti(<PyFrameObject *><PyObject *>rec._coro_frame)
                rec._sleep_what = w
                rec._sleep_where = h
            if links:
                live = self._live
                linked = [(<TaskRecord>lr).index for lr in map(live.get, links) if lr is not None]
                if linked:
                    if rec.links is None:
                        rec.links = {}
                    rec.links[n // 2] = linked
        if end - start >= self.slow:
            if not done:
                rec.name = task.get_name()
            self._slow(handle, rec, start, end)
        return 0


cdef inline int _record(StepLog log, object handle, object callback, double start,
                        double end) except -1:
    """Note one callback; 1 when that took more than a few instructions."""
    cdef int worked = 0
    log.ncallbacks += 1
    log.busy += end - start
    task = _task_of(callback)
    if task is not None:
        log._task_step(handle, task, start, end)
        worked = 1
    elif end - start >= log.slow:
        log._slow(handle, None, start, end)
        worked = 1
    prev = log._prev_tracer
    if prev is not None:
        worked = 1
        if isinstance(prev, StepLog):
            _record(<StepLog>prev, handle, callback, start, end)
        else:
            prev.callback(handle, start, end)
    return worked


@cython.final
cdef class TaskCreator:
    """The ``create_task`` a recording puts on a loop: the loop's own, then a note
    of the new task and of the task that made it."""

    cdef object _orig
    cdef StepLog _log
    cdef object _loop

    def __init__(self, orig, StepLog log, loop):
        self._orig = orig
        self._log = log
        self._loop = loop

    def __call__(self, coro, **kwargs):
        task = self._orig(coro, **kwargs)
        log = self._log
        found = log._live.get(task)
        if found is None:
            if not task.done():
                try:
                    log._new_task(task, _current_task(self._loop), _now())
                except Exception:  # never let tracing break the traced program
                    pass
        else:
            (<TaskRecord>found).name = task.get_name()
        return task


cdef int _hook(object tracer, object handle, object callback, double *clock) except -1:
    """The compiled scheduler's call after each callback. ``*clock`` is when the
    callback started (the step's last reading of the clock, or the hook's own
    after the previous callback); the hook sets it to its last reading, when the
    next callback starts."""
    cdef double now = _now()
    if _record(<StepLog>tracer, handle, callback, clock[0], now):
        now = _now()  # the next callback starts after the recorder's own work
    clock[0] = now
    return 0
