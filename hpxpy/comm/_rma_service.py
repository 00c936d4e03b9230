"""The target side of one-sided communication: one service thread per process.

Every origin sends its RMA requests (put, get, accumulate, lock, ...) to the target
process's service on one context reserved for it (``SERVICE_CONTEXT``, a spare context of
``COMM_WORLD``'s block, the same number in every process). The service thread blocks in the
engine's receive (it sleeps, never spins), looks the window up by its id (the context of the
window's private communicator, agreed by all its members), applies the request to the
window's memory and, where the origin waits for an answer, replies on that private
communicator's context with the origin's tag. Requests from one origin arrive in the order
sent, and one thread applies all of them: an accumulate is atomic with respect to every
other RMA operation on the window, and a reply to a flush or an unlock means every
operation the origin issued before it is applied.

A request is one message: a 4-byte length, a pickled header ``(kind, window id, reply tag,
target disp, target count, target datatype, op name, extra)``, then the origin's data.

Layer 4 of hpxpy.comm: imports ``hpxpy._runtime``, ``_buffers`` (``Region``),
``_contexts``, ``_datatypes``, ``_errors``, ``_ops``, ``_constants``.
"""

from __future__ import annotations

import collections
import pickle
import struct
import threading
from typing import Any, Deque, Dict, List, Optional, Tuple

from .. import _core, _runtime
from .._numpy import np
from . import _constants as C
from . import _contexts, _ops
from . import _datatypes as D
from ._buffers import Region
from ._errors import Exception as MPIException

SERVICE_CONTEXT = _contexts.WORLD + 3  # COMM_WORLD's second spare context
_LEN = struct.Struct("<I")

# Request kinds
PUT, GET, ACC, GET_ACC, CAS, LOCK, UNLOCK, FLUSH, STOP = range(9)
# Reply status byte
OK, ERROR = b"\x00", b"\x01"


def encode_type(dt: D.Datatype) -> Any:
    """A datatype as it travels: a predefined one by name, a derived one by its type map."""
    if dt._key:  # a predefined type's layout (or a duplicate's)
        return dt._key
    return (dt.numpy_dtype, np.asarray(dt.offsets, dtype=np.int64), *dt.Get_extent())


_TYPE_CACHE: Dict[Any, D.Datatype] = {}


def decode_type(desc: Any) -> D.Datatype:
    if isinstance(desc, str):
        dt = _TYPE_CACHE.get(desc)
        if dt is None:
            dt = _TYPE_CACHE[desc] = D.PREDEFINED[desc]
        return dt
    base, offsets, lb, extent = desc
    return D.Datatype._new(base, offsets=offsets, lb=lb, ub=lb + extent)


def pack_request(kind: int, win_id: int, reply_tag: int, disp: int = 0, count: int = 0,
                 tdesc: Any = None, op: str = "", extra: Any = None) -> bytes:
    header = pickle.dumps((kind, win_id, reply_tag, disp, count, tdesc, op, extra),
                          protocol=pickle.HIGHEST_PROTOCOL)
    return _LEN.pack(len(header)) + header


