# cython: language_level=3, boundscheck=False, cdivision=True
"""The compiled scheduler: the C twin of :mod:`vif._scheduler`.

Same behaviour, same attribute names, compiled: handles are C objects whose
callbacks run inside their context through ``PyContext_Enter`` and a
vectorcall (no Python frame per callback); the ready queue is a list swapped
out once per step, the emptied one kept (with its storage) for the next step;
the timer heap is heapq's algorithm on C handles compared by ``(when, seq)``;
``run_forever`` loops over the steps in C and the step reads the clock with
``clock_gettime``; on the epoll backend the step calls ``epoll_wait`` itself
into a C array (no list of tuples per poll), registers fds with ``epoll_ctl``
and drains the eventfd with ``read(2)``. Where a subclass or an instance
overrides ``time``, ``_run_once``, ``call_at``, ``get_debug`` or
``_timer_handle_cancelled``, the loop calls the override, as asyncio's would.

Handles here are not subclasses of ``asyncio.Handle`` (a C type cannot derive
from a Python class); they offer its whole interface: ``cancel()``,
``cancelled()``, ``get_context()``, ``when()`` and asyncio's reprs. uvloop's
handles make the same choice.
"""

import heapq
import logging
import socket
import sys
import threading
from asyncio import base_events, events, format_helpers, futures

cimport cython
from cpython.buffer cimport PyBUF_WRITABLE, PyBuffer_IsContiguous, PyBuffer_Release, PyObject_GetBuffer
from cpython.object cimport PyObject, PyObject_Call
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_IsValid
from cpython.ref cimport Py_DECREF, Py_REFCNT
from libc.errno cimport EBADF, EEXIST, EINTR, ENOENT, errno
from libc.stdint cimport uint64_t

from vif._socket_head cimport nonblocking_fd, socket_head_matches

from ._backends.epoll import EpollBackend
from ._handles import check_callback
from ._hooks import notify_run, run_listeners
from ._wakeup import Wakeup


cdef extern from "Python.h":
    ctypedef struct PyListObject:
        PyObject **ob_item
        Py_ssize_t allocated
    ctypedef struct PyTupleObject:
        PyObject *ob_item[1]
    void Py_XDECREF(PyObject *ob)
    void Py_SET_SIZE(PyObject *ob, Py_ssize_t size)
    object PyObject_Vectorcall(object callable, PyObject **args, size_t nargsf, PyObject *kwnames)
    int PyContext_Enter(object ctx) except -1
    int PyContext_Exit(object ctx) except -1
    object PyContext_CopyCurrent()
    object PyContext_New()
    int PyErr_CheckSignals() except -1
    object PyErr_SetFromErrno(object type)
    PyObject *PyBytes_FromStringAndSize(const char *v, Py_ssize_t size)
    char *PyBytes_AS_STRING(PyObject *o)
    int _PyBytes_Resize(PyObject **bytes, Py_ssize_t newsize)

cdef extern from "sys/epoll.h" nogil:
    ctypedef union epoll_data_t:
        void *ptr
        int fd
        unsigned int u32
        unsigned long u64
    cdef struct epoll_event:
        unsigned int events
        epoll_data_t data
    int epoll_wait(int epfd, epoll_event *events, int maxevents, int timeout)
    int epoll_ctl(int epfd, int op, int fd, epoll_event *event)
    enum:
        EPOLLIN
        EPOLLOUT
        EPOLL_CTL_ADD
        EPOLL_CTL_MOD
        EPOLL_CTL_DEL

cdef extern from "unistd.h" nogil:
    ssize_t read(int fd, void *buf, size_t count)
    ssize_t write(int fd, const void *buf, size_t count)

cdef extern from "sys/socket.h" nogil:
    ssize_t recv(int sockfd, void *buf, size_t len, int flags)

cdef extern from *:
    """
    #include <errno.h>
    static inline int vif_would_block(int e) { return e == EAGAIN || e == EWOULDBLOCK; }
    """
    bint vif_would_block(int e)

cdef extern from "time.h" nogil:
    ctypedef long time_t
    cdef struct timespec:
        time_t tv_sec
        long tv_nsec
    int clock_gettime(int clk_id, timespec *tp)
    enum:
        CLOCK_MONOTONIC

cdef enum:
    MAX_EVENTS = 512

cdef extern from *:
    """
    /* The version tag of o's type: it changes whenever the type or a base is
       modified; 0 when the type has none (yet). Before 3.12 a flag says whether
       the tag is valid; from 3.12 on that flag is no longer set, and an invalid
       tag is 0 itself. */
    static inline unsigned int vif_type_tag(PyObject *o) {
        PyTypeObject *t = Py_TYPE(o);
    #if PY_VERSION_HEX < 0x030C0000
        if (!(t->tp_flags & Py_TPFLAGS_VALID_VERSION_TAG)) return 0;
    #endif
        return t->tp_version_tag;
    }
    /* The version of dict d: it changes whenever d does (3.11); 0 where
       CPython no longer offers it (3.12+ deprecates ma_version_tag). */
    static inline unsigned long long vif_dict_version(PyObject *d) {
    #if PY_VERSION_HEX < 0x030C0000
        return ((PyDictObject *)d)->ma_version_tag;
    #else
        return 0;
    #endif
    }
    """
    unsigned int vif_type_tag(PyObject *o)
    unsigned long long vif_dict_version(PyObject *d)

cdef extern from *:
    """
    /* The instance dict of o, a managed-dict object (an instance of a Python
       subclass of CScheduler), where CPython 3.13 keeps it: three pointers
       before the object, NULL until the dict exists. Read without making the
       dict (reading __dict__ would make it). NULL before 3.13, where vif does
       not rely on this layout (_MANAGED_DICT_READABLE checks it at import). */
    static inline PyObject *vif_managed_dict(PyObject *o) {
    #if PY_VERSION_HEX >= 0x030D0000
        if (PyType_HasFeature(Py_TYPE(o), Py_TPFLAGS_MANAGED_DICT))
            return *(PyObject **)((char *)o - 3 * sizeof(PyObject *));
    #endif
        return NULL;
    }
    """
    PyObject *vif_managed_dict(PyObject *o)

# A handle's context, made when it is needed. asyncio's handles copy the current
# context (a new Context, tracked by the garbage collector) when they are made;
# vif's keep the current context's variables instead (an immutable mapping
# shared with the context) and make their Context from them when they run or are
# asked for it: the same variables, no object of its own for a handle cancelled
# first, and none for the garbage collector to walk while handles wait. A
# handle nothing else holds runs in a Context the loop reuses, given the
# handle's variables for the run (see CScheduler._run_alone). This needs the
# layout of CPython's Context (unchanged since 3.7); _LAZY_CONTEXT checks it at
# import and falls back to copying.
cdef extern from *:
    """
    #if PY_VERSION_HEX >= 0x03070000 && PY_VERSION_HEX < 0x030F0000 && !defined(PYPY_VERSION)
    typedef struct {
        PyObject_HEAD
        PyObject *ctx_prev;
        PyObject *ctx_vars;
        PyObject *ctx_weakreflist;
        int ctx_entered;
    } vif_context_layout;
    /* The variables of the current context (borrowed), or NULL if there is none. */
    static inline PyObject *vif_current_vars(void) {
        PyObject *ctx = PyThreadState_Get()->context;
        return ctx == NULL ? NULL : ((vif_context_layout *)ctx)->ctx_vars;
    }
    static inline PyObject *vif_context_vars(PyObject *ctx) {
        return ((vif_context_layout *)ctx)->ctx_vars;
    }
    /* Give ctx (not entered) the variables vars. */
    static inline void vif_context_set_vars(PyObject *ctx, PyObject *vars) {
        Py_INCREF(vars);
        Py_SETREF(((vif_context_layout *)ctx)->ctx_vars, vars);
    }
    /* A new Context holding vars (a new reference). */
    static PyObject *vif_context_from_vars(PyObject *vars) {
        PyObject *ctx = PyContext_New();
        if (ctx != NULL) {
            Py_INCREF(vars);
            Py_SETREF(((vif_context_layout *)ctx)->ctx_vars, vars);
        }
        return ctx;
    }
    #else
    static inline PyObject *vif_current_vars(void) { return NULL; }
    static inline PyObject *vif_context_vars(PyObject *ctx) { return NULL; }
    static inline void vif_context_set_vars(PyObject *ctx, PyObject *vars) {}
    static PyObject *vif_context_from_vars(PyObject *vars) {
        PyErr_SetString(PyExc_RuntimeError, "no lazy contexts on this Python");
        return NULL;
    }
    #endif
    """
    PyObject *vif_current_vars()
    PyObject *vif_context_vars(object ctx)
    void vif_context_set_vars(object ctx, object vars)
    object vif_context_from_vars(object vars)


