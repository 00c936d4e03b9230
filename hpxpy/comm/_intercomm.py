"""Inter-communicators' collectives: two groups, each seeing the other as its peers.

An ``Intercomm`` keeps the remote group's members as its members (so point to point,
inherited from ``Comm``, names remote ranks), its local group's members beside them,
and an intra-communicator over its local group (``local``). A collective runs in the
local group on that intra-communicator and crosses between the groups by point to point
on the inter-communicator's collective context: rooted operations go straight between
the root and the other group's members, the others through the two local leaders (rank
0 of each group), which swap values and broadcast what they got (``bridge``).

Layer 6 of hpxpy.comm: imports ``hpxpy._runtime``, ``_constants``, ``_errors``,
``_handle`` and ``_pickle``; ``local`` is the caller's intra-communicator (its methods
do the local part).
"""

from __future__ import annotations

import socket
from typing import Any, List, Optional, Sequence

from .. import _runtime
from . import _constants as C
from . import _pickle
from ._errors import Exception as MPIException
from ._handle import _Handle


def _send(comm: _Handle, remote: int, tag: int, obj: Any) -> None:
    _runtime.core().send(comm._world(remote), comm._context + 1, tag, _pickle.dumps(obj))


def _post(comm: _Handle, remote: int, tag: int) -> Any:
    return _runtime.core().post_receive(comm._context + 1, comm._world(remote), tag)


def _take(req: Any) -> Any:
    _runtime.core().wait(req)
    return _pickle.loads(req.payload)


def bridge(comm: _Handle, local: Any, seq: int, value: Any) -> Any:
    """The other group's leader's ``value``, on every member of this group (the leaders
    swap theirs, then each broadcasts what it got in its own group)."""
    theirs = None
    if comm._rank == 0:
        tag = comm._tag(seq, 1)
        req = _post(comm, 0, tag)
        _send(comm, 0, tag, value)
        theirs = _take(req)
    return local.bcast(theirs, 0)


def split_type_color(comm: _Handle, local: Any, split_type: int) -> int:
    """Split_type's color on an inter-communicator: the index of this process's host among
    the hosts of both groups (UNDEFINED for UNDEFINED), so that each host's processes of
    the two groups meet in one inter-communicator."""
    if split_type not in (C.UNDEFINED, C.COMM_TYPE_SHARED):
        raise MPIException(C.ERR_ARG, f"unsupported split type {split_type}")
    host = socket.gethostname()
    table = local.allgather((split_type, host))
    table += bridge(comm, local, comm._next(), table)
    hosts = sorted({h for t, h in table if t != C.UNDEFINED})
    return C.UNDEFINED if split_type == C.UNDEFINED else hosts.index(host)


def check_root(comm: _Handle, root: int) -> None:
    """MPI.ROOT (the root itself), MPI.PROC_NULL (its group's others) or a remote rank."""
    size = len(comm._check())
    if root not in (C.ROOT, C.PROC_NULL) and not 0 <= root < size:
        raise MPIException(C.ERR_ROOT, f"invalid root {root}; expected MPI.ROOT, "
                                       f"MPI.PROC_NULL or 0 <= root < {size}")


def barrier(comm: _Handle, local: Any) -> None:
    """Returns once every member of both groups has called it."""
    seq = comm._next()
    local.barrier()
    bridge(comm, local, seq, None)


def bcast(comm: _Handle, local: Any, obj: Any, root: int) -> Any:
    check_root(comm, root)
    seq = comm._next()
    tag = comm._tag(seq)
    if root == C.ROOT:
        _send(comm, 0, tag, obj)
        return None
    if root == C.PROC_NULL:
        return None
    value = _take(_post(comm, root, tag)) if comm._rank == 0 else None
    return local.bcast(value, 0)


def gather(comm: _Handle, obj: Any, root: int) -> Optional[List[Any]]:
    check_root(comm, root)
    tag = comm._tag(comm._next())
    if root == C.ROOT:
        reqs = [_post(comm, i, tag) for i in range(len(comm._check()))]
        return [_take(r) for r in reqs]
    if root != C.PROC_NULL:
        _send(comm, root, tag, obj)
    return None


def scatter(comm: _Handle, objs: Optional[Sequence[Any]], root: int) -> Any:
    check_root(comm, root)
    tag = comm._tag(comm._next())
    if root == C.ROOT:
        size = len(comm._check())
        items = list(objs) if objs is not None else [None] * size
        if len(items) != size:
            raise ValueError(f"expecting {size} items, got {len(items)}")
        for i, item in enumerate(items):
            _send(comm, i, tag, item)
        return None
    if root == C.PROC_NULL:
        return None
    return _take(_post(comm, root, tag))


def allgather(comm: _Handle, local: Any, obj: Any) -> List[Any]:
    seq = comm._next()
    return bridge(comm, local, seq, local.gather(obj, 0))


def alltoall(comm: _Handle, objs: Optional[Sequence[Any]]) -> List[Any]:
    size = len(comm._check())
    items = [None] * size if objs is None else list(objs)  # None: as mpi4py, all None
    if len(items) != size:
        raise ValueError(f"expecting {size} items, got {len(items)}")
    tag = comm._tag(comm._next())
    reqs = [_post(comm, j, tag) for j in range(size)]
    for j, item in enumerate(items):
        _send(comm, j, tag, item)
    return [_take(r) for r in reqs]


def reduce(comm: _Handle, local: Any, obj: Any, op: Any, root: int) -> Any:
    check_root(comm, root)
    tag = comm._tag(comm._next())
    if root == C.ROOT:
        return _take(_post(comm, 0, tag))
    if root == C.PROC_NULL:
        return None
    value = local.reduce(obj, op, 0)
    if comm._rank == 0:
        _send(comm, root, tag, value)
    return None


def allreduce(comm: _Handle, local: Any, obj: Any, op: Any) -> Any:
    seq = comm._next()
    return bridge(comm, local, seq, local.reduce(obj, op, 0))
