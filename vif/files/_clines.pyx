# cython: language_level=3
"""Compiled ``async for line in f``: the line iterator of :mod:`vif.files._file`.

Owns :class:`LineIter`, the compiled twin of ``AsyncBase._lines`` (the pure
version, used under ``VIF_NO_EXTENSIONS=1``, has the same behaviour).  The
object is its own async iterator, awaitable and await-iterator: ``__anext__``
and ``__await__`` return it.  A line that is already fetched ends the await
through the ``am_send`` slot (``PyIter_Send`` returns it, no exception at all:
the ``SEND`` of CPython 3.10 and 3.11 calls it); interpreters that go through
``tp_iternext`` instead (3.12+) get it as ``StopIteration(line)``, set without
creating the exception object where the interpreter allows it.  Either way a
buffered line costs no coroutine, no future and no trip through the event loop.
When the lines run out it drives the file's ``_fetch_lines()`` coroutine (one
raw read split on the loop thread, or one ``readlines(hint)`` hop to the files
pool), passing its yields up to the task.  Pending lines live in the file's
``_it`` iterator, so every other method of the file sees them first.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF
from libc.string cimport memchr, memcpy


cdef extern from *:
    """
    typedef PyObject *(*vif_lines_step_t)(PyObject *, int *);
    static vif_lines_step_t vif_lines_step = NULL;

    /* tp_iternext: a line ends the await with StopIteration(line); any other
       value is a yield from the fetch, for the task. */
    static PyObject *vif_lines_iternext(PyObject *self) {
        int is_line = 0;
        PyObject *r = vif_lines_step(self, &is_line);
        if (r == NULL || !is_line) {
            return r;
        }
        if (PyTuple_Check(r) || PyExceptionInstance_Check(r)) {
            PyObject *exc = PyObject_CallOneArg(PyExc_StopIteration, r);
            Py_DECREF(r);
            if (exc != NULL) {
                PyErr_SetObject(PyExc_StopIteration, exc);
                Py_DECREF(exc);
            }
            return NULL;
        }
        PyErr_SetObject(PyExc_StopIteration, r);
        Py_DECREF(r);
        return NULL;
    }

    /* am_send: a line is PYGEN_RETURN, a yield of the fetch PYGEN_NEXT. */
    static PySendResult vif_lines_send(PyObject *self, PyObject *arg, PyObject **presult) {
        int is_line = 0;
        PyObject *r;
        if (arg != Py_None) {
            PyErr_SetString(PyExc_TypeError, "can't send non-None value to a LineIter");
            *presult = NULL;
            return PYGEN_ERROR;
        }
        r = vif_lines_step(self, &is_line);
        *presult = r;
        if (r == NULL) {
            return PYGEN_ERROR;
        }
        return is_line ? PYGEN_RETURN : PYGEN_NEXT;
    }

    static void vif_lines_install(PyTypeObject *tp, vif_lines_step_t step) {
        vif_lines_step = step;
        tp->tp_iternext = vif_lines_iternext;
        if (tp->tp_as_async != NULL) {
            tp->tp_as_async->am_send = vif_lines_send;
        }
        PyType_Modified(tp);
    }

    static int vif_lines_has_send(PyTypeObject *tp) {
        return tp->tp_as_async != NULL && tp->tp_as_async->am_send == vif_lines_send;
    }
    """
    ctypedef PyObject *(*vif_lines_step_t)(PyObject *, int *)
    object PyUnicode_New(Py_ssize_t size, Py_UCS4 maxchar)
    void *PyUnicode_DATA(object o)
    void vif_lines_install(PyTypeObject *tp, vif_lines_step_t step)
    int vif_lines_has_send(PyTypeObject *tp)
    PyObject *PyIter_Next(PyObject *it)
    PyObject *PyErr_Occurred()


cdef class LineIter:
    """``f.__aiter__()``: yields the lines of async file ``f``."""

    cdef object afile
    cdef object it  # the iterator of fetched lines being consumed (also the file's ``_it``)
    cdef object pending  # the fetch coroutine being driven, or None

    def __cinit__(self, afile):
        self.afile = afile
        self.it = afile._it
        self.pending = None

    def __aiter__(self):
        return self

    def __anext__(self):
        return self

    def __await__(self):
        return self

    def __iter__(self):
        return self

    def __next__(self):  # replaced by vif_lines_iternext at import
        raise RuntimeError("LineIter: the compiled iternext is not installed")

    def send(self, value):
        if value is not None:
            raise TypeError("can't send non-None value to a LineIter")
        return next(self)

    def throw(self, typ, val=None, tb=None):
        """Forward to the fetch being awaited (a cancellation settles it first)."""
        pending = self.pending
        if pending is None:
            if val is None and tb is None:
                raise typ
            raise val if val is not None else typ
        try:
            if val is None and tb is None:
                return pending.throw(typ)
            return pending.throw(typ, val, tb)
        except StopIteration as stop:
            self.pending = None
            self._got(stop.value)
            return next(self)
        except BaseException:
            self.pending = None
            raise

    def close(self):
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.close()

    async def aclose(self):
        self.close()

    cdef _got(self, lines):
        if not lines:
            self.afile._it = None
            self.it = None
            raise StopAsyncIteration
        self.it = iter(lines)
        self.afile._it = self.it


cdef PyObject *_step(LineIter self, int *is_line) except NULL:
    """The next line (``*is_line`` = 1) or the fetch's next yield (0); NULL: error."""
    cdef PyObject *line
    cdef object value, it
    while True:
        if self.pending is None:
            it = self.it
            if it is not None:
                line = PyIter_Next(<PyObject *>it)
                if line != NULL:
                    is_line[0] = 1
                    return line  # a new reference, handed to the caller
                if PyErr_Occurred() != NULL:
                    return NULL
                if self.afile._it is not it:  # another method took some pending lines: go on
                    self.it = self.afile._it
                    continue
            self.pending = self.afile._fetch_lines()
        try:
            value = self.pending.send(None)
        except StopIteration as stop:
            self.pending = None
            self._got(stop.value)
            continue
        except BaseException:
            self.pending = None
            raise
        is_line[0] = 0
        Py_INCREF(value)
        return <PyObject *>value


vif_lines_install(<PyTypeObject *>LineIter, <vif_lines_step_t>_step)


def has_am_send() -> bool:
    """Whether ``LineIter`` got its ``am_send`` slot (tests)."""
    return bool(vif_lines_has_send(<PyTypeObject *>LineIter))


def ascii_lines(bytes data not None, Py_ssize_t end):
    """``data[:end]`` (ASCII only: the caller checked) as str lines split at ``b"\\n"`` only.

    The compiled twin of ``data[:end].decode().splitlines(True)`` for text holding no
    other line boundary (see :mod:`vif.files._lines`): one memchr and one copy per line.
    """
    if end < 0 or end > PyBytes_GET_SIZE(data):
        raise ValueError("end out of range")
    cdef const char *p = PyBytes_AS_STRING(data)
    cdef const char *stop = p + end
    cdef const char *eol
    cdef Py_ssize_t n
    cdef list out = []
    cdef object line
    while p < stop:
        eol = <const char *>memchr(p, 10, stop - p)
        n = (stop - p) if eol == NULL else (eol - p + 1)
        line = PyUnicode_New(n, 127)
        memcpy(PyUnicode_DATA(line), p, n)
        out.append(line)
        p += n
    return out
