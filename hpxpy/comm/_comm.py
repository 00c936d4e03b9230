"""Communicators with mpi4py's API (``Comm``, ``Intracomm``, ``Intercomm``), over hpxpy.

The methods here are the public surface, a few lines each: they check what is theirs to
check and call the operation modules underneath, which take the communicator (its base
class ``_Handle``) as their first argument. hpxpy.comm's modules, bottom to top (a module
imports only from its own layer or lower ones, without cycles; nothing imports ``_comm``
but ``MPI``, ``_win`` and ``_channel``; tests/test_comm_layout.py checks this table):

    9  MPI            the namespace: names of every layer below, the runtime's start
    8  _win           Win: one-sided windows, the origin side of RMA
       _channel       channel(comm): a private duplicate for libraries (hpxpy.distributed)
    7  _comm          Comm, Intracomm, Topocomm, Cartcomm, Graphcomm, Distgraphcomm,
                      Intercomm, COMM_NULL/WORLD/SELF
    6  _nbcoll        non-blocking collectives: seq taken at the call, run on the async thread
       _topo          topology communicators: constructors, the classes' methods (mix-ins)
       _persistent    persistent collectives (Barrier_init ...): each Start runs the I-form
       _intercomm     inter-communicators' object collectives
       _interbuf      inter-communicators' buffer collectives (and their I-forms)
    5  _bufcoll       buffer collectives: each operation's message parsing and checks
       _create        Dup/Split/Create/Create_group: members and agreed contexts
       _neighbor      neighbour collectives over point to point on the collective context
    4  _p2p           point to point: wire header, send, receive, probe
       _partitioned   partitioned point to point (Psend_init/Precv_init, Pready, Parrived)
       _objcoll       object collectives, pairwise exchange, per-operation locks
       _rma_service   the target side of RMA: the service thread, windows' memory and locks
       _pack          Datatype.Pack/Unpack, native and external32
    3  _handle        a communicator's fields, argument checks, sequence numbers
       _group         Group            _contexts   the table that allocates contexts
       _session       Session: process sets mpi://WORLD and mpi://SELF
       _topology      Cartesian grids, graphs, distributed graphs as data; Compute_dims
       _failures      a collective's failure; truncation ("does it fit")
       _ops           Op (Reduce_local parses its buffers through _buffers)
       _buffers       message specs -> flat numpy views (mpi4py's parsing rules)
       _message       Message (mprobe's matched message)
    2  _request       Request (a state machine and an hpxpy Future), Prequest
       _memory        MPI.buffer, Alloc_mem, the buffered-send buffer
    1  _status        Status
       _interop       memory of objects: buffer protocol, DLPack, CUDA array interface
       _typing        Buffer, BufSpec, BufSpecB/V/W, TargetSpec ...
    0  _constants  _errors  _errhandler  _datatypes  _info  _pickle  _shmwin
       _handles       integer handles (handle, toint, py2f and back) of every kind
       _attributes    keyvals and attribute tables (Comm, Datatype, Win)

This module is over 600 lines because it is the whole public ``Comm`` surface, about a
hundred mpi4py methods of a few lines each; the work is all in the modules underneath.

Collectives run on the C++ core's algorithms (trees, recursive doubling) over the
communicator's group; the operations that have no C++ algorithm of their own are composed
from them in O(log N) rounds, except the all-to-all exchanges, which are pairwise.
"""

from __future__ import annotations

import operator
import os
import sys
import warnings
import weakref
import zlib
from typing import Any, List, Optional, Sequence, Tuple, Type, TypeVar, Union

from .. import _core, _runtime
from . import (
    _attributes,
    _bufcoll,
    _contexts,
    _create,
    _errhandler,
    _interbuf,
    _intercomm,
    _nbcoll,
    _objcoll,
    _p2p,
    _partitioned,
    _persistent,
    _pickle,
    _topo,
    _ulfm,
)
from . import _constants as C
from . import _ops as O
from ._buffers import message_region
from ._errhandler import (  # noqa: F401 - the handlers' home was this module
    ERRHANDLER_NULL,
    ERRORS_ABORT,
    ERRORS_ARE_FATAL,
    ERRORS_RETURN,
    _Errhandler,
    check_settable,
)
from ._errors import Exception as MPIException
from ._errors import last_used_code
from ._group import GROUP_EMPTY, GROUP_NULL, Group, _api_name  # noqa: F401
from ._handle import NULL_PATH, _Handle
from ._info import INFO_NULL, Info
from ._memory import buffer
from ._message import Message
from ._objcoll import _comm_lock, _comm_lock_table, locked  # noqa: F401 - MPI's helpers
from ._request import Prequest, Request
from ._request import completed as _completed
from ._request import receiving as _receiving
from ._status import Status
from ._typing import Buffer, BufferAutomatic, BufSpec, BufSpecB, BufSpecV, BufSpecW

# Dynamic processes (Spawn, Get_parent, ports) live in _spawn, a layer above this module:
# it puts itself here when imported (hpxpy.comm.MPI imports it).
_dynproc: Any = None

_DONE = _p2p.no_result  # the finish of a request with nothing to hand back
# What a fast path (self._path, one C++ call) returns when the general path must run: an
# argument it does not take (derived datatype, list spec, PROC_NULL, numpy rank ...) or an
# error, which the general path then raises as mpi4py does. It has done nothing by then.
_FALLBACK = _core.FALLBACK
_UnmetMeeting = _core.UnmetMeeting
# CommPath.send modes
_STANDARD, _SYNC, _SYNC_STARTED = 0, 1, 2


CommT = TypeVar("CommT", bound="Comm")
InterT = TypeVar("InterT", bound="Intercomm")


