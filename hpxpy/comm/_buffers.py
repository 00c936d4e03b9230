"""Buffer specifications as mpi4py accepts them, turned into flat numpy views.

``buf``, ``[buf, datatype]``, ``[buf, count, datatype]``, ``[buf, (count, displ), datatype]``
and, for the v-variants, ``[buf, counts, datatype]`` / ``[buf, (counts, displs), datatype]``;
``buf`` is anything exposing memory: the buffer protocol (numpy, bytearray, array.array,
memoryview), DLPack, or ``__cuda_array_interface__`` on host memory.

Layer 3 of hpxpy.comm: imports ``_interop`` (objects to numpy), ``_memory`` (MPI.buffer),
``_datatypes`` and ``_constants``.
"""

from __future__ import annotations

import ctypes
import operator
from typing import Any, Callable, List, Optional, Tuple

from .._numpy import np
from . import _constants as C
from . import _datatypes as D
from ._interop import _is_buffer, _is_integral, to_numpy
from ._memory import buffer


def _as_datatype(datatype: Any) -> D.Datatype:
    """A Datatype, or the predefined one a type code names (KeyError if none does)."""
    if isinstance(datatype, D.Datatype):
        return datatype
    try:
        return D.Datatype.fromcode(datatype)
    except (ValueError, TypeError):
        raise KeyError(f"cannot map {datatype!r} to MPI datatype") from None


def _infer(arr: np.ndarray) -> D.Datatype:
    if not arr.dtype.isnative:
        raise BufferError(f"format string {arr.dtype.str!r} with non-native byte order")
    dt = D.from_numpy(arr.dtype)
    if dt is None:
        raise KeyError(f"cannot map {arr.dtype.str!r} to MPI datatype")
    return dt


def _raw(arr: np.ndarray) -> np.ndarray:
    """The array's memory as flat bytes (memory order)."""
    flat = arr.reshape(-1, order="A") if arr.ndim != 1 else arr
    return flat.view(np.uint8) if flat.dtype.itemsize else flat


def _is_datatype(obj: Any) -> bool:
    return isinstance(obj, (D.Datatype, str))


def _split_simple(msg: Any) -> Tuple[Any, Any, Any, Any]:
    """(buffer, count, displacement, datatype) of a simple message spec."""
    if isinstance(msg, (np.ndarray, buffer)) or _is_buffer(msg):
        return msg, None, None, None
    if isinstance(msg, (list, tuple)):
        n = len(msg)
        count = displ = dtype = None
        if n == 2:
            buf, count = msg
            if _is_datatype(count):
                count, dtype = None, count
            elif isinstance(count, (tuple, list)):
                count, displ = count
        elif n == 3:
            buf, count, dtype = msg
            if isinstance(count, (tuple, list)):
                count, displ = count
        elif n == 4:
            buf, count, displ, dtype = msg
        else:
            raise ValueError("message: expecting 2 to 4 items")
        return buf, count, displ, dtype
    if hasattr(msg, "__dlpack__") or hasattr(msg, "__cuda_array_interface__"):
        return msg, None, None, None
    raise TypeError("message: expecting buffer or list/tuple")


def _region(buf: Any, dtype: Any, writable: bool) -> Tuple[Optional[np.ndarray], D.Datatype]:
    """(the buffer's memory, or None for BOTTOM/None, datatype)."""
    if buf is None or buf is C.BOTTOM:
        return None, _as_datatype(dtype)
    arr = to_numpy(buf, writable)
    return arr, (_as_datatype(dtype) if dtype is not None else _infer(arr))


def _extent(dt: D.Datatype, why: str) -> int:
    if not dt:
        raise ValueError(f"message: cannot {why}, datatype is null")
    lb, extent = dt.Get_extent()
    if extent <= 0:
        raise ValueError(f"message: cannot {why}, datatype extent {extent} "
                         f"(lb:{lb}, ub:{lb + extent})")
    return extent


