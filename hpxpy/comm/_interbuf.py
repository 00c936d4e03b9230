"""Inter-communicators' buffer collectives (``Bcast``, ``Gather[v]``, ``Allreduce`` ...).

MPI's inter-communicator semantics: a rooted operation runs between the root (``root=
MPI.ROOT``) and every member of the other group (``root`` = the root's rank there), the
rest of the root's group passes ``MPI.PROC_NULL`` and does nothing; an all-to-all one
gives each member what the *other* group sent (Allgather: the remote group's blocks,
Allreduce: the reduction of the remote group's buffers, Reduce_scatter: its share of
that reduction).

Every message goes straight between the two members concerned, by point to point on the
inter-communicator's collective context (as ``_intercomm``'s rooted object operations).
No local-group collective is used, so an operation needs nothing but its sequence number:
the non-blocking forms run the same functions on the runtime's async thread
(``_nbcoll``) beside blocking ones of the same communicator. Messages are raw bytes;
received blocks go through ``_failures.check_fits`` (the truncation error). Reductions
combine the remote group's buffers in its rank order.

Every operation takes ``seq`` as ``_bufcoll``'s do: None from a blocking method (taken
here, once the local checks have passed), the started number from a non-blocking one.

Layer 6 of hpxpy.comm: imports ``hpxpy._runtime``, ``_constants``, ``_buffers``,
``_failures``, ``_handle``, ``_intercomm`` (the root check) and ``_ops``.
"""

from __future__ import annotations

import operator
from typing import Any, Callable, List, Optional, Sequence

from .. import _runtime
from .._numpy import np
from . import _constants as C
from . import _ops as O
from ._buffers import (
    message_array,
    receive_array,
    receive_vector,
    vector_array,
    vector_w_regions,
)
from ._errors import Exception as MPIException
from ._failures import check_fits
from ._handle import _Handle
from ._intercomm import check_root


