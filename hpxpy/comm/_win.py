"""``MPI.Win``: one-sided communication (RMA) windows, as mpi4py 4.1 offers them.

A window is a private duplicate of its communicator (its context is the window's id, equal
on every member), this process's memory for it (registered with the process's RMA service,
``_rma_service``), and what every member exposes (size, displacement unit), gathered at
creation. Every operation on a target (put, get, accumulate, lock ...) is a request to the
target process's service thread, so passive-target operations progress however busy the
target is; the origin waits, asleep in the engine's receive, only for answers it needs
(a get's data, a lock grant, a flush). Puts and accumulates are not answered: a flush, an
unlock, a fence or a ``Complete`` asks the target for an answer after them, which (requests
from one origin being applied in order) means they are done.

Epochs are tracked at the origin as MPICH does, and MPI's errors are raised where MPICH
raises them: an operation outside an access epoch (``ERR_RMA_SYNC``), a bad rank
(``ERR_RANK``), a negative displacement (``ERR_DISP``), a user op (``ERR_OP``), a freed
window (``ERR_WIN``). Unlike MPICH, a target range outside the window raises
``ERR_RMA_RANGE`` instead of writing past it.

Layer 8 of hpxpy.comm: imports ``_comm`` (the window's communicator) and the layers below.
"""

from __future__ import annotations

import itertools
import operator
import pickle
import threading
import weakref
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

from .. import _runtime
from .._numpy import np
from . import _attributes, _errhandler, _ops
from . import _constants as C
from . import _datatypes as D
from . import _rma_service as S
from ._buffers import Region, _raw, get_address, message_region
from ._comm import COMM_SELF, Intracomm
from ._errhandler import ERRORS_RETURN, _Errhandler, check_settable
from ._errors import Exception as MPIException
from ._group import Group
from ._info import INFO_NULL, Info
from ._interop import _is_integral, to_numpy
from ._memory import buffer
from ._request import Request
from ._shmwin import Segment, layout
from ._typing import Bottom, Buffer, BufSpec, TargetSpec

TAG_POST, TAG_COMPLETE = 1, 2  # PSCW messages on the window's context
_FIRST_REPLY_TAG = 16
_LAST_REPLY_TAG = 1 << 30

_NULL_HANDLE = 0x20000000  # MPICH's MPI_WIN_NULL
_USER_HANDLE_BASE = -1610612736  # 0xa0000000 as a C int, MPICH's first window handle
_handle_numbers = itertools.count()
_by_handle: weakref.WeakValueDictionary[int, _State] = weakref.WeakValueDictionary()


def _no_result(status: Any) -> None:
    """The finish of an RMA request: the operation is done when the request is made."""


