"""Build script: compiles vif's core with Cython (see pyproject.toml for metadata).

``VIF_NO_EXTENSIONS=1`` at build time skips compiling; vif then runs its
pure-Python loop.
"""

import os

from setuptools import Extension, setup

ext_modules = []
if not os.environ.get("VIF_NO_EXTENSIONS"):
    from Cython.Build import cythonize

    ext_modules = cythonize(
        [Extension("vif._cscheduler", ["vif/_cscheduler.pyx"])],
        compiler_directives={"language_level": 3},
    )

setup(ext_modules=ext_modules)
