"""Distributed arrays: one array whose partitions live on different localities.

    import hpxpy as hpx
    with hpx.runtime():
        x = hpx.distributed_zeros(10**7)          # each of N localities holds ~10**7 / N
        x.local[:] = x.global_indices()           # work where the data lives (zero copy)
        total = (2 * x + 1).sum()                 # local work + one all_reduce

Every creation function and most methods are *collective* (SPMD): every locality of the
array's communicator calls them, in the same order, with the same arguments. Arguments
that differ between localities (shape, dtype, distribution, an index) raise the same
exception on every locality instead of hanging.

An array is distributed along its first axis. With ``n`` rows over ``p`` partitions
(``q = n // p``, ``rem = n % p``):

* ``block``: partition ``r`` holds the contiguous rows ``[start(r), start(r) + count(r))``
  with ``count(r) = q + (r < rem)`` and ``start(r) = r * q + min(r, rem)`` (the first
  ``rem`` partitions get one row more, as ``numpy.array_split`` and HPX do);
* ``cyclic``: row ``g`` lives on partition ``g % p`` at local position ``g // p``;
* ``none``: the whole array on every locality (replicated); ``is_distributed()`` is False.

Partition ``r`` is the locality of rank ``r`` in the array's communicator (``comm=``, an
:mod:`hpxpy.comm` communicator, ``COMM_WORLD`` by default). The partition's memory is owned
by the C++ core (``hpxpy._core.Partition*``) and seen from numpy without copying
(:attr:`DistributedArray.local`). The arrays talk over a private duplicate of that
communicator, so their messages never meet the program's own messages on it.

This module is over 600 lines because ``DistributedArray`` is one numpy-like surface (about
forty methods of a few lines each: creation, reductions, element-wise operators, indexing,
redistribution) whose checks all go through the same agreement helpers; the layout
arithmetic and the partitions themselves live in C++ (``src/arrays/``).
"""

from __future__ import annotations

import enum
import warnings
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

import hpxpy._core as _core  # (mypy took `from . import _core` here for a redefinition)

from . import _runtime
from ._items import DTYPE_CODES, OP_CODES, RAW, item_array, item_bytes
from ._status import failure_exception
from .collectives import _failure

__all__ = [
    "DistributedArray",
    "DistributedArrayBool",
    "DistributedArrayF32",
    "DistributedArrayF64",
    "DistributedArrayI32",
    "DistributedArrayI64",
    "DistributionInfo",
    "DistributionPolicy",
    "distributed_from_numpy",
    "distributed_full",
    "distributed_ones",
    "distributed_zeros",
]


class DistributionPolicy(enum.IntEnum):
    """How the rows (first axis) of a distributed array are spread over localities."""

    none = 0  #: replicated: every locality holds the whole array
    block = 1  #: contiguous runs of rows, the first ``n % p`` partitions one row longer
    cyclic = 2  #: row ``g`` on partition ``g % p``, at local position ``g // p``


PolicyLike = Union[str, DistributionPolicy, None]
ShapeLike = Union[int, Sequence[int]]


@dataclass(frozen=True)
class DistributionInfo:
    """How an array is laid out, as seen from one locality (no communication needed).

    Indices are along the first axis (rows); for a 1-D array they are element indices.
    """

    policy: DistributionPolicy
    shape: Tuple[int, ...]
    num_partitions: int
    #: rows held by each partition
    partition_sizes: Tuple[int, ...]
    #: global row indices of each partition, as ``range`` objects
    partition_indices: Tuple[range, ...]
    #: this locality's partition (its rank in the array's communicator; 0 for ``none``)
    local_partition: int
    #: global row indices held here: ``range(start, stop)`` for block, ``range(r, n, p)``
    #: for cyclic, ``range(0, n)`` for none
    local_range: range


# --- element types ----------------------------------------------------------------------------

_PARTITIONS: Dict[np.dtype, Any] = {
    np.dtype(np.float64): _core.PartitionF64,
    np.dtype(np.float32): _core.PartitionF32,
    np.dtype(np.int64): _core.PartitionI64,
    np.dtype(np.int32): _core.PartitionI32,
    np.dtype(np.bool_): _core.PartitionBool,
}
# Codes exchanged when localities agree on a dtype (any distinct small ints would do).
_TYPE_CODES = {dt: i for i, dt in enumerate(_PARTITIONS)}
_SUPPORTED = "float64, float32, int64, int32, bool"
_MAX_DIMS = 32
_NO_SAY = np.iinfo(np.int64).min  # a field this locality has no say in (see _agree)


def _dtype_of(dtype: Any, what: str) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"{what}: unknown dtype {dtype!r}; expected one of {_SUPPORTED}") from exc
    if dt not in _PARTITIONS:
        raise TypeError(f"{what}: unsupported dtype {dt}; expected one of {_SUPPORTED}")
    return dt