class _State:
    """What every reference to one window shares."""

    def __init__(self) -> None:
        self.freed = False
        self.comm: Any = None  # the private duplicate (an Intracomm)
        self.win_id = 0
        self.rank = 0
        self.members: List[int] = []  # world rank of each window rank
        self.index: Dict[int, int] = {}  # world rank -> window rank
        self.sizes: List[int] = []
        self.units: List[int] = []
        self.flavor = C.WIN_FLAVOR_CREATE
        self.base = 0
        self.size = 0
        self.disp_unit = 1
        self.target: Optional[S.Target] = None
        self.segment: Optional[Segment] = None
        self.shared_offsets: List[int] = []
        self.name = ""
        self.info: Optional[Info] = None
        self.errhandler = ERRORS_RETURN
        self.attrs: _attributes.Table = {}
        self.handle = 0
        # origin side
        self.lock = threading.Lock()
        self.tags = itertools.cycle(range(_FIRST_REPLY_TAG, _LAST_REPLY_TAG))
        self.dirty: Set[int] = set()  # ranks with unanswered puts/accumulates
        self.fence = False  # a fence epoch is open
        self.fence_used = False  # ... and an operation was issued in it
        self.locks: Dict[int, int] = {}  # rank -> lock type held
        self.lock_all = False
        self.access: Optional[Set[int]] = None  # PSCW: the Start group (window ranks)
        self.exposure: Optional[List[int]] = None  # PSCW: Post group, COMPLETE pending

    # -- requests to a target's service -----------------------------------------------------
    def next_tag(self) -> int:
        with self.lock:
            return next(self.tags)

    def send(self, rank: int, kind: int, disp: int = 0, count: int = 0,
             dt: Optional[D.Datatype] = None, op: str = "", extra: Any = None,
             data: Optional[np.ndarray] = None, reply: bool = True) -> int:
        """Send a request to ``rank``'s service; returns the tag its answer will carry
        (0: none expected)."""
        tag = self.next_tag() if reply else 0
        header = S.pack_request(kind, self.win_id, tag, disp, count,
                                S.encode_type(dt) if dt is not None else None, op, extra)
        parts: List[Any] = [header]
        if data is not None and data.size:
            parts.append(np.ascontiguousarray(data))
        _runtime.core().send(self.members[rank], S.SERVICE_CONTEXT, 0, parts)
        if not reply:
            self.dirty.add(rank)
        return tag

    def answer(self, rank: int, tag: int) -> memoryview:
        """Wait (asleep) for the answer ``tag`` from ``rank``; its data, or raise its error."""
        _, _, payload = _runtime.core().receive(self.win_id, self.members[rank], tag)
        view = memoryview(payload)
        if bytes(view[:1]) == S.ERROR:
            code, message = pickle.loads(view[1:])
            raise MPIException(code, message)
        return view[1:]

    def call(self, rank: int, kind: int, **kwargs: Any) -> memoryview:
        return self.answer(rank, self.send(rank, kind, **kwargs))

    def data_op(self, rank: int, kind: int, disp: int = 0, count: int = 0,
                dt: Optional[D.Datatype] = None, op: str = "", extra: Any = None,
                data: Optional[np.ndarray] = None) -> memoryview:
        """A data operation: applied here at once when this process is the target (under
        the window's lock, as the service applies it), else a request to the target's
        service; returns the fetched data (puts and accumulates: nothing, unanswered)."""
        answered = kind not in (S.PUT, S.ACC)
        target = self.target
        if rank == self.rank and target is not None:
            raw = np.ascontiguousarray(data).view(np.uint8).data \
                if data is not None else memoryview(b"")
            with target.lock:
                result = target.apply(kind, disp, count, dt, op, extra, raw)
            return result.view(np.uint8).data if result is not None else memoryview(b"")
        if not answered:
            self.send(rank, kind, disp=disp, count=count, dt=dt, op=op, extra=extra,
                      data=data, reply=False)
            return memoryview(b"")
        return self.call(rank, kind, disp=disp, count=count, dt=dt, op=op, extra=extra,
                         data=data)

    def flush(self, ranks: Sequence[int]) -> None:
        """Wait until every put/accumulate issued to ``ranks`` is applied; raise the first
        error a target found in them."""
        pending = [(r, self.send(r, S.FLUSH)) for r in ranks if r in self.dirty]
        error: Optional[MPIException] = None
        for r, tag in pending:
            self.dirty.discard(r)
            try:
                self.answer(r, tag)
            except MPIException as exc:
                error = error or exc
        if error is not None:
            raise error

    # -- checks ------------------------------------------------------------------------------
    def check_rank(self, rank: Any) -> int:
        size = len(self.members)
        if not (isinstance(rank, (int, np.integer)) and 0 <= rank < size):
            raise MPIException(C.ERR_RANK, f"invalid rank {rank}; expected 0 <= rank < {size} "
                                           "or MPI.PROC_NULL")
        return int(rank)

    def check_access(self, rank: int) -> None:
        if rank in self.locks or self.lock_all:
            return
        if self.access is not None and rank in self.access:
            return
        if self.fence:
            self.fence_used = True
            return
        raise MPIException(C.ERR_RMA_SYNC, "RMA operation outside an access epoch "
                                           "(no Fence, Lock, Lock_all or Start)")

    def check_passive(self, rank: Optional[int]) -> None:
        if self.lock_all or (self.locks if rank is None else rank in self.locks):
            return
        raise MPIException(C.ERR_RMA_SYNC, "no passive-target epoch (Lock or Lock_all) "
                                           "for this flush")

    def check_range(self, rank: int, disp: int, count: int, dt: D.Datatype) -> None:
        if disp < 0:
            raise MPIException(C.ERR_DISP, f"invalid target displacement {disp}")
        if self.flavor == C.WIN_FLAVOR_DYNAMIC or count == 0:
            return
        lb, extent = dt.Get_extent()
        tlb, textent = dt.Get_true_extent()
        low = disp * self.units[rank] + tlb
        high = disp * self.units[rank] + (count - 1) * extent + tlb + textent
        if low < 0 or high > self.sizes[rank]:
            raise MPIException(C.ERR_RMA_RANGE, f"target bytes [{low}, {high}) outside the "
                                                f"{self.sizes[rank]} bytes rank {rank} "
                                                "exposes")


def _origin(spec: Any, writable: bool) -> Region:
    """The origin (or result) buffer of an RMA call, parsed as mpi4py parses it."""
    if spec is None:
        return Region(None, D.PREDEFINED["BYTE"], 0, 0)
    return message_region(spec, writable)


