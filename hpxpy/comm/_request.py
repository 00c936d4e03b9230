"""Status, Request (also an hpx Future) and Message (matched probe)."""

from __future__ import annotations

import concurrent.futures
import itertools
import threading
import weakref
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from .. import _runtime
from ..futures import Future
from . import _constants as C
from . import _datatypes as D
from ._errors import Exception as MPIException


def _field(index: int, doc: str) -> property:
    """An int field of MPI_Status's memory, readable and writable."""

    def get(self: Status) -> int:
        return int(self._mem[index])

    def put(self: Status, value: int) -> None:
        self._mem[index] = value

    return property(get, put, doc=doc)


class Status:
    """The envelope of a received message: source, tag, error and size.

    The fields live in five C ints laid out as MPICH's ``MPI_Status`` (count low word,
    count high bits + cancelled flag, source, tag, error); ``tomemory()`` exposes them."""

    __slots__ = ("_mem",)

    def __init__(self, status: Optional[Status] = None) -> None:
        if status is not None and not isinstance(status, Status):
            raise TypeError(f"Argument 'status' has incorrect type (expected "
                            f"{__name__.rsplit('.', 1)[0]}.MPI.Status, got "
                            f"{type(status).__name__})")
        self._mem = np.zeros(5, dtype=np.intc)
        if status is not None:
            self._mem[:] = status._mem
        else:
            self._mem[2], self._mem[3], self._mem[4] = C.ANY_SOURCE, C.ANY_TAG, C.SUCCESS

    # -- raw fields -------------------------------------------------------------------------
    source = _field(2, "The message's source rank.")
    tag = _field(3, "The message's tag.")
    error = _field(4, "The error class of the operation.")

    @property
    def _count(self) -> int:  # bytes
        lo = int(self._mem[0]) & 0xFFFFFFFF
        hi = (int(self._mem[1]) & 0xFFFFFFFF) >> 1
        return (hi << 32) | lo

    @_count.setter
    def _count(self, nbytes: int) -> None:
        nbytes = int(nbytes)
        lo = nbytes & 0xFFFFFFFF
        flag = int(self._mem[1]) & 1
        hi = ((nbytes >> 32) << 1) | flag
        self._mem[0] = lo - (1 << 32) if lo >= 1 << 31 else lo
        self._mem[1] = hi - (1 << 32) if hi >= 1 << 31 else hi

    @property
    def _cancelled(self) -> bool:
        return bool(int(self._mem[1]) & 1)

    @_cancelled.setter
    def _cancelled(self, flag: bool) -> None:
        self._mem[1] = (int(self._mem[1]) & ~1) | (1 if flag else 0)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Status):
            return NotImplemented
        return bool((self._mem == other._mem).all())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<MPI.Status source={self.source} tag={self.tag} count={self._count}>"

    def __reduce__(self) -> Any:
        return (_rebuild_status, (self.source, self.tag, self.error, self._count,
                                  self._cancelled))

    def tomemory(self) -> memoryview:
        """The status fields as a writable memory of C ints (shared with the status)."""
        return memoryview(self._mem)

    def py2f(self) -> List[int]:
        """The status as a list of (Fortran) integers."""
        return [int(v) for v in self._mem]

    @classmethod
    def f2py(cls, arg: Sequence[int]) -> Status:
        """A status from a list of (Fortran) integers, as ``py2f`` gives."""
        st = cls()
        st._mem[:] = list(arg)
        return st

    def Get_source(self) -> int:
        return self.source

    def Set_source(self, source: int) -> None:
        self.source = source

    def Get_tag(self) -> int:
        return self.tag

    def Set_tag(self, tag: int) -> None:
        self.tag = tag

    def Get_error(self) -> int:
        return self.error

    def Set_error(self, error: int) -> None:
        self.error = error

    def Get_count(self, datatype: D.Datatype = D.PREDEFINED["BYTE"]) -> int:
        """Elements of ``datatype`` received (``UNDEFINED`` if not a whole number)."""
        size = datatype.wire_size
        if size == 0:
            return 0 if self._count == 0 else C.UNDEFINED
        return self._count // size if self._count % size == 0 else C.UNDEFINED

    def Get_elements(self, datatype: D.Datatype) -> int:
        base = datatype.numpy_dtype.itemsize
        return self._count // base if base and self._count % base == 0 else C.UNDEFINED

    def Set_elements(self, datatype: D.Datatype, count: int) -> None:
        self._count = count * datatype.numpy_dtype.itemsize

    def Is_cancelled(self) -> bool:
        return self._cancelled

    def Set_cancelled(self, flag: bool) -> None:
        self._cancelled = bool(flag)

    @property
    def count(self) -> int:
        return self.Get_count()

    @count.setter
    def count(self, value: int) -> None:
        self._count = value

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    @cancelled.setter
    def cancelled(self, value: bool) -> None:
        self._cancelled = bool(value)

    def _fill(self, source: int, tag: int, nbytes: int) -> None:
        self._mem[:] = 0
        self.source, self.tag, self.error, self._count = source, tag, C.SUCCESS, nbytes


