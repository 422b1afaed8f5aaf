"""``python -m vif run`` and ``python -m vif trace``, in child processes."""

from __future__ import annotations

import json
import textwrap

import pytest

from ._support import EXAMPLES, run_vif

pytestmark = pytest.mark.timeout(120)

PROBE = textwrap.dedent("""\
    import asyncio, sys

    async def main():
        return type(asyncio.get_running_loop()).__module__

    print("loop:", asyncio.run(main()))
    print("argv:", sys.argv[1:])
    print("name:", __name__)
    """)


def test_run_script_gets_a_vif_loop_and_its_argv(tmp_path):
    script = tmp_path / "probe.py"
    script.write_text(PROBE + "import helper; print('path:', helper.X)\n")
    (tmp_path / "helper.py").write_text("X = 'script dir is on sys.path'\n")
    proc = run_vif("run", str(script), "a", "--flag", "-m", "x")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("loop: vif.")
    assert lines[1:] == ["argv: ['a', '--flag', '-m', 'x']", "name: __main__",
                         "path: script dir is on sys.path"]


def test_run_module(tmp_path):
    pkg = tmp_path / "probepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "tool.py").write_text(PROBE + "print('argv0:', sys.argv[0])\n")
    proc = run_vif("run", "-m", "probepkg.tool", "x", "y", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("loop: vif.")
    assert lines[1:3] == ["argv: ['x', 'y']", "name: __main__"]
    assert lines[3] == f"argv0: {pkg / 'tool.py'}"


def test_exit_codes_and_errors(tmp_path):
    (tmp_path / "exits.py").write_text("import sys; sys.exit(3)\n")
    (tmp_path / "fails.py").write_text("raise ValueError('from the script')\n")
    assert run_vif("run", str(tmp_path / "exits.py")).returncode == 3
    failed = run_vif("run", str(tmp_path / "fails.py"))
    assert failed.returncode == 1 and "ValueError: from the script" in failed.stderr
    missing = run_vif("run", str(tmp_path / "nope.py"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    for bad in (["run"], ["trace"], ["frobnicate"], ["trace", "--format", "svg", "x.py"],
                ["run", "-m"], ["trace", "--slow", "soon", "x.py"]):
        proc = run_vif(*bad)
        assert proc.returncode == 2 and "usage:" in proc.stderr, bad
    assert run_vif("--help").stdout.startswith("usage:")


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_every_example_runs_under_vif_run(name):
    proc = run_vif("run", str(EXAMPLES / name), "--scale", "0.05")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("started at") or "hello" in proc.stdout


def _embedded(page: str) -> dict:
    start = page.index('<script id="trace-data" type="application/json">') + 48
    return json.loads(page[start:page.index("</script>", start)])


def test_trace_gather_example_html(tmp_path):
    out = tmp_path / "timeline.html"
    proc = run_vif("trace", "-o", str(out), "--summary",
                   str(EXAMPLES / "say_after_gather.py"), "--scale", "0.2")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[1:4] in (["hello", "!!!!!", "world"],
                                             ["!!!!!", "hello", "world"])
    assert f"wrote the html trace to {out}" in proc.stderr
    assert "Tasks (longest first)" in proc.stderr
    data = _embedded(out.read_text())
    assert data["title"] == "vif trace: say_after_gather.py"
    labels = sorted(t["l"] for t in data["tasks"])
    assert labels == ["main(0.2)", "say_after(0.2, '!!!!!')", "say_after(0.2, 'hello')",
                      "say_after(0.4, 'world')"]
    main = next(i for i, t in enumerate(data["tasks"]) if t["l"] == "main(0.2)")
    kids = [t for t in data["tasks"] if t["l"].startswith("say_after")]
    assert all(t["p"] == main for t in kids)
    start = min(t["r"][0] for t in kids)
    assert max(t["r"][0] for t in kids) - start < 20
    ends = {t["l"].split(", ")[1][1:-2]: t["r"][-1] - start for t in kids}
    assert 190 <= ends["hello"] < 300 and 190 <= ends["!!!!!"] < 300, ends
    assert 390 <= ends["world"] < 500, ends


def test_trace_perfetto_and_failing_script(tmp_path):
    script = tmp_path / "broken.py"
    script.write_text(textwrap.dedent("""\
        import asyncio

        async def child():
            await asyncio.sleep(0.01)

        async def main():
            await asyncio.create_task(child())
            raise SystemExit(5)

        asyncio.run(main())
        """))
    out = tmp_path / "trace.json"
    proc = run_vif("trace", "--format", "perfetto", "-o", str(out), str(script))
    assert proc.returncode == 5, proc.stderr
    trace = json.loads(out.read_text())
    events = trace["traceEvents"]
    names = {e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert {"event loop", "Task-1 main()", "Task-2 child()"} <= names
    assert any(e["ph"] == "X" and e["name"] == "asyncio.sleep(0.01)" for e in events)
    flows = [e for e in events if e["ph"] in "sf"]
    assert [e["ph"] for e in flows] == ["s", "f"] and flows[0]["id"] == flows[1]["id"]


def test_trace_default_output_name(tmp_path):
    script = tmp_path / "quick.py"
    script.write_text("import asyncio\nasyncio.run(asyncio.sleep(0))\n")
    proc = run_vif("trace", str(script), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "vif-trace.html").read_text().startswith("<!DOCTYPE html>")
