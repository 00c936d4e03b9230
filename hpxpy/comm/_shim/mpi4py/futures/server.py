"""The entry point of spawned workers in mpi4py (``python -m mpi4py.futures.server``).

hpxpy cannot spawn processes, so there is nothing to serve: this says so and exits.
"""

import sys

from ._core import SPAWN_MESSAGE


def main() -> None:
    """Explain that workers are not spawned on hpxpy, and exit with status 1."""
    print(SPAWN_MESSAGE, file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    main()
