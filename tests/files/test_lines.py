"""``async for`` splitting raw chunks on the loop thread: the same lines as sync iteration.

The chunk size is cut to a few bytes so that line ends, ``\\r\\n`` pairs and
multi-byte characters straddle chunk boundaries; every case is compared with
iterating the builtin ``open()`` (lines, ``newlines``, errors), through the
compiled and the pure line iterator and splitter.
"""

from __future__ import annotations

import os

import pytest

import vif
from vif.files import _file, _lines

CONTENTS = {
    "lf": b"alpha\nbeta\ngamma\n" * 9,
    "no_final_newline": b"one\ntwo\nthree",
    "empty": b"",
    "only_newlines": b"\n\n\n\n",
    "crlf_cr_mixed": b"a\r\nb\rc\nd\r\n\r\n\re\r" * 7,
    "utf8": "héllo wörld ✓ 日本\nzweite Zeile ü\n".encode() * 6,
    "extra_boundaries": "x\x0cy\x1cz\u2028w\x85v\x0bu\n".encode() * 5,
    "latin1_nel": b"caf\xe9\x85bar\nnext\n" * 6,
    "long_line": b"s\n" + b"L" * 300 + b"\nend\n",
    "cr_only": b"mac\rstyle\rlines\r" * 5,
    "bad_utf8": b"good line\n" * 10 + b"bad \xff\xfe line\n" + b"more\n" * 5,
}
CASES = [
    # (content, mode, encoding, errors, newline)
    *[(c, "rb", None, None, None) for c in CONTENTS],
    *[(c, "r", "utf-8", "surrogateescape", nl) for c in CONTENTS
      for nl in (None, "", "\n", "\r", "\r\n")],
    ("latin1_nel", "r", "latin-1", None, None),
    ("latin1_nel", "r", "latin-1", None, "\n"),
    ("lf", "r", "ascii", None, None),
    ("bad_utf8", "r", "utf-8", "strict", None),
    ("bad_utf8", "r", "utf-8", "replace", ""),
    ("utf8", "r", "utf-16", "strict", None),  # not split here: the stdlib path raises
]


