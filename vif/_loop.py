"""The pure-Python event loop: vif's reference implementation.

``PyEventLoop`` assembles the mixins, each in its own module:

* :mod:`vif._scheduler` - ready queue, timers, fd table, the run-once step;
* :mod:`vif._sockops` - the ``sock_*`` coroutines;
* :mod:`vif._network` - transport factories, serving, Unix sockets, DNS;
* :mod:`vif._sendfile` - zero-copy sendfile;
* :mod:`vif._subprocess` - child processes, reaped through pidfds;
* :mod:`vif._signals` - Unix signal handlers;

on top of asyncio's ``BaseEventLoop``, which contributes the I/O-free parts
asyncio defines once for every loop: run_forever / run_until_complete, tasks
and futures, executors, async generator hooks, exception handlers, debug mode,
and the address-resolution logic of create_connection / create_server. The
poller is vif's own backend (:mod:`vif._backends`), not asyncio's selector loop.

The compiled loop (:mod:`vif._cloop`) is the same class with the compiled
scheduler in place of :class:`~vif._scheduler.Scheduler`.
"""

from __future__ import annotations

import mmap
import weakref
from asyncio import base_events

from ._backends import Backend
from ._network import Network, record_connect_steps
from ._scheduler import Scheduler
from ._sendfile import Sendfile
from ._signals import Signals
from ._sockops import SockOps
from ._subprocess import Subprocesses

# Size of the loop's receive buffer: how much one read of a transport asks for.
RECV_BUFFER_SIZE = 256 * 1024


def receive_buffer(size: int) -> mmap.mmap:
    """A writable buffer of ``size`` bytes that starts on a page boundary.

    The kernel copies what a socket received into it. Where that copy starts
    within a cache line matters: a ``bytearray`` of this size is an mmap()'d
    malloc chunk whose data starts 16 bytes into its page, and a 16 KiB
    loopback echo then measured about 1.6x the time of a page-aligned buffer
    (``rep movsb`` to a destination off the cache-line grid). An anonymous
    mapping is page-aligned by construction.
    """
    return mmap.mmap(-1, size)


class Lifecycle:
    """Creating and closing a loop: what every part needs set up and torn down."""

    def __init__(self, backend: Backend | None = None) -> None:
        super().__init__()
        # One receive buffer per loop, shared by its transports and sock_recv():
        # a read lands here and only the bytes received are copied out. Reading
        # into a fresh 256 KiB bytes object instead costs malloc an mmap(),
        # an mremap() and a munmap() per read.
        self._recv_view = memoryview(receive_buffer(RECV_BUFFER_SIZE))
        # fd -> weak reference to the transport that owns it (for
        # _ensure_fd_no_transport). Plain weakrefs in a plain dict: a
        # WeakValueDictionary runs three Python functions per transport made
        # and one more as it dies. A dead reference stays until its fd is reused.
        self._transports: dict[int, weakref.ref] = {}
        self._unix_server_sockets = {}
        self._init_scheduler(backend)
        self._init_signals()

    def close(self) -> None:
        if self.is_running():
            raise RuntimeError("Cannot close a running event loop")
        if self._closed:
            return
        self._close_signals()
        self._drop_queued()
        super().close()
        self._close_scheduler()


# Everything but the scheduler, in method-resolution order.
LOOP_PARTS = (
    Lifecycle,
    SockOps,
    Network,
    Sendfile,
    Subprocesses,
    Signals,
    base_events.BaseEventLoop,
)


class PyEventLoop(Scheduler, *LOOP_PARTS):
    """An asyncio event loop on vif's scheduler and backends, in pure Python."""


record_connect_steps(PyEventLoop)
