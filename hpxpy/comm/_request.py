"""Request (an explicit state machine, and an hpxpy Future) and Prequest.

A request is in one of four states (``State``):

    ACTIVE    started; the operation may still be running
    COMPLETE  finished; its result and status are computed but not handed out yet
              (``Get_status`` leaves it there; a cancelled receive lands here too)
    INACTIVE  a persistent request between runs (``Start`` makes it ACTIVE again)
    NULL      nothing to wait for: ``REQUEST_NULL``, a freed request, or one whose result
              was handed out by Wait/Test (it then compares equal to ``REQUEST_NULL``)

    Request:   ACTIVE --finished--> COMPLETE --Wait/Test--> NULL;  Free: any -> NULL
    Prequest:  INACTIVE --Start--> ACTIVE --> COMPLETE --Wait/Test--> INACTIVE;
               Free: any -> NULL

What runs underneath is one of: a receive on the matching engine (``core_request``), a
background operation (``future``: a non-blocking collective on the async thread), or
nothing (complete at once); ``finish`` turns the finished operation into the result.

As an :class:`hpxpy.Future` (``get``, ``then``, ``await``), a request hands its result to a
``concurrent.futures.Future`` when it finishes: a background operation's completion does it
directly, a pending receive is watched by one shared thread (never a thread per request).

Layer 2 of hpxpy.comm: imports ``hpxpy.futures``, ``hpxpy._runtime``, ``_status``,
``_constants`` and ``_errors``.
"""

from __future__ import annotations

import enum
import itertools
import threading
import weakref
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    List,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
)

from .. import _runtime
from ..futures import Future
from . import _constants as C
from ._errors import Exception as MPIException
from ._errors import run_callback
from ._status import Status, _empty

if TYPE_CHECKING:
    import concurrent.futures


class State(enum.Enum):
    """Where a request is in its life (see the module docstring)."""

    NULL = 0
    INACTIVE = 1
    ACTIVE = 2
    COMPLETE = 3


NULL, INACTIVE, ACTIVE, COMPLETE = State.NULL, State.INACTIVE, State.ACTIVE, State.COMPLETE

Finish = Callable[[Optional[Status]], Any]


R = TypeVar("R", bound="Request")


