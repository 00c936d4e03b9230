"""The two errors hpxpy.comm raises in one place: a collective's failure and truncation.

- A collective fails together: a member that finds an error in its own arguments sends a
  status code and the message in place of its data (``hpxpy._status``), the C++ core raises
  an exception of that kind on every member, and the member that found it re-raises its
  own exception (with its traceback). :func:`collective` runs one core call that way.
- A message that does not fit its receive buffer raises ``MPI.Exception(ERR_TRUNCATE)``:
  :func:`check_fits` checks, :func:`truncation` builds the exception (for a caller that
  records a status first).

Layer 3 of hpxpy.comm: imports ``hpxpy._status``, ``_constants`` and ``_errors`` only.
"""

from __future__ import annotations

import pickle
from typing import Callable, Optional, Tuple, TypeVar

from .._status import failure_status
from . import _constants as C
from ._errors import Exception as MPIException

T = TypeVar("T")

# What the core raises when a member of a collective reported a failure (hpxpy._status).
FAILURES = (ValueError, TypeError, AttributeError, pickle.PicklingError)
# What parsing a message spec raises for a bad one (ValueError, TypeError, KeyError for an
# unknown type code, BufferError for memory of the wrong kind).
SPEC_ERRORS = (ValueError, TypeError, KeyError, BufferError)
NO_FAILURE: Tuple[int, str] = (0, "")


def collective(call: Callable[..., T], args: tuple, local: Optional[BaseException],
               own: bool = True) -> T:
    """``call(*args, status, text)``: one C++ collective, failing together.

    ``local`` is the error this member found (None if there is none). It travels in place
    of the data, so every member raises an exception of its kind; with ``own`` this member
    raises ``local`` itself (with its traceback), else the core's exception as the others.
    """
    if local is None:
        return call(*args, 0, "")
    status, text = failure_status(local)
    try:
        return call(*args, status, text)
    except FAILURES:
        if not own:
            raise
        raise local.with_traceback(local.__traceback__) from None


def truncation(nbytes: int, room: int, sender: Optional[int] = None) -> MPIException:
    """The error for ``nbytes`` arriving where there is ``room`` (``sender``: the rank of a
    collective's block)."""
    if sender is None:
        text = f"message of {nbytes} bytes truncated to a buffer of {room} bytes"
    else:
        text = f"rank {sender} sent {nbytes} bytes, room for {room}"
    return MPIException(C.ERR_TRUNCATE, text)


def check_fits(nbytes: int, room: int, sender: Optional[int] = None) -> None:
    """Raise the truncation error unless ``nbytes`` fit in ``room``."""
    if nbytes > room:
        raise truncation(nbytes, room, sender)