class Comm(_Handle, _persistent.PersistentMethods, _attributes.AttrMethods):
    """A communicator: a group of localities with private message contexts."""

    _handle_name: str  # the predefined one's name (COMM_WORLD ...), pickled by name
    _info: Any  # hints (an Info) or None
    _attrs: _attributes.Table  # shared by the references (Comm(comm))

    def __new__(cls: Type[CommT], members: Any = None, context: int = -1,
                name: str = "") -> CommT:
        """Make a communicator: ``Comm()`` is a null communicator and ``Comm(comm)`` a new reference
        to ``comm``'s handle (internally: world ranks of the members, context and name). The work
        is in ``__new__``, as mpi4py's, so that subclasses may call ``super().__new__(cls,
        comm)`` with a communicator of their own making."""
        self = super().__new__(cls)
        self._handle_name = ""
        if isinstance(members, Comm):
            self._accept(members)
            self.__dict__.update({k: v for k, v in members.__dict__.items()
                                  if k != "_handle_name"})
            return self
        if members is not None and context == -1:
            raise TypeError(f"expecting a communicator, got {type(members).__name__}")
        self._info = None
        self._attrs = {}
        self._setup(members, context, name)
        return self

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

    __hash__ = None  # type: ignore[assignment]  # as mpi4py's: equal references, no hash

    def __bool__(self) -> bool:
        return self._members is not None

    def __repr__(self) -> str:
        return f"<MPI.{type(self).__name__} {self._name or self._context}>"

    def __reduce__(self) -> Any:
        if self._handle_name:
            return self._handle_name
        if self._members is None:
            return (type(self), (COMM_NULL,))
        if self._context in (_contexts.WORLD, _contexts.SELF):  # a predefined one
            return (type(self), (COMM_WORLD if self._context == _contexts.WORLD else COMM_SELF,))
        raise ValueError(f"cannot serialize '{_api_name(self)}' instance")

    # -- buffered sends ----------------------------------------------------------------------
    def Attach_buffer(self, buf: Union[Buffer, BufferAutomatic, None]) -> None:
        """Attach a buffer for buffered sends on this communicator."""
        self._check()
        self._bsend_buffer = buf if buf is C.BUFFER_AUTOMATIC else buffer(buf)

    def Detach_buffer(self) -> Union[Buffer, BufferAutomatic]:
        """Detach this communicator's buffered-send buffer and return it."""
        self._check()
        buf = self.__dict__.pop("_bsend_buffer", None)
        if buf is C.BUFFER_AUTOMATIC:
            return buf
        return buffer(buf) if buf is not None else buffer()

    def Flush_buffer(self) -> None:
        """Buffered sends are already handed to the runtime: nothing to wait for."""
        self._check()

    def Iflush_buffer(self) -> Request:
        """Flush the buffer of buffered sends, nonblocking (hpxpy's buffered sends never wait in
        it)."""
        self._check()
        return Request(finish=_DONE)

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
        """Return the name of the communicator."""
        if self._members is None and self is COMM_NULL:
            return "MPI_COMM_NULL"
        self._check()
        return self._name

    def Set_name(self, name: str) -> None:
        """Set the name of the communicator."""
        self._check()
        self._name = name

    name = property(Get_name, Set_name)

    def Get_group(self) -> Group:
        """The communicator's group."""
        return Group._make(self._check())

    group = property(Get_group)

    def Is_inter(self) -> bool:
        """Tell whether this is an inter-communicator (False)."""
        self._check()
        return False

    def Is_intra(self) -> bool:
        """Tell whether this is an intra-communicator (True)."""
        self._check()
        return True

    is_inter = property(Is_inter)
    is_intra = property(Is_intra)
    is_topo = property(lambda self: self.Get_topology() != C.UNDEFINED)
    topology = property(lambda self: self.Get_topology())

    def Get_topology(self) -> int:
        """MPI.CART, MPI.GRAPH, MPI.DIST_GRAPH, or MPI.UNDEFINED (no topology)."""
        return _topo.kind(self)

    # -- integer handles -------------------------------------------------------------------
    def toint(self) -> int:
        """An integer handle for this communicator (``Comm.fromint`` gives it back);
        MPICH's numbers for the predefined ones."""
        if self._members is None:
            return _NULL_HANDLE
        handle = _PREDEFINED_HANDLES.get(self._context, _USER_HANDLE_BASE + self._context)
        _handles.setdefault(handle, self)
        return handle

    @classmethod
    def fromint(cls, arg: int) -> Comm:
        """A new reference (of the communicator's own class) to the communicator with
        integer handle ``arg``."""
        arg = int(arg)
        if arg == _NULL_HANDLE:
            return COMM_NULL
        for comm in (COMM_WORLD, COMM_SELF):
            if arg == comm.toint():
                return comm
        found = _handles.get(arg)
        if found is None:
            raise MPIException(C.ERR_COMM, f"no communicator with handle {arg}")
        return type(found)(found)

    py2f = toint
    f2py = fromint
    handle = property(toint)
    fromhandle = fromint

    @classmethod
    def Get_parent(cls) -> Intercomm:
        """The inter-communicator to the parents of a spawned process; ``COMM_NULL`` (a
        null Intercomm) in a process that was not spawned or after ``Disconnect``."""
        return _dynproc.get_parent()

    @classmethod
    def Join(cls, fd: int) -> Intercomm:
        """The inter-communicator between the two processes at the ends of the connected
        socket ``fd`` (which stays the caller's)."""
        return _dynproc.join(fd)

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

    # -- point to point: objects ---------------------------------------------------------------
    def send(self, obj: Any, dest: int, tag: int = 0) -> None:
        """Send a Python object."""
        if self._path.send_obj(obj, dest, tag, _STANDARD) is _FALLBACK:
            _p2p.send_obj(self, obj, dest, tag, False)

    def ssend(self, obj: Any, dest: int, tag: int = 0) -> None:
        """Send a Python object; returns once the receiver has matched it."""
        if self._path.send_obj(obj, dest, tag, _SYNC) is not _FALLBACK:
            return
        ack = _p2p.send_obj(self, obj, dest, tag, True)
        if ack is not None:
            _runtime.core().wait(ack)

    bsend = send

    def isend(self, obj: Any, dest: int, tag: int = 0) -> Request:
        """Start sending a Python object (complete at once: messages are buffered)."""
        if self._path.send_obj(obj, dest, tag, _STANDARD) is _FALLBACK:
            _p2p.send_obj(self, obj, dest, tag, False)
        return Request(complete=False, result=None, finish=_DONE)

    ibsend = isend

    def issend(self, obj: Any, dest: int, tag: int = 0) -> Request:
        """Start a synchronous send: completes once the receiver has matched it."""
        ack = self._path.send_obj(obj, dest, tag, _SYNC_STARTED)
        if ack is _FALLBACK:
            ack = _p2p.send_obj(self, obj, dest, tag, True)
        return _p2p.started(ack)

    def recv(self, buf: Optional[Buffer] = None, source: int = C.ANY_SOURCE,
             tag: int = C.ANY_TAG, status: Optional[Status] = None) -> Any:
        """Receive a Python object."""
        if buf is not None:
            warnings.warn("the 'buf' argument is deprecated", UserWarning, stacklevel=2)
        obj = self._path.recv_obj(source, tag, status)
        if obj is _FALLBACK:
            return _p2p.receive(self, None, source, tag, status)
        return obj

    def irecv(self, buf: Optional[Buffer] = None, source: int = C.ANY_SOURCE,
              tag: int = C.ANY_TAG) -> Request:
        """Start receiving a Python object; ``wait()`` returns it."""
        return _p2p.irecv(self, None, source, tag)

    def sendrecv(self, sendobj: Any, dest: int, sendtag: int = 0,
                 recvbuf: Optional[Buffer] = None, source: int = C.ANY_SOURCE,
                 recvtag: int = C.ANY_TAG, status: Optional[Status] = None) -> Any:
        """Send an object and receive one."""
        if recvbuf is not None:
            warnings.warn("the 'buf' argument is deprecated", UserWarning, stacklevel=2)
        self._check_dest(dest)
        self._check_send_tag(sendtag)
        req = _p2p.irecv(self, None, source, recvtag)
        self.send(sendobj, dest, sendtag)
        return req.wait(status)

    # -- point to point: buffers ---------------------------------------------------------------
    def Send(self, buf: BufSpec, dest: int, tag: int = 0) -> None:
        """Send a buffer."""
        if self._path.send(buf, dest, tag, _STANDARD) is _FALLBACK:
            _p2p.send_buf(self, buf, dest, tag, False)

    Bsend = Send
    Rsend = Send

    def Ssend(self, buf: BufSpec, dest: int, tag: int = 0) -> None:
        """Send a buffer; returns once the receiver has matched it."""
        if self._path.send(buf, dest, tag, _SYNC) is not _FALLBACK:
            return
        ack = _p2p.send_buf(self, buf, dest, tag, True)
        if ack is not None:
            _runtime.core().wait(ack)

    def Isend(self, buf: BufSpec, dest: int, tag: int = 0) -> Request:
        """Start sending a buffer."""
        if self._path.send(buf, dest, tag, _STANDARD) is _FALLBACK:
            _p2p.send_buf(self, buf, dest, tag, False)
        return _completed()

    Ibsend = Isend
    Irsend = Isend

    def Issend(self, buf: BufSpec, dest: int, tag: int = 0) -> Request:
        """Start a synchronous send: the request completes once the receive has started."""
        ack = self._path.send(buf, dest, tag, _SYNC_STARTED)
        if ack is _FALLBACK:
            ack = _p2p.send_buf(self, buf, dest, tag, True)
        return _p2p.started(ack)

    def Recv(self, buf: BufSpec, source: int = C.ANY_SOURCE, tag: int = C.ANY_TAG,
             status: Optional[Status] = None) -> None:
        """Receive into a buffer."""
        if self._path.recv(buf, source, tag, status, True) is not _FALLBACK:
            return
        if source != C.PROC_NULL:
            message_region(buf, writable=True)
        _p2p.receive(self, buf, source, tag, status)

    def Irecv(self, buf: BufSpec, source: int = C.ANY_SOURCE,
              tag: int = C.ANY_TAG) -> Request:
        """Start receiving into a buffer."""
        req = self._path.post_recv(buf, source, tag)
        if req is not _FALLBACK:
            path = self._path
            return _receiving(req, lambda st: path.finish_recv(req, buf, st))
        if source != C.PROC_NULL:
            message_region(buf, writable=True)
        return _p2p.irecv(self, buf, source, tag)

    def Sendrecv(self, sendbuf: BufSpec, dest: int, sendtag: int = 0,
                 recvbuf: Optional[BufSpec] = None, source: int = C.ANY_SOURCE,
                 recvtag: int = C.ANY_TAG, status: Optional[Status] = None) -> None:
        """Send a buffer and receive into another."""
        if self._path.sendrecv(sendbuf, dest, sendtag, recvbuf, source, recvtag,
                               status) is not _FALLBACK:
            return
        _p2p.isendrecv(self, sendbuf, dest, sendtag, recvbuf, source, recvtag).Wait(status)

    def Isendrecv(self, sendbuf: BufSpec, dest: int, sendtag: int = 0,
                  recvbuf: Optional[BufSpec] = None, source: int = C.ANY_SOURCE,
                  recvtag: int = C.ANY_TAG) -> Request:
        """Start sending a buffer and receiving into another; the request completes when
        the message has arrived (sends are buffered)."""
        return _p2p.isendrecv(self, sendbuf, dest, sendtag, recvbuf, source, recvtag)

    def Sendrecv_replace(self, buf: BufSpec, dest: int, sendtag: int = 0,
                         source: int = C.ANY_SOURCE, recvtag: int = C.ANY_TAG,
                         status: Optional[Status] = None) -> None:
        """Send the buffer's contents and replace them with the message received."""
        _p2p.isendrecv_replace(self, buf, dest, sendtag, source, recvtag).Wait(status)

    def Isendrecv_replace(self, buf: BufSpec, dest: int, sendtag: int = 0,
                          source: int = C.ANY_SOURCE, recvtag: int = C.ANY_TAG) -> Request:
        """Start sending the buffer's contents and replacing them with the message received."""
        return _p2p.isendrecv_replace(self, buf, dest, sendtag, source, recvtag)

    # -- persistent requests: checked once, started any number of times ---------------------
    def Send_init(self, buf: BufSpec, dest: int, tag: int = 0) -> Prequest:
        """A persistent send: ``Start()`` sends the buffer's current contents."""
        self._check_dest(dest)
        self._check_send_tag(tag)
        return Prequest(starter=lambda: self.Isend(buf, dest, tag))

    Bsend_init = Send_init
    Rsend_init = Send_init

    def Ssend_init(self, buf: BufSpec, dest: int, tag: int = 0) -> Prequest:
        """A persistent synchronous send."""
        self._check_dest(dest)
        self._check_send_tag(tag)
        return Prequest(starter=lambda: self.Issend(buf, dest, tag))

    def Recv_init(self, buf: BufSpec, source: int = C.ANY_SOURCE,
                  tag: int = C.ANY_TAG) -> Prequest:
        """A persistent receive into ``buf``."""
        self._check_source(source)
        self._check_recv_tag(tag)
        return Prequest(starter=lambda: self.Irecv(buf, source, tag))

    # -- partitioned point to point (MPI 4; the work is in _partitioned) ----------------------
    def Psend_init(self, buf: BufSpec, partitions: int, dest: int, tag: int = 0,
                   info: Optional[Info] = None) -> Prequest:
        """A persistent partitioned send: after ``Start()``, ``Pready(i)`` sends block i of
        the buffer's ``partitions`` equal blocks."""
        return _partitioned.psend_init(self, buf, partitions, dest, tag)

    def Precv_init(self, buf: BufSpec, partitions: int, source: int = C.ANY_SOURCE,
                   tag: int = C.ANY_TAG, info: Optional[Info] = None) -> Prequest:
        """A persistent partitioned receive into the buffer's ``partitions`` equal blocks
        (``Parrived(i)``: block i is there). The source and tag must be named."""
        return _partitioned.precv_init(self, buf, partitions, source, tag)

    # -- probing ---------------------------------------------------------------------------------
    def probe(self, source: int = C.ANY_SOURCE, tag: int = C.ANY_TAG,
              status: Optional[Status] = None) -> bool:
        """Wait until a matching message is available (without receiving it)."""
        return _p2p.probe(self, source, tag, status, True)

    def iprobe(self, source: int = C.ANY_SOURCE, tag: int = C.ANY_TAG,
               status: Optional[Status] = None) -> bool:
        """True if a matching message is available."""
        return _p2p.probe(self, source, tag, status, False)

    Probe = probe
    Iprobe = iprobe

    def mprobe(self, source: int = C.ANY_SOURCE, tag: int = C.ANY_TAG,
               status: Optional[Status] = None) -> Message:
        """Match a message (to receive later with ``Message.recv``)."""
        return _p2p.mprobe(self, source, tag, status, True)  # type: ignore[return-value]

    def improbe(self, source: int = C.ANY_SOURCE, tag: int = C.ANY_TAG,
                status: Optional[Status] = None) -> Optional[Message]:
        """Probe for a matching message without blocking and take it as a Message, or return
        None."""
        return _p2p.mprobe(self, source, tag, status, False)

    Mprobe = mprobe
    Improbe = improbe

    # -- collectives: objects (one call at a time per operation, as mpi4py) ------------------
    def barrier(self) -> None:
        """Wait until every rank has called it."""
        if self._path.barrier() is _FALLBACK:
            _runtime.core().barrier(self._group, "", self._tag(self._next()), meet=True)

    def Barrier(self) -> None:
        """Wait until every rank has called it."""
        if self._path.barrier() is _FALLBACK:
            _runtime.core().barrier(self._group, "", self._tag(self._next()), meet=True)

    def bcast(self, obj: Any, root: int = 0) -> Any:
        """The root's object, on every rank (one call at a time, as mpi4py)."""
        with _comm_lock(self, "bcast"):
            got = self._path.bcast_obj(obj, root)
            return _objcoll.bcast(self, obj, root) if got is _FALLBACK else got

    gather = locked("gather", _objcoll.gather)
    scatter = locked("scatter", _objcoll.scatter)
    allgather = locked("allgather", _objcoll.allgather)
    alltoall = locked("alltoall", _objcoll.alltoall)
    reduce = locked("reduce", _objcoll.reduce)

    def allreduce(self, sendobj: Any, op: O.Op = O.SUM) -> Any:
        """The reduction (in rank order) of every rank's object, on every rank (one call
        at a time, as mpi4py)."""
        with _comm_lock(self, "allreduce"):
            got = self._path.allreduce_obj(sendobj, op)
            if got is _FALLBACK:
                return _objcoll.allreduce(self, sendobj, op)
            if type(got) is _UnmetMeeting:
                return _objcoll.finish_allreduce(self, sendobj, op, got.tag, got.cells)
            return got

    scan = locked("scan", _objcoll.scan)
    exscan = locked("exscan", _objcoll.exscan)

    # -- collectives: buffers ------------------------------------------------------------------
    def Bcast(self, buf: BufSpec, root: int = 0) -> None:
        """Broadcast the root's buffer into every rank's buffer."""
        if self._path.bcast(buf, root) is _FALLBACK:
            _bufcoll.bcast(self, None, buf, root)

    def Gather(self, sendbuf: Optional[BufSpec], recvbuf: Optional[BufSpecB],
               root: int = 0) -> None:
        """Gather equal blocks to the root's buffer, in rank order."""
        if self._path.gather(sendbuf, recvbuf, root, False) is _FALLBACK:
            _bufcoll.gather(self, None, sendbuf, recvbuf, root, True)

    def Gatherv(self, sendbuf: Optional[BufSpec], recvbuf: Optional[BufSpecV],
                root: int = 0) -> None:
        """Gather blocks of per-rank counts and displacements to the root's buffer."""
        _bufcoll.gather(self, None, sendbuf, recvbuf, root, False)

    def Allgather(self, sendbuf: Optional[BufSpec], recvbuf: BufSpecB) -> None:
        """Gather equal blocks to every rank's buffer."""
        if self._path.gather(sendbuf, recvbuf, 0, True) is _FALLBACK:
            _bufcoll.allgather(self, None, sendbuf, recvbuf, True)

    def Allgatherv(self, sendbuf: Optional[BufSpec], recvbuf: BufSpecV) -> None:
        """Gather blocks of per-rank counts and displacements to every rank's buffer."""
        _bufcoll.allgather(self, None, sendbuf, recvbuf, False)

    def Scatter(self, sendbuf: Optional[BufSpecB], recvbuf: Optional[BufSpec],
                root: int = 0) -> None:
        """Scatter equal blocks of the root's buffer to every rank."""
        if self._path.scatter(sendbuf, recvbuf, root) is _FALLBACK:
            _bufcoll.scatter(self, None, sendbuf, recvbuf, root, True)

    def Scatterv(self, sendbuf: Optional[BufSpecV], recvbuf: Optional[BufSpec],
                 root: int = 0) -> None:
        """Scatter blocks of per-rank counts and displacements of the root's buffer."""
        _bufcoll.scatter(self, None, sendbuf, recvbuf, root, False)

    def Allreduce(self, sendbuf: Optional[BufSpec], recvbuf: BufSpec,
                  op: O.Op = O.SUM) -> None:
        """Reduce every rank's buffer into every rank's receive buffer."""
        if self._path.reduce(sendbuf, recvbuf, op, 0, True) is _FALLBACK:
            _bufcoll.allreduce(self, None, sendbuf, recvbuf, op)

    def Reduce(self, sendbuf: Optional[BufSpec], recvbuf: Optional[BufSpec],
               op: O.Op = O.SUM, root: int = 0) -> None:
        """Reduce every rank's buffer into the root's receive buffer."""
        if self._path.reduce(sendbuf, recvbuf, op, root, False) is _FALLBACK:
            _bufcoll.reduce(self, None, sendbuf, recvbuf, op, root)

    def Reduce_scatter_block(self, sendbuf: Optional[BufSpecB], recvbuf: BufSpec,
                             op: O.Op = O.SUM) -> None:
        """Reduce, then rank i keeps block i."""
        _bufcoll.reduce_scatter_block(self, None, sendbuf, recvbuf, op)

    def Reduce_scatter(self, sendbuf: Optional[BufSpec], recvbuf: BufSpec,
                       recvcounts: Optional[Sequence[int]] = None,
                       op: O.Op = O.SUM) -> None:
        """Reduce, then rank i keeps the next ``recvcounts[i]`` elements."""
        _bufcoll.reduce_scatter(self, None, sendbuf, recvbuf, recvcounts, op)

    def Scan(self, sendbuf: Optional[BufSpec], recvbuf: BufSpec, op: O.Op = O.SUM) -> None:
        """Inclusive prefix reduction of buffers."""
        _bufcoll.scan(self, None, sendbuf, recvbuf, op, True)

    def Exscan(self, sendbuf: Optional[BufSpec], recvbuf: BufSpec, op: O.Op = O.SUM) -> None:
        """Exclusive prefix reduction of buffers (rank 0's receive buffer is untouched)."""
        _bufcoll.scan(self, None, sendbuf, recvbuf, op, False)

    def Alltoall(self, sendbuf: Optional[BufSpecB], recvbuf: BufSpecB) -> None:
        """Block j of rank i's send buffer goes to block i of rank j's receive buffer."""
        if self._path.alltoall(sendbuf, recvbuf) is _FALLBACK:
            _bufcoll.alltoall(self, None, sendbuf, recvbuf, True)

    def Alltoallv(self, sendbuf: Optional[BufSpecV], recvbuf: BufSpecV) -> None:
        """As Alltoall with per-rank counts and displacements."""
        _bufcoll.alltoall(self, None, sendbuf, recvbuf, False)

    def Alltoallw(self, sendbuf: Optional[BufSpecW], recvbuf: BufSpecW) -> None:
        """As Alltoallv with a datatype per rank and displacements in bytes."""
        _bufcoll.alltoallw(self, None, sendbuf, recvbuf)

    # -- non-blocking collectives: run in order on the runtime's async thread ---------------
    def Ibarrier(self) -> Request:
        """Start a barrier; the request completes when every member has entered it."""
        return _nbcoll.start(self, _objcoll.barrier)

    def Ibcast(self, buf: BufSpec, root: int = 0) -> Request:
        """Start a broadcast of ``buf`` from ``root`` to every member."""
        self._check_root(root)
        return _nbcoll.start(self, _bufcoll.bcast, buf, root)

    def Igather(self, sendbuf: Optional[BufSpec], recvbuf: Optional[BufSpecB],
                root: int = 0) -> Request:
        """Start gathering equal blocks from every member into ``recvbuf`` at ``root``."""
        self._check_root(root)
        return _nbcoll.start(self, _bufcoll.gather, sendbuf, recvbuf, root, True)

    def Igatherv(self, sendbuf: Optional[BufSpec], recvbuf: Optional[BufSpecV],
                 root: int = 0) -> Request:
        """Start gathering blocks of varying sizes from every member at ``root``."""
        self._check_root(root)
        return _nbcoll.start(self, _bufcoll.gather, sendbuf, recvbuf, root, False)

    def Iscatter(self, sendbuf: Optional[BufSpecB], recvbuf: Optional[BufSpec],
                 root: int = 0) -> Request:
        """Start scattering equal blocks of ``sendbuf`` at ``root`` to every member."""
        self._check_root(root)
        return _nbcoll.start(self, _bufcoll.scatter, sendbuf, recvbuf, root, True)

    def Iscatterv(self, sendbuf: Optional[BufSpecV], recvbuf: Optional[BufSpec],
                  root: int = 0) -> Request:
        """Start scattering blocks of varying sizes from ``root`` to every member."""
        self._check_root(root)
        return _nbcoll.start(self, _bufcoll.scatter, sendbuf, recvbuf, root, False)

    def Iallgather(self, sendbuf: Optional[BufSpec], recvbuf: BufSpecB) -> Request:
        """Start gathering equal blocks from every member into every member's ``recvbuf``."""
        return _nbcoll.start(self, _bufcoll.allgather, sendbuf, recvbuf, True)

    def Iallgatherv(self, sendbuf: Optional[BufSpec], recvbuf: BufSpecV) -> Request:
        """Start gathering blocks of varying sizes into every member's ``recvbuf``."""
        return _nbcoll.start(self, _bufcoll.allgather, sendbuf, recvbuf, False)

    def Ialltoall(self, sendbuf: Optional[BufSpecB], recvbuf: BufSpecB) -> Request:
        """Start exchanging equal blocks between every pair of members."""
        return _nbcoll.start(self, _bufcoll.alltoall, sendbuf, recvbuf, True)

    def Ialltoallv(self, sendbuf: Optional[BufSpecV], recvbuf: BufSpecV) -> Request:
        """Start exchanging blocks of varying sizes between every pair of members."""
        return _nbcoll.start(self, _bufcoll.alltoall, sendbuf, recvbuf, False)

    def Ialltoallw(self, sendbuf: Optional[BufSpecW], recvbuf: BufSpecW) -> Request:
        """Start exchanging blocks of varying sizes and datatypes between every pair of members."""
        return _nbcoll.start(self, _bufcoll.alltoallw, sendbuf, recvbuf)

    def Ireduce_scatter(self, sendbuf: Optional[BufSpec], recvbuf: BufSpec,
                        recvcounts: Optional[Sequence[int]] = None,
                        op: O.Op = O.SUM) -> Request:
        """Start a reduction whose result is scattered in blocks of ``recvcounts`` elements."""
        return _nbcoll.start(self, _bufcoll.reduce_scatter, sendbuf, recvbuf, recvcounts, op)

    def Ireduce(self, sendbuf: Optional[BufSpec], recvbuf: Optional[BufSpec],
                op: O.Op = O.SUM, root: int = 0) -> Request:
        """Start reducing every member's ``sendbuf`` with ``op`` into ``recvbuf`` at ``root``."""
        self._check_root(root)
        return _nbcoll.start(self, _bufcoll.reduce, sendbuf, recvbuf, op, root)

    def Iallreduce(self, sendbuf: Optional[BufSpec], recvbuf: BufSpec,
                   op: O.Op = O.SUM) -> Request:
        """Start reducing every member's ``sendbuf`` with ``op`` into every member's ``recvbuf``."""
        return _nbcoll.start(self, _bufcoll.allreduce, sendbuf, recvbuf, op)

    def Ireduce_scatter_block(self, sendbuf: Optional[BufSpecB], recvbuf: BufSpec,
                              op: O.Op = O.SUM) -> Request:
        """Start a reduction whose result is scattered in equal blocks."""
        return _nbcoll.start(self, _bufcoll.reduce_scatter_block, sendbuf, recvbuf, op)

    def Iscan(self, sendbuf: Optional[BufSpec], recvbuf: BufSpec, op: O.Op = O.SUM) -> Request:
        """Start an inclusive prefix reduction over the members in rank order."""
        return _nbcoll.start(self, _bufcoll.scan, sendbuf, recvbuf, op, True)

    def Iexscan(self, sendbuf: Optional[BufSpec], recvbuf: BufSpec,
                op: O.Op = O.SUM) -> Request:
        """Start an exclusive prefix reduction over the members in rank order."""
        return _nbcoll.start(self, _bufcoll.scan, sendbuf, recvbuf, op, False)

    # -- communicator management -------------------------------------------------------------
    def Dup(self, info: Optional[Info] = None) -> Comm:
        """A new communicator with the same group, topology and fresh contexts."""
        made = Comm.__new__(type(self), *_create.dup(self), "")  # not a subclass's __new__
        made._topology = self._topology
        _attributes.copy_all(self, self._attrs, made._attrs)
        return made

    def Clone(self) -> Comm:
        """Return a duplicate of the communicator (as ``Dup``)."""
        return self.Dup()

    def Dup_with_info(self, info: Info) -> Comm:
        """Duplicate the communicator with ``info`` as its hints."""
        return self.Dup(info)

    def Idup(self, info: Optional[Info] = None) -> Tuple[Comm, Request]:
        """Duplicate the communicator, nonblocking: return (duplicate, request). The duplicate is
        made at once (a collective step like Dup's), so the request is already complete."""
        return self.Dup(info), Request(finish=_DONE)

    def Idup_with_info(self, info: Info) -> Tuple[Comm, Request]:
        """Start duplicating the communicator with ``info`` as its hints."""
        return self.Idup(info)

    # -- fault tolerance (MPI 5 / ULFM, as MPICH has it; the work is in _ulfm) --------------
    def Agree(self, flag: int) -> int:
        """The bitwise AND of every member's ``flag`` (both groups of an Intercomm)."""
        self._check()
        return _ulfm.agree_value(self, _ulfm.next_agreement(self), operator.index(flag))

    def Iagree(self, flag: Buffer) -> Request:
        """Start Agree on the one int in the buffer ``flag``; the result replaces it."""
        self._check()
        array = _ulfm.flag_array(flag)
        number = _ulfm.next_agreement(self)
        return Request(future=_runtime.executor().submit(_ulfm.iagree, self, number, array))

    def Shrink(self) -> Comm:
        """A communicator of the members that have not failed: all of them in hpxpy, whose
        job ends when a locality is lost (a duplicate)."""
        return self.Dup()

    def Ishrink(self) -> Tuple[Comm, Request]:
        """Shrink the communicator, nonblocking: return (Shrink's communicator, request); made at
        once, as Idup."""
        return self.Shrink(), Request(finish=_DONE)

    def Get_failed(self) -> Group:
        """The members known to have failed: none while the job runs."""
        self._check()
        return Group._make([])

    def Ack_failed(self, num_to_ack: Optional[int] = None) -> int:
        """Acknowledge up to ``num_to_ack`` failures; returns how many are acknowledged."""
        return _ulfm.ack_failed(self, num_to_ack)

    def Is_revoked(self) -> bool:
        """Whether the communicator was revoked: never, as Revoke is not provided."""
        self._check()
        return False

    def Revoke(self) -> None:
        """Not provided, as with MPICH (mpi4py raises NotImplementedError there)."""
        self._check()
        raise NotImplementedError("Comm.Revoke is not supported by hpxpy (nor by MPICH): a "
                                  "lost locality ends the job")

    def Split(self, color: int = 0, key: int = 0) -> Comm:
        """Sub-communicators of the ranks with the same color, ordered by (key, rank).

        ``color=MPI.UNDEFINED`` returns ``MPI.COMM_NULL``.
        """
        made = _create.split(self, color, key)
        return COMM_NULL if made is None else Intracomm(*made, "")

    def Split_type(self, split_type: int, key: int = 0, info: Optional[Info] = None) -> Comm:
        """COMM_TYPE_SHARED: ranks on the same host (all of them, for a local job);
        ``MPI.UNDEFINED``: COMM_NULL. Ranks may pass either: all take the same steps.

        The MPI 4 hardware types know one level, the host (``mpi_shared_memory``):
        COMM_TYPE_HW_GUIDED and COMM_TYPE_RESOURCE_GUIDED split by host when ``info``'s
        ``mpi_hw_resource_type`` names it, else give COMM_NULL; COMM_TYPE_HW_UNGUIDED
        splits by host when the communicator spans hosts (setting that key in ``info``),
        else gives COMM_NULL."""
        resource = info.Get(_create.HW_RESOURCE_KEY) if info else None
        comm = self.Split(_create.split_type_color(self, split_type, resource), key)
        if split_type == C.COMM_TYPE_HW_UNGUIDED and comm and info:
            info.Set(_create.HW_RESOURCE_KEY, _create.HW_SHARED_MEMORY)
        return comm

    def Create(self, group: Group) -> Comm:
        """A communicator of ``group``'s members (COMM_NULL on the others)."""
        made = _create.create(self, group)
        return COMM_NULL if made is None else Intracomm(*made, "")

    def Create_group(self, group: Group, tag: int = 0) -> Comm:
        """A communicator of ``group``'s members, collective over those members only (the
        others need not call it); concurrent calls on overlapping groups need distinct
        tags, as in MPI."""
        made = _create.create_group(self, group, tag)
        return COMM_NULL if made is None else Intracomm(*made, "")

    def Free(self) -> None:
        """Release the communicator (it then compares equal to COMM_NULL)."""
        self._check()
        if self is COMM_WORLD or self is COMM_SELF:
            raise MPIException(C.ERR_COMM, "cannot free a predefined communicator")
        try:
            _attributes.delete_all(self, self._attrs)  # the callbacks see it still alive
        finally:
            self._members = None
            self._group = None
            self._path = NULL_PATH

    def free(self) -> None:
        """Free the communicator unless it is null or predefined."""
        if self._members is not None and self is not COMM_WORLD and self is not COMM_SELF:
            self.Free()

    def Disconnect(self) -> None:
        """Free the communicator after its pending communication (as ``Free`` here)."""
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

    # -- attributes, hints, error handlers ---------------------------------------------------
    # Create_keyval, Free_keyval, Get_attr, Set_attr, Delete_attr: _attributes.AttrMethods
    def _attr_table(self) -> _attributes.Table:
        self._check()
        return self._attrs

    def _predefined_attr(self, keyval: int) -> Any:
        """MPI's predefined attributes (every communicator answers them)."""
        self._check()
        if keyval == C.TAG_UB:
            return C.TAG_MAX
        if keyval == C.HOST:  # no host is special
            return C.PROC_NULL
        if keyval == C.IO:  # every process can do I/O
            return C.ANY_SOURCE
        if keyval == C.WTIME_IS_GLOBAL:  # each process has its own clock
            return False
        if keyval == C.APPNUM:  # which command of a spawn; 0: the one program
            appnum = _dynproc.appnum()
            return 0 if appnum is None else appnum
        if keyval == C.UNIVERSE_SIZE:  # what a spawn may reach (_dynamic.universe_size)
            return _dynproc.universe_size()
        if keyval == C.LASTUSEDCODE:
            return last_used_code()
        return _attributes.MISSING

    def Get_info(self) -> Info:
        """A copy of the hints set on the communicator."""
        self._check()
        return self._info.Dup() if self._info else Info.Create()

    def Set_info(self, info: Info) -> None:
        """Set the communicator's hints."""
        self._check()
        self._info = info.Dup() if info else None

    info = property(Get_info, Set_info)

    def Set_errhandler(self, errhandler: _Errhandler) -> None:
        """Set the error handler called on the communicator's errors."""
        self._check()
        self._errhandler = check_settable(errhandler)

    def Get_errhandler(self) -> _Errhandler:
        """A new reference to the communicator's error handler."""
        self._check()
        return _errhandler.reference(self.__dict__.get("_errhandler", ERRORS_RETURN))

    def Call_errhandler(self, errorcode: int) -> None:
        """Run the communicator's error handler with ``errorcode``."""
        self._check()
        _errhandler.call(self.__dict__.get("_errhandler", ERRORS_RETURN), self, errorcode)

    @classmethod
    def Create_errhandler(cls, errhandler_fn: Any) -> _Errhandler:
        """A user error handler: ``errhandler_fn(comm, errorcode)``."""
        return _errhandler.create("Comm", errhandler_fn)


