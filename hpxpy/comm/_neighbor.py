"""Neighbour collectives (``Neighbor_allgather``, ``Neighbor_alltoallw``, ``neighbor_alltoall``
...) on a topology communicator.

Every process sends one block to each out-neighbour and receives one from each
in-neighbour, in the order of its topology (``_topology``'s send and receive plans),
with point-to-point messages on the communicator's collective context: the receives are
posted first, then the blocks are sent, then the receives are waited for. The tag is the
collective's sequence number and the plan's step, so neither other collectives nor user
messages can match them; blocks between the same pair of processes with the same step are
matched in order. A ``PROC_NULL`` neighbour (past a non-periodic edge of a Cartesian grid)
gets nothing, and its receive block is left as it was (the object forms give None).

Message specs are parsed by ``_buffers`` as the other collectives' are (blocks per
neighbour instead of per rank); a block larger than its room raises ``ERR_TRUNCATE``.
Every operation takes ``seq`` as ``_bufcoll``'s: None from the blocking methods (the number
is taken once the local checks have passed), the started number from ``_nbcoll``.

Layer 5 of hpxpy.comm: imports ``_handle``, ``_buffers``, ``_failures``, ``_pickle``,
``_topology``, ``_contexts`` and ``_constants``.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence

from .. import _runtime
from .._numpy import np
from . import _constants as C
from . import _contexts, _pickle
from ._buffers import message_array, receive_vector, vector_array, vector_w_regions
from ._errors import Exception as MPIException
from ._failures import check_fits
from ._handle import _Handle
from ._topology import Topology, expect_len


def topology(comm: _Handle) -> Topology:
    """The communicator's topology (``ERR_TOPOLOGY`` if it has none)."""
    comm._check()
    topo = getattr(comm, "_topology", None)
    if topo is None:
        raise MPIException(C.ERR_TOPOLOGY, "the communicator has no topology")
    return topo


def exchange(comm: _Handle, seq: int, outgoing: Sequence[Optional[List[Any]]],
             decode: Callable[[Any], Any]) -> List[Any]:
    """Send ``outgoing[k]`` (a list of segments) to out-neighbour k and return what each
    in-neighbour sent, decoded, in neighbour order (None from ``PROC_NULL``)."""
    topo = topology(comm)
    core = _runtime.core()
    context = comm._context + _contexts.COLLECTIVE
    pending = [None if source == C.PROC_NULL else
               core.post_receive(context, comm._world(source), comm._tag(seq, step))
               for source, step in topo.recv_plan()]
    for (dest, step), parts in zip(topo.send_plan(), outgoing):
        if dest != C.PROC_NULL:
            core.send(comm._world(dest), context, comm._tag(seq, step), parts)
    received: List[Any] = []
    for req in pending:
        if req is None:
            received.append(None)
        else:
            core.wait(req)
            received.append(decode(req.payload))
    return received


def _as_bytes(payload: Any) -> np.ndarray:
    return np.frombuffer(payload, dtype=np.uint8)


def _store(topo: Topology, received: List[Optional[np.ndarray]], rflat: np.ndarray,
           counts: List[int], displs: List[int], per: int) -> None:
    """Each received block at its displacement of the receive array (checked to fit)."""
    raw = rflat.view(np.uint8)
    item = rflat.dtype.itemsize * per
    for source, block, count, displ in zip(topo.sources, received, counts, displs):
        if block is None:
            continue
        check_fits(block.size, count * item, source)
        raw[displ * item:displ * item + block.size] = block


def allgather(comm: _Handle, seq: Optional[int], sendbuf: Any, recvbuf: Any,
              equal: bool) -> None:
    """Neighbor_allgather (``equal`` blocks) or Neighbor_allgatherv: the send buffer to
    every out-neighbour; block k of the receive buffer from in-neighbour k."""
    topo = topology(comm)
    send, _ = message_array(sendbuf)
    rflat, counts, displs, rdt, commit = receive_vector(recvbuf, len(topo.sources), equal)
    block = [np.ascontiguousarray(send)]
    received = exchange(comm, comm._next() if seq is None else seq,
                        [block] * len(topo.destinations), _as_bytes)
    _store(topo, received, rflat, counts, displs, rdt.base_count)
    commit()


def alltoall(comm: _Handle, seq: Optional[int], sendbuf: Any, recvbuf: Any,
             equal: bool) -> None:
    """Neighbor_alltoall (``equal`` blocks) or Neighbor_alltoallv: block k of the send
    buffer to out-neighbour k; block k of the receive buffer from in-neighbour k."""
    topo = topology(comm)
    sflat, scounts, sdispls, sdt = vector_array(sendbuf, len(topo.destinations), equal=equal)
    rflat, rcounts, rdispls, rdt, commit = receive_vector(recvbuf, len(topo.sources), equal)
    per = sdt.base_count
    outgoing = [[np.ascontiguousarray(sflat[d * per:(d + c) * per])]
                for c, d in zip(scounts, sdispls)]
    received = exchange(comm, comm._next() if seq is None else seq, outgoing, _as_bytes)
    _store(topo, received, rflat, rcounts, rdispls, rdt.base_count)
    commit()


def alltoallw(comm: _Handle, seq: Optional[int], sendbuf: Any, recvbuf: Any) -> None:
    """Neighbor_alltoallw: as Neighbor_alltoallv with a datatype per neighbour and
    displacements in bytes."""
    topo = topology(comm)
    sregions = vector_w_regions(sendbuf, len(topo.destinations), False)
    rregions = vector_w_regions(recvbuf, len(topo.sources), True)
    outgoing = [[np.array(r.data(), copy=True)] for r in sregions]
    received = exchange(comm, comm._next() if seq is None else seq, outgoing, _as_bytes)
    for source, region, block in zip(topo.sources, rregions, received):
        if block is None:
            continue
        data = region.data()
        check_fits(block.size, data.nbytes, source)
        data.view(np.uint8)[:block.size] = block
        region.store(data)


def _loads(payload: Any) -> Any:
    return _pickle.loads(payload, 0)


def obj_allgather(comm: _Handle, sendobj: Any) -> List[Any]:
    """neighbor_allgather: the object of every in-neighbour, in order."""
    topo = topology(comm)
    segments = _pickle.dumps(sendobj)
    return exchange(comm, comm._next(), [segments] * len(topo.destinations), _loads)


def obj_alltoall(comm: _Handle, sendobj: Any) -> List[Any]:
    """neighbor_alltoall: item k to out-neighbour k; the items of the in-neighbours."""
    topo = topology(comm)
    items = list(sendobj) if sendobj is not None else []
    expect_len(items, len(topo.destinations))
    return exchange(comm, comm._next(), [_pickle.dumps(x) for x in items], _loads)
