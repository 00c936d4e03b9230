"""hpxpy.comm: a drop-in for mpi4py on hpxpy localities.

    from hpxpy.comm import MPI           # was: from mpi4py import MPI
    from hpxpy.comm import COMM_WORLD

``hpxrun -n 4 --mpi4py python prog.py`` (or ``python -m hpxpy.comm.run prog.py``) runs an
unmodified mpi4py program: ``import mpi4py`` then resolves to hpxpy, for that program only.

For libraries built on hpxpy.comm, ``channel(comm)`` returns a private :class:`Channel` on a
duplicate of ``comm`` (its C++ group, point-to-point context, members and a tag counter).
"""

import importlib
from typing import Any

__all__ = ["MPI", "COMM_WORLD", "COMM_SELF", "COMM_NULL", "Channel", "channel"]


def __getattr__(name: str) -> Any:
    # Importing hpxpy.comm.MPI starts the runtime (as importing mpi4py.MPI initialises MPI);
    # the package itself does not, so hpxpy.comm's helper modules can be imported alone.
    if name in ("Channel", "channel"):
        return getattr(importlib.import_module(__name__ + "._channel"), name)
    if name in __all__:
        mpi = importlib.import_module(__name__ + ".MPI")
        return mpi if name == "MPI" else getattr(mpi, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