def _policy_of(distribution: PolicyLike, what: str) -> DistributionPolicy:
    if isinstance(distribution, DistributionPolicy):
        return distribution
    if distribution is None:
        return DistributionPolicy.none
    if isinstance(distribution, str) and distribution.lower() in DistributionPolicy.__members__:
        return DistributionPolicy[distribution.lower()]
    raise ValueError(
        f"{what}: unknown distribution {distribution!r}; expected 'block', 'cyclic', 'none' "
        "or an hpx.DistributionPolicy"
    )


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _shape_of(shape: ShapeLike, what: str) -> Tuple[int, ...]:
    if _is_int(shape):
        dims: Tuple[Any, ...] = (shape,)
    elif isinstance(shape, (list, tuple)):
        dims = tuple(shape)
    else:
        raise TypeError(f"{what}: shape must be an int, list or tuple of ints, got "
                        f"{type(shape).__name__}")
    if not dims:
        raise ValueError(f"{what}: shape () has no first axis to distribute along")
    if len(dims) > _MAX_DIMS:
        raise ValueError(f"{what}: at most {_MAX_DIMS} dimensions, got {len(dims)}")
    for d in dims:
        if not _is_int(d):
            raise TypeError(f"{what}: shape entries must be ints, got {d!r}")
        if d < 0:
            raise ValueError(f"{what}: negative dimension in shape {tuple(dims)}")
    return tuple(int(d) for d in dims)


# --- the communicator an array lives on -------------------------------------------------------


class _Context:
    """Communication of the arrays on one communicator.

    The arrays use a private duplicate of the user's communicator (as libraries on MPI do):
    its contexts carry nothing else, so our collectives (on its C++ group) and point to
    point messages take tags from our own counter and can never match the program's.
    """

    def __init__(self, comm: Any) -> None:
        from .comm import channel  # here, not at import: importing hpxpy.comm starts the runtime

        self.comm = comm
        self.channel = channel(comm)  # collective over comm: a duplicate's fresh contexts
        self.group: _core.Group = self.channel.group
        self.p2p_context: int = self.channel.context
        self.members: List[int] = list(self.channel.members)  # world locality of each rank
        self.rank: int = comm.Get_rank()
        self.size: int = comm.Get_size()
        self.core = _runtime.core()
        self.tag = self.channel.next_tag  # the next operation's tag, equal on every member

    # Core collectives over the group; `failure` is a local argument error, raised by
    # every member (see hpxpy.collectives).
    def all_reduce(self, arr: np.ndarray, op: str,
                   failure: Tuple[int, str] = (0, "")) -> np.ndarray:
        item = self.core.all_reduce(self.group, arr if not failure[0] else None,
                                    DTYPE_CODES[arr.dtype], OP_CODES[op], self.tag(), *failure)
        if item is None:
            return arr.copy()
        return item_array(item, arr.dtype, arr.size)

    def broadcast(self, arr: Optional[np.ndarray], root: int) -> Optional[np.ndarray]:
        """The root's bytes on every other member; None on the root."""
        item = self.core.broadcast(self.group, [arr] if arr is not None else None, RAW, root,
                                   self.tag(), 0, "")
        return None if item is None else item_bytes(item)

    def gather(self, arr: np.ndarray, root: int) -> Optional[List[np.ndarray]]:
        """Every member's bytes in rank order on the root (its own not copied); else None."""
        items = self.core.gather(self.group, [arr], RAW, root, self.tag(), 0, "")
        if items is None:
            return None
        return [arr.reshape(-1).view(np.uint8) if it is None else item_bytes(it)
                for it in items]

    def scatter(self, blocks: List[np.ndarray], root: int,
                failure: Tuple[int, str] = (0, "")) -> np.ndarray:
        """Block r of the root's list on rank r, as bytes."""
        item = self.core.scatter(self.group, [[b] for b in blocks], [RAW] * len(blocks),
                                 root, self.tag(), *failure)
        if item is None:
            return blocks[root].reshape(-1).view(np.uint8)
        return item_bytes(item)


# (context, id of the C++ group) of a communicator -> (that group, _Context): the key every
# reference to one communicator shares (communicators have no hash, as mpi4py's); the entry
# holds the group, so its id names no other while the entry lives.
_contexts: Dict[Tuple[int, int], Tuple[Any, _Context]] = {}


def _context_for(comm: Any, what: str) -> _Context:
    """The arrays' context on ``comm`` (default COMM_WORLD); collective the first time."""
    from .comm import MPI  # here, not at import: importing hpxpy.comm starts the runtime

    if comm is None:
        comm = MPI.COMM_WORLD
    if not isinstance(comm, MPI.Comm):
        raise TypeError(f"{what}: comm must be an hpxpy.comm communicator, got "
                        f"{type(comm).__name__}")
    if not comm:
        raise ValueError(f"{what}: comm is MPI.COMM_NULL (this locality is not a member)")
    key = (comm._context, id(comm._group))
    found = _contexts.get(key)
    ctx = found[1] if found is not None else None
    if ctx is None or ctx.core is not _runtime.core():  # none yet, or from an old runtime
        ctx = _Context(comm)
        _contexts[key] = (comm._group, ctx)
    return ctx


