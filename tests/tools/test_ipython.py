"""``%load_ext vif``: IPython cells with top-level ``await`` run on a vif loop.

IPython drives the cells in a child process (an ``InteractiveShell`` and
``run_cell``), so the shell's global state stays out of the test process.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from ._support import ROOT, env

pytest.importorskip("IPython")
pytestmark = pytest.mark.timeout(120)

DRIVER = textwrap.dedent('''\
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()

    def cell(source):
        result = shell.run_cell(source, store_history=True)
        if result.error_before_exec or result.error_in_exec:
            print("ERROR", repr(result.error_before_exec or result.error_in_exec))
        return result.result

    default = shell.loop_runner
    shell.run_line_magic("load_ext", "vif")
    print("autoawait", shell.autoawait)
    print("loop", cell("import asyncio\\nawait asyncio.sleep(0.01)\\n"
                       "type(asyncio.get_running_loop()).__module__"))
    # a task started in one cell goes on while a later cell awaits
    cell("ev = asyncio.Event()\\n"
         "async def bg():\\n    await ev.wait()\\n    return 'bg done'\\n"
         "t = asyncio.create_task(bg())\\nawait asyncio.sleep(0)")
    print("later", cell("ev.set()\\nawait t"))
    print("same loop", cell("await asyncio.sleep(0)\\nasyncio.get_running_loop() is t.get_loop()"))
    shell.run_line_magic("autoawait", "asyncio")
    print("switched", cell("await asyncio.sleep(0)\\ntype(asyncio.get_running_loop()).__module__"))
    shell.run_line_magic("autoawait", "vif")
    print("back", cell("await asyncio.sleep(0)\\ntype(asyncio.get_running_loop()).__module__"))
    # as in a Jupyter kernel: the cell runs while the kernel's own asyncio loop runs
    async def kernel():
        outer = asyncio.get_running_loop()
        inside = cell("await asyncio.sleep(0)\\ntype(asyncio.get_running_loop()).__module__")
        await asyncio.sleep(0)
        return inside, asyncio.get_running_loop() is outer
    import asyncio
    print("kernel", *asyncio.run(kernel()))
    shell.run_line_magic("unload_ext", "vif")
    print("restored", shell.loop_runner is default)
    ''')


def test_load_ext_vif_runs_cells_on_vif():
    proc = subprocess.run([sys.executable, "-c", DRIVER], capture_output=True, text=True,
                          timeout=100, cwd=ROOT, env=env())
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if not ln.startswith("Out[")]
    assert "ERROR" not in proc.stdout, proc.stdout
    assert lines[0] == "autoawait True"
    assert lines[1].startswith("loop vif.")
    assert lines[2] == "later bg done"
    assert lines[3] == "same loop True"
    assert not lines[4].startswith("switched vif.")
    assert lines[5].startswith("back vif.")
    assert lines[6].startswith("kernel vif.") and lines[6].endswith(" True")
    assert lines[7] == "restored True"
