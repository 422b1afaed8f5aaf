"""Build script: compiles vif's core with Cython (see pyproject.toml for metadata).

Two kinds of compiled modules:

* ``vif._cscheduler``, written in Cython (``vif/_cscheduler.pyx``), and
  ``vif._transports._csockio`` (the transports' socket calls);
* compiled twins of pure-Python modules (the socket transports; the loop's
  ``sock_*`` and connection set-up, of which the compiled loop takes the
  plain methods, see vif/_cloop.py):
  the same source, compiled as it is, so that the pure-Python reference and
  the compiled loop cannot drift apart. The twin's source is a copy made at
  build time with its relative imports pointed at the other twins.

``VIF_NO_EXTENSIONS=1`` at build time skips compiling; vif then runs its
pure-Python loop.
"""

import os
import re
from pathlib import Path

from setuptools import Extension, setup

HERE = Path(__file__).parent
TWINS = {
    # compiled module name: pure-Python source
    "vif._transports._cbase": "vif/_transports/base.py",
    "vif._transports._cstream": "vif/_transports/stream.py",
    "vif._transports._cdatagram": "vif/_transports/datagram.py",
    # the loop's sock_* helpers and its connecting / accepting / serving
    "vif._csockops": "vif/_sockops.py",
    "vif._cnetwork": "vif/_network.py",
}
# How a twin imports a sibling module that has a twin of its own.
TWIN_IMPORTS = {
    r"from \.base import": "from vif._transports._cbase import",
    r"from \.sockio import": "from vif._transports._csockio import",
    r"from \._transports\.base import": "from vif._transports._cbase import",
    r"from \._transports\.sockio import": "from vif._transports._csockio import",
    r"from \._transports\.": "from vif._transports.",
}


def _write_if_changed(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


def twin_source(name: str, source: str) -> str:
    """Write the build-time copy of ``source`` for the twin ``name``; return its path.

    A ``.pxd`` beside the source (Cython's "augmenting" declarations: which of
    its classes become extension types, with which fields) is copied beside
    the copy, under the twin's name.
    """
    text = (HERE / source).read_text()
    for pattern, replacement in TWIN_IMPORTS.items():
        text = re.sub(pattern, replacement, text)
    text = f"# Generated at build time from {source}: edit that file, not this one.\n" + text
    target = HERE / "build" / "twins" / (name.replace(".", "/") + ".py")
    _write_if_changed(target, text)
    declarations = (HERE / source).with_suffix(".pxd")
    if declarations.exists():
        _write_if_changed(target.with_suffix(".pxd"), declarations.read_text())
    return str(target.relative_to(HERE))


ext_modules = []
if not os.environ.get("VIF_NO_EXTENSIONS"):
    from Cython.Build import cythonize

    extensions = [Extension("vif._cscheduler", ["vif/_cscheduler.pyx"])]
    extensions += [Extension(name, [twin_source(name, src)]) for name, src in TWINS.items()]
    extensions.append(Extension("vif._transports._csockio", ["vif/_transports/_csockio.pyx"]))
    extensions.append(Extension("vif.files._clines", ["vif/files/_clines.pyx"]))
    extensions.append(Extension("vif.trace._cstep", ["vif/trace/_cstep.pyx"]))  # vif.trace
    # include_path: where Cython finds a twin's .pxd (by its module name) beside its copy.
    ext_modules = cythonize(extensions, include_path=[str(HERE / "build" / "twins")],
                            compiler_directives={"language_level": 3})

setup(ext_modules=ext_modules)
