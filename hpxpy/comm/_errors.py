"""MPI.Exception: what mpi4py raises for MPI error codes."""

from __future__ import annotations

from . import _constants as C


class Exception(RuntimeError):  # noqa: A001 - mpi4py's name
    """An MPI error, with its error code and class (``MPI.ERR_RANK``, ...)."""

    def __init__(self, ierr: int = C.SUCCESS, message: str = "") -> None:
        self.ierr = int(ierr)
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

    def __hash__(self) -> int:
        return hash(self.ierr)

    def __int__(self) -> int:
        return self.ierr

    def __bool__(self) -> bool:
        return self.ierr != C.SUCCESS

    def __str__(self) -> str:
        return self.Get_error_string()

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
        """The error class (codes and classes coincide here)."""
        return self.ierr

    def Get_error_string(self) -> str:
        """A description of the error."""
        name = C._ERROR_NAMES.get(self.ierr, f"error {self.ierr}")
        text = Get_error_string(self.ierr)
        if self._message:
            return f"{name}: {text}: {self._message}"
        return f"{name}: {text}"


_ERROR_TEXT = {
    C.SUCCESS: "No MPI error",
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


def Get_error_class(errorcode: int) -> int:
    """The error class of an error code."""
    return int(errorcode)


def Get_error_string(errorcode: int) -> str:
    """The description of an error code."""
    return _ERROR_TEXT.get(int(errorcode), f"MPI error {int(errorcode)}")


def raise_mpi(ierr: int, message: str = "") -> None:
    raise Exception(ierr, message)
