"""Builds the unittest classes that run CPython's ``test.test_asyncio`` against vif's loops.

The suite shipped with the running interpreter is used, so the tests match its asyncio.
Two groups of classes are generated, each once per loop implementation (``IMPLEMENTATIONS``:
``vif.PyEventLoop`` as ``python``, ``vif.CEventLoop`` as ``c`` when it is built), with the
implementation's name as class-name suffix (``TestEventLoop_python``, ``TestEventLoop_c``):

* ``MIXINS``: CPython's loop-generic mixins (e.g. ``test_events.EventLoopTestsMixin``), whose
  loop-creating hook (``create_event_loop`` or ``new_loop``) is made to return the
  implementation's loop (``build_mixin_classes``);
* ``DEFAULT_LOOP_MODULES``: modules taking their loop from ``asyncio.new_event_loop()``
  (``asyncio.Runner``, ``IsolatedAsyncioTestCase``, ...): each of their TestCase classes is
  subclassed as is (``build_module_classes``).

Every generated class runs under ``default_loop(impl)``, entered in ``setUpClass`` and left by a
class cleanup: ``asyncio.DefaultEventLoopPolicy`` is replaced by a policy class creating the
implementation's loops and an instance of it is installed, both restored afterwards.  Replacing
the name matters because tests call ``asyncio.set_event_loop_policy(None)``, after which
``asyncio.events._init_event_loop_policy`` re-creates the policy from
``asyncio.DefaultEventLoopPolicy``, looked up lazily in the ``asyncio`` package (the same on
3.11 and 3.13).

Generated classes also replace ``test_utils.TestCase.close_loop`` (test infrastructure that
reads ``BaseEventLoop._default_executor``) by public-API code for loops without that attribute.
Skips come only from ``skips.SKIPS`` and are applied by ``apply_skips`` when a class is built.
Names missing from the running Python's test files are not generated.  If vif cannot be
imported, ``IMPLEMENTATIONS`` is empty: the generated modules skip, ``test_harness`` fails.

Development switches (environment variables, unset by default):

* ``VIF_CONFORMANCE_STANDIN=asyncio`` swaps vif for asyncio's own ``SelectorEventLoop``
  (stand-in implementations ``selector``, with the default selector, and ``poll``, with
  ``selectors.PollSelector``) to validate the harness: everything must pass with it.  Unset,
  vif is tested.
* ``VIF_CONFORMANCE_UNSKIP=all`` runs every test of ``skips.SKIPS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import os
import selectors
import unittest
from collections.abc import Callable, Iterator

from test import support
from test.test_asyncio import utils as test_utils

from .skips import SKIPS

STANDIN_ENV = "VIF_CONFORMANCE_STANDIN"
UNSKIP_ENV = "VIF_CONFORMANCE_UNSKIP"
TEST_PACKAGE = "test.test_asyncio"

# Per-test timeout (seconds) for conformance tests, below pyproject's 120 s so that a loop
# hanging in several tests still lets a whole run finish within minutes.  CPython's own
# network timeouts are 10 s (LOOPBACK_TIMEOUT) and 30 s (SHORT_TIMEOUT).
PER_TEST_TIMEOUT = 45

_ASYNCIO_DEFAULT_POLICY = asyncio.DefaultEventLoopPolicy
_CPYTHON_CLOSE_LOOP = test_utils.TestCase.close_loop


@dataclasses.dataclass(frozen=True)
class Implementation:
    """One event loop implementation under test."""

    name: str  # class-name suffix: "python", "c" (or a stand-in's name)
    loop_class: type  # what type(loop) must be for the loops it creates
    new_loop: Callable[[], asyncio.AbstractEventLoop]
    policy_class: type[asyncio.AbstractEventLoopPolicy]  # zero-argument, creates new_loop()


def _policy_class(base: type, new_loop: Callable[[], asyncio.AbstractEventLoop], name: str):
    def new_event_loop(self):
        return new_loop()

    return type(f"{base.__name__}_{name}", (base,), {"new_event_loop": new_event_loop})


def _implementation(name: str, loop_class: type, new_loop, policy_base: type) -> Implementation:
    return Implementation(name, loop_class, new_loop, _policy_class(policy_base, new_loop, name))


VIF_IMPORT_ERROR: BaseException | None = None


def _vif_implementations() -> list[Implementation]:
    global VIF_IMPORT_ERROR
    try:
        import vif
    except Exception as exc:  # as tests/conftest.py: any import failure means "no vif"
        VIF_IMPORT_ERROR = exc
        return []

    candidates = [("python", vif.PyEventLoop), ("c", vif.CEventLoop)]
    return [
        _implementation(name, cls, cls, vif.EventLoopPolicy)
        for name, cls in candidates
        if cls is not None
    ]


def _standin_implementations() -> list[Implementation]:
    def poll_loop():
        return asyncio.SelectorEventLoop(selectors.PollSelector())

    loop_class = asyncio.SelectorEventLoop
    return [
        _implementation("selector", loop_class, loop_class, _ASYNCIO_DEFAULT_POLICY),
        _implementation("poll", loop_class, poll_loop, _ASYNCIO_DEFAULT_POLICY),
    ]


def implementations() -> list[Implementation]:
    """The implementations to test: vif's, or asyncio's with the stand-in switch."""
    standin = os.environ.get(STANDIN_ENV, "")
    if not standin:
        return _vif_implementations()
    if standin == "asyncio":
        return _standin_implementations()
    raise RuntimeError(f"{STANDIN_ENV}={standin!r}: the only stand-in is 'asyncio'")


IMPLEMENTATIONS = implementations()


@contextlib.contextmanager
def default_loop(impl: Implementation) -> Iterator[None]:
    """Make ``impl`` asyncio's default loop, even across ``set_event_loop_policy(None)``."""
    saved_default = asyncio.DefaultEventLoopPolicy
    saved_policy = support.maybe_get_event_loop_policy()
    asyncio.DefaultEventLoopPolicy = impl.policy_class
    try:
        asyncio.set_event_loop_policy(impl.policy_class())
        yield
    finally:
        asyncio.set_event_loop_policy(saved_policy)
        asyncio.DefaultEventLoopPolicy = saved_default


