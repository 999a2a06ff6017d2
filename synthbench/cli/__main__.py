"""``python -m synthbench.cli``."""

import sys

from synthbench.cli import main

sys.exit(main())
