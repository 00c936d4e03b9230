"""MPI.buffer (alias MPI.memory): a byte view of memory, as Alloc_mem returns; and the
buffered-send buffer calls (Attach_buffer / Detach_buffer).

Sends here are always buffered by the runtime, so an attached buffer only has to be kept
and handed back; it is never written to.

Layer 2 of hpxpy.comm: imports ``_interop`` (memory of DLPack producers), ``_request``
(the completed request ``Iflush_buffer`` returns) and ``_typing``, nothing above them.
"""

from __future__ import annotations

import ctypes
import operator
from typing import Any, Optional, Union

from .. import _core
from .._numpy import np
from . import _constants as C
from ._interop import to_numpy
from ._request import Request
from ._typing import Buffer, BufferAutomatic

_NO_OBJECT: Any = object()  # buffer() without an argument (None is refused, as mpi4py)
_EMPTY = memoryview(bytearray())  # the memory of an empty or released buffer: writable


class buffer(_core.HostMemory):  # noqa: N801 - mpi4py's name
    """A contiguous, byte-addressable view of memory; exports the buffer protocol (so
    ``np.frombuffer(MPI.Alloc_mem(n))`` works)."""

    __slots__ = ("_view", "_obj", "_device", "_released")
    _view: memoryview
    _obj: Any
    _device: bool

    def __init__(self, obj: Any = _NO_OBJECT) -> None:
        super().__init__()
        if isinstance(obj, buffer):
            self._view, self._obj, self._device = obj._view, obj._obj, obj._device
            self._sync()
            return
        self._device = False
        if obj is _NO_OBJECT:  # buffer(): no memory, no object, writable (as mpi4py)
            self._view, self._obj = _EMPTY, None
            self._sync()
            return
        try:
            view = memoryview(obj)
        except TypeError:  # DLPack / CUDA array interface producers
            if not (hasattr(obj, "__dlpack__") or hasattr(obj, "__cuda_array_interface__")):
                raise TypeError(f"a bytes-like object is required, not "
                                f"'{type(obj).__name__}'") from None
            view = np.ascontiguousarray(to_numpy(obj, host=False)).reshape(-1).data
            # Device memory (a GPU's, by the producer's word) is addressable, not readable.
            if hasattr(obj, "__dlpack_device__"):
                self._device = int(obj.__dlpack_device__()[0]) not in (1, 3, 13)
            else:
                self._device = not hasattr(obj, "__dlpack__")
        self._view = view.cast("B") if view.ndim != 1 or view.format != "B" else view
        self._obj = obj
        self._sync()

    def _sync(self) -> None:
        """Point the exported buffer at ``_view``'s memory."""
        view = self._view
        address = np.frombuffer(view, np.uint8).__array_interface__["data"][0] \
            if view.nbytes or self._obj is not None else 0
        self._bind(view, address, view.nbytes, view.readonly, self._device)

    # -- constructors ------------------------------------------------------------------------
    @staticmethod
    def allocate(nbytes: int, clear: bool = False) -> buffer:
        """A new buffer of ``nbytes`` bytes (zeroed: bytearrays always are)."""
        if nbytes < 0:
            raise ValueError("expecting non-negative size")
        return buffer(bytearray(nbytes))

    @staticmethod
    def frombuffer(obj: Any, readonly: bool = False) -> buffer:
        """A buffer over the memory of ``obj`` (read-only if asked)."""
        buf = buffer(obj)
        if readonly:
            buf._view = buf._view.toreadonly()
            buf._sync()
        return buf

    @staticmethod
    def fromaddress(address: int, nbytes: int, readonly: bool = False) -> buffer:
        if nbytes < 0:
            raise ValueError("expecting non-negative buffer length")
        if nbytes > 0 and not address:
            raise ValueError("expecting non-NULL address")
        raw = (ctypes.c_char * nbytes).from_address(address) if nbytes else bytearray()
        buf = buffer(raw)
        if readonly:
            buf._view = buf._view.toreadonly()
            buf._sync()
        return buf

    # -- properties --------------------------------------------------------------------------
    @property
    def address(self) -> int:
        """Where the memory starts (0 for an empty buffer without an object, as after
        ``release``; an object's memory has an address even with no bytes)."""
        if not self._view.nbytes and self._obj is None:
            return 0
        return np.frombuffer(self._view, np.uint8).__array_interface__["data"][0]

    @property
    def obj(self) -> Any:
        return self._obj

    @property
    def nbytes(self) -> int:
        return self._view.nbytes

    @property
    def readonly(self) -> bool:
        return self._view.readonly

    format = property(lambda self: "B")
    itemsize = property(lambda self: 1)

    @property
    def __array_interface__(self) -> dict:
        return {"version": 3, "shape": (self._view.nbytes,), "typestr": "|u1",
                "data": (self.address, self._view.readonly)}

    # -- sequence ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._view.nbytes

    def _host(self) -> memoryview:
        if self._device:
            raise BufferError("buffer: device memory cannot be accessed from the host")
        return self._view

    def _index(self, item: Any) -> Any:
        """An index or a step-1 slice, as mpi4py's buffer takes them."""
        n = self._view.nbytes
        if isinstance(item, slice):
            start, stop, step = item.indices(n)
            if step != 1:
                raise IndexError("buffer slice with step other than 1")
            return slice(start, max(start, stop))
        try:
            i = operator.index(item)
        except TypeError:
            raise TypeError(f"buffer indices must be integers or slices, not "
                            f"{type(item).__name__}") from None
        if not -n <= i < n:
            raise IndexError("buffer index out of range")
        return i

    def __getitem__(self, item: Union[int, slice]) -> Any:
        self._host()
        item = self._index(item)
        if isinstance(item, slice):
            return buffer(self._view[item])
        return self._view[item]

    def __delitem__(self, item: Union[int, slice]) -> None:
        raise NotImplementedError("buffer: cannot delete items")

    def __setitem__(self, item: Union[int, slice], value: Any) -> None:
        if self._view.readonly:
            raise TypeError("buffer is read-only")
        item = self._index(item)
        if isinstance(item, slice) and isinstance(value, int):  # as mpi4py: fill the slice
            np.frombuffer(self._host(), np.uint8)[item] = value
            return
        if isinstance(item, slice) and not isinstance(value, (bytes, bytearray, memoryview)):
            value = np.asarray(value, dtype=np.uint8).data.cast("B")
        self._host()[item] = value

    def tobytes(self, order: Optional[str] = None) -> bytes:
        return self._host().tobytes()

    def toreadonly(self) -> buffer:
        """A read-only buffer over the same memory (and object)."""
        buf = buffer(self)
        buf._view = self._view.toreadonly()
        buf._sync()
        return buf

    def cast(self, format: str, shape: Any = None) -> memoryview:  # noqa: A002
        view: Any = self._host()  # any struct format (typeshed lists a few literals)
        return view.cast(format) if shape is None else view.cast(format, shape)

    def release(self) -> None:
        # Views exported before the release still point at the old memory: it lives as
        # long as this object (they hold it), never less.
        self._released = (self._view, self._obj)
        self._view = _EMPTY
        self._obj = None
        self._sync()