class Region:
    """The data of a message: ``count`` elements of ``dt`` from byte ``offset`` of the
    buffer memory ``mem`` (None: absolute addresses, MPI.BOTTOM)."""

    __slots__ = ("mem", "dt", "offset", "count", "_index")

    def __init__(self, mem: Optional[np.ndarray], dt: D.Datatype, offset: int,
                 count: int) -> None:
        self.mem, self.dt, self.offset, self.count = mem, dt, offset, count
        self._index: Optional[np.ndarray] = None

    def _byte_index(self) -> Tuple[np.ndarray, np.ndarray]:
        """(memory as bytes, index of every data byte in message order)."""
        dt = self.dt
        itemsize = dt.numpy_dtype.itemsize
        starts = self.offset + np.arange(self.count, dtype=np.int64) * dt.extent
        index = ((starts[:, None] + dt.offsets[None, :]).reshape(-1)[:, None]
                 + np.arange(itemsize, dtype=np.int64)).reshape(-1)
        if self.mem is None:  # absolute addresses
            if not index.size:
                return np.empty(0, np.uint8), index
            low = int(index.min())
            raw = np.ctypeslib.as_array((ctypes.c_uint8 * (int(index.max()) + 1 - low))
                                        .from_address(low))
            return raw, index - low
        raw = _raw(self.mem)
        if index.size and (index.min() < 0 or index.max() >= raw.size):
            raise ValueError(f"message: {self.count} elements of the datatype from byte "
                             f"{self.offset} do not fit in a buffer of {raw.size} bytes")
        return raw, index

    def data(self) -> np.ndarray:
        """The message as a flat array of base elements: a view when the layout allows,
        else a packed copy."""
        dt = self.dt
        base = dt.numpy_dtype
        n = self.count * dt.base_count
        if self.count == 0 or n == 0:
            return np.empty(0, base)
        if dt.is_dense and self.mem is not None:
            mem = self.mem
            flat = mem.reshape(-1, order="A") if mem.ndim != 1 else mem
            if flat.dtype == base and self.offset % base.itemsize == 0:
                start = self.offset // base.itemsize
                if start + n > flat.size:
                    raise ValueError(
                        f"message: buffer too small: {self.count} elements from byte "
                        f"{self.offset} need {(start + n) * base.itemsize} bytes, the buffer "
                        f"has {flat.size * base.itemsize}")
                return flat[start:start + n]
            raw = _raw(mem)
            stop = self.offset + n * base.itemsize
            if stop > raw.size:
                raise ValueError(f"message: buffer too small: {self.count} elements from byte "
                                 f"{self.offset} need {stop} bytes, the buffer has "
                                 f"{raw.size}")
            return raw[self.offset:stop].view(base)
        raw, index = self._byte_index()
        return raw[index].view(base)

    def store(self, values: np.ndarray) -> None:
        """Write the (packed) message back where its elements live, if ``data()`` was a
        copy."""
        if self.count == 0 or (self.dt.is_dense and self.mem is not None):
            return
        raw, index = self._byte_index()
        raw[index] = values.view(np.uint8).reshape(-1)


_PLAIN: dict = {}  # numpy dtype -> its predefined Datatype (None: there is none)


def _plain(spec: Any, writable: bool) -> Optional[D.Datatype]:
    """The datatype of a spec that is just a C-contiguous numpy array of a predefined type
    (the common case, parsed without the general machinery); None otherwise."""
    if type(spec) is not np.ndarray or not spec.flags.c_contiguous or (
            writable and not spec.flags.writeable):
        return None
    dtype = spec.dtype
    try:
        return _PLAIN[dtype]
    except KeyError:
        dt = D.from_numpy(dtype) if dtype.isnative else None
        if dt is not None and dt.numpy_dtype.itemsize != dtype.itemsize:
            dt = None  # e.g. 'S5': five CHARs per element, the general path counts them
        _PLAIN[dtype] = dt
        return dt


def _nothing() -> None:
    """A commit with nothing to write back."""


def message_region(spec: Any, writable: bool = False, blocks: int = 1) -> Region:
    """Parse a buffer spec as mpi4py does (same rules, same errors). ``blocks``: the
    number of equal parts an inferred count must split into (e.g. the size for Alltoall)."""
    dt = _plain(spec, writable) if blocks == 1 else None
    if dt is not None:
        return Region(spec, dt, 0, spec.size)
    buf, o_count, o_displ, dtype = _split_simple(spec)
    mem, dt = _region(buf, dtype, writable)
    length = _raw(mem).size if mem is not None else 0
    displ = offset = extent = 0
    if o_displ is not None:
        displ = operator.index(o_displ)
        if displ < 0:
            raise ValueError(f"message: negative displacement {displ}")
        if displ > 0:
            extent = _extent(dt, "handle displacement")
            if displ * extent > length:
                raise ValueError(f"message: displacement {displ} out of bounds, number of "
                                 f"datatype entries {length // extent}")
            offset = displ * extent
            length -= offset
    if o_count is not None:
        count = operator.index(o_count)
        if count < 0:
            raise ValueError(f"message: negative count {count}")
        if count > 0 and buf is None:
            raise ValueError(f"message: buffer is None but count is {count}")
    elif length > 0:
        extent = extent or _extent(dt, "infer count")
        if length % extent:
            lb = dt.Get_extent()[0]
            raise ValueError(f"message: cannot infer count, buffer length {length} is not a "
                             f"multiple of datatype extent {extent} (lb:{lb}, ub:{lb + extent})")
        count = length // extent
        if blocks > 1:
            if count % blocks:
                raise ValueError(f"message: cannot infer count, number of entries {count} is "
                                 f"not a multiple of required number of blocks {blocks}")
            count //= blocks
    else:
        count = 0
    return Region(mem, dt, offset, count)


