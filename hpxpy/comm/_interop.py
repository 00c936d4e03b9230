"""Memory that objects expose, as flat numpy views: the buffer protocol, DLPack and
``__cuda_array_interface__`` (on host memory), looked up in mpi4py's order.

Layer 1 of hpxpy.comm (see ``_comm``'s docstring for the whole stack): imports only numpy
and ``hpxpy._core``. ``_memory`` (MPI.buffer) and ``_buffers`` (message parsing) both stand
on it, so neither needs the other to turn an object into memory.
"""

from __future__ import annotations

import ctypes
import errno
import operator
import os
import sys
import threading
import warnings
from typing import Any, Optional, Sequence, Tuple

from .. import _core
from .._numpy import np


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


# DLPack device types by number, for messages naming them (kDLCPU is 1)
_DL_DEVICES = {1: "CPU", 2: "CUDA", 3: "CUDAHost", 4: "OpenCL", 7: "Vulkan", 8: "Metal",
               9: "VPI", 10: "ROCm", 11: "ROCmHost", 12: "ExtDev", 13: "CUDAManaged",
               14: "OneAPI", 15: "WebGPU", 16: "Hexagon", 17: "MAIA"}


_probe_pipe: Optional[Tuple[int, int]] = None  # (read end, write end), made on first use
_probe_lock = threading.Lock()


def _host_readable(address: int, nbytes: int) -> bool:
    """Whether the first and last byte of [address, address + nbytes) are host memory this
    process can read. GPU memory is not: a device pointer lies in address space the driver
    reserves without access, or maps nowhere. The kernel tells, without a fault: writing a
    byte from an address to a pipe fails with EFAULT where the process could not read it."""
    global _probe_pipe
    if nbytes <= 0:
        return True
    with _probe_lock:
        if _probe_pipe is None:
            _probe_pipe = os.pipe()
        read_end, write_end = _probe_pipe
        for at in {address, address + nbytes - 1}:
            try:
                os.write(write_end, (ctypes.c_char * 1).from_address(at))
            except OSError as exc:
                if exc.errno == errno.EFAULT:
                    return False
                raise
            os.read(read_end, 1)
    return True


def _check_host(address: int, nbytes: int, writable: bool, what: str) -> None:
    """BufferError if a producer's memory is not host memory (a GPU's): hpxpy moves
    messages through host memory and is not GPU-aware, so it must not read the pointer."""
    if not _host_readable(address, nbytes):
        raise BufferError(f"{what} memory at {address:#x} ({nbytes} bytes) is not host "
                          f"memory this process can {'write' if writable else 'read'}: "
                          f"hpxpy is not GPU-aware; copy device buffers to host memory "
                          f"(e.g. array.get() / .cpu()) before communicating them")


def _from_cai(obj: Any, writable: bool, host: bool = True) -> np.ndarray:
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
    if host:  # CUDA array interface memory is a GPU's unless the map says it is the host's
        _check_host(int(ptr), size * itemsize, writable, "__cuda_array_interface__: device")
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


def _from_dlpack(obj: Any, writable: bool, host: bool = True) -> np.ndarray:
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
    if host and device_type != _DL_CPU:
        device_name = _DL_DEVICES.get(device_type, str(device_type))
        _check_host(address, nbytes, writable, f"dlpack: device {device_name}")
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


def to_numpy(obj: Any, writable: bool = False, host: bool = True) -> np.ndarray:
    """A numpy view of the memory ``obj`` exposes (no copy), looked up as mpi4py does: the
    buffer protocol, then DLPack, then ``__cuda_array_interface__``. ``host``: the caller
    will read (``writable``: write) the memory, so a GPU's raises BufferError; without it
    (MPI.Get_address) only the address is wanted."""
    if not isinstance(obj, np.ndarray):
        local = getattr(obj, "__hpxpy_local__", None)  # a distributed array: its partition
        if local is not None:
            obj = local
        elif isinstance(obj, _core.HostMemory):  # MPI.buffer (no buffer protocol in
            obj = obj._view                       # Python < 3.12): the memory it views
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
        return _from_dlpack(obj, writable, host)
    elif hasattr(obj, "__cuda_array_interface__"):
        return _from_cai(obj, writable, host)
    else:
        raise TypeError(f"a bytes-like object is required, not '{type(obj).__name__}'")
    if writable and not arr.flags.writeable:
        raise BufferError("Object is not writable.")
    if not (arr.flags.c_contiguous or arr.flags.f_contiguous):
        raise BufferError("buffer is not contiguous")
    return arr
