"""Object collectives (the lower-case ``bcast``, ``gather``, ``allreduce`` ...).

Pickled objects travel as items of the C++ core's collectives (trees, recursive doubling)
over the communicator's group; the operations the core has no algorithm for are composed
from broadcast, gather and scatter in O(log N) rounds, except ``alltoall``, which is a
pairwise exchange (:func:`exchange`, also the buffer all-to-alls'). A collective's
sequence number ``seq`` is equal on every member by program order; step ``step`` of it
uses core tag ``_Handle._tag(seq, step)``.

An error found on one member (an object that does not pickle, a failing reduction) is
raised on every member (``_failures.collective``). Concurrent calls of one operation on one
communicator from several threads are serialized (:func:`locked`), as mpi4py does.

Layer 4 of hpxpy.comm: imports ``_handle``, ``_failures``, ``_pickle`` and ``_ops``.
"""

from __future__ import annotations

import struct
import threading
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

from .. import _core, _runtime
from .._items import OBJECT
from .._status import failure_exception, failure_status
from . import _ops as O
from . import _pickle
from ._failures import collective
from ._handle import _Handle

F = TypeVar("F", bound=Callable[..., Any])

# -- one operation at a time per communicator ---------------------------------------------
_table_guard = threading.Lock()


def _comm_lock_table(comm: Any) -> Dict[str, Any]:
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
    lock = table.get(key)
    if lock is None:
        with _table_guard:
            lock = table.get(key)
            if lock is None:
                lock = table[key] = threading.Lock()
    return lock


def locked(key: str, function: F) -> F:
    """``function`` (comm, ...) as the method ``Comm.<key>``, one call at a time."""

    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _comm_lock(self, key):
            return function(self, *args, **kwargs)

    run.__name__, run.__qualname__, run.__doc__ = key, f"Comm.{key}", function.__doc__
    return run  # type: ignore[return-value]


# -- the three core collectives, for objects -------------------------------------------------
def obj_bcast(comm: _Handle, seq: int, obj: Any, root: int, step: int = 0,
              failure: Optional[BaseException] = None) -> Any:
    """The root's object on every member (the root gets a copy, as with mpi4py).
    ``failure``: an error the root reports instead of sending (every member raises it)."""
    segs: Optional[List[Any]] = None
    local = failure
    if failure is None and comm._rank == root:
        try:
            segs = _pickle.dumps(obj)
        except Exception as exc:  # noqa: BLE001 - raised on every rank
            local = exc
    item = collective(_runtime.core().broadcast,
                      (comm._group, segs, OBJECT, root, comm._tag(seq, step)), local,
                      own=failure is None)
    if item is None:
        return _pickle.loads(b"".join(segs))  # type: ignore[arg-type]
    return _pickle.loads(item.payload, item.offset, item.nbytes)


def obj_gather(comm: _Handle, seq: int, obj: Any, root: int,
               step: int = 0) -> Optional[List[Any]]:
    """Every member's object, in rank order, on the root (None elsewhere)."""
    segs: Optional[List[Any]] = None
    local = None
    try:
        segs = _pickle.dumps(obj)
    except Exception as exc:  # noqa: BLE001 - raised on every rank
        local = exc
    items = collective(_runtime.core().gather,
                       (comm._group, segs, OBJECT, root, comm._tag(seq, step)), local)
    if items is None:
        return None
    return [_pickle.loads(b"".join(segs)) if it is None else  # type: ignore[arg-type]
            _pickle.loads(it.payload, it.offset, it.nbytes) for it in items]


def obj_scatter(comm: _Handle, seq: int, sendobj: Any, root: int, step: int = 0) -> Any:
    """Item ``rank`` of the root's sequence on each member."""
    values: List[Any] = []
    codes: List[int] = []
    local = None
    size = len(comm._check())
    if comm._rank == root:
        try:
            # as mpi4py: None at the root scatters None to every rank
            items = [None] * size if sendobj is None else list(sendobj)
            if len(items) != size:
                raise ValueError(f"expecting {size} items, got {len(items)}")
            values = [_pickle.dumps(x) for x in items]
            codes = [OBJECT] * size
        except Exception as exc:  # noqa: BLE001 - raised on every rank
            values, codes, local = [], [], exc
    item = collective(_runtime.core().scatter,
                      (comm._group, values, codes, root, comm._tag(seq, step)), local)
    if item is None:
        return _pickle.loads(b"".join(values[root]))
    return _pickle.loads(item.payload, item.offset, item.nbytes)


