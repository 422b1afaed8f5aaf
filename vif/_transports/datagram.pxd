# Cython declarations for the compiled twin of datagram.py (setup.py copies this
# file beside the twin's source): the receiver becomes an extension type, its
# fields C members. The pure-Python module does not read this file.

cdef class DatagramReceiver:
    cdef object _recv_bytes
    cdef object _recvfrom_bytes
    cdef object _view
    cdef object _peer
    cdef object _transport
