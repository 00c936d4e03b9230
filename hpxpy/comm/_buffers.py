"""Buffer specifications as mpi4py accepts them, turned into flat numpy views.

``buf``, ``[buf, datatype]``, ``[buf, count, datatype]``, ``[buf, (count, displ), datatype]``
and, for the v-variants, ``[buf, counts, datatype]`` / ``[buf, (counts, displs), datatype]``;
``buf`` is anything exposing memory: the buffer protocol (numpy, bytearray, array.array,
memoryview), DLPack, or ``__cuda_array_interface__`` on host memory.
"""

from __future__ import annotations

import ctypes
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from . import _constants as C
from . import _datatypes as D
from ._errors import Exception as MPIException


def _from_cai(obj: Any) -> np.ndarray:
    cai = obj.__cuda_array_interface__
    ptr, readonly = cai["data"]
    dtype = np.dtype(cai["typestr"])
    shape = tuple(cai["shape"])
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if cai.get("strides") not in (None, ()) and len(shape) > 1:
        expected = tuple(int(np.prod(shape[i + 1:], dtype=np.int64)) * dtype.itemsize
                         for i in range(len(shape)))
        if tuple(cai["strides"]) != expected:
            raise BufferError("buffer is not contiguous")
    if nbytes == 0:
        return np.empty(shape, dtype)
    raw = (ctypes.c_char * nbytes).from_address(ptr)
    arr = np.frombuffer(raw, dtype=dtype).reshape(shape)
    if readonly:
        arr.flags.writeable = False
    return arr


def to_numpy(obj: Any) -> np.ndarray:
    """A numpy view of any object exposing host memory (no copy)."""
    if isinstance(obj, np.ndarray):
        return obj
    if hasattr(obj, "__dlpack__") and not isinstance(obj, (bytes, bytearray, memoryview)):
        try:
            return np.from_dlpack(obj)
        except (BufferError, TypeError, RuntimeError):
            pass
    if hasattr(obj, "__cuda_array_interface__"):
        return _from_cai(obj)
    try:
        view = memoryview(obj)
    except TypeError:
        raise TypeError(
            f"message: expecting buffer or list/tuple, got {type(obj).__name__}") from None
    if not view.c_contiguous:
        raise BufferError("buffer is not contiguous")
    if view.format in ("", "B", "c") or view.ndim == 0:
        fmt = view.format or "B"
        try:
            return np.frombuffer(view, dtype=np.dtype(fmt)) if view.nbytes else np.empty(
                0, dtype=np.dtype(fmt))
        except (TypeError, ValueError):
            return np.frombuffer(view.cast("B"), dtype=np.uint8)
    return np.asarray(view)


def _infer(arr: np.ndarray) -> D.Datatype:
    dt = D.from_numpy(arr.dtype)
    if dt is None:
        raise MPIException(C.ERR_TYPE, f"no MPI datatype for numpy dtype {arr.dtype}")
    return dt


def _as_datatype(datatype: Any) -> D.Datatype:
    if isinstance(datatype, D.Datatype):
        if not datatype:
            raise MPIException(C.ERR_TYPE, "datatype is MPI.DATATYPE_NULL")
        return datatype
    if isinstance(datatype, str):
        return D.from_typechar(datatype)
    raise TypeError(f"expecting an MPI.Datatype or a type character, got {datatype!r}")


def _typed(arr: np.ndarray, dt: D.Datatype, writable: bool) -> np.ndarray:
    """The buffer's memory as a flat array of ``dt``'s base elements."""
    if writable and not arr.flags.writeable:
        raise BufferError("buffer is not writable")
    if not (arr.flags.c_contiguous or arr.flags.f_contiguous):
        raise BufferError("buffer is not contiguous")
    base = dt.numpy_dtype
    flat = arr.reshape(-1, order="A") if arr.ndim != 1 else arr
    if flat.dtype == base:
        return flat
    raw = flat.view(np.uint8) if flat.dtype.itemsize else flat
    usable = raw.size - raw.size % base.itemsize
    return raw[:usable].view(base)


