"""Predefined MPI datatypes, mapped to numpy dtypes, and the derived ones hpxpy builds."""

from __future__ import annotations

import itertools
import weakref
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .._numpy import np
from . import _constants as C
from ._attributes import AttrMethods, copy_all, delete_all, side_table
from ._errors import Exception as MPIException


class _Ident:
    """What makes two Datatype objects the same MPI datatype (mpi4py: one handle, many
    Python objects): ``MPI.Datatype(t)`` and ``Get_contents`` share it, ``Free`` does not."""

    __slots__ = ("handle",)

    def __init__(self) -> None:
        self.handle = 0  # given on first use of .handle (predefined: at import)


# The slots one Datatype object copies from another (MPI.Datatype(t): same datatype)
_STATE = ("_name", "_key", "_base", "_offs", "_lazy", "_n", "_tlo", "_thi", "_lb", "_ub",
          "_combiner", "_args", "_old", "_freed", "_committed", "_dense", "_ident", "_align",
          "_mixed", "_tags", "_spec")


def _copy_state(new: Any, old: Any) -> None:
    """Make ``new`` another object for ``old``'s datatype (the slots of ``_STATE``); spelled
    out because type-building code (mpi4py.util.dtlib) copies millions of references and
    a getattr/setattr loop over the names cost a third of its time."""
    (new._name, new._key, new._base, new._offs, new._lazy, new._n, new._tlo, new._thi,
     new._lb, new._ub, new._combiner, new._args, new._old, new._freed, new._committed,
     new._dense, new._ident, new._align, new._mixed, new._tags, new._spec) = (
        old._name, old._key, old._base, old._offs, old._lazy, old._n, old._tlo, old._thi,
        old._lb, old._ub, old._combiner, old._args, old._old, old._freed, old._committed,
        old._dense, old._ident, old._align, old._mixed, old._tags, old._spec)


# The slots a predefined type fills on first use (Datatype._predefined_lazily)
_LAYOUT = frozenset(("_base", "_offs", "_n", "_tlo", "_thi", "_lb", "_ub", "_dense", "_align"))