def _agree(ctx: _Context, what: str, names: Sequence[str], values: Sequence[Optional[int]],
           failure: Tuple[int, str] = (0, "")) -> List[int]:
    """The values every member passed, agreed with one all_reduce(max) of (v, -v).

    ``None`` means this member has no say in that value (e.g. the array's shape on a
    non-root). A local ``failure`` raises on every member; values that differ between
    members raise ``ValueError`` on every member.
    """
    k = len(values)
    if ctx.size == 1:
        if failure[0]:
            raise failure_exception(*failure)
        return [int(v) for v in values]  # type: ignore[arg-type]
    vec = np.array([_NO_SAY if v is None else v for v in values]
                   + [_NO_SAY if v is None else -v for v in values], dtype=np.int64)
    out = ctx.all_reduce(vec, "max", failure)
    hi, lo = out[:k], -out[k:]
    differ = [names[i] for i in range(k) if hi[i] != lo[i]]
    if differ:
        detail = ", ".join(f"{names[i]} from {lo[i]} to {hi[i]}" for i in range(k)
                           if hi[i] != lo[i])
        differing = " and ".join(dict.fromkeys(differ))
        raise ValueError(f"{what}: localities passed different {differing} ({detail}); "
                         "every locality must pass the same arguments")
    return [int(v) for v in hi]


def _layout(policy: DistributionPolicy, rows: int, ctx: _Context) -> _core.ArrayLayout:
    return _core.ArrayLayout(int(policy), rows, ctx.size, ctx.rank)


# --- the array ------------------------------------------------------------------------------


def _is_scalar(x: Any) -> bool:
    return isinstance(x, (int, float, bool, complex, np.generic))


def _binop(ufunc: Callable, reflected: bool = False, inplace: bool = False) -> Callable:
    """An operator method applying ``ufunc`` partition by partition (no communication)."""

    def method(self: DistributedArray, other: Any) -> Any:
        if inplace:
            return self._inplace(other, ufunc)
        return self._binary(other, ufunc, reflected)

    method.__doc__ = f"Element-wise numpy.{ufunc.__name__}: a new distributed array " \
                     "with the same layout (in place for the augmented forms)."
    return method


