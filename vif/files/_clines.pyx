# cython: language_level=3
"""Compiled ``async for line in f``: the line iterator of :mod:`vif.files._file`.

Owns :class:`LineIter`, the compiled twin of ``AsyncBase._lines`` (the pure
version, used under ``VIF_NO_EXTENSIONS=1``, has the same behaviour).  The
object is its own async iterator, awaitable and await-iterator: ``__anext__``
and ``__await__`` return it, and its ``tp_iternext`` hands back a line that is
already fetched by finishing with ``StopIteration(line)`` -- set without
creating the exception object where the interpreter allows it -- so a buffered
line costs no coroutine, no future and no trip through the event loop.  When
the lines run out it drives the file's ``_fetch_lines()`` coroutine (one hop to
the files pool, ``readlines(hint)``), passing its yields up to the task.
Pending lines live in the file's ``_it`` iterator, so every other method of the
file sees them first.
"""

from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF


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

    static void vif_lines_install(PyTypeObject *tp, vif_lines_step_t step) {
        vif_lines_step = step;
        tp->tp_iternext = vif_lines_iternext;
        PyType_Modified(tp);
    }
    """
    ctypedef PyObject *(*vif_lines_step_t)(PyObject *, int *)
    void vif_lines_install(PyTypeObject *tp, vif_lines_step_t step)
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
