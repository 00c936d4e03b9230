"""The names ``mpi4py.futures`` takes from :mod:`concurrent.futures`, unchanged."""

from concurrent.futures import (
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

__all__ = [
    "ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION", "BrokenExecutor",
    "CancelledError", "Executor", "Future", "InvalidStateError", "TimeoutError",
    "as_completed", "wait",
]