class Datatype(AttrMethods):
    """An MPI datatype in MPI's own model: a type map of ``base`` numpy elements at byte
    offsets from the element's origin, a lower bound and an extent. Predefined types are one
    element at offset 0; derived types come from the ``Create_*`` constructors, which also
    record how they were made (``Get_envelope``/``Get_contents``/``decode``). A type whose
    elements mix base types is mapped byte by byte (it can be moved, not reduced). The
    offsets of a contiguous type are only built when a message needs them, so a type of
    2**31 bytes costs nothing until it is used."""

    __slots__ = (*_STATE, "__weakref__")
    _base: Any  # np.dtype (None: the null type)
    _offs: Any  # np.ndarray of int64 (None: not built yet, see _lazy)
    _lazy: Any  # builds _offs on first use
    _args: Dict[str, Any]
    _old: Optional[Datatype]
    _tags: Optional[np.ndarray]

    def __init__(self, datatype: Optional[Datatype] = None) -> None:
        """Make a datatype: ``MPI.Datatype()`` is a null datatype; ``MPI.Datatype(t)`` another
        object for the same datatype as ``t``."""
        if datatype is None:
            self._set_null()
            return
        if not isinstance(datatype, Datatype):
            raise TypeError(f"expecting a Datatype, got {type(datatype).__name__}")
        _copy_state(self, datatype)

    def _set_null(self) -> None:
        self._name, self._key, self._base = "MPI_DATATYPE_NULL", "", None
        self._offs, self._lazy = _NO_ELEMENTS, None
        self._spec: Any = None  # a lazily predefined type's numpy dtype spec
        self._n, self._tlo, self._thi, self._lb, self._ub = 0, 0, 0, 0, 0
        self._combiner, self._args, self._old = "NAMED", {}, None
        self._freed, self._committed, self._dense = True, False, False
        self._ident = _Ident()
        # alignment of the strictest element type; mixed: elements of more than one type
        self._align, self._mixed = 1, False
        # Types mapped byte by byte (structs of several element types): per byte, which
        # predefined type's element it belongs to and its place there (_tag); else None.
        self._tags = None

    @classmethod
    def _new(cls, base: Any, count: int = 1, offsets: Optional[np.ndarray] = None,
             lb: int = 0, ub: Optional[int] = None, name: str = "", key: str = "") -> Datatype:
        """A type of ``count`` consecutive ``base`` elements, or of ``base`` elements at the
        given byte ``offsets``; lower bound ``lb`` and upper bound ``ub`` (default: the
        elements' span from ``lb``)."""
        new = cls.__new__(cls)
        new._set_null()
        new._name, new._key, new._base = name, key, base
        new._freed = False
        new._committed = bool(key)
        new._align = base.alignment
        size = base.itemsize
        if offsets is None:  # consecutive elements: the bounds need no look at the offsets
            new._offs = np.arange(count, dtype=np.int64) * size
            new._n = n = count
            new._tlo, new._thi = 0, n * size
        else:
            new._offs = np.asarray(offsets, dtype=np.int64)
            new._n = n = len(new._offs)
            new._tlo = int(new._offs.min()) if n else 0
            new._thi = int(new._offs.max()) + size if n else 0
        new._lb = int(lb)
        new._ub = new._lb + n * size if ub is None else int(ub)
        # dense: a message of this type is one run of base elements (no gaps, no reordering)
        new._dense = new._lb == 0 and new._ub == n * size and (
            offsets is None or not n or bool(np.all(np.diff(new._offs) == size)
                                             and new._offs[0] == 0))
        return new

    @classmethod
    def _predefined_lazily(cls, spec: Any, name: str, key: str) -> Datatype:
        """A predefined type whose layout (numpy dtype ``spec``) is made on first use: the
        predefined types exist from import, numpy is imported only when one is used."""
        new = cls.__new__(cls)
        new._set_null()
        for slot in _LAYOUT:
            delattr(new, slot)
        new._name, new._key, new._spec = name, key, spec
        new._freed, new._committed = False, True
        return new

    def __getattr__(self, attr: str) -> Any:
        # Only reached for a slot not set yet: a lazily predefined type's layout.
        if attr not in _LAYOUT or self._spec is None:
            raise AttributeError(f"'Datatype' object has no attribute {attr!r}")
        made = Datatype._new(np.dtype(self._spec, align=True))
        for slot in _LAYOUT:
            setattr(self, slot, getattr(made, slot))
        return getattr(self, attr)

    def _made(self, combiner: str, old: Optional[Datatype], **args: Any) -> Datatype:
        """Record how this type was built (``old``: the type it was built from)."""
        # A reference of its own: freeing the caller's object must not lose the history.
        self._combiner, self._old, self._args = combiner, _reference(old), args
        if old is not None:
            self._align, self._mixed = old._align, old._mixed
        return self

    # -- identity --------------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Datatype):
            return NotImplemented
        if self._freed or other._freed:
            return self._freed and other._freed
        return self._ident is other._ident

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None  # type: ignore[assignment]  # as mpi4py's: equal references, no hash

    def __bool__(self) -> bool:
        return not self._freed

    def __repr__(self) -> str:
        return f"<MPI.Datatype {self._name or 'derived'}>"

    def __reduce__(self) -> tuple:
        """Pickled as MPI names it: a predefined type by name (the same object comes back),
        a derived one by how it was built (a new, equal type comes back)."""
        if self._freed:
            return (_restore_named, ("", self is DATATYPE_NULL, type(self)))
        if self._combiner == "NAMED":
            return (_restore_named, (self._key, PREDEFINED.get(self._key) is self, type(self)))
        old, combiner, args = self.decode()
        return (_restore_derived, (old, combiner, args))

    # -- handles (mpi4py: an integer naming the MPI object) ----------------------------------
    @property
    def handle(self) -> int:
        """This datatype's integer handle (``Datatype.fromhandle`` turns it back)."""
        if self._freed:
            return _NULL_HANDLE
        if not self._ident.handle:
            self._ident.handle = next(_next_handle)
            _by_handle[self._ident.handle] = self
        return self._ident.handle

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
    def _offsets(self) -> np.ndarray:
        if self._offs is None:  # a lazy contiguous type, built on first use
            self._offs = self._lazy()
            self._lazy = None
        return self._offs

    @property
    def numpy_dtype(self) -> np.dtype:
        """The numpy dtype of one base element (hpxpy extension)."""
        self._check()
        assert self._base is not None
        return self._base

    @property
    def base_count(self) -> int:
        """Base elements per element of this type (hpxpy extension)."""
        return self._n

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
        return item * self._n

    @property
    def wire_size(self) -> int:
        """Bytes one element occupies in a message, padding included (hpxpy extension)."""
        self._check()
        return self.numpy_dtype.itemsize * self._n

    def Get_extent(self) -> tuple:
        """Return (lower bound, extent) in bytes."""
        self._check()
        return (self._lb, self._ub - self._lb)

    def Get_true_extent(self) -> tuple:
        """Return (true lower bound, true extent): the span the data itself occupies."""
        self._check()
        return (self._tlo, self._thi - self._tlo)

    def Get_name(self) -> str:
        """Return the name of the datatype."""
        return self._name

    def Set_name(self, name: str) -> None:
        """Set the name of the datatype."""
        self._name = str(name)

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
        """The type's character code (``'V'`` for a derived or pair type)."""
        self._check()
        return self.numpy_dtype.char if self._key and self.numpy_dtype.kind != "V" else "V"

    @property
    def typestr(self) -> str:
        """The type's numpy type string (``'V<extent>'`` for a derived or pair type)."""
        self._check()
        if not self._key or self.numpy_dtype.kind == "V":
            return f"V{self.extent}"
        return self.numpy_dtype.str[1:]

    def tocode(self) -> str:
        """The type code of a predefined type (or a duplicate of one), as mpi4py gives it
        (``'i'``, ``'i8'``, ``'b1'``...); ValueError for the others."""
        code = _TOCODE.get(self._key) if not self._freed else None
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
        """True for MPI's named types and the Fortran parameterised ones."""
        return self._freed or self._combiner in ("NAMED", "F90_INTEGER", "F90_REAL",
                                                  "F90_COMPLEX")

    @property
    def is_named(self) -> bool:
        return self._freed or self._combiner == "NAMED"

    # -- how the type was built (MPI_Type_get_envelope / get_contents) -----------------------
    def Get_envelope(self) -> Tuple[int, int, int, int, int]:
        """Return (integers, addresses, large counts, datatypes, combiner): the sizes of
        ``Get_contents``'s lists and the constructor, laid out as MPICH's large-count
        ``MPI_Type_get_envelope_c`` does."""
        self._check()
        i, a, c, d = self._contents()
        return (len(i), len(a), len(c), len(d), _COMBINERS[self._combiner])

    def Get_contents(self) -> Tuple[list, list, list, List[Datatype]]:
        """Return (integers, addresses, large counts, datatypes) this type was built from; the
        derived datatypes returned are new references (free them)."""
        self._check()
        if self._combiner == "NAMED":
            raise MPIException(C.ERR_TYPE, "named predefined datatypes have no contents")
        i, a, c, d = self._contents()
        return (i, a, c, [_reference(t) for t in d])

    def _contents(self) -> Tuple[list, list, list, list]:
        k, args, old = self._combiner, self._args, self._old
        if k == "NAMED":
            return ([], [], [], [])
        if k == "DUP":
            return ([], [], [], [old])
        if k == "CONTIGUOUS":
            return ([], [], [args["count"]], [old])
        if k in ("VECTOR", "HVECTOR"):
            return ([], [], [args["count"], args["blocklength"], args["stride"]], [old])
        if k in ("INDEXED", "HINDEXED"):
            n = len(args["blocklengths"])
            return ([], [], [n, *args["blocklengths"], *args["displacements"]], [old])
        if k in ("INDEXED_BLOCK", "HINDEXED_BLOCK"):
            n = len(args["displacements"])
            return ([], [], [n, args["blocklength"], *args["displacements"]], [old])
        if k == "STRUCT":
            n = len(args["blocklengths"])
            return ([], [], [n, *args["blocklengths"], *args["displacements"]],
                    list(args["datatypes"]))
        if k == "SUBARRAY":
            return ([len(args["sizes"]), args["order"]], [],
                    [*args["sizes"], *args["subsizes"], *args["starts"]], [old])
        if k == "DARRAY":
            return ([args["size"], args["rank"], len(args["gsizes"]), *args["distribs"],
                     *args["dargs"], *args["psizes"], args["order"]], [],
                    [*args["gsizes"]], [old])
        if k == "RESIZED":
            return ([], [], [args["lb"], args["extent"]], [old])
        if k == "F90_INTEGER":
            return ([args["r"]], [], [], [])
        if k in ("F90_REAL", "F90_COMPLEX"):
            return ([args["p"], args["r"]], [], [], [])
        raise NotImplementedError(f"hpxpy cannot describe how datatype {self!r} was built")

    envelope = property(Get_envelope)
    contents = property(Get_contents)

    @property
    def combiner(self) -> int:
        """The ``MPI.COMBINER_*`` constant of the constructor that built this type."""
        return self.Get_envelope()[-1]

    def decode(self) -> Tuple[Datatype, str, Dict[str, Any]]:
        """Return (old type, combiner name, constructor keyword arguments): calling the old type's
        ``Create_<combiner>`` with them builds an equal type again (``self`` and ``{}`` for
        a named type)."""
        self._check()
        k = self._combiner
        if k == "NAMED":
            return (self, "NAMED", {})
        self._contents()  # NotImplementedError for a type of unknown history
        args = {name: (list(v) if isinstance(v, (list, tuple)) else v)
                for name, v in self._args.items()}
        if k == "STRUCT":
            args["datatypes"] = [_reference(t) for t in args["datatypes"]]
            return (DATATYPE_NULL, k, args)
        if k.startswith("F90_"):
            return (DATATYPE_NULL, k, args)
        return (_reference(self._old), k, args)

    # -- constructors ----------------------------------------------------------------------
    def _replicate(self, origins: np.ndarray) -> Datatype:
        """A new type holding one copy of this type at each byte origin."""
        self._check()
        origins = np.asarray(origins, dtype=np.int64).reshape(-1)
        if not len(origins):
            return Datatype._new(self._base, 0)
        offsets = (origins[:, None] + self._offsets[None, :]).reshape(-1)
        lb = int(origins.min()) + self._lb
        ub = int(origins.max()) + self._ub
        new = Datatype._new(self._base, offsets=offsets, lb=lb, ub=ub)
        if self._tags is not None:
            new._tags = np.tile(self._tags, len(origins))
        return new

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

    def _run(self, count: int) -> Datatype:
        """Return ``count`` consecutive elements of this type, built without offsets: they are made
        when a message first needs them (a type of 2**31 bytes costs nothing until used)."""
        if count == 0 or self._n == 0 or self._tags is not None:
            return self._replicate(np.arange(count) * self.extent)
        new = Datatype._new(self._base, 0)
        extent, old = self.extent, self

        def offsets() -> np.ndarray:
            return ((np.arange(count, dtype=np.int64) * extent)[:, None]
                    + old._offsets[None, :]).reshape(-1)

        new._offs, new._lazy, new._n = None, offsets, count * self._n
        new._tlo = self._tlo + min(0, (count - 1) * extent)
        new._thi = self._thi + max(0, (count - 1) * extent)
        new._lb = self._lb + min(0, (count - 1) * extent)
        new._ub = self._ub + max(0, (count - 1) * extent)
        new._dense = self._dense
        return new

    def Create_contiguous(self, count: int) -> Datatype:
        """Return ``count`` consecutive elements of this type as one element."""
        self._check()
        count = self._check_count(count)
        # MPI 4's contents hold large counts: any count is described as CONTIGUOUS
        return self._run(count)._made("CONTIGUOUS", self, count=count)

    def Create_vector(self, count: int, blocklength: int, stride: int) -> Datatype:
        """Return ``count`` blocks of ``blocklength`` elements, ``stride`` elements apart."""
        count = self._check_count(count)
        blocklength = self._check_count(blocklength, "block length")
        new = self._replicate(self._blocks([blocklength] * count,
                                           [i * int(stride) for i in range(count)])
                              * self.extent)
        return new._made("VECTOR", self, count=count, blocklength=blocklength,
                         stride=int(stride))

    def Create_hvector(self, count: int, blocklength: int, stride: int) -> Datatype:
        """As ``Create_vector`` with the stride in bytes."""
        count = self._check_count(count)
        blocklength = self._check_count(blocklength, "block length")
        origins = [i * int(stride) + j * self.extent
                   for i in range(count) for j in range(blocklength)]
        new = self._replicate(np.array(origins, dtype=np.int64))
        return new._made("HVECTOR", self, count=count, blocklength=blocklength,
                         stride=int(stride))

    def Create_indexed(self, blocklengths: Sequence[int],
                       displacements: Sequence[int]) -> Datatype:
        """Blocks of the given lengths at displacements counted in elements."""
        blocklengths, displacements = _ints(blocklengths), _ints(displacements)
        new = self._replicate(self._blocks(blocklengths, displacements) * self.extent)
        return new._made("INDEXED", self, blocklengths=blocklengths,
                         displacements=displacements)

    def Create_hindexed(self, blocklengths: Sequence[int],
                        displacements: Sequence[int]) -> Datatype:
        """Blocks of the given lengths at displacements counted in bytes."""
        blocklengths, displacements = _ints(blocklengths), _ints(displacements)
        if len(blocklengths) != len(displacements):
            raise ValueError(f"expecting as many block lengths as displacements, got "
                             f"{len(blocklengths)} and {len(displacements)}")
        self._check()
        origins = [d + j * self.extent for n, d in zip(blocklengths, displacements)
                   for j in range(n)]
        new = self._replicate(np.array(origins, dtype=np.int64))
        return new._made("HINDEXED", self, blocklengths=blocklengths,
                         displacements=displacements)

    def Create_indexed_block(self, blocklength: int, displacements: Sequence[int]) -> Datatype:
        """Blocks of one length at displacements counted in elements."""
        displacements = _ints(displacements)
        new = self.Create_indexed([blocklength] * len(displacements), displacements)
        return new._made("INDEXED_BLOCK", self, blocklength=int(blocklength),
                         displacements=displacements)

    def Create_hindexed_block(self, blocklength: int,
                              displacements: Sequence[int]) -> Datatype:
        """Blocks of one length at displacements counted in bytes."""
        displacements = _ints(displacements)
        new = self.Create_hindexed([blocklength] * len(displacements), displacements)
        return new._made("HINDEXED_BLOCK", self, blocklength=int(blocklength),
                         displacements=displacements)

    def Create_subarray(self, sizes: Sequence[int], subsizes: Sequence[int],
                        starts: Sequence[int], order: int = C.ORDER_C) -> Datatype:
        """A sub-block of an N-dimensional array of this type; extent of the whole array."""
        sizes, subsizes, starts = _ints(sizes), _ints(subsizes), _ints(starts)
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
        return new._made("SUBARRAY", self, sizes=sizes, subsizes=subsizes, starts=starts,
                         order=int(order))

    def Create_darray(self, size: int, rank: int, gsizes: Sequence[int],
                      distribs: Sequence[int], dargs: Sequence[int], psizes: Sequence[int],
                      order: int = C.ORDER_C) -> Datatype:
        """The part process ``rank`` of a ``psizes`` process grid (row-major ranks) owns of
        a ``gsizes`` array distributed by block, cyclic or not at all in each dimension;
        extent of the whole array."""
        gsizes, distribs, dargs, psizes = (_ints(x) for x in (gsizes, distribs, dargs, psizes))
        size, rank = int(size), int(rank)
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
        return new._made("DARRAY", self, size=size, rank=rank, gsizes=gsizes,
                         distribs=distribs, dargs=dargs, psizes=psizes, order=int(order))

    def Create_resized(self, lb: int, extent: int) -> Datatype:
        """The same data with another lower bound and extent."""
        self._check()
        new = Datatype._new(self._base, offsets=self._offsets, lb=lb, ub=int(lb) + int(extent))
        new._tags = self._tags
        return new._made("RESIZED", self, lb=int(lb), extent=int(extent))

    Resized = Create_resized  # mpi4py's alias

    @classmethod
    def Create_struct(cls, blocklengths: Sequence[int], displacements: Sequence[int],
                      datatypes: Sequence[Datatype]) -> Datatype:
        """Blocks of (possibly different) types at byte displacements."""
        blocklengths, displacements = _ints(blocklengths), _ints(displacements)
        datatypes = list(datatypes)
        if not len(blocklengths) == len(displacements) == len(datatypes):
            raise ValueError(f"expecting {len(blocklengths)} items, got "
                             f"{len(displacements)} displacements and {len(datatypes)} types")
        parts, sources = [], []
        for n, d, t in zip(blocklengths, displacements, datatypes):
            t._check()
            part = t._replicate(np.arange(int(n), dtype=np.int64) * t.extent + int(d))
            if part.base_count or part._lb != part._ub:
                parts.append(part)
                sources.append(t)
        args = dict(blocklengths=blocklengths, displacements=displacements,
                    datatypes=[_reference(t) for t in datatypes])
        if not parts:
            return Datatype._new(np.dtype("u1"), 0)._made("STRUCT", None, **args)
        bases = {p._base for p in parts if p.base_count}
        kinds = {p._base for p in parts}
        mixed = len(kinds) > 1 or any(p._mixed for p in parts)
        align = max(p._align for p in parts)
        if len(bases) <= 1:
            base = bases.pop() if bases else parts[0]._base
            offsets = np.concatenate([p._offsets for p in parts])
        else:  # mixed base types: map byte by byte
            base = np.dtype("u1")
            offsets = np.concatenate([(p._offsets[:, None] + np.arange(p.numpy_dtype.itemsize))
                                      .reshape(-1) for p in parts])
        lb = min(p._lb for p in parts)
        ub = max(p._ub for p in parts)
        if mixed and (ub - lb) % align:
            # As MPICH: a struct of several element types is padded to a multiple of the
            # strictest alignment among them (C's struct layout), so arrays of it align.
            ub += align - (ub - lb) % align
        new = Datatype._new(base, offsets=offsets.astype(np.int64), lb=lb, ub=ub)
        new._made("STRUCT", None, **args)
        new._align, new._mixed = align, mixed
        if len(bases) > 1 or any(p._tags is not None for p in parts):
            new._tags = _byte_tags(parts, sources)
        return new

    @classmethod
    def Create_f90_integer(cls, r: int) -> Datatype:
        """The Fortran integer kind with at least ``r`` decimal digits
        (``selected_int_kind(r)``)."""
        r = int(r)
        for digits, key in ((2, "INTEGER1"), (4, "INTEGER2"), (9, "INTEGER4"),
                            (18, "INTEGER8")):
            if r <= digits:
                return _parameterised(key, "F90_INTEGER", r=r)
        raise MPIException(C.ERR_ARG, f"no Fortran integer kind has {r} digits")

    @classmethod
    def Create_f90_real(cls, p: int, r: int) -> Datatype:
        """The Fortran real kind with precision ``p`` and exponent range ``r``
        (``selected_real_kind(p, r)``)."""
        return _parameterised(_real_kind(int(p), int(r), "REAL4", "REAL8"), "F90_REAL",
                              p=int(p), r=int(r))

    @classmethod
    def Create_f90_complex(cls, p: int, r: int) -> Datatype:
        """The Fortran complex kind whose parts have precision ``p`` and exponent range
        ``r``."""
        return _parameterised(_real_kind(int(p), int(r), "COMPLEX8", "COMPLEX16"),
                              "F90_COMPLEX", p=int(p), r=int(r))

    @classmethod
    def Match_size(cls, typeclass: int, size: int) -> Datatype:
        """The predefined Fortran type of class ``typeclass`` (``MPI.TYPECLASS_*``) and
        ``size`` bytes."""
        names = _MATCH_SIZE.get(int(typeclass))
        if names is None:
            raise MPIException(C.ERR_ARG, f"invalid type class {typeclass}")
        key = names.get(int(size))
        if key is None:
            raise MPIException(C.ERR_ARG, f"no predefined type of class {typeclass} has "
                               f"{size} bytes")
        return PREDEFINED[key]

    @classmethod
    def Get_value_index(cls, value: Datatype, index: Datatype) -> Datatype:
        """The predefined (value, index) pair type for MINLOC/MAXLOC, or DATATYPE_NULL when
        MPI has none for these two types."""
        for t in (value, index):
            if not isinstance(t, Datatype) or t._freed:
                raise MPIException(C.ERR_TYPE, "the datatype is MPI.DATATYPE_NULL")
        if index._key not in ("INT", "SIGNED_INT") or not index.is_named:
            return DATATYPE_NULL
        pair = _VALUE_INDEX.get(value._key) if value.is_named else None
        return PREDEFINED[pair] if pair else DATATYPE_NULL

    def _root_key(self) -> Optional[str]:
        """The predefined type every element of this type is (None: a struct of several,
        or a type of unknown history)."""
        if self._key:
            return self._key
        if self._combiner == "STRUCT":
            keys = {t._root_key() for t in self._args["datatypes"] if t._n}
            return keys.pop() if len(keys) == 1 else None
        return self._old._root_key() if self._old is not None else None

    # -- packing (hpxpy/comm/_pack.py) -----------------------------------------------------
    def Pack(self, inbuf: Any, outbuf: Any, position: int, comm: Any) -> int:
        """Pack the whole elements of this type in ``inbuf`` into ``outbuf`` from byte
        ``position``; returns the position after them."""
        return _PACK.pack(self, inbuf, outbuf, position)

    def Unpack(self, inbuf: Any, position: int, outbuf: Any, comm: Any) -> int:
        """Unpack ``inbuf`` from byte ``position`` into as many elements of this type as
        ``outbuf`` holds; returns the position after them."""
        return _PACK.unpack(self, inbuf, position, outbuf)

    def Pack_size(self, count: int, comm: Any) -> int:
        """Bytes ``count`` elements of this type take packed."""
        return _PACK.pack_size(self, count)

    def Pack_external(self, datarep: str, inbuf: Any, outbuf: Any, position: int) -> int:
        """As ``Pack`` in the portable representation ``datarep`` ('external32':
        big-endian, MPI's sizes)."""
        return _PACK.pack(self, inbuf, outbuf, position, datarep)

    def Unpack_external(self, datarep: str, inbuf: Any, position: int, outbuf: Any) -> int:
        """As ``Unpack`` from the portable representation ``datarep``."""
        return _PACK.unpack(self, inbuf, position, outbuf, datarep)

    def Pack_external_size(self, datarep: str, count: int) -> int:
        """Bytes ``count`` elements of this type take in representation ``datarep``."""
        return _PACK.pack_size(self, count, datarep)

    def Dup(self) -> Datatype:
        """A new datatype with this one's type map."""
        self._check()
        dup = Datatype(self)
        dup._ident = _Ident()
        dup._name = ""
        dup._made("DUP", self)
        table = side_table(self, create=False)
        if table:
            copy_all(self, table, side_table(dup))
        return dup

    Create_dup = Dup

    def Commit(self) -> Datatype:
        """Commit the datatype for use in communication."""
        self._check()
        self._committed = True
        return self

    # attributes (Create_keyval ... Delete_attr): _attributes.AttrMethods
    _attr_kind = "Datatype"

    def _attr_table(self) -> Dict[int, Any]:
        self._check()
        return side_table(self)

    def Free(self) -> None:
        """Free a derived datatype (predefined ones cannot be freed)."""
        self._check()
        if self.is_named:
            raise MPIException(C.ERR_TYPE, "cannot free a predefined datatype")
        table = side_table(self, create=False)
        if table:
            delete_all(self, table)  # the callbacks see the type still alive
        self._freed = True

    def free(self) -> None:
        """Drop this reference (a derived type is freed); the module's predefined objects,
        MPI.INT ..., stay."""
        if self is DATATYPE_NULL or (self._key and PREDEFINED.get(self._key) is self):
            return
        self._freed = True