class Intracomm(Comm):
    """An intra-communicator: one group."""

    def _accept(self, comm: _Handle) -> None:
        if isinstance(comm, Intercomm):
            raise TypeError("expecting an intra-communicator, got an Intercomm")

    def Spawn(self, command: str, args: Optional[Sequence[str]] = None, maxprocs: int = 1,
              info: Info = INFO_NULL, root: int = 0,
              errcodes: Optional[list] = None) -> Intercomm:
        """Start ``maxprocs`` processes of ``command`` as a new job and return the
        inter-communicator to them (collective; the arguments count at ``root`` only).
        info keys: ``wdir``, ``path``, ``env`` (``NAME=value`` lines)."""
        return _dynproc.spawn(self, command, args, maxprocs, info, root, errcodes, False)

    def Spawn_multiple(self, command: Sequence[str],
                       args: Optional[Sequence[Sequence[str]]] = None,
                       maxprocs: Optional[Sequence[int]] = None,
                       info: Union[Info, Sequence[Info]] = INFO_NULL, root: int = 0,
                       errcodes: Optional[list] = None) -> Intercomm:
        """Spawn several commands as one job (``MPI.APPNUM`` tells them apart)."""
        return _dynproc.spawn(self, command, args, maxprocs, info, root, errcodes, True)

    def Accept(self, port_name: str, info: Info = INFO_NULL, root: int = 0) -> Intercomm:
        """Wait for a group connecting to ``port_name`` (opened at ``root`` by
        ``MPI.Open_port``) and return the inter-communicator to it (collective)."""
        return _dynproc.accept(self, port_name, root)

    def Connect(self, port_name: str, info: Info = INFO_NULL, root: int = 0) -> Intercomm:
        """Connect to the group accepting on ``port_name`` (significant at ``root``); the
        inter-communicator to it (collective)."""
        return _dynproc.connect(self, port_name, root)

    def Create_intercomm(self, local_leader: int, peer_comm: Intracomm, remote_leader: int,
                         tag: int = 0) -> Intercomm:
        """An inter-communicator between this group and another one: the two leaders
        (``local_leader`` here, ``remote_leader`` in ``peer_comm``, which holds both)
        swap their groups over ``peer_comm`` with ``tag``."""
        members = self._check()
        self._check_root(local_leader)
        nxt = self.allreduce(_contexts.TABLE.peek(), op=O.MAX)
        swapped = None
        if self._rank == local_leader:
            swapped = peer_comm.sendrecv((members, nxt), dest=remote_leader, sendtag=tag,
                                         source=remote_leader, recvtag=tag)
        remote, remote_nxt = self.bcast(swapped, root=local_leader)
        base = max(nxt, remote_nxt)
        _contexts.TABLE.reserve(base, 2)
        return Intercomm._make(list(members), list(remote), base)

    @classmethod
    def Create_from_group(cls, group: Group, stringtag: str = "org.mpi4py",
                          info: Info = INFO_NULL, errhandler: Optional[_Errhandler] = None
                          ) -> Intracomm:
        """A communicator of ``group``'s processes (MPI 4, e.g. a session's process set),
        collective over those processes only; concurrent calls on overlapping groups need
        distinct ``stringtag``s, as in MPI."""
        made: Any = COMM_WORLD.Create_group(group, zlib.crc32(stringtag.encode()) & 0x7FFF)
        if errhandler is not None:
            made.Set_errhandler(errhandler)
        return made

    # -- topologies (the work is in _topo) ---------------------------------------------------
    def Create_cart(self, dims: Sequence[int], periods: Optional[Sequence[bool]] = None,
                    reorder: bool = False) -> Cartcomm:
        """A Cartesian grid over the first prod(dims) ranks (a null Cartcomm on the
        others); ``periods`` per dimension or one bool for all. Never reorders."""
        return _topo.build(Cartcomm, _topo.create_cart(self, dims, periods))

    def Create_graph(self, index: Sequence[int], edges: Sequence[int],
                     reorder: bool = False) -> Graphcomm:
        """A graph over the first len(index) ranks (index may start with a 0)."""
        return _topo.build(Graphcomm, _topo.create_graph(self, index, edges))

    def Create_dist_graph_adjacent(self, sources: Sequence[int],
                                   destinations: Sequence[int],
                                   sourceweights: Optional[Sequence[int]] = None,
                                   destweights: Optional[Sequence[int]] = None,
                                   info: Info = INFO_NULL,
                                   reorder: bool = False) -> Distgraphcomm:
        """A distributed graph: each rank names its in- and out-neighbours (weights:
        None/UNWEIGHTED, WEIGHTS_EMPTY, or one per neighbour)."""
        return _topo.build(Distgraphcomm, _topo.create_dist_graph_adjacent(
            self, sources, destinations, sourceweights, destweights))

    def Create_dist_graph(self, sources: Sequence[int], degrees: Sequence[int],
                          destinations: Sequence[int],
                          weights: Optional[Sequence[int]] = None, info: Info = INFO_NULL,
                          reorder: bool = False) -> Distgraphcomm:
        """A distributed graph: each rank names any edges (``degrees[i]`` edges from
        ``sources[i]``, to the next entries of ``destinations``)."""
        return _topo.build(Distgraphcomm, _topo.create_dist_graph(
            self, sources, degrees, destinations, weights))

    def Cart_map(self, dims: Sequence[int], periods: Optional[Sequence[bool]] = None) -> int:
        """This rank's rank in such a grid (UNDEFINED if outside it)."""
        return _topo.cart_map(self, dims, periods)

    def Graph_map(self, index: Sequence[int], edges: Sequence[int]) -> int:
        """This rank's rank in such a graph (UNDEFINED if outside it)."""
        return _topo.graph_map(self, index, edges)