class Request(Future):
    """A pending communication. Also an :class:`hpxpy.Future`: ``get()``, ``done()``,
    ``then()`` and ``await`` work on it. Completed requests compare equal to
    ``MPI.REQUEST_NULL`` (as in mpi4py)."""

    __slots__ = ("_state", "_core", "_finish", "_future", "_result", "_status", "_lock",
                 "_cancellable", "_handle", "_interop", "__weakref__")

    def __new__(cls: Type[R], *args: Any, **kwargs: Any) -> R:
        # Accepts the constructor's arguments, so that subclasses can call
        # super().__new__(cls, request) as with mpi4py's classes.
        return super().__new__(cls)

    def __init__(self, request: Optional[Request] = None, *, core_request: Any = None,
                 finish: Optional[Finish] = None,
                 future: Optional[concurrent.futures.Future] = None,
                 complete: bool = False, result: Any = None,
                 cancellable: bool = False) -> None:
        if request is not None:  # MPI.Request(other): another reference to the same request
            self._copy(request)
            return
        self._handle = next(_handle_counter)  # registered for fromhandle once handed out
        self._core = core_request  # hpxpy._core.RecvRequest, or None
        self._finish = finish      # turns the finished operation into the result
        self._future = future      # a background operation (non-blocking collectives)
        self._cancellable = cancellable  # a receive still unmatched can be withdrawn
        self._result = result
        self._status: Optional[Status] = None
        self._lock = threading.Lock()
        self._interop: Optional[concurrent.futures.Future] = None
        nothing = core_request is None and future is None and finish is None
        self._state = NULL if complete or nothing else ACTIVE

    # -- identity (REQUEST_NULL semantics) ---------------------------------------------------
    def _copy(self, other: Request) -> None:
        if not isinstance(other, Request) or (
                isinstance(self, Prequest) and isinstance(other, Grequest)) or (
                isinstance(self, Grequest) and isinstance(other, Prequest)):
            raise TypeError(f"expecting a {type(self).__name__}, got {type(other).__name__}")
        for cls in type(self).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                if slot not in ("__weakref__", "_cf") and hasattr(other, slot):
                    object.__setattr__(self, slot, getattr(other, slot))

    @property
    def handle(self) -> int:
        """The request's handle (``fromhandle`` gives it back)."""
        if self._state is NULL:
            return 0
        # Registered only now: a weak table entry per request cost µs on every Isend.
        _handles[self._handle] = self
        return self._handle

    @classmethod
    def fromhandle(cls, handle: int) -> Request:
        """Return the request whose handle is ``handle``."""
        req = _handles.get(handle)
        return cls(req) if req is not None else cls(REQUEST_NULL)

    def toint(self) -> int:
        """Return the handle of the request."""
        return self.handle

    py2f = toint

    @classmethod
    def fromint(cls, value: int) -> Request:
        """Return the request whose handle is ``value``."""
        return cls.fromhandle(value)

    f2py = fromint

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Request):
            return NotImplemented
        if self._handle == other._handle:  # references to one request
            return True
        return self._state is NULL and other._state is NULL

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None  # type: ignore[assignment]  # as mpi4py's: equal references, no hash

    def __reduce__(self) -> Any:
        # As mpi4py: REQUEST_NULL pickles as itself, a null reference as a new null one; a
        # live request cannot leave its process.
        if self is REQUEST_NULL:
            return "REQUEST_NULL"
        if self._state is NULL:
            return (type(self), (REQUEST_NULL,))
        raise ValueError(f"cannot serialize '{type(self).__name__}' instance")

    def __bool__(self) -> bool:
        return self._state is not NULL

    def _is_active(self) -> bool:
        """Counts in Waitany/Testany/Waitsome: started and not handed out yet."""
        return self._state is ACTIVE or self._state is COMPLETE

    # -- completion --------------------------------------------------------------------------
    def _ready(self) -> bool:
        """True unless the operation is still running."""
        if self._state is not ACTIVE:
            return True
        if self._future is not None:
            return self._future.done()
        if self._core is not None:
            return _runtime.core().test(self._core)
        return True

    def _block(self) -> None:
        """Wait until the running operation has finished."""
        if self._future is not None:
            import concurrent.futures  # noqa: PLC0415 - loaded already: _future is one

            while True:  # slices keep Ctrl-C working
                try:
                    self._future.result(timeout=0.1)
                    return
                except concurrent.futures.TimeoutError:
                    continue
        if self._core is not None:
            _runtime.core().wait(self._core)

    def _compute(self) -> None:
        """ACTIVE -> COMPLETE: the finished operation's result and status (under _lock).
        An exception leaves the request ACTIVE."""
        st = Status()
        self._compute_into(st)
        self._status = st

    def _compute_into(self, st: Optional[Status]) -> None:
        """ACTIVE -> COMPLETE with the status into ``st`` (None: nowhere), none kept.
        An exception leaves the request ACTIVE."""
        if self._future is not None:
            result = self._future.result()
            _empty(st)
        elif self._finish is not None:
            result = self._finish(st)
        else:
            result = self._result
            _empty(st)
        self._result, self._status, self._finish = result, None, None
        self._state = COMPLETE

    def _settle(self) -> State:
        """The state a finished request goes to once its result is handed out."""
        return NULL

    def _finalize(self, status: Optional[Status], consume: bool = True) -> Any:
        """Complete the finished operation once (result and status); ``consume`` also
        hands it out (the request becomes ``REQUEST_NULL``, a persistent one inactive)."""
        with self._lock:
            state = self._state
            if state is INACTIVE:  # a persistent request not started: an empty status
                _empty(status)
                return None
            if state is ACTIVE:
                if consume and type(self)._compute is _PLAIN_COMPUTE:
                    # Handed out at once: the status goes straight into the caller's (no
                    # Status made when there is none: a null request's status is empty).
                    # Not when a subclass or hpxpy's tracer (hpxpy/_trace.py, which reads
                    # the status) has replaced _compute.
                    self._compute_into(status)
                    self._state = self._settle()
                    return self._result
                self._compute()
            if consume and self._state is COMPLETE:
                self._state = self._settle()
        if status is not None and self._status is not None:
            st = self._status
            status.source, status.tag, status.error = st.source, st.tag, st.error
            status._count, status._cancelled = st._count, st._cancelled
        elif status is not None:
            _empty(status)
        return self._result

    def Wait(self, status: Optional[Status] = None) -> bool:
        """Wait for completion."""
        if self._state is ACTIVE:
            self._block()
        self._finalize(status)
        return True

    def Test(self, status: Optional[Status] = None) -> bool:
        """True (and completes the request) if the operation has finished."""
        if self._ready():
            self._finalize(status)
            return True
        return False

    def wait(self, status: Optional[Status] = None) -> Any:
        """Wait for completion and return the received object (None for sends, and for a
        request that is already ``REQUEST_NULL``, as in mpi4py)."""
        if self._state is NULL:
            _empty(status)
            return None
        self.Wait(status)
        return self._result

    def test(self, status: Optional[Status] = None) -> Tuple[bool, Any]:
        """Test the request: return (flag, object), the object once completed, else None (also for a
        request that is already ``REQUEST_NULL``)."""
        if self._state is NULL:
            _empty(status)
            return True, None
        if self.Test(status):
            return True, self._result
        return False, None

    def Get_status(self, status: Optional[Status] = None) -> bool:
        """Like Test, without deallocating the request."""
        if self._ready():
            self._finalize(status, consume=False)
            return True
        return False

    def get_status(self, status: Optional[Status] = None) -> bool:
        """Tell whether the request is complete, without freeing it."""
        return self.Get_status(status)

    def Cancel(self) -> None:
        """Withdraw a pending receive that has not matched a message yet."""
        if self._state is NULL:
            raise MPIException(C.ERR_REQUEST, "the request is MPI.REQUEST_NULL")
        if self._cancellable and self._core is not None and self._state is ACTIVE:
            if _runtime.core().cancel(self._core):
                with self._lock:
                    st = Status()
                    st.Set_cancelled(True)
                    self._core, self._finish = None, None
                    self._result, self._status, self._state = None, st, COMPLETE

    def cancel(self) -> None:
        """Withdraw a pending receive that has not matched a message yet."""
        self.Cancel()

    def Free(self) -> None:
        """Drop the request (the operation still completes)."""
        if self._state is NULL:
            raise MPIException(C.ERR_REQUEST, "the request is MPI.REQUEST_NULL")
        self._state = NULL

    def free(self) -> None:
        """Free the request unless it is null."""
        if self._state is not NULL:
            self.Free()

    # -- hpx Future interface -----------------------------------------------------------------
    @property
    def _cf(self) -> concurrent.futures.Future:  # type: ignore[override]
        """The result as a concurrent future, resolved once the operation has finished (by
        then the request is waited for, as ``wait()`` does)."""
        cf = self._interop
        if cf is None:
            with self._lock:
                cf = self._interop
                if cf is None:
                    import concurrent.futures  # noqa: PLC0415 - it loads logging: on use

                    cf = self._interop = concurrent.futures.Future()
                    fresh = True
                else:
                    fresh = False
            if fresh:
                _watch(self, cf)
        return cf

    def get(self, timeout: Optional[float] = None) -> Any:
        """Wait for the request and return its result (``concurrent.futures`` style)."""
        if timeout is None:  # the result, even once handed out (a Future keeps it)
            self.Wait()
            return self._result
        return super().get(timeout)

    def done(self) -> bool:
        """Tell whether the request is complete (``concurrent.futures`` style)."""
        return self._ready()

    # -- many requests ----------------------------------------------------------------------
    @classmethod
    def Waitall(cls, requests: Sequence[Request],
                statuses: Optional[List[Status]] = None) -> bool:
        """Wait for every request to complete."""
        sts = _status_list(statuses, len(requests))
        for i, req in enumerate(requests):
            req.Wait(sts[i] if sts is not None and i < len(sts) else None)
        return True

    @classmethod
    def waitall(cls, requests: Sequence[Request],
                statuses: Optional[List[Status]] = None) -> List[Any]:
        """Wait for every request and return their received objects."""
        cls.Waitall(requests, statuses)
        return [r._result for r in requests]

    @classmethod
    def Testall(cls, requests: Sequence[Request],
                statuses: Optional[List[Status]] = None) -> bool:
        """Tell whether every request is complete, completing them if so."""
        if not all(r._ready() for r in requests):
            return False
        cls.Waitall(requests, statuses)
        return True

    @classmethod
    def testall(cls, requests: Sequence[Request],
                statuses: Optional[List[Status]] = None) -> Tuple[bool, Optional[List[Any]]]:
        """Test every request and return their received objects if all are complete."""
        if cls.Testall(requests, statuses):
            return True, [r._result for r in requests]
        return False, None

    @classmethod
    def Waitany(cls, requests: Sequence[Request], status: Optional[Status] = None) -> int:
        """Wait for one active request to complete and return its index."""
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
        """Wait for one active request and return its index and received object."""
        index = cls.Waitany(requests, status)
        return index, (requests[index]._result if index != C.UNDEFINED else None)

    @classmethod
    def Testany(cls, requests: Sequence[Request],
                status: Optional[Status] = None) -> Tuple[int, bool]:
        """Test for one complete request: return its index and whether one was."""
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
        """Test for one complete request: its index, whether one was, its object."""
        index, flag = cls.Testany(requests, status)
        obj = requests[index]._result if flag and index != C.UNDEFINED else None
        return index, flag, obj

    @classmethod
    def Waitsome(cls, requests: Sequence[Request],
                 statuses: Optional[List[Status]] = None) -> Optional[List[int]]:
        """Wait for at least one request and return the indices of the complete ones."""
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
        """Return the indices of the complete requests."""
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
        """Wait for at least one request; return the complete ones' indices and objects."""
        idx = cls.Waitsome(requests, statuses)
        return idx, (None if idx is None else [requests[i]._result for i in idx])

    @classmethod
    def testsome(cls, requests: Sequence[Request],
                 statuses: Optional[List[Status]] = None) -> Tuple[Optional[List[int]],
                                                                  Optional[List[Any]]]:
        """Return the complete requests' indices and received objects."""
        idx = cls.Testsome(requests, statuses)
        return idx, (None if idx is None else [requests[i]._result for i in idx])


    @classmethod
    def Get_status_all(cls, requests: Sequence[Request],
                       statuses: Optional[List[Status]] = None) -> bool:
        """True if every request has completed (without freeing them)."""
        if not all(r._ready() for r in requests):
            return False
        sts = _status_list(statuses, len(requests))
        for i, req in enumerate(requests):
            req.Get_status(sts[i] if sts is not None and i < len(sts) else None)
        return True

    @classmethod
    def get_status_all(cls, requests: Sequence[Request],
                       statuses: Optional[List[Status]] = None) -> bool:
        """Tell whether every request is complete, without freeing them."""
        return cls.Get_status_all(requests, statuses)

    @classmethod
    def Get_status_any(cls, requests: Sequence[Request],
                       status: Optional[Status] = None) -> Tuple[int, bool]:
        """Return (index, True) of a completed active request (without freeing it),
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
        """Tell whether a request is complete, without freeing it; return its index."""
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
        """Return the indices of the complete requests, without freeing them."""
        return cls.Get_status_some(requests, statuses)


def _status_list(statuses: Optional[Sequence[Status]], n: int) -> Optional[Sequence[Status]]:
    """The statuses to fill: a list is grown to ``n`` entries, as mpi4py does."""
    if statuses is None:
        return None
    if isinstance(statuses, list):
        while len(statuses) < n:
            statuses.append(Status())
    return statuses


def _resolve(req: Request, cf: concurrent.futures.Future) -> None:
    """Hand the finished request's result (or exception) to ``cf``."""
    try:
        req.Wait()
        cf.set_result(req._result)  # kept after Wait (wait() of a null request is None)
    except BaseException as exc:  # noqa: BLE001 - handed to the waiter
        cf.set_exception(exc)


