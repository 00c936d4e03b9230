"""MPI.Exception: what mpi4py raises for MPI error codes; error classes, codes and
strings, MPI's predefined ones and those a program adds (``Add_error_class`` ...)."""

from __future__ import annotations

import functools
import traceback
from typing import Any, Callable, Dict, Optional

from . import _constants as C


@functools.total_ordering
class Exception(RuntimeError):  # noqa: A001 - mpi4py's name
    """An MPI error, with its error code and class (``MPI.ERR_RANK``, ...); it compares
    and orders as its error code."""

    def __init__(self, ierr: int = C.SUCCESS, message: str = "") -> None:
        ierr = int(ierr)
        self.ierr = C.ERR_UNKNOWN if ierr < C.SUCCESS else ierr  # as mpi4py
        self._message = message
        super().__init__(self.ierr)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Exception):
            return self.ierr == other.ierr
        if isinstance(other, int):
            return self.ierr == other
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __lt__(self, other: object) -> bool:
        if isinstance(other, (Exception, int)):
            return self.ierr < int(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.ierr)

    def __int__(self) -> int:
        return self.ierr

    def __bool__(self) -> bool:
        return self.ierr != C.SUCCESS

    def __str__(self) -> str:
        text = self.Get_error_string()
        return f"{text}: {self._message}" if self._message else text

    def __repr__(self) -> str:
        return f"MPI.Exception({self.ierr})"

    @property
    def error_code(self) -> int:
        return self.ierr

    @property
    def error_class(self) -> int:
        return self.Get_error_class()

    @property
    def error_string(self) -> str:
        return self.Get_error_string()

    def Get_error_code(self) -> int:
        """The error code."""
        return self.ierr

    def Get_error_class(self) -> int:
        """The error class of the error code."""
        return Get_error_class(self.ierr)

    def Get_error_string(self) -> str:
        """The error code's string (``MPI.Get_error_string``)."""
        return Get_error_string(self.ierr)


_ERROR_TEXT = {
    C.SUCCESS: "No MPI error",
    C.ERR_VALUE_TOO_LARGE: "Value is too large to store",
    C.ERR_BUFFER: "Invalid buffer pointer",
    C.ERR_COUNT: "Invalid count",
    C.ERR_TYPE: "Invalid datatype",
    C.ERR_TAG: "Invalid tag",
    C.ERR_COMM: "Invalid communicator",
    C.ERR_RANK: "Invalid rank",
    C.ERR_ROOT: "Invalid root",
    C.ERR_GROUP: "Invalid group",
    C.ERR_OP: "Invalid MPI_Op",
    C.ERR_ARG: "Invalid argument",
    C.ERR_UNKNOWN: "Unknown error (or process failure)",
    C.ERR_TRUNCATE: "Message truncated",
    C.ERR_OTHER: "Other MPI error",
    C.ERR_INTERN: "Internal MPI error",
    C.ERR_IN_STATUS: "See the MPI_ERROR field in MPI_Status for the error code",
    C.ERR_PENDING: "Pending request (no error)",
    C.ERR_REQUEST: "Invalid MPI_Request",
    C.ERR_NOT_SAME: "Collective argument not identical on all processes",
    C.ERR_UNSUPPORTED_OPERATION: "Unsupported operation",
    C.ERR_KEYVAL: "Invalid keyval",
    C.ERR_INFO: "Invalid MPI_Info",
    C.ERR_INFO_KEY: "Invalid key for MPI_Info ",
    C.ERR_INFO_VALUE: "Invalid MPI_Info value ",
    C.ERR_INFO_NOKEY: "MPI_Info key is not defined ",
    C.ERR_NO_MEM: "Unable to allocate memory for MPI_Alloc_mem",
    C.ERR_ACCESS: "Invalid permission",
    C.ERR_AMODE: "Invalid amode value in MPI_File_open ",
    C.ERR_BAD_FILE: "Invalid file name",
    C.ERR_CONVERSION: "An error occurred in a user-defined data conversion function",
    C.ERR_DUP_DATAREP: "Data representation already registered",
    C.ERR_FILE_EXISTS: "File exists",
    C.ERR_FILE_IN_USE: "File in use by some process",
    C.ERR_FILE: "Invalid MPI_File",
    C.ERR_IO: "Other I/O error ",
    C.ERR_NO_SPACE: "Not enough space for file ",
    C.ERR_NO_SUCH_FILE: "File does not exist",
    C.ERR_QUOTA: "Quota exceeded for files",
    C.ERR_READ_ONLY: "Read-only file or filesystem name",
    C.ERR_UNSUPPORTED_DATAREP: "Unsupported datarep passed to MPI_File_set_view ",
}


