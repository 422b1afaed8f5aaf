"""Tests of the benchmark suite (``bench/``): registry, child outcomes, report and a tiny run.

They run a tiny scale of real benchmarks on every implementation; peers that are
not installed (the usual case in CI) must show ``n/a`` with a reason.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # after site-packages: an installed vif stays preferred

from bench import child, cli, registry, report, runner, targets  # noqa: E402
from bench.floor import compiler  # noqa: E402
from bench.impls import IMPLS, Impl, Unavailable  # noqa: E402
from bench.machine import PEER_PACKAGES  # noqa: E402
from bench.runner import run_child  # noqa: E402

EXPECTED = {
    "call_soon",
    "sleep_timers",
    "call_later_cancel",
    "tasks_sleep0",
    "queue_pingpong",
    "call_soon_threadsafe",
    "future_await",
    *(f"echo_{s}_{m}" for s in ("proto", "stream", "sock") for m in ("100B", "16KiB")),
    *(f"remote_{s}_{m}" for s in ("proto", "stream", "sock") for m in ("1KiB", "10KiB", "100KiB")),
    "connections",
    "udp_pingpong",
}


def test_registry_covers_the_suite() -> None:
    benchmarks = {b.name: b for b in registry.load_all()}
    assert EXPECTED <= set(benchmarks)
    for b in benchmarks.values():
        assert b.n > 0 and b.group and b.description
        assert b.count(0.1) >= b.min_n
    assert {name for name, b in benchmarks.items() if b.floor} >= {
        "echo_proto_100B",
        "echo_stream_100B",
        "echo_sock_100B",
    }
    assert [b.name for b in registry.select(["loop"])][0] == "call_soon"
    assert {b.name for b in registry.select(["echo_*_100B"])} == {
        "echo_proto_100B",
        "echo_stream_100B",
        "echo_sock_100B",
    }
    with pytest.raises(KeyError):
        registry.select(["no_such_benchmark"])


@pytest.fixture
def temp_benchmarks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register two throw-away benchmarks for the duration of one test."""
    registry.load_all()
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    def missing(ctx: registry.Context, n: int) -> float:
        raise NotImplementedError("feature not there yet")

    def broken(ctx: registry.Context, n: int) -> float:
        raise ValueError("boom")

    registry.benchmark("tmp_missing", group="test", n=1)(missing)
    registry.benchmark("tmp_broken", group="test", n=1)(broken)


@pytest.mark.usefixtures("temp_benchmarks")
def test_child_outcomes() -> None:
    ok = child.run({"impl": "asyncio", "bench": "call_soon", "n": 100})
    assert ok["ok"] and ok["elapsed"] > 0
    missing = child.run({"impl": "asyncio", "bench": "tmp_missing", "n": 1})
    assert missing["kind"] == "not-implemented" and "feature not there yet" in missing["reason"]
    broken = child.run({"impl": "asyncio", "bench": "tmp_broken", "n": 1})
    assert broken["kind"] == "error" and "ValueError: boom" in broken["reason"]
    assert "Traceback" in broken["traceback"]


def test_unavailable_impl(monkeypatch: pytest.MonkeyPatch) -> None:
    def setup() -> None:
        raise Unavailable("not here")

    monkeypatch.setitem(IMPLS, "fake", Impl("fake", setup))  # type: ignore[arg-type]
    out = child.run({"impl": "fake", "bench": "call_soon", "n": 10})
    assert out == {"ok": False, "kind": "unavailable", "reason": "not here", "traceback": None}


def test_child_timeout_is_reported() -> None:
    out = run_child("asyncio", {"bench": "sleep_timers", "n": 10}, timeout=0.05)
    assert out["ok"] is False and out["kind"] == "timeout"


def test_ratio_significance() -> None:
    def cell(lo: float, med: float, hi: float) -> dict[str, object]:
        return {"status": "ok", "min": lo, "median": med, "max": hi}

    row = {
        "asyncio": cell(1.0, 1.1, 1.2),
        "uvloop": cell(0.5, 0.6, 0.7),
        "rloop": {"status": "n/a", "reason": "missing"},
        "vif": cell(0.2, 0.3, 0.4),
    }
    r = report.ratio(row, "vif")
    assert r["best_peer"] == "uvloop" and r["value"] == pytest.approx(0.5) and r["significant"]
    row["vif"] = cell(0.55, 0.65, 0.9)
    r = report.ratio(row, "vif")
    assert r["value"] == pytest.approx(0.65 / 0.6) and not r["significant"]
    assert report.ratio(row, "vif-pure")["value"] is None
    assert report.ratio(row, None)["reason"] == "no vif implementation ran"


