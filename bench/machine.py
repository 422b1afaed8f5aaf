"""Facts about the machine, the Python and the peers, recorded with every run."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from typing import Any

#: Every third-party package the suite compares with or uses (``.[bench]``).
PEER_PACKAGES = ["uvloop", "rloop", "aiofiles", "aiohttp", "httpx", "matplotlib"]


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or platform.processor())."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages, if the OS has them."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def machine_info() -> dict[str, Any]:
    """CPU model, core counts, kernel, OS and the load average now."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "kernel": platform.release(),
        "system": platform.system(),
        "machine": platform.machine(),
        "load_average": load_average(),
    }


def python_info() -> dict[str, Any]:
    """The interpreter the children run on (the parent's own)."""
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "build": " ".join(platform.python_build()),
        "compiler": platform.python_compiler(),
        "executable": sys.executable,
    }


def peer_versions() -> dict[str, str | None]:
    """Installed version of every peer package (None when missing)."""
    versions: dict[str, str | None] = {}
    for name in PEER_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions
