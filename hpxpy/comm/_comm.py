"""Communicators and groups with mpi4py's API, over hpxpy's runtime.

Each communicator owns message contexts on the matching engine: one for point to point,
one for collectives (synchronous sends are acknowledged by the engine itself, at match
time, on a context of its own). Collectives run on the C++ core's
algorithms (trees, recursive doubling) over the communicator's group; the operations that
have no C++ algorithm of their own are composed from them in O(log N) rounds, except
the all-to-all exchanges, which are pairwise.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import os
import pickle
import struct
import sys
import threading
import warnings
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from .. import _core as _core_module
from .. import _runtime
from .._status import failure_status
from . import _constants as C
from . import _datatypes as D
from . import _ops as O
from . import _pickle
from ._buffers import (
    message_array,
    message_region,
    receive_array,
    receive_vector,
    vector_array,
    vector_w_regions,
)
from ._errors import Exception as MPIException
from ._info import Info
from ._request import (
    MESSAGE_NO_PROC,
    Message,
    Prequest,
    Request,
    Status,
    fill_status,
)

# Item labels for the C++ collectives: raw bytes (buffers), pickled objects.
_RAW = 254
_OBJ = 255
# What the core raises when a member of a collective reported a failure (_status).
_FAILURES = (ValueError, TypeError, AttributeError, pickle.PicklingError)
# C++ all_reduce dtype codes
_CORE_DTYPES = {np.dtype("f8"): 0, np.dtype("f4"): 1, np.dtype("i8"): 2, np.dtype("i4"): 3}

# Point-to-point messages start with this 16-byte header: kind, then reserved space.
_HEADER = struct.Struct("<IIq")
_HEADER_PAD = bytes(16 - _HEADER.size)
_KIND_OBJ, _KIND_BUF = 1, 2

_WORLD_CONTEXT = 4
_SELF_CONTEXT = 8
_CONTEXT_STRIDE = 4  # p2p, collectives, two spare


_started = threading.local()  # .seq: sequence number taken by a non-blocking collective


class _Contexts:
    """This process's next free context; new communicators agree on the maximum."""

    lock = threading.Lock()
    next = 12


def _core():
    return _runtime.core()


def _nothing() -> None:
    """A commit with nothing to write back."""


def _header(kind: int) -> bytes:
    return _HEADER.pack(kind, 0, 0) + _HEADER_PAD


def _collective_error(exc: BaseException) -> Tuple[int, str]:
    return failure_status(exc)


def _raise_own(local: Optional[BaseException]) -> None:
    """In a collective that failed: the failing rank re-raises its own exception (with its
    traceback); the others keep the one the core raised."""
    if local is not None:
        raise local.with_traceback(local.__traceback__) from None


class Group:
    """An ordered set of processes (world ranks)."""

    __slots__ = ("_ranks", "_freed", "_id", "_name")

    def __init__(self, group: Any = None) -> None:
        """``Group()`` is a null group, ``Group(group)`` a new reference to ``group``'s
        handle (internally, ``Group(list_of_world_ranks)`` builds a group)."""
        self._name = ""
        if isinstance(group, Group):
            self._ranks, self._freed, self._id = group._ranks, group._freed, group._id
        elif group is None:
            self._ranks, self._freed, self._id = [], True, None
        else:
            self._ranks, self._freed, self._id = [int(r) for r in group], False, object()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Group):
            return NotImplemented
        if self._freed or other._freed:
            return self._freed and other._freed
        return self._id is other._id or (not self._ranks and not other._ranks)

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return 0 if self._freed or not self._ranks else id(self._id)

    def __bool__(self) -> bool:
        return not self._freed

    def __reduce__(self) -> Any:
        if self._name:
            return self._name
        if self._freed or (not self._ranks):
            return (Group, (GROUP_NULL if self._freed else GROUP_EMPTY,))
        raise ValueError(f"cannot serialize '{_api_name(self)}' instance")

    def _check(self) -> None:
        if self._freed:
            raise MPIException(C.ERR_GROUP, "the group is MPI.GROUP_NULL")

    def Get_size(self) -> int:
        self._check()
        return len(self._ranks)

    def Get_rank(self) -> int:
        self._check()
        me = _runtime.locality_id()
        return self._ranks.index(me) if me in self._ranks else C.UNDEFINED

    size = property(Get_size)
    rank = property(Get_rank)

    def _valid(self, ranks: Sequence[int]) -> List[int]:
        out = []
        for r in ranks:
            if not 0 <= r < len(self._ranks):
                raise MPIException(C.ERR_RANK, f"rank {r} is not in a group of {len(self._ranks)}")
            out.append(int(r))
        if len(set(out)) != len(out):
            raise MPIException(C.ERR_RANK, "ranks must be distinct")
        return out

    def Incl(self, ranks: Sequence[int]) -> Group:
        self._check()
        return Group([self._ranks[r] for r in self._valid(ranks)])

    def Excl(self, ranks: Sequence[int]) -> Group:
        self._check()
        drop = set(self._valid(ranks))
        return Group([w for i, w in enumerate(self._ranks) if i not in drop])

    def Range_incl(self, ranges: Sequence[Tuple[int, int, int]]) -> Group:
        picked = []
        for first, last, stride in ranges:
            picked.extend(range(first, last + (1 if stride > 0 else -1), stride))
        return self.Incl(picked)

    def Range_excl(self, ranges: Sequence[Tuple[int, int, int]]) -> Group:
        picked = []
        for first, last, stride in ranges:
            picked.extend(range(first, last + (1 if stride > 0 else -1), stride))
        return self.Excl(picked)

    def Translate_ranks(self, ranks: Optional[Sequence[int]] = None,
                        group: Optional[Group] = None) -> List[int]:
        self._check()
        if ranks is None:
            ranks = range(len(self._ranks))
        out = []
        for r in ranks:
            if r == C.PROC_NULL:
                out.append(C.PROC_NULL)
                continue
            world = self._ranks[self._valid([r])[0]]
            if group is None:
                out.append(world)
            else:
                out.append(group._ranks.index(world) if world in group._ranks else C.UNDEFINED)
        return out

    def Compare(self, group: Group) -> int:
        self._check()
        group._check()
        if self._ranks == group._ranks:
            return C.IDENT
        if sorted(self._ranks) == sorted(group._ranks):
            return C.SIMILAR
        return C.UNEQUAL

    @classmethod
    def Union(cls, group1: Group, group2: Group) -> Group:
        return Group(group1._ranks + [r for r in group2._ranks if r not in group1._ranks])

    @classmethod
    def Intersection(cls, group1: Group, group2: Group) -> Group:
        return Group([r for r in group1._ranks if r in group2._ranks])

    @classmethod
    def Difference(cls, group1: Group, group2: Group) -> Group:
        return Group([r for r in group1._ranks if r not in group2._ranks])

    def Dup(self) -> Group:
        self._check()
        return Group(self._ranks)

    def Free(self) -> None:
        self._check()
        self._freed = True

    def free(self) -> None:
        self._freed = True


GROUP_NULL = Group(None)
GROUP_NULL._name = "GROUP_NULL"
GROUP_EMPTY = Group([])
GROUP_EMPTY._name = "GROUP_EMPTY"


def _api_name(obj: Any) -> str:
    """The qualified type name mpi4py would show for ``obj`` (e.g. ``mpi4py.MPI.Group``)."""
    return f"{_API_MODULE}.{type(obj).__name__}"


_API_MODULE = "mpi4py.MPI"


_table_guard = threading.Lock()


def _comm_lock_table(comm: Any) -> dict:
    """The per-communicator table of locks that serialize concurrent calls of a
    lower-case (pickle-based) collective from several threads, keyed by its name."""
    table = getattr(comm, "_locks", None)
    if table is None:
        with _table_guard:
            table = getattr(comm, "_locks", None)
            if table is None:
                table = comm._locks = {}
    return table


def _comm_lock(comm: Any, key: str) -> Any:
    table = _comm_lock_table(comm)
    with _table_guard:
        lock = table.get(key)
        if lock is None:
            lock = table[key] = threading.Lock()
    return lock


