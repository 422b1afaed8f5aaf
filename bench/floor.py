"""The physical floor: a C echo against epoll, built at run time with the machine's ``cc``.

The source is ``bench/floor_echo.c``; the binary is cached in ``bench/_floor/``
(ignored by git) under a name derived from the source and the compiler, so an
edit rebuilds it.  Each measurement runs the binary in a fresh process, like the
Python implementations.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shlex
import shutil
import subprocess
from pathlib import Path

SOURCE = Path(__file__).resolve().with_name("floor_echo.c")
CACHE_DIR = Path(__file__).resolve().with_name("_floor")


class FloorUnavailable(Exception):
    """The floor cannot be built or run here; the message says why."""


def compiler() -> list[str] | None:
    """The C compiler command: ``$CC`` if set, else ``cc``, ``gcc`` or ``clang`` on PATH."""
    if os.environ.get("CC"):
        return shlex.split(os.environ["CC"])
    for name in ("cc", "gcc", "clang"):
        path = shutil.which(name)
        if path:
            return [path]
    return None


def build(cache_dir: Path = CACHE_DIR) -> Path:
    """Compile the floor (or reuse the cached binary) and return the binary's path."""
    cc = compiler()
    if cc is None:
        raise FloorUnavailable("no C compiler (cc) found")
    source = SOURCE.read_bytes()
    key = hashlib.sha256(source + " ".join(cc).encode() + platform.machine().encode())
    binary = cache_dir / f"echo_floor-{key.hexdigest()[:12]}.bin"
    if binary.exists():
        return binary
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = binary.with_name(f"{binary.stem}.{os.getpid()}.tmp.bin")  # *.bin: ignored by git
    cmd = [*cc, "-O2", "-o", str(tmp), str(SOURCE)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        tmp.unlink(missing_ok=True)
        raise FloorUnavailable(f"cannot run {cc[0]}: {exc}") from exc
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise FloorUnavailable(f"{' '.join(cc)} failed: {proc.stderr.strip()[-300:]}")
    os.replace(tmp, binary)
    return binary


def run(binary: Path, round_trips: int, size: int, timeout: float = 120.0) -> float:
    """Run the floor once; return its elapsed seconds (measured in C)."""
    try:
        proc = subprocess.run(
            [str(binary), str(round_trips), str(size)],
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,  # like the Python children (see bench.runner.run_child)
        )
    except subprocess.TimeoutExpired as exc:
        raise FloorUnavailable(f"floor timed out after {timeout:.0f} s") from exc
    if proc.returncode != 0:
        raise FloorUnavailable(f"floor exited with {proc.returncode}: {proc.stderr.strip()}")
    elapsed, done = proc.stdout.split()
    if int(done) != round_trips:
        raise FloorUnavailable(f"floor did {done} round trips, expected {round_trips}")
    return float(elapsed)
