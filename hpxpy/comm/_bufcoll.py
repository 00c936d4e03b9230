"""Buffer collectives (``Bcast``, ``Gather[v]``, ``Allreduce``, ``Alltoallw`` ...).

Each operation parses and checks its messages in one place, its own function here (the
parsing rules themselves are ``_buffers``'), then runs on the C++ core's collectives with
raw-byte items. ``Gather[v]``, ``Allgather[v]`` and ``Alltoall[v]`` move raw blocks
straight into their places in the receive buffer (the core's ``gather_blocks`` and
``exchange``, the same wire format as the fast path's); ``Alltoallw`` uses the pairwise
exchange of ``_objcoll``. Received bytes go through ``_failures.check_fits`` (the
truncation error).

Every operation takes ``seq``: the collective's sequence number. The blocking methods pass
None and the number is taken where the operation's local checks have passed (so an
argument error on every rank leaves the sequence as it was); the non-blocking ones
(``_nbcoll``) pass the number they took when started, in the caller's thread.

Layer 5 of hpxpy.comm: imports ``_handle``, ``_objcoll``, ``_buffers``, ``_failures``,
``_ops`` and ``_datatypes``.
"""

from __future__ import annotations

import operator
from typing import Any, Callable, List, Optional, Sequence, Tuple

from .. import _items, _runtime
from .._items import RAW, item_array, item_bytes
from .._numpy import np
from . import _constants as C
from . import _datatypes as D
from . import _ops as O
from ._buffers import (
    message_array,
    receive_array,
    receive_vector,
    vector_array,
    vector_w_regions,
)
from ._failures import SPEC_ERRORS, check_fits, collective
from ._handle import _Handle
from ._objcoll import exchange, obj_bcast, obj_gather

# The C++ all_reduce's dtype codes.


def _nothing() -> None:
    """A commit with nothing to write back."""


def _send_side(sendbuf: Any, own_block: Callable[[], np.ndarray]) -> np.ndarray:
    """The send array, or (``IN_PLACE``) this rank's block of the receive buffer."""
    if sendbuf is C.IN_PLACE or sendbuf is None:
        return own_block()
    arr, _ = message_array(sendbuf)
    return arr


# -- broadcast ---------------------------------------------------------------------------
def _bcast_into(comm: _Handle, seq: int, arr: np.ndarray, root: int, step: int = 0) -> None:
    """The root's ``arr`` into every rank's ``arr``."""
    send = [arr] if comm._rank == root else None
    item = _runtime.core().broadcast(comm._group, send, RAW, root, comm._tag(seq, step), 0, "")
    if item is not None:
        got = item_bytes(item)
        check_fits(got.size, arr.nbytes)
        arr.view(np.uint8)[: got.size] = got


def bcast(comm: _Handle, seq: Optional[int], buf: Any, root: int) -> None:
    """Broadcast the root's buffer into every rank's buffer."""
    root = comm._check_root(root)
    if comm._rank == root:
        try:
            arr, _ = message_array(buf)
        except SPEC_ERRORS as exc:
            # raised on every rank: the others would wait for the root forever
            seq = comm._next() if seq is None else seq
            collective(_runtime.core().broadcast,
                       (comm._group, None, RAW, root, comm._tag(seq)), exc)
            raise
        _bcast_into(comm, comm._next() if seq is None else seq, arr, root)
        return
    arr, _, commit = receive_array(buf)
    _bcast_into(comm, comm._next() if seq is None else seq, arr, root)
    commit()


# -- gather, allgather -------------------------------------------------------------------
def _gather_arrays(comm: _Handle, seq: int, arr: np.ndarray, root: int,
                   step: int = 0) -> Optional[List[np.ndarray]]:
    """Every rank's bytes, in rank order, on the root (None elsewhere)."""
    items = _runtime.core().gather(comm._group, [arr], RAW, root, comm._tag(seq, step), 0, "")
    if items is None:
        return None
    return [arr.view(np.uint8).reshape(-1) if it is None else item_bytes(it) for it in items]


