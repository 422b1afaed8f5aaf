# Cython declarations for the compiled twin of stream.py (setup.py copies this
# file beside the twin's source): the receiver becomes an extension type, its
# fields C members. The pure-Python module does not read this file.

cdef class StreamReceiver:
    cdef object _recv_bytes
    cdef object _view
    cdef object _transport
    cdef public object data_received