class DistributedArray:
    """An array partitioned over the localities of a communicator (see the module doc).

    Not created directly: use :func:`distributed_zeros`, :func:`distributed_ones`,
    :func:`distributed_full` or :func:`distributed_from_numpy`. The concrete classes are
    :class:`DistributedArrayF64`, ``F32``, ``I64``, ``I32`` (and ``Bool``, the result of
    comparisons), all over one C++ template.

    Local operations (``local``, ``global_indices()``, ``fill``, ``arr[i] = v``, element-wise
    arithmetic and comparisons, ``copy()``, ``astype()``) need no communication; reductions,
    ``to_numpy()``, ``arr[i]`` and ``redistribute()`` are collective.
    """

    _dtype: ClassVar[np.dtype]
    # Set by _wrap (arrays are not built through __init__).
    _ctx: _Context
    _part: Any  # the C++ partition (hpxpy._core.Partition*)
    _policy: DistributionPolicy
    _shape: Tuple[int, ...]
    # numpy must not turn us into an object array: `np.float64(2) * arr` calls our __rmul__.
    __array_ufunc__ = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("create distributed arrays with hpx.distributed_zeros/ones/full/"
                        "from_numpy")

    @classmethod
    def _wrap(cls, ctx: _Context, part: Any, policy: DistributionPolicy) -> DistributedArray:
        kind = _CLASSES[np.dtype(part.local.dtype)]
        self: DistributedArray = object.__new__(kind)
        self._ctx = ctx
        self._part = part
        self._policy = policy
        self._shape = tuple(part.shape)
        return self

    # -- properties ----------------------------------------------------------------------------
    @property
    def shape(self) -> Tuple[int, ...]:
        """Global shape."""
        return self._shape

    @property
    def size(self) -> int:
        """Global number of elements."""
        return int(np.prod(self._shape, dtype=np.int64))

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def policy(self) -> DistributionPolicy:
        """The distribution policy (``DistributionPolicy.none/block/cyclic``)."""
        return self._policy

    @property
    def num_partitions(self) -> int:
        """Partitions: the communicator's size, or 1 for a replicated (``none``) array."""
        return self._part.layout.partitions

    @property
    def locality_id(self) -> int:
        """The (job-wide) id of the locality this handle and its partition live on."""
        return _runtime.locality_id()

    @property
    def comm(self) -> Any:
        """The :mod:`hpxpy.comm` communicator whose localities hold the partitions."""
        return self._ctx.comm

    @property
    def local(self) -> np.ndarray:
        """This locality's partition: a writable numpy view, no copy.

        Its shape is ``(rows here,) + shape[1:]``; the global row of each local row is
        :meth:`global_indices`. The view keeps the partition's memory alive.
        """
        return self._part.local

    @property
    def __hpxpy_local__(self) -> np.ndarray:
        # hpxpy.comm's buffer methods use a distributed array as its local partition.
        return self._part.local

    # DLPack, as for buffers: consumers (hpxpy.comm's message parsing, np.from_dlpack) see
    # the local partition, zero copy.
    def __dlpack__(self, *args: Any, **kwargs: Any) -> Any:
        return self._part.local.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self) -> Tuple[int, int]:
        return self._part.local.__dlpack_device__()

    def is_distributed(self) -> bool:
        """True when the partitions really are on different localities (2+, not ``none``)."""
        return self._policy != DistributionPolicy.none and self.num_partitions > 1

    def global_indices(self) -> np.ndarray:
        """Global index (along the first axis) of each local row, as int64, ascending.

        Block: ``start(r) + arange(count(r))``; cyclic: ``r + p * arange(count(r))``;
        none: ``arange(n)``.
        """
        layout = self._part.layout
        return layout.global_indices(layout.rank)

    def get_distribution_info(self) -> DistributionInfo:
        """Policy, partition count, each partition's size and global indices, the local
        range (see :class:`DistributionInfo`). Local: no communication."""
        layout = self._part.layout
        p, n, step = layout.partitions, layout.rows, layout.stride
        sizes = tuple(layout.count(r) for r in range(p))
        ranges = tuple(range(layout.start(r), layout.start(r) + sizes[r] * step, step)
                       if sizes[r] else range(0) for r in range(p))
        # A cyclic range ends one stride after its last element: normalise for readability.
        ranges = tuple(range(rg.start, min(rg.stop, n), step) if sizes[i] else rg
                       for i, rg in enumerate(ranges))
        return DistributionInfo(self._policy, self._shape, p, sizes, ranges, layout.rank,
                                ranges[layout.rank])

    def __len__(self) -> int:
        return self._shape[0]

    def __repr__(self) -> str:
        info = self.get_distribution_info()
        return (f"{type(self).__name__}(shape={self._shape}, policy={self._policy.name}, "
                f"partitions={info.num_partitions}, local rows={info.local_range})")

    def __bool__(self) -> bool:
        raise ValueError("the truth value of a distributed array is ambiguous; use a "
                         "reduction (arr.max(), arr.sum()) or to_numpy()")

    # -- local operations ----------------------------------------------------------------------
    def fill(self, value: Any) -> None:
        """Set every element to ``value``. Each locality fills its own partition (every
        locality calls it, with the same value); no communication."""
        self._part.fill(_cast_scalar(value, self._dtype, "fill"))

    def copy(self) -> DistributedArray:
        """A new array with the same layout and a copy of the data (no communication)."""
        return DistributedArray._wrap(self._ctx, self._part.copy(), self._policy)

    def astype(self, dtype: Any) -> DistributedArray:
        """A copy converted to ``dtype`` (numpy's unsafe casting); no communication."""
        dt = _dtype_of(dtype, "astype")
        part = _PARTITIONS[dt](self._part.layout, list(self._shape))
        np.copyto(part.local, self._part.local, casting="unsafe")
        return DistributedArray._wrap(self._ctx, part, self._policy)

    def _like(self, dtype: np.dtype) -> Any:
        """An uninitialised partition with our layout (the caller writes all of it)."""
        return _PARTITIONS[dtype](self._part.layout, list(self._shape))

    # -- collective: gathering -----------------------------------------------------------------
    def to_numpy(self, root: Optional[int] = None) -> Optional[np.ndarray]:
        """The whole array as numpy. Collective.

        ``root=None``: every locality gets it (a gather to rank 0, then a broadcast).
        ``root=k``: rank ``k`` of the array's communicator gets it, the others ``None``.
        A replicated (``none``) array needs no communication.
        """
        ctx = self._ctx
        failure = (0, "")
        if root is not None and not (_is_int(root) and 0 <= root < ctx.size):
            failure = _failure(ValueError(f"to_numpy: root {root!r} out of range; expected "
                                          f"0 <= root < {ctx.size} or None"))
        # Agreed first: a root differing between localities must not hang the gather.
        _agree(ctx, "to_numpy", ["root"], [-1 if root is None or failure[0] else int(root)],
               failure)
        if not self.is_distributed():
            return self._part.local.copy() if root is None or root == ctx.rank else None
        target = 0 if root is None else int(root)
        blocks = ctx.gather(np.ascontiguousarray(self._part.local), target)
        out = None
        if blocks is not None:
            out = np.empty(self._shape, self._dtype)
            layout = self._part.layout
            for r, raw in enumerate(blocks):
                rows = raw.view(self._dtype).reshape((layout.count(r),) + self._shape[1:])
                if self._policy == DistributionPolicy.block:
                    out[layout.start(r):layout.start(r) + layout.count(r)] = rows
                else:
                    out[r::layout.partitions] = rows
        if root is not None:
            return out
        got = ctx.broadcast(out, 0)
        if got is None:
            return out
        return got.view(self._dtype).reshape(self._shape)

    # -- collective: reductions ----------------------------------------------------------------
    def _combine(self, local: np.ndarray, op: str) -> np.ndarray:
        if not self.is_distributed():
            return local
        return self._ctx.all_reduce(local, op)

    def _raw_sum(self) -> Union[float, int]:
        acc = np.float64 if self._dtype.kind == "f" else np.int64
        return self._combine(np.array([self._part.sum()], acc), "sum")[0]

    def sum(self) -> Any:
        """Sum of all elements (numpy's result dtype: int32/bool sum to int64). Collective:
        a local sum (pairwise, in float64 for floats), then one all_reduce."""
        return _sum_type(self._dtype)(self._raw_sum())

    def prod(self) -> Any:
        """Product of all elements (numpy's result dtype). Collective, as :meth:`sum`."""
        acc = np.float64 if self._dtype.kind == "f" else np.int64
        total = self._combine(np.array([self._part.prod()], acc), "prod")[0]
        return _sum_type(self._dtype)(total)

    def _extremum(self, want_max: bool) -> Any:
        name = "maximum" if want_max else "minimum"
        if self.size == 0:
            raise ValueError(f"zero-size array to reduction operation {name} which has no "
                             "identity")
        value, has_nan = self._part.extremum(want_max)
        op = "max" if want_max else "min"
        if self._dtype.kind == "f":
            # The NaN flag travels with the value (negated for min) in the same all_reduce.
            flag = float(has_nan) if want_max else -float(has_nan)
            got = self._combine(np.array([value, flag], np.float64), op)
            return self._dtype.type(np.nan if got[1] != 0 else got[0])
        got = self._combine(np.array([int(value)], np.int64), op)
        return self._dtype.type(got[0])

    def min(self) -> Any:
        """Smallest element (NaN if any is NaN, as numpy). Collective: one all_reduce.
        ``ValueError`` for an empty array."""
        return self._extremum(False)

    def max(self) -> Any:
        """Largest element (NaN if any is NaN, as numpy). Collective: one all_reduce.
        ``ValueError`` for an empty array."""
        return self._extremum(True)

    def mean(self) -> Any:
        """Arithmetic mean (float64; float32 for float32 arrays, as numpy). Collective.
        An empty array gives NaN with a RuntimeWarning, as numpy."""
        total = self._raw_sum()
        out_type = np.float32 if self._dtype == np.float32 else np.float64
        if self.size == 0:
            warnings.warn("Mean of empty slice.", RuntimeWarning, stacklevel=2)
            return out_type(np.nan)
        return out_type(float(total) / self.size)

    # -- element-wise --------------------------------------------------------------------------
    def _operand(self, other: Any, what: str) -> Any:
        """The local operand for ``other``: a compatible array's partition, or a scalar."""
        if isinstance(other, DistributedArray):
            if other._shape != self._shape:
                raise ValueError(f"{what}: shapes {self._shape} and {other._shape} differ")
            if other._policy != self._policy:
                raise ValueError(f"{what}: distributions {self._policy.name} and "
                                 f"{other._policy.name} differ; redistribute() one of them")
            if other._ctx.members != self._ctx.members:
                raise ValueError(f"{what}: the arrays live on different communicators")
            return other._part.local
        if _is_scalar(other):
            return other
        raise TypeError(f"{what}: expected a scalar or a distributed array of the same shape "
                        f"and distribution, got {type(other).__name__} (make numpy arrays "
                        "distributed with hpx.distributed_from_numpy)")

    def _binary(self, other: Any, ufunc: Callable, reflected: bool = False) -> Any:
        what = f"distributed {ufunc.__name__}"
        try:
            rhs = self._operand(other, what)
        except TypeError:
            if ufunc in (np.equal, np.not_equal) and not _is_scalar(other):
                return NotImplemented
            raise
        mine = self._part.local
        args = (rhs, mine) if reflected else (mine, rhs)
        # numpy's own promotion rules decide the result type, on empty operands.
        probe = tuple(a[:0] if isinstance(a, np.ndarray) else a for a in args)
        dt = ufunc(*probe).dtype
        if dt not in _PARTITIONS:
            # numpy's true division of integers gives float64; keep that for any real type.
            if ufunc is not np.true_divide or dt.kind not in "biuf":
                raise TypeError(f"{what}: result dtype {dt} has no distributed array type; "
                                f"expected one of {_SUPPORTED}")
            dt = np.dtype(np.float64)
        part = self._like(dt)
        ufunc(*args, out=part.local, casting="unsafe")
        return DistributedArray._wrap(self._ctx, part, self._policy)

    def _inplace(self, other: Any, ufunc: Callable) -> DistributedArray:
        rhs = self._operand(other, f"distributed in-place {ufunc.__name__}")
        ufunc(self._part.local, rhs, out=self._part.local)  # numpy's same_kind casting rule
        return self

    def _unary(self, ufunc: Callable) -> DistributedArray:
        dt = ufunc(self._part.local[:0]).dtype
        part = self._like(dt)
        ufunc(self._part.local, out=part.local)
        return DistributedArray._wrap(self._ctx, part, self._policy)

    __add__ = _binop(np.add)
    __radd__ = _binop(np.add, reflected=True)
    __sub__ = _binop(np.subtract)
    __rsub__ = _binop(np.subtract, reflected=True)
    __mul__ = _binop(np.multiply)
    __rmul__ = _binop(np.multiply, reflected=True)
    __truediv__ = _binop(np.true_divide)
    __rtruediv__ = _binop(np.true_divide, reflected=True)
    __iadd__ = _binop(np.add, inplace=True)
    __isub__ = _binop(np.subtract, inplace=True)
    __imul__ = _binop(np.multiply, inplace=True)
    __itruediv__ = _binop(np.true_divide, inplace=True)
    __eq__ = _binop(np.equal)
    __ne__ = _binop(np.not_equal)
    __lt__ = _binop(np.less)
    __le__ = _binop(np.less_equal)
    __gt__ = _binop(np.greater)
    __ge__ = _binop(np.greater_equal)
    __hash__ = None  # type: ignore[assignment]  # == is element-wise, as for numpy arrays

    def __neg__(self) -> DistributedArray:
        return self._unary(np.negative)

    def __pos__(self) -> DistributedArray:
        return self.copy()

    def __abs__(self) -> DistributedArray:
        return self._unary(np.absolute)

    # -- one element by global index -----------------------------------------------------------
    def _parse_index(self, index: Any, what: str) -> Tuple[int, Tuple[int, ...]]:
        """(global row, index within the row), normalised like numpy; raises IndexError or
        TypeError."""
        parts = index if isinstance(index, tuple) else (index,)
        if not parts or len(parts) > self.ndim or not all(_is_int(i) for i in parts):
            raise TypeError(f"{what}: only an integer global index (or a tuple of up to "
                            f"{self.ndim} integers) is supported, got {index!r}; use .local "
                            "for slices of the local partition")
        out = []
        for axis, i in enumerate(parts):
            n = self._shape[axis]
            if not -n <= i < n:
                raise IndexError(f"{what}: index {int(i)} is out of bounds for axis {axis} "
                                 f"with size {n}")
            out.append(int(i) + n if i < 0 else int(i))
        return out[0], tuple(out[1:])

    def __getitem__(self, index: Any) -> Any:
        """``arr[i]`` (or ``arr[i, j, ...]``): the element or row at global index ``i``.

        Collective: every locality calls it with the same index and gets the value; the
        owning locality broadcasts it. The index is first agreed with one all_reduce, so an
        index out of range (``IndexError``) or differing between localities
        (``ValueError``) raises on every locality. Negative indices count from the end.
        """
        what = "distributed getitem"
        ctx = self._ctx
        row, failure, bad = None, (0, ""), None
        rest: Tuple[Any, ...] = ()
        try:
            row, rest = self._parse_index(index, what)
        except TypeError as exc:
            failure = _failure(exc)
        except IndexError as exc:
            bad = exc
        if self.is_distributed():
            fields: List[Optional[int]] = [1 if bad is not None else None]
            if bad is None and not failure[0]:
                fields += [row] + [rest[k] if k < len(rest) else -1
                                   for k in range(self.ndim - 1)]
            else:
                fields += [None] * self.ndim
            names = ["out-of-range flags"] + ["index"] * self.ndim
            if _agree(ctx, what, names, fields, failure)[0] == 1 and bad is None:
                raise IndexError(f"{what}: index {index!r} is out of range on another "
                                 "locality; every locality must pass the same index")
        elif failure[0]:
            raise TypeError(failure[1])
        if bad is not None:
            raise bad
        layout = self._part.layout
        sub_shape = self._shape[1 + len(rest):]
        where = (layout.local_index(row),) + rest
        if not self.is_distributed():
            value = np.array(self._part.local[where])
        else:
            owner = layout.owner(row)
            mine = None
            if owner == ctx.rank:
                mine = np.array(self._part.local[where])  # a C-contiguous copy
            got = ctx.broadcast(mine, owner)
            if got is None:  # we are the owner
                assert mine is not None
                value = mine
            else:
                value = got.view(self._dtype).reshape(sub_shape)
        return value.copy() if sub_shape else self._dtype.type(value[()])

    def __setitem__(self, index: Any, value: Any) -> None:
        """``arr[i] = v``: every locality calls it (same index and value); only the owner of
        global index ``i`` writes. No communication. ``IndexError`` out of range."""
        row, rest = self._parse_index(index, "distributed setitem")
        layout = self._part.layout
        if layout.owner(row) == layout.rank:
            self._part.local[(layout.local_index(row),) + rest] = value

    # -- redistribution ------------------------------------------------------------------------
    def redistribute(self, policy: PolicyLike) -> DistributedArray:
        """A new array holding the same data with another distribution. Collective.

        block <-> cyclic: each locality sends every other one the rows it will own (one
        message per pair, in ascending global order, only where there are rows); to
        ``none``: an all-gather; from ``none``: each locality keeps its rows (no messages).
        """
        what = "redistribute"
        ctx = self._ctx
        new, failure = None, (0, "")
        try:
            new = _policy_of(policy, what)
        except ValueError as exc:
            failure = _failure(exc)
        if ctx.size > 1:
            new = DistributionPolicy(_agree(ctx, what, ["distribution"],
                                            [None if new is None else int(new)], failure)[0])
        elif failure[0]:
            raise ValueError(failure[1])
        assert new is not None
        if new == self._policy:
            return self.copy()
        layout = _layout(new, self._shape[0], ctx)
        part = _PARTITIONS[self._dtype](layout, list(self._shape))
        dst = part.local
        if new == DistributionPolicy.none:
            full = self.to_numpy()
            dst[...] = full
        elif self._policy == DistributionPolicy.none:
            dst[...] = self._part.local[layout.global_indices(layout.rank)]
        else:
            self._exchange(layout, dst)
        return DistributedArray._wrap(ctx, part, new)

    def _exchange(self, layout: Any, dst: np.ndarray) -> None:
        """Pairwise exchange of rows from our layout to ``layout`` (both distributed)."""
        ctx, src = self._ctx, self._part.local
        old = self._part.layout
        tag = ctx.tag()
        sending_to = layout.owners(old.global_indices(old.rank))  # new owner of each row here
        wanted = old.owners(layout.global_indices(layout.rank))  # old owner of each new row
        core = ctx.core
        receives = {}
        for s in range(ctx.size):
            if s != ctx.rank and np.any(wanted == s):
                receives[s] = core.post_receive(ctx.p2p_context, ctx.members[s], tag)
        for d in range(ctx.size):
            rows = src[sending_to == d]  # a copy, in ascending global order
            if d == ctx.rank:
                dst[wanted == d] = rows
            elif len(rows):
                core.send(ctx.members[d], ctx.p2p_context, tag, [rows])
        for s, req in receives.items():
            core.wait(req)
            where = wanted == s
            count = int(where.sum()) * int(np.prod(self._shape[1:], dtype=np.int64))
            got = np.frombuffer(req.payload, dtype=self._dtype, count=count)
            dst[where] = got.reshape((-1,) + self._shape[1:])


