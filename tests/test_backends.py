"""The portable backend (``selectors``, for Unix systems without epoll) under the
fd, socket and transport tests that the suite otherwise runs on epoll.

The test functions are the other modules' own; this module only replaces their
``loop_factory`` with vif loops on :class:`vif._backends.portable.SelectorsBackend`
(which offers no one-shot registration, so sock_* waits register and unregister).
"""

from __future__ import annotations

import pytest
from test_fd_reuse import *  # noqa: F403 (the tests, collected again here)
from test_pipes import *  # noqa: F403
from test_server import *  # noqa: F403
from test_signals import *  # noqa: F403
from test_sock_recv import *  # noqa: F403
from test_subprocess import *  # noqa: F403
from test_threads import *  # noqa: F403
from test_transports import *  # noqa: F403
from test_udp import *  # noqa: F403
from test_unix import *  # noqa: F403
from vif_testing import vif

pytestmark = pytest.mark.skipif(vif is None, reason="vif not importable")


def _backend_params():
    if vif is None:
        return []
    from vif._backends.portable import SelectorsBackend

    params = [pytest.param(lambda: vif.PyEventLoop(SelectorsBackend()), id="vif-python-selectors")]
    if vif.CEventLoop is not None:
        params.append(
            pytest.param(lambda: vif.CEventLoop(SelectorsBackend()), id="vif-compiled-selectors")
        )
    return params


@pytest.fixture(params=_backend_params())
def loop_factory(request):
    """A vif loop on the portable backend (replaces conftest's fixture here)."""
    return request.param


def test_backend_is_the_portable_one(loop_factory):
    from vif._backends.portable import SelectorsBackend

    loop = loop_factory()
    try:
        assert type(loop._backend) is SelectorsBackend
    finally:
        loop.close()