def _rebuild_status(source: int, tag: int, error: int, count: int,
                    cancelled: bool) -> Status:
    st = Status()
    st.source, st.tag, st.error, st._count, st._cancelled = source, tag, error, count, cancelled
    return st


def fill_status(status: Optional[Status], source: int, tag: int, nbytes: int) -> None:
    if status is not None:
        status._fill(source, tag, nbytes)


def _empty(status: Optional[Status]) -> None:
    fill_status(status, C.ANY_SOURCE, C.ANY_TAG, 0)


class Request(Future):
    """A pending communication. Also an :class:`hpxpy.Future`: ``get()``, ``done()``,
    ``then()`` and ``await`` work on it. Completed requests compare equal to
    ``MPI.REQUEST_NULL`` (as in mpi4py)."""

    __slots__ = ("_core", "_finish", "_result", "_status", "_complete", "_cancelled",
                 "_future", "_lock", "_computed", "_cancellable", "_handle", "__weakref__")

    def __init__(self, request: Optional[Request] = None, *, core_request: Any = None,
                 finish: Optional[Callable[[Optional[Status]], Any]] = None,
                 future: Optional[concurrent.futures.Future] = None,
                 complete: bool = False, result: Any = None,
                 cancellable: bool = False) -> None:
        if request is not None:  # MPI.Request(other): another reference to the same request
            self._copy(request)
            return
        self._handle = next(_handle_counter)
        _handles[self._handle] = self
        self._computed = complete  # result and status known
        self._cancellable = cancellable  # a receive still unmatched can be withdrawn
        self._core = core_request  # hpxpy._core.RecvRequest, or None
        self._finish = finish      # turns the matched message into the result
        self._future = future      # a background operation (non-blocking collectives)
        self._complete = complete  # finished and consumed
        self._result = result
        self._status: Optional[Status] = None
        self._cancelled = False
        self._lock = threading.Lock()

    # -- identity (REQUEST_NULL semantics) ---------------------------------------------------
    def _copy(self, other: Request) -> None:
        if not isinstance(other, Request) or not (
                isinstance(other, type(self)) or type(self) is Request):
            raise TypeError(f"expecting a {type(self).__name__}, got {type(other).__name__}")
        for cls in type(self).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                if slot not in ("__weakref__", "_cf") and hasattr(other, slot):
                    object.__setattr__(self, slot, getattr(other, slot))

    @property
    def handle(self) -> int:
        """The request's handle (``fromhandle`` gives it back)."""
        return 0 if self._is_null() else self._handle

    @classmethod
    def fromhandle(cls, handle: int) -> Request:
        req = _handles.get(handle)
        return cls(req) if req is not None else cls(REQUEST_NULL)

    def toint(self) -> int:
        return self.handle

    py2f = toint

    @classmethod
    def fromint(cls, value: int) -> Request:
        return cls.fromhandle(value)

    f2py = fromint

    def _is_null(self) -> bool:
        return self._complete or (not self._computed and self._core is None
                                  and self._future is None and self._finish is None)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Request):
            return NotImplemented
        if self._handle == other._handle:  # references to one request
            return True
        return self._is_null() and other._is_null()

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return id(self)

    def __bool__(self) -> bool:
        return not self._is_null()

    def _is_active(self) -> bool:
        """Counts in Waitany/Testany/Waitsome (persistent requests: only once started)."""
        return not self._is_null()

    # -- completion --------------------------------------------------------------------------
    def _ready(self) -> bool:
        if self._computed:
            return True
        if self._future is not None:
            return self._future.done()
        if self._core is not None:
            return _runtime.core().test(self._core)
        return True

    def _block(self) -> None:
        if self._future is not None:
            while True:  # slices keep Ctrl-C working
                try:
                    self._future.result(timeout=0.1)
                    return
                except concurrent.futures.TimeoutError:
                    continue
        if self._core is not None:
            _runtime.core().wait(self._core)

    def _finalize(self, status: Optional[Status], consume: bool = True) -> Any:
        """Complete the finished operation once (result and status); ``consume`` also
        deallocates the request (it becomes ``REQUEST_NULL``)."""
        with self._lock:
            if not self._computed and not self._complete:
                st = Status()
                if self._cancelled:
                    st.Set_cancelled(True)
                    result = None
                elif self._future is not None:
                    result = self._future.result()
                    _empty(st)
                elif self._finish is not None:
                    result = self._finish(st)
                else:
                    result = self._result
                    _empty(st)
                self._result, self._status, self._computed = result, st, True
                self._finish = None
            if consume:
                self._complete = True
        if status is not None and self._status is not None:
            st = self._status
            status.source, status.tag, status.error = st.source, st.tag, st.error
            status._count, status._cancelled = st._count, st._cancelled
        elif status is not None:
            _empty(status)
        return self._result

    def Wait(self, status: Optional[Status] = None) -> bool:
        """Wait for completion."""
        if not self._complete and not self._computed:
            self._block()
        self._finalize(status)
        return True

    def Test(self, status: Optional[Status] = None) -> bool:
        """True (and completes the request) if the operation has finished."""
        if self._complete or self._ready():
            self._finalize(status)
            return True
        return False

    def wait(self, status: Optional[Status] = None) -> Any:
        """Wait for completion and return the received object (None for sends)."""
        self.Wait(status)
        return self._result

    def test(self, status: Optional[Status] = None) -> Tuple[bool, Any]:
        """(flag, object): the object once completed, else None."""
        if self.Test(status):
            return True, self._result
        return False, None

    def Get_status(self, status: Optional[Status] = None) -> bool:
        """Like Test, without deallocating the request."""
        if self._complete or self._computed or self._ready():
            self._finalize(status, consume=False)
            return True
        return False

    def get_status(self, status: Optional[Status] = None) -> bool:
        return self.Get_status(status)

    def Cancel(self) -> None:
        """Withdraw a pending receive that has not matched a message yet."""
        if self._is_null():
            raise MPIException(C.ERR_REQUEST, "the request is MPI.REQUEST_NULL")
        if self._cancellable and self._core is not None and not self._computed:
            if _runtime.core().cancel(self._core):
                self._cancelled = True
                self._core = None

    def cancel(self) -> None:
        """Withdraw a pending receive that has not matched a message yet."""
        self.Cancel()

    def Free(self) -> None:
        """Drop the request (the operation still completes)."""
        if self._is_null():
            raise MPIException(C.ERR_REQUEST, "the request is MPI.REQUEST_NULL")
        self._complete = True
        self._computed = True

    def free(self) -> None:
        if not self._is_null():
            self.Free()

    # -- hpx Future interface -----------------------------------------------------------------
    @property
    def _cf(self) -> concurrent.futures.Future:  # type: ignore[override]
        cf: concurrent.futures.Future = concurrent.futures.Future()

        def run() -> None:
            try:
                cf.set_result(self.wait())
            except BaseException as exc:  # noqa: BLE001 - handed to the waiter
                cf.set_exception(exc)

        threading.Thread(target=run, daemon=True, name="hpxpy-request").start()
        return cf

    def get(self, timeout: Optional[float] = None) -> Any:
        if timeout is None:
            return self.wait()
        return super().get(timeout)

    def done(self) -> bool:
        return self._complete or self._ready()

    # -- many requests ----------------------------------------------------------------------
    @classmethod
    def Waitall(cls, requests: Sequence[Request],
                statuses: Optional[List[Status]] = None) -> bool:
        sts = _status_list(statuses, len(requests))
        for i, req in enumerate(requests):
            req.Wait(sts[i] if sts is not None and i < len(sts) else None)
        return True

    @classmethod
    def waitall(cls, requests: Sequence[Request],
                statuses: Optional[List[Status]] = None) -> List[Any]:
        cls.Waitall(requests, statuses)
        return [r._result for r in requests]

    @classmethod
    def Testall(cls, requests: Sequence[Request],
                statuses: Optional[List[Status]] = None) -> bool:
        if not all(r._complete or r._ready() for r in requests):
            return False
        cls.Waitall(requests, statuses)
        return True

    @classmethod
    def testall(cls, requests: Sequence[Request],
                statuses: Optional[List[Status]] = None) -> Tuple[bool, Optional[List[Any]]]:
        if cls.Testall(requests, statuses):
            return True, [r._result for r in requests]
        return False, None

    @classmethod
    def Waitany(cls, requests: Sequence[Request], status: Optional[Status] = None) -> int:
        active = [i for i, r in enumerate(requests) if r._is_active()]
        if not active:
            _empty(status)
            return C.UNDEFINED
        while True:
            for i in active:
                if requests[i]._ready():
                    requests[i]._finalize(status)
                    return i
            cores = [requests[i]._core for i in active if requests[i]._core is not None]
            if len(cores) == len(active):
                _runtime.core().wait_any(cores)
            else:
                requests[active[0]]._block()

    @classmethod
    def waitany(cls, requests: Sequence[Request],
                status: Optional[Status] = None) -> Tuple[int, Any]:
        index = cls.Waitany(requests, status)
        return index, (requests[index]._result if index != C.UNDEFINED else None)

    @classmethod
    def Testany(cls, requests: Sequence[Request],
                status: Optional[Status] = None) -> Tuple[int, bool]:
        active = [i for i, r in enumerate(requests) if r._is_active()]
        if not active:
            _empty(status)
            return C.UNDEFINED, True
        for i in active:
            if requests[i]._ready():
                requests[i]._finalize(status)
                return i, True
        return C.UNDEFINED, False

    @classmethod
    def testany(cls, requests: Sequence[Request],
                status: Optional[Status] = None) -> Tuple[int, bool, Any]:
        index, flag = cls.Testany(requests, status)
        obj = requests[index]._result if flag and index != C.UNDEFINED else None
        return index, flag, obj

    @classmethod
    def Waitsome(cls, requests: Sequence[Request],
                 statuses: Optional[List[Status]] = None) -> Optional[List[int]]:
        if not any(r._is_active() for r in requests):
            return None
        first = cls.Waitany(requests, st0 := Status())
        done = sorted([first] + [i for i, r in enumerate(requests)
                                 if i != first and r._is_active() and r._ready()])
        sts = _status_list(statuses, len(done))
        for k, i in enumerate(done):
            target = sts[k] if sts is not None and k < len(sts) else None
            if i == first:
                if target is not None:
                    target._mem[:] = st0._mem
            else:
                requests[i]._finalize(target)
        return done

    @classmethod
    def Testsome(cls, requests: Sequence[Request],
                 statuses: Optional[List[Status]] = None) -> Optional[List[int]]:
        if not any(r._is_active() for r in requests):
            return None
        done = [i for i, r in enumerate(requests) if r._is_active() and r._ready()]
        sts = _status_list(statuses, len(done))
        for k, i in enumerate(done):
            requests[i]._finalize(sts[k] if sts is not None and k < len(sts) else None)
        return done

    @classmethod
    def waitsome(cls, requests: Sequence[Request],
                 statuses: Optional[List[Status]] = None) -> Tuple[Optional[List[int]],
                                                                  Optional[List[Any]]]:
        idx = cls.Waitsome(requests, statuses)
        return idx, (None if idx is None else [requests[i]._result for i in idx])

    @classmethod
    def testsome(cls, requests: Sequence[Request],
                 statuses: Optional[List[Status]] = None) -> Tuple[Optional[List[int]],
                                                                  Optional[List[Any]]]:
        idx = cls.Testsome(requests, statuses)
        return idx, (None if idx is None else [requests[i]._result for i in idx])


    @classmethod
    def Get_status_all(cls, requests: Sequence[Request],
                       statuses: Optional[List[Status]] = None) -> bool:
        """True if every request has completed (without freeing them)."""
        if not all(r._complete or r._ready() for r in requests):
            return False
        sts = _status_list(statuses, len(requests))
        for i, req in enumerate(requests):
            req.Get_status(sts[i] if sts is not None and i < len(sts) else None)
        return True

    @classmethod
    def get_status_all(cls, requests: Sequence[Request],
                       statuses: Optional[List[Status]] = None) -> bool:
        return cls.Get_status_all(requests, statuses)

    @classmethod
    def Get_status_any(cls, requests: Sequence[Request],
                       status: Optional[Status] = None) -> Tuple[int, bool]:
        """(index, True) of a completed active request (without freeing it),
        (UNDEFINED, True) if none is active, else (UNDEFINED, False)."""
        active = [i for i, r in enumerate(requests) if r._is_active()]
        if not active:
            _empty(status)
            return C.UNDEFINED, True
        for i in active:
            if requests[i]._ready():
                requests[i].Get_status(status)
                return i, True
        return C.UNDEFINED, False

    @classmethod
    def get_status_any(cls, requests: Sequence[Request],
                       status: Optional[Status] = None) -> Tuple[int, bool]:
        return cls.Get_status_any(requests, status)

    @classmethod
    def Get_status_some(cls, requests: Sequence[Request],
                        statuses: Optional[List[Status]] = None) -> Optional[List[int]]:
        """Indices of the completed active requests (None if none is active)."""
        if not any(r._is_active() for r in requests):
            return None
        done = [i for i, r in enumerate(requests) if r._is_active() and r._ready()]
        sts = _status_list(statuses, len(requests))
        for k, i in enumerate(done):
            requests[i].Get_status(sts[k] if sts is not None and k < len(sts) else None)
        return done

    @classmethod
    def get_status_some(cls, requests: Sequence[Request],
                        statuses: Optional[List[Status]] = None) -> Optional[List[int]]:
        return cls.Get_status_some(requests, statuses)