def _block_places(rflat: np.ndarray, counts: Sequence[int], displs: Sequence[int],
                  rdt: Any) -> Tuple[np.ndarray, List[int], List[int]]:
    """The receive buffer's bytes, and each rank's block in it (byte offsets, capacities)."""
    item = rflat.dtype.itemsize * rdt.base_count
    return (rflat.view(np.uint8), [d * item for d in displs], [c * item for c in counts])


def _place_own(raw: np.ndarray, own: np.ndarray, offset: int, room: int, rank: int) -> None:
    """This rank's own block into its place (nothing to do where it already is)."""
    check_fits(own.size, room, rank)
    if own.size and raw[offset:offset + own.size].ctypes.data != own.ctypes.data:
        raw[offset:offset + own.size] = own


def _check_blocks(got: Sequence[int], rooms: Sequence[int], rank: int) -> None:
    for i, (n, room) in enumerate(zip(got, rooms)):
        if i != rank:
            check_fits(n, room, i)


def _gather_into(comm: _Handle, seq: int, send: np.ndarray, root: int, rflat: Any,
                 counts: Any, displs: Any, rdt: Any, equal: bool, meet: bool) -> None:
    """Every rank's ``send`` bytes into its block of the root's ``rflat`` (raw blocks, as
    the fast path sends them; ``equal``: Gather, whose small blocks take a binomial tree,
    or one meeting when ``meet`` (a blocking call), as on the fast path)."""
    own = np.ascontiguousarray(send).view(np.uint8).reshape(-1)
    core, tag = _runtime.core(), comm._tag(seq)
    if comm._rank != root:
        core.gather_blocks(comm._group, own, None, [], [], root, tag, equal, meet)
        return
    raw, offsets, rooms = _block_places(rflat, counts, displs, rdt)
    got = core.gather_blocks(comm._group, own, raw, offsets, rooms, root, tag, equal, meet)
    _place_own(raw, own, offsets[root], rooms[root], root)
    _check_blocks(got, rooms, root)


def gather(comm: _Handle, seq: Optional[int], sendbuf: Any, recvbuf: Any, root: int,
           equal: bool) -> None:
    """Gather (``equal`` blocks) or Gatherv to the root's buffer, in rank order."""
    root = comm._check_root(root)
    size = len(comm._check())
    rflat: Any = None  # the receive side exists on the root only
    counts: Any = None
    displs: Any = None
    rdt: Any = None
    commit: Optional[Callable[[], None]] = None
    if comm._rank == root:
        rflat, counts, displs, rdt, commit = receive_vector(recvbuf, size, equal)

    def own() -> np.ndarray:
        per = rdt.base_count
        return rflat[displs[root] * per:(displs[root] + counts[root]) * per]

    send = _send_side(sendbuf, own)
    if comm._rank == root and send.size and counts[root] * rdt.base_count != send.size and (
            sendbuf is not C.IN_PLACE):
        raise ValueError(f"mismatch in send count {send.size} and receive count "
                         f"{counts[root] * rdt.base_count}")
    _gather_into(comm, comm._next() if seq is None else seq, send, root, rflat, counts,
                 displs, rdt, equal, meet=seq is None)
    if commit is not None:
        commit()


def allgather(comm: _Handle, seq: Optional[int], sendbuf: Any, recvbuf: Any,
              equal: bool) -> None:
    """Allgather (``equal`` blocks) or Allgatherv: every rank's block, on every rank."""
    size = len(comm._check())
    rflat, counts, displs, rdt, commit = receive_vector(recvbuf, size, equal)
    blocking = seq is None  # (a non-blocking call never meets: see _nbcoll)
    seq = comm._next() if seq is None else seq
    rank = comm._rank

    def own() -> np.ndarray:
        per = rdt.base_count
        return rflat[displs[rank] * per:(displs[rank] + counts[rank]) * per]

    send = np.ascontiguousarray(_send_side(sendbuf, own)).view(np.uint8).reshape(-1)
    raw, offsets, rooms = _block_places(rflat, counts, displs, rdt)
    core = _runtime.core()
    if equal:  # (equal blocks lie back to back: _equal_blocks)
        # As the fast path does (the two meet on the wire): ceil(log2 N) rounds, in place,
        # or one meeting.
        _place_own(raw, send, offsets[rank], rooms[rank], rank)
        got = core.allgather_blocks(comm._group, raw, rooms[0], comm._tag(seq), blocking)
    else:
        got = core.exchange(comm._group, [send] * size, raw, offsets, rooms, comm._tag(seq))
        _place_own(raw, send, offsets[rank], rooms[rank], rank)
    _check_blocks(got, rooms, rank)
    commit()


