"""Message Passing Interface: mpi4py's ``mpi4py.MPI`` API over hpxpy's localities.

    from hpxpy.comm import MPI          # instead of: from mpi4py import MPI
    comm = MPI.COMM_WORLD

Importing it starts the runtime (as importing mpi4py.MPI initialises MPI); the runtime is
finalized at exit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List

# Helper modules, used while this module loads and deleted at its end: the namespace holds
# mpi4py.MPI's names and no module (mpi4py's test_doc walks every module it finds in it).
from . import _constants, _datatypes, _docs, _ops, _pack, _pickle  # noqa: F401
from ._comm import (  # noqa: F401 - mpi4py's private helpers
    COMM_NULL,
    COMM_SELF,
    COMM_WORLD,
    ERRHANDLER_NULL,
    ERRORS_ABORT,
    ERRORS_ARE_FATAL,
    ERRORS_RETURN,
    GROUP_EMPTY,
    GROUP_NULL,
    Cartcomm,
    Comm,
    Distgraphcomm,
    Graphcomm,
    Group,
    Intercomm,
    Intracomm,
    Topocomm,
    _comm_lock,
    _comm_lock_table,
)
from ._comm import _Errhandler as Errhandler
from ._constants import *  # noqa: F401,F403 - the MPI constants
from ._constants import (
    BOTTOM,
    BUFFER_AUTOMATIC,
    IN_PLACE,
    BottomType,
    BufferAutomaticType,
    InPlaceType,
)
from ._datatypes import DATATYPE_NULL, Datatype
from ._environment import (
    Aint_add,
    Aint_diff,
    Close_port,
    Compute_dims,
    Finalize,
    Get_abi_fortran_info,
    Get_abi_info,
    Get_abi_version,
    Get_address,
    Get_hw_resource_info,
    Get_library_version,
    Get_processor_name,
    Get_version,
    Init,
    Init_thread,
    Is_finalized,
    Is_initialized,
    Is_thread_main,
    Lookup_name,
    Open_port,
    Pcontrol,
    Publish_name,
    Query_thread,
    Unpublish_name,
    Wtick,
    Wtime,
    get_vendor,
)
from ._errors import (  # noqa: A004 - mpi4py's names
    Add_error_class,
    Add_error_code,
    Add_error_string,
    Exception,
    Get_error_class,
    Get_error_string,
    Remove_error_class,
    Remove_error_code,
    Remove_error_string,
)
from ._info import INFO_ENV, INFO_NULL, Info
from ._memory import (
    Alloc_mem,
    Attach_buffer,
    Detach_buffer,
    Flush_buffer,
    Free_mem,
    Iflush_buffer,
    buffer,
    memory,
)
from ._message import MESSAGE_NO_PROC, MESSAGE_NULL, Message
from ._ops import Op
from ._pickle import Pickle
from ._request import REQUEST_NULL, Grequest, Prequest, Request
from ._session import SESSION_NULL, Session
from ._status import Status
from ._unsafe import _addressof, _handleof, _sizeof  # noqa: F401 - mpi4py's unsafe helpers

if TYPE_CHECKING:  # the names loaded on first use (below), for type checkers
    from ._file import (
        DISPLACEMENT_CURRENT,
        FILE_NULL,
        MAX_DATAREP_STRING,
        MODE_APPEND,
        MODE_CREATE,
        MODE_DELETE_ON_CLOSE,
        MODE_EXCL,
        MODE_RDONLY,
        MODE_RDWR,
        MODE_SEQUENTIAL,
        MODE_UNIQUE_OPEN,
        MODE_WRONLY,
        SEEK_CUR,
        SEEK_END,
        SEEK_SET,
        File,
        Register_datarep,
    )
    from ._win import WIN_NULL, Win

# MPI-IO (File) and one-sided communication (Win) load when a program first names them:
# together a quarter of hpxpy.comm's code, which a job would otherwise load in every
# locality before its first message.
_ON_FIRST_USE = {
    **{name: "._file" for name in (
        "DISPLACEMENT_CURRENT", "FILE_NULL", "MAX_DATAREP_STRING", "MODE_APPEND", "MODE_CREATE",
        "MODE_DELETE_ON_CLOSE", "MODE_EXCL", "MODE_RDONLY", "MODE_RDWR", "MODE_SEQUENTIAL",
        "MODE_UNIQUE_OPEN", "MODE_WRONLY", "SEEK_CUR", "SEEK_END", "SEEK_SET", "File",
        "Register_datarep")},
    "WIN_NULL": "._win", "Win": "._win",
}


# Names of mpi4py.MPI that hpxpy does not have, by the feature they belong to: a program that
# uses one learns what is missing (NotImplementedError), not that it mistyped a name.
_FEATURES = {
    "the MPI 5 ABI's error class": ("ERR_ABI",),
}
_NOT_IMPLEMENTED = {name: feature for feature, names in _FEATURES.items() for name in names}
_ALIASES = {"DISP_CUR": "DISPLACEMENT_CURRENT"}  # mpi4py's short name

# String length limits, MPICH's (hpxpy's strings have none; programs size buffers by them)
MAX_PROCESSOR_NAME = 128
MAX_PORT_NAME = 1024
MAX_ERROR_STRING = 512
MAX_OBJECT_NAME = 128
MAX_LIBRARY_VERSION_STRING = 8192
MAX_PSET_NAME_LEN = 256
MAX_STRINGTAG_LEN = 256


def __getattr__(name: str) -> Any:
    if name == "__pyx_capi__":  # mpi4py's C API, made on first use (ctypes trampolines)
        from ._unsafe import c_api

        globals()[name] = c_api()
        return globals()[name]
    feature = _NOT_IMPLEMENTED.get(name)
    if feature is not None:
        raise NotImplementedError(f"MPI.{name}: hpxpy does not implement {feature}")
    module = _ON_FIRST_USE.get(_ALIASES.get(name, name))
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    from . import _docs

    value = getattr(import_module(module, __package__), _ALIASES.get(name, name))
    _docs.embed_signatures(value)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_ON_FIRST_USE) | set(_ALIASES))


globals().update(_datatypes.PREDEFINED)
# Types of MPI's that hpxpy has no element for: null datatypes, as mpi4py shows the types its
# MPI library lacks (MPICH lacks these too).
_ABSENT_TYPES = ("BFLOAT16_T", "LOGICAL1", "LOGICAL2", "LOGICAL4", "LOGICAL8", "LOGICAL16",
                 "REAL2", "COMPLEX4", "INTEGER16")
globals().update({name: Datatype() for name in _ABSENT_TYPES})
globals().update({name: op for name, op in _ops.PREDEFINED.items()})

Pickle._wrap = staticmethod(buffer)  # dumps_oob hands out MPI.buffer objects, as mpi4py
pickle = Pickle()
_pickle._active = pickle  # the transport serializes objects with it when it is customised


VERSION, SUBVERSION = Get_version()

# Datatypes by typecode, as mpi4py's MPI._typedict (numpy/struct codes), _typedict_c (C
# types) and _typedict_f (Fortran types).
_typedict = {code: Datatype.fromcode(code) for code in _datatypes.TYPEDICT_CODES}
_typedict.update({code: _datatypes.PREDEFINED[name]
                  for code, name in _datatypes.TYPEDICT_EXTRA.items()})
_typedict_c = {code: _typedict[code] for code in _datatypes.TYPEDICT_C_CODES}
_typedict_f = {code: _datatypes.PREDEFINED[name]
               for code, name in _datatypes.TYPEDICT_FORTRAN.items()}


def _typecode(datatype: Datatype) -> str | None:
    """Return the type code of a predefined datatype, else None."""
    try:
        return datatype.tocode()
    except ValueError:
        return None


def _typealign(datatype: Datatype) -> int | None:
    """Return the alignment of a predefined datatype, else None."""
    if not datatype or not datatype.is_predefined:
        return None
    return datatype.numpy_dtype.alignment


# What mpi4py programs reach for as MPI.<name> and is defined above.
__all__ = [
    "BOTTOM", "BUFFER_AUTOMATIC", "BottomType", "InPlaceType", "BufferAutomaticType",
    "COMM_NULL", "COMM_SELF", "COMM_WORLD", "Comm",
    "DATATYPE_NULL", "Datatype", "ERRHANDLER_NULL", "ERRORS_ABORT", "ERRORS_ARE_FATAL",
    "ERRORS_RETURN", "Errhandler", "Exception", "GROUP_EMPTY", "GROUP_NULL", "Get_error_class",
    "Get_error_string", "Add_error_class", "Add_error_code", "Add_error_string",
    "Remove_error_class", "Remove_error_code", "Remove_error_string", "Grequest", "Group",
    "IN_PLACE", "Intercomm", "Intracomm",
    "Topocomm", "Cartcomm", "Graphcomm", "Distgraphcomm",
    "MESSAGE_NO_PROC", "MESSAGE_NULL", "Message", "Op", "Prequest", "REQUEST_NULL", "Request",
    "Status",
    "Wtick", "Wtime", "Get_processor_name", "Get_hw_resource_info", "Get_version",
    "Get_library_version", "Init",
    "Init_thread", "Finalize", "Is_initialized", "Is_finalized", "Query_thread",
    "Is_thread_main", "Compute_dims", "Pcontrol", "get_vendor", "Get_address", "Aint_add",
    "Aint_diff", "Get_abi_version", "Get_abi_info", "Get_abi_fortran_info", "MAX_PORT_NAME",
    "Open_port", "Close_port", "Publish_name", "Unpublish_name", "Lookup_name",
    "Info", "INFO_NULL", "INFO_ENV", "buffer", "memory", "Alloc_mem", "Free_mem",
    "Attach_buffer", "Detach_buffer", "Flush_buffer", "Iflush_buffer", "Pickle", "pickle",
    "Session", "SESSION_NULL", "Win", "WIN_NULL", "File", "FILE_NULL", "Register_datarep",
    "MODE_RDONLY", "MODE_WRONLY", "MODE_RDWR", "MODE_CREATE", "MODE_EXCL", "MODE_DELETE_ON_CLOSE",
    "MODE_UNIQUE_OPEN", "MODE_SEQUENTIAL", "MODE_APPEND", "SEEK_SET", "SEEK_CUR", "SEEK_END",
    "DISPLACEMENT_CURRENT", "MAX_DATAREP_STRING", "MAX_PROCESSOR_NAME",
    "MAX_ERROR_STRING", "MAX_OBJECT_NAME", "MAX_LIBRARY_VERSION_STRING", "MAX_PSET_NAME_LEN",
    "MAX_STRINGTAG_LEN", "VERSION", "SUBVERSION", *_ABSENT_TYPES,
    *[n for n in dir(_constants) if n.isupper() and not n.startswith("_")],
    *_datatypes.PREDEFINED, *_ops.PREDEFINED,
]



def _initialize_on_import() -> bool:
    """Tell whether importing this module initializes MPI, as importing mpi4py.MPI does.

    Not when ``mpi4py.rc.initialize`` was set to False first (honoured under the shim).
    """
    import os
    import sys

    shim = sys.modules.get("mpi4py")
    rc = getattr(shim, "rc", None) if getattr(shim, "__file__", "").startswith(
        os.path.dirname(os.path.abspath(__file__))) else None
    return bool(getattr(rc, "initialize", True))


def _start() -> None:
    """Join the job: initialize the runtime, and a spawned process its parents."""
    import os

    from .. import _runtime
    from . import _spawn

    _runtime.core()
    _spawn.connect_parent()  # a spawned process joins its parents now, as MPI_Init does
    # hpxrun --trace / --stats: record every communication call (hpxpy/_trace.py). Without
    # them the methods stay as they are: no cost, not even a flag test per call.
    if os.environ.get("HPXPY_TRACE") or os.environ.get("HPXPY_STATS"):
        from hpxpy import _trace

        _trace.install(Comm, Request, Status, COMM_WORLD)


# mpi4py's docstring layout (a signature line first) on every function and class here.
_docs.name_constants(globals())
_docs.embed_signatures(*[value for name, value in globals().items()
                         if not name.startswith("__")])
del _constants, _datatypes, _docs, _ops, _pack, _pickle

# Every locality joins the job now, even one that makes no other MPI call: its peers would
# otherwise wait for it in the rendezvous.
if _initialize_on_import():
    _start()
