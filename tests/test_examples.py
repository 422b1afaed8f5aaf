"""The tutorial programs in examples/ run on vif, print the right lines, take the right time."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from vif_testing import requires_vif

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SCALE = 0.2
STAMP = r"\d\d:\d\d:\d\d"

pytestmark = requires_vif


def run_example(name: str, *args: str) -> tuple[list[str], float]:
    """Run an example unbuffered; return its output lines and the time between
    the ``started at`` and ``finished at`` lines (interpreter start-up excluded)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    cmd = [sys.executable, "-u", str(EXAMPLES / name), "--scale", str(SCALE), *args]
    lines, started, finished = [], None, None
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
    ) as proc:
        for line in proc.stdout:
            now = time.monotonic()
            line = line.rstrip("\n")
            lines.append(line)
            if line.startswith("started at"):
                started = now
            elif line.startswith("finished at"):
                finished = now
        stderr = proc.stderr.read()
        assert proc.wait(timeout=60) == 0, stderr
    assert stderr == ""
    assert started is not None and finished is not None, lines
    assert re.fullmatch(f"started at {STAMP}", lines[0])
    assert re.fullmatch(f"finished at {STAMP}", lines[-1])
    return lines[1:-1], finished - started


def test_sequential():
    lines, elapsed = run_example("say_after_sequential.py")
    assert lines == ["hello", "world", "!!!!!"]
    assert 3.8 * SCALE <= elapsed < 6 * SCALE


@pytest.mark.parametrize("name", ["say_after_tasks.py", "say_after_gather.py"])
def test_concurrent(name):
    lines, elapsed = run_example(name)
    # 'hello' and '!!!!!' both wait 1 unit, so either may come first.
    assert sorted(lines[:2]) == ["!!!!!", "hello"]
    assert lines[2:] == ["world"]
    assert 1.9 * SCALE <= elapsed < 3.5 * SCALE


def test_future_set_by_task():
    lines, elapsed = run_example("future_set_by_task.py")
    assert lines == ["hello ...", "... world"]
    assert 0.95 * SCALE <= elapsed < 2.5 * SCALE


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_example_uses_vif_run(name):
    source = (EXAMPLES / name).read_text()
    assert "vif.run(main(" in source
    assert "--scale" in source