def exchange(comm: _Handle, seq: int, outgoing: Sequence[List[Any]],
             decode: Callable[[Any], Any]) -> List[Any]:
    """Pairwise all-to-all on the collective context: N-1 rounds; ``outgoing[j]`` (a list
    of segments) goes to rank j; returns what came in, decoded, in rank order."""
    size, rank = len(comm._check()), comm._rank
    tag = comm._tag(seq)
    core = _runtime.core()
    context = comm._context + 1
    result: List[Any] = [None] * size
    result[rank] = decode(b"".join(outgoing[rank]))
    for shift in range(1, size):
        dest, src = (rank + shift) % size, (rank - shift) % size
        req = core.post_receive(context, comm._world(src), tag)
        core.send(comm._world(dest), context, tag, outgoing[dest])
        core.wait(req)
        result[src] = decode(req.payload)
    return result


def _fold(values: Sequence[Any], op: O.Op) -> Any:
    acc = values[0]
    for v in values[1:]:
        acc = op(acc, v)
    return acc


def _prefixes(values: Sequence[Any], op: O.Op, inclusive: bool) -> List[Any]:
    """x0, x0 op x1, ... (inclusive); None, x0, x0 op x1, ... (exclusive)."""
    out: List[Any] = [] if inclusive else [None]
    acc = None
    for i, v in enumerate(values if inclusive else values[:-1]):
        acc = v if i == 0 else op(acc, v)
        out.append(acc)
    return out


# -- the operations (Comm's lower-case methods, through ``locked``) --------------------------
def barrier(comm: _Handle, seq: Optional[int] = None) -> None:
    """Wait until every rank has called it."""
    if seq is None:
        seq = comm._next()
    _runtime.core().barrier(comm._group, "", comm._tag(seq))


def bcast(comm: _Handle, obj: Any, root: int = 0) -> Any:
    """The root's object, on every rank."""
    root = comm._check_root(root)
    return obj_bcast(comm, comm._next(), obj, root)


def gather(comm: _Handle, sendobj: Any, root: int = 0) -> Optional[List[Any]]:
    """Every rank's object, as a list on the root (None elsewhere)."""
    root = comm._check_root(root)
    return obj_gather(comm, comm._next(), sendobj, root)


def scatter(comm: _Handle, sendobj: Any, root: int = 0) -> Any:
    """Element ``rank`` of the root's sequence, on each rank."""
    root = comm._check_root(root)
    return obj_scatter(comm, comm._next(), sendobj, root)


def allgather(comm: _Handle, sendobj: Any) -> List[Any]:
    """Every rank's object, as a list on every rank."""
    seq = comm._next()
    return obj_bcast(comm, seq, obj_gather(comm, seq, sendobj, 0), 0, step=1)


def alltoall(comm: _Handle, sendobj: Any) -> List[Any]:
    """Item ``j`` of rank ``i``'s sequence goes to rank ``j``; returns what came in."""
    seq = comm._next()
    size = len(comm._check())
    items = list(sendobj) if sendobj is not None else [None] * size  # None: as mpi4py
    if len(items) != size:
        raise ValueError(f"expecting {size} items, got {len(items)}")
    return exchange(comm, seq, [_pickle.dumps(x) for x in items],
                    lambda payload: _pickle.loads(payload, 0))


def reduce(comm: _Handle, sendobj: Any, op: O.Op = O.SUM, root: int = 0) -> Any:
    """The reduction (in rank order) of every rank's object, on the root."""
    root = comm._check_root(root)
    values = obj_gather(comm, comm._next(), sendobj, root)
    return None if values is None else _fold(values, op)


