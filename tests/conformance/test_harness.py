"""Checks of the conformance harness itself: the skip list and the default-loop switch."""

import asyncio
import os
import re
import warnings

import pytest

from . import _harness
from .skips import SKIPS

_PRIVATE_ATTRIBUTE = re.compile(r"\b[A-Z]\w*\._[a-z]\w*")  # e.g. BaseEventLoop._run_once


@pytest.mark.parametrize("skip_id", sorted(SKIPS))
def test_skip_entry_is_well_formed(skip_id):
    module, cls, method = skip_id.split(".")
    assert module.startswith("test_") and method.startswith("test"), skip_id
    reason = SKIPS[skip_id]
    assert _PRIVATE_ATTRIBUTE.search(reason), (
        f"{skip_id}: the reason must name the private asyncio attribute probed"
    )


def _resolves(skip_id):
    module, cls, method = skip_id.split(".")
    test_module = _harness.load_test_module(module)
    return hasattr(getattr(test_module, cls, None), method)


def _require_implementations():
    if not _harness.IMPLEMENTATIONS:
        pytest.skip(f"vif not importable: {_harness.VIF_IMPORT_ERROR!r}")


def test_skips_resolving_here_are_applied():
    _require_implementations()
    _harness.build_mixin_classes(__name__)
    _harness.build_module_classes(__name__)
    here = {skip_id for skip_id in SKIPS if _resolves(skip_id)}
    assert here - _harness.APPLIED_SKIPS == set(), "listed tests the harness does not generate"
    absent = sorted(set(SKIPS) - here)
    if absent:  # fine for tests of another Python version, but may also be a typo
        warnings.warn(f"skip entries absent from this Python's tests: {absent}", stacklevel=1)


def test_every_implementation_gets_every_mixin():
    classes = _harness.build_mixin_classes(__name__)
    for impl in _harness.IMPLEMENTATIONS:
        for spec in _harness.MIXINS:
            assert f"Test{spec.label}_{impl.name}" in classes


def test_implementations_are_vifs_unless_standin():
    if os.environ.get(_harness.STANDIN_ENV):
        pytest.skip(f"{_harness.STANDIN_ENV} is set")
    import vif  # fails loudly here when the generated modules skip for want of vif

    expected = [("python", vif.PyEventLoop)]
    if vif.CEventLoop is not None:
        expected.append(("c", vif.CEventLoop))
    assert [(impl.name, impl.loop_class) for impl in _harness.IMPLEMENTATIONS] == expected


def test_default_loop_is_undone():
    _require_implementations()
    saved_default = asyncio.DefaultEventLoopPolicy
    saved_policy = asyncio.get_event_loop_policy()
    impl = _harness.IMPLEMENTATIONS[0]
    with _harness.default_loop(impl):
        assert asyncio.DefaultEventLoopPolicy is impl.policy_class
        asyncio.set_event_loop_policy(None)
        assert type(asyncio.get_event_loop_policy()) is impl.policy_class
    assert asyncio.DefaultEventLoopPolicy is saved_default
    assert asyncio.get_event_loop_policy() is saved_policy