# The Pack/Unpack implementation: _pack.py, a layer above (it parses buffers), sets it.
_PACK: Any = None


_TAG_KEYS: List[str] = []  # predefined type names by the number a byte tag holds


def _tag(key: str) -> int:
    """The number of predefined type ``key`` in byte tags (``_TAG_KEYS``)."""
    if key not in _TAG_KEYS:
        _TAG_KEYS.append(key)
    return _TAG_KEYS.index(key)


def _byte_tags(parts: List[Datatype], sources: List[Datatype]) -> Optional[np.ndarray]:
    """Per byte of a struct mapped byte by byte: (type number << 8) | byte in element
    (None if some part's element type is unknown)."""
    tags = []
    for part, source in zip(parts, sources):
        if part._tags is not None:
            tags.append(part._tags)
            continue
        key = source._root_key()
        if key is None:
            return None
        size = part.numpy_dtype.itemsize
        tags.append(np.tile(np.arange(size, dtype=np.int64) | (_tag(key) << 8), part._n))
    return np.concatenate(tags) if tags else np.empty(0, np.int64)


def _ints(values: Sequence[int]) -> List[int]:
    return [int(v) for v in values]


def _reference(datatype: Optional[Datatype]) -> Datatype:
    """A datatype as Get_contents returns it: a named one itself, a derived one as a new
    reference to the same type (the caller frees it)."""
    if datatype is None:
        return DATATYPE_NULL
    return datatype if datatype.is_named else Datatype(datatype)


