"""``python -m bench``: delegate to :func:`bench.cli.main`."""

import sys

from bench.cli import main

sys.exit(main())