class _Watcher:
    """One thread that resolves the futures of pending receives as they finish (polling
    the engine: it has no completion callbacks); started on first use."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: List[Tuple[Request, concurrent.futures.Future]] = []
        self._thread: Optional[threading.Thread] = None

    def add(self, req: Request, cf: concurrent.futures.Future) -> None:
        with self._cond:
            self._pending.append((req, cf))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="hpxpy-requests")
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait()
                pending = list(self._pending)
            if _runtime._state.core is None:  # the runtime is gone: nothing will finish
                ready = []
            else:
                ready = [(r, cf) for r, cf in pending if r._ready()]
            with self._cond:
                for item in ready:
                    self._pending.remove(item)
                if not ready:
                    self._cond.wait(0.002)
            for req, cf in ready:
                _resolve(req, cf)


_watcher = _Watcher()


def _watch(req: Request, cf: concurrent.futures.Future) -> None:
    """Resolve ``cf`` when ``req`` has finished, without a thread of its own."""
    background = req._future
    if req._state is ACTIVE and background is not None:
        background.add_done_callback(lambda _: _resolve(req, cf))
    elif req._state is ACTIVE and req._core is not None:
        _watcher.add(req, cf)
    else:
        _resolve(req, cf)


class Prequest(Request):
    """A persistent request: set up once (``Send_init``, ``Recv_init``, ...), then run any
    number of times with ``Start``; completing it makes it inactive, not null, until
    ``Free``."""

    __slots__ = ("_starter", "_partitioned")

    def __init__(self, request: Optional[Request] = None, *,
                 starter: Optional[Callable[[], Request]] = None,
                 partitioned: Any = None) -> None:
        if request is not None:
            super().__init__(request)
            return
        super().__init__(complete=True)
        self._starter = starter
        # a partitioned side (``_partitioned``): what Pready*/Parrived act on
        self._partitioned = partitioned
        self._state = INACTIVE if starter is not None else NULL

    def _settle(self) -> State:
        return INACTIVE

    def _finalize(self, status: Optional[Status], consume: bool = True) -> Any:
        if self._state is NULL:  # freed: an empty status, as when inactive
            _empty(status)
            return None
        return super()._finalize(status, consume)

    def Start(self) -> None:
        """Start the operation once more."""
        if self._state is NULL:
            raise MPIException(C.ERR_REQUEST, "cannot start a freed persistent request")
        if self._state is not INACTIVE:
            raise MPIException(C.ERR_REQUEST, "the persistent request is already active")
        op = self._starter()  # type: ignore[misc]
        with self._lock:
            self._core, self._finish, self._future = op._core, op._finish, op._future
            self._result, self._status = op._result, op._status
            self._cancellable, self._interop = op._cancellable, None
            self._state = COMPLETE if op._state is COMPLETE else ACTIVE

    def start(self) -> None:
        """Start the persistent request (as ``Start``)."""
        self.Start()

    @classmethod
    def Startall(cls, requests: Sequence[Prequest]) -> None:
        """Start every persistent request."""
        for req in requests:
            req.Start()

    @classmethod
    def startall(cls, requests: Sequence[Prequest]) -> None:
        """Start every persistent request (as ``Startall``)."""
        cls.Startall(requests)

    def Free(self) -> None:
        """Release the request (it becomes ``REQUEST_NULL``)."""
        self._state = NULL

    # -- partitioned communication (MPI 4) ----------------------------------------------------
    def _side(self) -> Any:
        side = getattr(self, "_partitioned", None)
        if side is None or self._state is NULL:
            raise MPIException(C.ERR_REQUEST, "not a partitioned request")
        return side

    def Pready(self, partition: int) -> None:
        """Partition ``partition`` of a partitioned send is ready: it is sent."""
        self._side().ready([partition])

    def Pready_range(self, partition_low: int, partition_high: int) -> None:
        """Partitions ``partition_low`` to ``partition_high`` (inclusive) are ready."""
        self._side().ready(range(partition_low, partition_high + 1))

    def Pready_list(self, partitions: Sequence[int]) -> None:
        """The listed partitions are ready."""
        self._side().ready(list(partitions))

    def Parrived(self, partition: int) -> bool:
        """Whether partition ``partition`` of a partitioned receive has arrived."""
        return self._side().arrived(partition)


class Grequest(Request):
    """A generalized request: an operation the program carries out itself and reports
    with ``Complete`` (``complete(obj)`` also hands ``wait()`` a result). MPI calls
    ``query_fn(status, *args, **kwargs)`` to fill the status on completion,
    ``free_fn(*args, **kwargs)`` when the request is freed and
    ``cancel_fn(completed, *args, **kwargs)`` on ``Cancel``."""

    __slots__ = ("_query_fn", "_free_fn", "_cancel_fn", "_args", "_kwargs", "_completed",
                 "_free_called")
    _query_fn: Optional[Callable[..., None]]
    _free_fn: Optional[Callable[..., None]]
    _cancel_fn: Optional[Callable[..., None]]
    _args: Tuple[Any, ...]
    _kwargs: Dict[str, Any]
    _completed: threading.Event
    _free_called: bool

    @classmethod
    def Start(cls, query_fn: Optional[Callable[..., None]] = None,
              free_fn: Optional[Callable[..., None]] = None,
              cancel_fn: Optional[Callable[..., None]] = None,
              args: Optional[Tuple[Any, ...]] = None,
              kwargs: Optional[Dict[str, Any]] = None) -> Grequest:
        """Start a generalized request."""
        req = Request.__new__(cls)
        Request.__init__(req, finish=_no_finish)  # active until Complete
        req._query_fn, req._free_fn, req._cancel_fn = query_fn, free_fn, cancel_fn
        req._args, req._kwargs = tuple(args or ()), dict(kwargs or {})
        req._completed = threading.Event()
        req._free_called = False
        return req

    def Complete(self) -> None:
        """The operation is done: a Wait returns, a Test succeeds."""
        completed = getattr(self, "_completed", None)
        if self._state is NULL or completed is None:
            raise MPIException(C.ERR_REQUEST, "the request is MPI.REQUEST_NULL")
        if completed.is_set():
            raise MPIException(C.ERR_REQUEST, "the generalized request is already complete")
        completed.set()

    def complete(self, obj: Any = None) -> None:
        """Mark the request complete, with ``obj`` as what ``wait()`` and ``test()`` return."""
        self._result = obj
        self.Complete()

    def _ready(self) -> bool:
        if self._state is not ACTIVE:
            return True
        return self._completed.is_set()

    def _block(self) -> None:
        while not self._completed.wait(0.1):  # slices keep Ctrl-C working
            pass

    def _compute(self) -> None:
        st = Status()
        _empty(st)
        if self._query_fn is not None:
            try:
                run_callback(self._query_fn, st, *self._args, **self._kwargs)
            except MPIException:
                self._state = NULL  # MPI has freed it: the error is reported once
                raise
        self._status, self._finish = st, None
        self._state = COMPLETE

    def _finalize(self, status: Optional[Status], consume: bool = True) -> Any:
        result = super()._finalize(status, consume)
        if consume and self._state is NULL:
            self._call_free()
        return result

    def _call_free(self) -> None:
        if getattr(self, "_free_called", True):
            return
        self._free_called = True
        if self._free_fn is not None:
            run_callback(self._free_fn, *self._args, **self._kwargs)

    def Cancel(self) -> None:
        """Run ``cancel_fn(completed)`` (whether ``Complete`` was called)."""
        if self._state is NULL:
            raise MPIException(C.ERR_REQUEST, "the request is MPI.REQUEST_NULL")
        if self._cancel_fn is not None:
            run_callback(self._cancel_fn, self._completed.is_set(), *self._args,
                         **self._kwargs)

    def Free(self) -> None:
        """Free the request (``free_fn`` runs)."""
        if self._state is NULL:
            raise MPIException(C.ERR_REQUEST, "the request is MPI.REQUEST_NULL")
        self._state = NULL
        self._call_free()


def _no_finish(status: Optional[Status]) -> None:
    """A generalized request's placeholder finish (its status comes from query_fn)."""


_handle_counter = itertools.count(1)
_handles: weakref.WeakValueDictionary = weakref.WeakValueDictionary()

REQUEST_NULL = Request(complete=True)
_PLAIN_COMPUTE = Request._compute  # as defined here, before any tracer wraps it


# The two requests of every Isend/Irecv, made without the general constructor's keyword
# handling (measured: Isend + Irecv + Waitall of 8 B on COMM_SELF spent a third of its
# 22 us building requests and computing a send's empty status).
def completed() -> Request:
    """A request whose operation finished when it started (a buffered send): COMPLETE,
    an empty status and no result, until Wait/Test hand it out."""
    req = object.__new__(Request)
    req._handle = next(_handle_counter)
    req._core = req._finish = req._future = req._result = req._status = None
    req._interop = None
    req._cancellable = False
    req._lock = threading.Lock()
    req._state = COMPLETE
    return req


def receiving(core_request: Any, finish: Finish) -> Request:
    """The request of a posted receive (cancellable until it matches)."""
    req = object.__new__(Request)
    req._handle = next(_handle_counter)
    req._core, req._finish = core_request, finish
    req._future = req._result = req._status = req._interop = None
    req._cancellable = True
    req._lock = threading.Lock()
    req._state = ACTIVE
    return req
