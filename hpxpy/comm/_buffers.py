"""Buffer specifications as mpi4py accepts them, turned into flat numpy views.

``buf``, ``[buf, datatype]``, ``[buf, count, datatype]``, ``[buf, (count, displ), datatype]``
and, for the v-variants, ``[buf, counts, datatype]`` / ``[buf, (counts, displs), datatype]``;
``buf`` is anything exposing memory: the buffer protocol (numpy, bytearray, array.array,
memoryview), DLPack, or ``__cuda_array_interface__`` on host memory.
"""

from __future__ import annotations

import ctypes
import operator
import sys
import warnings
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

from . import _constants as C
from . import _datatypes as D
from ._memory import buffer


def _cai_format(kind: str, itemsize: int) -> np.dtype:
    """The numpy dtype of a (typekind, itemsize) pair; raw bytes when there is none."""
    if kind in "biufc":
        try:
            dtype = np.dtype(f"{kind}{itemsize}")
            if dtype.itemsize == itemsize:
                return dtype
        except TypeError:
            pass
    return np.dtype("u1")


def _is_contiguous(shape: Sequence[int], strides: Sequence[int], itemsize: int) -> bool:
    """C or Fortran contiguous (dimensions of extent 1 may have any stride)."""
    for order in (reversed(range(len(shape))), range(len(shape))):
        size, ok = itemsize, True
        for i in order:
            if shape[i] > 1 and strides[i] != size:
                ok = False
                break
            size *= shape[i]
        if ok:
            return True
    return False


