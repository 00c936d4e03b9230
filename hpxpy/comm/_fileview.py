"""File views of MPI-IO: which bytes of a file a stream of data goes to.

A view is ``disp`` (bytes) plus a filetype tiled over the file from there: tile ``k``
starts at ``disp + k * extent(filetype)`` and holds the filetype's data blocks at their
offsets (holes between them belong to other views). Positions are counted in etypes of
the data stream the view exposes. Everything here is arithmetic on numpy arrays of the
filetype's flattened ``(offset, length)`` blocks; no file is touched.

Layer 1 of hpxpy.comm: imports ``_constants``, ``_errors`` and ``_datatypes`` only.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

from .._numpy import np
from . import _constants as C
from . import _datatypes as D
from ._errors import Exception as MPIException


def flatten(dt: D.Datatype) -> Tuple[np.ndarray, np.ndarray]:
    """(offsets, lengths) in bytes of the data blocks of one element of ``dt``, in type map
    order, adjacent elements merged."""
    offsets = np.asarray(dt.offsets, dtype=np.int64)
    if not len(offsets):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    itemsize = dt.numpy_dtype.itemsize
    # a new block starts wherever an element does not follow the previous one directly
    starts = np.ones(len(offsets), dtype=bool)
    starts[1:] = offsets[1:] != offsets[:-1] + itemsize
    first = np.flatnonzero(starts)
    lengths = np.diff(np.append(first, len(offsets))) * itemsize
    return offsets[first], lengths.astype(np.int64)


class Pieces:
    """Pieces of the file an access touches, in data order: ``offsets`` and ``lengths``
    (bytes, int64 arrays)."""

    __slots__ = ("offsets", "lengths")

    def __init__(self, offsets: np.ndarray, lengths: np.ndarray) -> None:
        self.offsets, self.lengths = offsets, lengths

    @classmethod
    def of(cls, pairs: Sequence[Tuple[int, int]]) -> Pieces:
        """Pieces from (offset, length) pairs."""
        array = np.array(pairs, dtype=np.int64).reshape(-1, 2)
        return cls(array[:, 0].copy(), array[:, 1].copy())

    def __len__(self) -> int:
        return len(self.offsets)

    def pairs(self) -> List[Tuple[int, int]]:
        """The pieces as (offset, length) pairs."""
        return list(zip(self.offsets.tolist(), self.lengths.tolist()))

    @property
    def low(self) -> int:
        """The first byte any piece touches."""
        return int(self.offsets.min())

    @property
    def high(self) -> int:
        """One past the last byte any piece touches."""
        return int((self.offsets + self.lengths).max())


def merge(offsets: np.ndarray, lengths: np.ndarray) -> Pieces:
    """The pieces with the ones that touch joined."""
    if len(offsets) <= 1:
        return Pieces(offsets, lengths)
    starts = np.ones(len(offsets), dtype=bool)
    starts[1:] = offsets[1:] != offsets[:-1] + lengths[:-1]
    first = np.flatnonzero(starts)
    if len(first) == len(offsets):
        return Pieces(offsets, lengths)
    ends = np.append(first[1:], len(offsets)) - 1
    return Pieces(offsets[first], offsets[ends] + lengths[ends] - offsets[first])


class View:
    """A file view: displacement, etype, filetype and data representation, with the
    mapping from positions of the data stream to file bytes."""

    __slots__ = ("disp", "etype", "filetype", "datarep", "esize", "offsets", "lengths",
                 "starts", "tsize", "textent", "contiguous")

    def __init__(self, disp: int, etype: D.Datatype, filetype: D.Datatype,
                 datarep: str) -> None:
        for what, dt in (("etype", etype), ("filetype", filetype)):
            if not isinstance(dt, D.Datatype) or not dt:
                raise MPIException(C.ERR_TYPE, f"the {what} is MPI.DATATYPE_NULL")
            if not dt._committed:
                raise MPIException(C.ERR_TYPE, f"the {what} is not committed")
        self.disp = int(disp)
        if self.disp < 0:
            raise MPIException(C.ERR_ARG, f"negative displacement {self.disp}")
        self.esize = etype.wire_size
        self.tsize = filetype.wire_size
        lb, self.textent = filetype.Get_extent()
        if self.esize <= 0:
            raise MPIException(C.ERR_TYPE, "the etype has no data")
        if self.tsize % self.esize:
            raise MPIException(C.ERR_ARG, "the filetype is not made of whole etypes "
                               f"(filetype size {self.tsize}, etype size {self.esize})")
        if self.tsize <= 0 or self.textent <= 0:
            raise MPIException(C.ERR_TYPE, "the filetype has no data or no extent")
        self.offsets, self.lengths = flatten(filetype)
        if np.any(self.offsets[1:] < self.offsets[:-1] + self.lengths[:-1]):
            raise MPIException(C.ERR_TYPE, "the filetype's displacements must be monotonically "
                               "non-decreasing and its blocks must not overlap")
        if lb + self.offsets.min() < 0 if len(self.offsets) else False:
            raise MPIException(C.ERR_TYPE, "the filetype addresses bytes before its tile")
        self.starts = np.concatenate(([0], np.cumsum(self.lengths)[:-1])).astype(np.int64)
        self.contiguous = (len(self.offsets) == 1 and int(self.offsets[0]) == 0
                           and self.tsize == self.textent)
        # Get_view hands out the types: copies, so that the caller may free them
        self.etype = etype if etype.is_predefined else etype.Dup()
        self.filetype = filetype if filetype.is_predefined else filetype.Dup()
        self.datarep = datarep

    def pieces(self, position: int, nbytes: int) -> Pieces:
        """The file pieces of the ``nbytes`` data bytes from etype ``position`` on."""
        if nbytes <= 0:
            return Pieces.of([])
        start = position * self.esize
        if self.contiguous:
            return Pieces.of([(self.disp + start, nbytes)])
        stop = start + nbytes
        tiles = np.arange(start // self.tsize, (stop - 1) // self.tsize + 1, dtype=np.int64)
        first = tiles[:, None] * self.tsize + self.starts[None, :]  # data index of each block
        last = first + self.lengths[None, :]
        lo = np.maximum(first, start)
        hi = np.minimum(last, stop)
        keep = (hi > lo).reshape(-1)
        where = (self.disp + tiles[:, None] * self.textent + self.offsets[None, :]
                 + (lo - first)).reshape(-1)[keep]
        return merge(where, (hi - lo).reshape(-1)[keep])

    def byte_offset(self, position: int) -> int:
        """The absolute file offset of etype ``position`` (``Get_byte_offset``)."""
        data = position * self.esize
        tile, rest = divmod(data, self.tsize)
        block = int(np.searchsorted(self.starts, rest, side="right")) - 1
        return (self.disp + tile * self.textent + int(self.offsets[block])
                + rest - int(self.starts[block]))

    def position_of(self, file_size: int) -> int:
        """The etype position just past every data byte the view has before byte
        ``file_size`` of the file (where ``SEEK_END`` counts from)."""
        span = file_size - self.disp
        if span <= 0:
            return 0
        if self.contiguous:
            return -(-span // self.esize)
        low = int(self.offsets.min())
        high = int((self.offsets + self.lengths).max())
        full = max(0, (span - high) // self.textent + 1)  # tiles wholly before the end
        data = full * self.tsize
        tile = full
        while tile * self.textent + low < span:
            begin = tile * self.textent + self.offsets
            data += int(np.clip(span - begin, 0, self.lengths).sum())
            tile += 1
        return -(-data // self.esize)