def _target(target: Any, count: int, dt: D.Datatype) -> Tuple[int, int, D.Datatype]:
    """(disp, count, datatype) of a target spec: None, a displacement, or a list/tuple of
    up to three items (displacement, count, datatype); missing items from the origin."""
    disp = 0
    if target is None:
        pass
    elif _is_integral(target):
        disp = operator.index(target)
    elif isinstance(target, (list, tuple)):
        if len(target) > 3:
            raise ValueError("target: expecting 3 items at most")
        if len(target) >= 1:
            disp = operator.index(target[0])
        if len(target) >= 2:
            count = operator.index(target[1])
        if len(target) >= 3:
            dt = target[2] if isinstance(target[2], D.Datatype) else \
                D.Datatype.fromcode(target[2])
    else:
        raise ValueError("target: expecting integral or list/tuple")
    return disp, count, dt


def _nbytes(count: int, dt: D.Datatype) -> int:
    return count * dt.Get_size() if count else 0


def _check_signature(origin: Region, count: int, dt: D.Datatype) -> None:
    if _nbytes(origin.count, origin.dt) != _nbytes(count, dt):
        raise MPIException(C.ERR_TYPE, "origin and target type signatures differ "
                                       f"({_nbytes(origin.count, origin.dt)} and "
                                       f"{_nbytes(count, dt)} bytes)")


def _check_op(op: Any, dt: D.Datatype) -> _ops.Op:
    if not isinstance(op, _ops.Op):
        raise TypeError(f"expected an MPI.Op, got {type(op).__name__}")
    op._check()
    if not op.is_predefined:
        raise MPIException(C.ERR_OP, "user-defined operations cannot be used in RMA")
    if op is not _ops.REPLACE and op is not _ops.NO_OP and dt:
        base = D.from_numpy(dt.numpy_dtype)
        if base is not None:
            op.check_datatype(base)
    return op


def _store(region: Region, data: memoryview) -> None:
    """Write received bytes into an origin/result buffer."""
    if region.count == 0:
        return
    values = np.frombuffer(data, dtype=region.dt.numpy_dtype)
    if region.dt.is_dense and region.mem is not None:
        view = region.data()
        view[...] = values
    else:
        region.store(values)


def _one(region: Region, what: str) -> None:
    if region.count != 1:
        raise ValueError(f"{what}: expecting one item, got {region.count}")



def _checked(s: Any, region: Any, target_rank: int, target: TargetSpec | None,
             op: _ops.Op | None = None) -> Tuple[int, int, int, Any]:
    """Put/Get/Accumulate's target: (rank, disp, count, datatype), checked in MPICH's
    order (rank, target spec, op, epoch, range, signature)."""
    rank = s.check_rank(target_rank)
    disp, count, dt = _target(target, region.count, region.dt)
    if op is not None:
        _check_op(op, dt)
    s.check_access(rank)
    s.check_range(rank, disp, count, dt)
    _check_signature(region, count, dt)
    return rank, disp, count, dt