@pytest.fixture(params=["compiled", "python"])
def impls(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The compiled LineIter and ASCII splitter, or the pure-Python ones."""
    if request.param == "compiled":
        if _file._LineIter is None or _lines._ascii_lines is None:
            pytest.skip("vif.files._clines is not compiled (or VIF_NO_EXTENSIONS=1)")
    else:
        monkeypatch.setattr(_file, "_LineIter", None)
        monkeypatch.setattr(_lines, "_ascii_lines", None)
    return request.param


def _sync(path, mode, encoding, errors, newline):
    lines = []
    kw = {} if mode == "rb" else dict(encoding=encoding, errors=errors, newline=newline)
    with open(path, mode, **kw) as f:
        try:
            for line in f:
                lines.append(line)
        except ValueError as exc:  # UnicodeDecodeError
            return lines, type(exc), None
        return lines, None, getattr(f, "newlines", None)


async def _async(path, mode, encoding, errors, newline):
    lines = []
    kw = {} if mode == "rb" else dict(encoding=encoding, errors=errors, newline=newline)
    async with vif.open(path, mode, **kw) as f:
        try:
            async for line in f:
                lines.append(line)
        except ValueError as exc:
            return lines, type(exc), None
        return lines, None, getattr(f, "newlines", None)


@pytest.mark.parametrize("chunk", [16, 61])
def test_lines_match_sync_across_chunk_boundaries(arun, tmp_path, monkeypatch, impls, chunk):
    monkeypatch.setattr(_file, "LINES_CHUNK", chunk)
    for name, data in CONTENTS.items():
        (tmp_path / name).write_bytes(data)

    async def main():
        return [await _async(tmp_path / c, *rest) for c, *rest in CASES]

    got = arun(main)
    for case, result in zip(CASES, got, strict=True):
        lines, exc, newlines = _sync(tmp_path / case[0], *case[1:])
        if exc is None:
            assert result == (lines, None, newlines), case
        else:
            # The same error.  How many lines come before it differs (sync decodes 8 KiB
            # at a time, vif a chunk), never what they hold: the file's first lines.
            good, _, _ = _sync(tmp_path / case[0], case[1], case[2], "replace", case[4])
            assert result[1] is exc, case
            assert result[0] == good[:len(result[0])], case
            assert all("\ufffd" not in line for line in result[0]), case


def test_splitting_is_done_on_the_loop_thread_where_it_can(arun, tmp_path):
    p = tmp_path / "t"
    p.write_bytes(b"x\n" * 10)

    async def main():
        kinds = []
        for mode, kw in (("r", {}), ("rb", {}), ("r", {"encoding": "latin-1", "newline": ""}),
                         ("r", {"encoding": "utf-8-sig"}), ("r", {"newline": "\r"})):
            async with vif.open(p, mode, **kw) as f:
                async for _ in f:
                    break
                kinds.append(type(f._splitter).__name__)
        return kinds

    assert arun(main) == ["TextSplitter", "BytesSplitter", "TextSplitter", "bool", "bool"]


@pytest.mark.parametrize("mode", ["r", "rb"])
def test_other_methods_after_partial_iteration_small_chunks(arun, tmp_path, monkeypatch,
                                                            impls, mode):
    monkeypatch.setattr(_file, "LINES_CHUNK", 50)
    lines = [f"{i:04d} {'é' * (i % 7)}{'y' * (i % 23)}\n" for i in range(300)]
    text = "".join(lines)
    path = tmp_path / "l"
    path.write_text(text, encoding="utf-8")
    enc = (lambda s: s) if mode == "r" else (lambda s: s.encode())

    async def main():
        kw = {"encoding": "utf-8"} if mode == "r" else {}
        async with vif.open(path, mode, **kw) as f:
            got = []
            async for line in f:
                got.append(line)
                if len(got) == 37:
                    break
            pos = await f.tell() if mode == "rb" else None
            nxt = await f.readline()
            part = await f.read(9)
            again = [line async for line in f]
            await f.seek(0)
            first = await f.readline()
            return got, pos, nxt, part, again, first

    got, pos, nxt, part, again, first = arun(main)
    assert got == [enc(s) for s in lines[:37]]
    if mode == "rb":
        assert pos == len("".join(lines[:37]).encode())
    assert nxt == enc(lines[37])
    rest = "".join(lines[38:]) if mode == "r" else "".join(lines[38:]).encode()
    part_len = 9
    assert part == (rest[:part_len] if mode == "r" else rest[:part_len])
    assert enc("").join(again) == rest[part_len:]
    assert first == enc(lines[0])


def test_a_write_after_partial_iteration_lands_after_the_consumed_lines(arun, tmp_path,
                                                                         monkeypatch):
    monkeypatch.setattr(_file, "LINES_CHUNK", 32)
    path = tmp_path / "w"
    path.write_bytes(b"".join(b"%03d\n" % i for i in range(50)))

    async def main():
        async with vif.open(path, "r+b") as f:
            n = 0
            async for _ in f:
                n += 1
                if n == 3:
                    break
            await f.write(b"XYZ\n")

    original = path.read_bytes()
    arun(main)
    sync_path = tmp_path / "sync"
    sync_path.write_bytes(original)
    with open(sync_path, "r+b") as f:  # the same steps, sync
        for n, _ in enumerate(f, 1):
            if n == 3:
                break
        f.write(b"XYZ\n")
    assert path.read_bytes() == sync_path.read_bytes()


def test_line_iter_has_am_send():
    from vif.files import _clines

    if os.environ.get("VIF_NO_EXTENSIONS"):
        pytest.skip("pure-Python run")
    assert _clines.has_am_send()


def test_ascii_lines_refuses_none():
    if _lines._ascii_lines is None:
        pytest.skip("vif.files._clines is not compiled (or VIF_NO_EXTENSIONS=1)")
    with pytest.raises(TypeError):
        _lines._ascii_lines(None, 0)
    assert _lines._ascii_lines(b"a\nb", 3) == ["a\n", "b"]