cdef bint _lazy_context_works():
    """Whether a Context made from another's variables holds them (the layout is right)."""
    import contextvars
    var = contextvars.ContextVar("vif-layout-probe")
    ctx = contextvars.copy_context()
    ctx.run(var.set, 42)
    if vif_context_vars(ctx) == NULL:
        return False
    made = vif_context_from_vars(<object>vif_context_vars(ctx))
    return made.run(var.get, None) == 42 and len(made) == len(ctx) and made is not ctx


cdef bint _LAZY_CONTEXT = _lazy_context_works()
# The variables of an empty context.
cdef object _EMPTY_VARS = <object>vif_context_vars(PyContext_New()) if _LAZY_CONTEXT else None


# The methods whose override the compiled loop honours (see CScheduler._own).
cdef enum:
    OWN_GET_DEBUG = 1
    OWN_CANCELLED = 2
    OWN_CALL_AT = 4
    OWN_RUN_ONCE = 8
    OWN_TIME = 16

# vif.trace's recorder offers a C function, in a capsule, that the loop calls after
# each callback instead of the tracer's callback() method (see vif/trace/_cstep.pyx).
ctypedef int (*trace_hook_t)(object, object, object, double *) except -1

logger = logging.getLogger("asyncio")
_heapify = heapq.heapify
_extract_stack = format_helpers.extract_stack
_format_callback_source = format_helpers._format_callback_source
_format_handle = base_events._format_handle

cdef double _MAXIMUM_POLL_TIMEOUT = 24 * 3600
cdef double _BUSY_POLL_INTERVAL = 250e-6
cdef double _THREADS_WINDOW = 0.010  # see vif/_scheduler.py on threads at work
cdef Py_ssize_t _MIN_SCHEDULED_TIMER_HANDLES = 100
cdef double _MIN_CANCELLED_TIMER_HANDLES_FRACTION = 0.5
cdef bint _FORMAT_TAKES_DEBUG = sys.version_info >= (3, 12)
# 3.12+ split BaseEventLoop.run_forever into _run_forever_setup/_cleanup.
cdef bint _HAS_RUN_FOREVER_SETUP = hasattr(base_events.BaseEventLoop, "_run_forever_setup")
_set_running_loop = events._set_running_loop
_base_run_in_executor = base_events.BaseEventLoop.run_in_executor
_active_count = threading.active_count
_socket_type = socket.socket
cdef bint _HEAD_KNOWN = socket_head_matches()  # See vif/_socket_head.pxd.
_get_ident = threading.get_ident
cdef object _Future = futures.Future  # what create_future makes, as BaseEventLoop's


cdef inline double _monotonic_c() noexcept:
    """time.monotonic() without the call: CLOCK_MONOTONIC, as CPython reads it."""
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return <double>(<long long>ts.tv_sec * 1000000000 + ts.tv_nsec) / 1e9


@cython.no_gc  # See _release_kept.
@cython.freelist(256)
cdef class Handle:
    """A scheduled callback: asyncio.Handle's interface, in C."""

    cdef public object _callback
    # Up to two arguments are kept inline (_nargs of them), not in the tuple the
    # caller's *args made: that tuple goes back to CPython's free list as the call
    # returns, where a kept one would be one more collectable object allocated
    # per handle (what the collector counts; see _release_kept). More arguments:
    # _nargs is -1 and _argv holds the tuple (None once dropped).
    cdef object _arg0
    cdef object _arg1
    cdef int _nargs
    cdef object _argv
    cdef public bint _cancelled
    cdef public object _loop
    cdef public object _source_traceback
    cdef public object _repr
    cdef object _ctx        # the context, or None while only _ctx_vars are kept
    cdef object _ctx_vars   # the variables of a context not made yet
    cdef bint _persistent   # runs each time its fd or signal fires (not once)
    cdef object __weakref__

    def __init__(self, callback, args, loop, context=None):
        if context is None:
            context = PyContext_CopyCurrent()
        self._ctx = context
        self._loop = loop
        self._callback = callback
        self._set_args(args)
        self._cancelled = False
        self._repr = None
        if loop.get_debug():
            self._source_traceback = _extract_stack(sys._getframe(1))
        else:
            self._source_traceback = None

    def _repr_info(self):
        info = [self.__class__.__name__]
        if self._cancelled:
            info.append("cancelled")
        if self._callback is not None:
            if _FORMAT_TAKES_DEBUG:
                info.append(_format_callback_source(
                    self._callback, self._get_args(), debug=self._loop.get_debug()))
            else:
                info.append(_format_callback_source(self._callback, self._get_args()))
        if self._source_traceback:
            frame = self._source_traceback[-1]
            info.append(f"created at {frame[0]}:{frame[1]}")
        return info

    def __repr__(self):
        if self._repr is not None:
            return self._repr
        return "<{}>".format(" ".join(self._repr_info()))

    @property
    def _args(self):
        return self._get_args()

    @_args.setter
    def _args(self, args):
        self._set_args(args)

    cdef inline void _set_args(self, object args) noexcept:
        """Inline if a tuple of up to two (see _arg0)."""
        cdef Py_ssize_t n
        if type(args) is tuple and len(<tuple>args) <= 2:
            n = len(<tuple>args)
            self._nargs = <int>n
            self._arg0 = (<tuple>args)[0] if n >= 1 else None
            self._arg1 = (<tuple>args)[1] if n == 2 else None
            self._argv = None
        else:
            self._nargs = -1
            self._argv = args
            self._arg0 = None
            self._arg1 = None

    cdef inline object _get_args(self):
        if self._nargs < 0:
            return self._argv
        if self._nargs == 0:
            return ()
        if self._nargs == 1:
            return (self._arg0,)
        return (self._arg0, self._arg1)

    cdef inline void _let_go(self) noexcept:
        """Drop the callback and its arguments (see _release_kept)."""
        self._callback = None
        self._set_args(None)

    @property
    def _context(self):
        return self._get_ctx()

    @_context.setter
    def _context(self, context):
        self._ctx = context
        self._ctx_vars = None

    cdef inline object _get_ctx(self):
        if self._ctx is None and self._ctx_vars is not None:
            self._ctx = vif_context_from_vars(self._ctx_vars)
            self._ctx_vars = None
        return self._ctx

    def get_context(self):
        return self._get_ctx()

    def cancel(self):
        self._cancel_c()

    cdef int _cancel_c(self) except -1:
        cdef object loop = self._loop
        cdef bint debug
        if not self._cancelled:
            self._cancelled = True
            if isinstance(loop, CScheduler) and (<CScheduler>loop)._own(OWN_GET_DEBUG, "get_debug"):
                debug = (<CScheduler>loop)._debug
            else:
                debug = loop.get_debug()
            if debug:
                # Keep the callback's description for "Executing ... took" warnings.
                self._repr = repr(self)
            self._let_go()
        return 0

    def cancelled(self):
        return self._cancelled

    def _run(self):
        self._run_c()

    cdef inline int _run_c(self) except -1:
        return self._run_in(self._get_ctx())

    cdef int _run_in(self, object context) except -1:
        """Run the callback in ``context``."""
        # Local references: the callback may cancel its own handle (dropping them).
        cdef object callback = self._callback
        cdef int nargs = self._nargs
        cdef object arg0 = self._arg0
        cdef object arg1 = self._arg1
        cdef object args = self._argv
        cdef PyObject *argv[2]
        cdef object error = None
        PyContext_Enter(context)
        try:
            if nargs >= 0:
                argv[0] = <PyObject*>arg0
                argv[1] = <PyObject*>arg1
                PyObject_Vectorcall(callback, argv, nargs, NULL)
            elif type(args) is tuple:
                PyObject_Vectorcall(callback, (<PyTupleObject*><PyObject*>args).ob_item,
                                    len(<tuple>args), NULL)
            else:
                callback(*args)
        except BaseException as exc:
            error = exc
        PyContext_Exit(context)
        if error is not None:
            if isinstance(error, (SystemExit, KeyboardInterrupt)):
                raise error
            if nargs >= 0:
                args = (arg0, arg1)[:nargs]
            self._report(error, callback, args)
        return 0

    cdef _report(self, exc, callback, args):
        if _FORMAT_TAKES_DEBUG:
            cb = _format_callback_source(callback, args, debug=self._loop.get_debug())
        else:
            cb = _format_callback_source(callback, args)
        context = {
            "message": f"Exception in callback {cb}",
            "exception": exc,
            "handle": self,
        }
        if self._source_traceback:
            context["source_traceback"] = self._source_traceback
        self._loop.call_exception_handler(context)


