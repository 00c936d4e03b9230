"""Python objects with pickle protocol 5 and out-of-band buffers (mpi4py's ``util.pkl5``).

``pkl5.Intracomm(comm)`` is ``comm`` with object methods (``send``, ``isend``, ``recv``,
``sendrecv``, ``mprobe``, ``bcast``, ``gather``, ``scatter``, ``allgather``,
``alltoall``...) that serialize with :data:`pickle` (``MPI.Pickle``: buffers of
``pickle.THRESHOLD`` bytes or more travel out-of-band, without a copy into the pickle).

On hpxpy one object is one message, whatever its size: a frame's size is 64-bit, so
mpi4py's splitting of large messages into blocks of at most 2**31-1 elements (its
``_bigmpi``) is not needed; :class:`_BigMPI` is kept for programs that set it, and has no
effect. A message carries a small record (the pickle data and the buffers as separate
segments of the same message); a ``pkl5`` receive must be matched by a ``pkl5`` send.
"""

from __future__ import annotations

import pickle as _stdpickle
import struct as _struct
from typing import Any, Iterable, List, Optional, Sequence, Tuple

from hpxpy.comm import MPI
from hpxpy.comm.MPI import ANY_SOURCE, ANY_TAG, ROOT, Pickle, Status

__all__ = ["pickle", "Request", "Message", "Comm", "Intracomm", "Intercomm"]

pickle = Pickle()  # the serializer of every pkl5 message (replaceable, as in mpi4py)


class _BigMPI:
    """mpi4py's splitting of large buffers into blocks; hpxpy's 64-bit frames carry any
    size, so ``blocksize`` is kept but nothing is split."""

    blocksize = (1 << (_struct.calcsize("q") * 8 - 1)) - 1

    def __init__(self) -> None:
        self.cache: dict = {}

    def __enter__(self) -> _BigMPI:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cache.clear()

    def __call__(self, buf: Any) -> Tuple[memoryview, int, Any]:
        view = memoryview(buf)
        return (view, view.nbytes, MPI.BYTE)


_bigmpi = _BigMPI()


class _Pickled:
    """What a pkl5 message carries: the pickle data and its out-of-band buffers."""

    __slots__ = ("data", "bufs")

    def __init__(self, data: Any, bufs: List[Any]) -> None:
        self.data = data
        self.bufs = bufs

    def __reduce_ex__(self, protocol: Any) -> Any:
        # the buffers as PickleBuffers: hpxpy's transport sends them as their own segments
        return (_Pickled, (self.data, [_stdpickle.PickleBuffer(b) for b in self.bufs]))


def _pack(obj: Any) -> _Pickled:
    data, bufs = pickle.dumps_oob(obj)
    return _Pickled(data, bufs)


def _unpack(obj: Any) -> Any:
    if isinstance(obj, _Pickled):
        return pickle.loads_oob(obj.data, obj.bufs)
    return obj


class Request:
    """A pkl5 request: completing a receive unpickles the object."""

    def __init__(self, request: Any = None) -> None:
        if isinstance(request, Request):
            request = request._request
        self._request: Any = MPI.Request() if request is None else request

    def __bool__(self) -> bool:
        return bool(self._request)

    def __eq__(self, other: object) -> Any:
        if isinstance(other, Request):
            other = other._request
        if not isinstance(other, MPI.Request):
            return NotImplemented
        return self._request == other

    def __ne__(self, other: object) -> Any:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None  # type: ignore[assignment]

    def Free(self) -> None:
        """Free the request."""
        self._request.Free()

    def free(self) -> None:
        """Free the request."""
        self._request.Free()

    def cancel(self) -> None:
        """Cancel the request."""
        self._request.Cancel()

    def get_status(self, status: Optional[Status] = None) -> bool:
        """Whether it is complete (filling ``status``), without completing it."""
        return self._request.Get_status(status)

    def test(self, status: Optional[Status] = None) -> Tuple[bool, Any]:
        """(done, object received or None)."""
        flag, obj = self._request.test(status)
        return flag, (_unpack(obj) if flag else None)

    def wait(self, status: Optional[Status] = None) -> Any:
        """Wait; the object received (None for a send)."""
        return _unpack(self._request.wait(status))

    @staticmethod
    def _raw(requests: Iterable[Request]) -> List[Any]:
        return [r._request if isinstance(r, Request) else r for r in requests]

    @classmethod
    def get_status_all(cls, requests: Sequence[Request],
                       statuses: Optional[List[Status]] = None) -> bool:
        """Whether all are complete, without completing them."""
        return MPI.Request.get_status_all(cls._raw(requests), statuses)

    @classmethod
    def testall(cls, requests: Sequence[Request],
                statuses: Optional[List[Status]] = None) -> Tuple[bool, Optional[List[Any]]]:
        """(all done, their objects) or (False, None)."""
        flag, objs = MPI.Request.testall(cls._raw(requests), statuses)
        return flag, ([_unpack(o) for o in objs] if flag and objs is not None else None)

    @classmethod
    def waitall(cls, requests: Sequence[Request],
                statuses: Optional[List[Status]] = None) -> List[Any]:
        """Wait for all; their objects."""
        return [_unpack(o) for o in MPI.Request.waitall(cls._raw(requests), statuses)]


