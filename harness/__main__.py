"""`python -m harness` runs the evonas command."""

import sys

from harness.cli import main

sys.exit(main())
