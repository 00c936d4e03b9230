"""Error handlers: the predefined ``MPI.Errhandler`` objects.

hpxpy.comm always raises ``MPI.Exception`` (mpi4py's default, ``ERRORS_RETURN``); the other
handlers exist so that programs setting them run unchanged.

Layer 0 of hpxpy.comm: imports ``_constants`` and ``_errors`` only.
"""

from __future__ import annotations

from . import _constants as C
from ._errors import Exception as MPIException


class _Errhandler:
    """An error handler (``MPI.Errhandler``)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"<MPI.Errhandler {self._name}>"

    def __bool__(self) -> bool:
        return self._name != "ERRHANDLER_NULL"

    def Free(self) -> None:
        if not self:
            raise MPIException(C.ERR_ERRHANDLER, "the error handler is MPI.ERRHANDLER_NULL")


ERRORS_RETURN = _Errhandler("ERRORS_RETURN")
ERRORS_ARE_FATAL = _Errhandler("ERRORS_ARE_FATAL")
ERRORS_ABORT = _Errhandler("ERRORS_ABORT")
ERRHANDLER_NULL = _Errhandler("ERRHANDLER_NULL")


def check_settable(errhandler: object) -> None:
    """What ``Comm.Set_errhandler`` accepts: any handler but ``ERRHANDLER_NULL``."""
    if errhandler is ERRHANDLER_NULL:
        raise MPIException(C.ERR_ERRHANDLER, "the error handler is MPI.ERRHANDLER_NULL")
