"""Subprocesses: pipes and communicate(), signals, early-closed stdout, a 100 MiB
child output read slowly with bounded memory, shells, the SubprocessTransport API,
and 1,000 children started and reaped without zombies or leaked fds."""

from __future__ import annotations

import asyncio
import glob
import os
import signal
import sys
import tracemalloc
from asyncio import subprocess

import pytest
from vif_testing import REFERENCE, open_fd_count, run

PY = sys.executable
PIPE = subprocess.PIPE


def child_pids() -> set[int]:
    """Children (running or zombie) of every thread of this process."""
    pids: set[int] = set()
    for path in glob.glob("/proc/self/task/*/children"):
        try:
            with open(path) as f:
                pids.update(int(p) for p in f.read().split())
        except FileNotFoundError:  # the thread just ended
            pass
    return pids


def zombie_children() -> list[int]:
    """Zombies whose parent is this process."""
    zombies = []
    me = os.getpid()
    for stat_path in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat_path) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may contain spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] == "Z" and int(fields[1]) == me:
            zombies.append(int(stat.split(" ", 1)[0]))
    return zombies


async def python(code: str, **kwargs) -> subprocess.Process:
    return await asyncio.create_subprocess_exec(PY, "-c", code, **kwargs)


READY = "import sys; sys.stdout.write('ready\\n'); sys.stdout.flush()\n"


def test_communicate_with_all_pipes(loop_factory):
    code = (
        "import sys\n"
        "data = sys.stdin.buffer.read()\n"
        "sys.stdout.buffer.write(data.upper())\n"
        "sys.stderr.buffer.write(b'%d bytes' % len(data))\n"
        "sys.exit(3)\n"
    )
    payload = b"hello subprocess " * 60_000  # ~1 MiB: more than a pipe holds

    async def main():
        start = open_fd_count()
        proc = await python(code, stdin=PIPE, stdout=PIPE, stderr=PIPE)
        assert proc.pid > 0
        assert proc.returncode is None
        out, err = await proc.communicate(payload)
        assert out == payload.upper()
        assert err == b"%d bytes" % len(payload)
        assert proc.returncode == 3
        assert await proc.wait() == 3
        assert open_fd_count() == start

    run(loop_factory, main())


def test_stream_io_line_by_line(loop_factory):
    code = "import sys\nfor line in sys.stdin:\n    print(line.strip()[::-1], flush=True)\n"

    async def main():
        proc = await python(code, stdin=PIPE, stdout=PIPE)
        for word in ("alpha", "beta", "gamma"):
            proc.stdin.write(word.encode() + b"\n")
            await proc.stdin.drain()
            assert await proc.stdout.readline() == word[::-1].encode() + b"\n"
        proc.stdin.close()
        await proc.stdin.wait_closed()
        assert await proc.stdout.read() == b""
        assert await proc.wait() == 0

    run(loop_factory, main())


def test_stderr_to_stdout_and_devnull(loop_factory):
    code = "import sys; print('out', flush=True); print('err', file=sys.stderr, flush=True)"

    async def main():
        proc = await python(code, stdin=subprocess.DEVNULL, stdout=PIPE, stderr=subprocess.STDOUT)
        assert proc.stderr is None and proc.stdin is None
        out, err = await proc.communicate()
        assert sorted(out.split()) == [b"err", b"out"]
        assert err is None
        proc = await python(code, stdout=subprocess.DEVNULL, stderr=PIPE)
        assert await proc.communicate() == (None, b"err\n")
        assert proc.returncode == 0

    run(loop_factory, main())


@pytest.mark.parametrize(
    "how,expected",
    [("kill", -signal.SIGKILL), ("terminate", -signal.SIGTERM)],
)
def test_kill_and_terminate(loop_factory, how, expected):
    async def main():
        proc = await python(READY + "import time; time.sleep(60)", stdout=PIPE)
        assert await proc.stdout.readline() == b"ready\n"
        getattr(proc, how)()
        assert await proc.wait() == expected
        assert proc.returncode == expected
        assert await proc.stdout.read() == b""

    run(loop_factory, main())


def test_send_signal(loop_factory):
    code = (
        "import signal, sys, time\n"
        "def handler(signum, frame):\n"
        "    print('got', signum, flush=True)\n"
        "    sys.exit(7)\n"
        "signal.signal(signal.SIGUSR1, handler)\n" + READY + "time.sleep(60)\n"
    )

    async def main():
        proc = await python(code, stdout=PIPE)
        assert await proc.stdout.readline() == b"ready\n"
        proc.send_signal(signal.SIGUSR1)
        assert await proc.stdout.readline() == b"got %d\n" % signal.SIGUSR1
        assert await proc.wait() == 7
        # A signal the child does not handle.
        proc = await python(READY + "import time; time.sleep(60)", stdout=PIPE)
        assert await proc.stdout.readline() == b"ready\n"
        proc.send_signal(signal.SIGHUP)
        assert await proc.wait() == -signal.SIGHUP

    run(loop_factory, main())


