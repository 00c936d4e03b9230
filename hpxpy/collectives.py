"""Collective operations over all localities of the job.

Every function takes numpy arrays of float64, float32, int64 or int32 (or Python scalars,
as float64/int64) and returns numpy values; 0-d results come back as numpy scalars. Each
has an ``_async`` twin returning an :class:`hpxpy.Future`. The algorithms run in the C++
core in O(log N) rounds (recursive doubling, binomial trees, dissemination).

Errors are collective: an argument one locality gets wrong (unsupported dtype or op,
shape differing from the others') raises on every locality taking part, not just there.
"""

from __future__ import annotations

import enum
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _runtime
from ._items import CODE_DTYPES, DTYPE_CODES, OP_CODES, item_array
from ._status import failure_status
from .futures import Future

__all__ = [
    "ReduceOp",
    "all_reduce",
    "all_reduce_async",
    "broadcast",
    "broadcast_async",
    "gather",
    "gather_async",
    "scatter",
    "scatter_async",
    "barrier",
    "barrier_async",
    "get_num_localities",
    "get_locality_id",
]


class ReduceOp(enum.IntEnum):
    """Reduction operations for :func:`all_reduce` (``'sum'`` etc. are accepted too)."""

    sum = OP_CODES["sum"]
    prod = OP_CODES["prod"]
    min = OP_CODES["min"]
    max = OP_CODES["max"]


_SUPPORTED = ", ".join(dtype.name for dtype in DTYPE_CODES)

OpLike = Union[str, ReduceOp]


def get_num_localities() -> int:
    """Number of localities in the job."""
    return _runtime.num_localities()


def get_locality_id() -> int:
    """This locality's id."""
    return _runtime.locality_id()


def _as_array(value: Any, what: str) -> Tuple[np.ndarray, int]:
    """A C-contiguous array of a supported dtype, and its dtype code."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{what}: unsupported dtype bool; expected one of {_SUPPORTED}")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # noqa: BLE001 - reported as a clear TypeError
        raise TypeError(f"{what}: cannot convert {type(value).__name__} to a numpy array") from exc
    if not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr)
    code = DTYPE_CODES.get(arr.dtype)
    if code is None:
        raise TypeError(f"{what}: unsupported dtype {arr.dtype}; expected one of {_SUPPORTED}")
    if arr.ndim > 16:
        raise ValueError(f"{what}: arrays of at most 16 dimensions are supported, got {arr.ndim}")
    return arr, code


def _op_code(op: OpLike) -> int:
    if isinstance(op, ReduceOp):
        return int(op)
    if isinstance(op, str) and op.lower() in ReduceOp.__members__:
        return int(ReduceOp[op.lower()])
    raise ValueError(
        f"all_reduce: unsupported op {op!r}; expected one of 'sum', 'prod', 'min', 'max' "
        "or an hpx.ReduceOp"
    )


def _failure(exc: Exception) -> Tuple[int, str]:
    """An argument error, to be raised collectively (by every locality taking part)."""
    return failure_status(exc, f"{exc} (on locality {_runtime.locality_id()})")


def _check_root(root: Any, what: str) -> int:
    n = _runtime.num_localities()
    if isinstance(root, (bool, np.bool_)) or not isinstance(root, (int, np.integer)):
        raise TypeError(f"{what}: root must be an int, got {type(root).__name__}")
    if not 0 <= root < n:
        raise ValueError(f"{what}: root {root} out of range; expected 0 <= root < {n}")
    return int(root)


def _result(arr: np.ndarray) -> Any:
    return arr[()] if arr.ndim == 0 else arr


def _from_item(item: Optional[Any], own: Optional[np.ndarray]) -> Any:
    """Array for a collective's item: a view of the received bytes, or a copy of our own."""
    if item is None:
        assert own is not None
        return _result(own.copy())
    return _result(item_array(item, CODE_DTYPES[item.dtype]).reshape(item.shape))


def _run_async(fn, *args) -> Future:
    # The tag is taken now, in program order, so concurrent collectives never mix.
    tag = _runtime.next_tag()
    rt = _runtime.core()
    return Future(_runtime.executor().submit(fn, rt, tag, *args))


# --- all_reduce ---------------------------------------------------------------------------


def _all_reduce(rt, tag: int, arr: Any, op: OpLike) -> Any:
    src, code, opcode, status, text = None, 0, 0, 0, ""
    try:
        opcode = _op_code(op)
        src, code = _as_array(arr, "all_reduce")
    except (TypeError, ValueError) as exc:
        status, text = _failure(exc)
    return _from_item(
        rt.all_reduce(_runtime.world_group(), src, code, opcode, tag, status, text), src
    )


