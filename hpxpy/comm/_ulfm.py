"""Fault-tolerance calls of MPI 5 / ULFM (``Agree``, ``Iagree``, ``Shrink``, ``Ishrink``,
``Get_failed``, ``Ack_failed``, ``Is_revoked``), as MPICH provides them.

hpxpy ends the job when a locality is lost (every survivor raises ``LocalityError``), so a
running communicator never has failed members: ``Get_failed`` is empty, ``Ack_failed``
acknowledges none, ``Shrink`` makes a communicator of all the members (a duplicate) and
``Agree`` is the bitwise AND of every member's flag (on an inter-communicator, of both
groups'). ``Revoke`` needs processes that outlive a failure; like MPICH (where mpi4py
raises ``NotImplementedError`` for it), hpxpy does not provide it, so nothing is ever
revoked.

Layer 6 of hpxpy.comm: imports ``hpxpy._runtime``, ``_handle`` and ``_interop`` (buffer
views).
"""

from __future__ import annotations

import threading
from typing import Any, List, Optional

from .. import _runtime
from .._numpy import np
from ._handle import _Handle
from ._interop import to_numpy


def _worlds(comm: _Handle) -> List[int]:
    """World rank of every member of both groups (an inter-communicator) or the group."""
    local: Optional[List[int]] = getattr(comm, "_local_members", None)
    return list(comm._check()) + (list(local) if local is not None else [])


_counter_guard = threading.Lock()


def next_agreement(comm: _Handle) -> int:
    """This communicator's next agreement number (taken in the caller's thread: every
    member agrees in the same order, which need not be its collectives' order)."""
    with _counter_guard:
        number = getattr(comm, "_agreements", 0)
        comm._agreements = number + 1  # type: ignore[attr-defined]
    return number


def agree_value(comm: _Handle, number: int, flag: int) -> int:
    """The bitwise AND of every member's ``flag`` (both groups of an inter-communicator).

    Every member sends its flag to every other, by point to point on the collective
    context with a negative tag (collectives' tags are never negative): an agreement
    never meets a collective, so ranks may order the two differently (mpi4py's tests do).
    """
    mine = np.array([flag], np.int32)
    core, context = _runtime.core(), comm._context + 1
    tag = -2 - (number % (1 << 30))
    me = _runtime.locality_id()
    others = sorted({w for w in _worlds(comm) if w != me})
    reqs = [core.post_receive(context, w, tag) for w in others]
    for w in others:
        core.send(w, context, tag, [mine])
    result = int(mine[0])
    for req in reqs:
        core.wait(req)
        result &= int(np.frombuffer(req.payload, np.int32)[0])
    return result


def flag_array(flag: Any) -> np.ndarray:
    """The one C int that Iagree reads and writes (mpi4py's checks: TypeError for a
    non-buffer, ValueError for a buffer that is not one int)."""
    if isinstance(flag, int):
        raise TypeError(f"expecting a buffer holding one int, got {type(flag).__name__}")
    arr = to_numpy(flag)
    nbytes = arr.nbytes
    if nbytes != np.dtype(np.intc).itemsize:
        raise ValueError(f"expecting a buffer of one int ({np.dtype(np.intc).itemsize} "
                         f"bytes), got {nbytes} bytes")
    return arr.reshape(-1).view(np.uint8).view(np.intc)


def iagree(comm: _Handle, number: int, flag: np.ndarray) -> None:
    """Iagree's operation (on the async thread): the agreed value into ``flag``."""
    flag[0] = agree_value(comm, number, int(flag[0]))


def ack_failed(comm: _Handle, num_to_ack: Optional[int]) -> int:
    """Failures acknowledged: none, as no member of a running communicator has failed."""
    comm._check()
    if num_to_ack is not None and num_to_ack < 0:
        raise ValueError(f"num_to_ack must not be negative, got {num_to_ack}")
    return 0