# -- scatter -----------------------------------------------------------------------------
def scatter(comm: _Handle, seq: Optional[int], sendbuf: Any, recvbuf: Any, root: int,
            equal: bool) -> None:
    """Scatter (``equal`` blocks) or Scatterv of the root's buffer."""
    root = comm._check_root(root)
    size = len(comm._check())
    blocks: List[np.ndarray] = []
    codes: List[int] = []
    rarr = commit = None
    if recvbuf is not C.IN_PLACE and recvbuf is not None:
        rarr, _, commit = receive_array(recvbuf)
    local: Optional[BaseException] = None
    if comm._rank == root:
        # An error in the root's buffers is raised on every rank (mpi4py: the others
        # would wait forever for the root).
        try:
            sflat, counts, displs, sdt = vector_array(sendbuf, size, equal=equal)
            per = sdt.base_count
            blocks = [np.ascontiguousarray(sflat[d * per:(d + c) * per])
                      for c, d in zip(counts, displs)]
            codes = [RAW] * size
            if rarr is not None and rarr.size != blocks[root].size:
                raise ValueError(f"mismatch in send count {blocks[root].size} and "
                                 f"receive count {rarr.size}")
        except SPEC_ERRORS as exc:
            local, blocks, codes = exc, [], []
    seq = comm._next() if seq is None else seq
    item = collective(_runtime.core().scatter,
                      (comm._group, [[b] for b in blocks], codes, root, comm._tag(seq)), local)
    if rarr is None:
        return
    data = blocks[root].view(np.uint8).reshape(-1) if item is None else item_bytes(item)
    check_fits(data.size, rarr.nbytes)
    rarr.view(np.uint8)[: data.size] = data
    commit()  # type: ignore[misc]


# -- reductions --------------------------------------------------------------------------
def _reduce_arrays(comm: _Handle, seq: int, send: np.ndarray, op: O.Op, dt: D.Datatype,
                   root: Optional[int], meet: bool = False) -> Optional[np.ndarray]:
    """The reduction of every rank's array: on every rank (root None) or on the root.
    ``meet``: a blocking call (as the fast path's, which it must match on the wire)."""
    code = _items.DTYPE_CODES.get(send.dtype)
    if op._core_code is not None and code is not None and dt.base_count == 1:
        item = _runtime.core().all_reduce(comm._group, send, code, op._core_code,
                                          comm._tag(seq), 0, "", meet)
        if root is not None and comm._rank != root:
            return None
        if item is None:
            return send.copy()
        return item_array(item, send.dtype, send.size)
    target = 0 if root is None else root
    blocks = _gather_arrays(comm, seq, np.ascontiguousarray(send), target)
    result = None
    if blocks is not None:
        arrays = [b.view(send.dtype) for b in blocks]
        sizes = {a.size for a in arrays}
        if len(sizes) != 1:
            raise ValueError(f"reduction buffers differ in size between ranks: {sizes}")
        result = arrays[0].copy()
        for a in arrays[1:]:
            result = op.combine_arrays(result, a.copy(), dt)
    if root is not None:
        return result
    out = result if result is not None else np.empty_like(send)
    _bcast_into(comm, seq, out, 0, step=1)
    return out


def _reduce_operands(sendbuf: Any, recvbuf: Any, need_recv: bool
                     ) -> Tuple[np.ndarray, Any, D.Datatype, Callable[[], None]]:
    """(send array, receive array or None, datatype, commit the receive array)."""
    recv = dt = None
    commit: Callable[[], None] = _nothing
    if need_recv:
        recv, dt, commit = receive_array(recvbuf)
    if sendbuf is C.IN_PLACE or sendbuf is None:
        if recv is None:
            raise ValueError("IN_PLACE needs a receive buffer")
        return recv.copy(), recv, dt, commit  # type: ignore[return-value]
    send, sdt = message_array(sendbuf)
    if recv is not None and sdt is not dt:
        raise ValueError("mismatch in send and receive MPI datatypes")
    if recv is not None and send.size != recv.size:
        raise ValueError(f"mismatch in send count {send.size} and receive count "
                         f"{recv.size}")
    return send, recv, dt or sdt, commit