@cython.no_gc  # See _release_kept.
@cython.freelist(256)
cdef class TimerHandle(Handle):
    """A callback scheduled for a time: asyncio.TimerHandle's interface, in C."""

    cdef public double _when
    cdef public bint _scheduled
    cdef uint64_t _seq

    def __init__(self, when, callback, args, loop, context=None):
        Handle.__init__(self, callback, args, loop, context)
        if self._source_traceback:
            del self._source_traceback[-1]
        self._when = when
        self._scheduled = False

    def _repr_info(self):
        info = Handle._repr_info(self)
        pos = 2 if self._cancelled else 1
        info.insert(pos, f"when={self._when}")
        return info

    def __hash__(self):
        return hash(self._when)

    def __richcmp__(self, other, int op):
        if not isinstance(other, TimerHandle):
            if op == 2:
                return False
            if op == 3:
                return True
            return NotImplemented
        cdef TimerHandle o = <TimerHandle>other
        if op == 0:  # <
            return self._when < o._when or (self._when == o._when and self._seq < o._seq)
        if op == 1:  # <=
            return self._when < o._when or (self._when == o._when and self._seq <= o._seq)
        if op == 4:  # >
            return self._when > o._when or (self._when == o._when and self._seq > o._seq)
        if op == 5:  # >=
            return self._when > o._when or (self._when == o._when and self._seq >= o._seq)
        if op == 2 or op == 3:  # == / != (asyncio compares when, callback, args, cancelled)
            equal = (self._when == o._when and self._callback == o._callback
                     and self._get_args() == o._get_args() and self._cancelled == o._cancelled)
            return equal if op == 2 else not equal
        return NotImplemented

    def cancel(self):
        cdef CScheduler loop
        if not self._cancelled:
            if (isinstance(self._loop, CScheduler)
                    and (<CScheduler>self._loop)._own(OWN_CANCELLED, "_timer_handle_cancelled")):
                loop = <CScheduler>self._loop
                if self._scheduled:
                    loop._timer_cancelled_count += 1
            else:
                self._loop._timer_handle_cancelled(self)
        self._cancel_c()

    def when(self):
        return self._when


cdef class FdEntry:
    """Who waits on one fd: the interest mask and the reader / writer handles."""

    cdef public int mask
    cdef public object reader
    cdef public object writer


# -- the timer heap: heapq's algorithms on a list of TimerHandles, compared in C --

cdef inline bint _timer_lt(PyObject *a, PyObject *b) noexcept:
    cdef TimerHandle x = <TimerHandle>a
    cdef TimerHandle y = <TimerHandle>b
    return x._when < y._when or (x._when == y._when and x._seq < y._seq)


cdef inline void _sift_down(list heap, Py_ssize_t startpos, Py_ssize_t pos) noexcept:
    """heapq._siftdown: move heap[pos] up towards startpos (items are only permuted)."""
    cdef PyObject **items = (<PyListObject*>heap).ob_item
    cdef PyObject *newitem = items[pos]
    cdef Py_ssize_t parentpos
    while pos > startpos:
        parentpos = (pos - 1) >> 1
        if _timer_lt(newitem, items[parentpos]):
            items[pos] = items[parentpos]
            pos = parentpos
            continue
        break
    items[pos] = newitem


cdef inline void _sift_up(list heap, Py_ssize_t pos) noexcept:
    """heapq._siftup: bubble the smaller child up from pos to a leaf, then sift down."""
    cdef PyObject **items = (<PyListObject*>heap).ob_item
    cdef Py_ssize_t endpos = len(heap)
    cdef Py_ssize_t startpos = pos
    cdef PyObject *newitem = items[pos]
    cdef Py_ssize_t childpos = 2 * pos + 1
    while childpos < endpos:
        if childpos + 1 < endpos and not _timer_lt(items[childpos], items[childpos + 1]):
            childpos += 1
        items[pos] = items[childpos]
        pos = childpos
        childpos = 2 * pos + 1
    items[pos] = newitem
    _sift_down(heap, startpos, pos)


cdef inline int _heap_push(list heap, TimerHandle timer) except -1:
    heap.append(timer)
    _sift_down(heap, 0, len(heap) - 1)
    return 0


# Handles are invisible to the garbage collector: their type has no GC support
# (as rloop's). Allocating a collectable object counts towards the collector's
# next collection; 100k tasks that yield, or 100k concurrent sleeps, queue 100k
# handles at once, and counting those made the collector run more often, each
# full collection walking every live task (most of the time of such bursts). The
# collector never frees too much this way: what a handle refers to only counts
# as reachable. The cost is that a cycle through a handle is never collected, so
# no handle keeps one once the loop is done with it:
#   - cancel() drops the callback and its arguments (as asyncio's does);
#   - a handle that ran once (call_soon, call_later, ...) drops them after it ran
#     if anything but the step still holds it (an object that keeps its own timer
#     is a cycle); its context stays, as asyncio's does;
#   - close() drops those of the handles still queued or waiting in the heap.
# A handle whose context holds the handle itself (a context variable's value
# keeps it) stays a cycle after it ran: cancel it, or let go of it.

cdef inline void _release_kept(Handle handle, Py_ssize_t held) noexcept:
    """After a handle ran: if anything but the caller's ``held`` references keeps
    it and it runs only once, drop its callback and arguments."""
    if Py_REFCNT(handle) > held and not handle._persistent:
        handle._let_go()


cdef void _release_all(list queue) noexcept:
    """close(): drop the callback and arguments of every vif handle still in
    ``queue`` (the heap or the ready queue); it will never run."""
    for handle in queue:
        if isinstance(handle, Handle):
            (<Handle>handle)._let_go()


cdef inline TimerHandle _heap_pop(list heap):
    cdef object last = heap.pop()
    cdef object first
    if heap:
        first = heap[0]
        heap[0] = last
        _sift_up(heap, 0)
        return <TimerHandle>first
    return <TimerHandle>last


cdef inline int _set_context(Handle handle, object context) except -1:
    """Give a new handle ``context``, or (None) the current context's variables, its
    Context made when the handle runs or is asked for it (see _LAZY_CONTEXT): for a
    handle that waits in the ready queue or the heap, a Context that exists only
    while its callback runs."""
    cdef PyObject *ctx_vars
    if context is None:
        ctx_vars = vif_current_vars() if _LAZY_CONTEXT else NULL
        if ctx_vars != NULL:
            handle._ctx_vars = <object>ctx_vars
            return 0
        context = PyContext_CopyCurrent()
    handle._ctx = context
    return 0


cdef inline Handle _new_handle(object callback, object args, object loop, object context, bint debug):
    cdef Handle handle = Handle.__new__(Handle)
    _set_context(handle, context)
    handle._loop = loop
    handle._callback = callback
    handle._set_args(args)
    handle._cancelled = False
    handle._repr = None
    if debug:
        handle._source_traceback = _extract_stack(sys._getframe(2))
    else:
        handle._source_traceback = None
    return handle