class _ConformanceMixin:
    """First base of every generated class: installs the implementation as default loop."""

    conformance_impl: Implementation

    @classmethod
    def setUpClass(cls):
        stack = contextlib.ExitStack()
        stack.enter_context(default_loop(cls.conformance_impl))
        cls.addClassCleanup(stack.close)
        super().setUpClass()

    @staticmethod
    def close_loop(loop):
        # CPython's version reads BaseEventLoop._default_executor: keep it for asyncio's own
        # loops (test_utils.TestLoop, BaseEventLoop), use the public API for the others.
        if hasattr(loop, "_default_executor"):
            _CPYTHON_CLOSE_LOOP(loop)
            return
        if not loop.is_closed():
            loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


def load_test_module(short_name: str):
    """``test.test_asyncio.<short_name>``, or None if this Python has no such file."""
    name = f"{TEST_PACKAGE}.{short_name}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name in (name, TEST_PACKAGE, "test"):
            return None
        raise


def _resolve(module, dotted: str):
    obj = module
    for part in dotted.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _short_module(cls: type) -> str | None:
    package, _, short = cls.__module__.rpartition(".")
    return short if package == TEST_PACKAGE else None


def skip_ids(cls: type, method: str) -> list[str]:
    """Ids under which ``cls.method`` may be listed in SKIPS: ``<module>.<Class>.<method>``
    for every CPython test class in the MRO that has the method."""
    ids = []
    for klass in cls.__mro__:
        short = _short_module(klass)
        if short is not None and hasattr(klass, method):
            ids.append(f"{short}.{klass.__qualname__}.{method}")
    return ids


APPLIED_SKIPS: set[str] = set()  # SKIPS entries matching a generated test


def _enforced(reason: str) -> bool:
    unskip = os.environ.get(UNSKIP_ENV, "")
    if unskip not in ("", "all"):
        raise RuntimeError(f"{UNSKIP_ENV}={unskip!r}: use 'all'")
    return not unskip


