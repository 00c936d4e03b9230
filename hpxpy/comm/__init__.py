"""hpxpy.comm: a drop-in for mpi4py on hpxpy localities.

    from hpxpy.comm import MPI           # was: from mpi4py import MPI
    from hpxpy.comm import COMM_WORLD

``hpxrun -n 4 --mpi4py python prog.py`` (or ``python -m hpxpy.comm.run prog.py``) runs an
unmodified mpi4py program: ``import mpi4py`` then resolves to hpxpy, for that program only.
"""

from . import MPI
from .MPI import COMM_NULL, COMM_SELF, COMM_WORLD

__all__ = ["MPI", "COMM_WORLD", "COMM_SELF", "COMM_NULL"]
