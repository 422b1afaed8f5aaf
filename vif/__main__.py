"""``python -m vif``: the REPL, ``run`` and ``trace`` (see :mod:`vif._cli`)."""

import sys

from vif._cli import main

if __name__ == "__main__":
    sys.exit(main())