cdef inline Handle _new_persistent_handle(object callback, object args, object loop,
                                         object context, bint debug):
    """A handle that runs each time its fd or signal fires: it keeps its callback
    and arguments after a run (see _release_kept)."""
    cdef Handle handle = _new_handle(callback, args, loop, context, debug)
    handle._persistent = True
    return handle


cdef Py_ssize_t _recv_nowait(int fd, char *buf, Py_ssize_t n) except -2:
    """recv(2) of up to ``n`` bytes on ``fd``: the count, or -1 if it would block."""
    cdef ssize_t got
    while True:
        got = recv(fd, buf, n, 0)
        if got >= 0:
            return got
        if errno == EINTR:
            PyErr_CheckSignals()  # As socket.recv does (PEP 475).
        elif vif_would_block(errno):
            return -1
        else:
            PyErr_SetFromErrno(OSError)


cdef inline int _plain_fd(object sock) except -3:
    """The fd to recv(2) from if ``sock.recv*`` is exactly recv(2) (a socket.socket
    without a timeout; -1 once closed), else -2."""
    if type(sock) is not _socket_type:
        return -2
    return nonblocking_fd(sock, _HEAD_KNOWN)


cdef int _fileobj_to_fd(object fileobj) except -1:
    cdef long fd
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


cdef class CScheduler:
    """The scheduler mixin of the compiled loop (see vif._scheduler for the design)."""

    cdef public object _ready
    cdef public object _scheduled
    cdef public Py_ssize_t _timer_cancelled_count
    cdef public bint _closed
    cdef public bint _stopping
    cdef public bint _debug
    cdef public double _clock_resolution
    cdef public object _backend
    cdef public object _poll
    cdef public object _wakeup
    cdef public int _wakeup_fd
    cdef public bint _wake_pending
    cdef public object _tracer
    cdef public object _current_handle
    cdef public object _transports
    cdef dict _fd_table
    cdef int _READ
    cdef int _WRITE
    cdef int _ONESHOT  # see vif/_scheduler.py on one-shot waits
    cdef set _parked
    cdef int _epfd
    cdef double _last_poll
    cdef bint _alone  # no other Python thread at the last backend poll (not epoll)
    cdef Py_ssize_t _executor_jobs  # run_in_executor futures not done yet
    cdef double _threads_until  # monotonic time until which threads count as at work
    cdef bint _threads_called   # call_soon_threadsafe ran since _threads_at_work looked
    cdef double _traced_until  # the C tracer's last clock reading in the last step, or -1
    cdef uint64_t _timer_seq
    # The rest of the loop's state, which asyncio's BaseEventLoop and vif's
    # mixins set: here rather than in an instance dict (see
    # _managed_dict_readable).
    cdef public object _asyncgens
    cdef public object _asyncgens_shutdown_called
    cdef public object _coroutine_origin_tracking_enabled
    cdef public object _coroutine_origin_tracking_saved_depth
    cdef public object _default_executor
    cdef public object _exception_handler
    cdef public object _executor_shutdown_called
    cdef public object _internal_fds
    cdef public object _old_agen_hooks
    cdef public object _task_factory
    cdef public object _thread_id
    cdef public object slow_callback_duration
    cdef public object _recv_view
    cdef public object _unix_server_sockets
    cdef public object _signal_handlers
    cdef public object _ssock
    cdef public object _csock
    cdef dict _instance_dict  # before 3.13 (see _own)
    cdef unsigned int _own_tag
    cdef int _own_type_bits
    cdef unsigned long long _own_version
    cdef int _own_dict_bits
    cdef list _spare_ready
    cdef object _spare_context  # see _run_alone
    cdef dict _future_kwargs
    cdef bint _wakeup_is_eventfd
    cdef epoll_event _events[MAX_EVENTS]

    def _init_scheduler(self, backend=None):
        if backend is None:
            from ._backends import default_backend
            backend = default_backend()
        self._backend = backend
        self._poll = backend.poll
        self._READ = backend.READ
        self._WRITE = backend.WRITE
        self._epfd = backend.fileno() if type(backend) is EpollBackend else -1
        self._fd_table = {}
        self._ONESHOT = getattr(backend, "ONESHOT", 0)
        self._parked = set()
        self._timer_seq = 0
        self._ready = []
        self._wakeup = Wakeup()
        self._wakeup_fd = self._wakeup.fileno()
        # An eventfd reads and writes 8-byte counters; a pipe does not.
        self._wakeup_is_eventfd = self._wakeup._chunk == 8
        self._wake_pending = False
        backend.register(self._wakeup_fd, self._READ)
        self._tracer = None
        self._last_poll = float("-inf")
        self._alone = True
        self._executor_jobs = 0
        self._threads_until = float("-inf")
        # The step reads the clock in C unless time() is overridden (by a
        # subclass, or on the instance: see _now).
        if _MANAGED_DICT_READABLE:
            self._instance_dict = None  # 3.13: _own reads the dict in place
        else:
            # Before 3.13, _own looks overrides up in the instance dict, made
            # here. On 3.11 a dict made before the instance has an attribute is
            # a dict of its own, which every method lookup (loop.get_debug())
            # must probe: 82 ns instead of 50. One made from an attribute's value
            # shares its class's keys, which a lookup checks at a glance. So: set
            # one, make the dict, drop the attribute.
            self._vif_dict_seed = None
            self._instance_dict = self.__dict__
            del self._vif_dict_seed

    def _drop_queued(self):
        """Before close() empties the queues: what waits there will never run
        (see _release_kept)."""
        _release_all(self._ready)
        _release_all(self._scheduled)

    def _close_scheduler(self):
        self._fd_table.clear()
        self._parked.clear()
        self._future_kwargs = None  # a loop <-> dict cycle
        self._backend.close()
        self._wakeup.close()
        self._wakeup_fd = -1
        self._epfd = -1

    def _instance_attributes(self):
        """The attributes set on this loop itself: its ``__dict__``, or on 3.13 an
        empty dict while it has none (not made: see _managed_dict_readable)."""
        cdef PyObject *instance_dict
        if _MANAGED_DICT_READABLE:
            instance_dict = vif_managed_dict(<PyObject*>self)
            return {} if instance_dict == NULL else <object>instance_dict
        return self._instance_dict  # made by _init_scheduler

    def _registered_fd_count(self):
        return len(self._fd_table)

    def _fd_interest(self, fd):
        entry = self._fd_table.get(fd)
        if entry is None:
            return (False, False)
        return ((<FdEntry>entry).reader is not None, (<FdEntry>entry).writer is not None)

    def time(self):
        return _monotonic_c()

    cdef inline bint _own(self, int bit, str name):
        """Whether this loop's method ``name`` (flag ``bit``) is the native one (not overridden).

        The answer of the class is kept until the class changes (its version tag),
        the instance's until its ``__dict__`` changes (its version, on 3.11).
        """
        cdef unsigned int tag = vif_type_tag(<PyObject*>self)
        cdef unsigned long long version
        cdef PyObject *instance_dict
        if tag == 0 or tag != self._own_tag:
            self._own_type_bits = _own_bits(type(self))
            self._own_tag = vif_type_tag(<PyObject*>self)  # The lookups gave it a tag.
        if not self._own_type_bits & bit:
            return False
        if _MANAGED_DICT_READABLE:
            instance_dict = vif_managed_dict(<PyObject*>self)
            return instance_dict == NULL or name not in <dict>instance_dict
        if self._instance_dict is None:
            return True
        version = vif_dict_version(<PyObject*>self._instance_dict)
        if version == 0:
            return name not in self._instance_dict
        if version != self._own_version:
            self._own_dict_bits = 0
            for flag, method, _ in _OWN_NAMES:
                if method not in self._instance_dict:
                    self._own_dict_bits |= <int>flag
            self._own_version = version
        return (self._own_dict_bits & bit) != 0

    cdef inline bint _native_clock(self) except? -1:
        """Whether self.time() is this class's own (CLOCK_MONOTONIC, read in C)."""
        return self._own(OWN_TIME, "time")

    cdef inline double _clock(self, bint native) except? -1.0:
        """_now() once _native_clock() is known."""
        return _monotonic_c() if native else self.time()

    cdef inline double _now(self) except? -1.0:
        """self.time(), read in C when it is this class's own."""
        if self._native_clock():
            return _monotonic_c()
        return self.time()

    def get_debug(self):
        return self._debug

    def create_future(self):
        # futures.Future(loop=self), with the keyword dict made once per loop.
        # (Not Future(): finding the running loop costs a getpid() syscall.)
        if self._future_kwargs is None:
            self._future_kwargs = {"loop": self}
        return PyObject_Call(_Future, (), self._future_kwargs)

    # -- scheduling ----------------------------------------------------------

    cdef inline int _queue(self, Handle handle) except -1:
        """Append a new handle to the ready queue."""
        (<list>self._ready).append(handle)
        return 0

    def call_soon(self, callback, *args, context=None):
        if self._closed:
            raise RuntimeError("Event loop is closed")
        if self._debug:
            self._check_thread()
            check_callback(callback, "call_soon")
        cdef Handle handle = _new_handle(callback, args, self, context, self._debug)
        if handle._source_traceback:
            del handle._source_traceback[-1]
        self._queue(handle)
        return handle

    def _call_soon(self, callback, args, context):
        cdef Handle handle = _new_handle(callback, args, self, context, self._debug)
        if handle._source_traceback:
            del handle._source_traceback[-1]
        self._queue(handle)
        return handle

    def _make_handle(self, callback, args, context=None):
        """A handle that runs each time it is queued (a signal's)."""
        return _new_persistent_handle(callback, args, self, context, self._debug)

    def _add_callback(self, handle):
        if not isinstance(handle, Handle):
            raise TypeError(f"expected a handle of the compiled scheduler, got {handle!r}")
        if not (<Handle>handle)._cancelled:
            (<list>self._ready).append(handle)

    def call_later(self, delay, callback, *args, context=None):
        if delay is None:
            raise TypeError("delay must not be None")
        if not self._debug and self._own(OWN_CALL_AT, "call_at"):
            # What self.call_at(self.time() + delay, ...) does, without the calls
            # (and, for an int or float delay, without a float object for the sum).
            if type(delay) is float or type(delay) is int:
                return self._push_timer(self._now() + <double>delay, callback, args, context)
            return self._push_timer(self._now() + delay, callback, args, context)
        timer = self.call_at(self.time() + delay, callback, *args, context=context)
        if timer._source_traceback:
            del timer._source_traceback[-1]
        return timer

    def call_at(self, when, callback, *args, context=None):
        if when is None:
            raise TypeError("when cannot be None")
        return self._push_timer(when, callback, args, context)

    cdef TimerHandle _push_timer(self, double when, callback, tuple args, context):
        """call_at() once ``when`` is checked: make the timer and push it on the heap."""
        if self._closed:
            raise RuntimeError("Event loop is closed")
        if self._debug:
            self._check_thread()
            check_callback(callback, "call_at")
        cdef TimerHandle timer = TimerHandle.__new__(TimerHandle)
        _set_context(timer, context)
        timer._loop = self
        timer._callback = callback
        timer._set_args(args)
        timer._cancelled = False
        timer._repr = None
        if self._debug:
            timer._source_traceback = _extract_stack(sys._getframe(1))
        else:
            timer._source_traceback = None
        timer._when = when
        timer._seq = self._timer_seq
        self._timer_seq += 1
        _heap_push(self._scheduled, timer)
        timer._scheduled = True
        return timer

    def _timer_handle_cancelled(self, handle):
        if handle._scheduled:
            self._timer_cancelled_count += 1

    def call_soon_threadsafe(self, callback, *args, context=None):
        if self._closed:
            raise RuntimeError("Event loop is closed")
        if self._debug:
            check_callback(callback, "call_soon_threadsafe")
        cdef Handle handle = _new_handle(callback, args, self, context, self._debug)
        if handle._source_traceback:
            del handle._source_traceback[-1]
        self._queue(handle)
        self._threads_called = True  # (the step reads the clock for it, not each call)
        if not self._wake_pending:
            self._wake_pending = True
            self._wake()
        return handle

    def run_in_executor(self, executor, func, *args):
        fut = _base_run_in_executor(self, executor, func, *args)
        self._executor_jobs += 1
        fut.add_done_callback(self._executor_job_done)
        return fut

    def _executor_job_done(self, fut):
        self._executor_jobs -= 1

    cdef inline bint _threads_at_work(self, double now) noexcept:
        """Whether threads are at work for this loop: then every step polls and
        lets go of the GIL for it (see vif/_scheduler.py). ``now``: the monotonic
        clock, or -1 to read it."""
        if self._executor_jobs:
            return True
        if now < 0:
            now = _monotonic_c()
        if self._threads_called:
            # A thread called call_soon_threadsafe: at work from now on, for the
            # window (from when the step sees the call, at most a step later).
            self._threads_called = False
            self._threads_until = now + _THREADS_WINDOW
            return True
        return now < self._threads_until

    # -- the sock_* calls' first attempt (vif._sockops): recv(2) itself, so that
    # "would block" is a return value, not an OSError raised and caught.

    def _try_recv(self, sock, n):
        """``sock.recv(n)``, or None if it would block."""
        cdef Py_ssize_t size, got
        cdef PyObject *data
        cdef int fd = _plain_fd(sock)
        if type(n) is not int or n < 0 or fd == -2:
            return _try_recv_py(sock, n)
        size = n
        data = PyBytes_FromStringAndSize(NULL, size)
        if data == NULL:
            raise MemoryError
        try:
            got = _recv_nowait(fd, PyBytes_AS_STRING(data), size)
        except BaseException:
            Py_DECREF(<object>data)
            raise
        if got < 0:
            Py_DECREF(<object>data)
            return None
        if got != size and _PyBytes_Resize(&data, got) < 0:
            raise MemoryError
        result = <object>data
        Py_DECREF(result)  # <object> took a reference of its own.
        return result

    def _try_recv_into(self, sock, buf, nbytes=0):
        """``sock.recv_into(buf, nbytes)``, or None if it would block."""
        cdef Py_buffer view
        cdef Py_ssize_t size, got
        cdef int fd = _plain_fd(sock)
        if type(nbytes) is not int or nbytes < 0 or fd == -2:
            return _try_recv_into_py(sock, buf, nbytes)
        try:
            PyObject_GetBuffer(buf, &view, PyBUF_WRITABLE)
        except BufferError:
            return _try_recv_into_py(sock, buf, nbytes)  # It raises as recv_into does.
        try:
            size = nbytes if nbytes else view.len
            if size > view.len or not PyBuffer_IsContiguous(&view, b'C'):
                return _try_recv_into_py(sock, buf, nbytes)
            got = _recv_nowait(fd, <char*>view.buf, size)
        finally:
            PyBuffer_Release(&view)
        return None if got < 0 else got

    def _write_to_self(self):
        if not self._wake_pending and self._wakeup_fd >= 0:
            self._wake_pending = True
            self._wake()

    cdef inline void _wake(self):
        """Wake the poll. An eventfd is written here, without letting go of the GIL.

        ``os.write`` would release the GIL around a write that cannot block: a thread
        that calls ``call_soon_threadsafe`` in a loop would then hand the GIL to the
        woken loop thread on every wakeup and wait for it back. Kept, the producer runs
        on and the loop takes a whole batch when it gets the GIL.
        """
        cdef uint64_t one = 1
        cdef int fd = self._wakeup_fd
        if self._wakeup_is_eventfd:
            if fd >= 0:
                write(fd, &one, 8)  # EAGAIN (counter full) or EBADF (closed): nothing to do.
        else:
            self._wakeup.wake()

    def _class_version(self):
        """The version tag of this loop's class (see Scheduler._class_version):
        CPython changes it whenever the class or one of its bases is modified;
        0 until the class has one."""
        return vif_type_tag(<PyObject*>self)

    def _check_closed(self):
        # asyncio's, as a C method: BaseEventLoop's callers (create_task, the
        # executor and connection methods) call it through the instance.
        if self._closed:
            raise RuntimeError("Event loop is closed")

    # -- fd table ------------------------------------------------------------

    def _add_reader(self, fd, callback, *args):
        if self._closed:
            raise RuntimeError("Event loop is closed")
        cdef int fdn = _fileobj_to_fd(fd)
        cdef Handle handle = _new_persistent_handle(callback, args, self, None, False)
        cdef FdEntry entry = self._fd_table.get(fdn)
        if entry is None:
            self._register(fdn, self._READ)
            entry = FdEntry.__new__(FdEntry)
            entry.mask = self._READ
            entry.reader = handle
            entry.writer = None
            self._fd_table[fdn] = entry
        elif entry.mask & self._ONESHOT:  # A one-shot wait's registration becomes ordinary.
            self._want(fdn, entry, self._READ | (self._WRITE if entry.writer is not None else 0))
        elif not entry.mask & self._READ:
            self._want(fdn, entry, entry.mask | self._READ)
        if entry.reader is not handle:
            old = entry.reader
            entry.reader = handle
            if old is not None:
                old.cancel()
        return handle

    def _add_writer(self, fd, callback, *args):
        if self._closed:
            raise RuntimeError("Event loop is closed")
        cdef int fdn = _fileobj_to_fd(fd)
        cdef Handle handle = _new_persistent_handle(callback, args, self, None, False)
        cdef FdEntry entry = self._fd_table.get(fdn)
        if entry is None:
            self._register(fdn, self._WRITE)
            entry = FdEntry.__new__(FdEntry)
            entry.mask = self._WRITE
            entry.reader = None
            entry.writer = handle
            self._fd_table[fdn] = entry
        elif entry.mask & self._ONESHOT:  # A one-shot wait's registration becomes ordinary.
            self._want(fdn, entry, self._WRITE | (self._READ if entry.reader is not None else 0))
        elif not entry.mask & self._WRITE:
            self._want(fdn, entry, entry.mask | self._WRITE)
        if entry.writer is not handle:
            old = entry.writer
            entry.writer = handle
            if old is not None:
                old.cancel()
        return handle

    def _remove_reader(self, fd):
        if self._closed:
            return False
        cdef int fdn = _fileobj_to_fd(fd)
        cdef FdEntry entry = self._fd_table.get(fdn)
        if entry is None or entry.reader is None:
            return False
        handle = entry.reader
        self._drop_interest(fdn, entry, self._READ)
        entry.reader = None
        handle.cancel()
        return True

    def _remove_writer(self, fd):
        if self._closed:
            return False
        cdef int fdn = _fileobj_to_fd(fd)
        cdef FdEntry entry = self._fd_table.get(fdn)
        if entry is None or entry.writer is None:
            return False
        handle = entry.writer
        self._drop_interest(fdn, entry, self._WRITE)
        entry.writer = None
        handle.cancel()
        return True

    # The backend's register / modify / unregister; epoll_ctl(2) itself on epoll,
    # with EpollBackend's handling of fds closed and reused behind our back.

    cdef int _epoll_ctl(self, int op, int fd, int mask) except -1:
        cdef epoll_event ev
        ev.events = <unsigned int>mask
        ev.data.u64 = 0
        ev.data.fd = fd
        if epoll_ctl(self._epfd, op, fd, &ev) < 0:
            return errno
        return 0

    cdef int _ctl(self, int op, int fd, int mask) except -1:
        """Register (ADD), modify (MOD) or unregister (DEL) ``fd`` with the poller."""
        cdef int err
        if self._epfd < 0:
            if op == EPOLL_CTL_ADD:
                self._backend.register(fd, mask)
            elif op == EPOLL_CTL_MOD:
                self._backend.modify(fd, mask)
            else:
                self._backend.unregister(fd)
            return 0
        err = self._epoll_ctl(op, fd, mask)
        if op == EPOLL_CTL_ADD and err == EEXIST:
            # The fd was closed and reused without being unregistered from us.
            err = self._epoll_ctl(EPOLL_CTL_MOD, fd, mask)
        elif op == EPOLL_CTL_MOD and err == ENOENT:
            # The kernel dropped the fd when it was closed; a new file has its number.
            err = self._epoll_ctl(EPOLL_CTL_ADD, fd, mask)
        elif op == EPOLL_CTL_DEL and (err == ENOENT or err == EBADF):
            err = 0
        if err:
            errno = err
            PyErr_SetFromErrno(OSError)
        return 0

    cdef int _register(self, int fd, int mask) except -1:
        """Register ``fd`` (not in the table) with the poller; re-arm it if parked."""
        if fd in self._parked:
            self._parked.discard(fd)
            self._ctl(EPOLL_CTL_MOD, fd, mask)  # Another file now at this number: ADD.
        else:
            self._ctl(EPOLL_CTL_ADD, fd, mask)
        return 0

    def _wait_fd(self, fd, bint reading, callback, args):
        """``_add_reader`` (or writer) for a wait that ends after one event (one-shot)."""
        cdef int fdn = fd
        cdef int oneshot = self._ONESHOT
        cdef Handle handle
        cdef FdEntry entry
        if not oneshot or fdn in self._fd_table:
            if reading:
                return self._add_reader(fd, callback, *args)
            return self._add_writer(fd, callback, *args)
        if self._closed:
            raise RuntimeError("Event loop is closed")
        handle = _new_persistent_handle(callback, args, self, None, False)
        entry = FdEntry.__new__(FdEntry)
        if reading:
            entry.mask = self._READ | oneshot
            entry.reader = handle
            entry.writer = None
        else:
            entry.mask = self._WRITE | oneshot
            entry.reader = None
            entry.writer = handle
        self._register(fdn, entry.mask)
        self._fd_table[fdn] = entry
        return handle

    def _rearm(self, fd):
        """Re-arm ``fd``'s fired one-shot registration: its waiter waits on."""
        cdef int side
        entry = self._fd_table.get(fd)
        if entry is not None and (<FdEntry>entry).mask == self._ONESHOT:
            side = self._READ if (<FdEntry>entry).reader is not None else self._WRITE
            self._want(fd, <FdEntry>entry, side | self._ONESHOT)

    cdef int _want(self, int fd, FdEntry entry, int mask) except -1:
        """Raise the interest in ``fd`` (in the table) to ``mask``."""
        self._ctl(EPOLL_CTL_MOD, fd, mask)
        entry.mask = mask
        return 0

    cdef _drop_interest(self, int fd, FdEntry entry, int bit):
        cdef int mask = entry.mask
        if mask & self._ONESHOT:  # ``bit`` is its only waiter's.
            del self._fd_table[fd]
            if mask == self._ONESHOT:  # Fired: silent until re-armed.
                self._parked.add(fd)
            else:
                self._ctl(EPOLL_CTL_DEL, fd, 0)
            return
        mask &= ~bit
        entry.mask = mask
        if mask:
            self._ctl(EPOLL_CTL_MOD, fd, mask)
        else:
            del self._fd_table[fd]
            self._ctl(EPOLL_CTL_DEL, fd, 0)

    def add_reader(self, fd, callback, *args):
        self._ensure_fd_no_transport(fd)
        self._add_reader(fd, callback, *args)

    def remove_reader(self, fd):
        self._ensure_fd_no_transport(fd)
        return self._remove_reader(fd)

    def add_writer(self, fd, callback, *args):
        self._ensure_fd_no_transport(fd)
        self._add_writer(fd, callback, *args)

    def remove_writer(self, fd):
        self._ensure_fd_no_transport(fd)
        return self._remove_writer(fd)

    def _ensure_fd_no_transport(self, fd):
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

    def run_forever(self):
        self._last_poll = float("-inf")
        if run_listeners:
            notify_run(self)
        # asyncio's BaseEventLoop.run_forever, with the loop over steps in C.
        if _HAS_RUN_FOREVER_SETUP:
            try:
                self._run_forever_setup()
                self._run_steps()
            finally:
                self._run_forever_cleanup()
            return
        if self._closed:
            raise RuntimeError("Event loop is closed")
        self._check_running()
        self._set_coroutine_origin_tracking(self._debug)
        old_agen_hooks = sys.get_asyncgen_hooks()
        try:
            self._thread_id = _get_ident()
            sys.set_asyncgen_hooks(firstiter=self._asyncgen_firstiter_hook,
                                   finalizer=self._asyncgen_finalizer_hook)
            _set_running_loop(self)
            self._run_steps()
        finally:
            self._stopping = False
            self._thread_id = None
            _set_running_loop(None)
            self._set_coroutine_origin_tracking(False)
            sys.set_asyncgen_hooks(*old_agen_hooks)

    cdef int _run_steps(self) except -1:
        """Run steps until stop(); calls an overridden _run_once() if there is one."""
        native = self._own(OWN_RUN_ONCE, "_run_once")
        self._traced_until = -1
        while True:
            if native:
                self._step()
            else:
                self._run_once()
            if self._stopping:
                break
        return 0

    cdef inline void _queue_io(self, list ready, int fd, unsigned int ev) except *:
        cdef object found = self._fd_table.get(fd)
        cdef FdEntry entry
        cdef Handle handle
        cdef uint64_t counter
        if found is None:
            if fd == self._wakeup_fd:
                if self._wakeup_is_eventfd:
                    read(fd, &counter, 8)  # Resets the eventfd; EAGAIN: already reset.
                else:
                    self._wakeup.drain()
                self._wake_pending = False
            return
        entry = <FdEntry>found
        if entry.mask & self._ONESHOT:
            entry.mask = self._ONESHOT  # Fired: the kernel reports it no more until re-armed.
        if ev & ~(<unsigned int>self._WRITE):
            if entry.reader is not None:
                handle = <Handle>entry.reader
                if handle._cancelled:
                    self._remove_reader(fd)
                else:
                    ready.append(handle)
        if ev & ~(<unsigned int>self._READ):
            if entry.writer is not None:
                handle = <Handle>entry.writer
                if handle._cancelled:
                    self._remove_writer(fd)
                else:
                    ready.append(handle)

    def _process_events(self, events):
        cdef list ready = self._ready
        for fd, ev in events:
            self._queue_io(ready, fd, ev)

    cdef int _epoll(self, double timeout, bint share) except -1:
        """Poll the epoll fd directly; queue what is ready. ``timeout < 0`` blocks.
        ``share``: let go of the GIL even if the poll finds events at once."""
        cdef int ms, n, i
        cdef int epfd = self._epfd
        cdef list ready
        if timeout < 0:
            ms = -1
        else:
            ms = <int>(timeout * 1000.0)
            if ms < timeout * 1000.0:
                ms += 1  # Round up: never wake before the next timer.
        if share:
            with nogil:
                n = epoll_wait(epfd, self._events, MAX_EVENTS, ms)
        else:
            # First without letting go of the GIL: a busy loop's poll finds events
            # ready, and taking the GIL back costs more than that poll's system
            # call. Only a poll that would wait lets go of it.
            n = epoll_wait(epfd, self._events, MAX_EVENTS, 0)
            if n == 0 and ms != 0:
                with nogil:
                    n = epoll_wait(epfd, self._events, MAX_EVENTS, ms)
        if n < 0:
            if errno == EINTR:
                PyErr_CheckSignals()
                return 0
            raise OSError(errno, "epoll_wait failed")
        ready = self._ready
        for i in range(n):
            self._queue_io(ready, self._events[i].data.fd, self._events[i].events)
        return n

    def _run_once(self):
        self._traced_until = -1  # an override may have run code since the last step
        self._step()

    cdef int _step(self) except -1:
        """One step of the loop (asyncio's _run_once)."""
        cdef list scheduled = self._scheduled
        cdef list ready = self._ready
        cdef Py_ssize_t count
        cdef TimerHandle timer
        cdef double timeout, end_time, start
        cdef double now = -1  # the step's last clock reading (for a tracer's first callback)
        cdef bint native = self._native_clock()  # checked once per step
        cdef double traced_until = self._traced_until
        cdef bint skip_poll = False
        cdef bint share = False  # threads at work (known when the skip was weighed)
        cdef Handle handle
        cdef list todo
        cdef Py_ssize_t i, ntodo
        cdef trace_hook_t hook

        if scheduled:
            count = len(scheduled)
            if (count > _MIN_SCHEDULED_TIMER_HANDLES and
                    <double>self._timer_cancelled_count / count > _MIN_CANCELLED_TIMER_HANDLES_FRACTION):
                self._purge_cancelled_timers()
                scheduled = self._scheduled
            else:
                while scheduled and (<TimerHandle>scheduled[0])._cancelled:
                    self._timer_cancelled_count -= 1
                    timer = _heap_pop(scheduled)
                    timer._scheduled = False

        self._traced_until = -1
        if ready:
            # A C tracer read the clock as the last step's last callback ended: the
            # same instant for the busy-poll test, without reading it again.
            now = traced_until if traced_until >= 0 else self._clock(native)
            if now - self._last_poll < _BUSY_POLL_INTERVAL and not self._stopping:
                share = self._threads_at_work(now if native or traced_until >= 0 else -1.0)
                skip_poll = not share and (self._epfd >= 0 or self._alone)
            timeout = 0
        elif self._stopping:
            timeout = 0
        elif scheduled:
            now = self._clock(native)
            timeout = (<TimerHandle>scheduled[0])._when - now
            if timeout > _MAXIMUM_POLL_TIMEOUT:
                timeout = _MAXIMUM_POLL_TIMEOUT
            elif timeout < 0:
                timeout = 0
        else:
            timeout = -1

        if not skip_poll:
            if self._tracer is not None:
                start = self._clock(native)
            if self._epfd >= 0:
                # (``now`` is still -1 if this step has not read the clock.)
                n = self._epoll(timeout, share or self._threads_at_work(now if native else -1.0))
            else:
                events = self._poll(None if timeout < 0 else timeout)
                # A backend's poll lets go of the GIL: skip polls only while no
                # other Python thread exists, as the pure-Python loop does.
                self._alone = _active_count() == 1
                n = len(events)
                if events:
                    self._process_events(events)
                events = None
            now = self._clock(native)
            self._last_poll = now
            if self._tracer is not None:
                self._tracer.poll(start, self._last_poll, n)
            ready = self._ready

        if scheduled:
            now = self._clock(native)
            end_time = now + self._clock_resolution
            while scheduled:
                timer = <TimerHandle>scheduled[0]
                if timer._when >= end_time:
                    break
                _heap_pop(scheduled)
                timer._scheduled = False
                ready.append(timer)

        # Run what is queued now; what these callbacks schedule waits for the next step.
        todo = ready
        if self._spare_ready is not None:
            self._ready = self._spare_ready
            self._spare_ready = None
        else:
            self._ready = []
        ntodo = len(todo)
        if self._tracer is not None or self._debug:
            if not native:
                now = -1
            if not self._debug:
                hook = _trace_hook(self._tracer)
                if hook != NULL:
                    self._run_hooked(todo, hook, self._tracer, now)
                    return 0
            self._run_slow(todo, now)
            return 0
        i = 0
        try:
            while i < ntodo:
                item = todo[i]
                if type(item) is not Handle and not isinstance(item, Handle):
                    # An asyncio.Handle put in _ready by foreign code: run it its way.
                    todo[i] = None
                    i += 1
                    if not item._cancelled:
                        item._run()
                    continue
                handle = <Handle>item
                # Drop the queue's reference now, as a deque's popleft() would:
                # a handle then dies right after running, which keeps the
                # garbage collector's allocation count (and its work) low.
                todo[i] = None
                i += 1
                if handle._cancelled:
                    continue
                if (handle._ctx is None and handle._ctx_vars is not None
                        and Py_REFCNT(handle) == 2):
                    self._run_alone(handle)
                else:
                    handle._run_c()
                    _release_kept(handle, 2)
        finally:
            if i < ntodo:
                # An exception escaped (KeyboardInterrupt, SystemExit): keep the rest.
                self._ready[0:0] = todo[i:]
        self._recycle(todo, ntodo)
        return 0

    cdef inline int _run_alone(self, Handle handle) except -1:
        """Run a handle that nothing but the step holds and whose Context was never
        made (see _set_context) in the loop's spare Context, given the handle's
        variables: no Context made and freed per callback. Nothing can ask such a
        handle for its context; the spare is replaced if anything kept it."""
        cdef object ctx = self._spare_context
        if ctx is None or Py_REFCNT(ctx) != 2:  # held by self and by ctx only
            ctx = PyContext_New()
            self._spare_context = ctx
        vif_context_set_vars(ctx, handle._ctx_vars)
        try:
            handle._run_in(ctx)
        finally:
            vif_context_set_vars(ctx, _EMPTY_VARS)  # Hold no values between runs.
        return 0

    cdef inline void _recycle(self, list todo, Py_ssize_t ntodo) noexcept:
        """All of ``todo`` ran: empty the list, keeping its storage, for the next
        step's queue."""
        cdef PyObject **items
        cdef Py_ssize_t i
        if len(todo) == ntodo and (<PyListObject*>todo).allocated <= 4096:
            items = (<PyListObject*>todo).ob_item
            Py_SET_SIZE(<PyObject*>todo, 0)
            for i in range(ntodo):
                Py_XDECREF(items[i])  # None: run handles were dropped one by one
            self._spare_ready = todo

    def _purge_cancelled_timers(self):
        kept = []
        for timer in self._scheduled:
            if (<TimerHandle>timer)._cancelled:
                (<TimerHandle>timer)._scheduled = False
            else:
                kept.append(timer)
        _heapify(kept)
        self._scheduled = kept
        self._timer_cancelled_count = 0

    # -- the slow path: debug mode and tracing ------------------------------------

    def set_tracer(self, tracer):
        """Install (or remove, with None) a tracer; see vif._scheduler.Scheduler.set_tracer."""
        self._tracer = tracer

    def get_tracer(self):
        return self._tracer

    cdef _run_slow(self, list todo, double now):
        """Run ``todo`` in debug mode, or for a tracer without a C hook. ``now`` is
        the step's last reading of CLOCK_MONOTONIC (-1: none), the start of a C
        hook's first callback."""
        cdef Py_ssize_t i = 0, ntodo = len(todo)
        cdef double t0 = 0, dt = 0
        cdef double clock = now if now >= 0 else _monotonic_c()
        cdef trace_hook_t hook = NULL
        cdef bint is_c
        tracer = self._tracer
        if tracer is not None:
            hook = _trace_hook(tracer)
        try:
            while i < ntodo:
                handle = todo[i]
                todo[i] = None
                i += 1
                is_c = isinstance(handle, Handle)
                if (<Handle>handle)._cancelled if is_c else handle._cancelled:
                    continue
                try:
                    self._current_handle = handle
                    t0 = self.time()
                    if is_c:
                        callback = (<Handle>handle)._callback
                        (<Handle>handle)._run_c()
                    else:
                        callback = handle._callback
                        handle._run()
                    dt = self.time() - t0
                    if self._debug and dt >= self.slow_callback_duration:
                        logger.warning("Executing %s took %.3f seconds", _format_handle(handle), dt)
                    if hook != NULL:
                        hook(tracer, handle, callback, &clock)
                    elif tracer is not None:
                        tracer.callback(handle, t0, t0 + dt)
                finally:
                    self._current_handle = None
                if is_c:
                    _release_kept(<Handle>handle, 1)
        finally:
            if i < ntodo:
                self._ready[0:0] = todo[i:]

    cdef int _run_hooked(self, list todo, trace_hook_t hook, object tracer,
                         double now) except -1:
        """A traced step outside debug mode: each callback, then the C hook. As
        asyncio outside debug mode, no ``_current_handle``. ``now``: as for
        _run_slow. When that is CLOCK_MONOTONIC, the hook's last reading of the
        clock serves the next step."""
        cdef Py_ssize_t i = 0, ntodo = len(todo)
        cdef double clock = now if now >= 0 else _monotonic_c()
        try:
            while i < ntodo:
                item = todo[i]
                todo[i] = None
                i += 1
                if type(item) is Handle or isinstance(item, Handle):
                    if (<Handle>item)._cancelled:
                        continue
                    callback = (<Handle>item)._callback
                    (<Handle>item)._run_c()
                    hook(tracer, item, callback, &clock)
                    _release_kept(<Handle>item, 1)
                else:  # an asyncio.Handle put in _ready by foreign code
                    if item._cancelled:
                        continue
                    callback = item._callback
                    item._run()
                    hook(tracer, item, callback, &clock)
        finally:
            if i < ntodo:
                self._ready[0:0] = todo[i:]
        if now >= 0:
            self._traced_until = clock
        self._recycle(todo, ntodo)
        return 0


