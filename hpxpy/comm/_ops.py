"""Reduction operations: predefined MPI ops and ``Op.Create``, for objects and buffers.

Layer 3 of hpxpy.comm: imports ``_buffers`` (``Reduce_local`` parses its messages),
``_typing``, ``_constants`` and ``_errors``.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional

from .._items import OP_CODES
from .._numpy import np
from . import _constants as C
from ._buffers import message_array
from ._errors import Exception as MPIException
from ._typing import BufSpec


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


def _ufunc(name: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """numpy's ufunc ``name``, looked up at the first reduction (numpy loads lazily)."""

    def apply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return getattr(np, name)(a, b)

    return apply


def _logical(name: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def apply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return getattr(np, name)(a, b).astype(a.dtype)

    return apply


# Which predefined ops MPI allows on which kind of element (MPI 3.1, section 5.9.2).
_OPS_BY_CATEGORY = {
    "integer": {"SUM", "PROD", "MAX", "MIN", "LAND", "LOR", "LXOR", "BAND", "BOR", "BXOR"},
    "float": {"SUM", "PROD", "MAX", "MIN"},
    "complex": {"SUM", "PROD"},
    "logical": {"LAND", "LOR", "LXOR"},
    "byte": {"BAND", "BOR", "BXOR"},
    "pair": {"MINLOC", "MAXLOC"},
    "other": set(),
}


def _category(dt: Any) -> str:
    name = dt._key  # which predefined type (Get_name is MPI's display name)
    if name in ("BYTE", "PACKED"):
        return "byte"
    if name in ("CHAR", "CHARACTER", "SIGNED_CHAR", "UNSIGNED_CHAR"):
        return "integer"
    base = dt.numpy_dtype
    if base.names == ("v", "i"):
        return "pair"
    return {"i": "integer", "u": "integer", "f": "float", "c": "complex",
            "b": "logical"}.get(base.kind, "other")


_MAX_USER_OPS = 32  # as mpi4py: a fixed table of user-defined reduction callbacks
_user_slots: List[Optional[Op]] = [None] * _MAX_USER_OPS


class Op:
    """A reduction operation (``MPI.SUM``, ..., or one made with ``Op.Create``).

    ``Op()`` is a null op and ``Op(op)`` a new reference to ``op``'s handle."""

    __slots__ = ("_name", "_obj", "_arr", "_commute", "_user", "_core_code", "_freed",
                 "_named", "_slot", "_pyref", "__weakref__")
    _named: bool  # a predefined op (pickled by name)

    def __new__(cls, *args: Any, **kwargs: Any) -> Op:
        # Takes the constructor's arguments, so that a subclass may call
        # super().__new__(cls, op) as with mpi4py's classes; __init__ does the work.
        return super().__new__(cls)

    __hash__ = None  # type: ignore[assignment]  # as mpi4py's: equal references, no hash

    def __init__(self, op: Optional[Op] = None) -> None:
        if op is None:
            op = OP_NULL
        if not isinstance(op, Op):
            raise TypeError(f"expecting an Op, got {type(op).__name__}")
        for attr in Op.__slots__:
            if attr != "__weakref__":
                setattr(self, attr, getattr(op, attr))
        self._named = False

    @classmethod
    def _make(cls, name: str = "", obj: Optional[Callable] = None,
              arr: Optional[Callable] = None, commute: bool = True,
              user: Optional[Callable] = None, core_code: Optional[int] = None) -> Op:
        """A new op: ``obj`` combines two objects, ``arr`` two arrays; ``user`` is a
        user-defined function (Op.Create); ``core_code`` names the C++ reduction."""
        op = cls.__new__(cls)
        op._init(name, obj, arr, commute, user, core_code)
        return op

    def _init(self, name: str, obj: Optional[Callable], arr: Optional[Callable],
              commute: bool, user: Optional[Callable], core_code: Optional[int]) -> None:
        self._name = name
        self._obj = obj
        self._arr = arr
        self._commute = commute
        self._user = user
        self._core_code = core_code
        self._freed = obj is None and user is None
        self._named = False
        self._slot = -1
        self._pyref = user is not None

    @classmethod
    def Create(cls, function: Callable, commute: bool = False) -> Op:
        """A user-defined op: ``function(inbuf, inoutbuf, datatype)`` combines buffers in
        place; for Python objects it is called as ``function(x, y, None)`` and returns the
        result (mpi4py's convention)."""
        try:
            slot = _user_slots.index(None)
        except ValueError:
            raise RuntimeError(
                "cannot create too many user-defined reduction operations") from None
        op = cls._make("", user=function, commute=bool(commute))
        op._slot = slot
        _user_slots[slot] = op
        return op

    def check_datatype(self, dt: Any) -> None:
        """Raise ``MPI.Exception(ERR_OP)`` where MPI rejects this predefined op on buffers of
        ``dt`` (e.g. BAND on DOUBLE, MAXLOC on INT, REPLACE in a collective, any predefined
        op on a derived type, even a Dup: MPICH and Open MPI both refuse it); user ops take
        any type."""
        if self._user is not None:
            return
        if self._freed:
            raise MPIException(C.ERR_OP, "the op is MPI.OP_NULL")
        if not dt.is_predefined:
            raise MPIException(C.ERR_OP, f"MPI.{self._name} is defined on predefined "
                                         f"datatypes only, not on a derived one")
        if self._name not in _OPS_BY_CATEGORY[_category(dt)]:
            raise MPIException(C.ERR_OP, f"MPI.{self._name} cannot reduce "
                                         f"{dt.Get_name() or 'this datatype'}")

    def __call__(self, x: Any, y: Any) -> Any:
        """Combine two Python objects (``x`` from the lower rank)."""
        if self._freed:
            raise ValueError("cannot call user-defined operation")
        if self._user is not None:
            return self._user(x, y, None)
        obj = self._obj
        assert obj is not None  # only a freed op has none, and it raised above
        return obj(x, y)

    def _release(self) -> None:
        if 0 <= self._slot < _MAX_USER_OPS and _user_slots[self._slot] is not None:
            _user_slots[self._slot] = None
        self._slot = -1

    def _check(self) -> None:
        if self._freed:
            raise MPIException(C.ERR_OP, "the op is MPI.OP_NULL")

    def combine_arrays(self, a: np.ndarray, b: np.ndarray, datatype: Any) -> np.ndarray:
        """Return ``a op b`` for buffers (``a`` from the lower rank); returns a new array."""
        self._check()
        if self._user is not None:
            out = b.copy()
            self._user(a, out, datatype)
            return out
        if self._arr is None:
            raise MPIException(C.ERR_OP, f"{self._name} is not defined for buffers")
        return self._arr(a, b)

    def Is_commutative(self) -> bool:
        """Tell whether the operation is commutative."""
        self._check()
        return self._commute

    is_commutative = property(Is_commutative)

    @property
    def is_predefined(self) -> bool:
        return self._user is None

    def Free(self) -> None:
        """Free a user-defined operation."""
        if self._freed:
            raise MPIException(C.ERR_OP, "the op is MPI.OP_NULL")
        if self._user is None:
            raise MPIException(C.ERR_OP, "cannot free a predefined op")
        self._release()
        self._freed = True
        self._user = None

    def free(self) -> None:
        """Drop this reference (the module's predefined ops, MPI.SUM ..., stay)."""
        if self._named:
            return
        if self._user is not None:
            self._release()
            self._user = None
        self._freed = True

    def toint(self) -> int:
        """An integer handle for this op (``Op.fromint`` turns it back into an op)."""
        if self._user is not None:
            return _USER_HANDLE_BASE + self._slot
        return _PREDEFINED_HANDLES.get(self._name, _PREDEFINED_HANDLES["OP_NULL"])

    @property
    def handle(self) -> int:
        """This op's integer handle, as ``toint()`` (``Op.fromhandle`` turns it back)."""
        return self.toint()

    @classmethod
    def fromhandle(cls, handle: int) -> Op:
        """A new reference to the op with integer handle ``handle``."""
        return cls.fromint(handle)

    @classmethod
    def fromint(cls, arg: int) -> Op:
        """A new reference to the op with integer handle ``arg``."""
        arg = int(arg)
        if _USER_HANDLE_BASE <= arg < _USER_HANDLE_BASE + _MAX_USER_OPS:
            user = _user_slots[arg - _USER_HANDLE_BASE]
            if user is not None:
                op = cls(user)
                op._pyref = False  # a reference: same slot, so it compares equal
                return op
        else:
            for name, handle in _PREDEFINED_HANDLES.items():
                if handle == arg:
                    return cls(PREDEFINED[name])
        raise MPIException(C.ERR_OP, f"no reduction operation with handle {arg}")

    py2f = toint
    f2py = fromint

    def Reduce_local(self, inbuf: BufSpec, inoutbuf: BufSpec) -> None:
        """Reduce locally: ``inoutbuf = inbuf op inoutbuf``."""
        a, dt = message_array(inbuf)
        b, bdt = message_array(inoutbuf, writable=True)
        if dt is not bdt:
            raise ValueError("mismatch in inbuf and inoutbuf MPI datatypes")
        if a.size != b.size:
            raise ValueError(f"mismatch in inbuf count {a.size} and inoutbuf count {b.size}")
        self.check_datatype(dt)
        b[...] = self.combine_arrays(a, b.copy(), dt)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Op):
            return NotImplemented
        if self._freed or other._freed:
            return self._freed and other._freed
        if self._user is not None or other._user is not None:
            return self._slot == other._slot and self._user is other._user and (
                self._slot >= 0 or self is other)
        return self._name == other._name

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __bool__(self) -> bool:
        return not self._freed

    def __repr__(self) -> str:
        return f"<MPI.Op {self._name or 'user'}>"

    def __reduce__(self) -> Any:
        if self._named:
            return self._name
        if self._user is not None or (self._slot >= 0):
            if not self._pyref:
                raise ValueError("cannot pickle user-defined reduction operation")
            return (Op.Create, (self._user, self._commute))
        return (type(self), (PREDEFINED["OP_NULL" if self._freed else self._name],))


