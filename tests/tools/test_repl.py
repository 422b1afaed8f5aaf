"""``python -m vif`` alone: the REPL, driven through a pipe."""

from __future__ import annotations

import pytest

from ._support import run_vif

pytestmark = pytest.mark.timeout(60)


def repl(source: str):
    return run_vif(input=source, extra_env={"PYTHON_BASIC_REPL": "1", "TERM": "dumb"})


def test_top_level_await_runs_on_vif():
    proc = repl(
        "import time\n"
        "t = time.monotonic(); await asyncio.sleep(0.05)\n"
        "print('slept', time.monotonic() - t >= 0.05)\n"
        "print('loop', type(asyncio.get_running_loop()).__module__)\n"
        "task = asyncio.create_task(asyncio.sleep(0, result='background'))\n"
        "print('task', await task)\n"
        "async def f():\n"
        "    return 6 * 7\n"
        "\n"
        "print('f', await f())\n"
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "slept True" in out and "task background" in out and "f 42" in out
    assert "loop vif." in out
    assert proc.stderr.startswith("vif REPL ") or "vif REPL " in proc.stderr + out
    assert "exiting vif REPL..." in proc.stderr + out


def test_errors_show_the_users_lines_and_the_repl_goes_on():
    proc = repl(
        "1/0\n"
        "async def g():\n"
        "    raise ValueError('inside')\n"
        "\n"
        "await g()\n"
        "print('still here')\n"
    )
    assert proc.returncode == 0
    err = proc.stderr + proc.stdout
    assert "ZeroDivisionError: division by zero" in err
    assert "ValueError: inside" in err and 'line 2, in g' in err
    assert "concurrent/futures" not in err and "_repl.py" not in err
    assert "still here" in proc.stdout


def test_exit_code():
    proc = repl("print('bye')\nraise SystemExit(4)\nprint('not reached')\n")
    assert proc.returncode == 4, proc.stderr
    assert "bye" in proc.stdout and "not reached" not in proc.stdout


def test_on_a_terminal():
    """On a terminal (3.13+: the colour REPL), statements still run on vif."""
    pexpect = pytest.importorskip("pexpect")
    import sys

    from ._support import ROOT, env

    child = pexpect.spawn(sys.executable, ["-m", "vif"], cwd=str(ROOT), timeout=30,
                          env=env(TERM="xterm"), encoding="utf-8")
    try:
        child.expect("import asyncio, vif")
        child.sendline("await asyncio.sleep(0.01); print('on', type(asyncio.get_running_loop()))")
        child.expect("on <class 'vif[.]")
        child.sendline("exit()")
        child.expect("exiting vif REPL")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