def _managed_dict_readable():
    """Whether vif_managed_dict finds the instance dict of a CScheduler subclass.

    Python code reaches the loop's methods through ``loop.call_soon``,
    ``loop.create_future``... CPython 3.13 makes such a call fast (a
    specialised LOAD_ATTR) only while the instance has no ``__dict__``: a
    Python subclass of a C type with fields of its own (CEventLoop) gets no
    inline attribute values, and once its dict exists each method lookup probes
    it first (about 35 ns more per call, measured: 101 ns for
    ``loop.get_debug()`` against 63-71 ns on uvloop, rloop and asyncio). So the
    compiled loop keeps the state asyncio and vif's mixins set in fields of its
    own, and on 3.13 never asks for its ``__dict__``: it reads the dict pointer
    in place, to honour an override set on the instance (``loop.time = ...``,
    which makes the dict). This checks that layout once: a fresh instance has
    no dict, and the dict an attribute makes is the one at that place.
    """
    if sys.version_info < (3, 13):
        return False

    class Probe(CScheduler):
        pass

    probe = Probe.__new__(Probe)
    if vif_managed_dict(<PyObject*>probe) != NULL:
        return False
    probe.attribute = 1
    made = vif_managed_dict(<PyObject*>probe)
    return made != NULL and <object>made is probe.__dict__ and probe.__dict__ == {"attribute": 1}


