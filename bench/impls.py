"""The event-loop implementations under test and how a child process creates their loops.

Each implementation has a name, environment overrides for its child process and a
``setup`` function, run inside the child, that imports it and returns the loop
factory plus facts for the report (version, module path).  ``setup`` raises
:class:`Unavailable` with the reason when the implementation cannot be used, which
the suite reports as ``n/a``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LoopFactory = Callable[[], asyncio.AbstractEventLoop]

#: The repository root (the directory holding ``bench/`` and ``vif/``).
REPO_ROOT = Path(__file__).resolve().parent.parent


class Unavailable(Exception):
    """The implementation cannot run here; the message says why."""


@dataclass(frozen=True)
class Impl:
    """One event-loop implementation."""

    name: str
    setup: Callable[[], tuple[LoopFactory, dict[str, Any]]]
    env: dict[str, str | None] = field(default_factory=dict)  # None removes the variable
    peer: bool = True  # False for vif itself

    def child_env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """The environment of a child process running this implementation."""
        env = dict(os.environ if base is None else base)
        for key, value in self.env.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env


def _version(module: Any) -> str | None:
    version = getattr(module, "__version__", None)
    if version is None:
        try:
            from importlib.metadata import version as dist_version

            version = dist_version(module.__name__)
        except Exception:
            version = None
    return str(version) if version is not None else None


def _import_peer(name: str) -> Any:
    try:
        return __import__(name)
    except ImportError as exc:
        raise Unavailable(f"{name} not installed ({exc})") from exc


def _setup_asyncio() -> tuple[LoopFactory, dict[str, Any]]:
    return asyncio.new_event_loop, {"version": sys.version.split()[0]}


def _setup_uvloop() -> tuple[LoopFactory, dict[str, Any]]:
    uvloop = _import_peer("uvloop")
    return uvloop.new_event_loop, {"version": _version(uvloop), "file": uvloop.__file__}


def _setup_rloop() -> tuple[LoopFactory, dict[str, Any]]:
    rloop = _import_peer("rloop")
    return rloop.new_event_loop, {"version": _version(rloop), "file": rloop.__file__}


def import_vif() -> Any:
    """Import vif, preferring an installed package over the repository checkout.

    The repository root is moved to the end of ``sys.path`` first, so an installed
    vif (``pip install .``) wins and the checkout is the fallback.
    """
    root = str(REPO_ROOT)
    cwd = os.getcwd()
    kept = [p for p in sys.path if os.path.abspath(p or cwd) != root]
    sys.path[:] = [*kept, root]
    import vif

    return vif


def _setup_vif(pure: bool) -> tuple[LoopFactory, dict[str, Any]]:
    try:
        vif = import_vif()
    except Exception as exc:  # ImportError, or a SyntaxError in a half-written module
        raise Unavailable(f"import vif failed: {type(exc).__name__}: {exc}") from exc
    try:
        impl = vif.implementation()
    except Exception as exc:
        raise Unavailable(f"vif.implementation() failed: {type(exc).__name__}: {exc}") from exc
    if not pure and impl != "compiled":
        raise Unavailable("compiled core not built")
    if pure and impl == "compiled":
        raise Unavailable("VIF_NO_EXTENSIONS=1 did not switch vif to its pure-Python loop")
    info = {"version": _version(vif), "file": vif.__file__, "implementation": impl}
    return vif.new_event_loop, info


IMPLS: dict[str, Impl] = {
    impl.name: impl
    for impl in [
        Impl("asyncio", _setup_asyncio),
        Impl("uvloop", _setup_uvloop),
        Impl("rloop", _setup_rloop),
        Impl("vif", lambda: _setup_vif(pure=False), env={"VIF_NO_EXTENSIONS": None}, peer=False),
        Impl("vif-pure", lambda: _setup_vif(pure=True), env={"VIF_NO_EXTENSIONS": "1"}, peer=False),
    ]
}

#: The peers vif is compared with, in column order.
PEERS = [name for name, impl in IMPLS.items() if impl.peer]
#: vif's own columns, the preferred one (compiled) first.
VIF_IMPLS = [name for name, impl in IMPLS.items() if not impl.peer]