# Builtins a pickle round trip gives back equal and that nobody can change: returned as
# they are where the others get a copy.
_IMMUTABLE = frozenset((int, float, complex, str, bytes, bool, type(None)))
# Head of an allreduce message: status (0: a pickled value follows; else a failure code of
# hpxpy._status and its text), padded to 16 bytes so the pickle stays aligned.
# Status, then the call word at _core.CALL_OFFSET as in every collective message (a rank
# in another collective sees the mismatch), 16-byte aligned for the pickle's buffers.
_RD_HEAD = struct.Struct("<I16xI8x")
_CALL = _core.CALL_OBJECT_ALLREDUCE
_RD_OK = _RD_HEAD.pack(0, _CALL)
_WORD = struct.Struct("<I")
_MEET_BYTES = 240  # Collectives::kMeetBytes: what a meeting cell carries
_TOO_BIG = bytes(_MEET_BYTES + 1)


def allreduce(comm: _Handle, sendobj: Any, op: O.Op = O.SUM) -> Any:
    """The reduction of every rank's object, on every rank: one meeting when the ranks
    share a host, the op is predefined and the pickles are small; else recursive
    doubling over pickled values, ceil(log2 N) rounds (+2 when N is not a power of two).

    Every step combines "lower ranks op higher ranks", and the ranks beyond the largest
    power of two first fold into their even neighbour (MPICH's scheme), so the result is
    x0 op x1 op ... in rank order for any associative op, and the same on every rank. An
    error (a value that does not pickle, an op that raises) travels in place of the value,
    so every rank raises: the one that found it its own exception."""
    seq = comm._next()
    size, rank = len(comm._check()), comm._rank
    if size == 1:
        if type(sendobj) in _IMMUTABLE:
            return sendobj
        return _pickle.loads(b"".join(_pickle.dumps(sendobj)))  # a copy, as the others get
    core = _runtime.core()
    context, tag = comm._context + 1, comm._tag(seq)
    value = sendobj
    own: Optional[BaseException] = None
    failure: Optional[Tuple[int, str]] = None
    # Small values among the localities of one host, predefined op: one meeting (every
    # rank reads every rank's pickle and folds them as the recursive doubling below
    # would). A predefined op depends on the values only, so if it fails it fails on
    # every rank; a user's op may fail on one rank only, which the recursive doubling
    # carries to the others.
    if not op.is_predefined:
        return _recursive_doubling(comm, core, context, tag, size, rank, value, op)
    try:
        blob = b"".join([_RD_OK, *_pickle.dumps(value)])
    except Exception as exc:  # noqa: BLE001 - raised on every rank
        own, failure = exc, failure_status(exc)
        blob = _RD_HEAD.pack(failure[0], _CALL) + failure[1].encode()[:200]
    # A pickle too large for a cell is not copied in: its size alone tells every rank so.
    cells = core.meet(comm._group, tag, blob if len(blob) <= _MEET_BYTES else _TOO_BIG)
    if cells is not None and None not in cells:
        return _fold_cells(cells, op, own, failure)
    return _recursive_doubling(comm, core, context, tag, size, rank, value, op)


def finish_allreduce(comm: _Handle, sendobj: Any, op: O.Op, tag: int,
                     cells: Optional[List[Any]]) -> Any:
    """The end of an :func:`allreduce` whose meeting the fast path held (``cells``, None
    when the group does not meet) but could not finish itself."""
    if cells is not None and None not in cells:
        return _fold_cells(cells, op, None, None)
    return _recursive_doubling(comm, _runtime.core(), comm._context + 1, tag,
                               len(comm._check()), comm._rank, sendobj, op)


