"""Predefined MPI datatypes, mapped to numpy dtypes, and the derived ones hpxpy builds."""

from __future__ import annotations

from typing import Dict, Optional

import numpy as np

from . import _constants as C
from ._errors import Exception as MPIException


class Datatype:
    """An MPI datatype: ``base`` numpy dtype repeated ``count`` times per element."""

    __slots__ = ("_name", "_base", "_count", "_predefined", "_freed", "_committed")

    def __init__(self, name: str = "", base: Optional[np.dtype] = None, count: int = 1,
                 predefined: bool = False) -> None:
        self._name = name
        self._base = base
        self._count = count
        self._predefined = predefined
        self._freed = base is None
        self._committed = predefined

    # -- identity --------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Datatype):
            return NotImplemented
        if self._freed or other._freed:
            return self._freed and other._freed
        return self is other

    def __hash__(self) -> int:
        return id(self) if not self._freed else 0

    def __bool__(self) -> bool:
        return not self._freed

    def __repr__(self) -> str:
        return f"<MPI.Datatype {self._name or 'derived'}>"

    # -- properties ------------------------------------------------------------------------
    def _check(self) -> None:
        if self._freed:
            raise MPIException(C.ERR_TYPE, "the datatype is MPI.DATATYPE_NULL")

    @property
    def numpy_dtype(self) -> np.dtype:
        """The numpy dtype of one base element (hpxpy extension)."""
        self._check()
        assert self._base is not None
        return self._base

    @property
    def base_count(self) -> int:
        """Base elements per element of this type (hpxpy extension)."""
        return self._count

    def Get_size(self) -> int:
        """Bytes of data in one element."""
        self._check()
        return self._base.itemsize * self._count

    def Get_extent(self) -> tuple:
        """(lower bound, extent) in bytes."""
        return (0, self.Get_size())

    def Get_true_extent(self) -> tuple:
        return (0, self.Get_size())

    def Get_name(self) -> str:
        return self._name

    def Set_name(self, name: str) -> None:
        self._name = name

    size = property(Get_size)
    extent = property(lambda self: self.Get_extent()[1])
    lb = property(lambda self: 0)
    ub = property(lambda self: self.Get_size())
    true_extent = property(lambda self: self.Get_size())
    true_lb = property(lambda self: 0)
    true_ub = property(lambda self: self.Get_size())
    name = property(Get_name, Set_name)

    @property
    def typechar(self) -> str:
        self._check()
        return self._base.char if self._count == 1 else "V"

    @property
    def typestr(self) -> str:
        self._check()
        if self._count != 1 or self._base.kind == "V":
            return f"V{self.Get_size()}"
        return self._base.str[1:]

    def tocode(self) -> str:
        return self.typechar

    @classmethod
    def fromcode(cls, code: str) -> Datatype:
        """The predefined datatype for a character code or type string (``'i'``, ``'f8'``)."""
        name = _BY_CODE.get(code) if isinstance(code, str) else None
        if name is None:
            raise ValueError(f"cannot map code {code!r} to MPI datatype")
        return PREDEFINED[name]

    @property
    def is_predefined(self) -> bool:
        return self._predefined

    @property
    def is_named(self) -> bool:
        return self._predefined

    # -- constructors ----------------------------------------------------------------------
    def Create_contiguous(self, count: int) -> Datatype:
        """``count`` consecutive elements of this type as one element."""
        self._check()
        if count < 0:
            raise MPIException(C.ERR_COUNT, f"negative count {count}")
        return Datatype("", self._base, self._count * count)

    def Dup(self) -> Datatype:
        self._check()
        dup = Datatype(self._name, self._base, self._count)
        dup._committed = self._committed
        return dup

    Create_dup = Dup

    def Commit(self) -> Datatype:
        self._check()
        self._committed = True
        return self

    def Free(self) -> None:
        if self._predefined:
            raise MPIException(C.ERR_TYPE, "cannot free a predefined datatype")
        self._freed = True

    def free(self) -> None:
        if not self._predefined:
            self._freed = True


def _pair(value: str, index: str) -> np.dtype:
    """A packed (value, index) struct, as MPI's pair types for MINLOC/MAXLOC."""
    return np.dtype([("v", value), ("i", index)])


