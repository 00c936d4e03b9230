"""``python -m mpi4py ...``: see :mod:`mpi4py.run`."""

from .run import main

if __name__ == "__main__":
    main()
