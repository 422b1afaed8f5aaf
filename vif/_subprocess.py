"""Child processes: ``subprocess_exec`` / ``subprocess_shell`` and reaping.

The transport is asyncio's I/O-free ``BaseSubprocessTransport`` (it wires the
child's pipes through the loop's pipe transports) with ``subprocess.Popen`` to
start the child. vif reaps children itself, without asyncio's child watchers:
on Linux >= 5.3 a pidfd becomes readable when the child exits and the loop
collects its status with ``waitpid(WNOHANG)``; elsewhere one thread per child
blocks in ``waitpid`` and hands the status back with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
from asyncio import base_subprocess

logger = logging.getLogger("asyncio")


def _pidfd_works() -> bool:
    if not hasattr(os, "pidfd_open"):
        return False
    try:
        os.close(os.pidfd_open(os.getpid(), 0))
    except OSError:  # Old kernel, or blocked by a seccomp policy.
        return False
    return True


_HAS_PIDFD = _pidfd_works()


class SubprocessTransport(base_subprocess.BaseSubprocessTransport):
    """asyncio.SubprocessTransport whose child is started with subprocess.Popen."""

    def _start(self, args, shell, stdin, stdout, stderr, bufsize, **kwargs) -> None:
        self._proc = subprocess.Popen(
            args,
            shell=shell,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            universal_newlines=False,
            bufsize=bufsize,
            **kwargs,
        )


def _exit_status(pid: int, status: int) -> int:
    return os.waitstatus_to_exitcode(status)


class Subprocesses:
    """Mixin for the event loop: making subprocess transports and reaping children."""

    async def _make_subprocess_transport(
        self, protocol, args, shell, stdin, stdout, stderr, bufsize, extra=None, **kwargs
    ):
        waiter = self.create_future()
        transport = SubprocessTransport(
            self, protocol, args, shell, stdin, stdout, stderr, bufsize,
            waiter=waiter, extra=extra, **kwargs,
        )
        self._watch_child(transport)
        try:
            await waiter
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException:
            transport.close()
            await transport._wait()
            raise
        return transport

    def _watch_child(self, transport) -> None:
        pid = transport.get_pid()
        if _HAS_PIDFD:
            try:
                pidfd = os.pidfd_open(pid)
            except ProcessLookupError:
                pidfd = None  # Already reaped by someone else.
            if pidfd is not None:
                self._add_reader(pidfd, self._reap_child, pid, pidfd, transport)
                return
            self.call_soon(self._child_exited, pid, None, transport)
            return
        thread = threading.Thread(
            target=self._wait_child_in_thread,
            args=(pid, transport),
            name=f"vif-waitpid-{pid}",
            daemon=True,
        )
        thread.start()

    def _reap_child(self, pid: int, pidfd: int, transport) -> None:
        self._remove_reader(pidfd)
        os.close(pidfd)
        try:
            _, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            status = None  # Reaped elsewhere (Popen.poll, for instance).
        self._child_exited(pid, status, transport)

    def _wait_child_in_thread(self, pid: int, transport) -> None:
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            status = None
        if not self.is_closed():
            self.call_soon_threadsafe(self._child_exited, pid, status, transport)

    def _child_exited(self, pid: int, status: int | None, transport) -> None:
        if status is not None:
            returncode = _exit_status(pid, status)
        else:
            returncode = transport._proc.returncode
            if returncode is None:
                logger.warning("Unknown child process pid %d, will report returncode 255", pid)
                returncode = 255
        if self._debug:
            logger.debug("process %s exited with returncode %s", pid, returncode)
        transport._process_exited(returncode)