def message_array(spec: Any, writable: bool = False) -> Tuple[np.ndarray, D.Datatype]:
    """(flat array of exactly the message's base elements, datatype) for a buffer spec."""
    if isinstance(spec, (list, tuple)):
        if len(spec) == 0 or len(spec) > 4:
            raise ValueError(f"message: expecting 2 to 4 items, got {len(spec)}")
        buf = spec[0]
        count: Optional[int] = None
        displ = 0
        datatype = None
        rest = list(spec[1:])
        if rest and (isinstance(rest[-1], (D.Datatype, str))):
            datatype = rest.pop()
        if rest:
            c = rest[0]
            if isinstance(c, (tuple, list)):
                count, displ = (c[0], c[1] if len(c) > 1 and c[1] is not None else 0)
            elif c is not None:
                count = int(c)
        if len(rest) > 1 and rest[1] is not None:
            displ = int(rest[1])
    else:
        buf, count, displ, datatype = spec, None, 0, None
    if buf is None or buf is C.BOTTOM:
        arr = np.empty(0, np.uint8)
    else:
        arr = to_numpy(buf)
    dt = _as_datatype(datatype) if datatype is not None else _infer(arr)
    flat = _typed(arr, dt, writable)
    per = dt.base_count
    if count is None:
        count = flat.size // per if per else 0
    if count < 0:
        raise ValueError(f"message: negative count {count}")
    start = displ * per
    stop = start + count * per
    if stop > flat.size:
        raise ValueError(
            f"message: buffer too small: {count} elements from displacement {displ} need "
            f"{stop * dt.numpy_dtype.itemsize} bytes, the buffer has "
            f"{flat.size * dt.numpy_dtype.itemsize}")
    return flat[start:stop], dt


def vector_array(spec: Any, size: int, writable: bool = False
                 ) -> Tuple[np.ndarray, List[int], List[int], D.Datatype]:
    """(flat base-element array of the whole buffer, counts, displs, datatype) for a
    v-variant spec; counts/displs are in elements of the datatype."""
    counts: Optional[Sequence[int]] = None
    displs: Optional[Sequence[int]] = None
    datatype = None
    if isinstance(spec, (list, tuple)):
        buf = spec[0]
        rest = list(spec[1:])
        if rest and isinstance(rest[-1], (D.Datatype, str)):
            datatype = rest.pop()
        if rest:
            c = rest[0]
            if isinstance(c, tuple) and len(c) == 2 and (
                    c[1] is None or isinstance(c[1], (list, tuple, np.ndarray))):
                counts, displs = c
            elif isinstance(c, (int, np.integer)):
                counts = [int(c)] * size
            elif c is not None:
                counts = c
            if len(rest) > 1 and rest[1] is not None:
                displs = rest[1]
    else:
        buf = spec
    arr = to_numpy(buf) if buf is not None else np.empty(0, np.uint8)
    dt = _as_datatype(datatype) if datatype is not None else _infer(arr)
    flat = _typed(arr, dt, writable)
    per = dt.base_count
    total = flat.size // per if per else 0
    if counts is None:
        if size and total % size:
            raise ValueError(f"message: buffer of {total} elements cannot be split in "
                             f"{size} equal parts")
        counts = [total // size] * size if size else []
    counts = [int(c) for c in counts]
    if displs is None:
        displs, acc = [], 0
        for c in counts:
            displs.append(acc)
            acc += c
    displs = [int(d) for d in displs]
    if len(counts) != size or len(displs) != size:
        raise ValueError(f"message: expecting {size} counts and displacements, got "
                         f"{len(counts)} and {len(displs)}")
    for c, d in zip(counts, displs):
        if c < 0 or (d + c) * per > flat.size:
            raise ValueError(f"message: {c} elements at displacement {d} do not fit in a "
                             f"buffer of {total}")
    return flat, counts, displs, dt