DATATYPE_NULL = Datatype("DATATYPE_NULL")

_PREDEFINED: Dict[str, np.dtype] = {
    "BYTE": np.dtype("u1"), "PACKED": np.dtype("u1"), "CHAR": np.dtype("S1"),
    "CHARACTER": np.dtype("S1"), "WCHAR": np.dtype("U1"),
    "SIGNED_CHAR": np.dtype("i1"), "SHORT": np.dtype("i2"), "SIGNED_SHORT": np.dtype("i2"),
    "INT": np.dtype("i4"), "SIGNED_INT": np.dtype("i4"), "LONG": np.dtype("i8"),
    "SIGNED_LONG": np.dtype("i8"), "LONG_LONG": np.dtype("q"), "SIGNED_LONG_LONG": np.dtype("q"),
    "UNSIGNED_CHAR": np.dtype("u1"), "UNSIGNED_SHORT": np.dtype("u2"),
    "UNSIGNED": np.dtype("u4"), "UNSIGNED_INT": np.dtype("u4"), "UNSIGNED_LONG": np.dtype("u8"),
    "UNSIGNED_LONG_LONG": np.dtype("Q"),
    "FLOAT": np.dtype("f4"), "DOUBLE": np.dtype("f8"), "LONG_DOUBLE": np.dtype("g"),
    "C_BOOL": np.dtype("?"), "BOOL": np.dtype("?"), "CXX_BOOL": np.dtype("?"),
    "INT8_T": np.dtype("i1"), "INT16_T": np.dtype("i2"), "INT32_T": np.dtype("i4"),
    "INT64_T": np.dtype("i8"), "UINT8_T": np.dtype("u1"), "UINT16_T": np.dtype("u2"),
    "UINT32_T": np.dtype("u4"), "UINT64_T": np.dtype("u8"),
    "SINT8_T": np.dtype("i1"), "SINT16_T": np.dtype("i2"), "SINT32_T": np.dtype("i4"),
    "SINT64_T": np.dtype("i8"),
    "FLOAT16_T": np.dtype("f2"), "FLOAT32_T": np.dtype("f4"), "FLOAT64_T": np.dtype("f8"),
    "C_COMPLEX": np.dtype("F"), "C_FLOAT_COMPLEX": np.dtype("F"),
    "C_DOUBLE_COMPLEX": np.dtype("D"), "C_LONG_DOUBLE_COMPLEX": np.dtype("G"),
    "CXX_FLOAT_COMPLEX": np.dtype("F"), "CXX_DOUBLE_COMPLEX": np.dtype("D"),
    "CXX_LONG_DOUBLE_COMPLEX": np.dtype("G"),
    "AINT": np.dtype("i8"), "OFFSET": np.dtype("i8"), "COUNT": np.dtype("i8"),
    "CHARACTER_KIND": np.dtype("S1"),
    "LOGICAL": np.dtype("i4"), "INTEGER": np.dtype("i4"), "REAL": np.dtype("f4"),
    "DOUBLE_PRECISION": np.dtype("f8"), "COMPLEX": np.dtype("F"),
    "DOUBLE_COMPLEX": np.dtype("D"), "INTEGER1": np.dtype("i1"), "INTEGER2": np.dtype("i2"),
    "INTEGER4": np.dtype("i4"), "INTEGER8": np.dtype("i8"), "REAL4": np.dtype("f4"),
    "REAL8": np.dtype("f8"), "REAL16": np.dtype("g"), "COMPLEX8": np.dtype("F"),
    "COMPLEX16": np.dtype("D"), "COMPLEX32": np.dtype("G"),
    "F_BOOL": np.dtype("i4"), "F_INT": np.dtype("i4"), "F_FLOAT": np.dtype("f4"),
    "F_DOUBLE": np.dtype("f8"), "F_COMPLEX": np.dtype("F"), "F_FLOAT_COMPLEX": np.dtype("F"),
    "F_DOUBLE_COMPLEX": np.dtype("D"),
    # Pair types for MINLOC / MAXLOC
    "SHORT_INT": _pair("i2", "i4"), "TWOINT": _pair("i4", "i4"), "INT_INT": _pair("i4", "i4"),
    "LONG_INT": _pair("i8", "i4"), "FLOAT_INT": _pair("f4", "i4"),
    "DOUBLE_INT": _pair("f8", "i4"), "LONG_DOUBLE_INT": _pair("g", "i4"),
}
_PREDEFINED.pop("CHARACTER_KIND")

