"""CPython's loop-generic asyncio test mixins, run against each vif loop implementation.

Classes ``Test<label>_<impl>`` (see ``_harness.MIXINS``): test_events' EventLoopTestsMixin and
SubprocessTestsMixin, test_sock_lowlevel's BaseSockTestsMixin, test_server's BaseStartServer
tests, test_buffered_proto's BaseTestBufferedProtocol, test_ssl's TestSSL, test_sslproto's
BaseStartTLS, test_sendfile's SendfileTestsBase and test_subprocess's SubprocessMixin, with the
loop under test created by the implementation's class.  Each also has
``test_conformance_loop_is_under_test``, a sanity check.
"""

import pytest

from ._harness import IMPLEMENTATIONS, PER_TEST_TIMEOUT, VIF_IMPORT_ERROR, build_mixin_classes

pytestmark = pytest.mark.timeout(PER_TEST_TIMEOUT)

if not IMPLEMENTATIONS:
    pytest.skip(f"vif not importable: {VIF_IMPORT_ERROR!r}", allow_module_level=True)

globals().update(build_mixin_classes(__name__))
