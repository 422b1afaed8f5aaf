"""``read_bytes``/``read_text``/``write_bytes``/``write_text``, ``vif.os``, ``vif.tempfile``
and the std streams, compared with the sync calls."""

from __future__ import annotations

import errno
import os
import pathlib

import pytest

import vif

from .conftest import async_outcome, sync_outcome

SIZES = [0, 1, 4096, 65535, 65536, 65537, 300_000, 3 << 20]


@pytest.mark.parametrize("size", SIZES)
def test_read_bytes_sizes(arun, tmp_path, size):
    data = os.urandom(size)
    p = tmp_path / "f"
    p.write_bytes(data)
    assert arun(vif.read_bytes, p) == data
    assert arun(vif.read_bytes, str(p).encode()) == data


@pytest.mark.parametrize("size", SIZES)
def test_write_bytes_sizes(arun, tmp_path, size):
    data = os.urandom(size)
    p = tmp_path / "f"
    p.write_bytes(b"previous content that is longer than nothing" * 10)
    assert arun(vif.write_bytes, p, data) == pathlib.Path(tmp_path / "g").write_bytes(data)
    assert p.read_bytes() == data


def test_write_bytes_accepts_buffers(arun, tmp_path):
    p = tmp_path / "f"
    for data in (bytearray(b"abc"), memoryview(b"defg"), memoryview(b"xxhixx")[2:4]):
        arun(vif.write_bytes, p, data)
        assert p.read_bytes() == bytes(data)


@pytest.mark.parametrize("case", ["missing", "dir", "notdir"])
def test_read_errors_match_pathlib(arun, tmp_path, case):
    (tmp_path / "file").write_bytes(b"x")
    p = {"missing": tmp_path / "nope", "dir": tmp_path, "notdir": tmp_path / "file" / "x"}[case]
    expected = sync_outcome(pathlib.Path(p).read_bytes)
    assert arun(async_outcome, vif.read_bytes(p)) == expected
    expected = sync_outcome(pathlib.Path(p).read_text)
    assert arun(async_outcome, vif.read_text(p)) == expected


@pytest.mark.parametrize("case", ["missing_dir", "dir", "permission"])
def test_write_errors_match_pathlib(arun, tmp_path, case):
    p = {"missing_dir": tmp_path / "nope" / "f", "dir": tmp_path,
         "permission": pathlib.Path("/proc/version")}[case]
    expected = sync_outcome(pathlib.Path(p).write_bytes, b"abc")
    assert arun(async_outcome, vif.write_bytes(p, b"abc")) == expected


def test_enospc_surfaces(arun):
    """/dev/full fails every write with ENOSPC: the same OSError as the sync calls."""
    expected = sync_outcome(pathlib.Path("/dev/full").write_bytes, b"x" * 10_000)
    assert expected[1][1] == errno.ENOSPC
    assert arun(async_outcome, vif.write_bytes("/dev/full", b"x" * 10_000)) == expected

    async def through_file():
        try:
            async with vif.open("/dev/full", "wb") as f:
                await f.write(b"x" * 10)
                await f.flush()
        except OSError as exc:
            return exc.errno
        return None

    assert arun(through_file) == errno.ENOSPC


@pytest.mark.parametrize("encoding", [None, "utf-8", "latin-1", "utf-16"])
@pytest.mark.parametrize("newline", [None, "", "\n", "\r\n"])
def test_text_helpers_match_pathlib(arun, tmp_path, encoding, newline):
    text = "a\nb\r\nc\rd é\n"
    a, b = tmp_path / "a", tmp_path / "b"
    with open(a, "w", encoding=encoding, newline=newline) as f:
        n = f.write(text)
    assert arun(vif.write_text, b, text, encoding, None, newline) == n
    assert b.read_bytes() == a.read_bytes()
    with open(a, encoding=encoding, newline=newline) as f:
        expected = f.read()
    assert arun(vif.read_text, a, encoding, None, newline) == expected