class Win(_attributes.AttrMethods):
    """A window for one-sided communication (``MPI.Win``).

    ``Win()`` is a null window, ``Win(win)`` a new reference to ``win``; windows are made
    by the collective constructors ``Create``, ``Allocate``, ``Allocate_shared`` and
    ``Create_dynamic``."""

    __slots__ = ("_s", "__weakref__")
    _s: Optional[_State]

    def __new__(cls, *args: Any, **kwargs: Any) -> Win:
        # Takes the constructor's arguments, so that a subclass may call
        # super().__new__(cls, win) as with mpi4py's classes; __init__ does the work.
        return super().__new__(cls)

    def __init__(self, win: Optional[Win] = None) -> None:
        if win is None:
            self._s = None
        elif isinstance(win, Win):
            self._s = win._s
        else:
            raise TypeError(f"expected a Win, got {type(win).__name__}")

    # -- identity ----------------------------------------------------------------------------
    def _live(self) -> _State:
        s = self._s
        if s is None or s.freed:
            raise MPIException(C.ERR_WIN, "the window is MPI.WIN_NULL")
        return s

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Win):
            return NotImplemented
        if not self or not other:
            return not self and not other
        return self._s is other._s

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None  # type: ignore[assignment]  # as mpi4py's: equal references, no hash

    def __bool__(self) -> bool:
        return self._s is not None and not self._s.freed

    def __repr__(self) -> str:
        s = self._s
        return f"<MPI.Win {s.name if s is not None and not s.freed else 'WIN_NULL'}>"

    def __reduce__(self) -> Any:
        if not self:
            return "WIN_NULL" if self is WIN_NULL else (type(self), ())
        raise ValueError("cannot serialize 'MPI.Win' instance")

    # -- integer handles -------------------------------------------------------------------
    def toint(self) -> int:
        """An integer handle for this window (``Win.fromint`` gives it back)."""
        if not self:
            return _NULL_HANDLE
        s = self._live()
        if not s.handle:
            s.handle = _USER_HANDLE_BASE + next(_handle_numbers)
            _by_handle[s.handle] = s
        return s.handle

    @classmethod
    def fromint(cls, arg: int) -> Win:
        """A new reference to the window with integer handle ``arg``."""
        arg = int(arg)
        if arg == _NULL_HANDLE:
            return WIN_NULL
        s = _by_handle.get(arg)
        if s is None or s.freed:
            raise MPIException(C.ERR_WIN, f"no window with handle {arg}")
        win = cls()
        win._s = s
        return win

    py2f = toint
    f2py = fromint
    fromhandle = fromint
    handle = property(toint)

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def _make(cls, comm: Intracomm, flavor: int, size: int, disp_unit: int,
              info: Info, memory: Optional[np.ndarray], base: int) -> Win:
        if not isinstance(comm, Intracomm) or not comm:
            raise MPIException(C.ERR_COMM, "the communicator is MPI.COMM_NULL")
        size = operator.index(size)
        disp_unit = operator.index(disp_unit)
        if size < 0:
            raise MPIException(C.ERR_SIZE, f"invalid window size {size}")
        if disp_unit <= 0:
            raise MPIException(C.ERR_DISP, f"invalid displacement unit {disp_unit}")
        s = _State()
        s.comm = comm.Dup()
        s.win_id = s.comm._context
        s.rank = s.comm.Get_rank()
        s.members = list(s.comm._members)
        s.index = {w: i for i, w in enumerate(s.members)}
        s.flavor = flavor
        s.disp_unit = disp_unit
        s.info = info.Dup() if isinstance(info, Info) and info else None
        host = _runtime.host_identity() if flavor == C.WIN_FLAVOR_SHARED else ""
        table = s.comm.allgather((host, size, disp_unit))
        s.sizes = [t[1] for t in table]
        s.units = [t[2] for t in table]
        if flavor == C.WIN_FLAVOR_SHARED:
            if len({t[0] for t in table}) > 1:
                s.comm.Free()
                raise MPIException(C.ERR_RMA_SHARED, "Allocate_shared: the communicator "
                                                     "spans more than one host")
            s.shared_offsets, total = layout(s.sizes)
            if s.rank == 0:
                s.segment = Segment(total)
                s.comm.bcast(s.segment.endpoint(), 0)
            else:
                s.segment = Segment(total, s.comm.bcast(None, 0))
            offset = s.shared_offsets[s.rank]
            memory = s.segment.memory[offset:offset + size]
            base = s.segment.address + offset if size else 0
        s.size = size if flavor != C.WIN_FLAVOR_DYNAMIC else 0
        s.base = base
        s.target = S.Target(s.win_id, memory, disp_unit, flavor == C.WIN_FLAVOR_DYNAMIC)
        S.SERVICE.register(s.target)
        s.comm.Barrier()  # everyone serves the window before anyone uses it
        if s.segment is not None:
            s.segment.close_descriptor()  # every member has mapped it
        win = cls()
        win._s = s
        return win

    @classmethod
    def Create(cls, memory: Buffer | Bottom, disp_unit: int = 1, info: Info = INFO_NULL,
               comm: Intracomm = COMM_SELF) -> Win:
        """Expose ``memory`` (a buffer, or ``MPI.BOTTOM``/None for nothing) to one-sided
        operations of ``comm``'s processes (collective)."""
        if memory is None or memory is C.BOTTOM:
            mem, base = np.zeros(0, np.uint8), 0
        else:
            arr = to_numpy(memory, True)
            mem = _raw(arr)
            base = get_address(memory) if mem.size else 0
        return cls._make(comm, C.WIN_FLAVOR_CREATE, mem.size, disp_unit, info, mem, base)

    @classmethod
    def Allocate(cls, size: int, disp_unit: int = 1, info: Info = INFO_NULL,
                 comm: Intracomm = COMM_SELF) -> Win:
        """Allocate ``size`` bytes and expose them (collective)."""
        size = operator.index(size)
        mem = np.zeros(max(size, 0), np.uint8)
        base = int(mem.__array_interface__["data"][0]) if size > 0 else 0
        return cls._make(comm, C.WIN_FLAVOR_ALLOCATE, size, disp_unit, info, mem, base)

    @classmethod
    def Allocate_shared(cls, size: int, disp_unit: int = 1, info: Info = INFO_NULL,
                        comm: Intracomm = COMM_SELF) -> Win:
        """Allocate ``size`` bytes in memory shared by all of ``comm``'s processes, which
        must be on one host (``Shared_query`` gives the other ranks' parts); collective."""
        return cls._make(comm, C.WIN_FLAVOR_SHARED, size, disp_unit, info, None, 0)

    @classmethod
    def Create_dynamic(cls, info: Info = INFO_NULL, comm: Intracomm = COMM_SELF) -> Win:
        """A window without memory: ``Attach`` exposes memory, targets are addressed by
        absolute address (``MPI.Get_address``); collective."""
        return cls._make(comm, C.WIN_FLAVOR_DYNAMIC, 0, 1, info, None, 0)

    def Attach(self, memory: Buffer) -> None:
        """Expose ``memory`` through this dynamic window."""
        s = self._live()
        if s.flavor != C.WIN_FLAVOR_DYNAMIC:
            raise MPIException(C.ERR_RMA_FLAVOR, "Attach needs a dynamic window")
        mem = _raw(to_numpy(memory, True))
        address = get_address(memory) if mem.size else 0
        assert s.target is not None
        with s.target.lock:
            s.target.attached[address] = mem

    def Detach(self, memory: Buffer) -> None:
        """Stop exposing ``memory`` (attached before) through this dynamic window."""
        s = self._live()
        if s.flavor != C.WIN_FLAVOR_DYNAMIC:
            raise MPIException(C.ERR_RMA_FLAVOR, "Detach needs a dynamic window")
        mem = _raw(to_numpy(memory, False))
        address = get_address(memory) if mem.size else 0
        assert s.target is not None
        with s.target.lock:
            if s.target.attached.pop(address, None) is None:
                raise MPIException(C.ERR_RMA_ATTACH, "this memory is not attached")

    def Free(self) -> None:
        """Free the window (collective): every operation on it completes first."""
        s = self._live()
        try:
            s.flush(sorted(s.dirty))
        except MPIException:
            pass  # an error of an operation nobody waited for: the window goes anyway
        s.comm.Barrier()  # every member's operations are applied
        S.SERVICE.unregister(s.win_id)
        with s.lock:
            s.freed = True
        _attributes.delete_all(self, s.attrs)
        s.comm.Free()
        s.target = None
        s.segment = None

    def free(self) -> None:
        """Free the window if it is not null."""
        if self:
            self.Free()

    # -- memory and attributes ---------------------------------------------------------------
    def tomemory(self) -> buffer:
        """This process's window memory as an ``MPI.buffer``."""
        s = self._live()
        if s.flavor != C.WIN_FLAVOR_CREATE and s.target is not None and s.size:
            return buffer(s.target.memory)  # keeps hpxpy's allocation alive
        return buffer.fromaddress(s.base, s.size)

    def Shared_query(self, rank: int) -> Tuple[buffer, int]:
        """Return (memory, displacement unit) of ``rank``'s part of a shared window, directly
        addressable here (``MPI.PROC_NULL``: the lowest rank with a non-empty part)."""
        s = self._live()
        if rank == C.PROC_NULL:
            nonempty = [r for r, n in enumerate(s.sizes) if n > 0]
            rank = nonempty[0] if nonempty else 0
        else:
            rank = s.check_rank(rank)
        if s.flavor != C.WIN_FLAVOR_SHARED:
            if rank == s.rank:
                return buffer.fromaddress(s.base, s.size), s.disp_unit
            return buffer.fromaddress(0, 0), s.units[rank]
        assert s.segment is not None
        offset, size = s.shared_offsets[rank], s.sizes[rank]
        if not size:
            return buffer.fromaddress(0, 0), s.units[rank]
        return buffer(s.segment.memory[offset:offset + size]), s.units[rank]

    # Create_keyval, Free_keyval, Get_attr, Set_attr, Delete_attr: _attributes.AttrMethods
    _attr_kind = "Win"

    def _attr_table(self) -> _attributes.Table:
        return self._live().attrs

    def _predefined_attr(self, keyval: int) -> Any:
        """Return a predefined attribute: ``MPI.WIN_BASE``, ``WIN_SIZE``, ``WIN_DISP_UNIT``,
        ``WIN_CREATE_FLAVOR``, ``WIN_MODEL``."""
        s = self._live()
        fixed = {C.WIN_BASE: s.base, C.WIN_SIZE: s.size, C.WIN_DISP_UNIT: s.disp_unit,
                 C.WIN_CREATE_FLAVOR: s.flavor, C.WIN_MODEL: C.WIN_UNIFIED}
        return fixed.get(keyval, _attributes.MISSING)

    @property
    def attrs(self) -> Tuple[int, int, int]:
        """(base address, size, displacement unit)."""
        s = self._live()
        return (s.base, s.size, s.disp_unit)

    @property
    def flavor(self) -> int:
        return self._live().flavor

    @property
    def model(self) -> int:
        self._live()
        return C.WIN_UNIFIED

    def Get_group(self) -> Group:
        """The group of the window's processes."""
        return Group._make(self._live().members)

    group = property(Get_group)

    @property
    def group_size(self) -> int:
        return len(self._live().members)

    @property
    def group_rank(self) -> int:
        return self._live().rank

    def Get_info(self) -> Info:
        """A copy of the hints set on the window."""
        s = self._live()
        return s.info.Dup() if s.info else Info.Create()

    def Set_info(self, info: Info) -> None:
        """Set the window's hints."""
        s = self._live()
        s.info = info.Dup() if info else None

    info = property(Get_info, Set_info)

    def Get_name(self) -> str:
        """Return the name of the window."""
        if self._s is None:
            return "MPI_WIN_NULL"
        return self._live().name

    def Set_name(self, name: str) -> None:
        """Set the name of the window."""
        self._live().name = str(name)

    name = property(Get_name, Set_name)

    def Get_errhandler(self) -> _Errhandler:
        """A new reference to the window's error handler."""
        return _errhandler.reference(self._live().errhandler)

    def Set_errhandler(self, errhandler: _Errhandler) -> None:
        """Set the error handler called on the window's errors."""
        s = self._live()
        s.errhandler = check_settable(errhandler)

    def Call_errhandler(self, errorcode: int) -> None:
        """Run the window's error handler with ``errorcode``."""
        _errhandler.call(self._live().errhandler, self, errorcode)

    @classmethod
    def Create_errhandler(cls, errhandler_fn: Callable[[Win, int], None]) -> _Errhandler:
        """A user error handler: ``errhandler_fn(win, errorcode)``."""
        return _errhandler.create("Win", errhandler_fn)

    # -- data movement -----------------------------------------------------------------------
    def Put(self, origin: BufSpec, target_rank: int,
            target: TargetSpec | None = None) -> None:
        """Write the origin buffer into ``target_rank``'s window."""
        s = self._live()
        region = _origin(origin, False)
        if target_rank == C.PROC_NULL:
            return
        rank, disp, count, dt = _checked(s, region, target_rank, target)
        s.data_op(rank, S.PUT, disp=disp, count=count, dt=dt, data=region.data())

    def Get(self, origin: BufSpec, target_rank: int,
            target: TargetSpec | None = None) -> None:
        """Read ``target_rank``'s window into the origin buffer."""
        s = self._live()
        region = _origin(origin, True)
        if target_rank == C.PROC_NULL:
            return
        rank, disp, count, dt = _checked(s, region, target_rank, target)
        _store(region, s.data_op(rank, S.GET, disp=disp, count=count, dt=dt))

    def Accumulate(self, origin: BufSpec, target_rank: int,
                   target: TargetSpec | None = None, op: _ops.Op = _ops.SUM) -> None:
        """Combine the origin buffer into ``target_rank``'s window with ``op`` (atomic per
        element with respect to other accumulates)."""
        s = self._live()
        region = _origin(origin, False)
        if target_rank == C.PROC_NULL:
            return
        rank, disp, count, dt = _checked(s, region, target_rank, target, op)
        s.data_op(rank, S.ACC, disp=disp, count=count, dt=dt, op=op._name,
                  data=region.data())

    def Get_accumulate(self, origin: BufSpec, result: BufSpec, target_rank: int,
                       target: TargetSpec | None = None, op: _ops.Op = _ops.SUM) -> None:
        """Fetch ``target_rank``'s data into ``result``, then combine the origin buffer
        into it with ``op``, atomically."""
        s = self._live()
        oregion = _origin(origin, False)
        rregion = _origin(result, True)
        if target_rank == C.PROC_NULL:
            return
        rank = s.check_rank(target_rank)
        base = rregion if origin is None or op is _ops.NO_OP and not oregion.count \
            else oregion
        disp, count, dt = _target(target, base.count, base.dt)
        _check_op(op, dt)
        s.check_access(rank)
        s.check_range(rank, disp, count, dt)
        if op is not _ops.NO_OP:
            _check_signature(oregion, count, dt)
        _check_signature(rregion, count, dt)
        data = oregion.data() if op is not _ops.NO_OP else None
        _store(rregion, s.data_op(rank, S.GET_ACC, disp=disp, count=count, dt=dt, op=op._name,
                               data=data))

    def Fetch_and_op(self, origin: BufSpec, result: BufSpec, target_rank: int,
                     target_disp: int = 0, op: _ops.Op = _ops.SUM) -> None:
        """Fetch and combine one element: ``Get_accumulate`` of one element at ``target_disp``."""
        s = self._live()
        oregion = _origin(origin, False)
        rregion = _origin(result, True)
        if target_rank == C.PROC_NULL:
            return
        _one(oregion, "origin")
        _one(rregion, "result")
        if oregion.dt != rregion.dt:
            raise ValueError("mismatch in origin and result MPI datatypes")
        rank = s.check_rank(target_rank)
        dt = oregion.dt
        disp = operator.index(target_disp)
        _check_op(op, dt)
        s.check_access(rank)
        s.check_range(rank, disp, 1, dt)
        data = oregion.data() if op is not _ops.NO_OP else None
        _store(rregion, s.data_op(rank, S.GET_ACC, disp=disp, count=1, dt=dt, op=op._name,
                               data=data))

    def Compare_and_swap(self, origin: BufSpec, compare: BufSpec, result: BufSpec,
                         target_rank: int, target_disp: int = 0) -> None:
        """Replace one element at ``target_disp`` with ``origin`` if it equals ``compare``;
        ``result`` gets the element as it was, atomically."""
        s = self._live()
        oregion = _origin(origin, False)
        cregion = _origin(compare, False)
        rregion = _origin(result, True)
        if target_rank == C.PROC_NULL:
            return
        _one(oregion, "origin")
        _one(cregion, "compare")
        _one(rregion, "result")
        if cregion.dt != oregion.dt:
            raise ValueError("mismatch in origin and compare MPI datatypes")
        if rregion.dt != oregion.dt:
            raise ValueError("mismatch in origin and result MPI datatypes")
        rank = s.check_rank(target_rank)
        dt = oregion.dt
        disp = operator.index(target_disp)
        s.check_access(rank)
        s.check_range(rank, disp, 1, dt)
        compare_bytes = np.ascontiguousarray(cregion.data()).tobytes()
        _store(rregion, s.data_op(rank, S.CAS, disp=disp, count=1, dt=dt, extra=compare_bytes,
                               data=oregion.data()))

    # Request forms: the operation is complete when the request is returned.
    def Rput(self, origin: BufSpec, target_rank: int,
             target: TargetSpec | None = None) -> Request:
        """Do a ``Put`` and return its (already complete) request."""
        self.Put(origin, target_rank, target)
        return Request(finish=_no_result)

    def Rget(self, origin: BufSpec, target_rank: int,
             target: TargetSpec | None = None) -> Request:
        """Do a ``Get`` and return its (already complete) request."""
        self.Get(origin, target_rank, target)
        return Request(finish=_no_result)

    def Raccumulate(self, origin: BufSpec, target_rank: int,
                    target: TargetSpec | None = None, op: _ops.Op = _ops.SUM) -> Request:
        """Do an ``Accumulate`` and return its (already complete) request."""
        self.Accumulate(origin, target_rank, target, op)
        return Request(finish=_no_result)

    def Rget_accumulate(self, origin: BufSpec, result: BufSpec, target_rank: int,
                        target: TargetSpec | None = None,
                        op: _ops.Op = _ops.SUM) -> Request:
        """Do a ``Get_accumulate`` and return its (already complete) request."""
        self.Get_accumulate(origin, result, target_rank, target, op)
        return Request(finish=_no_result)

    # -- active target: fence ----------------------------------------------------------------
    def Fence(self, assertion: int = 0) -> None:
        """Close the fence epoch (every operation of every member is complete) and open the
        next one (unless ``MPI.MODE_NOSUCCEED``); collective."""
        s = self._live()
        try:
            s.flush(sorted(s.dirty))
        finally:  # a target's error is raised after the barrier: the others must not hang
            s.comm.Barrier()
            s.fence = not (assertion & C.MODE_NOSUCCEED)
            s.fence_used = False

    # -- active target: post/start/complete/wait -----------------------------------------------
    def _ranks_of(self, s: _State, group: Group) -> List[int]:
        group._check()
        ranks = []
        for w in group._ranks:
            if w not in s.index:
                raise MPIException(C.ERR_GROUP, "the group is not a subgroup of the window's")
            ranks.append(s.index[w])
        return ranks

    def Post(self, group: Group, assertion: int = 0) -> None:
        """Expose this window to the origins in ``group`` (until ``Wait``/``Test``)."""
        s = self._live()
        if s.exposure is not None:
            raise MPIException(C.ERR_RMA_SYNC, "an exposure epoch is already open")
        ranks = self._ranks_of(s, group)
        core = _runtime.core()
        for r in ranks:
            core.send(s.members[r], s.win_id, TAG_POST, [b""])
        s.exposure = ranks

    def Start(self, group: Group, assertion: int = 0) -> None:
        """Open an access epoch to the targets in ``group`` (waits for their ``Post``)."""
        s = self._live()
        if s.access is not None:
            raise MPIException(C.ERR_RMA_SYNC, "an access epoch is already open")
        ranks = self._ranks_of(s, group)
        core = _runtime.core()
        for r in ranks:
            core.receive(s.win_id, s.members[r], TAG_POST)
        s.access = set(ranks)

    def Complete(self) -> None:
        """Close the access epoch opened by ``Start``: its operations are complete."""
        s = self._live()
        if s.access is None:
            raise MPIException(C.ERR_RMA_SYNC, "no access epoch (Start) to complete")
        ranks = sorted(s.access)
        s.access = None
        try:
            s.flush(ranks)
        finally:  # the targets' Wait must end even if one of them reported an error
            core = _runtime.core()
            for r in ranks:
                core.send(s.members[r], s.win_id, TAG_COMPLETE, [b""])

    def Wait(self) -> bool:
        """Close the exposure epoch opened by ``Post`` once every origin completed."""
        s = self._live()
        if s.exposure is None:
            raise MPIException(C.ERR_RMA_SYNC, "no exposure epoch (Post) to wait for")
        core = _runtime.core()
        for r in s.exposure:
            core.receive(s.win_id, s.members[r], TAG_COMPLETE)
        s.exposure = None
        return True

    def Test(self) -> bool:
        """Test for the end of the exposure epoch: ``Wait`` without waiting, True (and the epoch
        closed) if every origin completed."""
        s = self._live()
        if s.exposure is None:
            raise MPIException(C.ERR_RMA_SYNC, "no exposure epoch (Post) to test")
        core = _runtime.core()
        left = []
        for r in s.exposure:
            if core.iprobe(s.win_id, s.members[r], TAG_COMPLETE) is not None:
                core.receive(s.win_id, s.members[r], TAG_COMPLETE)
            else:
                left.append(r)
        if left:
            s.exposure = left
            return False
        s.exposure = None
        return True

    # -- passive target ------------------------------------------------------------------------
    def Lock(self, rank: int, lock_type: int = C.LOCK_EXCLUSIVE, assertion: int = 0) -> None:
        """Open a passive-target epoch to ``rank`` (waits until the lock is granted)."""
        s = self._live()
        if lock_type not in (C.LOCK_EXCLUSIVE, C.LOCK_SHARED):
            raise MPIException(C.ERR_ARG, f"invalid lock type {lock_type}")
        if rank == C.PROC_NULL:
            return
        rank = s.check_rank(rank)
        if rank in s.locks or s.lock_all or s.fence_used:
            raise MPIException(C.ERR_RMA_SYNC, f"rank {rank} is already in an epoch")
        s.call(rank, S.LOCK, disp=lock_type)
        s.locks[rank] = lock_type

    def Unlock(self, rank: int) -> None:
        """Close the passive-target epoch to ``rank``: its operations are complete there."""
        s = self._live()
        if rank == C.PROC_NULL:
            return
        rank = s.check_rank(rank)
        if rank not in s.locks:
            raise MPIException(C.ERR_RMA_SYNC, f"rank {rank} is not locked")
        del s.locks[rank]
        s.dirty.discard(rank)
        s.call(rank, S.UNLOCK)  # released at the target even if this raises

    def Lock_all(self, assertion: int = 0) -> None:
        """A shared lock on every rank of the window."""
        s = self._live()
        if s.locks or s.lock_all or s.fence_used:
            raise MPIException(C.ERR_RMA_SYNC, "a passive-target epoch is already open")
        ranks = range(len(s.members))
        tags = [(r, s.send(r, S.LOCK, disp=C.LOCK_SHARED)) for r in ranks]
        for r, tag in tags:
            s.answer(r, tag)
        s.lock_all = True

    def Unlock_all(self) -> None:
        """Close the epoch of ``Lock_all``: every operation is complete at its target."""
        s = self._live()
        if not s.lock_all:
            raise MPIException(C.ERR_RMA_SYNC, "no Lock_all epoch to close")
        tags = [(r, s.send(r, S.UNLOCK)) for r in range(len(s.members))]
        s.dirty.clear()
        s.lock_all = False
        error: Optional[MPIException] = None
        for r, tag in tags:
            try:
                s.answer(r, tag)
            except MPIException as exc:
                error = error or exc
        if error is not None:
            raise error

    def Flush(self, rank: int) -> None:
        """Complete every operation issued to ``rank``, at ``rank``."""
        s = self._live()
        if rank == C.PROC_NULL:
            return
        rank = s.check_rank(rank)
        s.check_passive(rank)
        s.flush([rank])

    def Flush_all(self) -> None:
        """Complete every operation issued, at its target."""
        s = self._live()
        s.check_passive(None)
        s.flush(sorted(s.dirty))

    def Flush_local(self, rank: int) -> None:
        """Complete every operation issued to ``rank`` locally (origin buffers are
        reusable: hpxpy's are as soon as the operation returns)."""
        s = self._live()
        if rank == C.PROC_NULL:
            return
        s.check_passive(s.check_rank(rank))

    def Flush_local_all(self) -> None:
        """Complete locally every operation to every rank (``Flush_local`` for each)."""
        self._live().check_passive(None)

    def Sync(self) -> None:
        """Synchronise the public and private copies of the window (one copy here); as
        MPICH, only inside a passive-target epoch."""
        s = self._live()
        if not (s.locks or s.lock_all):
            raise MPIException(C.ERR_RMA_SYNC, "Sync outside a passive-target epoch")


WIN_NULL = Win()