def _sum_type(dtype: np.dtype) -> Any:
    return dtype.type if dtype.kind == "f" else np.int64


def _cast_scalar(value: Any, dtype: np.dtype, what: str) -> Any:
    """``value`` as a Python scalar of ``dtype``'s kind (numpy's conversion rules)."""
    if np.ndim(value) != 0:
        raise ValueError(f"{what}: expected a scalar value, got shape {np.shape(value)}")
    try:
        return np.asarray(value).astype(dtype, casting="unsafe").item()
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what}: cannot convert {value!r} to {dtype}") from exc


class DistributedArrayF64(DistributedArray):
    """Distributed array of float64."""

    _dtype = np.dtype(np.float64)


class DistributedArrayF32(DistributedArray):
    """Distributed array of float32."""

    _dtype = np.dtype(np.float32)


class DistributedArrayI64(DistributedArray):
    """Distributed array of int64."""

    _dtype = np.dtype(np.int64)


class DistributedArrayI32(DistributedArray):
    """Distributed array of int32."""

    _dtype = np.dtype(np.int32)


class DistributedArrayBool(DistributedArray):
    """Distributed array of bool (what comparisons return)."""

    _dtype = np.dtype(np.bool_)


_CLASSES: Dict[np.dtype, type] = {
    cls._dtype: cls for cls in (DistributedArrayF64, DistributedArrayF32, DistributedArrayI64,
                                DistributedArrayI32, DistributedArrayBool)
}