def _parameterised(key: str, combiner: str, **args: int) -> Datatype:
    """A Fortran parameterised type: predefined, the layout of ``key``, not named."""
    new = Datatype(PREDEFINED[key])
    new._ident, new._name = _Ident(), ""
    return new._made(combiner, None, **args)


def _real_kind(p: int, r: int, single: str, double: str) -> str:
    """``selected_real_kind(p, r)`` on IEEE hardware: single up to 6 digits / 10**37."""
    if p <= 6 and r <= 37:
        return single
    if p <= 15 and r <= 307:
        return double
    raise MPIException(C.ERR_ARG, f"no Fortran real kind has precision {p} and range {r}")


def _restore_named(key: str, same: bool, cls: type = Datatype) -> Datatype:
    """Unpickle a predefined (or null) datatype: the object itself if that was pickled,
    else a new reference of the pickled object's class."""
    named = PREDEFINED[key] if key else DATATYPE_NULL
    return named if same else cls(named)


def _restore_derived(old: Datatype, combiner: str, args: Dict[str, Any]) -> Datatype:
    """Unpickle a derived datatype by building it again."""
    prefix = "Get_" if combiner == "VALUE_INDEX" else "Create_"
    constructor = getattr(Datatype if old is DATATYPE_NULL else old,
                          prefix + combiner.lower())
    return constructor(**args)


