"""Tests of the tools around the loop: ``vif.trace``, ``python -m vif`` (run, trace,
REPL) and the IPython extension. ``_support`` holds the subprocess, browser and PNG
helpers; the browser tests skip when no Chromium is installed."""