# --- creation -------------------------------------------------------------------------------


def _create(what: str, shape: ShapeLike, dtype: Any, distribution: PolicyLike, comm: Any,
            value: Any) -> DistributedArray:
    ctx = _context_for(comm, what)
    dims: Tuple[int, ...] = ()
    dt, fill = np.dtype(np.float64), 0
    policy = DistributionPolicy.block
    failure = (0, "")
    try:
        dims = _shape_of(shape, what)
        policy = _policy_of(distribution, what)
        if dtype is None:  # zeros/ones: float64; full: the value's own type, as numpy
            dtype = np.float64 if value is None else np.asarray(value).dtype
        dt = _dtype_of(dtype, what)
        fill = _cast_scalar(0 if value is None else value, dt, what)
    except (TypeError, ValueError) as exc:
        failure = _failure(exc)
    names = ["dtype", "distribution", "ndim"] + ["shape"] * _MAX_DIMS
    agreed = _agree(ctx, what, names,
                    [_TYPE_CODES[dt], int(policy), len(dims)]
                    + [dims[i] if i < len(dims) else -1 for i in range(_MAX_DIMS)], failure)
    part = _PARTITIONS[dt](_layout(policy, agreed[3], ctx), list(dims), fill)
    return DistributedArray._wrap(ctx, part, policy)


