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


class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", _DLDevice), ("ndim", ctypes.c_int32),
                ("dtype", _DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


class _DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", _DLTensor), ("manager_ctx", ctypes.c_void_p),
                ("deleter", ctypes.c_void_p)]


class _DLManagedTensorVersioned(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint32), ("minor", ctypes.c_uint32),
                ("manager_ctx", ctypes.c_void_p), ("deleter", ctypes.c_void_p),
                ("flags", ctypes.c_uint64), ("dl_tensor", _DLTensor)]


_capsule_is_valid = ctypes.pythonapi.PyCapsule_IsValid
_capsule_is_valid.restype = ctypes.c_int
_capsule_is_valid.argtypes = [ctypes.py_object, ctypes.c_char_p]
_capsule_get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_get_pointer.restype = ctypes.c_void_p
_capsule_get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]

_DL_KINDS = {0: "i", 1: "u", 2: "f", 5: "c", 6: "b"}
_DL_HOST_DEVICES = (1, 3, 13)  # kDLCPU, kDLCUDAHost, kDLCUDAManaged


class _DLPackHolder:
    """Keeps the (unconsumed) capsule alive as long as the numpy view: the producer's
    capsule destructor releases the memory when the last view goes away."""

    def __init__(self, capsule: Any, interface: dict) -> None:
        self._capsule = capsule
        self.__array_interface__ = interface


def _from_dlpack(obj: Any) -> Optional[np.ndarray]:
    """A numpy view of a host-memory DLPack producer, or None if it is not one."""
    try:
        device = obj.__dlpack_device__()
    except AttributeError:
        device = None
    if device is not None and int(device[0]) not in _DL_HOST_DEVICES:
        raise BufferError("DLPack: expecting a host (CPU) buffer")
    capsule = obj.__dlpack__()
    if _capsule_is_valid(capsule, b"dltensor_versioned"):
        ptr = _capsule_get_pointer(capsule, b"dltensor_versioned")
        managed = _DLManagedTensorVersioned.from_address(ptr)
        tensor = managed.dl_tensor
        readonly = bool(managed.flags & 1)
    elif _capsule_is_valid(capsule, b"dltensor"):
        ptr = _capsule_get_pointer(capsule, b"dltensor")
        tensor = _DLManagedTensor.from_address(ptr).dl_tensor
        readonly = False
    else:
        return None
    kind = _DL_KINDS.get(tensor.dtype.code)
    lanes = tensor.dtype.lanes
    if kind == "f" and lanes == 2:  # complex as two float lanes
        kind, lanes = "c", 1
        itemsize = 2 * tensor.dtype.bits // 8
    else:
        itemsize = tensor.dtype.bits // 8
    if kind is None or lanes != 1 or tensor.dtype.bits % 8:
        raise BufferError("DLPack: unsupported data type")
    ndim = tensor.ndim
    shape = tuple(int(tensor.shape[i]) for i in range(ndim))
    strides = None
    if tensor.strides and ndim:
        elems = [int(tensor.strides[i]) for i in range(ndim)]
        expect, acc = [], 1
        for n in reversed(shape):
            expect.append(acc)
            acc *= n
        expect.reverse()
        fexpect, acc = [], 1
        for n in shape:
            fexpect.append(acc)
            acc *= n
        nonunit = [i for i in range(ndim) if shape[i] > 1]
        if not (all(elems[i] == expect[i] for i in nonunit)
                or all(elems[i] == fexpect[i] for i in nonunit)):
            raise BufferError("buffer is not contiguous")
        strides = tuple(e * itemsize for e in elems)
    addr = (tensor.data or 0) + int(tensor.byte_offset)
    size = 1
    for n in shape:
        size *= n
    typestr = "|b1" if kind == "b" else np.dtype(f"{kind}{itemsize}").str
    if size == 0 or not addr:
        return np.empty(shape, np.dtype(typestr))
    interface = {"version": 3, "shape": shape, "typestr": typestr, "strides": strides,
                 "data": (addr, readonly)}
    return np.asarray(_DLPackHolder(capsule, interface))


def to_numpy(obj: Any) -> np.ndarray:
    """A numpy view of any object exposing host memory (no copy)."""
    if isinstance(obj, np.ndarray):
        return obj
    if hasattr(obj, "__dlpack__") and not isinstance(obj, (bytes, bytearray, memoryview)):
        arr = _from_dlpack(obj)
        if arr is not None:
            return arr
    if hasattr(obj, "__cuda_array_interface__"):
        return _from_cai(obj)
    if hasattr(obj, "__array_interface__"):
        return np.asarray(obj)
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
            if isinstance(c, tuple) and len(c) == 2:
                counts, displs = c  # (counts, displs); either may be one int
            elif c is not None:
                counts = c
            if len(rest) > 1 and rest[1] is not None:
                displs = rest[1]
        # One int count: the same for every rank; one int displacement: a stride.
        if isinstance(counts, (int, np.integer)):
            counts = [int(counts)] * size
        if isinstance(displs, (int, np.integer)):
            displs = [int(displs) * i for i in range(size)]
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