def apply_skips(cls: type) -> type:
    """Wrap with ``unittest.skip`` every test method of ``cls`` listed in SKIPS."""
    for method in unittest.TestLoader().getTestCaseNames(cls):
        for skip_id in skip_ids(cls, method):
            if skip_id in SKIPS:
                APPLIED_SKIPS.add(skip_id)
                reason = SKIPS[skip_id]
                if _enforced(reason):
                    setattr(cls, method, unittest.skip(reason)(getattr(cls, method)))
                break
    return cls


def _make_class(name: str, bases: tuple, impl: Implementation, namespace: dict, module: str):
    namespace = {
        **namespace,
        "conformance_impl": impl,
        "__module__": module,
        "__qualname__": name,
    }
    return apply_skips(type(name, (_ConformanceMixin, *bases), namespace))


@dataclasses.dataclass(frozen=True)
class MixinSpec:
    """A loop-generic CPython mixin, to be run with a given loop."""

    label: str  # generated class: Test<label>_<impl>
    module: str  # module in test.test_asyncio
    bases: tuple[str, ...]  # dotted names in that module
    hook: str  # method returning the loop under test
    # The mixin uses self.loop but leaves making it to another class (as the
    # subprocess mixins do): the generated class makes it in setUp.
    make_loop_in_setup: bool = False


class _LoopInSetUp:
    """Makes ``self.loop`` from ``create_event_loop()`` before each test."""

    def setUp(self):
        super().setUp()
        self.loop = self.create_event_loop()
        self.set_event_loop(self.loop)


MIXINS = (
    MixinSpec(
        "EventLoop",
        "test_events",
        ("EventLoopTestsMixin", "test_utils.TestCase"),
        "create_event_loop",
    ),
    MixinSpec(
        "SockLowlevel",
        "test_sock_lowlevel",
        ("BaseSockTestsMixin", "test_utils.TestCase"),
        "create_event_loop",
    ),
    # SelectorStartServerTests = BaseStartServer + its generic unix-socket variant.
    MixinSpec("StartServer", "test_server", ("SelectorStartServerTests",), "new_loop"),
    MixinSpec(
        "BufferedProtocol",
        "test_buffered_proto",
        ("BaseTestBufferedProtocol", "unittest.TestCase"),
        "new_loop",
    ),
    MixinSpec("SSL", "test_ssl", ("TestSSL",), "new_loop"),
    MixinSpec("StartTLS", "test_sslproto", ("BaseStartTLS", "unittest.TestCase"), "new_loop"),
    MixinSpec(
        "Sendfile",
        "test_sendfile",
        ("SendfileTestsBase", "test_utils.TestCase"),
        "create_event_loop",
    ),
    MixinSpec(
        "Subprocess",
        "test_events",
        ("SubprocessTestsMixin", "test_utils.TestCase"),
        "create_event_loop",
        make_loop_in_setup=True,
    ),
    MixinSpec(
        "SubprocessStreams",
        "test_subprocess",
        ("SubprocessMixin", "test_utils.TestCase"),
        "create_event_loop",
        make_loop_in_setup=True,
    ),
)


def _mixin_namespace(impl: Implementation, hook: str) -> dict:
    def make_loop(self):
        return impl.new_loop()

    def test_conformance_loop_is_under_test(self):
        """Sanity: the loop under test, and asyncio's default loop, are the implementation's."""
        self.assertIs(type(self.loop), impl.loop_class)
        loop = asyncio.new_event_loop()
        try:
            self.assertIs(type(loop), impl.loop_class)
        finally:
            loop.close()

    return {
        hook: make_loop,
        "test_conformance_loop_is_under_test": test_conformance_loop_is_under_test,
    }