class Topocomm(_topo.TopoMethods, Intracomm):
    """A communicator with a topology: neighbour lists and neighbour collectives."""


class Cartcomm(_topo.CartMethods, Topocomm):
    """A communicator over a Cartesian grid (``Intracomm.Create_cart``)."""


class Graphcomm(_topo.GraphMethods, Topocomm):
    """A communicator over a graph (``Intracomm.Create_graph``)."""


class Distgraphcomm(_topo.DistgraphMethods, Topocomm):
    """A communicator over a distributed graph (``Create_dist_graph[_adjacent]``)."""


class Intercomm(Comm):
    """An inter-communicator: a local and a remote group. Point to point names remote
    ranks (its members are the remote group's); size, rank and group are the local
    group's; collectives run as MPI defines them between two groups (``_intercomm``)."""

    _local_members: List[int]  # world rank of each rank of the local group
    _local: Intracomm  # over the local group, on the second context block

    def __new__(cls: Type[InterT], comm: Optional[Comm] = None) -> InterT:
        if comm is not None and not isinstance(comm, Intercomm):
            raise TypeError(f"expecting an Intercomm, got {type(comm).__name__}")
        return super().__new__(cls, comm)

    @classmethod
    def _make(cls, local: list, remote: list, base: int) -> Intercomm:
        """The inter-communicator of the contexts ``base`` (between the groups) and
        ``base + STRIDE`` (its local intra-communicator)."""
        made = Comm.__new__(cls)
        made._handle_name = ""
        made._info = None
        made._attrs = {}
        made._setup(remote, base, "")
        made._rank = local.index(_runtime.locality_id())
        made._path = _core.CommPath(base, made._rank, remote)
        made._local_members = local
        made._local = Intracomm(local, base + _contexts.STRIDE, "")
        return made

    def _agree_base(self, count: int = 1) -> int:
        """A base context free in both groups (2 * count blocks taken from it)."""
        nxt = self._local.allreduce(_contexts.TABLE.peek(), op=O.MAX)
        base = max(nxt, _intercomm.bridge(self, self._local, self._next(), nxt))
        _contexts.TABLE.reserve(base, 2 * count)
        return base

    @classmethod
    def Create_from_groups(cls, local_group: Group, local_leader: int, remote_group: Group,
                           remote_leader: int, stringtag: str = "org.mpi4py",
                           info: Optional[Info] = None, errhandler: Any = None) -> Intercomm:
        """An inter-communicator from two disjoint groups of COMM_WORLD's processes,
        collective over both (MPI 4): the local group agrees on a communicator, then the
        leaders swap their groups on a context of COMM_WORLD's block that nothing else uses."""
        local: Any = COMM_WORLD.Create_group(local_group,
                                             zlib.crc32(stringtag.encode()) & 0x7FFF)
        leader = remote_group._ranks[remote_leader]
        return local.Create_intercomm(local_leader, _Handshake(), leader,
                                      zlib.crc32(stringtag.encode()) & 0x7FFFFFFF)

    is_inter = property(lambda self: self.Is_inter())
    is_intra = property(lambda self: self.Is_intra())

    def Split(self, color: int = 0, key: int = 0) -> Comm:
        """Inter-communicators between the ranks of each color in both groups, ordered by
        (key, rank); COMM_NULL for UNDEFINED or a color the other group lacks."""
        self._check()
        table = self._local.allgather((int(color), int(key)))
        theirs = _intercomm.bridge(self, self._local, self._next(), table)
        colors = sorted({c for c, _ in table + theirs if c != C.UNDEFINED})
        base = self._agree_base(max(1, len(colors)))
        if color == C.UNDEFINED:
            return COMM_NULL

        def ranks(rows: list, members: list) -> list:
            return [members[r] for _, r in sorted((k, r) for r, (c, k) in enumerate(rows)
                                                  if c == color)]

        remote = ranks(theirs, list(self._members or []))
        if not remote:
            return COMM_NULL
        return Intercomm._make(ranks(table, self._local_members), remote,
                               base + 2 * _contexts.STRIDE * colors.index(color))

    def Split_type(self, split_type: int, key: int = 0,
                   info: Optional[Info] = None) -> Comm:
        """Inter-communicators between the processes of each host in both groups (all of
        them, for a local job), ordered by (key, rank); ``MPI.UNDEFINED``: COMM_NULL."""
        self._check()
        return self.Split(_intercomm.split_type_color(self, self._local, split_type), key)

    def Create(self, group: Group) -> Comm:
        """An inter-communicator between ``group`` (a subgroup of the local group, the
        same at every local member) and the subgroup the other group passes; COMM_NULL
        outside ``group`` or when either subgroup is empty. Collective over both groups."""
        self._check()
        group._check()
        if any(r not in self._local_members for r in group._ranks):
            raise MPIException(C.ERR_GROUP, "the group is not a subgroup of the local group")
        mine = list(group._ranks)
        theirs = _intercomm.bridge(self, self._local, self._next(), mine)
        base = self._agree_base()
        if _runtime.locality_id() not in mine or not theirs:
            return COMM_NULL
        return type(self)._make(mine, theirs, base)

    def Is_inter(self) -> bool:
        """Tell whether this is an inter-communicator (True)."""
        self._check()
        return True

    def Is_intra(self) -> bool:
        """Tell whether this is an intra-communicator (False)."""
        self._check()
        return False

    def Get_size(self) -> int:
        """Number of processes in the local group."""
        self._check()
        return len(self._local_members)

    def Get_group(self) -> Group:
        """The local group."""
        self._check()
        return Group._make(self._local_members)

    def Get_remote_group(self) -> Group:
        """The remote group."""
        return Group._make(self._check())

    def Get_remote_size(self) -> int:
        """Number of processes in the remote group."""
        return len(self._check())

    remote_group = property(Get_remote_group)
    remote_size = property(Get_remote_size)
    size = property(Get_size)
    group = property(Get_group)

    def Merge(self, high: bool = False) -> Intracomm:
        """An intra-communicator of both groups: the group passing ``high=False`` first
        (when both pass the same, the group whose leader has the lower world rank)."""
        self._check()
        seq = self._next()
        mine = (bool(high), self._local_members[0])
        theirs = _intercomm.bridge(self, self._local, seq, mine)
        local, remote = list(self._local_members), list(self._members or [])
        members = local + remote if mine < theirs else remote + local
        base = self._agree_base()
        return Intracomm(members, base, "")

    def Dup(self, info: Optional[Info] = None) -> Intercomm:
        """A new inter-communicator of the same groups, with fresh contexts."""
        self._check()
        made = type(self)._make(list(self._local_members), list(self._members or []),
                                self._agree_base())
        _attributes.copy_all(self, self._attrs, made._attrs)
        return made

    def Free(self) -> None:
        """Free the inter-communicator and its local intra-communicator."""
        self._check()
        self._local.Free()
        super().Free()

    def Disconnect(self) -> None:
        """Wait for both groups, end the connection to spawned or connected processes
        (goodbye both ways), and free the communicator."""
        _dynproc.disconnect(self)
        self.Free()

    # -- collectives between the groups (the work is in _intercomm) --------------------------
    def barrier(self) -> None:
        """Returns once every member of both groups has called it."""
        _intercomm.barrier(self, self._local)

    Barrier = barrier

    def bcast(self, obj: Any, root: int = 0) -> Any:
        """Broadcast an object from ``root`` to the other group.

        ``root``: MPI.ROOT at the root, MPI.PROC_NULL at the rest of its group, the root's
        rank at the other group's members (which get its object).
        """
        return _intercomm.bcast(self, self._local, obj, root)

    def gather(self, sendobj: Any, root: int = 0) -> Optional[List[Any]]:
        """The other group's objects, as a list at the root."""
        return _intercomm.gather(self, sendobj, root)

    def scatter(self, sendobj: Optional[Sequence[Any]], root: int = 0) -> Any:
        """Item i of the root's sequence to rank i of the other group."""
        return _intercomm.scatter(self, sendobj, root)

    def allgather(self, sendobj: Any) -> List[Any]:
        """The other group's objects, on every member."""
        return _intercomm.allgather(self, self._local, sendobj)

    def alltoall(self, sendobj: Sequence[Any]) -> List[Any]:
        """Item j to rank j of the other group; one item from each of its ranks."""
        return _intercomm.alltoall(self, sendobj)

    def reduce(self, sendobj: Any, op: O.Op = O.SUM, root: int = 0) -> Any:
        """The reduction of the other group's objects, at the root."""
        return _intercomm.reduce(self, self._local, sendobj, op, root)

    def allreduce(self, sendobj: Any, op: O.Op = O.SUM) -> Any:
        """The reduction of the other group's objects, on every member."""
        return _intercomm.allreduce(self, self._local, sendobj, op)

    # -- buffer collectives between the groups (the work is in _interbuf) ------------------
    def Bcast(self, buf: BufSpec, root: int = 0) -> None:
        """Broadcast a buffer from ``root`` to the other group.

        ``root``: MPI.ROOT at the root, MPI.PROC_NULL at the rest of its group, the root's
        rank at the other group's members (whose buffers get the root's).
        """
        _interbuf.bcast(self, None, buf, root)

    def Gather(self, sendbuf: Optional[BufSpec], recvbuf: Optional[BufSpecB],
               root: int = 0) -> None:
        """The other group's equal blocks, in its rank order, into the root's buffer."""
        _interbuf.gather(self, None, sendbuf, recvbuf, root, True)

    def Gatherv(self, sendbuf: Optional[BufSpec], recvbuf: Optional[BufSpecV],
                root: int = 0) -> None:
        """As Gather, with the root's per-remote-rank counts and displacements."""
        _interbuf.gather(self, None, sendbuf, recvbuf, root, False)

    def Scatter(self, sendbuf: Optional[BufSpecB], recvbuf: Optional[BufSpec],
                root: int = 0) -> None:
        """Block j of the root's buffer to rank j of the other group."""
        _interbuf.scatter(self, None, sendbuf, recvbuf, root, True)

    def Scatterv(self, sendbuf: Optional[BufSpecV], recvbuf: Optional[BufSpec],
                 root: int = 0) -> None:
        """As Scatter, with the root's per-remote-rank counts and displacements."""
        _interbuf.scatter(self, None, sendbuf, recvbuf, root, False)

    def Allgather(self, sendbuf: Optional[BufSpec], recvbuf: BufSpecB) -> None:
        """The other group's equal blocks, in its rank order, on every member."""
        _interbuf.allgather(self, None, sendbuf, recvbuf, True)

    def Allgatherv(self, sendbuf: Optional[BufSpec], recvbuf: BufSpecV) -> None:
        """As Allgather, with per-remote-rank counts and displacements."""
        _interbuf.allgather(self, None, sendbuf, recvbuf, False)

    def Alltoall(self, sendbuf: Optional[BufSpecB], recvbuf: BufSpecB) -> None:
        """Block j to rank j of the other group; its rank j's block into block j."""
        _interbuf.alltoall(self, None, sendbuf, recvbuf, True)

    def Alltoallv(self, sendbuf: Optional[BufSpecV], recvbuf: BufSpecV) -> None:
        """As Alltoall with per-remote-rank counts and displacements."""
        _interbuf.alltoall(self, None, sendbuf, recvbuf, False)

    def Alltoallw(self, sendbuf: Optional[BufSpecW], recvbuf: BufSpecW) -> None:
        """As Alltoallv with a datatype per remote rank and displacements in bytes."""
        _interbuf.alltoallw(self, None, sendbuf, recvbuf)

    def Reduce(self, sendbuf: Optional[BufSpec], recvbuf: Optional[BufSpec],
               op: O.Op = O.SUM, root: int = 0) -> None:
        """The reduction of the other group's buffers into the root's receive buffer."""
        _interbuf.reduce(self, None, sendbuf, recvbuf, op, root)

    def Allreduce(self, sendbuf: Optional[BufSpec], recvbuf: BufSpec,
                  op: O.Op = O.SUM) -> None:
        """The reduction of the other group's buffers, on every member."""
        _interbuf.allreduce(self, None, sendbuf, recvbuf, op)

    def Reduce_scatter_block(self, sendbuf: Optional[BufSpecB], recvbuf: BufSpec,
                             op: O.Op = O.SUM) -> None:
        """The reduction of the other group's buffers; local rank i keeps block i."""
        _interbuf.reduce_scatter_block(self, None, sendbuf, recvbuf, op)

    def Reduce_scatter(self, sendbuf: Optional[BufSpec], recvbuf: BufSpec,
                       recvcounts: Optional[Sequence[int]] = None,
                       op: O.Op = O.SUM) -> None:
        """The reduction of the other group's buffers; local rank i keeps the next
        ``recvcounts[i]`` elements."""
        _interbuf.reduce_scatter(self, None, sendbuf, recvbuf, recvcounts, op)

    def _check_root(self, root: int) -> int:
        """A root as an inter-communicator takes it: MPI.ROOT, MPI.PROC_NULL or a remote
        rank (the persistent collectives check theirs through this)."""
        _intercomm.check_root(self, root)
        return root

    # -- non-blocking: the same operations on the runtime's async thread ------------------
    def Ibarrier(self) -> Request:
        """Start a barrier over both groups."""
        return _nbcoll.start(self, _interbuf.barrier)

    def Ibcast(self, buf: BufSpec, root: int = 0) -> Request:
        """Start a broadcast from ``root`` in one group to every member of the other."""
        _intercomm.check_root(self, root)
        return _nbcoll.start(self, _interbuf.bcast, buf, root)

    def Igather(self, sendbuf: Optional[BufSpec], recvbuf: Optional[BufSpecB],
                root: int = 0) -> Request:
        """Start gathering equal blocks from the other group at ``root``."""
        _intercomm.check_root(self, root)
        return _nbcoll.start(self, _interbuf.gather, sendbuf, recvbuf, root, True)

    def Igatherv(self, sendbuf: Optional[BufSpec], recvbuf: Optional[BufSpecV],
                 root: int = 0) -> Request:
        """Start gathering blocks of varying sizes from the other group at ``root``."""
        _intercomm.check_root(self, root)
        return _nbcoll.start(self, _interbuf.gather, sendbuf, recvbuf, root, False)

    def Iscatter(self, sendbuf: Optional[BufSpecB], recvbuf: Optional[BufSpec],
                 root: int = 0) -> Request:
        """Start scattering equal blocks from ``root`` to the other group."""
        _intercomm.check_root(self, root)
        return _nbcoll.start(self, _interbuf.scatter, sendbuf, recvbuf, root, True)

    def Iscatterv(self, sendbuf: Optional[BufSpecV], recvbuf: Optional[BufSpec],
                  root: int = 0) -> Request:
        """Start scattering blocks of varying sizes from ``root`` to the other group."""
        _intercomm.check_root(self, root)
        return _nbcoll.start(self, _interbuf.scatter, sendbuf, recvbuf, root, False)

    def Iallgather(self, sendbuf: Optional[BufSpec], recvbuf: BufSpecB) -> Request:
        """Start gathering every member's block of the other group at every member."""
        return _nbcoll.start(self, _interbuf.allgather, sendbuf, recvbuf, True)

    def Iallgatherv(self, sendbuf: Optional[BufSpec], recvbuf: BufSpecV) -> Request:
        """Start gathering the other group's blocks of varying sizes at every member."""
        return _nbcoll.start(self, _interbuf.allgather, sendbuf, recvbuf, False)

    def Ialltoall(self, sendbuf: Optional[BufSpecB], recvbuf: BufSpecB) -> Request:
        """Start exchanging equal blocks between every member and every member of the other
        group."""
        return _nbcoll.start(self, _interbuf.alltoall, sendbuf, recvbuf, True)

    def Ialltoallv(self, sendbuf: Optional[BufSpecV], recvbuf: BufSpecV) -> Request:
        """Start exchanging blocks of varying sizes with every member of the other group."""
        return _nbcoll.start(self, _interbuf.alltoall, sendbuf, recvbuf, False)

    def Ialltoallw(self, sendbuf: Optional[BufSpecW], recvbuf: BufSpecW) -> Request:
        """Start exchanging blocks of varying sizes and datatypes with the other group."""
        return _nbcoll.start(self, _interbuf.alltoallw, sendbuf, recvbuf)

    def Ireduce(self, sendbuf: Optional[BufSpec], recvbuf: Optional[BufSpec],
                op: O.Op = O.SUM, root: int = 0) -> Request:
        """Start reducing the other group's buffers with ``op`` into ``recvbuf`` at ``root``."""
        _intercomm.check_root(self, root)
        return _nbcoll.start(self, _interbuf.reduce, sendbuf, recvbuf, op, root)

    def Iallreduce(self, sendbuf: Optional[BufSpec], recvbuf: BufSpec,
                   op: O.Op = O.SUM) -> Request:
        """Start reducing the other group's buffers with ``op`` into every member's ``recvbuf``."""
        return _nbcoll.start(self, _interbuf.allreduce, sendbuf, recvbuf, op)

    def Ireduce_scatter_block(self, sendbuf: Optional[BufSpecB], recvbuf: BufSpec,
                              op: O.Op = O.SUM) -> Request:
        """Start reducing the other group's buffers, scattered in equal blocks."""
        return _nbcoll.start(self, _interbuf.reduce_scatter_block, sendbuf, recvbuf, op)

    def Ireduce_scatter(self, sendbuf: Optional[BufSpec], recvbuf: BufSpec,
                        recvcounts: Optional[Sequence[int]] = None,
                        op: O.Op = O.SUM) -> Request:
        """Start reducing the other group's buffers, scattered in blocks of ``recvcounts``."""
        return _nbcoll.start(self, _interbuf.reduce_scatter, sendbuf, recvbuf, recvcounts, op)