def test_child_closes_stdout_early(loop_factory):
    """stdout reaches EOF while the child still runs; its exit is seen later."""
    code = (
        "import os, sys\n"
        "sys.stdout.buffer.write(b'bye'); sys.stdout.flush()\n"
        "os.close(1)\n"
        "sys.stdin.buffer.read()\n"  # runs until the parent closes stdin
        "sys.exit(5)\n"
    )

    async def main():
        proc = await python(code, stdin=PIPE, stdout=PIPE)
        assert await proc.stdout.read() == b"bye"
        assert proc.stdout.at_eof()
        assert proc.returncode is None  # still running
        wait = asyncio.ensure_future(proc.wait())
        await asyncio.sleep(0)
        assert not wait.done()
        proc.stdin.close()
        assert await wait == 5

    run(loop_factory, main())


def test_child_exits_without_reading_stdin(loop_factory):
    """communicate() with a large input to a child that never reads it."""

    async def scenario():
        proc = await python("import sys; sys.stdout.write('gone')", stdin=PIPE, stdout=PIPE)
        out, err = await proc.communicate(b"z" * (8 << 20))
        return out, err, proc.returncode

    got = run(loop_factory, scenario())
    assert got == run(REFERENCE, scenario()) == (b"gone", None, 0)


def test_drain_after_child_exit(loop_factory):
    """Writing to the stdin of a child that has exited: drain() fails as asyncio's does."""

    async def scenario():
        proc = await python("pass", stdin=PIPE)
        await proc.wait()
        try:
            for _ in range(64):
                proc.stdin.write(b"w" * 65536)
                await proc.stdin.drain()
            outcome = None
        except Exception as exc:  # compared with stock asyncio
            outcome = type(exc)
        proc.stdin.close()
        return outcome

    got = run(loop_factory, scenario())
    assert got == run(REFERENCE, scenario())
    assert got in (BrokenPipeError, ConnectionResetError)


def test_exec_failure(loop_factory, tmp_path):
    async def scenario():
        start = open_fd_count()
        with pytest.raises(OSError) as excinfo:
            await asyncio.create_subprocess_exec(
                str(tmp_path / "no-such-program"), stdin=PIPE, stdout=PIPE, stderr=PIPE
            )
        assert open_fd_count() == start
        return type(excinfo.value)

    got = run(loop_factory, scenario())
    assert got is run(REFERENCE, scenario()) is FileNotFoundError


def test_100mib_stdout_read_slowly(loop_factory):
    total = 100 * 1024 * 1024
    code = (
        "import sys\n"
        "chunk = bytes(range(256)) * 256\n"
        f"for _ in range({total} // len(chunk)):\n"
        "    sys.stdout.buffer.write(chunk)\n"
    )

    async def main():
        proc = await python(code, stdout=PIPE)
        limit = proc.stdout._limit
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        received = 0
        max_buffered = 0
        chunk = bytes(range(256)) * 256
        while True:
            data = await proc.stdout.read(64 * 1024)
            if not data:
                break
            if received % len(chunk) == 0 and len(data) == len(chunk):
                assert data == chunk
            received += len(data)
            max_buffered = max(max_buffered, len(proc.stdout._buffer))
            await asyncio.sleep(0)
        peak = tracemalloc.get_traced_memory()[1] - baseline
        assert await proc.wait() == 0
        return received, max_buffered, limit, peak

    tracemalloc.start()
    try:
        received, max_buffered, limit, peak = run(loop_factory, main(), timeout=60)
    finally:
        tracemalloc.stop()
    assert received == total
    # The reader pauses the pipe beyond 2 * limit; one more read (<= 256 KiB) may land.
    assert max_buffered <= 2 * limit + 256 * 1024, max_buffered
    assert peak < 32 * 1024 * 1024, f"peak traced memory {peak / 2**20:.1f} MiB"


def test_create_subprocess_shell(loop_factory):
    async def main():
        proc = await asyncio.create_subprocess_shell(
            "read x; echo $((x * 6)); echo oops >&2; exit 4",
            stdin=PIPE,
            stdout=PIPE,
            stderr=PIPE,
        )
        assert await proc.communicate(b"7\n") == (b"42\n", b"oops\n")
        assert proc.returncode == 4

    run(loop_factory, main())