class Target:
    """One window's memory and lock state at this process (the service's view)."""

    def __init__(self, win_id: int, memory: Optional[np.ndarray], disp_unit: int,
                 dynamic: bool) -> None:
        self.win_id = win_id
        self.memory = memory if memory is not None else np.empty(0, np.uint8)
        self.disp_unit = disp_unit
        self.dynamic = dynamic
        self.attached: Dict[int, np.ndarray] = {}  # address -> bytes (dynamic windows)
        self.lock = threading.Lock()  # held while a request is applied
        self.exclusive: Optional[int] = None  # world rank holding the exclusive lock
        self.shared: Dict[int, int] = {}  # world rank -> shared locks held
        self.waiting: Deque[Tuple[int, int, int]] = collections.deque()  # (origin, type, tag)
        # the first error of an unanswered put/accumulate, per origin: the answer to its
        # next flush or unlock carries it
        self.errors: Dict[int, Tuple[int, str]] = {}

    # -- memory ----------------------------------------------------------------------------
    def region(self, disp: int, count: int, dt: D.Datatype) -> Region:
        if self.dynamic:
            for address, mem in self.attached.items():
                if address <= disp < address + mem.size or (count == 0 and disp == address):
                    return self._checked(mem, disp - address, count, dt)
            if count == 0:
                return Region(self.memory, dt, 0, 0)
            raise MPIException(C.ERR_RMA_RANGE, f"no memory attached at address {disp:#x}")
        return self._checked(self.memory, disp * self.disp_unit, count, dt)

    @staticmethod
    def _checked(mem: np.ndarray, offset: int, count: int, dt: D.Datatype) -> Region:
        if count:
            lb, extent = dt.Get_extent()
            tlb, textent = dt.Get_true_extent()
            low = offset + tlb
            high = offset + (count - 1) * extent + tlb + textent
            if low < 0 or high > mem.size:
                raise MPIException(C.ERR_RMA_RANGE, f"target bytes [{low}, {high}) outside "
                                                    f"the window's {mem.size} bytes")
        return Region(mem, dt, offset, count)

    def apply(self, kind: int, disp: int, count: int, tdesc: Any, opname: str, extra: Any,
              data: memoryview) -> Any:
        """Apply a data request (``tdesc``: the target datatype, or its encoding); returns
        the data to send back (or None)."""
        dt = tdesc if isinstance(tdesc, D.Datatype) else decode_type(tdesc)
        region = self.region(disp, count, dt)
        if kind == PUT:
            incoming = np.frombuffer(data, dtype=dt.numpy_dtype)
            _store(region, incoming)
            return None
        current = region.data()
        if kind == GET:
            return current.copy()
        old = current.copy()
        if kind == CAS:
            compare, origin = extra, np.frombuffer(data, dtype=dt.numpy_dtype)
            if old.tobytes() == bytes(compare):
                _store(region, origin, current)
            return old
        op = _ops.PREDEFINED[opname]
        if op is not _ops.NO_OP:
            incoming = np.frombuffer(data, dtype=dt.numpy_dtype)
            _store(region, op.combine_arrays(old, incoming, dt), current)
        return old if kind == GET_ACC else None

    # -- locks -----------------------------------------------------------------------------
    def _grantable(self, lock_type: int) -> bool:
        if self.exclusive is not None:
            return False
        return lock_type == C.LOCK_SHARED or not self.shared

    def request_lock(self, origin: int, lock_type: int, tag: int) -> bool:
        """True if granted now; else queued (granted by a later unlock)."""
        if not self.waiting and self._grantable(lock_type):
            self._take(origin, lock_type)
            return True
        self.waiting.append((origin, lock_type, tag))
        return False

    def _take(self, origin: int, lock_type: int) -> None:
        if lock_type == C.LOCK_EXCLUSIVE:
            self.exclusive = origin
        else:
            self.shared[origin] = self.shared.get(origin, 0) + 1

    def release(self, origin: int) -> List[Tuple[int, int]]:
        """Release ``origin``'s lock; returns the (origin, tag) of requests now granted."""
        if self.exclusive == origin:
            self.exclusive = None
        elif self.shared.get(origin):
            self.shared[origin] -= 1
            if not self.shared[origin]:
                del self.shared[origin]
        granted = []
        while self.waiting and self._grantable(self.waiting[0][1]):
            who, lock_type, tag = self.waiting.popleft()
            self._take(who, lock_type)
            granted.append((who, tag))
        return granted


def _store(region: Region, values: np.ndarray, view: Optional[np.ndarray] = None) -> None:
    """Write ``values`` (base elements) to the region's place in the window."""
    if region.count == 0:
        return
    if region.dt.is_dense and region.mem is not None:
        target = view if view is not None else region.data()
        target[...] = values.reshape(target.shape) if values.size == target.size else values
    else:
        region.store(np.ascontiguousarray(values, dtype=region.dt.numpy_dtype))