def _recursive_doubling(comm: _Handle, core: Any, context: int, tag: int, size: int, rank: int,
                        value: Any, op: O.Op) -> Any:
    """:func:`allreduce` by messages: ceil(log2 N) rounds (+2 when N is not a power of
    two); an error travels in place of the value."""
    own: Optional[BaseException] = None
    failure: Optional[Tuple[int, str]] = None

    def send(peer: int) -> None:
        nonlocal own, failure
        parts: List[Any] = []
        if failure is None:
            try:
                parts = [_RD_OK, *_pickle.dumps(value)]
            except Exception as exc:  # noqa: BLE001 - raised on every rank
                own, failure = exc, failure_status(exc)
        if failure is not None:
            parts = [_RD_HEAD.pack(failure[0], _CALL), failure[1].encode()]
        core.send(comm._world(peer), context, tag, parts)

    def take(req: Any, peer: int) -> Any:
        """The partner's value; records its failure instead (and returns None)."""
        nonlocal failure
        core.wait(req)
        payload = req.payload
        offset = _core.CALL_OFFSET
        word = _WORD.unpack_from(payload, offset)[0] if len(payload) >= offset + 4 else 0
        if word != _CALL:  # another collective's message: nothing in it is ours to read
            if failure is None:
                failure = (_core.STATUS_MISMATCH, _core.mismatch_text(rank, _CALL, peer, word))
            return None
        status = _RD_HEAD.unpack_from(payload)[0]
        if status:
            if failure is None:
                failure = (status, bytes(memoryview(payload)[_RD_HEAD.size:]).decode())
            return None
        return _pickle.loads(payload, _RD_HEAD.size)

    def combine(peer: int, theirs: Any) -> None:
        nonlocal value, own, failure
        if failure is not None:
            return
        try:
            value = op(theirs, value) if peer < rank else op(value, theirs)
        except Exception as exc:  # noqa: BLE001 - raised on every rank, not just here
            own, failure = exc, failure_status(exc)

    p2 = 1 << (size.bit_length() - 1)
    rem = size - p2
    if rank < 2 * rem and rank % 2:  # folds into rank - 1, then gets the result back
        req = core.post_receive(context, comm._world(rank - 1), tag)
        send(rank - 1)
        got = take(req, rank - 1)
        if failure is None:
            value = got
    else:
        if rank < 2 * rem:
            peer = rank + 1
            combine(peer, take(core.post_receive(context, comm._world(peer), tag), peer))
            vrank = rank // 2
        else:
            vrank = rank - rem
        mask = 1
        while mask < p2:
            vpeer = vrank ^ mask
            peer = vpeer * 2 if vpeer < rem else vpeer + rem
            req = core.post_receive(context, comm._world(peer), tag)
            send(peer)
            combine(peer, take(req, peer))
            mask <<= 1
        if rank < 2 * rem:
            send(rank + 1)
    if own is not None:
        raise own.with_traceback(own.__traceback__)
    if failure is not None:
        raise failure_exception(*failure, context)
    return value


def _tree_fold(values: List[Any], op: O.Op) -> Any:
    """``values`` combined as the recursive doubling of :func:`allreduce` combines them:
    the first ``2 * rem`` fold pairwise, then a balanced tree, lower ranks on the left."""
    # A predefined op's own function: the same result, without Op.__call__'s checks.
    fn = op._obj if op.is_predefined and op._obj is not None else op
    p2 = 1 << (len(values).bit_length() - 1)
    rem = len(values) - p2
    level = [fn(values[2 * i], values[2 * i + 1]) for i in range(rem)] + values[2 * rem:]
    while len(level) > 1:
        level = [fn(level[2 * j], level[2 * j + 1]) for j in range(len(level) // 2)]
    return level[0]


def _fold_cells(cells: List[Any], op: O.Op, own: Optional[BaseException],
                failure: Optional[Tuple[int, str]]) -> Any:
    """The allreduce's result from every rank's cell of a meeting (or its error)."""
    for cell in cells:
        status = _RD_HEAD.unpack_from(cell)[0]
        if status and failure is None:
            failure = (status, bytes(cell[_RD_HEAD.size:]).decode(errors="replace"))
    if failure is None:
        try:
            return _tree_fold([_pickle.loads(c, _RD_HEAD.size) for c in cells], op)
        except Exception as exc:  # noqa: BLE001 - every rank folds, so every rank raises
            own = exc
    if own is not None:
        raise own.with_traceback(own.__traceback__)
    raise failure_exception(*failure)  # type: ignore[misc]


def scan(comm: _Handle, sendobj: Any, op: O.Op = O.SUM) -> Any:
    """Inclusive prefix reduction: rank i gets x0 op ... op xi."""
    seq = comm._next()
    values = obj_gather(comm, seq, sendobj, 0)
    prefixes = None if values is None else _prefixes(values, op, True)
    return obj_scatter(comm, seq, prefixes, 0, step=1)


def exscan(comm: _Handle, sendobj: Any, op: O.Op = O.SUM) -> Any:
    """Exclusive prefix reduction: rank i gets x0 op ... op x(i-1); rank 0 gets None."""
    seq = comm._next()
    values = obj_gather(comm, seq, sendobj, 0)
    prefixes = None if values is None else _prefixes(values, op, False)
    return obj_scatter(comm, seq, prefixes, 0, step=1)