def message_array(spec: Any, writable: bool = False, blocks: int = 1
                  ) -> Tuple[np.ndarray, D.Datatype]:
    """(flat array of exactly the message's base elements, datatype) for a buffer spec.
    The array is a view of the buffer unless the datatype has gaps (then a packed copy:
    receivers use :func:`receive_array`)."""
    dt = _plain(spec, writable) if blocks == 1 else None
    if dt is not None:
        return (spec if spec.ndim == 1 else spec.reshape(-1)), dt
    region = message_region(spec, writable, blocks)
    return region.data(), region.dt


def receive_array(spec: Any, blocks: int = 1
                  ) -> Tuple[np.ndarray, D.Datatype, Callable[[], None]]:
    """As :func:`message_array` for a buffer to receive into, plus ``commit()`` that writes
    the array back into the buffer when it is a packed copy."""
    dt = _plain(spec, True) if blocks == 1 else None
    if dt is not None:
        return (spec if spec.ndim == 1 else spec.reshape(-1)), dt, _nothing
    region = message_region(spec, True, blocks)
    data = region.data()
    if region.dt.is_dense and region.mem is not None:
        return data, region.dt, _nothing
    return data, region.dt, lambda: region.store(data)


def get_address(location: Any) -> int:
    """MPI.Get_address: the address of a buffer's memory."""
    if location is None:
        return 0
    if isinstance(location, C._Sentinel):  # BOTTOM 0, IN_PLACE -1 ... as mpi4py on MPICH
        return int(location)
    arr = to_numpy(location, host=False)  # the address only: device memory has one too
    return int(arr.__array_interface__["data"][0]) if arr.size else 0


def _counts_array(value: Any, size: int, what: str) -> List[int]:
    values = [operator.index(v) for v in value]
    if len(values) != size:
        raise ValueError(f"expecting {size} items, got {len(values)}")
    return values


def vector_array(spec: Any, size: int, writable: bool = False, equal: bool = False
                 ) -> Tuple[np.ndarray, List[int], List[int], D.Datatype]:
    """(flat base-element array of the whole buffer, counts, displs, datatype) for a
    v-variant spec, parsed as mpi4py does; counts/displs are in elements of the datatype.
    ``equal``: the spec is a plain message of ``size`` equal blocks (Gather, Scatter,
    Allgather, Alltoall), parsed as one."""
    flat, counts, displs, dt, _ = _vector(spec, size, writable, equal)
    return flat, counts, displs, dt


def receive_vector(spec: Any, size: int, equal: bool = False
                   ) -> Tuple[np.ndarray, List[int], List[int], D.Datatype, Callable[[], None]]:
    """As :func:`vector_array` for a buffer to receive into, plus ``commit()``."""
    return _vector(spec, size, True, equal)


def _equal_blocks(spec: Any, size: int, writable: bool):
    """A plain message as ``size`` consecutive blocks of its (per-block) count."""
    block = message_region(spec, writable, blocks=size)
    whole = Region(block.mem, block.dt, block.offset, block.count * size)
    flat = whole.data()
    counts = [block.count] * size
    displs = [i * block.count for i in range(size)]
    return flat, counts, displs, block.dt, (lambda: whole.store(flat))


