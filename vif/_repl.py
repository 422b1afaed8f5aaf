"""``python -m vif`` with no arguments: a REPL whose top-level ``await`` runs on vif.

The equivalent of ``python -m asyncio`` (CPython's ``asyncio/__main__.py``, 3.11
to 3.13) on a vif loop: the loop runs forever on the main thread, the console
reads input on a second thread, and each statement is compiled with
``PyCF_ALLOW_TOP_LEVEL_AWAIT`` and run as a task on the loop; the console thread
waits for its result. Ctrl-C cancels the running statement. On 3.13+ with a
terminal, the new colour REPL (``_pyrepl``) is used, as asyncio does; otherwise
the classic :class:`code.InteractiveConsole`.
"""

from __future__ import annotations

import ast
import asyncio
import code
import concurrent.futures
import inspect
import os
import sys
import threading
import traceback
import types
import warnings
from typing import Any

try:  # Python 3.13+: the REPL python itself uses on a terminal
    from _pyrepl.console import InteractiveColoredConsole  # type: ignore
except ImportError:
    InteractiveColoredConsole = None


def _can_use_pyrepl() -> bool:
    if InteractiveColoredConsole is None or os.getenv("PYTHON_BASIC_REPL"):
        return False
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return False
    try:
        from _pyrepl.main import CAN_USE_PYREPL  # type: ignore
    except ImportError:
        return False
    return bool(CAN_USE_PYREPL)


class _RunsOnTheLoop:
    """Console behaviour shared by the classic and the 3.13 colour consoles:
    each statement runs as a task on ``self.loop``."""

    loop: asyncio.AbstractEventLoop
    locals: dict[str, Any]

    def _setup(self, loop: asyncio.AbstractEventLoop) -> None:
        self.compile.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT  # type: ignore[attr-defined]
        self.loop = loop
        self.repl_future: asyncio.Task | None = None
        self.interrupted = False
        self.return_code: Any = 0

    def runcode(self, code: types.CodeType) -> Any:
        future: concurrent.futures.Future = concurrent.futures.Future()

        def callback() -> None:
            self.repl_future = None
            self.interrupted = False
            func = types.FunctionType(code, self.locals)
            try:
                coro = func()
            except SystemExit as exc:
                self.return_code = exc.code
                self.loop.stop()
                future.set_exception(exc)
                return
            except KeyboardInterrupt as exc:
                self.interrupted = True
                future.set_exception(exc)
                return
            except BaseException as exc:
                future.set_exception(exc)
                return
            if not inspect.iscoroutine(coro):
                future.set_result(coro)
                return
            try:
                self.repl_future = self.loop.create_task(coro)
                asyncio.futures._chain_future(self.repl_future, future)  # type: ignore[attr-defined]
            except BaseException as exc:
                future.set_exception(exc)

        self.loop.call_soon_threadsafe(callback)
        try:
            return future.result()
        except SystemExit as exc:
            self.return_code = exc.code
            self.loop.call_soon_threadsafe(self.loop.stop)
            raise
        except BaseException as exc:
            if self.interrupted:
                self.write("\nKeyboardInterrupt\n")
            else:
                self._show_exception(exc)
            return None

    def _show_exception(self, exc: BaseException) -> None:
        """Print ``exc`` from the user's first line on, without the REPL's own frames."""
        tb = exc.__traceback__
        filename = getattr(self, "filename", "<console>")
        while tb is not None and tb.tb_frame.f_code.co_filename != filename:
            tb = tb.tb_next
        if tb is None:
            tb = exc.__traceback__
        sys.last_type, sys.last_value, sys.last_traceback = type(exc), exc, tb
        if sys.version_info >= (3, 12):
            sys.last_exc = exc
        self.write("".join(traceback.format_exception(type(exc), exc, tb)))


class VifInteractiveConsole(_RunsOnTheLoop, code.InteractiveConsole):
    """The classic console (pipes, dumb terminals, Python < 3.13)."""

    def __init__(self, locals: dict[str, Any], loop: asyncio.AbstractEventLoop) -> None:
        code.InteractiveConsole.__init__(self, locals)
        self._setup(loop)


def make_console(locals: dict[str, Any], loop: asyncio.AbstractEventLoop) -> Any:
    """The 3.13+ colour console on a terminal, else the classic one."""
    if not _can_use_pyrepl():
        return VifInteractiveConsole(locals, loop)

    class VifColoredConsole(_RunsOnTheLoop, InteractiveColoredConsole):  # type: ignore[misc]
        def __init__(self) -> None:
            InteractiveColoredConsole.__init__(self, locals, filename="<stdin>")
            self._setup(loop)

    return VifColoredConsole()


class REPLThread(threading.Thread):
    """Reads and compiles input; stops the loop when the console ends."""

    def __init__(self, console: Any, banner: str) -> None:
        super().__init__(name="Interactive thread", daemon=True)
        self.console = console
        self.banner = banner

    def run(self) -> None:
        console = self.console
        try:
            console.write(self.banner)
            startup = os.getenv("PYTHONSTARTUP")
            if startup and os.path.isfile(startup):
                with open(startup, encoding="utf-8") as f:
                    exec(compile(f.read(), startup, "exec"), console.locals)
            console.write(f"{getattr(sys, 'ps1', '>>> ')}import asyncio, vif\n")
            if _can_use_pyrepl():
                from _pyrepl.simple_interact import run_multiline_interactive_console

                try:
                    run_multiline_interactive_console(console)
                except SystemExit:
                    pass
            else:
                try:
                    console.interact(banner="", exitmsg="")
                except SystemExit:
                    pass
        finally:
            warnings.filterwarnings(
                "ignore", message=r"^coroutine .* was never awaited$", category=RuntimeWarning
            )
            console.loop.call_soon_threadsafe(console.loop.stop)


def main() -> int:
    """Run the REPL until EOF or ``exit()``; return the exit code."""
    import vif

    loop = vif.new_event_loop()
    asyncio.set_event_loop(loop)
    repl_locals: dict[str, Any] = {
        "asyncio": asyncio,
        "vif": vif,
        "__name__": "__main__",
        "__package__": None,
        "__builtins__": __builtins__,
    }
    console = make_console(repl_locals, loop)
    try:
        import readline  # noqa: F401
        import rlcompleter

        readline.set_completer(rlcompleter.Completer(console.locals).complete)
    except ImportError:
        pass
    banner = (
        f"vif REPL {sys.version} on {sys.platform}\n"
        f"The loop is vif's ({vif.implementation()}). "
        f'Use "await" directly instead of "asyncio.run()".\n'
        f'Type "help", "copyright", "credits" or "license" for more information.\n'
    )
    thread = REPLThread(console, banner)
    thread.start()
    while True:
        try:
            loop.run_forever()
        except KeyboardInterrupt:
            console.interrupted = True
            if console.repl_future is not None and not console.repl_future.done():
                console.repl_future.cancel()
            continue
        else:
            break
    console.write("exiting vif REPL...\n")
    try:
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    code_ = console.return_code
    if code_ is None:
        return 0
    if isinstance(code_, int):
        return code_
    print(code_, file=sys.stderr)
    return 1