def all_reduce(arr: Any, op: OpLike = "sum") -> Any:
    """Combine ``arr`` element-wise over all localities; every locality gets the result.

    ``op`` is ``'sum'``, ``'prod'``, ``'min'``, ``'max'`` or an :class:`ReduceOp`. All
    localities must pass the same shape, dtype and op (else ``ValueError``/``TypeError``
    everywhere). The result is bit-identical on every locality.
    """
    return _all_reduce(_runtime.core(), _runtime.next_tag(), arr, op)


def all_reduce_async(arr: Any, op: OpLike = "sum") -> Future:
    """:func:`all_reduce`, returning a Future of the result."""
    return _run_async(_all_reduce, arr, op)


# --- broadcast ----------------------------------------------------------------------------


def _broadcast(rt, tag: int, arr: Any, root: int) -> Any:
    own, code, status, text = None, 0, 0, ""
    if _runtime.locality_id() == root:
        try:
            own, code = _as_array(arr, "broadcast")
        except (TypeError, ValueError) as exc:
            status, text = _failure(exc)
    return _from_item(rt.broadcast(_runtime.world_group(), own, code, root, tag, status, text), own)


def broadcast(arr: Any, root: int = 0) -> Any:
    """The root's ``arr``, on every locality (the value passed elsewhere is ignored)."""
    return _broadcast(_runtime.core(), _runtime.next_tag(), arr, _check_root(root, "broadcast"))


def broadcast_async(arr: Any, root: int = 0) -> Future:
    """:func:`broadcast`, returning a Future of the result."""
    return _run_async(_broadcast, arr, _check_root(root, "broadcast"))


# --- gather -------------------------------------------------------------------------------


def _gather(rt, tag: int, arr: Any, root: int) -> Optional[List[Any]]:
    own, code, status, text = None, 0, 0, ""
    try:
        own, code = _as_array(arr, "gather")
    except (TypeError, ValueError) as exc:
        status, text = _failure(exc)
    items = rt.gather(_runtime.world_group(), own, code, root, tag, status, text)
    if items is None:
        return None
    return [_from_item(item, own) for item in items]


def gather(arr: Any, root: int = 0) -> Optional[List[Any]]:
    """Every locality's ``arr``: a list in locality order on the root, ``None`` elsewhere.

    Shapes may differ between localities.
    """
    return _gather(_runtime.core(), _runtime.next_tag(), arr, _check_root(root, "gather"))


def gather_async(arr: Any, root: int = 0) -> Future:
    """:func:`gather`, returning a Future of the result."""
    return _run_async(_gather, arr, _check_root(root, "gather"))


# --- scatter ------------------------------------------------------------------------------


def _split_values(values: Any, n: int) -> Sequence[Any]:
    if isinstance(values, np.ndarray):
        if values.ndim == 0:
            raise ValueError(
                f"scatter: the root passed a 0-d array; expected a sequence of {n} values or "
                f"an array whose first axis has length {n}"
            )
        return [values[i] for i in range(values.shape[0])]
    if isinstance(values, (list, tuple)):
        return values
    raise TypeError(
        f"scatter: the root passed {type(values).__name__}; expected a sequence of {n} values "
        f"or an array whose first axis has length {n}"
    )


def _scatter(rt, tag: int, values: Any, root: int) -> Any:
    arrays: List[np.ndarray] = []
    codes: List[int] = []
    status, text = 0, ""
    if _runtime.locality_id() == root:
        try:
            for value in _split_values(values, _runtime.num_localities()):
                arr, code = _as_array(value, "scatter")
                arrays.append(arr)
                codes.append(code)
        except (TypeError, ValueError) as exc:
            arrays, codes = [], []
            status, text = _failure(exc)
    item = rt.scatter(_runtime.world_group(), arrays, codes, root, tag, status, text)
    return _from_item(item, arrays[root] if item is None else None)


def scatter(values: Any, root: int = 0) -> Any:
    """Each locality gets its own element of the root's ``values``.

    On the root, ``values`` is a sequence of one value per locality, or an array whose
    first axis has that length; elsewhere it is ignored (pass ``None``).
    """
    return _scatter(_runtime.core(), _runtime.next_tag(), values, _check_root(root, "scatter"))


def scatter_async(values: Any, root: int = 0) -> Future:
    """:func:`scatter`, returning a Future of the result."""
    return _run_async(_scatter, values, _check_root(root, "scatter"))


# --- barrier ------------------------------------------------------------------------------


def _barrier(rt, tag: int, name: str) -> None:
    rt.barrier(_runtime.world_group(), name, tag)


def barrier(name: Optional[str] = None) -> None:
    """Wait until every locality has reached the barrier (of the same ``name``)."""
    _barrier(_runtime.core(), _runtime.next_tag(), name or "")


def barrier_async(name: Optional[str] = None) -> Future:
    """:func:`barrier`, returning a Future that is ready once all localities arrived."""
    return _run_async(_barrier, name or "")