def _status_list(statuses: Optional[Sequence[Status]], n: int) -> Optional[Sequence[Status]]:
    """The statuses to fill: a list is grown to ``n`` entries, as mpi4py does."""
    if statuses is None:
        return None
    if isinstance(statuses, list):
        while len(statuses) < n:
            statuses.append(Status())
    return statuses


class Prequest(Request):
    """A persistent request: set up once (``Send_init``, ``Recv_init``, ...), then run any
    number of times with ``Start``; completing it makes it inactive, not null, until
    ``Free``."""

    __slots__ = ("_starter", "_active", "_freed")

    def __init__(self, request: Optional[Request] = None, *,
                 starter: Optional[Callable[[], Request]] = None) -> None:
        if request is not None:
            super().__init__(request)
            return
        super().__init__(complete=True)
        self._starter = starter
        self._active = False
        self._freed = starter is None

    def _is_null(self) -> bool:
        return self._freed

    def _is_active(self) -> bool:
        return self._active and not self._freed

    def Start(self) -> None:
        """Start the operation once more."""
        if self._freed:
            raise MPIException(C.ERR_REQUEST, "cannot start a freed persistent request")
        if self._active:
            raise MPIException(C.ERR_REQUEST, "the persistent request is already active")
        op = self._starter()
        with self._lock:
            self._core, self._finish, self._future = op._core, op._finish, op._future
            self._computed, self._result, self._status = op._computed, op._result, op._status
            self._cancellable, self._cancelled, self._complete = op._cancellable, False, False
            self._active = True

    def start(self) -> None:
        self.Start()

    @classmethod
    def Startall(cls, requests: Sequence[Prequest]) -> None:
        for req in requests:
            req.Start()

    @classmethod
    def startall(cls, requests: Sequence[Prequest]) -> None:
        cls.Startall(requests)

    def _finalize(self, status: Optional[Status], consume: bool = True) -> Any:
        if not self._active:  # inactive: completes at once with an empty status
            if status is not None:
                _empty(status)
            return None
        result = super()._finalize(status, consume=False)
        if consume:
            self._active = False
        return result

    def Wait(self, status: Optional[Status] = None) -> bool:
        if self._active and not self._computed:
            self._block()
        self._finalize(status)
        return True

    def Test(self, status: Optional[Status] = None) -> bool:
        if not self._active or self._ready():
            self._finalize(status)
            return True
        return False

    def Free(self) -> None:
        """Release the request (it becomes ``REQUEST_NULL``)."""
        self._freed = True
        self._active = False