def _locked(key: str) -> Callable[[Callable], Callable]:
    def wrap(method: Callable) -> Callable:
        def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            with _comm_lock(self, key):
                return method(self, *args, **kwargs)

        run.__name__, run.__qualname__, run.__doc__ = (method.__name__, method.__qualname__,
                                                      method.__doc__)
        return run

    return wrap


class Comm:
    """A communicator: a group of localities with private message contexts."""

    def __init__(self, members: Any = None, context: int = -1,
                 name: str = "") -> None:
        """``Comm()`` is a null communicator and ``Comm(comm)`` a new reference to
        ``comm``'s handle (internally: world ranks of the members, context and name)."""
        self._handle_name = ""
        if isinstance(members, Comm):
            self.__dict__.update({k: v for k, v in members.__dict__.items()
                                  if k != "_handle_name"})
            return
        if members is not None and context == -1:
            raise TypeError(f"expecting a communicator, got {type(members).__name__}")
        self._info: Any = None
        self._members = members  # world rank of each rank; None: MPI.COMM_NULL
        self._context = context
        self._name = name
        self._seq = itertools.count()
        if members is not None:
            me = _runtime.locality_id()
            self._rank = members.index(me) if me in members else C.UNDEFINED
            self._index = {w: i for i, w in enumerate(members)}
            self._group = _core_module.Group(context + 1, self._rank, members, len(members))
        else:
            self._rank = C.UNDEFINED
            self._index = {}
            self._group = None

    # -- identity ----------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Comm):
            return NotImplemented
        if self._members is None or other._members is None:
            return self._members is None and other._members is None
        return self is other or (self._context == other._context
                                 and self._group is other._group)  # same handle

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return hash(self._context)

    def __bool__(self) -> bool:
        return self._members is not None

    def __repr__(self) -> str:
        return f"<MPI.{type(self).__name__} {self._name or self._context}>"

    def __reduce__(self) -> Any:
        if self._handle_name:
            return self._handle_name
        if self._members is None:
            return (type(self), (COMM_NULL,))
        if self._context in (_WORLD_CONTEXT, _SELF_CONTEXT):  # a reference to a predefined one
            return (type(self), (COMM_WORLD if self._context == _WORLD_CONTEXT else COMM_SELF,))
        raise ValueError(f"cannot serialize '{_api_name(self)}' instance")

    def Attach_buffer(self, buf: Any) -> None:
        """Attach a buffer for buffered sends on this communicator."""
        from ._memory import buffer

        self._check()
        self._bsend_buffer = buf if buf is C.BUFFER_AUTOMATIC else buffer(buf)

    def Detach_buffer(self) -> Any:
        """Detach this communicator's buffered-send buffer and return it."""
        from ._memory import buffer

        self._check()
        buf = self.__dict__.pop("_bsend_buffer", None)
        if buf is C.BUFFER_AUTOMATIC:
            return buf
        return buffer(buf) if buf is not None else buffer()

    def Flush_buffer(self) -> None:
        """Buffered sends are already handed to the runtime: nothing to wait for."""
        self._check()

    def Iflush_buffer(self) -> Request:
        self._check()
        return Request(finish=lambda st: None)

    def _check(self) -> List[int]:
        if self._members is None:
            raise MPIException(C.ERR_COMM, "the communicator is MPI.COMM_NULL")
        return self._members

    # -- basic queries -------------------------------------------------------------------------
    def Get_rank(self) -> int:
        """This process's rank in the communicator."""
        self._check()
        return self._rank

    def Get_size(self) -> int:
        """Number of processes in the communicator."""
        return len(self._check())

    rank = property(Get_rank)
    size = property(Get_size)

    def Get_name(self) -> str:
        if self._members is None and self is COMM_NULL:
            return "MPI_COMM_NULL"
        self._check()
        return self._name

    def Set_name(self, name: str) -> None:
        self._check()
        self._name = name

    name = property(Get_name, Set_name)

    def Get_group(self) -> Group:
        """The communicator's group."""
        return Group(self._check())

    group = property(Get_group)

    def Is_inter(self) -> bool:
        self._check()
        return False

    def Is_intra(self) -> bool:
        self._check()
        return True

    is_inter = property(Is_inter)
    is_intra = property(Is_intra)
    is_topo = property(lambda self: False)
    topology = property(lambda self: self.Get_topology())

    def Get_topology(self) -> int:
        self._check()
        return C.UNDEFINED

    @classmethod
    def Get_parent(cls) -> Intercomm:
        """The parent of a spawned process: null here (hpxpy does not spawn)."""
        return Intercomm()

    def Compare(self, comm: Comm) -> int:
        """IDENT, CONGRUENT (same members and order), SIMILAR or UNEQUAL."""
        mine, theirs = self._check(), comm._check()
        if self is comm:
            return C.IDENT
        if mine == theirs:
            return C.CONGRUENT
        if sorted(mine) == sorted(theirs):
            return C.SIMILAR
        return C.UNEQUAL

    # -- validation ----------------------------------------------------------------------------
    def _world(self, rank: int) -> int:
        return self._check()[rank]

    def _check_dest(self, dest: int) -> None:
        size = len(self._check())
        if dest != C.PROC_NULL and not (isinstance(dest, (int, np.integer)) and 0 <= dest < size):
            raise MPIException(C.ERR_RANK, f"invalid rank {dest}; expected 0 <= rank < {size} "
                                           "or MPI.PROC_NULL")

    def _check_source(self, source: int) -> None:
        size = len(self._check())
        if source not in (C.ANY_SOURCE, C.PROC_NULL) and not (
                isinstance(source, (int, np.integer)) and 0 <= source < size):
            raise MPIException(C.ERR_RANK, f"invalid source {source}; expected 0 <= rank < "
                                           f"{size}, MPI.ANY_SOURCE or MPI.PROC_NULL")

    @staticmethod
    def _check_send_tag(tag: int) -> None:
        if not 0 <= tag <= C.TAG_MAX:
            raise MPIException(C.ERR_TAG, f"invalid tag {tag}; expected 0 <= tag <= {C.TAG_MAX}")

    @staticmethod
    def _check_recv_tag(tag: int) -> None:
        if tag != C.ANY_TAG and not 0 <= tag <= C.TAG_MAX:
            raise MPIException(C.ERR_TAG, f"invalid tag {tag}; expected 0 <= tag <= "
                                          f"{C.TAG_MAX} or MPI.ANY_TAG")

    def _check_root(self, root: int) -> int:
        size = len(self._check())
        if not (isinstance(root, (int, np.integer)) and 0 <= root < size):
            raise MPIException(C.ERR_ROOT, f"invalid root {root}; expected 0 <= root < {size}")
        return int(root)

    # -- point to point: sending ---------------------------------------------------------------
    def _post(self, dest: int, tag: int, kind: int, segments: List[Any],
              sync: bool = False) -> Optional[Any]:
        """Send; for a synchronous send, returns the receive of its acknowledgement."""
        parts = [_header(kind), *segments]
        if sync:
            return _core().send_sync(self._world(dest), self._context, tag, parts)
        _core().send(self._world(dest), self._context, tag, parts)
        return None

    def _send_obj(self, obj: Any, dest: int, tag: int, sync: bool) -> Optional[Any]:
        self._check_dest(dest)
        self._check_send_tag(tag)
        if dest == C.PROC_NULL:
            return None
        return self._post(dest, tag, _KIND_OBJ, _pickle.dumps(obj), sync)

    def _send_buf(self, buf: Any, dest: int, tag: int, sync: bool) -> Optional[Any]:
        self._check_dest(dest)
        self._check_send_tag(tag)
        if dest == C.PROC_NULL:  # as mpi4py: the message is not even looked at
            return None
        arr, _ = message_array(buf)
        return self._post(dest, tag, _KIND_BUF, [arr], sync)

    def send(self, obj: Any, dest: int, tag: int = 0) -> None:
        """Send a Python object."""
        self._send_obj(obj, dest, tag, False)

    def ssend(self, obj: Any, dest: int, tag: int = 0) -> None:
        """Send a Python object; returns once the receiver has matched it."""
        ack = self._send_obj(obj, dest, tag, True)
        if ack is not None:
            _core().wait(ack)

    bsend = send

    def isend(self, obj: Any, dest: int, tag: int = 0) -> Request:
        """Start sending a Python object (complete at once: messages are buffered)."""
        self._send_obj(obj, dest, tag, False)
        return Request(complete=False, result=None, finish=lambda st: None)

    ibsend = isend

    def issend(self, obj: Any, dest: int, tag: int = 0) -> Request:
        """Start a synchronous send: completes once the receiver has matched it."""
        ack = self._send_obj(obj, dest, tag, True)
        if ack is None:
            return Request(finish=lambda st: None)
        return Request(core_request=ack, finish=lambda st: None)

    def Send(self, buf: Any, dest: int, tag: int = 0) -> None:
        """Send a buffer."""
        self._send_buf(buf, dest, tag, False)

    Bsend = Send
    Rsend = Send

    def Ssend(self, buf: Any, dest: int, tag: int = 0) -> None:
        """Send a buffer; returns once the receiver has matched it."""
        ack = self._send_buf(buf, dest, tag, True)
        if ack is not None:
            _core().wait(ack)

    def Isend(self, buf: Any, dest: int, tag: int = 0) -> Request:
        """Start sending a buffer."""
        self._send_buf(buf, dest, tag, False)
        return Request(finish=lambda st: None)

    Ibsend = Isend
    Irsend = Isend

    def Issend(self, buf: Any, dest: int, tag: int = 0) -> Request:
        ack = self._send_buf(buf, dest, tag, True)
        if ack is None:
            return Request(finish=lambda st: None)
        return Request(core_request=ack, finish=lambda st: None)

    # -- point to point: receiving -------------------------------------------------------------
    def _unpacker(self, source_world: int, tag: int, payload: Any) -> Callable:
        """A function (buf, status) -> object that consumes one received message."""

        def unpack(buf: Any, status: Optional[Status]) -> Any:
            kind, _, _ = _HEADER.unpack_from(payload, 0)
            source = self._index.get(source_world, source_world)
            nbytes = len(payload) - 16
            if buf is None:  # lower-case receive: an object
                fill_status(status, source, tag, nbytes)
                if kind == _KIND_OBJ:
                    return _pickle.loads(payload, 16)
                if nbytes == 0:  # as mpi4py: an empty message is None
                    return None
                return pickle.loads(memoryview(payload)[16:])  # raw bytes, as mpi4py
            arr, _, commit = receive_array(buf)
            data = np.frombuffer(payload, dtype=np.uint8, offset=16)
            room = arr.nbytes
            if nbytes > room:
                fill_status(status, source, tag, room)
                raise MPIException(C.ERR_TRUNCATE, f"message of {nbytes} bytes truncated to a "
                                                   f"buffer of {room} bytes")
            arr.view(np.uint8)[:nbytes] = data if arr.nbytes else data[:0]
            commit()
            fill_status(status, source, tag, nbytes)
            return None

        return unpack

    def _source_world(self, source: int) -> int:
        return _core_module.ANY_SOURCE if source == C.ANY_SOURCE else self._world(source)

    def _receive(self, buf: Any, source: int, tag: int, status: Optional[Status]) -> Any:
        self._check_source(source)
        self._check_recv_tag(tag)
        if source == C.PROC_NULL:
            fill_status(status, C.PROC_NULL, C.ANY_TAG, 0)
            return None
        src, got_tag, payload = _core().receive(self._context, self._source_world(source),
                                               _core_tag(tag))
        return self._unpacker(src, got_tag, payload)(buf, status)

    def recv(self, buf: Any = None, source: int = C.ANY_SOURCE, tag: int = C.ANY_TAG,
             status: Optional[Status] = None) -> Any:
        """Receive a Python object."""
        if buf is not None:
            warnings.warn("the 'buf' argument is deprecated", UserWarning, stacklevel=2)
        return self._receive(None, source, tag, status)

    def Recv(self, buf: Any, source: int = C.ANY_SOURCE, tag: int = C.ANY_TAG,
             status: Optional[Status] = None) -> None:
        """Receive into a buffer."""
        if source != C.PROC_NULL:
            message_region(buf, writable=True)
        self._receive(buf, source, tag, status)

    def _irecv(self, buf: Any, source: int, tag: int) -> Request:
        self._check_source(source)
        self._check_recv_tag(tag)
        if source == C.PROC_NULL:
            def nothing(st: Optional[Status]) -> None:
                fill_status(st, C.PROC_NULL, C.ANY_TAG, 0)
            return Request(finish=nothing)
        req = _core().post_receive(self._context, self._source_world(source), _core_tag(tag))

        def finish(st: Optional[Status]) -> Any:
            return self._unpacker(req.source, req.tag, req.payload)(buf, st)

        return Request(core_request=req, finish=finish, cancellable=True)

    def irecv(self, buf: Any = None, source: int = C.ANY_SOURCE,
              tag: int = C.ANY_TAG) -> Request:
        """Start receiving a Python object; ``wait()`` returns it."""
        return self._irecv(None, source, tag)

    def Irecv(self, buf: Any, source: int = C.ANY_SOURCE, tag: int = C.ANY_TAG) -> Request:
        """Start receiving into a buffer."""
        if source != C.PROC_NULL:
            message_region(buf, writable=True)
        return self._irecv(buf, source, tag)

    def sendrecv(self, sendobj: Any, dest: int, sendtag: int = 0, recvbuf: Any = None,
                 source: int = C.ANY_SOURCE, recvtag: int = C.ANY_TAG,
                 status: Optional[Status] = None) -> Any:
        """Send an object and receive one."""
        if recvbuf is not None:
            warnings.warn("the 'buf' argument is deprecated", UserWarning, stacklevel=2)
        self._check_dest(dest)
        self._check_send_tag(sendtag)
        req = self._irecv(None, source, recvtag)
        self.send(sendobj, dest, sendtag)
        return req.wait(status)

    def Sendrecv(self, sendbuf: Any, dest: int, sendtag: int = 0, recvbuf: Any = None,
                 source: int = C.ANY_SOURCE, recvtag: int = C.ANY_TAG,
                 status: Optional[Status] = None) -> None:
        """Send a buffer and receive into another."""
        self.Isendrecv(sendbuf, dest, sendtag, recvbuf, source, recvtag).Wait(status)

    def _check_pair(self, dest: int, sendtag: int, source: int, recvtag: int) -> None:
        self._check_dest(dest)
        self._check_send_tag(sendtag)
        self._check_source(source)
        self._check_recv_tag(recvtag)

    def Isendrecv(self, sendbuf: Any, dest: int, sendtag: int = 0, recvbuf: Any = None,
                  source: int = C.ANY_SOURCE, recvtag: int = C.ANY_TAG) -> Request:
        """Start sending a buffer and receiving into another; the request completes when
        the message has arrived (sends are buffered)."""
        self._check_pair(dest, sendtag, source, recvtag)
        # Both messages are checked before anything moves: an error leaves nothing behind.
        if dest != C.PROC_NULL:
            message_region(sendbuf)
        if source != C.PROC_NULL:
            message_region(recvbuf, writable=True)
        req = self._irecv(recvbuf, source, recvtag)
        self.Send(sendbuf, dest, sendtag)
        return req

    def Isendrecv_replace(self, buf: Any, dest: int, sendtag: int = 0,
                          source: int = C.ANY_SOURCE, recvtag: int = C.ANY_TAG) -> Request:
        """Start sending the buffer's contents and replacing them with the message received."""
        self._check_pair(dest, sendtag, source, recvtag)
        outgoing = None
        if dest != C.PROC_NULL:
            arr, _ = message_array(buf, writable=source != C.PROC_NULL)
            outgoing = arr.copy().view(np.uint8)  # the receive may overwrite it at once
        elif source != C.PROC_NULL:
            message_region(buf, writable=True)
        req = self._irecv(buf, source, recvtag)
        if outgoing is not None:
            self.Send(outgoing, dest, sendtag)
        return req

    # -- persistent requests: checked once, started any number of times ---------------------
    def Send_init(self, buf: Any, dest: int, tag: int = 0) -> Prequest:
        """A persistent send: ``Start()`` sends the buffer's current contents."""
        self._check_dest(dest)
        self._check_send_tag(tag)
        return Prequest(starter=lambda: self.Isend(buf, dest, tag))

    Bsend_init = Send_init
    Rsend_init = Send_init

    def Ssend_init(self, buf: Any, dest: int, tag: int = 0) -> Prequest:
        """A persistent synchronous send."""
        self._check_dest(dest)
        self._check_send_tag(tag)
        return Prequest(starter=lambda: self.Issend(buf, dest, tag))

    def Recv_init(self, buf: Any, source: int = C.ANY_SOURCE,
                  tag: int = C.ANY_TAG) -> Prequest:
        """A persistent receive into ``buf``."""
        self._check_source(source)
        self._check_recv_tag(tag)
        return Prequest(starter=lambda: self.Irecv(buf, source, tag))

    def Sendrecv_replace(self, buf: Any, dest: int, sendtag: int = 0,
                         source: int = C.ANY_SOURCE, recvtag: int = C.ANY_TAG,
                         status: Optional[Status] = None) -> None:
        """Send the buffer's contents and replace them with the message received."""
        self.Isendrecv_replace(buf, dest, sendtag, source, recvtag).Wait(status)

    # -- probing ---------------------------------------------------------------------------------
    def _matching(self, source: int, tag: int, block: bool) -> Optional[Tuple[int, int, int]]:
        """(world source, tag, size) of the oldest matching message without receiving it;
        None if there is none yet (non-blocking); (PROC_NULL, ANY_TAG, 16) for PROC_NULL."""
        self._check_source(source)
        self._check_recv_tag(tag)
        if source == C.PROC_NULL:
            return C.PROC_NULL, C.ANY_TAG, 16
        args = (self._context, self._source_world(source), _core_tag(tag))
        return _core().probe(*args) if block else _core().iprobe(*args)

    def _probe(self, source: int, tag: int, status: Optional[Status], block: bool) -> bool:
        info = self._matching(source, tag, block)
        if info is None:
            return False
        src, got_tag, size = info
        fill_status(status, self._index.get(src, src), got_tag, size - 16)
        return True

    def probe(self, source: int = C.ANY_SOURCE, tag: int = C.ANY_TAG,
              status: Optional[Status] = None) -> bool:
        """Wait until a matching message is available (without receiving it)."""
        return self._probe(source, tag, status, True)

    def iprobe(self, source: int = C.ANY_SOURCE, tag: int = C.ANY_TAG,
               status: Optional[Status] = None) -> bool:
        """True if a matching message is available."""
        return self._probe(source, tag, status, False)

    Probe = probe
    Iprobe = iprobe

    def _mprobe(self, source: int, tag: int, status: Optional[Status],
                block: bool) -> Optional[Message]:
        info = self._matching(source, tag, block)
        if info is None:
            return None
        src, got_tag, size = info
        fill_status(status, self._index.get(src, src), got_tag, size - 16)
        if src == C.PROC_NULL:
            return MESSAGE_NO_PROC
        _, _, payload = _core().receive(self._context, src, got_tag)
        return Message(self._index.get(src, src), got_tag, payload,
                       self._unpacker(src, got_tag, payload))

    def mprobe(self, source: int = C.ANY_SOURCE, tag: int = C.ANY_TAG,
               status: Optional[Status] = None) -> Message:
        """Match a message (to receive later with ``Message.recv``)."""
        return self._mprobe(source, tag, status, True)  # type: ignore[return-value]

    def improbe(self, source: int = C.ANY_SOURCE, tag: int = C.ANY_TAG,
                status: Optional[Status] = None) -> Optional[Message]:
        return self._mprobe(source, tag, status, False)

    Mprobe = mprobe
    Improbe = improbe

    # -- collectives: plumbing ---------------------------------------------------------------
    def _next(self) -> int:
        """The collective's sequence number: the same on every rank by program order. A
        non-blocking collective takes its number when started (in the caller's thread)."""
        self._check()
        preassigned = getattr(_started, "seq", None)
        if preassigned is not None:
            _started.seq = None
            return preassigned
        return next(self._seq)

    @staticmethod
    def _tag(seq: int, step: int = 0) -> int:
        return (seq * 8 + step) & 0x7FFFFFFF

    # object items on the C++ collectives
    def _obj_bcast(self, seq: int, obj: Any, root: int, step: int = 0,
                   failure: Optional[BaseException] = None) -> Any:
        segs, status, text, local = None, 0, "", None
        if failure is not None:
            status, text = _collective_error(failure)
        elif self._rank == root:
            try:
                segs = _pickle.dumps(obj)
            except Exception as exc:  # noqa: BLE001 - raised on every rank below
                status, text = _collective_error(exc)
                local = exc
        try:
            item = _core().broadcast(self._group, segs, _OBJ, root, self._tag(seq, step),
                                     status, text)
        except _FAILURES:
            _raise_own(local)
            raise
        if item is None:
            return _pickle.loads(b"".join(segs))  # the root gets a copy, as with mpi4py
        return _pickle.loads(item[2], item[3], item[4])

    def _obj_gather(self, seq: int, obj: Any, root: int, step: int = 0) -> Optional[list]:
        segs, status, text, local = None, 0, "", None
        try:
            segs = _pickle.dumps(obj)
        except Exception as exc:  # noqa: BLE001
            status, text = _collective_error(exc)
            local = exc
        try:
            items = _core().gather(self._group, segs, _OBJ, root, self._tag(seq, step),
                                   status, text)
        except _FAILURES:
            _raise_own(local)
            raise
        if items is None:
            return None
        return [_pickle.loads(b"".join(segs)) if it is None else
                _pickle.loads(it[2], it[3], it[4]) for it in items]

    def _obj_scatter(self, seq: int, sendobj: Any, root: int, step: int = 0) -> Any:
        values, codes, status, text, local = [], [], 0, "", None
        size = self.Get_size()
        if self._rank == root:
            try:
                if sendobj is None:
                    raise TypeError("scatter: the root must pass a sequence, got None")
                items = list(sendobj)
                if len(items) != size:
                    raise ValueError(f"expecting {size} items, got {len(items)}")
                values = [_pickle.dumps(x) for x in items]
                codes = [_OBJ] * size
            except Exception as exc:  # noqa: BLE001
                values, codes = [], []
                status, text = _collective_error(exc)
                local = exc
        try:
            item = _core().scatter(self._group, values, codes, root, self._tag(seq, step),
                                   status, text)
        except _FAILURES:
            _raise_own(local)
            raise
        if item is None:
            return _pickle.loads(b"".join(values[root]))
        return _pickle.loads(item[2], item[3], item[4])

    # -- collectives: objects -----------------------------------------------------------------
    def barrier(self) -> None:
        """Wait until every rank has called it."""
        seq = self._next()
        _core().barrier(self._group, "", self._tag(seq))

    def Barrier(self) -> None:
        self.barrier()

    @_locked("bcast")
    def bcast(self, obj: Any, root: int = 0) -> Any:
        """The root's object, on every rank."""
        root = self._check_root(root)
        return self._obj_bcast(self._next(), obj, root)

    @_locked("gather")
    def gather(self, sendobj: Any, root: int = 0) -> Optional[list]:
        """Every rank's object, as a list on the root (None elsewhere)."""
        root = self._check_root(root)
        return self._obj_gather(self._next(), sendobj, root)

    @_locked("scatter")
    def scatter(self, sendobj: Any, root: int = 0) -> Any:
        """Element ``rank`` of the root's sequence, on each rank."""
        root = self._check_root(root)
        return self._obj_scatter(self._next(), sendobj, root)

    @_locked("allgather")
    def allgather(self, sendobj: Any) -> list:
        """Every rank's object, as a list on every rank."""
        seq = self._next()
        return self._obj_bcast(seq, self._obj_gather(seq, sendobj, 0), 0, step=1)

    @_locked("alltoall")
    def alltoall(self, sendobj: Any) -> list:
        """Item ``j`` of rank ``i``'s sequence goes to rank ``j``; returns what came in."""
        seq = self._next()
        size = self.Get_size()
        items = list(sendobj) if sendobj is not None else []
        if len(items) != size:
            raise ValueError(f"expecting {size} items, got {len(items)}")
        return self._exchange(seq, [_pickle.dumps(x) for x in items],
                              lambda payload: _pickle.loads(payload, 0), items)

    def _exchange(self, seq: int, outgoing: List[List[Any]], decode: Callable,
                  own: List[Any]) -> list:
        """Pairwise all-to-all on the collective context: N-1 rounds."""
        size, rank = self.Get_size(), self._rank
        tag = self._tag(seq)
        result: List[Any] = [None] * size
        result[rank] = decode(b"".join(outgoing[rank]))
        for shift in range(1, size):
            dest, src = (rank + shift) % size, (rank - shift) % size
            req = _core().post_receive(self._context + 1, self._world(src), tag)
            _core().send(self._world(dest), self._context + 1, tag, outgoing[dest])
            _core().wait(req)
            result[src] = decode(req.payload)
        return result

    def _fold(self, values: Sequence[Any], op: O.Op) -> Any:
        acc = values[0]
        for v in values[1:]:
            acc = op(acc, v)
        return acc

    @_locked("reduce")
    def reduce(self, sendobj: Any, op: O.Op = O.SUM, root: int = 0) -> Any:
        """The reduction (in rank order) of every rank's object, on the root."""
        root = self._check_root(root)
        values = self._obj_gather(self._next(), sendobj, root)
        return None if values is None else self._fold(values, op)

    @_locked("allreduce")
    def allreduce(self, sendobj: Any, op: O.Op = O.SUM) -> Any:
        """The reduction of every rank's object, on every rank."""
        seq = self._next()
        values = self._obj_gather(seq, sendobj, 0)
        result, failure = None, None
        if values is not None:
            try:
                result = self._fold(values, op)
            except Exception as exc:  # noqa: BLE001 - raised on every rank, not just here
                failure = exc
        return self._obj_bcast(seq, result, 0, step=1, failure=failure)

    @_locked("scan")
    def scan(self, sendobj: Any, op: O.Op = O.SUM) -> Any:
        """Inclusive prefix reduction: rank i gets x0 op ... op xi."""
        seq = self._next()
        values = self._obj_gather(seq, sendobj, 0)
        prefixes = None
        if values is not None:
            prefixes, acc = [], None
            for i, v in enumerate(values):
                acc = v if i == 0 else op(acc, v)
                prefixes.append(acc)
        return self._obj_scatter(seq, prefixes, 0, step=1)

    @_locked("exscan")
    def exscan(self, sendobj: Any, op: O.Op = O.SUM) -> Any:
        """Exclusive prefix reduction: rank i gets x0 op ... op x(i-1); rank 0 gets None."""
        seq = self._next()
        values = self._obj_gather(seq, sendobj, 0)
        prefixes = None
        if values is not None:
            prefixes, acc = [None], None
            for i, v in enumerate(values[:-1]):
                acc = v if i == 0 else op(acc, v)
                prefixes.append(acc)
        return self._obj_scatter(seq, prefixes, 0, step=1)

    # -- collectives: buffers -----------------------------------------------------------------
    def _raw_bcast(self, seq: int, arr: Optional[np.ndarray], root: int, step: int = 0,
                   failure: Tuple[int, str] = (0, "")) -> Optional[np.ndarray]:
        """Bytes of the root's array on every rank (None on the root itself)."""
        item = _core().broadcast(self._group, [arr] if arr is not None else None, _RAW, root,
                                 self._tag(seq, step), *failure)
        if item is None:
            return None
        return np.frombuffer(item[2], dtype=np.uint8, count=item[4], offset=item[3])

    def Bcast(self, buf: Any, root: int = 0) -> None:
        """Broadcast the root's buffer into every rank's buffer."""
        root = self._check_root(root)
        if self._rank == root:
            try:
                arr, _ = message_array(buf)
            except (ValueError, TypeError, KeyError, BufferError) as exc:
                # raised on every rank: the others would wait for the root forever
                with contextlib.suppress(ValueError, TypeError):
                    self._raw_bcast(self._next(), None, root, failure=_collective_error(exc))
                raise
            self._bcast_into(self._next(), arr, root)
            return
        arr, _, commit = receive_array(buf)
        self._bcast_into(self._next(), arr, root)
        commit()

    def _bcast_into(self, seq: int, arr: np.ndarray, root: int, step: int = 0) -> None:
        got = self._raw_bcast(seq, arr if self._rank == root else None, root, step)
        if got is not None:
            if got.size > arr.nbytes:
                raise MPIException(C.ERR_TRUNCATE, f"message of {got.size} bytes truncated to "
                                                   f"a buffer of {arr.nbytes} bytes")
            arr.view(np.uint8)[: got.size] = got

    def _gather_arrays(self, seq: int, arr: np.ndarray, root: int,
                       step: int = 0) -> Optional[List[np.ndarray]]:
        items = _core().gather(self._group, [arr], _RAW, root, self._tag(seq, step), 0, "")
        if items is None:
            return None
        return [arr.view(np.uint8).reshape(-1) if it is None else
                np.frombuffer(it[2], dtype=np.uint8, count=it[4], offset=it[3])
                for it in items]

    def _send_side(self, sendbuf: Any, own_block: Callable[[], np.ndarray]
                   ) -> np.ndarray:
        if sendbuf is C.IN_PLACE or sendbuf is None:
            return own_block()
        arr, _ = message_array(sendbuf)
        return arr

    def Gather(self, sendbuf: Any, recvbuf: Any, root: int = 0) -> None:
        """Gather equal blocks to the root's buffer, in rank order."""
        self._gather(sendbuf, recvbuf, root, equal=True)

    def Gatherv(self, sendbuf: Any, recvbuf: Any, root: int = 0) -> None:
        """Gather blocks of per-rank counts and displacements to the root's buffer."""
        self._gather(sendbuf, recvbuf, root, equal=False)

    def _gather(self, sendbuf: Any, recvbuf: Any, root: int, equal: bool) -> None:
        root = self._check_root(root)
        size = self.Get_size()
        rflat = counts = displs = commit = None
        if self._rank == root:
            rflat, counts, displs, rdt, commit = receive_vector(recvbuf, size, equal)
        else:
            rdt = None

        def own() -> np.ndarray:
            per = rdt.base_count
            return rflat[displs[root] * per:(displs[root] + counts[root]) * per]

        send = self._send_side(sendbuf, own)
        if self._rank == root and send.size and counts[root] * rdt.base_count != send.size and (
                sendbuf is not C.IN_PLACE):
            raise ValueError(f"mismatch in send count {send.size} and receive count "
                             f"{counts[root] * rdt.base_count}")
        self._gather_into(self._next(), send, root, rflat, counts, displs, rdt)
        if commit is not None:
            commit()

    def _gather_into(self, seq: int, send: np.ndarray, root: int, rflat: Any, counts: Any,
                     displs: Any, rdt: Any, step: int = 0) -> None:
        blocks = self._gather_arrays(seq, np.ascontiguousarray(send), root, step)
        if blocks is None:
            return
        raw = rflat.view(np.uint8)
        item = rflat.dtype.itemsize * rdt.base_count
        for i, block in enumerate(blocks):
            start = displs[i] * item
            n = min(block.size, counts[i] * item)
            if block.size > counts[i] * item:
                raise MPIException(C.ERR_TRUNCATE, f"rank {i} sent {block.size} bytes, room "
                                                   f"for {counts[i] * item}")
            if raw[start:start + n].ctypes.data != block[:n].ctypes.data:
                raw[start:start + n] = block[:n]


    def Allgather(self, sendbuf: Any, recvbuf: Any) -> None:
        """Gather equal blocks to every rank's buffer."""
        self._allgather(sendbuf, recvbuf, equal=True)

    def Allgatherv(self, sendbuf: Any, recvbuf: Any) -> None:
        """Gather blocks of per-rank counts and displacements to every rank's buffer."""
        self._allgather(sendbuf, recvbuf, equal=False)

    def _allgather(self, sendbuf: Any, recvbuf: Any, equal: bool) -> None:
        size = self.Get_size()
        rflat, counts, displs, rdt, commit = receive_vector(recvbuf, size, equal)
        seq = self._next()

        def own() -> np.ndarray:
            per = rdt.base_count
            return rflat[displs[self._rank] * per:(displs[self._rank] + counts[self._rank]) * per]

        send = self._send_side(sendbuf, own).copy()
        if self._rank == 0:
            self._gather_into(seq, send, 0, rflat, counts, displs, rdt)
        else:
            self._gather_arrays(seq, send, 0)
        self._bcast_into(seq, rflat, 0, step=1)
        commit()


    def Scatter(self, sendbuf: Any, recvbuf: Any, root: int = 0) -> None:
        """Scatter equal blocks of the root's buffer to every rank."""
        self._scatter(sendbuf, recvbuf, root, equal=True)

    def Scatterv(self, sendbuf: Any, recvbuf: Any, root: int = 0) -> None:
        """Scatter blocks of per-rank counts and displacements of the root's buffer."""
        self._scatter(sendbuf, recvbuf, root, equal=False)

    def _scatter(self, sendbuf: Any, recvbuf: Any, root: int, equal: bool) -> None:
        root = self._check_root(root)
        size = self.Get_size()
        blocks: List[np.ndarray] = []
        codes: List[int] = []
        rarr = commit = None
        if recvbuf is not C.IN_PLACE and recvbuf is not None:
            rarr, _, commit = receive_array(recvbuf)
        local_error: Optional[BaseException] = None
        if self._rank == root:
            # An error in the root's buffers is raised on every rank (mpi4py: the others
            # would wait forever for the root).
            try:
                sflat, counts, displs, sdt = vector_array(sendbuf, size, equal=equal)
                per = sdt.base_count
                blocks = [np.ascontiguousarray(sflat[d * per:(d + c) * per])
                          for c, d in zip(counts, displs)]
                codes = [_RAW] * size
                if rarr is not None and rarr.size != blocks[root].size:
                    raise ValueError(f"mismatch in send count {blocks[root].size} and "
                                     f"receive count {rarr.size}")
            except (ValueError, TypeError, KeyError, BufferError) as exc:
                local_error, blocks, codes = exc, [], []
        failure = _collective_error(local_error) if local_error is not None else (0, "")
        try:
            item = _core().scatter(self._group, [[b] for b in blocks], codes, root,
                                   self._tag(self._next()), *failure)
        except (ValueError, TypeError):
            if local_error is not None:
                raise local_error from None
            raise
        if rarr is None:
            return
        data = blocks[root].view(np.uint8).reshape(-1) if item is None else np.frombuffer(
            item[2], dtype=np.uint8, count=item[4], offset=item[3])
        if data.size > rarr.nbytes:
            raise MPIException(C.ERR_TRUNCATE, f"message of {data.size} bytes truncated to a "
                                               f"buffer of {rarr.nbytes} bytes")
        rarr.view(np.uint8)[: data.size] = data
        commit()


    def _reduce_arrays(self, seq: int, send: np.ndarray, op: O.Op, dt: D.Datatype,
                       root: Optional[int]) -> Optional[np.ndarray]:
        """The reduction of every rank's array: on every rank (root None) or on the root."""
        code = _CORE_DTYPES.get(send.dtype)
        if op._core_code is not None and code is not None and dt.base_count == 1:
            item = _core().all_reduce(self._group, send, code, op._core_code,
                                      self._tag(seq), 0, "")
            if root is not None and self._rank != root:
                return None
            if item is None:
                return send.copy()
            return np.frombuffer(item[2], dtype=send.dtype, count=send.size, offset=item[3])
        target = 0 if root is None else root
        blocks = self._gather_arrays(seq, np.ascontiguousarray(send), target)
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
        self._bcast_into(seq, out, 0, step=1)
        return out

    def _reduce_operands(self, sendbuf: Any, recvbuf: Any, need_recv: bool
                         ) -> Tuple[np.ndarray, Optional[np.ndarray], D.Datatype, Callable]:
        """(send array, receive array or None, datatype, commit the receive array)."""
        recv = dt = None
        commit: Callable[[], None] = _nothing
        if need_recv:
            recv, dt, commit = receive_array(recvbuf)
        if sendbuf is C.IN_PLACE or sendbuf is None:
            if recv is None:
                raise ValueError("IN_PLACE needs a receive buffer")
            return recv.copy(), recv, dt, commit
        send, sdt = message_array(sendbuf)
        if recv is not None and sdt is not dt:
            raise ValueError("mismatch in send and receive MPI datatypes")
        if recv is not None and send.size != recv.size:
            raise ValueError(f"mismatch in send count {send.size} and receive count "
                             f"{recv.size}")
        return send, recv, dt or sdt, commit

    def Allreduce(self, sendbuf: Any, recvbuf: Any, op: O.Op = O.SUM) -> None:
        """Reduce every rank's buffer into every rank's receive buffer."""
        self._check()
        send, recv, dt, commit = self._reduce_operands(sendbuf, recvbuf, True)
        op.check_datatype(dt)
        out = self._reduce_arrays(self._next(), send, op, dt, None)
        recv[...] = out
        commit()

    def Reduce(self, sendbuf: Any, recvbuf: Any, op: O.Op = O.SUM, root: int = 0) -> None:
        """Reduce every rank's buffer into the root's receive buffer."""
        root = self._check_root(root)
        send, recv, dt, commit = self._reduce_operands(
            sendbuf, recvbuf, self._rank == root)
        op.check_datatype(dt)
        out = self._reduce_arrays(self._next(), send, op, dt, root)
        if self._rank == root:
            recv[...] = out
            commit()

    def Reduce_scatter_block(self, sendbuf: Any, recvbuf: Any, op: O.Op = O.SUM) -> None:
        """Reduce, then rank i keeps block i."""
        size = self.Get_size()
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
        out = self._reduce_arrays(self._next(), send, op, rdt, None)
        recv[:block] = out[self._rank * block:(self._rank + 1) * block]
        commit()

    def Reduce_scatter(self, sendbuf: Any, recvbuf: Any, recvcounts: Optional[Sequence[int]] = None,
                       op: O.Op = O.SUM) -> None:
        """Reduce, then rank i keeps the next ``recvcounts[i]`` elements."""
        size = self.Get_size()
        recv, rdt, commit = receive_array(recvbuf)
        if sendbuf is C.IN_PLACE or sendbuf is None:
            send = recv.copy()
        else:
            send, sdt = message_array(sendbuf)
            if sdt is not rdt:
                raise ValueError("mismatch in send and receive MPI datatypes")
        if recvcounts is not None:
            counts = [operator.index(c) for c in recvcounts]
            if len(counts) != size:
                raise ValueError(f"expecting {size} items, got {len(counts)}")
            if sendbuf is C.IN_PLACE or sendbuf is None:
                if sum(counts) > recv.size:
                    raise ValueError(f"mismatch in receive count {recv.size} and "
                                     f"sum(recvcounts) {sum(counts)}")
            elif counts[self._rank] != recv.size:
                raise ValueError(f"mismatch in receive count {recv.size} and "
                                 f"recvcounts[{self._rank}] {counts[self._rank]}")
            elif sum(counts) != send.size:
                raise ValueError(f"mismatch in send count {send.size} and sum(recvcounts) "
                                 f"{sum(counts)}")
        op.check_datatype(rdt)
        seq = self._next()
        if recvcounts is None and sendbuf is not C.IN_PLACE and sendbuf is not None:
            # As mpi4py: each rank's share is the size of its receive buffer.
            recvcounts = self._obj_bcast(seq, self._obj_gather(seq, int(recv.size), 0, step=2),
                                         0, step=3)
        elif recvcounts is None:
            recvcounts = [send.size // size] * size
        counts = [int(c) for c in recvcounts]
        out = self._reduce_arrays(seq, send, op, rdt, None)
        start = sum(counts[: self._rank])
        recv[: counts[self._rank]] = out[start:start + counts[self._rank]]
        commit()

    def _scan_arrays(self, sendbuf: Any, recvbuf: Any, op: O.Op, inclusive: bool) -> None:
        send, recv, dt, commit = self._reduce_operands(sendbuf, recvbuf, True)
        op.check_datatype(dt)
        seq = self._next()
        blocks = self._gather_arrays(seq, np.ascontiguousarray(send), 0)
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
        item = _core().scatter(self._group, prefixes, [_RAW] * len(prefixes), 0,
                               self._tag(seq, 1), 0, "")
        data = prefixes[0][0].view(np.uint8) if item is None else np.frombuffer(
            item[2], dtype=np.uint8, count=item[4], offset=item[3])
        if inclusive or self._rank != 0:
            recv.view(np.uint8)[...] = data
            commit()

    def Scan(self, sendbuf: Any, recvbuf: Any, op: O.Op = O.SUM) -> None:
        """Inclusive prefix reduction of buffers."""
        self._scan_arrays(sendbuf, recvbuf, op, True)

    def Exscan(self, sendbuf: Any, recvbuf: Any, op: O.Op = O.SUM) -> None:
        """Exclusive prefix reduction of buffers (rank 0's receive buffer is untouched)."""
        self._scan_arrays(sendbuf, recvbuf, op, False)

    def Alltoall(self, sendbuf: Any, recvbuf: Any) -> None:
        """Block j of rank i's send buffer goes to block i of rank j's receive buffer."""
        self._alltoall(sendbuf, recvbuf, equal=True)

    def Alltoallv(self, sendbuf: Any, recvbuf: Any) -> None:
        """As Alltoall with per-rank counts and displacements."""
        self._alltoall(sendbuf, recvbuf, equal=False)

    def _alltoall(self, sendbuf: Any, recvbuf: Any, equal: bool) -> None:
        size = self.Get_size()
        rflat, rcounts, rdispls, rdt, commit = receive_vector(recvbuf, size, equal)
        if sendbuf is C.IN_PLACE or sendbuf is None:
            sflat, scounts, sdispls, sdt = rflat.copy(), rcounts, rdispls, rdt
        else:
            sflat, scounts, sdispls, sdt = vector_array(sendbuf, size, equal=equal)
        sper, rper = sdt.base_count, rdt.base_count
        outgoing = [[np.ascontiguousarray(sflat[d * sper:(d + c) * sper])]
                    for c, d in zip(scounts, sdispls)]
        received = self._exchange(self._next(), outgoing, lambda p: np.frombuffer(
            p, dtype=np.uint8), outgoing)
        raw = rflat.view(np.uint8)
        item = rflat.dtype.itemsize * rper
        for i, block in enumerate(received):
            block = np.frombuffer(block, dtype=np.uint8) if not isinstance(
                block, np.ndarray) else block.view(np.uint8)
            if block.size > rcounts[i] * item:
                raise MPIException(C.ERR_TRUNCATE, f"rank {i} sent {block.size} bytes, room "
                                                   f"for {rcounts[i] * item}")
            raw[rdispls[i] * item: rdispls[i] * item + block.size] = block
        commit()

    def Alltoallw(self, sendbuf: Any, recvbuf: Any) -> None:
        """As Alltoallv with a datatype per rank and displacements in bytes."""
        size = self.Get_size()
        rregions = vector_w_regions(recvbuf, size, True)
        sregions = rregions if sendbuf is C.IN_PLACE or sendbuf is None else \
            vector_w_regions(sendbuf, size, False)
        outgoing = [[np.array(r.data(), copy=True)] for r in sregions]
        received = self._exchange(self._next(), outgoing, lambda p: np.frombuffer(
            p, dtype=np.uint8), outgoing)
        for i, region in enumerate(rregions):
            data = region.data()
            block = np.frombuffer(received[i], dtype=np.uint8)
            if block.size > data.nbytes:
                raise MPIException(C.ERR_TRUNCATE, f"rank {i} sent {block.size} bytes, room "
                                                   f"for {data.nbytes}")
            data.view(np.uint8)[:block.size] = block
            region.store(data)

    # -- non-blocking collectives: run in order on the runtime's async thread ---------------
    def _nb(self, fn: Callable, *args: Any) -> Request:
        seq = self._next()

        def run() -> Any:
            _started.seq = seq
            try:
                return fn(*args)
            finally:
                _started.seq = None

        return Request(future=_runtime.executor().submit(run))

    def Ibarrier(self) -> Request:
        return self._nb(self.Barrier)

    def Ibcast(self, buf: Any, root: int = 0) -> Request:
        self._check_root(root)
        return self._nb(self.Bcast, buf, root)

    def Igather(self, sendbuf: Any, recvbuf: Any, root: int = 0) -> Request:
        self._check_root(root)
        return self._nb(self.Gather, sendbuf, recvbuf, root)

    def Igatherv(self, sendbuf: Any, recvbuf: Any, root: int = 0) -> Request:
        self._check_root(root)
        return self._nb(self.Gatherv, sendbuf, recvbuf, root)

    def Iscatter(self, sendbuf: Any, recvbuf: Any, root: int = 0) -> Request:
        self._check_root(root)
        return self._nb(self.Scatter, sendbuf, recvbuf, root)

    def Iscatterv(self, sendbuf: Any, recvbuf: Any, root: int = 0) -> Request:
        self._check_root(root)
        return self._nb(self.Scatterv, sendbuf, recvbuf, root)

    def Iallgather(self, sendbuf: Any, recvbuf: Any) -> Request:
        return self._nb(self.Allgather, sendbuf, recvbuf)

    def Iallgatherv(self, sendbuf: Any, recvbuf: Any) -> Request:
        return self._nb(self.Allgatherv, sendbuf, recvbuf)

    def Ialltoall(self, sendbuf: Any, recvbuf: Any) -> Request:
        return self._nb(self.Alltoall, sendbuf, recvbuf)

    def Ialltoallv(self, sendbuf: Any, recvbuf: Any) -> Request:
        return self._nb(self.Alltoallv, sendbuf, recvbuf)

    def Ialltoallw(self, sendbuf: Any, recvbuf: Any) -> Request:
        return self._nb(self.Alltoallw, sendbuf, recvbuf)

    def Ireduce_scatter(self, sendbuf: Any, recvbuf: Any,
                        recvcounts: Optional[Sequence[int]] = None,
                        op: O.Op = O.SUM) -> Request:
        return self._nb(self.Reduce_scatter, sendbuf, recvbuf, recvcounts, op)

    def Ireduce(self, sendbuf: Any, recvbuf: Any, op: O.Op = O.SUM, root: int = 0) -> Request:
        self._check_root(root)
        return self._nb(self.Reduce, sendbuf, recvbuf, op, root)

    def Iallreduce(self, sendbuf: Any, recvbuf: Any, op: O.Op = O.SUM) -> Request:
        return self._nb(self.Allreduce, sendbuf, recvbuf, op)

    def Ireduce_scatter_block(self, sendbuf: Any, recvbuf: Any, op: O.Op = O.SUM) -> Request:
        return self._nb(self.Reduce_scatter_block, sendbuf, recvbuf, op)

    def Iscan(self, sendbuf: Any, recvbuf: Any, op: O.Op = O.SUM) -> Request:
        return self._nb(self.Scan, sendbuf, recvbuf, op)

    def Iexscan(self, sendbuf: Any, recvbuf: Any, op: O.Op = O.SUM) -> Request:
        return self._nb(self.Exscan, sendbuf, recvbuf, op)

    # -- communicator management -------------------------------------------------------------
    def _new_contexts(self, seq: int, count: int) -> int:
        """A base context that no member has used yet; every member reserves ``count``."""
        return _agree_contexts(self._group, self._tag(seq, 7), count)

    def Dup(self, info: Any = None) -> Comm:
        """A new communicator with the same group and fresh contexts."""
        members = self._check()
        base = self._new_contexts(self._next(), 1)
        return type(self)(list(members), base, "")

    def Clone(self) -> Comm:
        return self.Dup()

    def Dup_with_info(self, info: Any) -> Comm:
        return self.Dup(info)

    def Idup(self, info: Any = None) -> Tuple[Comm, Request]:
        """(duplicate, request). The duplicate is made at once (a collective step like
        Dup's), so the request is already complete."""
        return self.Dup(info), Request(finish=lambda st: None)

    def Idup_with_info(self, info: Any) -> Tuple[Comm, Request]:
        return self.Idup(info)

    @classmethod
    def Create_from_group(cls, group: Group, stringtag: str = "org.mpi4py",
                          info: Any = None, errhandler: Any = None) -> Comm:
        raise NotImplementedError("MPI.Intracomm.Create_from_group (MPI-4 sessions) is not "
                                  "supported by hpxpy (MPI 3.1 API)")

    def Split(self, color: int = 0, key: int = 0) -> Comm:
        """Sub-communicators of the ranks with the same color, ordered by (key, rank).

        ``color=MPI.UNDEFINED`` returns ``MPI.COMM_NULL``.
        """
        members = self._check()
        seq = self._next()
        table = self._obj_gather(seq, (int(color), int(key)), 0)
        table = self._obj_bcast(seq, table, 0, step=1)
        colors = sorted({c for c, _ in table if c != C.UNDEFINED})
        base = self._new_contexts(seq, max(1, len(colors)))
        if color == C.UNDEFINED:
            return COMM_NULL
        mine = [(k, r) for r, (c, k) in enumerate(table) if c == color]
        ranks = [members[r] for _, r in sorted(mine)]
        return Intracomm(ranks, base + _CONTEXT_STRIDE * colors.index(color), "")

    def Split_type(self, split_type: int, key: int = 0, info: Any = None) -> Comm:
        """COMM_TYPE_SHARED: ranks on the same host (all of them, for a local job);
        ``MPI.UNDEFINED``: COMM_NULL. Ranks may pass either: all take the same steps."""
        if split_type not in (C.UNDEFINED, C.COMM_TYPE_SHARED):
            raise MPIException(C.ERR_ARG, f"unsupported split type {split_type}")
        import socket

        host = socket.gethostname()
        seq = self._next()
        table = self._obj_bcast(seq, self._obj_gather(seq, (split_type, host), 0), 0, step=1)
        hosts = sorted({h for t, h in table if t != C.UNDEFINED})
        color = C.UNDEFINED if split_type == C.UNDEFINED else hosts.index(host)
        return self.Split(color, key)

    def Create(self, group: Group) -> Comm:
        """A communicator of ``group``'s members (COMM_NULL on the others)."""
        self._check()
        group._check()
        base = self._new_contexts(self._next(), 1)
        if _runtime.locality_id() not in group._ranks:
            return COMM_NULL
        return Intracomm(list(group._ranks), base, "")

    def Create_group(self, group: Group, tag: int = 0) -> Comm:
        """A communicator of ``group``'s members, collective over those members only (the
        others need not call it); concurrent calls on overlapping groups need distinct
        tags, as in MPI."""
        self._check()
        group._check()
        self._check_send_tag(tag)
        me = _runtime.locality_id()
        members = list(group._ranks)
        if me not in members:
            return COMM_NULL
        if any(m not in self._index for m in members):
            raise MPIException(C.ERR_GROUP, "the group is not a subgroup of the communicator")
        # The parent's spare context carries the agreement, so it cannot meet the parent's
        # own collectives (which non-members may be running meanwhile).
        among = _core_module.Group(self._context + 2, members.index(me), members, len(members))
        return Intracomm(members, _agree_contexts(among, tag, 1), "")

    def Free(self) -> None:
        """Release the communicator (it then compares equal to COMM_NULL)."""
        self._check()
        if self is COMM_WORLD or self is COMM_SELF:
            raise MPIException(C.ERR_COMM, "cannot free a predefined communicator")
        self._members = None
        self._group = None

    def free(self) -> None:
        if self._members is not None and self is not COMM_WORLD and self is not COMM_SELF:
            self.Free()

    def Disconnect(self) -> None:
        self.Free()

    def Abort(self, errorcode: int = 0) -> None:
        """End the whole job with status ``errorcode``: every locality exits with it."""
        sys.stdout.flush()
        sys.stderr.flush()
        code = int(errorcode) & 0xFF
        rt = _runtime._state.core
        if rt is not None:
            rt.abort(code)  # tells every peer to exit with `code`; does not return
        os._exit(code)

    def Get_attr(self, keyval: int) -> Any:
        self._check()
        if keyval == C.KEYVAL_INVALID:
            raise MPIException(C.ERR_KEYVAL, "invalid attribute key MPI.KEYVAL_INVALID")
        if keyval == C.TAG_UB:
            return C.TAG_MAX
        return None

    def Get_info(self) -> Info:
        """A copy of the hints set on the communicator."""
        self._check()
        return self._info.Dup() if self._info else Info.Create()

    def Set_info(self, info: Info) -> None:
        self._check()
        self._info = info.Dup() if info else None

    info = property(Get_info, Set_info)

    def Set_errhandler(self, errhandler: Any) -> None:
        self._check()
        if errhandler is ERRHANDLER_NULL:
            raise MPIException(C.ERR_ERRHANDLER, "the error handler is MPI.ERRHANDLER_NULL")

    def Get_errhandler(self) -> Any:
        self._check()
        return ERRORS_RETURN

    def Call_errhandler(self, errorcode: int) -> None:
        pass


def _agree_contexts(group: Any, tag: int, count: int) -> int:
    """A base context no member of ``group`` has used yet (all_reduce max of each member's
    next free one); every member reserves ``count`` blocks from it."""
    with _Contexts.lock:
        mine = _Contexts.next
    agreed = np.array([mine], dtype=np.int64)
    item = _core().all_reduce(group, agreed, 2, 3, tag, 0, "")
    if item is not None:
        agreed = np.frombuffer(item[2], dtype=np.int64, count=1, offset=item[3])
    base = int(agreed[0])
    with _Contexts.lock:
        _Contexts.next = max(_Contexts.next, base + _CONTEXT_STRIDE * count)
    return base


class Intracomm(Comm):
    """An intra-communicator (every hpxpy communicator is one)."""


class Intercomm(Comm):
    """Inter-communicators are not supported (they come from spawn and Create_intercomm):
    only the null one exists, as ``Comm.Get_parent()`` returns."""

    def __init__(self, comm: Optional[Comm] = None) -> None:
        if comm is not None and not isinstance(comm, Intercomm):
            raise TypeError(f"expecting an Intercomm, got {type(comm).__name__}")
        super().__init__(comm)

    def Is_inter(self) -> bool:
        self._check()
        return True

    def Is_intra(self) -> bool:
        self._check()
        return False

    def Get_remote_group(self) -> Group:
        self._check()
        raise NotImplementedError("inter-communicators are not supported by hpxpy")

    def Get_remote_size(self) -> int:
        self._check()
        raise NotImplementedError("inter-communicators are not supported by hpxpy")

    def Merge(self, high: bool = False) -> Intracomm:
        self._check()
        raise NotImplementedError("inter-communicators are not supported by hpxpy")

    remote_group = property(Get_remote_group)
    remote_size = property(Get_remote_size)


def _core_tag(tag: int) -> int:
    return -1 if tag == C.ANY_TAG else tag


class _Errhandler:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"<MPI.Errhandler {self._name}>"

    def __bool__(self) -> bool:
        return self._name != "ERRHANDLER_NULL"

    def Free(self) -> None:
        if not self:
            raise MPIException(C.ERR_ERRHANDLER, "the error handler is MPI.ERRHANDLER_NULL")


ERRORS_RETURN = _Errhandler("ERRORS_RETURN")
ERRORS_ARE_FATAL = _Errhandler("ERRORS_ARE_FATAL")
ERRORS_ABORT = _Errhandler("ERRORS_ABORT")
ERRHANDLER_NULL = _Errhandler("ERRHANDLER_NULL")

COMM_NULL = Intracomm(None)
COMM_NULL._handle_name = "COMM_NULL"
COMM_WORLD: Intracomm
COMM_SELF: Intracomm


def _make_predefined() -> None:
    global COMM_WORLD, COMM_SELF
    n = _runtime.num_localities()
    COMM_WORLD = Intracomm(list(range(n)), _WORLD_CONTEXT, "MPI_COMM_WORLD")
    COMM_SELF = Intracomm([_runtime.locality_id()], _SELF_CONTEXT, "MPI_COMM_SELF")
    COMM_WORLD._handle_name, COMM_SELF._handle_name = "COMM_WORLD", "COMM_SELF"


_make_predefined()
