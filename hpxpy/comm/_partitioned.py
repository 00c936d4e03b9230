"""Partitioned point to point (MPI 4: ``Psend_init``/``Precv_init``, ``Pready*``,
``Parrived``).

The buffer is ``partitions`` equal blocks. Each ``Start`` of the send side runs one round:
``Pready(i)`` sends block i at once, as its own message (an 8-byte partition number, then
the block's bytes); the round completes when every block has been sent. The receive side's
``Start`` posts one receive per partition; ``Parrived(i)`` places what has come in and
says whether block i has. Messages from one source on one context match posted receives
in order, so the receives of a round take that round's messages, and the last one
completes last: the round's request waits on it, then places every block.

The messages travel with their own tag on the communicator's last spare context
(``_contexts.STRIDE - 1``), so no ordinary receive (``ANY_TAG`` included) matches them.
That context is used otherwise only by ``Create_from_groups``' handshake on COMM_WORLD,
between two leaders, with a tag derived from its string tag.

Layer 4 of hpxpy.comm: imports ``hpxpy._runtime``, ``_constants``, ``_contexts``,
``_buffers``, ``_errors``, ``_failures``, ``_handle``, ``_request`` and ``_status``.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any, Callable, Iterable, List, Optional

from .. import _runtime
from .._numpy import np
from . import _constants as C
from . import _contexts
from ._buffers import receive_vector, vector_array
from ._errors import Exception as MPIException
from ._failures import check_fits
from ._handle import _Handle
from ._request import Prequest, Request
from ._status import Status, fill_status

if TYPE_CHECKING:
    import concurrent.futures

_HEADER = "<i8"  # the partition number in front of each block (a numpy dtype spec)
_HEADER_BYTES = 8


def _partitions(value: Any) -> int:
    count = operator.index(value)
    if count < 1:
        raise MPIException(C.ERR_ARG, f"partitions must be at least 1, got {count}")
    return count


class _Side:
    """What both sides share: the communicator, the peer, the blocks of the buffer."""

    def __init__(self, comm: _Handle, partitions: int, peer: int, tag: int) -> None:
        self.comm = comm
        self.partitions = partitions
        self.peer = peer
        self.tag = tag
        self.context = comm._context + _contexts.STRIDE - 1
        self.wire_tag = tag
        self.active = False

    def _check_partition(self, partition: Any) -> int:
        index = operator.index(partition)
        if not 0 <= index < self.partitions:
            raise MPIException(C.ERR_ARG, f"partition {index} out of range "
                                          f"[0, {self.partitions})")
        return index

    def _check_active(self, what: str) -> None:
        if not self.active:
            raise MPIException(C.ERR_REQUEST, f"{what} on a partitioned request that has not "
                                              f"been started")

    def ready(self, partitions: Iterable[Any]) -> None:
        raise MPIException(C.ERR_REQUEST, "Pready on a partitioned receive request")

    def arrived(self, partition: Any) -> bool:
        raise MPIException(C.ERR_REQUEST, "Parrived on a partitioned send request")


class SendSide(_Side):
    """``Psend_init``: ``Pready`` sends a block; the round ends when all are sent."""

    def __init__(self, comm: _Handle, buf: Any, partitions: int, dest: int, tag: int) -> None:
        super().__init__(comm, partitions, dest, tag)
        flat, counts, displs, dt = vector_array(buf, partitions, equal=True)
        raw = np.ascontiguousarray(flat).view(np.uint8).reshape(-1)
        item = flat.dtype.itemsize * dt.base_count
        self.blocks = [raw[d * item:(d + c) * item] for c, d in zip(counts, displs)]
        self.sent: List[bool] = []
        self.done: Optional[concurrent.futures.Future] = None

    def start(self) -> Request:
        self.sent = [False] * self.partitions
        self.active = True
        if self.peer == C.PROC_NULL:
            self.active = False
            return Request(complete=True)
        import concurrent.futures  # noqa: PLC0415 - it loads logging: only when used

        self.done = concurrent.futures.Future()
        return Request(future=self.done)

    def ready(self, partitions: Iterable[Any]) -> None:
        self._check_active("Pready")
        core = _runtime.core()
        world = self.comm._world(self.peer)
        for partition in partitions:
            index = self._check_partition(partition)
            if self.sent[index]:
                raise MPIException(C.ERR_ARG, f"partition {index} is already ready")
            header = np.array([index], _HEADER)
            core.send(world, self.context, self.wire_tag, [header, self.blocks[index]])
            self.sent[index] = True
        if all(self.sent) and self.done is not None and not self.done.done():
            self.active = False
            self.done.set_result(None)


class RecvSide(_Side):
    """``Precv_init``: one posted receive per block; ``Parrived`` places what came."""

    def __init__(self, comm: _Handle, buf: Any, partitions: int, source: int,
                 tag: int) -> None:
        super().__init__(comm, partitions, source, tag)
        flat, counts, displs, dt, commit = receive_vector(buf, partitions, equal=True)
        item = flat.dtype.itemsize * dt.base_count
        self.raw = flat.view(np.uint8)
        self.offsets = [d * item for d in displs]
        self.rooms = [c * item for c in counts]
        self.commit: Callable[[], None] = commit
        self.posted: List[Any] = []
        self.placed: List[bool] = []
        self.arrived_blocks: List[bool] = []
        self.nbytes = 0

    def start(self) -> Request:
        self.arrived_blocks = [False] * self.partitions
        self.nbytes = 0
        if self.peer == C.PROC_NULL:
            self.active = False
            return Request(complete=True)
        core = _runtime.core()
        world = self.comm._world(self.peer)
        self.posted = [core.post_receive(self.context, world, self.wire_tag)
                       for _ in range(self.partitions)]
        self.placed = [False] * self.partitions
        self.active = True
        return Request(core_request=self.posted[-1], finish=self._finish)

    def _place(self, k: int) -> None:
        """Receive ``k`` of the round has completed: its block into place."""
        payload = np.frombuffer(self.posted[k].payload, np.uint8)
        index = int(payload[:_HEADER_BYTES].view(_HEADER)[0])
        data = payload[_HEADER_BYTES:]
        check_fits(data.size, self.rooms[index], self.peer)
        self.raw[self.offsets[index]:self.offsets[index] + data.size] = data
        self.nbytes += data.size
        self.placed[k] = True
        self.arrived_blocks[index] = True

    def _poll(self) -> None:
        core = _runtime.core()
        for k, req in enumerate(self.posted):
            if not self.placed[k] and core.test(req):
                self._place(k)

    def arrived(self, partition: Any) -> bool:
        index = self._check_partition(partition)
        if not self.active:
            # a round that completed (or none started): MPI says all arrived only then
            return bool(self.arrived_blocks) and all(self.arrived_blocks)
        if not self.arrived_blocks[index]:
            self._poll()
        return self.arrived_blocks[index]

    def _finish(self, status: Optional[Status]) -> None:
        core = _runtime.core()
        for k, req in enumerate(self.posted):
            if not self.placed[k]:
                core.wait(req)
                self._place(k)
        self.active = False
        self.commit()
        fill_status(status, self.peer, self.tag, self.nbytes)


def psend_init(comm: _Handle, buf: Any, partitions: Any, dest: int, tag: int) -> Prequest:
    """A persistent partitioned send of ``buf`` as ``partitions`` equal blocks."""
    comm._check_dest(dest)
    comm._check_send_tag(tag)
    side = SendSide(comm, buf, _partitions(partitions), dest, int(tag))
    return Prequest(starter=side.start, partitioned=side)


def precv_init(comm: _Handle, buf: Any, partitions: Any, source: int, tag: int) -> Prequest:
    """A persistent partitioned receive into ``buf`` as ``partitions`` equal blocks."""
    comm._check_source(source)
    comm._check_recv_tag(tag)
    if source == C.ANY_SOURCE or tag == C.ANY_TAG:
        raise MPIException(C.ERR_ARG, "a partitioned receive names its source and tag")
    side = RecvSide(comm, buf, _partitions(partitions), source, int(tag))
    return Prequest(starter=side.start, partitioned=side)
