"""CPython asyncio test modules taking their loop from asyncio, run with vif as default loop.

Each TestCase class of the modules in ``_harness.DEFAULT_LOOP_MODULES`` (test_streams,
test_tasks, test_locks, ...) is generated once per vif implementation as
``<module>_<Class>_<impl>``, running with a policy creating that implementation's loops.
``DefaultLoopSanity_<impl>`` and ``IsolatedLoopSanity_<impl>`` check that those loops are
really the implementation's.
"""

import pytest

from ._harness import (
    IMPLEMENTATIONS,
    PER_TEST_TIMEOUT,
    VIF_IMPORT_ERROR,
    build_module_classes,
    build_sanity_classes,
)

pytestmark = pytest.mark.timeout(PER_TEST_TIMEOUT)

if not IMPLEMENTATIONS:
    pytest.skip(f"vif not importable: {VIF_IMPORT_ERROR!r}", allow_module_level=True)

globals().update(build_sanity_classes(__name__))
globals().update(build_module_classes(__name__))