PREDEFINED: Dict[str, Datatype] = {
    name: Datatype(name, dtype, 1, predefined=True) for name, dtype in _PREDEFINED.items()
}

# numpy dtype -> the datatype mpi4py infers for a buffer of it
_BY_CHAR = {
    "b": "SIGNED_CHAR", "h": "SHORT", "i": "INT", "l": "LONG", "q": "LONG_LONG",
    "B": "UNSIGNED_CHAR", "H": "UNSIGNED_SHORT", "I": "UNSIGNED", "L": "UNSIGNED_LONG",
    "Q": "UNSIGNED_LONG_LONG", "e": "FLOAT16_T", "f": "FLOAT", "d": "DOUBLE", "g": "LONG_DOUBLE",
    "F": "C_FLOAT_COMPLEX", "D": "C_DOUBLE_COMPLEX", "G": "C_LONG_DOUBLE_COMPLEX",
    "?": "C_BOOL", "c": "CHAR", "S": "CHAR", "U": "WCHAR",
}


# character codes / type strings -> predefined datatype (Datatype.fromcode)
_BY_CODE = {
    "?": "C_BOOL", "c": "CHAR", "S": "CHAR", "s": "CHAR", "a": "CHAR", "S1": "CHAR",
    "U": "WCHAR", "U1": "WCHAR",
    "b": "SIGNED_CHAR", "h": "SHORT", "i": "INT", "l": "LONG", "q": "LONG_LONG",
    "B": "UNSIGNED_CHAR", "H": "UNSIGNED_SHORT", "I": "UNSIGNED", "L": "UNSIGNED_LONG",
    "Q": "UNSIGNED_LONG_LONG", "n": "COUNT", "N": "UNSIGNED_LONG", "p": "AINT",
    "P": "UNSIGNED_LONG", "e": "FLOAT16_T", "f": "FLOAT", "d": "DOUBLE", "g": "LONG_DOUBLE",
    "F": "C_FLOAT_COMPLEX", "D": "C_DOUBLE_COMPLEX", "G": "C_LONG_DOUBLE_COMPLEX",
    "Zf": "C_FLOAT_COMPLEX", "Zd": "C_DOUBLE_COMPLEX", "Zg": "C_LONG_DOUBLE_COMPLEX",
    "b1": "C_BOOL", "i1": "INT8_T", "i2": "INT16_T", "i4": "INT32_T", "i8": "INT64_T",
    "u1": "UINT8_T", "u2": "UINT16_T", "u4": "UINT32_T", "u8": "UINT64_T",
    "f2": "FLOAT16_T", "f4": "FLOAT", "f8": "DOUBLE", "f16": "LONG_DOUBLE",
    "c8": "C_FLOAT_COMPLEX", "c16": "C_DOUBLE_COMPLEX", "c32": "C_LONG_DOUBLE_COMPLEX",
}


def from_numpy(dtype: np.dtype) -> Optional[Datatype]:
    """The predefined datatype for a numpy dtype (None for structured dtypes)."""
    name = _BY_CHAR.get(dtype.char)
    if name is None:
        for candidate in ("SHORT_INT", "TWOINT", "LONG_INT", "FLOAT_INT", "DOUBLE_INT",
                          "LONG_DOUBLE_INT"):
            if PREDEFINED[candidate].numpy_dtype == dtype:
                return PREDEFINED[candidate]
        return None
    return PREDEFINED[name]


def from_typechar(code: str) -> Datatype:
    """The datatype for a buffer-protocol format character (``'d'``, ``'i'``, ...)."""
    code = code.lstrip("@=<>!")
    if code in ("", "B"):
        return PREDEFINED["BYTE"] if code == "" else PREDEFINED["UNSIGNED_CHAR"]
    name = _BY_CHAR.get(code)
    if name is None:
        dtype = np.dtype(code)
        name = _BY_CHAR.get(dtype.char)
    if name is None:
        raise MPIException(C.ERR_TYPE, f"no MPI datatype for buffer format {code!r}")
    return PREDEFINED[name]
