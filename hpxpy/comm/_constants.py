"""MPI constants with the values mpi4py (on MPICH) exposes."""

from __future__ import annotations

ANY_SOURCE = -2
ANY_TAG = -1
PROC_NULL = -1
ROOT = -3
UNDEFINED = -32766
TAG_UB = 1681915905  # the attribute key; Get_attr(TAG_UB) gives TAG_MAX
TAG_MAX = (1 << 31) - 1
KEYVAL_INVALID = 603979776
# Attribute keys of COMM_WORLD
HOST = 1681915906
IO = 1681915907
WTIME_IS_GLOBAL = 1681915908
UNIVERSE_SIZE = 1681915909
LASTUSEDCODE = 1681915910
APPNUM = 1681915911

COMM_TYPE_SHARED = 1

# Topologies (Comm.Get_topology); UNWEIGHTED and WEIGHTS_EMPTY are distinct integers, as
# mpi4py shows MPICH's (addresses there), never a weights sequence
GRAPH = 1
CART = 2
DIST_GRAPH = 3
UNWEIGHTED = 0x7F0000000004
WEIGHTS_EMPTY = 0x7F0000000000

# Array orders and distributions of Create_subarray / Create_darray
ORDER_C = 56
ORDER_FORTRAN = 57
ORDER_F = ORDER_FORTRAN

MAX_INFO_KEY = 255
MAX_INFO_VAL = 1024
BSEND_OVERHEAD = 96

THREAD_SINGLE = 0
THREAD_FUNNELED = 1
THREAD_SERIALIZED = 2
THREAD_MULTIPLE = 3

# Results of Comm.Compare / Group.Compare
IDENT = 0
CONGRUENT = 1
SIMILAR = 2
UNEQUAL = 3

SUCCESS = 0
ERR_BUFFER = 1
ERR_COUNT = 2
ERR_TYPE = 3
ERR_TAG = 4
ERR_COMM = 5
ERR_RANK = 6
ERR_ROOT = 7
ERR_GROUP = 8
ERR_OP = 9
ERR_TOPOLOGY = 10
ERR_DIMS = 11
ERR_ARG = 12
ERR_UNKNOWN = 13
ERR_PROC_FAILED = 13
ERR_TRUNCATE = 14
ERR_OTHER = 15
ERR_INTERN = 16
ERR_IN_STATUS = 17
ERR_PENDING = 18
ERR_REQUEST = 19
ERR_ACCESS = 20
ERR_INFO = 28
ERR_INFO_KEY = 29
ERR_INFO_VALUE = 30
ERR_INFO_NOKEY = 31
ERR_NO_MEM = 34
ERR_NOT_SAME = 35
ERR_UNSUPPORTED_OPERATION = 44
ERR_WIN = 45
ERR_BASE = 46
ERR_KEYVAL = 48
ERR_SIZE = 51
ERR_DISP = 52
ERR_SESSION = 75
ERR_PROC_ABORTED = 76
ERR_ERRHANDLER = 80
ERR_LASTCODE = 1073741823

_ERROR_NAMES = {
    value: name
    for name, value in dict(globals()).items()
    if name.startswith("ERR_") and name != "ERR_LASTCODE"
}
_ERROR_NAMES[SUCCESS] = "SUCCESS"


class _Sentinel:
    """A named singleton, like mpi4py's IN_PLACE and BOTTOM."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name

    def __reduce__(self) -> str:
        return self._name


IN_PLACE = _Sentinel("IN_PLACE")
BOTTOM = _Sentinel("BOTTOM")
BUFFER_AUTOMATIC = _Sentinel("BUFFER_AUTOMATIC")
