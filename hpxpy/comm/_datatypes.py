"""Predefined MPI datatypes, mapped to numpy dtypes, and the derived ones hpxpy builds."""

from __future__ import annotations

import itertools
import weakref
from typing import Any, Dict, Optional, Sequence

from .._numpy import np
from . import _constants as C
from ._attributes import AttrMethods, copy_all, delete_all, side_table
from ._errors import Exception as MPIException


class Datatype(AttrMethods):
    """An MPI datatype in MPI's own model: a type map of ``base`` numpy elements at byte
    offsets from the element's origin, a lower bound and an extent. Predefined types are one
    element at offset 0; derived types come from the ``Create_*`` constructors. A type whose
    elements mix base types is mapped byte by byte (it can be moved, not reduced)."""

    __slots__ = ("_name", "_base", "_offsets", "_lb", "_ub", "_predefined", "_freed",
                 "_committed", "_dense", "_handle", "_spec", "_same", "_constant",
                 "__weakref__")
    # _same: what every reference to one MPI datatype shares (equality, attributes);
    # _constant: this object is one of the module's (MPI.INT ...), which free() leaves alone

    __hash__ = None  # type: ignore[assignment]  # as mpi4py's: equal references, no hash

    def __init__(self, datatype: Optional[Datatype] = None) -> None:
        """``Datatype()`` is a null datatype and ``Datatype(datatype)`` a new reference to
        ``datatype``'s MPI datatype (freeing the reference leaves the datatype alone)."""
        if datatype is None:
            datatype = DATATYPE_NULL
        if not isinstance(datatype, Datatype):
            raise TypeError(f"expecting a Datatype, got {type(datatype).__name__}")
        if not datatype._freed:
            _ = datatype.handle  # numbered now, so that every reference shows the same handle
        for slot in _REFERENCE_SLOTS:
            if slot not in _LAYOUT_SLOTS or not datatype._freed:
                setattr(self, slot, getattr(datatype, slot))
        if datatype._freed:
            self._init(datatype._name, None)
        self._constant = False

    @classmethod
    def _make(cls, name: str = "", base: Optional[np.dtype] = None, count: int = 1,
              predefined: bool = False, offsets: Optional[np.ndarray] = None,
              lb: int = 0, ub: Optional[int] = None) -> Datatype:
        """A new MPI datatype: ``count`` ``base`` elements, or one at each of ``offsets``
        (bytes), in the extent [lb, ub); a null one without ``base``."""
        dt = cls.__new__(cls)
        dt._same = _Shared()
        dt._constant = False
        dt._init(name, base, count, predefined, offsets, lb, ub)
        return dt

    def _init(self, name: str = "", base: Optional[np.dtype] = None, count: int = 1,
              predefined: bool = False, offsets: Optional[np.ndarray] = None,
              lb: int = 0, ub: Optional[int] = None) -> None:
        self._name = name
        self._base = base
        self._predefined = predefined
        self._freed = base is None
        self._committed = predefined
        self._handle = 0  # given on first use of .handle (predefined: at import)
        self._spec: Any = None
        if base is None:  # a null type (DATATYPE_NULL, or one this MPI lacks): no layout
            self._offsets, self._lb, self._ub, self._dense = _NO_ELEMENTS, 0, 0, True
            return
        itemsize = base.itemsize
        if offsets is None:
            offsets = np.arange(count, dtype=np.int64) * itemsize
        self._offsets = offsets
        self._lb = int(lb)
        self._ub = self._lb + len(offsets) * itemsize if ub is None else int(ub)
        # dense: a message of this type is one run of base elements (no gaps, no reordering)
        self._dense = bool(self._lb == 0 and self._ub == len(offsets) * itemsize
                           and np.array_equal(offsets, np.arange(len(offsets)) * itemsize))

    @classmethod
    def _predefined_lazily(cls, name: str, spec: Any) -> Datatype:
        """A predefined type whose layout (numpy dtype ``spec``) is made on first use: the
        predefined types exist from import, numpy is imported only when one is used."""
        dt = cls.__new__(cls)
        dt._name, dt._spec, dt._handle = name, spec, 0
        dt._same, dt._constant = _Shared(), True
        dt._predefined = dt._committed = True
        dt._freed = False
        return dt

    def __getattr__(self, attr: str) -> Any:
        # Only reached for a slot not set yet: a lazily predefined type's layout.
        if attr not in _LAYOUT_SLOTS or self._spec is None:
            raise AttributeError(f"'Datatype' object has no attribute {attr!r}")
        handle = self._handle
        Datatype._init(self, self._name, np.dtype(self._spec, align=True), 1,
                       predefined=True)
        self._handle = handle
        return getattr(self, attr)

    # -- identity --------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Datatype):
            return NotImplemented
        if self._freed or other._freed:
            return self._freed and other._freed
        return self._same is other._same

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __reduce__(self) -> Any:
        if self._constant:  # MPI.INT ...: pickled by name, unpickled as the same object
            return self._name
        if self._freed:
            return (type(self), ())
        if self._predefined:
            return (type(self), (PREDEFINED[self._name],))
        raise ValueError(f"cannot serialize derived datatype {self!r}")

    def __bool__(self) -> bool:
        return not self._freed

    def __repr__(self) -> str:
        return f"<MPI.Datatype {self._name or 'derived'}>"

    # -- handles (mpi4py: an integer naming the MPI object) ----------------------------------
    @property
    def handle(self) -> int:
        """This datatype's integer handle (``Datatype.fromhandle`` turns it back)."""
        if self._freed:
            return _NULL_HANDLE
        if not self._handle:
            self._handle = next(_next_handle)
            _by_handle[self._handle] = self
        return self._handle

    @classmethod
    def fromhandle(cls, handle: int) -> Datatype:
        """The datatype with integer handle ``handle`` (DATATYPE_NULL for the null one)."""
        handle = int(handle)
        if handle == _NULL_HANDLE:
            return DATATYPE_NULL
        dt = _by_handle.get(handle)
        if dt is None:
            raise ValueError(f"no datatype with handle {handle}")
        return dt

    def py2f(self) -> int:
        """The Fortran handle: hpxpy uses the same integer as ``handle``."""
        return self.handle

    @classmethod
    def f2py(cls, arg: int) -> Datatype:
        """The datatype of a Fortran handle (see ``py2f``)."""
        return cls.fromhandle(arg)

    toint = py2f
    fromint = f2py

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
        return len(self._offsets)

    @property
    def is_dense(self) -> bool:
        """True if messages of this type are contiguous runs of base elements (hpxpy
        extension): they travel without packing."""
        return self._dense

    @property
    def offsets(self) -> np.ndarray:
        """Byte offset of each base element from an element's origin (hpxpy extension)."""
        return self._offsets

    def Get_size(self) -> int:
        """Bytes of data in one element (padding excluded: DOUBLE_INT is 12)."""
        self._check()
        base = self.numpy_dtype
        names, fields = base.names, base.fields
        item = sum(fields[f][0].itemsize for f in names) if names and fields \
            else base.itemsize
        return item * len(self._offsets)

    @property
    def wire_size(self) -> int:
        """Bytes one element occupies in a message, padding included (hpxpy extension)."""
        self._check()
        return self.numpy_dtype.itemsize * len(self._offsets)

    def Get_extent(self) -> tuple:
        """(lower bound, extent) in bytes."""
        self._check()
        return (self._lb, self._ub - self._lb)

    def Get_true_extent(self) -> tuple:
        """(true lower bound, true extent): the span the data itself occupies."""
        self._check()
        if not len(self._offsets):
            return (0, 0)
        lo = int(self._offsets.min())
        return (lo, int(self._offsets.max()) + self.numpy_dtype.itemsize - lo)

    def Get_name(self) -> str:
        return self._name

    def Set_name(self, name: str) -> None:
        self._name = name

    size = property(Get_size)
    extent = property(lambda self: self.Get_extent()[1])
    lb = property(lambda self: self.Get_extent()[0])
    ub = property(lambda self: sum(self.Get_extent()))
    true_extent = property(lambda self: self.Get_true_extent()[1])
    true_lb = property(lambda self: self.Get_true_extent()[0])
    true_ub = property(lambda self: sum(self.Get_true_extent()))
    name = property(Get_name, Set_name)

    @property
    def typechar(self) -> str:
        self._check()
        return self.numpy_dtype.char if self._predefined else "V"

    @property
    def typestr(self) -> str:
        self._check()
        if not self._predefined or self.numpy_dtype.kind == "V":
            return f"V{self.Get_size()}"
        return self.numpy_dtype.str[1:]

    def tocode(self) -> str:
        """The type code of a predefined type, as mpi4py gives it (``'i'``, ``'i8'``,
        ``'b1'``...); ValueError for the others."""
        code = _TOCODE.get(self._name) if self._predefined else None
        if code is None:
            raise ValueError(f"cannot map MPI datatype {self._name or 'derived'} to a type code")
        return code

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
    def _replicate(self, origins: np.ndarray) -> Datatype:
        """A new type holding one copy of this type at each byte origin."""
        self._check()
        origins = np.asarray(origins, dtype=np.int64).reshape(-1)
        offsets = (origins[:, None] + self._offsets[None, :]).reshape(-1)
        if not len(origins):
            return Datatype._make("", self._base, 0)
        lb = int(origins.min()) + self._lb
        ub = int(origins.max()) + self._ub
        return Datatype._make("", self._base, offsets=offsets, lb=lb, ub=ub)

    @staticmethod
    def _blocks(blocklengths: Sequence[int], displacements: Sequence[int]) -> np.ndarray:
        """Element positions of blocks: displacement d, d+1, ... d+blocklength-1."""
        if len(blocklengths) != len(displacements):
            raise ValueError(f"expecting as many block lengths as displacements, got "
                             f"{len(blocklengths)} and {len(displacements)}")
        pos = [np.arange(int(n), dtype=np.int64) + int(d)
               for n, d in zip(blocklengths, displacements)]
        return np.concatenate(pos) if pos else np.empty(0, np.int64)

    @staticmethod
    def _check_count(count: int, what: str = "count") -> int:
        count = int(count)
        if count < 0:
            raise MPIException(C.ERR_COUNT, f"negative {what} {count}")
        return count

    def Create_contiguous(self, count: int) -> Datatype:
        """``count`` consecutive elements of this type as one element."""
        count = self._check_count(count)
        return self._replicate(np.arange(count) * self.extent)

    def Create_vector(self, count: int, blocklength: int, stride: int) -> Datatype:
        """``count`` blocks of ``blocklength`` elements, ``stride`` elements apart."""
        self._check_count(count)
        self._check_count(blocklength, "block length")
        return self._replicate(self._blocks([blocklength] * count,
                                            [i * stride for i in range(count)]) * self.extent)

    def Create_hvector(self, count: int, blocklength: int, stride: int) -> Datatype:
        """As ``Create_vector`` with the stride in bytes."""
        self._check_count(count)
        self._check_count(blocklength, "block length")
        origins = [i * stride + j * self.extent for i in range(count) for j in range(blocklength)]
        return self._replicate(np.array(origins, dtype=np.int64))

    def Create_indexed(self, blocklengths: Sequence[int],
                       displacements: Sequence[int]) -> Datatype:
        """Blocks of the given lengths at displacements counted in elements."""
        return self._replicate(self._blocks(blocklengths, displacements) * self.extent)

    def Create_hindexed(self, blocklengths: Sequence[int],
                        displacements: Sequence[int]) -> Datatype:
        """Blocks of the given lengths at displacements counted in bytes."""
        origins = [d + j * self.extent for n, d in zip(blocklengths, displacements)
                   for j in range(int(n))]
        return self._replicate(np.array(origins, dtype=np.int64))

    def Create_indexed_block(self, blocklength: int, displacements: Sequence[int]) -> Datatype:
        """Blocks of one length at displacements counted in elements."""
        return self.Create_indexed([blocklength] * len(displacements), displacements)

    def Create_hindexed_block(self, blocklength: int,
                              displacements: Sequence[int]) -> Datatype:
        """Blocks of one length at displacements counted in bytes."""
        return self.Create_hindexed([blocklength] * len(displacements), displacements)

    def Create_subarray(self, sizes: Sequence[int], subsizes: Sequence[int],
                        starts: Sequence[int], order: int = C.ORDER_C) -> Datatype:
        """A sub-block of an N-dimensional array of this type; extent of the whole array."""
        sizes, subsizes, starts = list(sizes), list(subsizes), list(starts)
        if not len(sizes) == len(subsizes) == len(starts):
            raise ValueError("sizes, subsizes and starts must have the same length")
        for n, s, b in zip(sizes, subsizes, starts):
            if s < 0 or b < 0 or b + s > n:
                raise MPIException(C.ERR_ARG, f"subarray of {s} from {b} does not fit in {n}")
        fortran = order == C.ORDER_FORTRAN
        grid = np.indices(subsizes).reshape(len(subsizes), -1)
        index = np.ravel_multi_index(tuple(g + b for g, b in zip(grid, starts)), sizes,
                                     order="F" if fortran else "C")
        if fortran:  # Fortran order walks the first index fastest
            index = np.sort(index)
        new = self._replicate(index * self.extent)
        new._lb, new._ub = self._lb, self._lb + int(np.prod(sizes)) * self.extent
        new._dense = False
        return new

    def Create_darray(self, size: int, rank: int, gsizes: Sequence[int],
                      distribs: Sequence[int], dargs: Sequence[int], psizes: Sequence[int],
                      order: int = C.ORDER_C) -> Datatype:
        """The part process ``rank`` of a ``psizes`` process grid (row-major ranks) owns of
        a ``gsizes`` array distributed by block, cyclic or not at all in each dimension;
        extent of the whole array."""
        gsizes, distribs, dargs, psizes = (list(map(int, x))
                                           for x in (gsizes, distribs, dargs, psizes))
        if not len(gsizes) == len(distribs) == len(dargs) == len(psizes):
            raise ValueError("gsizes, distribs, dargs and psizes must have the same length")
        if int(np.prod(psizes)) != size or not 0 <= rank < size:
            raise MPIException(C.ERR_ARG, f"a {psizes} process grid has no rank {rank} of "
                               f"{size}")
        coords = np.unravel_index(rank, psizes) if psizes else ()
        owned = []
        for g, dist, darg, p, c in zip(gsizes, distribs, dargs, psizes, coords):
            index = np.arange(g, dtype=np.int64)
            if dist == C.DISTRIBUTE_NONE:
                if p != 1:
                    raise MPIException(C.ERR_ARG, "DISTRIBUTE_NONE needs 1 process in its "
                                       "dimension")
                owned.append(index)
            elif dist == C.DISTRIBUTE_BLOCK:
                block = -(-g // p) if darg == C.DISTRIBUTE_DFLT_DARG else darg
                if block * p < g:
                    raise MPIException(C.ERR_ARG, f"block {block} x {p} processes do not "
                                       f"cover {g} elements")
                owned.append(index[c * block:(c + 1) * block])
            elif dist == C.DISTRIBUTE_CYCLIC:
                block = 1 if darg == C.DISTRIBUTE_DFLT_DARG else darg
                if block <= 0:
                    raise MPIException(C.ERR_ARG, f"invalid cyclic block {block}")
                owned.append(index[(index // block) % p == c])
            else:
                raise MPIException(C.ERR_ARG, f"invalid distribution {dist}")
        fortran = order == C.ORDER_FORTRAN
        grid = np.meshgrid(*owned, indexing="ij")
        index = np.ravel_multi_index(tuple(x.reshape(-1) for x in grid), gsizes,
                                     order="F" if fortran else "C") if owned else \
            np.zeros(1, np.int64)
        new = self._replicate(np.sort(index) * self.extent)
        new._lb, new._ub = self._lb, self._lb + int(np.prod(gsizes)) * self.extent
        new._dense = False
        return new

    def Create_resized(self, lb: int, extent: int) -> Datatype:
        """The same data with another lower bound and extent."""
        self._check()
        return Datatype._make("", self._base, offsets=self._offsets, lb=lb, ub=lb + extent)

    @classmethod
    def Create_struct(cls, blocklengths: Sequence[int], displacements: Sequence[int],
                      datatypes: Sequence[Datatype]) -> Datatype:
        """Blocks of (possibly different) types at byte displacements."""
        if not len(blocklengths) == len(displacements) == len(datatypes):
            raise ValueError("expecting as many block lengths, displacements and datatypes")
        parts = []
        for n, d, t in zip(blocklengths, displacements, datatypes):
            t._check()
            parts.append(t._replicate(np.arange(int(n), dtype=np.int64) * t.extent + int(d)))
        parts = [p for p in parts if p.base_count or p._lb != p._ub]
        if not parts:
            return Datatype._make("", np.dtype("u1"), 0)
        bases = {p._base for p in parts if p.base_count}
        if len(bases) <= 1:
            base = bases.pop() if bases else parts[0]._base
            offsets = np.concatenate([p._offsets for p in parts])
        else:  # mixed base types: map byte by byte
            base = np.dtype("u1")
            offsets = np.concatenate([(p._offsets[:, None] + np.arange(p.numpy_dtype.itemsize))
                                      .reshape(-1) for p in parts])
        lb = min(p._lb for p in parts)
        ub = max(p._ub for p in parts)
        return Datatype._make("", base, offsets=offsets.astype(np.int64), lb=lb, ub=ub)

    def Dup(self) -> Datatype:
        self._check()
        dup = Datatype._make(self._name, self._base, offsets=self._offsets, lb=self._lb,
                             ub=self._ub)
        dup._committed = self._committed
        copy_all(self, side_table(self._same), side_table(dup._same))
        return dup

    Create_dup = Dup

    def Commit(self) -> Datatype:
        self._check()
        self._committed = True
        return self

    # attributes (Create_keyval ... Delete_attr): _attributes.AttrMethods
    _attr_kind = "Datatype"

    def _attr_table(self) -> Dict[int, Any]:
        self._check()
        return side_table(self._same)

    def Free(self) -> None:
        self._check()
        if self._predefined:
            raise MPIException(C.ERR_TYPE, "cannot free a predefined datatype")
        delete_all(self, side_table(self._same))  # the callbacks see the type still alive
        self._freed = True

    def free(self) -> None:
        """Drop this reference (the module's predefined objects, MPI.INT ..., stay)."""
        if not self._constant:
            self._freed = True


class _Shared:
    """The part of a datatype its references share (attributes are kept by it)."""

    __slots__ = ("__weakref__",)


_LAYOUT_SLOTS = frozenset(("_base", "_offsets", "_lb", "_ub", "_dense"))
# What a new reference copies (a null one keeps its own empty layout)
_REFERENCE_SLOTS = ("_name", "_predefined", "_freed", "_committed", "_handle", "_spec",
                    "_same", *_LAYOUT_SLOTS)
_NO_ELEMENTS: Any = ()  # a null type's offsets (not an array: numpy is imported lazily)


def _pair(value: str, index: str) -> Any:
    """A (value, index) struct, as MPI's pair types for MINLOC/MAXLOC: the spec of a numpy
    dtype made with align=True (C layout: DOUBLE_INT is 16 bytes)."""
    return [("v", value), ("i", index)]


DATATYPE_NULL = Datatype._make("DATATYPE_NULL")
DATATYPE_NULL._constant = True
# Handles: the null type's, then one per predefined type in a fixed order, then derived
# types as they are asked for theirs (looked up weakly: a dropped type frees its number).
_NULL_HANDLE = 0x0C000000
_by_handle: weakref.WeakValueDictionary[int, Datatype] = weakref.WeakValueDictionary()
_next_handle = itertools.count(0x4C100000)

# name -> numpy dtype spec of its element (made into a dtype on first use)
_PREDEFINED: Dict[str, Any] = {
    "BYTE": "u1", "PACKED": "u1", "CHAR": "S1",
    "CHARACTER": "S1", "WCHAR": "U1",
    "SIGNED_CHAR": "i1", "SHORT": "i2", "SIGNED_SHORT": "i2",
    "INT": "i4", "SIGNED_INT": "i4", "LONG": "i8",
    "SIGNED_LONG": "i8", "LONG_LONG": "q", "SIGNED_LONG_LONG": "q",
    "UNSIGNED_CHAR": "u1", "UNSIGNED_SHORT": "u2",
    "UNSIGNED": "u4", "UNSIGNED_INT": "u4", "UNSIGNED_LONG": "u8",
    "UNSIGNED_LONG_LONG": "Q",
    "FLOAT": "f4", "DOUBLE": "f8", "LONG_DOUBLE": "g",
    "C_BOOL": "?", "BOOL": "?", "CXX_BOOL": "?",
    "INT8_T": "i1", "INT16_T": "i2", "INT32_T": "i4",
    "INT64_T": "i8", "UINT8_T": "u1", "UINT16_T": "u2",
    "UINT32_T": "u4", "UINT64_T": "u8",
    "SINT8_T": "i1", "SINT16_T": "i2", "SINT32_T": "i4",
    "SINT64_T": "i8",
    "FLOAT16_T": "f2", "FLOAT32_T": "f4", "FLOAT64_T": "f8",
    "C_COMPLEX": "F", "C_FLOAT_COMPLEX": "F",
    "C_DOUBLE_COMPLEX": "D", "C_LONG_DOUBLE_COMPLEX": "G",
    "CXX_FLOAT_COMPLEX": "F", "CXX_DOUBLE_COMPLEX": "D",
    "CXX_LONG_DOUBLE_COMPLEX": "G",
    "AINT": "i8", "OFFSET": "i8", "COUNT": "i8",
    "CHARACTER_KIND": "S1",
    "LOGICAL": "i4", "INTEGER": "i4", "REAL": "f4",
    "DOUBLE_PRECISION": "f8", "COMPLEX": "F",
    "DOUBLE_COMPLEX": "D", "INTEGER1": "i1", "INTEGER2": "i2",
    "INTEGER4": "i4", "INTEGER8": "i8", "REAL4": "f4",
    "REAL8": "f8", "REAL16": "g", "COMPLEX8": "F",
    "COMPLEX16": "D", "COMPLEX32": "G",
    "F_BOOL": "i4", "F_INT": "i4", "F_FLOAT": "f4",
    "F_DOUBLE": "f8", "F_COMPLEX": "F", "F_FLOAT_COMPLEX": "F",
    "F_DOUBLE_COMPLEX": "D",
    # Pair types for MINLOC / MAXLOC
    "SHORT_INT": _pair("i2", "i4"), "TWOINT": _pair("i4", "i4"), "INT_INT": _pair("i4", "i4"),
    "LONG_INT": _pair("i8", "i4"), "FLOAT_INT": _pair("f4", "i4"),
    "DOUBLE_INT": _pair("f8", "i4"), "LONG_DOUBLE_INT": _pair("g", "i4"),
}
_PREDEFINED.pop("CHARACTER_KIND")

PREDEFINED: Dict[str, Datatype] = {
    name: Datatype._predefined_lazily(name, spec) for name, spec in _PREDEFINED.items()
}
for _number, _dt in enumerate(PREDEFINED.values()):  # the same handles in every process
    _dt._handle = 0x4C000000 + _number
    _by_handle[_dt._handle] = _dt

# Datatype.tocode(), as mpi4py (on MPICH) answers it
_TOCODE = {
    "AINT": "p", "BOOL": "b1", "BYTE": "B", "CHAR": "c", "CHARACTER": "c", "COMPLEX": "F",
    "COMPLEX16": "c16", "COMPLEX32": "c32", "COMPLEX8": "c8", "COUNT": "p", "CXX_BOOL": "?",
    "CXX_DOUBLE_COMPLEX": "D", "CXX_FLOAT_COMPLEX": "F", "CXX_LONG_DOUBLE_COMPLEX": "G",
    "C_BOOL": "b1", "C_COMPLEX": "F", "C_DOUBLE_COMPLEX": "D", "C_FLOAT_COMPLEX": "F",
    "C_LONG_DOUBLE_COMPLEX": "G", "DOUBLE": "d", "DOUBLE_COMPLEX": "D", "DOUBLE_PRECISION": "d",
    "FLOAT": "f", "FLOAT16_T": "e", "FLOAT32_T": "f", "FLOAT64_T": "d", "F_BOOL": "i",
    "F_COMPLEX": "F", "F_DOUBLE": "d", "F_DOUBLE_COMPLEX": "D", "F_FLOAT": "f",
    "F_FLOAT_COMPLEX": "F", "F_INT": "i", "INT": "i", "INT16_T": "i2", "INT32_T": "i4",
    "INT64_T": "i8", "INT8_T": "i1", "INTEGER": "i", "INTEGER1": "i1", "INTEGER2": "i2",
    "INTEGER4": "i4", "INTEGER8": "i8", "LOGICAL": "i", "LONG": "l", "LONG_DOUBLE": "g",
    "LONG_LONG": "q", "OFFSET": "p", "PACKED": "B", "REAL": "f", "REAL16": "f16", "REAL4": "f4",
    "REAL8": "f8", "SHORT": "h", "SIGNED_CHAR": "b", "SIGNED_INT": "i", "SIGNED_LONG": "l",
    "SIGNED_LONG_LONG": "q", "SIGNED_SHORT": "h", "SINT16_T": "i2", "SINT32_T": "i4",
    "SINT64_T": "i8", "SINT8_T": "i1", "UINT16_T": "u2", "UINT32_T": "u4", "UINT64_T": "u8",
    "UINT8_T": "u1", "UNSIGNED": "I", "UNSIGNED_CHAR": "B", "UNSIGNED_INT": "I",
    "UNSIGNED_LONG": "L", "UNSIGNED_LONG_LONG": "Q", "UNSIGNED_SHORT": "H", "WCHAR": "U",
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


# MPI._typedict and friends, with mpi4py's keys: codes Datatype.fromcode reads, codes of its
# own (a width prefix, NumPy's datetime letters), the C subset, and the Fortran types.
TYPEDICT_CODES = (
    "?", "B", "D", "F", "G", "H", "I", "L", "N", "P", "Q", "S", "S1", "U", "U1", "Zd", "Zf",
    "Zg", "a", "b", "b1", "c", "c16", "c32", "c8", "d", "e", "f", "f16", "f2", "f4", "f8",
    "g", "h", "i", "i1", "i2", "i4", "i8", "l", "n", "p", "q", "s", "u1", "u2", "u4", "u8")
TYPEDICT_EXTRA = {"1s": "CHAR", "1u": "UINT16_T", "1w": "WCHAR", "M": "INT64_T",
                  "M8": "INT64_T", "m": "INT64_T", "m8": "INT64_T", "u": "UINT16_T",
                  "w": "WCHAR"}
TYPEDICT_C_CODES = (
    "?", "B", "D", "F", "G", "H", "I", "L", "Q", "b", "b1", "c16", "c32", "c8", "d", "f",
    "f16", "f2", "f4", "f8", "g", "h", "i", "i1", "i2", "i4", "i8", "l", "q", "u1", "u2",
    "u4", "u8")
TYPEDICT_FORTRAN = {
    "c": "COMPLEX", "c16": "COMPLEX16", "c32": "COMPLEX32", "c8": "COMPLEX8",
    "d": "DOUBLE_PRECISION", "i": "INTEGER", "i1": "INTEGER1", "i2": "INTEGER2",
    "i4": "INTEGER4", "i8": "INTEGER8", "l": "LOGICAL", "r": "REAL", "r16": "REAL16",
    "r4": "REAL4", "r8": "REAL8", "s": "REAL", "z": "DOUBLE_COMPLEX"}