class Message:
    """A pkl5 matched message (from ``mprobe``/``improbe``)."""

    def __init__(self, message: Any = None) -> None:
        if isinstance(message, Message):
            message = message._message
        self._message: Any = MPI.MESSAGE_NULL if message is None else message

    def __bool__(self) -> bool:
        return bool(self._message)

    def __eq__(self, other: object) -> Any:
        if isinstance(other, Message):
            other = other._message
        if not isinstance(other, MPI.Message):
            return NotImplemented
        return self._message == other

    def __ne__(self, other: object) -> Any:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None  # type: ignore[assignment]

    def free(self) -> None:
        """Forget the message (it is not received)."""
        self._message = MPI.MESSAGE_NULL

    def recv(self, status: Optional[Status] = None) -> Any:
        """Receive the object."""
        return _unpack(self._message.recv(status))

    def irecv(self) -> Request:
        """Start receiving the object."""
        return Request(self._message.irecv())

    @classmethod
    def probe(cls, comm: Any, source: int = ANY_SOURCE, tag: int = ANY_TAG,
              status: Optional[Status] = None) -> Message:
        """Match a message (blocking)."""
        return cls(MPI.Comm.mprobe(comm, source, tag, status))

    @classmethod
    def iprobe(cls, comm: Any, source: int = ANY_SOURCE, tag: int = ANY_TAG,
               status: Optional[Status] = None) -> Optional[Message]:
        """Match a message if one is there; else None."""
        message = MPI.Comm.improbe(comm, source, tag, status)
        return None if message is None else cls(message)


class Comm(MPI.Comm):
    """A communicator whose object messages use :data:`pickle`."""

    def send(self, obj: Any, dest: int, tag: int = 0) -> None:
        """Send ``obj`` (blocking)."""
        MPI.Comm.send(self, _pack(obj), dest, tag)

    def bsend(self, obj: Any, dest: int, tag: int = 0) -> None:
        """Send ``obj`` through the attached buffer."""
        MPI.Comm.bsend(self, _pack(obj), dest, tag)

    def ssend(self, obj: Any, dest: int, tag: int = 0) -> None:
        """Send ``obj``, returning once it is matched."""
        MPI.Comm.ssend(self, _pack(obj), dest, tag)

    def isend(self, obj: Any, dest: int,  # type: ignore[override]
              tag: int = 0) -> Request:
        """Start sending ``obj``."""
        return Request(MPI.Comm.isend(self, _pack(obj), dest, tag))

    def ibsend(self, obj: Any, dest: int,  # type: ignore[override]
              tag: int = 0) -> Request:
        """Start sending ``obj`` through the attached buffer."""
        return Request(MPI.Comm.ibsend(self, _pack(obj), dest, tag))

    def issend(self, obj: Any, dest: int,  # type: ignore[override]
              tag: int = 0) -> Request:
        """Start sending ``obj``; complete once it is matched."""
        return Request(MPI.Comm.issend(self, _pack(obj), dest, tag))

    def recv(self, buf: Any = None, source: int = ANY_SOURCE, tag: int = ANY_TAG,
             status: Optional[Status] = None) -> Any:
        """Receive an object (``buf`` is ignored)."""
        return _unpack(MPI.Comm.recv(self, None, source, tag, status))

    def irecv(self, buf: Any = None, source: int = ANY_SOURCE,  # type: ignore[override]
              tag: int = ANY_TAG) -> Request:
        """Not supported, as in mpi4py: use ``mprobe(...).irecv()``."""
        raise RuntimeError("unsupported")

    def sendrecv(self, sendobj: Any, dest: int, sendtag: int = 0, recvbuf: Any = None,
                 source: int = ANY_SOURCE, recvtag: int = ANY_TAG,
                 status: Optional[Status] = None) -> Any:
        """Send ``sendobj`` and receive an object."""
        request = self.isend(sendobj, dest, sendtag)
        try:
            return self.recv(None, source, recvtag, status)
        finally:
            request.wait()

    def mprobe(self, source: int = ANY_SOURCE, tag: int = ANY_TAG,  # type: ignore[override]
               status: Optional[Status] = None) -> Message:
        """Match a message (blocking)."""
        return Message.probe(self, source, tag, status)

    def improbe(self, source: int = ANY_SOURCE, tag: int = ANY_TAG,  # type: ignore[override]
                status: Optional[Status] = None) -> Optional[Message]:
        """Match a message if one is there; else None."""
        return Message.iprobe(self, source, tag, status)

    def _is_root(self, root: int) -> bool:
        if self.Is_inter():
            return root == ROOT
        return root == self.Get_rank()

    def bcast(self, obj: Any, root: int = 0) -> Any:
        """Broadcast ``obj`` from ``root``."""
        packed = _pack(obj) if self._is_root(root) else None
        return _unpack(super().bcast(packed, root))

    def gather(self, sendobj: Any, root: int = 0) -> Optional[List[Any]]:
        """The list of every rank's object at ``root``; None elsewhere."""
        got = super().gather(_pack(sendobj), root)
        return None if got is None else [_unpack(o) for o in got]

    def scatter(self, sendobj: Any, root: int = 0) -> Any:
        """Item i of ``root``'s sequence at rank i."""
        items = None
        if self._is_root(root) and sendobj is not None:
            items = [_pack(o) for o in sendobj]
        return _unpack(super().scatter(items, root))

    def allgather(self, sendobj: Any) -> List[Any]:
        """Every rank's object, everywhere."""
        return [_unpack(o) for o in super().allgather(_pack(sendobj))]

    def alltoall(self, sendobj: Any) -> List[Any]:
        """Item j of rank i's sequence goes to rank j."""
        items = None if sendobj is None else [_pack(o) for o in sendobj]
        return [_unpack(o) for o in super().alltoall(items)]


class Intracomm(Comm, MPI.Intracomm):
    """An intra-communicator with pkl5 object messages."""


class Intercomm(Comm, MPI.Intercomm):
    """An inter-communicator with pkl5 object messages (its collectives are
    ``MPI.Intercomm``'s, between the two groups)."""