OP_NULL = Op._make("OP_NULL")
# Codes understood by the C++ all_reduce (hpxpy._core): sum, prod, min, max.
SUM = Op._make("SUM", lambda x, y: x + y, _ufunc("add"), core_code=OP_CODES["sum"])
PROD = Op._make("PROD", lambda x, y: x * y, _ufunc("multiply"), core_code=OP_CODES["prod"])
MIN = Op._make("MIN", lambda x, y: y if y < x else x, _ufunc("minimum"), core_code=OP_CODES["min"])
MAX = Op._make("MAX", lambda x, y: y if y > x else x, _ufunc("maximum"), core_code=OP_CODES["max"])
LAND = Op._make("LAND", lambda x, y: bool(x) and bool(y), _logical("logical_and"))
LOR = Op._make("LOR", lambda x, y: bool(x) or bool(y), _logical("logical_or"))
LXOR = Op._make("LXOR", lambda x, y: bool(x) != bool(y), _logical("logical_xor"))
BAND = Op._make("BAND", lambda x, y: x & y, _ufunc("bitwise_and"))
BOR = Op._make("BOR", lambda x, y: x | y, _ufunc("bitwise_or"))
BXOR = Op._make("BXOR", lambda x, y: x ^ y, _ufunc("bitwise_xor"))
MINLOC = Op._make("MINLOC", _minloc, _pairs(_minloc))
MAXLOC = Op._make("MAXLOC", _maxloc, _pairs(_maxloc))
REPLACE = Op._make("REPLACE", lambda x, y: y, lambda a, b: b.copy(), commute=False)
NO_OP = Op._make("NO_OP", lambda x, y: x, lambda a, b: a.copy(), commute=False)

PREDEFINED = {op._name: op for op in (OP_NULL, SUM, PROD, MIN, MAX, LAND, LOR, LXOR, BAND,
                                      BOR, BXOR, MINLOC, MAXLOC, REPLACE, NO_OP)}
for _op in PREDEFINED.values():
    _op._named = True
# Integer handles (toint/fromint), MPICH's values for the predefined ops.
_PREDEFINED_HANDLES = {"OP_NULL": 0x18000000, "MAX": 0x58000001, "MIN": 0x58000002,
                       "SUM": 0x58000003, "PROD": 0x58000004, "LAND": 0x58000005,
                       "BAND": 0x58000006, "LOR": 0x58000007, "BOR": 0x58000008,
                       "LXOR": 0x58000009, "BXOR": 0x5800000a, "MINLOC": 0x5800000b,
                       "MAXLOC": 0x5800000c, "REPLACE": 0x5800000d, "NO_OP": 0x5800000e}
_USER_HANDLE_BASE = -1744830464  # 0x98000000 as a C int