class _Absent:
    """A name hpxpy's Comm defines that mpi4py's Intercomm does not have: looking it up on
    an Intercomm raises AttributeError, as with mpi4py (``hasattr`` is False)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, obj: Any, owner: Optional[type] = None) -> Any:
        where = f"type object {owner.__name__!r}" if obj is None and owner is not None \
            else f"{type(obj).__name__!r} object"
        raise AttributeError(f"{where} has no attribute {self._name!r}")


# What Comm defines for one group and an inter-communicator does not have, as in mpi4py
# and MPI: the prefix reductions and Create_group (MPI_Comm_create_group takes an
# intra-communicator). Never a one-group algorithm run on two groups. The other persistent
# collectives start the Intercomm's non-blocking forms.
for _name in ("Scan", "Exscan", "scan", "exscan", "Iscan", "Iexscan", "Scan_init",
              "Exscan_init", "Create_group"):
    _absent = _Absent()
    _absent.__set_name__(Intercomm, _name)
    setattr(Intercomm, _name, _absent)


class _Handshake:
    """Create_from_groups' leaders swap their groups as a peer communicator would, on the
    last context of COMM_WORLD's block (no communicator's messages travel there)."""

    def sendrecv(self, obj: Any, dest: int, sendtag: int, source: int, recvtag: int) -> Any:
        core = _runtime.core()
        context = _contexts.WORLD + _contexts.STRIDE - 1
        req = core.post_receive(context, source, recvtag)
        core.send(dest, context, sendtag, _pickle.dumps(obj))
        core.wait(req)
        return _pickle.loads(req.payload)


_NULL_HANDLE = 0x04000000  # MPICH's MPI_COMM_NULL, MPI_COMM_WORLD, MPI_COMM_SELF
_PREDEFINED_HANDLES = {_contexts.WORLD: 0x44000000, _contexts.SELF: 0x44000001}
_USER_HANDLE_BASE = 0x84000000  # + the communicator's first context: unique per process
_handles: weakref.WeakValueDictionary = weakref.WeakValueDictionary()

COMM_NULL = Intracomm(None)
COMM_NULL._handle_name = "COMM_NULL"
COMM_WORLD: Intracomm
COMM_SELF: Intracomm


def _make_predefined() -> None:
    global COMM_WORLD, COMM_SELF
    n = _runtime.num_localities()
    COMM_WORLD = Intracomm(list(range(n)), _contexts.WORLD, "MPI_COMM_WORLD")
    COMM_SELF = Intracomm([_runtime.locality_id()], _contexts.SELF, "MPI_COMM_SELF")
    COMM_WORLD._handle_name, COMM_SELF._handle_name = "COMM_WORLD", "COMM_SELF"


_make_predefined()