_COMBINERS = {name[len("COMBINER_"):]: value for name, value in vars(C).items()
              if name.startswith("COMBINER_")}


_NO_ELEMENTS: Any = ()  # a null type's offsets (not an array: numpy is imported lazily)


def _pair(value: str, index: str) -> Any:
    """A (value, index) struct, as MPI's pair types for MINLOC/MAXLOC: the spec of a numpy
    dtype made with align=True (C layout: DOUBLE_INT is 16 bytes)."""
    return [("v", value), ("i", index)]


DATATYPE_NULL = Datatype()
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
# MPI's names of predefined types (Get_name) where they are not "MPI_" + the attribute
_MPI_NAMES = {"TWOINT": "MPI_2INT", "INT_INT": "MPI_2INT", "FLOAT16_T": "MPIX_C_FLOAT16",
              "F_BOOL": "MPI_LOGICAL", "F_INT": "MPI_INTEGER", "F_FLOAT": "MPI_REAL",
              "F_DOUBLE": "MPI_DOUBLE_PRECISION", "F_COMPLEX": "MPI_COMPLEX",
              "F_FLOAT_COMPLEX": "MPI_COMPLEX", "F_DOUBLE_COMPLEX": "MPI_DOUBLE_COMPLEX"}

PREDEFINED: Dict[str, Datatype] = {
    name: Datatype._predefined_lazily(spec, _MPI_NAMES.get(name, "MPI_" + name), name)
    for name, spec in _PREDEFINED.items()
}
for _number, _dt in enumerate(PREDEFINED.values()):  # the same handles in every process
    _dt._ident.handle = 0x4C000000 + _number
    _by_handle[_dt._ident.handle] = _dt

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


# Datatype.Match_size: TYPECLASS_* -> size -> predefined Fortran type
_MATCH_SIZE = {
    C.TYPECLASS_INTEGER: {1: "INTEGER1", 2: "INTEGER2", 4: "INTEGER4", 8: "INTEGER8"},
    C.TYPECLASS_REAL: {4: "REAL4", 8: "REAL8", 16: "REAL16"},
    C.TYPECLASS_COMPLEX: {8: "COMPLEX8", 16: "COMPLEX16", 32: "COMPLEX32"},
    C.TYPECLASS_LOGICAL: {4: "LOGICAL"},
}
# Datatype.Get_value_index: value type -> its pair with INT (MPICH has no others)
_VALUE_INDEX = {"SHORT": "SHORT_INT", "INT": "INT_INT", "SIGNED_INT": "INT_INT",
                "LONG": "LONG_INT", "SIGNED_LONG": "LONG_INT", "FLOAT": "FLOAT_INT",
                "DOUBLE": "DOUBLE_INT", "LONG_DOUBLE": "LONG_DOUBLE_INT"}