def distributed_zeros(shape: ShapeLike, dtype: Any = np.float64,
                      distribution: PolicyLike = "block", comm: Any = None) -> DistributedArray:
    """A distributed array of zeros. Collective over ``comm`` (default ``COMM_WORLD``).

    ``shape``: an int, list or tuple; distributed along the first axis. ``dtype``: float64
    (default), float32, int64, int32 or bool. ``distribution``: ``'block'`` (default),
    ``'cyclic'``, ``'none'`` or a :class:`DistributionPolicy`. Each locality allocates only
    its own partition. Bad or differing arguments raise on every locality (``TypeError``
    for a dtype, ``ValueError`` otherwise).
    """
    return _create("distributed_zeros", shape, dtype, distribution, comm, 0)


def distributed_ones(shape: ShapeLike, dtype: Any = np.float64,
                     distribution: PolicyLike = "block", comm: Any = None) -> DistributedArray:
    """A distributed array of ones; arguments as :func:`distributed_zeros`."""
    return _create("distributed_ones", shape, dtype, distribution, comm, 1)


def distributed_full(shape: ShapeLike, value: Any, dtype: Any = None,
                     distribution: PolicyLike = "block", comm: Any = None) -> DistributedArray:
    """A distributed array filled with ``value`` (a scalar). ``dtype`` defaults to the
    value's own (as ``numpy.full``); other arguments as :func:`distributed_zeros`."""
    return _create("distributed_full", shape, dtype, distribution, comm, value)


