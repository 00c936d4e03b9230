"""mpi4py's unsafe helpers ``MPI._sizeof``, ``MPI._addressof`` and ``MPI._handleof``.

In mpi4py they expose the C storage of an object's MPI handle, for code that hands objects
to C. hpxpy's handles are integers given out by the objects (``obj.handle``): an object's
"handle storage" is a C ``uint32`` cell holding that number, made on first use and kept
while the object lives (refreshed on every call; hpxpy never reads it back). A Status is
five C ints already (``Status._mem``, MPICH's ``MPI_Status`` layout): its address is theirs.

Layer 8 of hpxpy.comm: imports ``_status`` and the classes that have handles (``_comm``;
``_file`` and ``_win`` only when asked about theirs).

``MPI.__pyx_capi__`` is mpi4py's C API for extension modules (``mpi4py.h``): for each
class, ``PyMPI<Class>_New`` (a handle, or a Status's address, to a new Python object) and
``PyMPI<Class>_Get`` (an object to the address of its handle storage above), as C function
pointers in capsules named by their C signatures. Here they are ctypes trampolines into
``fromhandle`` and ``_addressof``: callable from C with the GIL held; the handles mean
something to hpxpy only, not to an MPI library.
"""

from __future__ import annotations

import ctypes
import weakref
from typing import Any, Dict, Tuple

from ._comm import Comm, Group
from ._comm import _Errhandler as Errhandler
from ._datatypes import Datatype
from ._info import Info
from ._message import Message
from ._ops import Op
from ._request import Request
from ._session import Session
from ._status import Status

_HandleCell = ctypes.c_uint32  # MPICH's handles are C ints; hpxpy's numbers fit in 32 bits
_STATUS_SIZE = 5 * ctypes.sizeof(ctypes.c_int)
_cells: Dict[int, Tuple[Any, Any]] = {}  # id(obj) -> (weak reference to obj, its cell)


def _handle_classes() -> Tuple[type, ...]:
    """The classes whose objects have integer handles (File and Win load on first use)."""
    from ._file import File
    from ._win import Win

    return (Comm, Datatype, Errhandler, File, Group, Info, Message, Op, Request, Session, Win)


def _sizeof(arg: Any) -> int:
    """Size in bytes of the underlying MPI handle (of a class or an instance)."""
    cls = arg if isinstance(arg, type) else type(arg)
    if issubclass(cls, Status):
        return _STATUS_SIZE
    if issubclass(cls, _handle_classes()):
        return ctypes.sizeof(_HandleCell)
    raise TypeError("expecting an MPI type or instance")


def _cell(obj: Any) -> Any:
    """The C cell holding ``obj``'s current handle, kept as long as ``obj`` lives."""
    key = id(obj)
    found = _cells.get(key)
    if found is None or found[0]() is not obj:
        found = (weakref.ref(obj, lambda _ref: _cells.pop(key, None)), _HandleCell())
        _cells[key] = found
    cell = found[1]
    cell.value = obj.handle & 0xFFFFFFFF
    return cell


def _addressof(arg: Any) -> int:
    """Memory address of the underlying MPI handle."""
    if isinstance(arg, Status):
        return int(arg._mem.ctypes.data)
    if isinstance(arg, _handle_classes()):
        return ctypes.addressof(_cell(arg))
    raise TypeError("expecting an MPI instance")


_capi_keep: list = []  # the trampolines and capsule names, alive as long as the process


def _status_new(address: int) -> Status:
    """A new Status holding a copy of the five C ints at ``address``."""
    status = Status()
    ctypes.memmove(int(status._mem.ctypes.data), address, _STATUS_SIZE)
    return status


def c_api() -> Dict[str, Any]:
    """``MPI.__pyx_capi__``: mpi4py's ``PyMPI<Class>_New``/``_Get`` C functions in capsules."""
    new_capsule = ctypes.pythonapi.PyCapsule_New
    new_capsule.restype = ctypes.py_object
    new_capsule.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    get_type = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object)
    capsules: Dict[str, Any] = {}

    def publish(name: str, signature: str, function: Any) -> None:
        label = signature.encode()
        _capi_keep.extend((function, label))
        address = ctypes.cast(function, ctypes.c_void_p).value
        capsules[name] = new_capsule(address, label, None)

    classes: Tuple[Any, ...] = (*_handle_classes(), Status)
    for cls in classes:
        name = cls.__name__
        if cls is Status:
            new = ctypes.PYFUNCTYPE(ctypes.py_object, ctypes.c_void_p)(_status_new)
            argument = "MPI_Status *"
        else:
            new = ctypes.PYFUNCTYPE(ctypes.py_object, _HandleCell)(cls.fromhandle)
            argument = f"MPI_{name}"
        publish(f"PyMPI{name}_New", f"PyObject *({argument})", new)
        publish(f"PyMPI{name}_Get", f"MPI_{name} *(PyObject *)", get_type(_addressof))
    return capsules


def _handleof(arg: Any) -> int:
    """Unsigned integer value with the underlying MPI handle (a Status: its address)."""
    if isinstance(arg, Status):
        return _addressof(arg)
    if isinstance(arg, _handle_classes()):
        handled: Any = arg
        return handled.handle & 0xFFFFFFFF
    raise TypeError("expecting an MPI instance")