def allreduce(comm: _Handle, seq: Optional[int], sendbuf: Any, recvbuf: Any,
              op: O.Op) -> None:
    """Reduce every rank's buffer into every rank's receive buffer."""
    comm._check()
    send, recv, dt, commit = _reduce_operands(sendbuf, recvbuf, True)
    op.check_datatype(dt)
    recv[...] = _reduce_arrays(comm, comm._next() if seq is None else seq, send, op, dt, None,
                               meet=seq is None)
    commit()


def reduce(comm: _Handle, seq: Optional[int], sendbuf: Any, recvbuf: Any, op: O.Op,
           root: int) -> None:
    """Reduce every rank's buffer into the root's receive buffer."""
    root = comm._check_root(root)
    send, recv, dt, commit = _reduce_operands(sendbuf, recvbuf, comm._rank == root)
    op.check_datatype(dt)
    out = _reduce_arrays(comm, comm._next() if seq is None else seq, send, op, dt, root,
                         meet=seq is None)
    if comm._rank == root:
        recv[...] = out
        commit()


def reduce_scatter_block(comm: _Handle, seq: Optional[int], sendbuf: Any, recvbuf: Any,
                         op: O.Op) -> None:
    """Reduce, then rank i keeps block i."""
    size = len(comm._check())
    recv, rdt, commit = receive_array(recvbuf)
    if sendbuf is C.IN_PLACE or sendbuf is None:
        send = recv.copy()
        block = send.size // size
    else:
        # As mpi4py: the send spec is `size` blocks; an explicit count is per block.
        send, counts, _, sdt = vector_array(sendbuf, size, equal=True)
        block = recv.size
        if counts[0] * sdt.base_count != block:
            raise ValueError(f"mismatch in send count {counts[0]} and receive count "
                             f"{block // max(rdt.base_count, 1)}")
    op.check_datatype(rdt)
    out = _reduce_arrays(comm, comm._next() if seq is None else seq, send, op, rdt, None)
    rank = comm._rank
    recv[:block] = out[rank * block:(rank + 1) * block]  # type: ignore[index]
    commit()