class Grequest(Request):
    """Generalized requests are not supported yet."""


_handle_counter = itertools.count(1)
_handles: weakref.WeakValueDictionary = weakref.WeakValueDictionary()

REQUEST_NULL = Request(complete=True)


class Message:
    """A message matched by ``mprobe``/``improbe``, to be received with ``recv``/``Recv``."""

    __slots__ = ("_source", "_tag", "_payload", "_unpack", "_used")

    def __init__(self, source: int = C.PROC_NULL, tag: int = C.ANY_TAG, payload: Any = None,
                 unpack: Optional[Callable] = None) -> None:
        self._source, self._tag, self._payload, self._unpack = source, tag, payload, unpack
        self._used = payload is None and unpack is None

    def __bool__(self) -> bool:
        return not self._used

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return (self._used and other._used) or self is other

    def __hash__(self) -> int:
        return id(self)

    def _take(self) -> Any:
        if self._used:
            raise MPIException(C.ERR_REQUEST, "message already received (MESSAGE_NULL)")
        self._used = True
        return self._unpack

    def recv(self, status: Optional[Status] = None) -> Any:
        """Receive the matched object."""
        return self._take()(None, status)

    def Recv(self, buf: Any, status: Optional[Status] = None) -> None:
        """Receive the matched message into ``buf``."""
        self._take()(buf, status)

    def irecv(self) -> Request:
        unpack = self._take()
        return Request(finish=lambda st: unpack(None, st))

    def Irecv(self, buf: Any) -> Request:
        unpack = self._take()
        return Request(finish=lambda st: unpack(buf, st))


def _no_proc(buf: Any, status: Optional[Status]) -> None:
    fill_status(status, C.PROC_NULL, C.ANY_TAG, 0)


class _NoProcMessage(Message):
    """What probing ``PROC_NULL`` matches: receiving it gets nothing, any number of times."""

    def __init__(self) -> None:
        super().__init__(C.PROC_NULL, C.ANY_TAG, payload=b"", unpack=_no_proc)

    def _take(self) -> Any:
        return _no_proc


MESSAGE_NULL = Message()
MESSAGE_NO_PROC = _NoProcMessage()