class SubprocessRecorder(asyncio.SubprocessProtocol):
    """Records SubprocessProtocol callbacks."""

    def __init__(self):
        loop = asyncio.get_running_loop()
        self.events: list = []
        self.output: dict[int, bytearray] = {1: bytearray(), 2: bytearray()}
        self.exited = loop.create_future()
        self.lost = loop.create_future()
        self.line = loop.create_future()

    def connection_made(self, transport):
        self.transport = transport
        self.events.append("made")

    def pipe_data_received(self, fd, data):
        self.output[fd] += data
        if fd == 1 and b"\n" in self.output[1] and not self.line.done():
            self.line.set_result(bytes(self.output[1]))

    def pipe_connection_lost(self, fd, exc):
        self.events.append(("pipe_lost", fd, exc))

    def process_exited(self):
        self.events.append("exited")
        self.exited.set_result(self.transport.get_returncode())

    def connection_lost(self, exc):
        self.events.append("lost")
        self.lost.set_result(exc)


def test_subprocess_exec_transport_api(loop_factory):
    code = (
        "import sys\n"
        "data = sys.stdin.buffer.read()\n"
        "sys.stdout.buffer.write(data[::-1]); sys.stderr.buffer.write(b'E')\n"
        "sys.exit(9)\n"
    )

    async def main():
        loop = asyncio.get_running_loop()
        start = open_fd_count()
        tr, proto = await loop.subprocess_exec(
            SubprocessRecorder, PY, "-c", code, stdin=PIPE, stdout=PIPE, stderr=PIPE
        )
        assert isinstance(tr, asyncio.SubprocessTransport)
        pid = tr.get_pid()
        assert isinstance(pid, int) and pid > 0
        assert pid in child_pids()
        assert tr.get_returncode() is None
        stdin = tr.get_pipe_transport(0)
        assert isinstance(stdin, asyncio.WriteTransport)
        assert isinstance(tr.get_pipe_transport(1), asyncio.ReadTransport)
        assert isinstance(tr.get_pipe_transport(2), asyncio.ReadTransport)
        assert tr.get_pipe_transport(3) is None
        stdin.write(b"abcdef")
        stdin.close()
        assert await proto.exited == 9
        assert await proto.lost is None
        assert tr.get_returncode() == 9
        assert bytes(proto.output[1]) == b"fedcba"
        assert bytes(proto.output[2]) == b"E"
        assert proto.events[0] == "made" and proto.events[-1] == "lost"
        assert sorted(e[1] for e in proto.events if isinstance(e, tuple)) == [0, 1, 2]
        assert all(e[2] is None for e in proto.events if isinstance(e, tuple))
        assert "exited" in proto.events
        tr.close()
        assert pid not in child_pids()
        assert open_fd_count() == start

    run(loop_factory, main())


def test_subprocess_shell_transport_and_close_kills(loop_factory):
    async def main():
        loop = asyncio.get_running_loop()
        tr, proto = await loop.subprocess_shell(
            SubprocessRecorder, "echo started; exec sleep 60", stdin=None, stdout=PIPE
        )
        assert tr.get_pipe_transport(0) is None
        assert await proto.line == b"started\n"
        assert tr.get_returncode() is None
        tr.close()  # closing a running child's transport kills it
        assert await proto.exited == -signal.SIGKILL
        await proto.lost
        assert tr.get_pid() not in child_pids()

    run(loop_factory, main())


def test_1000_subprocesses_no_zombies(loop_factory):
    async def one():
        proc = await asyncio.create_subprocess_exec("/bin/true", stdout=PIPE)
        out, _ = await proc.communicate()
        assert out == b""
        return proc.pid, proc.returncode

    async def main():
        start = open_fd_count()
        before = child_pids()
        results = []
        for _ in range(20):
            results += await asyncio.gather(*(one() for _ in range(50)))
        assert len(results) == 1000
        assert {code for _, code in results} == {0}
        pids = {pid for pid, _ in results}
        assert len(pids) == 1000
        assert open_fd_count() == start
        return before, pids

    before, pids = run(loop_factory, main(), timeout=90)
    assert not zombie_children()
    assert not (child_pids() - before) & pids


def test_stdout_and_stderr_flood_at_once(loop_factory):
    """Both pipes fill while the child is blocked on either: communicate() must
    drain them concurrently."""
    code = (
        "import sys\n"
        "out, err = sys.stdout.buffer, sys.stderr.buffer\n"
        "for i in range(80):\n"
        "    out.write(b'o' * 65536); err.write(b'e' * 65536)\n"
    )

    async def main():
        proc = await python(code, stdout=PIPE, stderr=PIPE)
        out, err = await proc.communicate()
        assert (len(out), len(err)) == (80 * 65536, 80 * 65536)
        assert set(out) == {ord("o")} and set(err) == {ord("e")}
        assert proc.returncode == 0

    run(loop_factory, main())