def test_targets_take_the_fastest_base_and_the_issue_direction() -> None:
    def row(name: str, group: str, **medians: float) -> dict[str, object]:
        results = {k: {"status": "ok", "median": v, "min": v, "max": v} for k, v in medians.items()}
        return {"name": name, "group": group, "results": results, "floor": None}

    doc = {
        "benchmarks": [
            # aiofiles: 0.2 s on asyncio, 0.1 s on uvloop (the base), 0.01 s on vif (ignored)
            row("files_open_read_aiofiles_64", "files", asyncio=0.2, uvloop=0.1, vif=0.01),
            row("files_read_bytes_vif_64", "files", vif=0.009),
            row("files_open_read_vif_64", "files", vif=0.025),
            row("call_soon", "loop", uvloop=0.5, rloop=0.2, vif=0.15),
            row("traced_call_soon", "tracing", vif=0.3),
        ]
    }
    got = {t["label"]: t for t in targets.check(doc)}
    read_bytes = got["read_bytes, 64 in flight, vs aiofiles open+read"]
    assert read_bytes["against"] == "uvloop"
    assert read_bytes["value"] == pytest.approx(0.1 / 0.009) and read_bytes["met"]
    open_read = got["vif.open + read, 64 in flight, vs aiofiles"]
    assert open_read["value"] == pytest.approx(4.0) and open_read["met"] is False
    loop = got["call_soon: vif time / best of uvloop, rloop"]
    assert loop["against"] == "rloop" and loop["value"] == pytest.approx(0.75) and loop["met"]
    traced = got["traced_call_soon time / call_soon (vif)"]
    assert traced["value"] == pytest.approx(2.0) and traced["met"] is False
    assert got["vif.http on vif vs aiohttp, 1 in flight"]["met"] is None  # rows not in the run
    section = "\n".join(targets.markdown_lines(doc))
    expected = "| #5 | vif.open + read, 64 in flight, vs aiofiles | uvloop | 4.00x | >= 5x | no |"
    assert expected in section


def test_tiny_run_writes_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    only = ["call_soon", "echo_proto_100B"]
    args = ["--only", *only, "--scale", "0.001", "--rounds", "2", "--warmup", "1"]
    assert cli.main([*args, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "vif/best-peer" in out and "call_soon" in out

    doc = json.loads((tmp_path / "latest.json").read_text())
    assert doc["schema"] == report.SCHEMA
    assert doc["config"]["scale"] == 0.001 and doc["config"]["rounds"] == 2
    assert {"cpu_model", "cores", "kernel"} <= set(doc["machine"])
    assert doc["python"]["version"] == platform.python_version()
    assert set(doc["peers"]) == set(PEER_PACKAGES)
    assert list(doc["implementations"]) == list(IMPLS)
    assert doc["implementations"]["asyncio"]["available"]
    assert [row["name"] for row in doc["benchmarks"]] == only

    for row in doc["benchmarks"]:
        assert row["n"] == registry.get(row["name"]).count(0.001)
        assert set(row["results"]) == set(IMPLS)
        assert set(row["ratio"]) >= {"vif_impl", "best_peer", "value", "significant"}
        for name, cell in row["results"].items():
            assert cell["status"] in ("ok", "n/a"), (name, cell)
            if cell["status"] == "ok":
                assert len(cell["samples"]) == 2
                assert 0 < cell["min"] <= cell["median"] <= cell["max"]
            else:
                assert cell["reason"], (name, cell)
        assert row["results"]["asyncio"]["status"] == "ok"
        for peer in ("uvloop", "rloop"):
            if importlib.util.find_spec(peer) is None:
                assert row["results"][peer]["status"] == "n/a"
                assert "not installed" in row["results"][peer]["reason"]
        if not doc["implementations"]["vif"]["available"]:
            assert row["results"]["vif"]["reason"]

    floor = doc["benchmarks"][1]["floor"]
    assert doc["benchmarks"][0]["floor"] is None
    if compiler() is not None:
        assert floor["status"] == "ok" and len(floor["samples"]) == 2
    else:
        assert floor["status"] == "n/a"

    md = (tmp_path / "latest.md").read_text()
    assert "| benchmark | n |" in md and "echo_proto_100B" in md
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "latest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert "matplotlib is not installed" in out
    assert report.text_table(doc) in out


def test_child_leaves_no_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A child leaves with os._exit, so only the runner can remove what it wrote; the
    # files rows' data set is made once per run in the shared directory.
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.setattr(runner, "_shared", [])
    for bench in ("files_lines_sync", "files_open_read_sync_1"):
        out = run_child("asyncio", {"bench": bench, "n": 1}, timeout=120)
        assert out["ok"], out
    shared = Path(runner.shared_dir())
    assert list(tmp_path.iterdir()) == [shared]
    assert [p.name for p in shared.iterdir()] == ["files"]
    shutil.rmtree(shared)
