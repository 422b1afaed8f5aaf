"""Conformance harness: CPython's own ``test.test_asyncio`` suite run against vif's loops.

``_harness`` builds the test classes, ``skips`` is the single list of skipped tests,
``test_loop_mixins`` and ``test_default_loop_modules`` expose the generated classes to
pytest and ``test_harness`` checks the harness itself.  See ``_harness`` for details,
including the ``VIF_CONFORMANCE_STANDIN`` development switch.
"""
