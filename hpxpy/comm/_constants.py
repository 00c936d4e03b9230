"""MPI constants with the values mpi4py (on MPICH) exposes."""

from __future__ import annotations

from typing import Any as _Any  # private names: MPI.py star-imports this module

from .._core import EmptyBuffer as _EmptyBuffer

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
COMM_TYPE_HW_GUIDED = 2
COMM_TYPE_HW_UNGUIDED = 3
COMM_TYPE_RESOURCE_GUIDED = 4

# Status.py2f(): MPICH's layout (count low, count high and cancelled, source, tag, error)
F_STATUS_SIZE = 5
F_SOURCE = 2
F_TAG = 3
F_ERROR = 4

# One-sided communication (MPI.Win): MPICH's values, as mpi4py shows them
WIN_BASE = 1711276033
WIN_SIZE = 1711276035
WIN_DISP_UNIT = 1711276037
WIN_CREATE_FLAVOR = 1711276039
WIN_FLAVOR = WIN_CREATE_FLAVOR
WIN_MODEL = 1711276041
WIN_FLAVOR_CREATE = 1
WIN_FLAVOR_ALLOCATE = 2
WIN_FLAVOR_DYNAMIC = 3
WIN_FLAVOR_SHARED = 4
WIN_SEPARATE = 1
WIN_UNIFIED = 2
LOCK_EXCLUSIVE = 234
LOCK_SHARED = 235
MODE_NOCHECK = 1024
MODE_NOSTORE = 2048
MODE_NOPUT = 4096
MODE_NOPRECEDE = 8192
MODE_NOSUCCEED = 16384
ERR_LOCKTYPE = 47
ERR_RMA_CONFLICT = 49
ERR_RMA_SYNC = 50
ERR_ASSERT = 53
ERR_RMA_RANGE = 55
ERR_RMA_ATTACH = 56
ERR_RMA_SHARED = 57
ERR_RMA_FLAVOR = 58

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
DISTRIBUTE_BLOCK = 121
DISTRIBUTE_CYCLIC = 122
DISTRIBUTE_NONE = 123
DISTRIBUTE_DFLT_DARG = -49767

# Datatype combiners (MPICH's values)
COMBINER_NAMED = 1
COMBINER_DUP = 2
COMBINER_CONTIGUOUS = 3
COMBINER_VECTOR = 4
COMBINER_HVECTOR = 6
COMBINER_INDEXED = 7
COMBINER_HINDEXED = 9
COMBINER_INDEXED_BLOCK = 10
COMBINER_STRUCT = 12
COMBINER_SUBARRAY = 13
COMBINER_DARRAY = 14
COMBINER_F90_REAL = 15
COMBINER_F90_COMPLEX = 16
COMBINER_F90_INTEGER = 17
COMBINER_RESIZED = 18
COMBINER_HINDEXED_BLOCK = 19
COMBINER_VALUE_INDEX = 20

# Type classes of Datatype.Match_size (MPICH's values)
TYPECLASS_REAL = 1
TYPECLASS_INTEGER = 2
TYPECLASS_COMPLEX = 3
TYPECLASS_LOGICAL = 4

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
ERR_PROC_FAILED_PENDING = 13  # as MPICH: the ULFM classes are ERR_UNKNOWN
ERR_REVOKED = 13
ERR_TRUNCATE = 14
ERR_OTHER = 15
ERR_INTERN = 16
ERR_IN_STATUS = 17
ERR_PENDING = 18
ERR_REQUEST = 19
ERR_ACCESS = 20
ERR_AMODE = 21
ERR_BAD_FILE = 22
ERR_CONVERSION = 23
ERR_DUP_DATAREP = 24
ERR_FILE_EXISTS = 25
ERR_FILE_IN_USE = 26
ERR_FILE = 27
ERR_INFO = 28
ERR_INFO_KEY = 29
ERR_INFO_VALUE = 30
ERR_INFO_NOKEY = 31
ERR_IO = 32
ERR_NAME = 33
ERR_NO_MEM = 34
ERR_NOT_SAME = 35
ERR_NO_SPACE = 36
ERR_NO_SUCH_FILE = 37
ERR_PORT = 38
ERR_QUOTA = 39
ERR_READ_ONLY = 40
ERR_SERVICE = 41
ERR_SPAWN = 42
ERR_UNSUPPORTED_DATAREP = 43
ERR_UNSUPPORTED_OPERATION = 44
ERR_WIN = 45
ERR_BASE = 46
ERR_KEYVAL = 48
ERR_SIZE = 51
ERR_DISP = 52
ERR_SESSION = 75
ERR_PROC_ABORTED = 76
ERR_VALUE_TOO_LARGE = 77  # MPI 4.1 (MPICH's number)
ERR_ERRHANDLER = 80
ERR_LASTCODE = 1073741823

_ERROR_NAMES = {
    value: name
    for name, value in dict(globals()).items()
    if name.startswith("ERR_") and name != "ERR_LASTCODE"
}
_ERROR_NAMES[SUCCESS] = "SUCCESS"


class _Sentinel(_EmptyBuffer):
    """A named singleton standing for an address, as mpi4py's BOTTOM, IN_PLACE and
    BUFFER_AUTOMATIC: equal (and hashing equal) to its integer value, an index, an empty
    buffer that belongs to no object (``memoryview(MPI.BOTTOM).obj is None``), no arithmetic;
    pickled by name. hpxpy's code tells them apart by identity."""

    __slots__ = ()
    _name = ""
    _value = 0
    _instance: _Any = None

    def __new__(cls) -> _Any:
        instance = cls.__dict__.get("_instance")
        if instance is None:
            instance = super().__new__(cls)
            cls._instance = instance
        return instance

    def __int__(self) -> int:
        return self._value

    __index__ = __int__

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (int, _Sentinel)):
            return self._value == int(other)
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return self._name

    def __reduce__(self) -> str:
        return self._name


class BottomType(_Sentinel):
    """The type of ``MPI.BOTTOM``: address zero, for absolute displacements."""

    __slots__ = ()
    _name, _value = "BOTTOM", 0


class InPlaceType(_Sentinel):
    """The type of ``MPI.IN_PLACE``: the receive buffer is also the send buffer."""

    __slots__ = ()
    _name, _value = "IN_PLACE", -1


class BufferAutomaticType(_Sentinel):
    """The type of ``MPI.BUFFER_AUTOMATIC``: buffered sends allocate as they need."""

    __slots__ = ()
    _name, _value = "BUFFER_AUTOMATIC", -2


IN_PLACE = InPlaceType()
BOTTOM = BottomType()
BUFFER_AUTOMATIC = BufferAutomaticType()
