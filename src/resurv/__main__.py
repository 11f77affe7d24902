"""``python -m resurv``: the command line."""

import sys

from resurv.cli import main

sys.exit(main())
