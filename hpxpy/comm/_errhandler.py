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

    def __init__(self, name: str, predefined: bool = False) -> None:
        self._name = name
        self._predefined = predefined

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Errhandler):
            return NotImplemented
        return self._name == other._name

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return hash(self._name)

    def __repr__(self) -> str:
        return f"<MPI.Errhandler {self._name}>"

    def __bool__(self) -> bool:
        return self._name != "ERRHANDLER_NULL"

    def Free(self) -> None:
        if not self:
            raise MPIException(C.ERR_ERRHANDLER, "the error handler is MPI.ERRHANDLER_NULL")
        if not self._predefined:  # a reference handed out (Win.Get_errhandler): now null
            self._name = "ERRHANDLER_NULL"


ERRORS_RETURN = _Errhandler("ERRORS_RETURN", predefined=True)
ERRORS_ARE_FATAL = _Errhandler("ERRORS_ARE_FATAL", predefined=True)
ERRORS_ABORT = _Errhandler("ERRORS_ABORT", predefined=True)
ERRHANDLER_NULL = _Errhandler("ERRHANDLER_NULL", predefined=True)


def check_settable(errhandler: object) -> None:
    """What ``Comm.Set_errhandler`` accepts: any handler but ``ERRHANDLER_NULL``."""
    if errhandler is ERRHANDLER_NULL or (isinstance(errhandler, _Errhandler) and not errhandler):
        raise MPIException(C.ERR_ERRHANDLER, "the error handler is MPI.ERRHANDLER_NULL")