def test_text_helper_errors(arun, tmp_path):
    p = tmp_path / "bad"
    p.write_bytes(b"\xff\xfe\xfa")
    assert arun(async_outcome, vif.read_text(p, "utf-8")) == sync_outcome(p.read_text, "utf-8")
    assert arun(vif.read_text, p, "utf-8", "replace") == p.read_text("utf-8", "replace")
    with pytest.raises(TypeError):
        arun(vif.write_text, p, b"bytes")


def test_vif_os_calls_match_sync(arun, tmp_path):
    d = tmp_path / "d"

    async def main():
        out = []
        await vif.os.mkdir(d)
        out.append((await async_outcome(vif.os.mkdir(d)), sync_outcome(os.mkdir, d)))
        await vif.os.makedirs(d / "x" / "y")
        (d / "f").write_bytes(b"12345")
        out.append((await vif.os.stat(d / "f")).st_size)
        out.append((await vif.os.lstat(d / "f")).st_size)
        await vif.os.rename(d / "f", d / "g")
        out.append((await async_outcome(vif.os.rename(d / "f", d / "h")),
                    sync_outcome(os.rename, d / "f", d / "h")))
        await vif.os.replace(d / "g", d / "h")
        await vif.os.link(d / "h", d / "hl")
        await vif.os.symlink(d / "h", d / "sl")
        out.append(await vif.os.readlink(d / "sl") == str(d / "h"))
        out.append(sorted(await vif.os.listdir(d)))
        out.append(sorted(e.name for e in await vif.os.scandir(d)))
        out.append(await vif.os.access(d / "h", os.R_OK))
        out.append(await vif.os.getcwd() == os.getcwd())
        out.append((await vif.os.statvfs(d)).f_bsize > 0)
        out.append(await vif.os.path.exists(d / "h"))
        out.append(await vif.os.path.isfile(d / "h"))
        out.append(await vif.os.path.isdir(d / "x"))
        out.append(await vif.os.path.islink(d / "sl"))
        out.append(await vif.os.path.ismount("/"))
        out.append(await vif.os.path.getsize(d / "h") == 5)
        out.append(await vif.os.path.getmtime(d / "h") == os.path.getmtime(d / "h"))
        out.append(await vif.os.path.getatime(d / "h") == os.path.getatime(d / "h"))
        out.append(await vif.os.path.getctime(d / "h") == os.path.getctime(d / "h"))
        out.append(await vif.os.path.samefile(d / "h", d / "hl"))
        out.append(await vif.os.path.abspath("x") == os.path.abspath("x"))
        with open(d / "h") as f1, open(d / "hl") as f2:
            out.append(await vif.os.path.sameopenfile(f1.fileno(), f2.fileno()))
        await vif.os.remove(d / "hl")
        await vif.os.unlink(d / "sl")
        out.append((await async_outcome(vif.os.unlink(d / "sl")),
                    sync_outcome(os.unlink, d / "sl")))
        out.append((await async_outcome(vif.os.rmdir(d)), sync_outcome(os.rmdir, d)))
        await vif.os.rmdir(d / "x" / "y")
        await vif.os.removedirs(d / "x")
        await vif.os.renames(d / "h", tmp_path / "r" / "h")
        out.append(await vif.os.path.exists(d))
        src = os.open(tmp_path / "r" / "h", os.O_RDONLY)
        dst = os.open(tmp_path / "copy", os.O_WRONLY | os.O_CREAT)
        out.append(await vif.os.sendfile(dst, src, 0, 100))
        os.close(src)
        os.close(dst)
        return out

    out = arun(main)
    assert out[0][0] == out[0][1]
    assert out[1:3] == [5, 5]
    assert out[3][0] == out[3][1]
    assert out[4] is True
    assert out[5] == ["f", "h", "hl", "sl", "x"] or out[5] == ["h", "hl", "sl", "x"]
    assert all(v is True for v in out[4:-4] if not isinstance(v, list)), out
    assert out[-4][0] == out[-4][1]
    assert out[-3][0] == out[-3][1]
    assert out[-2] is False
    assert out[-1] == 5