cdef bint _MANAGED_DICT_READABLE = _managed_dict_readable()


def _has_instance_dict(loop):
    """Whether ``loop`` (a compiled loop) has made its ``__dict__``, asked without
    making it: None where that cannot be told (before 3.13). For the tests."""
    if not _MANAGED_DICT_READABLE:
        return None
    return vif_managed_dict(<PyObject*>loop) != NULL

_NATIVE_TIME = CScheduler.time
_NATIVE_GET_DEBUG = CScheduler.get_debug
_NATIVE_CALL_AT = CScheduler.call_at
_NATIVE_CANCELLED = CScheduler._timer_handle_cancelled
_NATIVE_RUN_ONCE = CScheduler._run_once
_OWN_NAMES = (
    (OWN_GET_DEBUG, "get_debug", _NATIVE_GET_DEBUG),
    (OWN_CANCELLED, "_timer_handle_cancelled", _NATIVE_CANCELLED),
    (OWN_CALL_AT, "call_at", _NATIVE_CALL_AT),
    (OWN_RUN_ONCE, "_run_once", _NATIVE_RUN_ONCE),
    (OWN_TIME, "time", _NATIVE_TIME),
)


cdef int _own_bits(type cls) except -1:
    """The OWN_* flags of the methods ``cls`` does not override (the class's
    answer; CScheduler._own caches it until the class changes)."""
    cdef int bits = 0
    for bit, name, native in _OWN_NAMES:
        if getattr(cls, name, None) is native:
            bits |= bit
    return bits


def _try_recv_py(sock, n):
    try:
        return sock.recv(n)
    except (BlockingIOError, InterruptedError):
        return None


def _try_recv_into_py(sock, buf, nbytes):
    try:
        return sock.recv_into(buf, nbytes)
    except (BlockingIOError, InterruptedError):
        return None


cdef object _hook_class = None
cdef trace_hook_t _hook_function = NULL


cdef trace_hook_t _trace_hook(object tracer) noexcept:
    """The C hook of ``tracer``'s class, or NULL: it then gets ``callback()`` calls."""
    global _hook_class, _hook_function
    cls = type(tracer)
    if cls is not _hook_class:
        capsule = getattr(cls, "_vif_hook", None)
        _hook_function = NULL
        if capsule is not None and PyCapsule_IsValid(capsule, b"vif.trace.hook.2"):
            _hook_function = <trace_hook_t>PyCapsule_GetPointer(capsule, b"vif.trace.hook.2")
        _hook_class = cls
    return _hook_function
