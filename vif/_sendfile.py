"""Zero-copy ``sendfile``: ``loop.sock_sendfile`` and ``loop.sendfile`` on TCP.

``os.sendfile`` moves file pages to the socket inside the kernel. asyncio's
``BaseEventLoop`` decides between this native path and its read/write
fallback (used under TLS, for non-regular files, or when the native call is
unavailable); this module supplies the native path.
"""

from __future__ import annotations

import errno
import io
import os
import sys
import weakref
from asyncio import exceptions


class Sendfile:
    """Mixin for the event loop: the native halves of sock_sendfile and sendfile."""

    async def _sock_sendfile_native(self, sock, file, offset, count):
        if not hasattr(os, "sendfile"):
            raise exceptions.SendfileNotAvailableError("os.sendfile() is not available")
        try:
            fileno = file.fileno()
        except (AttributeError, io.UnsupportedOperation):
            raise exceptions.SendfileNotAvailableError("not a regular file") from None
        try:
            fsize = os.fstat(fileno).st_size
        except OSError:
            raise exceptions.SendfileNotAvailableError("not a regular file") from None
        blocksize = count if count else fsize
        if not blocksize:
            return 0  # An empty file.
        fut = self.create_future()
        self._sendfile_step(fut, None, sock, fileno, offset, count, blocksize, 0)
        return await fut

    def _sendfile_step(self, fut, registered_fd, sock, fileno, offset, count, blocksize, sent):
        fd = sock.fileno()
        if registered_fd is not None:
            self.remove_writer(registered_fd)
        if fut.cancelled():
            self._sendfile_seek(fileno, offset, sent)
            return
        if count:
            blocksize = count - sent
            if blocksize <= 0:
                self._sendfile_seek(fileno, offset, sent)
                fut.set_result(sent)
                return
        blocksize = min(blocksize, sys.maxsize // 2 + 1)
        try:
            n = os.sendfile(fd, fileno, offset, blocksize)
        except (BlockingIOError, InterruptedError):
            if registered_fd is None:
                self._sendfile_cancel_on_done(fut, sock)
            self.add_writer(
                fd, self._sendfile_step, fut, fd, sock, fileno, offset, count, blocksize, sent
            )
        except OSError as exc:
            if (
                registered_fd is not None
                and exc.errno == errno.ENOTCONN
                and type(exc) is not ConnectionError
            ):
                new_exc = ConnectionError("socket is not connected", errno.ENOTCONN)
                new_exc.__cause__ = exc
                exc = new_exc
            self._sendfile_seek(fileno, offset, sent)
            if sent == 0:
                # Nothing went out: the caller may still fall back to read/write.
                fut.set_exception(exceptions.SendfileNotAvailableError("os.sendfile call failed"))
            else:
                fut.set_exception(exc)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._sendfile_seek(fileno, offset, sent)
            fut.set_exception(exc)
        else:
            if n == 0:  # End of file.
                self._sendfile_seek(fileno, offset, sent)
                fut.set_result(sent)
            else:
                offset += n
                sent += n
                if registered_fd is None:
                    self._sendfile_cancel_on_done(fut, sock)
                self.add_writer(
                    fd, self._sendfile_step, fut, fd, sock, fileno, offset, count, blocksize, sent
                )

    @staticmethod
    def _sendfile_seek(fileno: int, offset: int, sent: int) -> None:
        """Leave the file position after the bytes sent, as a read loop would."""
        if sent > 0:
            os.lseek(fileno, offset, os.SEEK_SET)

    def _sendfile_cancel_on_done(self, fut, sock) -> None:
        def unregister(fut):
            if fut.cancelled():
                fd = sock.fileno()
                if fd != -1:
                    self.remove_writer(fd)

        fut.add_done_callback(unregister)

    async def _sendfile_native(self, transp, file, offset, count):
        # The transport gives up its socket for the duration.
        del self._transports[transp._sock_fd]
        resume_reading = transp.is_reading()
        transp.pause_reading()
        await transp._make_empty_waiter()
        try:
            return await self.sock_sendfile(transp._sock, file, offset, count, fallback=False)
        finally:
            transp._reset_empty_waiter()
            if resume_reading:
                transp.resume_reading()
            self._transports[transp._sock_fd] = weakref.ref(transp)