def distributed_from_numpy(arr: Any, distribution: PolicyLike = "block",
                           root: Optional[int] = None, dtype: Any = None,
                           comm: Any = None) -> DistributedArray:
    """A distributed array holding ``arr``'s data. Collective over ``comm``.

    ``root=None``: every locality passes the same array and keeps its own part (no
    communication besides agreeing on shape and dtype; the values are not compared).
    ``root=k``: only rank ``k``'s ``arr`` is read (pass ``None`` elsewhere); its parts are
    sent out with one scatter (a broadcast for ``'none'``). ``dtype`` converts the data;
    by default ``arr``'s dtype, which must be one of float64, float32, int64, int32, bool.
    """
    what = "distributed_from_numpy"
    ctx = _context_for(comm, what)
    failure = (0, "")
    src: Optional[np.ndarray] = None
    policy = DistributionPolicy.block
    have_root = root is not None
    is_root = not have_root or root == ctx.rank
    try:
        policy = _policy_of(distribution, what)
        want = None if dtype is None else _dtype_of(dtype, what)
        if root is not None and not (_is_int(root) and 0 <= root < ctx.size):
            raise ValueError(f"{what}: root {root!r} out of range; expected 0 <= root < "
                             f"{ctx.size} or None")
        if is_root:
            if arr is None:
                raise TypeError(f"{what}: expected an array, got None")
            src = np.asarray(arr) if want is None else np.asarray(arr, dtype=want)
            _dtype_of(src.dtype, what)
            if src.ndim == 0:
                raise ValueError(f"{what}: a 0-d array has no first axis to distribute along")
            if src.ndim > _MAX_DIMS:
                raise ValueError(f"{what}: at most {_MAX_DIMS} dimensions, got {src.ndim}")
    except (TypeError, ValueError) as exc:
        failure, src = _failure(exc), None
    mine = None if src is None else [_TYPE_CODES[src.dtype], src.ndim] + [
        src.shape[i] if i < src.ndim else -1 for i in range(_MAX_DIMS)]
    names = ["root", "distribution", "dtype", "ndim"] + ["shape"] * _MAX_DIMS
    values: List[Optional[int]] = [-1 if root is None else int(root) if _is_int(root) else -2,
                                   int(policy)]
    values += mine if mine is not None else [None] * (2 + _MAX_DIMS)
    agreed = _agree(ctx, what, names, values, failure)
    dt = list(_TYPE_CODES)[agreed[2]]
    shape = tuple(agreed[4:4 + agreed[3]])
    layout = _layout(policy, shape[0], ctx)
    part = _PARTITIONS[dt](layout, list(shape))
    dst = part.local
    if not have_root or ctx.size == 1:
        assert src is not None
        dst[...] = src[layout.global_indices(layout.rank)] if policy == DistributionPolicy.cyclic \
            else src[layout.start(layout.rank):layout.start(layout.rank) + len(dst)]
    elif policy == DistributionPolicy.none:
        assert root is not None  # have_root
        got = ctx.broadcast(np.ascontiguousarray(src) if is_root else None, int(root))
        dst[...] = src if got is None else got.view(dt).reshape(shape)
    else:
        blocks: List[np.ndarray] = []
        if is_root:
            assert src is not None
            for r in range(ctx.size):
                if policy == DistributionPolicy.block:
                    rows = src[layout.start(r):layout.start(r) + layout.count(r)]
                else:
                    rows = src[r::ctx.size]
                blocks.append(np.ascontiguousarray(rows))
        assert root is not None  # have_root
        got = ctx.scatter(blocks, int(root))
        dst[...] = got.view(dt).reshape(dst.shape)
    return DistributedArray._wrap(ctx, part, policy)