def _host_view(address: int, nbytes: int, dtype: np.dtype, readonly: bool,
               keep: Any) -> np.ndarray:
    """A flat numpy view of ``nbytes`` at ``address``, keeping ``keep`` alive with it."""
    if nbytes == 0:
        return np.empty(0, dtype)
    interface = {"version": 3, "shape": (nbytes // dtype.itemsize,), "typestr": dtype.str,
                 "data": (address, readonly)}
    return np.asarray(_Holder(keep, interface))


class _Holder:
    """Owner of foreign memory seen through numpy: keeps the producer (or its DLPack
    capsule, whose destructor frees the memory) alive as long as the view."""

    def __init__(self, keep: Any, interface: dict) -> None:
        self._keep = keep
        self.__array_interface__ = interface


def _from_cai(obj: Any, writable: bool) -> np.ndarray:
    """The memory of a ``__cuda_array_interface__`` producer, validated as mpi4py does."""
    cai = obj.__cuda_array_interface__
    data, typestr, shape = cai["data"], cai["typestr"], cai["shape"]
    strides, descr, mask = cai.get("strides"), cai.get("descr"), cai.get("mask")
    for value, kind, key in ((data, tuple, "data"), (typestr, str, "typestr"),
                             (shape, tuple, "shape")):
        if not isinstance(value, kind):
            raise TypeError(f"__cuda_array_interface__: {key!r} must be a {kind.__name__}")
    if strides is not None and not isinstance(strides, tuple):
        raise TypeError("__cuda_array_interface__: 'strides' must be a tuple")
    if descr is not None and not isinstance(descr, list):
        raise TypeError("__cuda_array_interface__: 'descr' must be a list")
    ptr, readonly = data
    size = 1
    for n in shape:
        size *= n
    if ptr is None and size == 0:
        ptr = 0
    byteorder, kind, itemsize = typestr[0:1], typestr[1:2], int(typestr[2:])
    native = "<" if sys.byteorder == "little" else ">"
    if byteorder not in ("|", native):
        what = "non-native" if byteorder in "<>" else "unrecognized"
        raise BufferError(f"__cuda_array_interface__: typestr {typestr!r} with {what} "
                          f"byte order")
    if mask is not None:
        raise BufferError("__cuda_array_interface__: cannot handle masked arrays")
    if size < 0:
        raise BufferError(f"__cuda_array_interface__: buffer with negative size "
                          f"(shape:{shape}, size:{size})")
    if strides is not None and not _is_contiguous(shape, strides, itemsize):
        raise BufferError(f"__cuda_array_interface__: buffer is not contiguous "
                          f"(shape:{shape}, strides:{strides}, itemsize:{itemsize})")
    if descr is not None and (len(descr) != 1 or descr[0] != ("", typestr)):
        warnings.warn("__cuda_array_interface__: ignoring 'descr' key", RuntimeWarning,
                      stacklevel=4)
    if writable and readonly:
        raise BufferError("Object is not writable.")
    return _host_view(int(ptr), size * itemsize, _cai_format(kind, itemsize), bool(readonly),
                      obj)


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


_DL_CPU = 1


def _dlpack_format(code: int, bits: int, lanes: int) -> np.dtype:
    """The numpy dtype of a DLPack element; raw bytes when there is none."""
    if lanes == 2 and code == 2 and bits in (32, 64, 128):  # complex as two float lanes
        return np.dtype(f"c{bits // 4}")
    if lanes == 1:
        kind = _DL_KINDS.get(code)
        if kind == "b" and bits == 8:
            return np.dtype("?")
        if kind is not None and kind != "b" and bits % 8 == 0:
            try:
                return np.dtype(f"{kind}{bits // 8}")
            except TypeError:
                pass
    return np.dtype("u1")


def _from_dlpack(obj: Any, writable: bool) -> np.ndarray:
    """The memory of a DLPack producer, validated as mpi4py does."""
    try:
        device = obj.__dlpack_device__
    except AttributeError:
        raise NotImplementedError("dlpack: missing support") from None
    device_type, device_id = device()
    device_type, _ = operator.index(device_type), operator.index(device_id)
    try:  # DLPack 1.x producers take max_version
        if device_type == _DL_CPU:
            capsule = obj.__dlpack__(max_version=(1, 0), copy=False)
        else:
            capsule = obj.__dlpack__(stream=-1, max_version=(1, 0), copy=False)
        versioned = True
    except TypeError:
        capsule = obj.__dlpack__() if device_type == _DL_CPU else obj.__dlpack__(stream=-1)
        versioned = False
    name = b"dltensor_versioned" if versioned else b"dltensor"
    if not _capsule_is_valid(capsule, name):
        raise BufferError("dlpack: invalid capsule object")
    ptr = _capsule_get_pointer(capsule, name)
    if versioned:
        managed = _DLManagedTensorVersioned.from_address(ptr)
        if managed.major < 1:
            raise BufferError("dlpack: unexpected version")
        tensor, readonly = managed.dl_tensor, bool(managed.flags & 1)
    else:
        tensor, readonly = _DLManagedTensor.from_address(ptr).dl_tensor, False
    ndim = tensor.ndim
    if ndim < 0:
        raise BufferError("dlpack: number of dimensions is negative")
    if ndim > 0 and not tensor.shape:
        raise BufferError("dlpack: shape is NULL")
    shape = [int(tensor.shape[i]) for i in range(ndim)]
    if any(n < 0 for n in shape):
        raise BufferError("dlpack: shape item is negative")
    if tensor.strides:
        strides = [int(tensor.strides[i]) for i in range(ndim)]
        if any(s < 0 for s in strides):
            raise BufferError("dlpack: strides item is negative")
        if not _is_contiguous(shape, strides, 1):
            raise BufferError("dlpack: buffer is not contiguous")
    if writable and readonly:
        raise BufferError("dlpack: buffer is not writable")
    bits, lanes = tensor.dtype.bits, tensor.dtype.lanes
    size = 1
    for n in shape:
        size *= n
    nbytes = size * ((bits * lanes + 7) // 8)
    dtype = _dlpack_format(tensor.dtype.code, bits, lanes)
    if nbytes % dtype.itemsize:
        dtype = np.dtype("u1")
    address = (tensor.data or 0) + int(tensor.byte_offset)
    return _host_view(address, nbytes, dtype, readonly, capsule)


def _is_integral(obj: Any) -> bool:
    try:
        operator.index(obj)
    except TypeError:
        return False
    return True


def _is_buffer(obj: Any) -> bool:
    try:
        memoryview(obj)
    except TypeError:
        return False
    return True


def to_numpy(obj: Any, writable: bool = False) -> np.ndarray:
    """A numpy view of the memory ``obj`` exposes (no copy), looked up as mpi4py does: the
    buffer protocol, then DLPack, then ``__cuda_array_interface__``."""
    if not isinstance(obj, np.ndarray):
        local = getattr(obj, "__hpxpy_local__", None)  # a distributed array: its partition
        if local is not None:
            obj = local
        elif isinstance(obj, buffer):  # MPI.buffer: no buffer protocol in Python < 3.12
            obj = obj._view
    if isinstance(obj, np.ndarray):
        arr = obj
    elif _is_buffer(obj):
        view = memoryview(obj)
        if view.format in ("", "B", "c") or view.ndim == 0:
            try:
                arr = np.frombuffer(view, dtype=np.dtype(view.format or "B")) \
                    if view.nbytes else np.empty(0, dtype=np.dtype(view.format or "B"))
            except (TypeError, ValueError):
                arr = np.frombuffer(view.cast("B"), dtype=np.uint8)
            if not view.readonly and view.nbytes:
                arr = np.frombuffer(view, dtype=arr.dtype)
        else:
            arr = np.asarray(view)
        if not view.c_contiguous and not view.f_contiguous:
            raise BufferError("buffer is not contiguous")
    elif hasattr(obj, "__dlpack__"):
        return _from_dlpack(obj, writable)
    elif hasattr(obj, "__cuda_array_interface__"):
        return _from_cai(obj, writable)
    else:
        raise TypeError(f"a bytes-like object is required, not '{type(obj).__name__}'")
    if writable and not arr.flags.writeable:
        raise BufferError("Object is not writable.")
    if not (arr.flags.c_contiguous or arr.flags.f_contiguous):
        raise BufferError("buffer is not contiguous")
    return arr


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
    if location is None or location is C.BOTTOM:
        return 0
    arr = to_numpy(location)
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