class Service:
    """The process's RMA service thread and the windows it serves."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._targets: Dict[int, Target] = {}
        self._thread: Optional[threading.Thread] = None
        self._stopped = False

    def register(self, target: Target) -> None:
        with self._lock:
            self._targets[target.win_id] = target
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(target=self._serve, name="hpxpy-rma",
                                                daemon=True)
                self._thread.start()
                # stops after finalize's barrier: no peer needs this process's service then
                _runtime.on_shutdown(self.stop)

    def unregister(self, win_id: int) -> None:
        with self._lock:
            self._targets.pop(win_id, None)

    def target(self, win_id: int) -> Optional[Target]:
        with self._lock:
            return self._targets.get(win_id)

    def stop(self) -> None:
        """Stop serving (when the runtime stops); returns once the thread has ended."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stopped = True
        if thread is None or not _runtime.is_running():
            return
        try:
            _runtime.core().send(_runtime.locality_id(), SERVICE_CONTEXT, 0,
                                 [pack_request(STOP, 0, 0)])
        except BaseException:  # noqa: BLE001 - the runtime is going away
            return
        thread.join(timeout=5)

    # -- the thread ------------------------------------------------------------------------
    def _serve(self) -> None:
        core = _runtime.core()
        me = _runtime.locality_id()
        while True:
            try:
                source, _tag, payload = core.receive(SERVICE_CONTEXT, _core.ANY_SOURCE, -1)
            except BaseException:  # noqa: BLE001 - a lost peer or the runtime shut down
                return
            view = memoryview(payload)
            (length,) = _LEN.unpack_from(view, 0)
            kind, win_id, tag, disp, count, tdesc, opname, extra = pickle.loads(
                view[_LEN.size:_LEN.size + length])
            data = view[_LEN.size + length:]
            if kind == STOP:
                if source == me:
                    return
                continue
            target = self.target(win_id)
            if target is None:  # freed meanwhile (an erroneous program): answer an error
                if tag:
                    _reply(core, source, win_id, tag, ERROR, pickle.dumps(
                        (C.ERR_WIN, "the window was freed at the target")))
                continue
            try:
                self._handle(core, target, source, kind, tag, disp, count, tdesc, opname,
                             extra, data)
            except BaseException as exc:  # noqa: BLE001 - report to the origin
                if isinstance(exc, MPIException):
                    err = (exc.ierr, exc._message)
                else:
                    err = (C.ERR_OTHER, f"{type(exc).__name__}: {exc}")
                if tag:
                    try:
                        _reply(core, source, win_id, tag, ERROR, pickle.dumps(err))
                    except BaseException:  # noqa: BLE001
                        pass
                else:
                    target.errors.setdefault(source, err)

    def _handle(self, core: Any, target: Target, source: int, kind: int, tag: int,
                disp: int, count: int, tdesc: Any, opname: str, extra: Any,
                data: memoryview) -> None:
        win = target.win_id
        if kind == LOCK:
            with target.lock:
                now = target.request_lock(source, disp, tag)
            if now:
                _reply(core, source, win, tag, OK)
            return
        if kind == UNLOCK:
            with target.lock:
                granted = target.release(source)
            _answer_flush(core, target, source, tag)
            for who, who_tag in granted:
                _reply(core, who, win, who_tag, OK)
            return
        if kind == FLUSH:
            _answer_flush(core, target, source, tag)
            return
        with target.lock:
            result = target.apply(kind, disp, count, tdesc, opname, extra, data)
        if tag:
            _reply(core, source, win, tag, OK, result)


def _answer_flush(core: Any, target: Target, origin: int, tag: int) -> None:
    """Answer a flush or unlock: OK, or the first error of the origin's unanswered
    operations since the last one."""
    err = target.errors.pop(origin, None)
    if err is None:
        _reply(core, origin, target.win_id, tag, OK)
    else:
        _reply(core, origin, target.win_id, tag, ERROR, pickle.dumps(err))


def _reply(core: Any, dest: int, win_id: int, tag: int, status: bytes,
           data: Any = None) -> None:
    parts: List[Any] = [status]
    if data is not None:
        parts.append(data if not isinstance(data, np.ndarray) else data.view(np.uint8))
    core.send(dest, win_id, tag, parts)


SERVICE = Service()
