"""Tests of vif's async files: ``vif.files``, ``vif.os``, ``vif.tempfile``."""