def build_mixin_classes(module: str, impls=None) -> dict[str, type]:
    """``Test<label>_<impl>`` classes for every MIXINS entry present in this Python."""
    classes = {}
    for spec in MIXINS:
        test_module = load_test_module(spec.module)
        if test_module is None:
            continue
        bases = tuple(_resolve(test_module, dotted) for dotted in spec.bases)
        if None in bases:
            continue
        if spec.make_loop_in_setup:
            bases = (_LoopInSetUp, *bases)
        for impl in impls or IMPLEMENTATIONS:
            name = f"Test{spec.label}_{impl.name}"
            classes[name] = _make_class(
                name, bases, impl, _mixin_namespace(impl, spec.hook), module
            )
    return classes


@dataclasses.dataclass(frozen=True)
class ModuleSpec:
    """A CPython test module run with the implementation as asyncio's default loop."""

    module: str
    select: Callable[[type], bool] = lambda cls: True  # which of its TestCase classes


DEFAULT_LOOP_MODULES = (
    ModuleSpec("test_streams"),
    ModuleSpec("test_tasks"),
    ModuleSpec("test_locks"),
    ModuleSpec("test_queues"),
    ModuleSpec("test_runners"),
    ModuleSpec("test_taskgroups"),
    ModuleSpec("test_timeouts"),
    ModuleSpec("test_waitfor"),
    ModuleSpec("test_pep492"),
    ModuleSpec("test_context"),
    # test_server's other classes are MIXINS or Windows-only; these use the default loop.
    ModuleSpec("test_server", lambda cls: issubclass(cls, unittest.IsolatedAsyncioTestCase)),
)


def module_test_classes(test_module, select=lambda cls: True) -> list[type]:
    """The TestCase classes defined in ``test_module``, in definition order."""
    return [
        obj
        for obj in vars(test_module).values()
        if isinstance(obj, type)
        and issubclass(obj, unittest.TestCase)
        and obj.__module__ == test_module.__name__
        and select(obj)
    ]


def build_module_classes(module: str, impls=None) -> dict[str, type]:
    """``<test module>_<Class>_<impl>`` classes for every DEFAULT_LOOP_MODULES class."""
    classes = {}
    for spec in DEFAULT_LOOP_MODULES:
        test_module = load_test_module(spec.module)
        if test_module is None:
            continue
        for impl in impls or IMPLEMENTATIONS:
            for test_class in module_test_classes(test_module, spec.select):
                name = f"{spec.module}_{test_class.__name__}_{impl.name}"
                classes[name] = _make_class(name, (test_class,), impl, {}, module)
    return classes


class _DefaultLoopSanity(unittest.TestCase):
    """Sanity: asyncio's default loop is the implementation's while the harness is active."""

    conformance_impl: Implementation

    def assert_impl_loop(self, loop):
        self.assertIs(type(loop), self.conformance_impl.loop_class)

    def test_new_event_loop(self):
        loop = asyncio.new_event_loop()
        self.addCleanup(loop.close)
        self.assert_impl_loop(loop)

    def test_new_event_loop_after_policy_reset(self):
        asyncio.set_event_loop_policy(None)  # as CPython's tearDown/tearDownModule do
        loop = asyncio.new_event_loop()
        self.addCleanup(loop.close)
        self.assert_impl_loop(loop)

    def test_asyncio_run(self):
        async def main():
            return asyncio.get_running_loop()

        self.assert_impl_loop(asyncio.run(main()))

    def test_runner(self):
        with asyncio.Runner() as runner:
            self.assert_impl_loop(runner.get_loop())


class _IsolatedLoopSanity(unittest.IsolatedAsyncioTestCase):
    """Sanity: IsolatedAsyncioTestCase (used by most modules) runs on the implementation."""

    conformance_impl: Implementation

    async def test_running_loop(self):
        self.assertIs(type(asyncio.get_running_loop()), self.conformance_impl.loop_class)


def build_sanity_classes(module: str, impls=None) -> dict[str, type]:
    """``DefaultLoopSanity_<impl>`` and ``IsolatedLoopSanity_<impl>`` classes."""
    classes = {}
    for impl in impls or IMPLEMENTATIONS:
        for base in (_DefaultLoopSanity, _IsolatedLoopSanity):
            name = f"{base.__name__.lstrip('_')}_{impl.name}"
            classes[name] = _make_class(name, (base,), impl, {}, module)
    return classes
