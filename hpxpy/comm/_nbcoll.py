"""Non-blocking collectives: a blocking collective run later, in order, off the caller.

``Comm.Ibcast`` and the others take the collective's sequence number when they are called
(in the caller's thread, so program order gives every rank the same number) and pass it
to the operation of ``_bufcoll`` / ``_objcoll``, which runs on the runtime's single async
thread (``hpxpy._runtime.executor()``: operations run in the order they were started). The
returned request completes when the operation has.

Layer 6 of hpxpy.comm (above the operations it runs): imports ``_handle`` and
``_request``; the operations come in as arguments.
"""

from __future__ import annotations

from typing import Any, Callable

from .. import _runtime
from ._handle import _Handle
from ._request import Request


def start(comm: _Handle, operation: Callable[..., Any], *args: Any) -> Request:
    """Start ``operation(comm, seq, *args)`` with the next sequence number of ``comm``."""
    seq = comm._next()
    return Request(future=_runtime.executor().submit(operation, comm, seq, *args))
