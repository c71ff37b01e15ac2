"""``python -m systolic`` runs the ``systolic`` command."""

import sys

from systolic.cli import main

sys.exit(main())