# What the program added: error class or code -> its class (a class is its own), and the
# strings it set; codes and classes are numbered on from ERR_LASTCODE, as in MPICH.
_added: Dict[int, int] = {}
_added_text: Dict[int, str] = {}
_last_used = [C.ERR_LASTCODE]


def last_used_code() -> int:
    """The ``LASTUSEDCODE`` attribute: the largest error class or code in use."""
    return max([C.ERR_LASTCODE, *_added])


def _is_predefined(errorcode: int) -> bool:
    return C.SUCCESS <= errorcode <= C.ERR_LASTCODE


def Get_error_class(errorcode: int) -> int:
    """The error class of an error code."""
    errorcode = int(errorcode)
    if errorcode in _added:
        return _added[errorcode]
    if not _is_predefined(errorcode):
        raise Exception(C.ERR_ARG, f"invalid error code {errorcode}")
    return errorcode


def Get_error_string(errorcode: int) -> str:
    """The string of an error code ("" for one the program added without a string)."""
    errorcode = int(errorcode)
    if errorcode in _added:
        return _added_text.get(errorcode, "")
    if errorcode in _ERROR_TEXT:
        return _ERROR_TEXT[errorcode]
    name = C._ERROR_NAMES.get(errorcode)
    return f"MPI_{name}" if name else f"Unknown error code {errorcode}"


def Add_error_class() -> int:
    """A new error class (local to this process)."""
    _last_used[0] += 1
    _added[_last_used[0]] = _last_used[0]
    return _last_used[0]


def Add_error_code(errorclass: int) -> int:
    """A new error code of ``errorclass``."""
    Get_error_class(errorclass)
    if int(errorclass) != Get_error_class(errorclass):
        raise Exception(C.ERR_ARG, f"{errorclass} is an error code, not a class")
    _last_used[0] += 1
    _added[_last_used[0]] = int(errorclass)
    return _last_used[0]


def Add_error_string(errorcode: int, string: str) -> None:
    """Set the string of an added error class or code."""
    errorcode = int(errorcode)
    if errorcode not in _added:
        raise Exception(C.ERR_ARG, f"error code {errorcode} was not added by the program")
    _added_text[errorcode] = str(string)


def _remove(errorcode: int, what: str, is_class: Optional[bool]) -> None:
    errorcode = int(errorcode)
    if errorcode not in _added or (
            is_class is not None and (_added[errorcode] == errorcode) != is_class):
        raise Exception(C.ERR_ARG, f"{errorcode} is no {what} added by the program")
    if errorcode in _added_text:
        raise Exception(C.ERR_ARG, f"remove the string of {what} {errorcode} first")


def Remove_error_class(errorclass: int) -> None:
    """Remove an added error class (it must have no codes and no string left)."""
    _remove(errorclass, "error class", True)
    if any(c == errorclass and code != errorclass for code, c in _added.items()):
        raise Exception(C.ERR_ARG, f"error class {errorclass} still has error codes")
    del _added[int(errorclass)]


def Remove_error_code(errorcode: int) -> None:
    """Remove an added error code (its string removed first)."""
    _remove(errorcode, "error code", False)
    del _added[int(errorcode)]


def Remove_error_string(errorcode: int) -> None:
    """Remove the string of an added error class or code."""
    errorcode = int(errorcode)
    if errorcode not in _added:
        raise Exception(C.ERR_ARG, f"error code {errorcode} was not added by the program")
    _added_text.pop(errorcode, None)


def run_callback(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a user callback MPI calls (attribute copy/delete, generalized request query/
    free/cancel): its exception is printed and raised as ``MPI.Exception`` of its class
    (``ERR_OTHER`` for a Python error), as mpi4py does."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        traceback.print_exc()
        raise Exception(exc.Get_error_class()) from exc
    except BaseException as exc:  # noqa: BLE001 - any error in user code, as mpi4py
        traceback.print_exc()
        raise Exception(C.ERR_OTHER, f"{type(exc).__name__} in a callback") from exc


def raise_mpi(ierr: int, message: str = "") -> None:
    raise Exception(ierr, message)
