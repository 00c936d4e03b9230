"""Reduction operations: predefined MPI ops and ``Op.Create``, for objects and buffers."""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from . import _constants as C
from ._errors import Exception as MPIException


def _minloc(x: Any, y: Any) -> Any:
    (u, i), (v, j) = x, y
    if u < v:
        return (u, i)
    if v < u:
        return (v, j)
    return (u, i) if i <= j else (v, j)


def _maxloc(x: Any, y: Any) -> Any:
    (u, i), (v, j) = x, y
    if u > v:
        return (u, i)
    if v > u:
        return (v, j)
    return (u, i) if i <= j else (v, j)


def _pairs(fn: Callable[[Any, Any], Any]) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """MINLOC/MAXLOC on arrays of (value, index) structs: element-wise, ties to lower index."""

    def apply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        av, ai, bv, bi = a["v"], a["i"], b["v"], b["i"]
        better = (bv < av) if fn is _minloc else (bv > av)
        take_b = better | ((bv == av) & (bi < ai))
        out = a.copy()
        out[take_b] = b[take_b]
        return out

    return apply


def _logical(ufunc: np.ufunc) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def apply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return ufunc(a, b).astype(a.dtype)

    return apply


class Op:
    """A reduction operation (``MPI.SUM``, ..., or one made with ``Op.Create``)."""

    __slots__ = ("_name", "_obj", "_arr", "_commute", "_user", "_core_code", "_freed")

    def __init__(self, name: str = "", obj: Optional[Callable] = None,
                 arr: Optional[Callable] = None, commute: bool = True,
                 user: Optional[Callable] = None, core_code: Optional[int] = None) -> None:
        self._name = name
        self._obj = obj
        self._arr = arr
        self._commute = commute
        self._user = user
        self._core_code = core_code
        self._freed = obj is None and user is None

    @classmethod
    def Create(cls, function: Callable, commute: bool = False) -> Op:
        """A user-defined op: ``function(inbuf, inoutbuf, datatype)`` combines buffers in
        place; for Python objects it is called as ``function(x, y, None)`` and returns the
        result (mpi4py's convention)."""
        return cls("", user=function, commute=bool(commute))

    def __call__(self, x: Any, y: Any) -> Any:
        """Combine two Python objects (``x`` from the lower rank)."""
        self._check()
        if self._user is not None:
            return self._user(x, y, None)
        return self._obj(x, y)

    def _check(self) -> None:
        if self._freed:
            raise MPIException(C.ERR_OP, "the op is MPI.OP_NULL")

    def combine_arrays(self, a: np.ndarray, b: np.ndarray, datatype: Any) -> np.ndarray:
        """``a op b`` for buffers (``a`` from the lower rank); returns a new array."""
        self._check()
        if self._user is not None:
            out = b.copy()
            self._user(a, out, datatype)
            return out
        if self._arr is None:
            raise MPIException(C.ERR_OP, f"{self._name} is not defined for buffers")
        return self._arr(a, b)

    def Is_commutative(self) -> bool:
        self._check()
        return self._commute

    is_commutative = property(Is_commutative)

    @property
    def is_predefined(self) -> bool:
        return self._user is None

    def Free(self) -> None:
        if self._user is None and not self._freed:
            raise MPIException(C.ERR_OP, "cannot free a predefined op")
        self._freed = True
        self._user = None

    def free(self) -> None:
        if self._user is not None:
            self._freed = True
            self._user = None

    def Reduce_local(self, inbuf: Any, inoutbuf: Any) -> None:
        """inoutbuf = inbuf op inoutbuf, locally."""
        from ._buffers import message_array  # a cycle: buffers need datatypes, ops need both

        a, dt = message_array(inbuf)
        b, _ = message_array(inoutbuf, writable=True)
        if a.size != b.size:
            raise ValueError(f"mismatch in inbuf count {a.size} and inoutbuf count {b.size}")
        b[...] = self.combine_arrays(a, b.copy(), dt)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Op):
            return NotImplemented
        if self._freed or other._freed:
            return self._freed and other._freed
        return self is other

    def __hash__(self) -> int:
        return 0 if self._freed else id(self)

    def __bool__(self) -> bool:
        return not self._freed

    def __repr__(self) -> str:
        return f"<MPI.Op {self._name or 'user'}>"

    def __reduce__(self) -> Any:
        if self._name:
            return self._name
        raise TypeError("cannot pickle a user-defined MPI.Op")


OP_NULL = Op("OP_NULL")
# Codes understood by the C++ all_reduce (hpxpy._core): sum, prod, min, max.
SUM = Op("SUM", lambda x, y: x + y, np.add, core_code=0)
PROD = Op("PROD", lambda x, y: x * y, np.multiply, core_code=1)
MIN = Op("MIN", lambda x, y: y if y < x else x, np.minimum, core_code=2)
MAX = Op("MAX", lambda x, y: y if y > x else x, np.maximum, core_code=3)
LAND = Op("LAND", lambda x, y: x and y, _logical(np.logical_and))
LOR = Op("LOR", lambda x, y: x or y, _logical(np.logical_or))
LXOR = Op("LXOR", lambda x, y: bool(x) != bool(y), _logical(np.logical_xor))
BAND = Op("BAND", lambda x, y: x & y, np.bitwise_and)
BOR = Op("BOR", lambda x, y: x | y, np.bitwise_or)
BXOR = Op("BXOR", lambda x, y: x ^ y, np.bitwise_xor)
MINLOC = Op("MINLOC", _minloc, _pairs(_minloc))
MAXLOC = Op("MAXLOC", _maxloc, _pairs(_maxloc))
REPLACE = Op("REPLACE", lambda x, y: y, lambda a, b: b.copy(), commute=False)
NO_OP = Op("NO_OP", lambda x, y: x, lambda a, b: a.copy(), commute=False)

PREDEFINED = {op._name: op for op in (OP_NULL, SUM, PROD, MIN, MAX, LAND, LOR, LXOR, BAND,
                                      BOR, BXOR, MINLOC, MAXLOC, REPLACE, NO_OP)}
