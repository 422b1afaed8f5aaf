"""The source distribution: what ``setup.py sdist`` puts in it is enough to build vif.

Building from the sdist itself (pip compiles every extension, about two minutes)
is too slow for each test run; the test checks instead that it carries every
source the build reads: the Python packages, the Cython modules and the twins'
augmenting declarations (setup.py copies each twin's ``.pxd`` beside its
build-time source), and no generated C or compiled module.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BUILD_INPUTS = ("*.py", "*.pyx", "*.pxd")


def _sources(root: Path) -> set[str]:
    found = set()
    for pattern in BUILD_INPUTS:
        for path in (root / "vif").rglob(pattern):
            if "__pycache__" not in path.parts:
                found.add(path.relative_to(root).as_posix())
    return found


@pytest.fixture(scope="module")
def sdist_members(tmp_path_factory) -> set[str]:
    if not (REPO / "setup.py").exists():
        pytest.skip("vif is not run from its source tree")
    # A copy of the tree (with the build cache, so Cython regenerates nothing),
    # so that the sdist's egg-info and dist directories stay out of the checkout.
    tree = tmp_path_factory.mktemp("tree") / "vif-src"
    shutil.copytree(
        REPO, tree,
        ignore=shutil.ignore_patterns(".git", "__pycache__", "*.so", "*.egg-info", "dist"),
    )
    dist = tree / "dist"
    subprocess.run(
        [sys.executable, "setup.py", "-q", "sdist", "-d", str(dist)],
        cwd=tree, check=True, capture_output=True, timeout=600,
    )
    (archive,) = dist.glob("vif-*.tar.gz")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    prefix = names[0].split("/")[0] + "/"
    return {name.removeprefix(prefix) for name in names if name.startswith(prefix)}


def test_sdist_carries_every_build_source(sdist_members):
    missing = _sources(REPO) - sdist_members
    assert not missing, f"left out of the sdist: {sorted(missing)}"
    for name in ("setup.py", "pyproject.toml", "LICENSE", "README.md", "CHANGELOG.md"):
        assert name in sdist_members


def test_sdist_leaves_out_generated_code(sdist_members):
    generated = {n for n in sdist_members if n.endswith((".c", ".so")) or "__pycache__" in n}
    assert not generated