def _vector(spec: Any, size: int, writable: bool, equal: bool = False):
    if equal:
        return _equal_blocks(spec, size, writable)
    o_counts = o_displs = dtype = None
    if isinstance(spec, buffer):
        spec = spec._view
    if isinstance(spec, (list, tuple)):
        n = len(spec)
        if n == 2:
            buf, o_counts = spec
            if _is_datatype(o_counts):
                o_counts, dtype = None, o_counts
            elif isinstance(o_counts, tuple):
                o_counts, o_displs = o_counts
        elif n == 3:
            buf, o_counts, dtype = spec
            if isinstance(o_counts, tuple):
                o_counts, o_displs = o_counts
        elif n == 4:
            buf, o_counts, o_displs, dtype = spec
        else:
            raise ValueError("message: expecting 2 to 4 items")
    elif isinstance(spec, np.ndarray) or _is_buffer(spec) or hasattr(spec, "__dlpack__") \
            or hasattr(spec, "__cuda_array_interface__"):
        buf = spec
    else:
        raise TypeError("message: expecting buffer or list/tuple")
    mem, dt = _region(buf, dtype, writable)
    nbytes = _raw(mem).size if mem is not None else 0
    total = 0
    if o_counts is None:
        if nbytes > 0:
            extent = _extent(dt, "infer count")
            if nbytes % extent:
                lb = dt.Get_extent()[0]
                raise ValueError(f"message: cannot infer count, buffer length {nbytes} is not "
                                 f"a multiple of datatype extent {extent} "
                                 f"(lb:{lb}, ub:{lb + extent})")
            total = nbytes // extent
        counts = [total // size + (total % size > i) for i in range(size)]
    elif _is_integral(o_counts):
        counts = [operator.index(o_counts)] * size
    else:
        counts = _counts_array(o_counts, size, "counts")
    if o_displs is None:
        displs, acc = [], 0
        for c in counts:
            displs.append(acc)
            acc += c
    elif _is_integral(o_displs):
        displs = [operator.index(o_displs) * i for i in range(size)]
    else:
        displs = _counts_array(o_displs, size, "displacements")
    for c, d in zip(counts, displs):
        if c < 0 or d < 0:
            raise ValueError(f"message: negative count {c} or displacement {d}")
    if not dt:
        return np.empty(0, np.uint8), counts, displs, dt, _nothing
    if dt.is_dense and mem is not None:
        # No gaps: the whole buffer is one flat view, blocks at their displacements (no copy).
        flat = Region(mem, dt, 0, nbytes // dt.extent).data()
        per = dt.base_count
        for c, d in zip(counts, displs):
            if (d + c) * per > flat.size:
                raise ValueError(f"message: {c} elements at displacement {d} do not fit in a "
                                 f"buffer of {flat.size // per}")
        return flat, counts, displs, dt, _nothing
    # MPI's type map: block i is counts[i] elements stepping by the extent from byte
    # displs[i] * extent; only the bytes it touches must lie in the buffer. The blocks are
    # packed one after another, so the flat array's displacements are running totals.
    regions = [Region(mem, dt, d * dt.extent, c) for c, d in zip(counts, displs)]
    parts = [region.data() for region in regions]
    flat = np.concatenate(parts) if parts else np.empty(0, dt.numpy_dtype)
    packed = [0]
    for c in counts[:-1]:
        packed.append(packed[-1] + c)

    def commit() -> None:
        per = dt.base_count
        for region, start, c in zip(regions, packed, counts):
            region.store(flat[start * per:(start + c) * per])

    return flat, counts, packed, dt, commit


def vector_w_regions(spec: Any, size: int, writable: bool) -> List[Region]:
    """One Region per rank for an Alltoallw spec: ``[buf, (counts, displs), types]``,
    ``[buf, counts, displs, types]`` or ``[buf, types]``; displacements in bytes."""
    counts = displs = None
    n = len(spec)
    if n == 2:
        buf, types = spec
    elif n == 3:
        buf, (counts, displs), types = spec
    elif n == 4:
        buf, counts, displs, types = spec
    else:
        raise ValueError("message: expecting 2 to 4 items")
    mem = None
    if buf is None or buf is C.BOTTOM:
        if counts is None:
            raise ValueError("message: BOTTOM requires counts")
        if displs is None:
            raise ValueError("message: BOTTOM requires displs")
    else:
        mem = to_numpy(buf, writable)
    if counts is None and displs is None:
        counts, displs = [1] * size, [0] * size
    else:
        counts = _counts_array(counts, size, "counts")
        displs = _counts_array(displs, size, "displacements")
    if isinstance(types, D.Datatype):
        types = [types] * size
    types = [_as_datatype(t) for t in types]
    if len(types) != size:
        raise ValueError(f"expecting {size} items, got {len(types)}")
    return [Region(mem, t, d, c) for t, d, c in zip(types, displs, counts)]


def rma_check(origin: Any, target: Any, writable: bool) -> None:
    """Check a one-sided operation's origin message and target spec as mpi4py does."""
    message_region(origin, writable)
    if target is None or _is_integral(target):
        return
    if isinstance(target, (list, tuple)):
        if len(target) > 3:
            raise ValueError("target: expecting 3 items at most")
        return
    raise ValueError("target: expecting integral or list/tuple")