def test_tempfile(arun):
    async def main():
        out = []
        async with vif.tempfile.TemporaryDirectory() as d:
            out.append(os.path.isdir(d))
            async with vif.tempfile.NamedTemporaryFile(dir=d) as f:
                await f.write(b"abc")
                await f.seek(0)
                out.append(await f.read())
                out.append(os.path.exists(f.name))
                name = f.name
            out.append(os.path.exists(name))
            async with vif.tempfile.TemporaryFile("w+", dir=d) as f:
                await f.write("héllo\n")
                await f.seek(0)
                out.append([line async for line in f])
            async with vif.tempfile.SpooledTemporaryFile(10, dir=d) as f:
                await f.write(b"x" * 5)
                out.append(f._rolled)
                await f.write(b"y" * 20)
                out.append(f._rolled)
                await f.seek(0)
                out.append(await f.read())
            tdir = await vif.tempfile.TemporaryDirectory(dir=d)
            out.append(os.path.isdir(tdir.name))
            await tdir.cleanup()
            out.append(os.path.isdir(tdir.name))
        out.append(os.path.exists(d))
        return out

    assert arun(main) == [True, b"abc", True, False, ["héllo\n"], False, True,
                          b"xxxxxyyyyyyyyyyyyyyyyyyyy", True, False, False]


def test_std_streams(arun, capfd):
    async def main():
        await vif.stdout.write("to stdout\n")
        await vif.stdout.flush()
        await vif.stderr.write("to stderr\n")
        await vif.stderr.flush()
        return vif.stdin.name, vif.stdout.fileno()

    arun(main)
    out, err = capfd.readouterr()
    assert "to stdout" in out
    assert "to stderr" in err


def test_top_level_names():
    for name in ("open", "read_bytes", "read_text", "write_bytes", "write_text", "stdin",
                 "stdout", "stderr"):
        assert getattr(vif, name) is getattr(vif.files, name)
    assert vif.files.backend() in ("threads", "io_uring")


def test_vif_os_stat_and_fsync_match_sync(arun, tmp_path):
    """``stat``/``lstat`` (a ring statx on io_uring) give what ``os.stat`` gives, field by field."""
    f = tmp_path / "f"
    f.write_bytes(b"x" * 12345)
    (tmp_path / "sl").symlink_to(f)
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    # (atime left out: following a symlink reads it, which may update its atime)
    names = ["st_mode", "st_ino", "st_dev", "st_nlink", "st_uid", "st_gid", "st_size",
             "st_mtime", "st_ctime", "st_mtime_ns", "st_ctime_ns", "st_blksize", "st_blocks",
             "st_rdev"]

    def fields(st):
        return tuple(st)[:7] + tuple(st)[8:], {n: getattr(st, n) for n in names}

    cases = [(f, True), (tmp_path, True), (tmp_path / "sl", True), (tmp_path / "sl", False),
             (tmp_path / "dangling", False), (tmp_path / "dangling", True),
             (tmp_path / "missing", True), (f / "notdir", True), ("/dev/null", True),
             (str(f).encode(), True)]

    async def main():
        out = []
        for path, follow in cases:
            call = vif.os.stat(path) if follow else vif.os.lstat(path)
            kind, value = await async_outcome(call)
            out.append((kind, fields(value) if kind == "ok" else value))
        with open(f, "r+b") as fh:
            await vif.os.fsync(fh)
            await vif.os.fsync(fh.fileno())
            await vif.os.fdatasync(fh.fileno())
        bad = os.open(tmp_path, os.O_RDONLY)
        os.close(bad)
        out.append(await async_outcome(vif.os.fsync(bad)))
        return out

    got = arun(main)
    expected = []
    for path, follow in cases:
        kind, value = sync_outcome(os.stat if follow else os.lstat, path)
        expected.append((kind, fields(value) if kind == "ok" else value))
    expected.append(sync_outcome(os.fsync, 10_000))
    assert got[:-1] == expected[:-1]
    assert got[-1][0] == "error" and got[-1][1][:2] == expected[-1][1][:2]  # EBADF


def test_top_level_names_are_the_files_functions_and_resolved_once():
    # ``import vif`` loads vif.files on first use of one of its names; after that the
    # name is a plain module attribute (no import machinery per call).
    import vif.files

    for name in ("open", "read_bytes", "read_text", "write_bytes", "write_text"):
        assert getattr(vif, name) is getattr(vif.files, name)
        assert vars(vif)[name] is getattr(vif.files, name)