def test_concurrent_waiters(loop_factory):
    async def main():
        proc = await python(
            READY + "import sys; sys.stdin.read(); sys.exit(11)", stdin=PIPE, stdout=PIPE
        )
        assert await proc.stdout.readline() == b"ready\n"
        waiters = [asyncio.ensure_future(proc.wait()) for _ in range(5)]
        proc.stdin.close()
        assert await asyncio.gather(*waiters) == [11] * 5
        assert await proc.wait() == 11

    run(loop_factory, main())


def test_popen_keyword_arguments_pass_through(loop_factory, tmp_path):
    code = (
        "import os, sys\n"
        "print(os.getcwd()); print(os.environ.get('VIF_TEST_VAR'))\n"
        "print(os.getsid(0) == os.getpid())\n"
        "fd = int(sys.argv[1]); os.write(fd, b'via passed fd'); os.close(fd)\n"
    )

    async def main():
        loop = asyncio.get_running_loop()
        r, w = os.pipe()
        proc = await asyncio.create_subprocess_exec(
            PY,
            "-c",
            code,
            str(w),
            stdout=PIPE,
            cwd=tmp_path,
            env={"VIF_TEST_VAR": "yes", "PATH": os.environ.get("PATH", "")},
            start_new_session=True,
            pass_fds=(w,),
        )
        os.close(w)
        out, _ = await proc.communicate()
        extra = await loop.run_in_executor(None, os.read, r, 100)
        os.close(r)
        return out.decode().splitlines(), extra

    lines, extra = run(loop_factory, main())
    assert lines == [str(tmp_path), "yes", "True"]
    assert extra == b"via passed fd"


def test_invalid_arguments(loop_factory):
    async def scenario():
        loop = asyncio.get_running_loop()
        outcomes = []
        attempts = [
            lambda: loop.subprocess_exec(SubprocessRecorder, PY, "-c", "", universal_newlines=True),
            lambda: loop.subprocess_exec(SubprocessRecorder, PY, "-c", "", shell=True),
            lambda: loop.subprocess_exec(SubprocessRecorder, PY, "-c", "", bufsize=1),
            lambda: loop.subprocess_exec(SubprocessRecorder, PY, "-c", "", text=True),
            lambda: loop.subprocess_shell(SubprocessRecorder, ["echo", "list"]),
            lambda: loop.subprocess_shell(SubprocessRecorder, "true", shell=False),
        ]
        for attempt in attempts:
            try:
                tr, proto = await attempt()
            except (TypeError, ValueError) as exc:
                outcomes.append(type(exc))
            else:
                outcomes.append(None)
                tr.close()
        return outcomes

    got = run(loop_factory, scenario())
    assert got == run(REFERENCE, scenario())
    assert got[:3] == [ValueError] * 3


def test_subprocess_from_loop_in_worker_thread(loop_factory):
    """No child watcher bound to the main thread is needed."""
    import threading

    result = {}

    def worker():
        async def main():
            proc = await python("import sys; sys.exit(42)", stdout=PIPE)
            await proc.communicate()
            return proc.returncode

        try:
            result["rc"] = run(loop_factory, main(), timeout=20)
        except BaseException as exc:  # reported in the main thread
            result["exc"] = exc

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    assert result == {"rc": 42}


def test_grandchild_keeps_stdout_open(loop_factory):
    """The shell exits while its background child still holds stdout: wait() behaves
    as in stock asyncio (whose answer differs between Python versions)."""

    async def scenario():
        proc = await asyncio.create_subprocess_shell(
            "sleep 60 & echo started; read x; exit 0",
            stdin=PIPE,
            stdout=PIPE,
            start_new_session=True,
        )
        try:
            assert await proc.stdout.readline() == b"started\n"
            wait = asyncio.ensure_future(proc.wait())  # waiting before the shell exits
            await asyncio.sleep(0)
            proc.stdin.close()  # the shell's `read` ends, the shell exits
            try:
                outcome = await asyncio.wait_for(wait, 0.5)
            except TimeoutError:
                outcome = "still waiting"
        finally:
            os.killpg(proc.pid, signal.SIGKILL)  # the shell's session: the sleep too
        assert await proc.stdout.read() == b""
        assert await proc.wait() == 0
        return outcome

    got = run(loop_factory, scenario())
    assert got == run(REFERENCE, scenario())
