"""``python -m tests.mpi_parity``: the parity table (see ``harness.py``)."""

import sys

from .harness import main

sys.exit(main())
