"""The one list of CPython asyncio tests the conformance harness skips, each with its reason.

Keys are ``<module>.<Class>.<test>`` with the module relative to ``test.test_asyncio`` and
the class any CPython class of the generated test class's MRO that has the test, usually the
mixin or base class defining it (``test_events.EventLoopTestsMixin.test_internal_fds``); one
entry skips the test for every loop implementation.  The only reason allowed is that the test
probes private attributes of asyncio's own classes, which a different loop does not have; the
reason names them ("probes BaseSelectorEventLoop._internal_fds / _csock / _ssock").

Entries naming tests absent from the running Python's test files are ignored there.
"""

from __future__ import annotations

SKIPS: dict[str, str] = {
    # test_events.EventLoopTestsMixin: asyncio internals.
    "test_events.EventLoopTestsMixin.test_internal_fds": (
        "probes BaseSelectorEventLoop._internal_fds / _csock / _ssock"
    ),
    "test_events.EventLoopTestsMixin.test_timeout_rounding": (
        "probes BaseEventLoop._run_once / _clock_resolution / _selector"
    ),
}
