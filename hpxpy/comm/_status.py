"""MPI.Status: the envelope of a received message (source, tag, error, size).

Layer 1 of hpxpy.comm: imports ``_constants`` and ``_datatypes`` only.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence

from .._numpy import np
from . import _constants as C
from . import _datatypes as D

# The fields of an empty status: source ANY_SOURCE, tag ANY_TAG, error SUCCESS.
_EMPTY_FIELDS = (0, 0, C.ANY_SOURCE, C.ANY_TAG, C.SUCCESS)
_template: Optional[np.ndarray] = None  # their array, made on first use (numpy loads lazily)


def _field(index: int, doc: str) -> property:
    """An int field of MPI_Status's memory, readable and writable."""

    def get(self: Status) -> int:
        return int(self._mem[index])

    def put(self: Status, value: int) -> None:
        self._mem[index] = value

    return property(get, put, doc=doc)


class Status:
    """The envelope of a received message: source, tag, error and size.

    The fields live in five C ints laid out as MPICH's ``MPI_Status`` (count low word,
    count high bits + cancelled flag, source, tag, error); ``tomemory()`` exposes them."""

    __slots__ = ("_mem", "__weakref__")

    def __new__(cls, *args: Any, **kwargs: Any) -> Status:
        # Takes the constructor's arguments, so that a subclass may call
        # super().__new__(cls, status) as with mpi4py's classes; __init__ does the work.
        return super().__new__(cls)

    def __init__(self, status: Optional[Status] = None) -> None:
        if status is not None and not isinstance(status, Status):
            raise TypeError(f"Argument 'status' has incorrect type (expected "
                            f"{__name__.rsplit('.', 1)[0]}.MPI.Status, got "
                            f"{type(status).__name__})")
        # A copy of a template: a third of the cost of filling fresh zeros field by field.
        global _template
        if status is not None:
            self._mem: np.ndarray = status._mem.copy()
        else:
            if _template is None:
                _template = np.array(_EMPTY_FIELDS, dtype=np.intc)
            self._mem = _template.copy()

    # -- raw fields -------------------------------------------------------------------------
    source = _field(2, "The message's source rank.")
    tag = _field(3, "The message's tag.")
    error = _field(4, "The error class of the operation.")

    @property
    def _count(self) -> int:  # bytes
        lo = int(self._mem[0]) & 0xFFFFFFFF
        hi = (int(self._mem[1]) & 0xFFFFFFFF) >> 1
        return (hi << 32) | lo

    @_count.setter
    def _count(self, nbytes: int) -> None:
        nbytes = int(nbytes)
        lo = nbytes & 0xFFFFFFFF
        flag = int(self._mem[1]) & 1
        hi = ((nbytes >> 32) << 1) | flag
        self._mem[0] = lo - (1 << 32) if lo >= 1 << 31 else lo
        self._mem[1] = hi - (1 << 32) if hi >= 1 << 31 else hi

    @property
    def _cancelled(self) -> bool:
        return bool(int(self._mem[1]) & 1)

    @_cancelled.setter
    def _cancelled(self, flag: bool) -> None:
        self._mem[1] = (int(self._mem[1]) & ~1) | (1 if flag else 0)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Status):
            return NotImplemented
        return bool((self._mem == other._mem).all())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<MPI.Status source={self.source} tag={self.tag} count={self._count}>"

    def __reduce__(self) -> Any:
        return (_rebuild_status, (self.source, self.tag, self.error, self._count,
                                  self._cancelled, type(self)))

    def tomemory(self) -> memoryview:
        """The status fields as a writable memory of C ints (shared with the status)."""
        return self._mem.data

    def py2f(self) -> List[int]:
        """The status as a list of (Fortran) integers."""
        return [int(v) for v in self._mem]

    @classmethod
    def f2py(cls, arg: Sequence[int]) -> Status:
        """A status from a list of (Fortran) integers, as ``py2f`` gives."""
        st = cls()
        st._mem[:] = list(arg)
        return st

    def Get_source(self) -> int:
        """Return the source of the message."""
        return self.source

    def Set_source(self, source: int) -> None:
        """Set the source of the message."""
        self.source = source

    def Get_tag(self) -> int:
        """Return the tag of the message."""
        return self.tag

    def Set_tag(self, tag: int) -> None:
        """Set the tag of the message."""
        self.tag = tag

    def Get_error(self) -> int:
        """Return the error code."""
        return self.error

    def Set_error(self, error: int) -> None:
        """Set the error code."""
        self.error = error

    def Get_count(self, datatype: D.Datatype = D.PREDEFINED["BYTE"]) -> int:
        """Elements of ``datatype`` received (``UNDEFINED`` if not a whole number)."""
        size = datatype.wire_size
        if size == 0:
            return 0 if self._count == 0 else C.UNDEFINED
        return self._count // size if self._count % size == 0 else C.UNDEFINED

    def Get_elements(self, datatype: D.Datatype) -> int:
        """Return the number of basic elements of ``datatype`` received."""
        base = datatype.numpy_dtype.itemsize
        return self._count // base if base and self._count % base == 0 else C.UNDEFINED

    def Set_elements(self, datatype: D.Datatype, count: int) -> None:
        """Set the number of basic elements of ``datatype`` received."""
        self._count = count * datatype.numpy_dtype.itemsize

    def Is_cancelled(self) -> bool:
        """Tell whether the request was cancelled."""
        return self._cancelled

    def Set_cancelled(self, flag: bool) -> None:
        """Set whether the request was cancelled."""
        self._cancelled = bool(flag)

    @property
    def count(self) -> int:
        return self.Get_count()

    @count.setter
    def count(self, value: int) -> None:
        self._count = value

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    @cancelled.setter
    def cancelled(self, value: bool) -> None:
        self._cancelled = bool(value)

    def _fill(self, source: int, tag: int, nbytes: int) -> None:
        self._mem[:] = 0
        self.source, self.tag, self.error, self._count = source, tag, C.SUCCESS, nbytes


def _rebuild_status(source: int, tag: int, error: int, count: int,
                    cancelled: bool, cls: type = Status) -> Status:
    st = cls()  # a subclass's pickle gives back the subclass, as mpi4py
    st.source, st.tag, st.error, st._count, st._cancelled = source, tag, error, count, cancelled
    return st


def fill_status(status: Optional[Status], source: int, tag: int, nbytes: int) -> None:
    if status is not None:
        status._fill(source, tag, nbytes)


def _empty(status: Optional[Status]) -> None:
    fill_status(status, C.ANY_SOURCE, C.ANY_TAG, 0)
