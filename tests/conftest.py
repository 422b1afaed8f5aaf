"""pytest configuration of the behaviour tests: the fixtures of :mod:`vif_testing`."""

from vif_testing import loop_factory, short_tmp  # noqa: F401  (fixtures)
