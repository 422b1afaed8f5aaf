"""``vif.open``: the same results and errors as the builtin ``open()``, method by method."""

from __future__ import annotations

import io
import os

import pytest

import vif

from .conftest import async_outcome, sync_outcome

TEXTS = {
    "ascii": ("hello\nworld\n" * 50, "utf-8"),
    "crlf": ("one\r\ntwo\r\nthree\rfour\n" * 40, "utf-8"),
    "unicode": ("héllo wörld ✓ 日本\n" * 30 + "no newline at end", "utf-8"),
    "utf16": ("bom and all\nsecond line\n" * 20, "utf-16"),
    "utf8sig": ("with bom\n" * 10, "utf-8-sig"),
}


@pytest.fixture
def text_file(tmp_path, request):
    text, enc = TEXTS[request.param]
    p = tmp_path / "t.txt"
    with open(p, "w", encoding=enc, newline="") as f:
        f.write(text)
    return p, enc


@pytest.fixture(params=["compiled", "python"])
def line_iter(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """``async for`` through the compiled LineIter and through the pure generator."""
    from vif.files import _file

    if request.param == "compiled":
        if _file._LineIter is None:
            pytest.skip("vif.files._clines is not compiled (or VIF_NO_EXTENSIONS=1)")
    else:
        monkeypatch.setattr(_file, "_LineIter", None)
    return request.param


@pytest.mark.parametrize("text_file", list(TEXTS), indirect=True)
@pytest.mark.parametrize("newline", [None, "", "\n", "\r\n"])
def test_text_read_matches_sync(arun, text_file, newline, line_iter):
    path, enc = text_file
    with open(path, encoding=enc, newline=newline) as f:
        whole = f.read()
    with open(path, encoding=enc, newline=newline) as f:
        lines = list(f)

    async def main():
        async with vif.open(path, encoding=enc, newline=newline) as f:
            got_whole = await f.read()
        async with vif.open(path, encoding=enc, newline=newline) as f:
            got_lines = [line async for line in f]
        async with vif.open(path, encoding=enc, newline=newline) as f:
            got_rl = [await f.readline() for _ in range(len(lines) + 1)]
        return got_whole, got_lines, got_rl

    got_whole, got_lines, got_rl = arun(main)
    assert got_whole == whole
    assert got_lines == lines
    assert got_rl == lines + [""]


def test_binary_method_sequence_matches_sync(arun, tmp_path):
    data = b"".join(b"line %d %s\n" % (i, b"x" * (i % 50)) for i in range(3000))
    path = tmp_path / "b.bin"
    path.write_bytes(data)

    def sync_ops():
        out = []
        with open(path, "rb") as f:
            out.append(f.read(10))
            out.append(f.readline())
            out.append(f.readline(5))
            out.append(f.read1(7))
            buf = bytearray(13)
            out.append((f.readinto(buf), bytes(buf)))
            out.append(f.readlines(100))
            out.append(f.tell())
            out.append(f.seek(-20, os.SEEK_END))
            out.append(f.read())
            out.append(f.seek(5))
            out.append(f.read(3))
            out.append(f.tell())
            out.append(f.read())
            out.append(f.read())
        return out

    async def async_ops():
        out = []
        async with vif.open(path, "rb") as f:
            out.append(await f.read(10))
            out.append(await f.readline())
            out.append(await f.readline(5))
            out.append(await f.read1(7))
            buf = bytearray(13)
            out.append((await f.readinto(buf), bytes(buf)))
            out.append(await f.readlines(100))
            out.append(await f.tell())
            out.append(await f.seek(-20, os.SEEK_END))
            out.append(await f.read())
            out.append(await f.seek(5))
            out.append(await f.read(3))
            out.append(await f.tell())
            out.append(await f.read())
            out.append(await f.read())
        return out

    expected = sync_ops()
    got = arun(async_ops)
    # read1 may legitimately return fewer bytes; everything else must match exactly
    assert got[:3] == expected[:3]
    assert got[4:] == expected[4:] or got[5:] == expected[5:]


@pytest.mark.parametrize("mode", ["r", "rb"])
def test_iteration_with_break_then_other_methods(arun, tmp_path, mode, line_iter):
    lines = [f"{i:06d} {'y' * (i % 70)}\n" for i in range(40_000)]
    path = tmp_path / "lines.txt"
    path.write_text("".join(lines))
    enc = (lambda s: s) if mode == "r" else (lambda s: s.encode())

    async def main():
        async with vif.open(path, mode) as f:
            got = []
            async for line in f:
                got.append(line)
                if len(got) == 1000:
                    break
            nxt = await f.readline()
            chunk = await f.read(25)
            pos = await f.tell() if mode == "rb" else None
            async for line in f:  # a second loop continues where we are
                got.append(line)
                break
            rest = await f.read()
            return got, nxt, chunk, pos, rest

    got, nxt, chunk, pos, rest = arun(main)
    assert got[:1000] == [enc(s) for s in lines[:1000]]
    assert nxt == enc(lines[1000])
    flat = "".join(lines[1001:])
    assert chunk == enc(flat[:25])
    if mode == "rb":
        assert pos == len("".join(lines[:1001]).encode()) + 25
    tail = flat[25:]
    first_line_end = tail.index("\n") + 1
    assert got[1000] == enc(tail[:first_line_end])
    assert rest == enc(tail[first_line_end:])


def test_lines_are_fetched_a_chunk_per_hop(arun, tmp_path, monkeypatch, line_iter):
    from vif.files import _file

    path = tmp_path / "many.txt"
    path.write_text("".join(f"{i}\n" for i in range(20_000)))
    fetches = []
    real = _file.AsyncBase._fetch_lines

    async def counting(self):
        fetches.append(1)
        return await real(self)

    monkeypatch.setattr(_file.AsyncBase, "_fetch_lines", counting)

    async def main():
        n = 0
        async with vif.open(path) as f:
            async for _ in f:
                n += 1
        return n

    assert arun(main) == 20_000
    assert len(fetches) <= 3  # ~110 KiB file, 256 KiB per fetch, then the EOF read


def test_write_modes_match_sync(arun, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"

    def sync_side(p):
        with open(p, "w", newline="\r\n") as f:
            f.write("x\ny\n")
            f.writelines(["1\n", "2\n"])
        with open(p, "a") as f:
            f.write("appended\n")
        with open(p, "r+b") as f:
            f.seek(2)
            f.write(b"ZZ")
            f.seek(0)
            head = f.read(6)
            f.truncate(12)
        with open(p, "ab") as f:
            f.write(b"!")
            f.write(bytearray(b"?"))
            f.write(memoryview(b"..."))
        return head, p.read_bytes()

    async def async_side(p):
        async with vif.open(p, "w", newline="\r\n") as f:
            await f.write("x\ny\n")
            await f.writelines(["1\n", "2\n"])
        async with vif.open(p, "a") as f:
            await f.write("appended\n")
        async with vif.open(p, "r+b") as f:
            await f.seek(2)
            await f.write(b"ZZ")
            await f.seek(0)
            head = await f.read(6)
            await f.truncate(12)
        async with vif.open(p, "ab") as f:
            await f.write(b"!")
            await f.write(bytearray(b"?"))
            await f.write(memoryview(b"..."))
        return head, p.read_bytes()

    assert arun(async_side, b) == sync_side(a)


def test_exclusive_and_unbuffered(arun, tmp_path):
    p = tmp_path / "x"

    async def main():
        async with vif.open(p, "xb", buffering=0) as f:
            assert isinstance(f, vif.files.AsyncFileIO)
            await f.write(b"abc")
        outcome = await async_outcome(vif.open(p, "x"))
        return outcome

    outcome = arun(main)
    assert p.read_bytes() == b"abc"
    assert outcome == sync_outcome(open, p, "x")


def test_attributes_match_sync(arun, tmp_path):
    p = tmp_path / "attr.txt"
    p.write_text("abc")

    async def main():
        out = []
        for mode in ("r", "rb", "r+", "a+b", "w"):
            f = await vif.open(p, mode)
            out.append((mode, f.name, f.mode, f.closed, f.readable(), await f.writable(),
                        await f.seekable(), isinstance(f.fileno(), int)))
            await f.close()
            out.append(f.closed)
        return out

    expected = []
    for mode in ("r", "rb", "r+", "a+b", "w"):
        f = open(p, mode)
        expected.append((mode, f.name, f.mode, f.closed, f.readable(), f.writable(),
                         f.seekable(), True))
        f.close()
        expected.append(True)
    got = arun(main)
    # vif keeps the path given by the caller as ``name`` (as aiofiles does)
    assert [g[:1] + (str(g[1]),) + g[2:] if isinstance(g, tuple) else g for g in got] == [
        e[:1] + (str(e[1]),) + e[2:] if isinstance(e, tuple) else e for e in expected]


def test_text_attributes(arun, tmp_path):
    p = tmp_path / "t"
    p.write_bytes(b"a\r\nb\n")

    async def main():
        async with vif.open(p, encoding="latin-1", errors="replace") as f:
            await f.read()
            return f.encoding, f.errors, f.newlines, f.line_buffering, isinstance(f.buffer,
                                                                                  io.BufferedReader)

    with open(p, encoding="latin-1", errors="replace") as f:
        f.read()
        expected = f.encoding, f.errors, f.newlines, f.line_buffering, True
    assert arun(main) == expected


METHODS = [
    ("read", ()), ("read1", ()), ("readinto", (bytearray(4),)), ("readline", ()),
    ("readlines", ()), ("write", (b"x",)), ("writelines", ([b"x"],)), ("seek", (0,)),
    ("tell", ()), ("truncate", ()), ("flush", ()),
]


def test_operations_on_closed_file_raise_valueerror(arun, tmp_path, line_iter):
    p = tmp_path / "c"
    p.write_bytes(b"data\n")

    async def main():
        f = await vif.open(p, "r+b")
        await f.close()
        await f.close()  # closing twice is fine, as in sync
        errors = {}
        for name, args in METHODS:
            try:
                await getattr(f, name)(*args)
            except ValueError as exc:
                errors[name] = str(exc)
        try:
            async for _ in f:
                pass
        except ValueError:
            errors["aiter"] = "closed"
        return errors

    errors = arun(main)
    assert set(errors) == {name for name, _ in METHODS} | {"aiter"}


def test_iteration_cancelled_during_a_fetch(arun, tmp_path, line_iter):
    """Cancelling ``async for`` while a chunk is being fetched leaves the file usable.

    (The lines of the cancelled fetch are lost, as a cancelled ``read()``'s data is.)
    """
    path = tmp_path / "lines.txt"
    path.write_text("".join(f"{i}\n" for i in range(50_000)))

    async def main():
        import asyncio

        async with vif.open(path) as f:
            started = asyncio.Event()

            async def consume():
                n = 0
                async for _ in f:
                    n += 1
                    started.set()
                return n

            task = asyncio.ensure_future(consume())
            await started.wait()
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                cancelled = True
            else:
                cancelled = False
            rest = [line async for line in f]  # the file is still usable
            return cancelled, task.done(), rest

    cancelled, done, rest = arun(main)
    assert cancelled and done
    assert all(line.endswith("\n") for line in rest)


@pytest.mark.parametrize("case", [
    "missing", "dir_read", "dir_write", "notdir", "permission", "bad_mode", "bad_mode2",
    "encoding_in_binary", "unbuffered_text", "bad_encoding", "bad_newline", "exists",
])
def test_open_errors_match_sync(arun, tmp_path, case):
    (tmp_path / "file").write_text("x")
    args = {
        "missing": ((tmp_path / "nope",), {}),
        "dir_read": ((tmp_path,), {}),
        "dir_write": ((tmp_path, "w"), {}),
        "notdir": ((tmp_path / "file" / "sub",), {}),
        "permission": (("/proc/version", "w"), {}),
        "bad_mode": ((tmp_path / "file", "rw"), {}),
        "bad_mode2": ((tmp_path / "file", "rr"), {}),
        "encoding_in_binary": ((tmp_path / "file", "rb"), {"encoding": "utf-8"}),
        "unbuffered_text": ((tmp_path / "file", "r"), {"buffering": 0}),
        "bad_encoding": ((tmp_path / "file", "r"), {"encoding": "no-such-codec"}),
        "bad_newline": ((tmp_path / "file", "r"), {"newline": "x"}),
        "exists": ((tmp_path / "file", "x"), {}),
    }[case]
    pargs, kwargs = args
    expected = sync_outcome(lambda: open(*pargs, **kwargs).close())

    async def main():
        outcome = await async_outcome(vif.open(*pargs, **kwargs))
        if outcome[0] == "ok":
            await outcome[1].close()
            return "ok", None
        return outcome

    got = arun(main)
    if expected[0] == "ok":
        assert got[0] == "ok"
    else:
        assert got == expected


def test_fd_opener_and_closefd(arun, tmp_path):
    p = tmp_path / "o"
    p.write_bytes(b"12345")

    async def main():
        fd = os.open(p, os.O_RDONLY)
        async with vif.open(fd, "rb", closefd=False) as f:
            a = await f.read(2)
        os.lseek(fd, 0, os.SEEK_SET)
        async with vif.open(fd, "rb") as f:
            b = await f.read()
        try:
            os.fstat(fd)
            still_open = True
        except OSError:
            still_open = False
        async with vif.open(p, "rb", opener=lambda path, flags: os.open(path, flags)) as f:
            c = await f.read()
        return a, b, still_open, c

    assert arun(main) == (b"12", b"12345", False, b"12345")


def test_await_and_anext_style(arun, tmp_path):
    p = tmp_path / "n"
    p.write_text("a\nb\n")

    async def main():
        f = await vif.open(p)
        first = await f.__anext__()
        second = await anext(f)
        try:
            await f.__anext__()
        except StopAsyncIteration:
            end = True
        await f.close()
        return first, second, end

    assert arun(main) == ("a\n", "b\n", True)


def test_rb_file_closed_before_any_other_use(arun, tmp_path):
    """``"rb"`` on the ring makes its BufferedReader on first use; unused, it still
    behaves as the builtin's closed file."""
    p = tmp_path / "rb"
    p.write_bytes(b"abc\ndef\n")

    async def main():
        f = await vif.open(p, "rb")
        before = (f.name, f.mode, f.closed, "BufferedReader" in repr(f))
        await f.close()
        await f.close()
        after = (f.name, f.mode, f.closed)
        errors = []
        for call in (f.read, f.readline, f.tell, f.fileno, f.readable):
            try:
                r = call()
                if hasattr(r, "__await__"):
                    await r
            except ValueError:
                errors.append(call.__name__)
        try:
            async for _ in f:
                pass
        except ValueError:
            errors.append("aiter")
        return before, after, errors

    before, after, errors = arun(main)
    assert before == (str(p), "rb", False, True)
    assert after[1:] == ("rb", True)
    assert errors == ["read", "readline", "tell", "fileno", "readable", "aiter"]


def test_rb_whole_read_then_other_methods(arun, tmp_path):
    p = tmp_path / "rb2"
    data = b"".join(b"%05d\n" % i for i in range(3000))
    p.write_bytes(data)

    def sync_side():
        with open(p, "rb") as f:
            return f.read(), f.tell(), f.read(), f.seek(6), f.readline(), f.read(4), f.tell()

    async def async_side():
        async with vif.open(p, "rb") as f:
            return (await f.read(), await f.tell(), await f.read(), await f.seek(6),
                    await f.readline(), await f.read(4), await f.tell())

    assert arun(async_side) == sync_side()


@pytest.mark.parametrize("change", ["grow", "shrink"])
@pytest.mark.parametrize("mode", ["rb", "r"])
def test_whole_read_after_the_file_changed_size_since_open(arun, tmp_path, mode, change):
    """read() sizes its reads from what open() saw; a file appended to or truncated
    since then is still read to its current end (not an endless re-read at EOF)."""
    p = tmp_path / "changing"
    p.write_bytes(b"x" * (10 if change == "grow" else 200_000))

    async def main():
        async with vif.open(p, mode) as f:
            if change == "grow":
                with open(p, "ab") as g:
                    g.write(b"y" * 1_000_000)
            else:
                os.truncate(p, 10)
            return await f.read()

    got = arun(main, timeout=20)
    data = p.read_bytes()
    assert got == (data if mode == "rb" else data.decode())


def test_argument_checks_are_not_skipped_for_equal_but_invalid_values(arun, tmp_path):
    """A float buffering equal to a valid int one seen before is still refused."""
    p = tmp_path / "b"
    p.write_bytes(b"data")

    async def main():
        out = []
        for buffering in (-1, -1.0, 4096, 4096.0):
            out.append(await async_outcome(vif.open(str(p), "rb", buffering=buffering)))
            if out[-1][0] == "ok":
                await out[-1][1].close()
                out[-1] = ("ok", None)
        return out

    want = []
    for buffering in (-1, -1.0, 4096, 4096.0):
        r = sync_outcome(open, p, "rb", buffering=buffering)
        if r[0] == "ok":
            r[1].close()
            r = ("ok", None)
        want.append(r)
    assert [r[0] for r in want] == ["ok", "error", "ok", "error"]
    got = arun(main)
    assert [(r[0], r[1] and r[1][0]) for r in got] == [(r[0], r[1] and r[1][0]) for r in want]


@pytest.mark.parametrize("mode", ["rb", "r"])
def test_descriptor_is_released_when_close_returns(arun, tmp_path, mode):
    """As the builtin's close(): once ``await f.close()`` returns, the descriptor is
    gone (a late close would drop POSIX locks taken since on the same file)."""
    p = tmp_path / "c"
    p.write_bytes(b"abc\n")

    async def main():
        f = await vif.open(p, mode)
        fd = f.fileno()
        await f.read()
        await f.close()
        try:
            os.fstat(fd)
        except OSError as exc:
            return exc.errno
        return None

    import errno
    assert arun(main) == errno.EBADF
