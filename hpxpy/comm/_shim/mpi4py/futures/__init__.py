"""hpxpy's ``mpi4py.futures``: run calls on the other processes of an hpxrun job.

``hpxrun -n N --mpi4py python -m mpi4py.futures prog.py`` runs ``prog.py`` on rank 0 and
makes ranks 1..N-1 the workers of every :class:`MPIPoolExecutor` it creates;
:class:`MPICommExecutor` turns the non-root ranks of any communicator into workers. Tasks
and results travel as messages of ``hpxpy.comm`` between the processes.
"""

from ._base import (
    ALL_COMPLETED,
    FIRST_COMPLETED,
    FIRST_EXCEPTION,
    BrokenExecutor,
    CancelledError,
    Executor,
    Future,
    InvalidStateError,
    TimeoutError,
    as_completed,
    wait,
)
from .pool import (
    MPICommExecutor,
    MPIPoolExecutor,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    get_comm_workers,
)
from .util import collect, compose

__all__ = [
    "Future", "Executor", "wait", "FIRST_COMPLETED", "FIRST_EXCEPTION", "ALL_COMPLETED",
    "as_completed", "CancelledError", "TimeoutError", "InvalidStateError", "BrokenExecutor",
    "MPIPoolExecutor", "MPICommExecutor", "ThreadPoolExecutor", "ProcessPoolExecutor",
    "get_comm_workers", "collect", "compose",
]