def reduce_scatter(comm: _Handle, seq: Optional[int], sendbuf: Any, recvbuf: Any,
                   recvcounts: Optional[Sequence[int]], op: O.Op) -> None:
    """Reduce, then rank i keeps the next ``recvcounts[i]`` elements."""
    size = len(comm._check())
    rank = comm._rank
    recv, rdt, commit = receive_array(recvbuf)
    in_place = sendbuf is C.IN_PLACE or sendbuf is None
    if in_place:
        send = recv.copy()
    else:
        send, sdt = message_array(sendbuf)
        if sdt is not rdt:
            raise ValueError("mismatch in send and receive MPI datatypes")
    if recvcounts is not None:
        counts = [operator.index(c) for c in recvcounts]
        if len(counts) != size:
            raise ValueError(f"expecting {size} items, got {len(counts)}")
        if in_place:
            if sum(counts) > recv.size:
                raise ValueError(f"mismatch in receive count {recv.size} and "
                                 f"sum(recvcounts) {sum(counts)}")
        elif counts[rank] != recv.size:
            raise ValueError(f"mismatch in receive count {recv.size} and "
                             f"recvcounts[{rank}] {counts[rank]}")
        elif sum(counts) != send.size:
            raise ValueError(f"mismatch in send count {send.size} and sum(recvcounts) "
                             f"{sum(counts)}")
    op.check_datatype(rdt)
    seq = comm._next() if seq is None else seq
    if recvcounts is None and not in_place:
        # As mpi4py: each rank's share is the size of its receive buffer.
        recvcounts = obj_bcast(comm, seq, obj_gather(comm, seq, int(recv.size), 0, step=2),
                               0, step=3)
    elif recvcounts is None:
        recvcounts = [send.size // size] * size
    counts = [int(c) for c in recvcounts]
    out = _reduce_arrays(comm, seq, send, op, rdt, None)
    start = sum(counts[:rank])
    recv[: counts[rank]] = out[start:start + counts[rank]]  # type: ignore[index]
    commit()


def scan(comm: _Handle, seq: Optional[int], sendbuf: Any, recvbuf: Any, op: O.Op,
         inclusive: bool) -> None:
    """Scan (``inclusive``) or Exscan of buffers (Exscan leaves rank 0's untouched)."""
    send, recv, dt, commit = _reduce_operands(sendbuf, recvbuf, True)
    op.check_datatype(dt)
    seq = comm._next() if seq is None else seq
    blocks = _gather_arrays(comm, seq, np.ascontiguousarray(send), 0)
    prefixes: List[List[np.ndarray]] = []
    if blocks is not None:
        arrays = [b.view(send.dtype).copy() for b in blocks]
        acc = None
        for a in arrays:
            if inclusive:
                acc = a if acc is None else op.combine_arrays(acc, a, dt)
                prefixes.append([acc])
            else:
                prefixes.append([acc if acc is not None else np.zeros_like(a)])
                acc = a if acc is None else op.combine_arrays(acc, a, dt)
    item = _runtime.core().scatter(comm._group, prefixes, [RAW] * len(prefixes), 0,
                                   comm._tag(seq, 1), 0, "")
    data = prefixes[0][0].view(np.uint8) if item is None else item_bytes(item)
    if inclusive or comm._rank != 0:
        recv.view(np.uint8)[...] = data
        commit()


# -- all to all --------------------------------------------------------------------------
def _as_bytes(payload: Any) -> np.ndarray:
    return np.frombuffer(payload, dtype=np.uint8)


def alltoall(comm: _Handle, seq: Optional[int], sendbuf: Any, recvbuf: Any,
             equal: bool) -> None:
    """Alltoall (``equal`` blocks) or Alltoallv: block j of rank i's send buffer goes to
    block i of rank j's receive buffer."""
    size = len(comm._check())
    rflat, rcounts, rdispls, rdt, commit = receive_vector(recvbuf, size, equal)
    if sendbuf is C.IN_PLACE or sendbuf is None:
        sflat, scounts, sdispls, sdt = rflat.copy(), rcounts, rdispls, rdt
    else:
        sflat, scounts, sdispls, sdt = vector_array(sendbuf, size, equal=equal)
    sitem = sflat.dtype.itemsize * sdt.base_count
    sraw = np.ascontiguousarray(sflat).view(np.uint8)
    outgoing = [sraw[d * sitem:(d + c) * sitem] for c, d in zip(scounts, sdispls)]
    raw, offsets, rooms = _block_places(rflat, rcounts, rdispls, rdt)
    rank = comm._rank
    # Equal blocks: small ones take Bruck's algorithm, or one meeting when blocking, as on
    # the fast path.
    got = _runtime.core().exchange(comm._group, outgoing, raw, offsets, rooms,
                                   comm._tag(comm._next() if seq is None else seq), equal,
                                   seq is None)
    _place_own(raw, outgoing[rank], offsets[rank], rooms[rank], rank)
    _check_blocks(got, rooms, rank)
    commit()


def alltoallw(comm: _Handle, seq: Optional[int], sendbuf: Any, recvbuf: Any) -> None:
    """As Alltoallv with a datatype per rank and displacements in bytes."""
    size = len(comm._check())
    rregions = vector_w_regions(recvbuf, size, True)
    sregions = rregions if sendbuf is C.IN_PLACE or sendbuf is None else \
        vector_w_regions(sendbuf, size, False)
    outgoing = [[np.array(r.data(), copy=True)] for r in sregions]
    received = exchange(comm, comm._next() if seq is None else seq, outgoing, _as_bytes)
    for i, region in enumerate(rregions):
        data = region.data()
        block = received[i].view(np.uint8)
        check_fits(block.size, data.nbytes, i)
        data.view(np.uint8)[:block.size] = block
        region.store(data)