memory = buffer

_attached: Union[buffer, C._Sentinel, None] = None


def Alloc_mem(size: int, info: Any = None) -> buffer:
    """Allocate ``size`` bytes of memory."""
    return buffer.allocate(size)


def Free_mem(mem: buffer) -> None:
    """Free memory from :func:`Alloc_mem`."""
    if isinstance(mem, buffer):
        mem.release()


def Attach_buffer(buf: Union[Buffer, BufferAutomatic, None]) -> None:
    """Attach a user buffer for buffered sends (``BUFFER_AUTOMATIC`` is accepted)."""
    global _attached
    if buf is not C.BUFFER_AUTOMATIC:
        buf = buffer(buf)
        if buf.readonly:
            raise BufferError("Object is not writable")
    _attached = buf


def Detach_buffer() -> Union[Buffer, BufferAutomatic]:
    """Detach the buffered-send buffer and return it."""
    global _attached
    buf, _attached = _attached, None
    if buf is C.BUFFER_AUTOMATIC:
        return buf
    return buffer(buf) if buf is not None else buffer()


def Flush_buffer() -> None:
    """Buffered sends are already delivered to the runtime: nothing to wait for."""


def Iflush_buffer() -> Request:
    """Flush the buffer of buffered sends, nonblocking (hpxpy's buffered sends never wait in it)."""
    return Request(finish=lambda st: None)