# -- moving raw bytes between the groups -------------------------------------------------
def _bytes(arr: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(arr).view(np.uint8).reshape(-1)


def _send(comm: _Handle, world: int, tag: int, arr: np.ndarray) -> None:
    """``arr``'s bytes to the locality ``world`` (a member of either group)."""
    _runtime.core().send(world, comm._context + 1, tag, [_bytes(arr)])


def _post(comm: _Handle, world: int, tag: int) -> Any:
    return _runtime.core().post_receive(comm._context + 1, world, tag)


def _take(req: Any) -> np.ndarray:
    """The bytes a posted receive got (waits for them)."""
    _runtime.core().wait(req)
    payload = req.payload
    return np.empty(0, np.uint8) if payload is None else np.frombuffer(payload, np.uint8)


def _remote(comm: _Handle) -> List[int]:
    """World rank of each member of the remote group."""
    return comm._check()


def _seq(comm: _Handle, seq: Optional[int]) -> int:
    return comm._next() if seq is None else seq


def _place(raw: np.ndarray, got: np.ndarray, offset: int, room: int, sender: int) -> None:
    check_fits(got.size, room, sender)
    raw[offset:offset + got.size] = got


def _post_all(comm: _Handle, tag: int) -> List[Any]:
    """A receive from every member of the remote group, in its rank order."""
    return [_post(comm, w, tag) for w in _remote(comm)]


def _send_all(comm: _Handle, tag: int, blocks: Sequence[np.ndarray]) -> None:
    """Block j to member j of the remote group."""
    for world, block in zip(_remote(comm), blocks):
        _send(comm, world, tag, block)


def _blocks(flat: np.ndarray, counts: Sequence[int], displs: Sequence[int],
            dt: Any) -> List[np.ndarray]:
    per = dt.base_count
    return [flat[d * per:(d + c) * per] for c, d in zip(counts, displs)]


def _places(flat: np.ndarray, counts: Sequence[int], displs: Sequence[int], dt: Any):
    """The receive buffer's bytes, each block's byte offset and capacity."""
    item = flat.dtype.itemsize * dt.base_count
    return flat.view(np.uint8), [d * item for d in displs], [c * item for c in counts]


def _receive_blocks(reqs: Sequence[Any], flat: np.ndarray, counts: Sequence[int],
                    displs: Sequence[int], dt: Any) -> None:
    raw, offsets, rooms = _places(flat, counts, displs, dt)
    for j, req in enumerate(reqs):
        _place(raw, _take(req), offsets[j], rooms[j], j)


def _nothing() -> None:
    """A commit with nothing to write back."""


# -- barrier, broadcast ------------------------------------------------------------------
def barrier(comm: _Handle, seq: Optional[int]) -> None:
    """Returns once every member of the remote group has called it (MPI: and vice versa)."""
    tag = comm._tag(_seq(comm, seq))
    reqs = _post_all(comm, tag)
    _send_all(comm, tag, [np.empty(0, np.uint8)] * len(reqs))
    for req in reqs:
        _runtime.core().wait(req)


def bcast(comm: _Handle, seq: Optional[int], buf: Any, root: int) -> None:
    """The root's buffer into every remote member's buffer."""
    check_root(comm, root)
    if root == C.PROC_NULL:
        _seq(comm, seq)
        return
    if root == C.ROOT:
        arr, _ = message_array(buf)
        tag = comm._tag(_seq(comm, seq))
        _send_all(comm, tag, [arr] * len(_remote(comm)))
        return
    arr, _, commit = receive_array(buf)
    got = _take(_post(comm, comm._world(root), comm._tag(_seq(comm, seq))))
    check_fits(got.size, arr.nbytes, root)
    arr.view(np.uint8)[:got.size] = got
    commit()


# -- gather, scatter ---------------------------------------------------------------------
def gather(comm: _Handle, seq: Optional[int], sendbuf: Any, recvbuf: Any, root: int,
           equal: bool) -> None:
    """Gather[v]: every remote member's block into the root's buffer, in its rank order."""
    check_root(comm, root)
    if root == C.PROC_NULL:
        _seq(comm, seq)
        return
    if root == C.ROOT:
        flat, counts, displs, dt, commit = receive_vector(recvbuf, len(_remote(comm)), equal)
        reqs = _post_all(comm, comm._tag(_seq(comm, seq)))
        _receive_blocks(reqs, flat, counts, displs, dt)
        commit()
        return
    arr, _ = message_array(sendbuf)
    _send(comm, comm._world(root), comm._tag(_seq(comm, seq)), arr)


def scatter(comm: _Handle, seq: Optional[int], sendbuf: Any, recvbuf: Any, root: int,
            equal: bool) -> None:
    """Scatter[v]: block j of the root's buffer to member j of the other group."""
    check_root(comm, root)
    if root == C.PROC_NULL:
        _seq(comm, seq)
        return
    if root == C.ROOT:
        flat, counts, displs, dt = vector_array(sendbuf, len(_remote(comm)), equal=equal)
        _send_all(comm, comm._tag(_seq(comm, seq)), _blocks(flat, counts, displs, dt))
        return
    arr, _, commit = receive_array(recvbuf)
    got = _take(_post(comm, comm._world(root), comm._tag(_seq(comm, seq))))
    check_fits(got.size, arr.nbytes, root)
    arr.view(np.uint8)[:got.size] = got
    commit()


# -- all to all --------------------------------------------------------------------------
def allgather(comm: _Handle, seq: Optional[int], sendbuf: Any, recvbuf: Any,
              equal: bool) -> None:
    """Allgather[v]: every remote member's block, in its rank order, on every member."""
    if sendbuf is C.IN_PLACE:
        raise MPIException(C.ERR_ARG, "MPI.IN_PLACE is not allowed on an inter-communicator")
    flat, counts, displs, dt, commit = receive_vector(recvbuf, len(_remote(comm)), equal)
    send, _ = message_array(sendbuf)
    tag = comm._tag(_seq(comm, seq))
    reqs = _post_all(comm, tag)
    _send_all(comm, tag, [send] * len(reqs))
    _receive_blocks(reqs, flat, counts, displs, dt)
    commit()


def alltoall(comm: _Handle, seq: Optional[int], sendbuf: Any, recvbuf: Any,
             equal: bool) -> None:
    """Alltoall[v]: block j to remote member j; remote member j's block into block j."""
    if sendbuf is C.IN_PLACE:
        raise MPIException(C.ERR_ARG, "MPI.IN_PLACE is not allowed on an inter-communicator")
    size = len(_remote(comm))
    rflat, rcounts, rdispls, rdt, commit = receive_vector(recvbuf, size, equal)
    sflat, scounts, sdispls, sdt = vector_array(sendbuf, size, equal=equal)
    tag = comm._tag(_seq(comm, seq))
    reqs = _post_all(comm, tag)
    _send_all(comm, tag, _blocks(sflat, scounts, sdispls, sdt))
    _receive_blocks(reqs, rflat, rcounts, rdispls, rdt)
    commit()


def alltoallw(comm: _Handle, seq: Optional[int], sendbuf: Any, recvbuf: Any) -> None:
    """As Alltoallv with a datatype per remote member and displacements in bytes."""
    if sendbuf is C.IN_PLACE:
        raise MPIException(C.ERR_ARG, "MPI.IN_PLACE is not allowed on an inter-communicator")
    size = len(_remote(comm))
    rregions = vector_w_regions(recvbuf, size, True)
    sregions = vector_w_regions(sendbuf, size, False)
    tag = comm._tag(_seq(comm, seq))
    reqs = _post_all(comm, tag)
    _send_all(comm, tag, [r.data() for r in sregions])
    for j, (req, region) in enumerate(zip(reqs, rregions)):
        data = region.data()
        got = _take(req)
        check_fits(got.size, data.nbytes, j)
        data.view(np.uint8)[:got.size] = got
        region.store(data)


# -- reductions --------------------------------------------------------------------------
def _combine(reqs: Sequence[Any], like: np.ndarray, op: O.Op, dt: Any) -> np.ndarray:
    """The reduction, in the remote group's rank order, of the arrays it sent."""
    result: Optional[np.ndarray] = None
    for j, req in enumerate(reqs):
        got = _take(req)
        check_fits(got.size, like.nbytes, j)
        if got.size != like.nbytes:
            raise ValueError(f"reduction buffers differ in size between ranks: "
                             f"{got.size} and {like.nbytes} bytes")
        arr = got.view(like.dtype).copy()
        result = arr if result is None else op.combine_arrays(result, arr, dt)
    return like.copy() if result is None else result


def reduce(comm: _Handle, seq: Optional[int], sendbuf: Any, recvbuf: Any, op: O.Op,
           root: int) -> None:
    """The reduction of the remote group's buffers into the root's receive buffer."""
    check_root(comm, root)
    if root == C.PROC_NULL:
        _seq(comm, seq)
        return
    if root == C.ROOT:
        recv, dt, commit = receive_array(recvbuf)
        op.check_datatype(dt)
        reqs = _post_all(comm, comm._tag(_seq(comm, seq)))
        recv[...] = _combine(reqs, recv, op, dt)
        commit()
        return
    send, dt = message_array(sendbuf)
    op.check_datatype(dt)
    _send(comm, comm._world(root), comm._tag(_seq(comm, seq)), send)


def _exchange_all(comm: _Handle, seq: Optional[int], send: np.ndarray) -> List[Any]:
    """``send`` to every remote member; the receives of theirs (remote rank order)."""
    tag = comm._tag(_seq(comm, seq))
    reqs = _post_all(comm, tag)
    _send_all(comm, tag, [send] * len(reqs))
    return reqs


def _operands(sendbuf: Any, recvbuf: Any):
    if sendbuf is C.IN_PLACE:
        raise MPIException(C.ERR_ARG, "MPI.IN_PLACE is not allowed on an inter-communicator")
    recv, dt, commit = receive_array(recvbuf)
    send, sdt = message_array(sendbuf)
    if sdt is not dt:
        raise ValueError("mismatch in send and receive MPI datatypes")
    return send, recv, dt, commit


def allreduce(comm: _Handle, seq: Optional[int], sendbuf: Any, recvbuf: Any,
              op: O.Op) -> None:
    """The reduction of the remote group's buffers, on every member."""
    send, recv, dt, commit = _operands(sendbuf, recvbuf)
    if send.size != recv.size:
        raise ValueError(f"mismatch in send count {send.size} and receive count {recv.size}")
    op.check_datatype(dt)
    recv[...] = _combine(_exchange_all(comm, seq, send), send, op, dt)
    commit()


def _local_shares(comm: _Handle, seq: int, share: int) -> List[int]:
    """Every local member's ``share`` (in its rank order), swapped within the local group
    by point to point on this communicator's context (step 1 of collective ``seq``)."""
    members: List[int] = comm._local_members  # type: ignore[attr-defined]
    tag = comm._tag(seq, 1)
    mine = np.array([share], np.int64)
    reqs = {w: _post(comm, w, tag) for i, w in enumerate(members) if i != comm._rank}
    for w in reqs:
        _send(comm, w, tag, mine)
    return [share if i == comm._rank else int(_take(reqs[w]).view(np.int64)[0])
            for i, w in enumerate(members)]


def _reduce_scatter_into(comm: _Handle, seq: int, send: np.ndarray, recv: np.ndarray,
                         counts: Sequence[int], op: O.Op, dt: Any,
                         commit: Callable[[], None]) -> None:
    """The remote group's reduced vector; this member keeps its ``counts`` share."""
    total = sum(counts)
    if send.size != total:
        raise ValueError(f"mismatch in send count {send.size} and sum(recvcounts) {total}")
    reduced = _combine(_exchange_all(comm, seq, send), send, op, dt)
    start = sum(counts[:comm._rank])
    mine = counts[comm._rank]
    check_fits(mine * send.itemsize, recv.nbytes)
    recv[:mine] = reduced[start:start + mine]
    commit()


def reduce_scatter_block(comm: _Handle, seq: Optional[int], sendbuf: Any, recvbuf: Any,
                         op: O.Op) -> None:
    """The remote group's reduced vector, block i to local member i (the send buffer
    holds one block per local member)."""
    if sendbuf is C.IN_PLACE:
        raise MPIException(C.ERR_ARG, "MPI.IN_PLACE is not allowed on an inter-communicator")
    size = len(comm._local_members)  # type: ignore[attr-defined]
    recv, rdt, commit = receive_array(recvbuf)
    send, counts, _, sdt = vector_array(sendbuf, size, equal=True)
    if counts[0] * sdt.base_count != recv.size:
        raise ValueError(f"mismatch in send count {counts[0]} and receive count "
                         f"{recv.size // max(rdt.base_count, 1)}")
    op.check_datatype(rdt)
    _reduce_scatter_into(comm, _seq(comm, seq), send, recv, [recv.size] * size, op, rdt,
                         commit)


def reduce_scatter(comm: _Handle, seq: Optional[int], sendbuf: Any, recvbuf: Any,
                   recvcounts: Optional[Sequence[int]], op: O.Op) -> None:
    """The remote group's reduced vector, the next ``recvcounts[i]`` elements to local
    member i (None: each member's share is the size of its receive buffer)."""
    send, recv, dt, commit = _operands(sendbuf, recvbuf)
    size = len(comm._local_members)  # type: ignore[attr-defined]
    counts: Optional[List[int]] = None
    if recvcounts is not None:
        counts = [operator.index(c) for c in recvcounts]
        if len(counts) != size:
            raise ValueError(f"expecting {size} items, got {len(counts)}")
        if counts[comm._rank] != recv.size:
            raise ValueError(f"mismatch in receive count {recv.size} and "
                             f"recvcounts[{comm._rank}] {counts[comm._rank]}")
    op.check_datatype(dt)
    seq = _seq(comm, seq)
    if counts is None:
        counts = _local_shares(comm, seq, int(recv.size))
    _reduce_scatter_into(comm, seq, send, recv, counts, op, dt, commit)
