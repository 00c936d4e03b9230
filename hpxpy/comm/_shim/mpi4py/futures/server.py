"""The entry point of workers spawned by ``MPIPoolExecutor``
(``python -m mpi4py.futures.server``): serve the parent (the executor's process) until it
says stop, then disconnect."""

import sys

from hpxpy.comm import MPI

from ._core import SPAWN_MESSAGE, serve


def main() -> None:
    """Serve the spawning master; without one, say so and exit with status 1."""
    parent = MPI.Comm.Get_parent()
    if parent == MPI.COMM_NULL:
        print(SPAWN_MESSAGE, file=sys.stderr)
        sys.exit(1)
    try:
        serve(parent, 0, MPI.COMM_WORLD)
    finally:
        parent.Disconnect()


if __name__ == "__main__":
    main()
