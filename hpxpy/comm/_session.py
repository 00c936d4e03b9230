"""MPI sessions (MPI 4): ``MPI.Session`` and ``MPI.SESSION_NULL``.

A session is a handle to the runtime that names process sets; hpxpy has the two every MPI
defines, ``mpi://WORLD`` (every locality) and ``mpi://SELF`` (this one). Their groups make
communicators with ``Intracomm.Create_from_group``.

Layer 3 of hpxpy.comm: imports ``hpxpy._runtime``, ``_constants``, ``_errors``,
``_errhandler``, ``_group``, ``_handles``, ``_info``, ``_memory`` and ``_request``.
"""

from __future__ import annotations

from typing import Any, List, Optional

from .. import _runtime
from . import _constants as C
from . import _errhandler, _handles, _memory
from ._errors import Exception as MPIException
from ._group import Group
from ._info import INFO_NULL, Info
from ._request import Request

_PSETS = ("mpi://WORLD", "mpi://SELF")


def pset_members(name: str) -> List[int]:
    """The world ranks of process set ``name`` (case-insensitive, as MPI's names)."""
    key = str(name).lower()
    if key == "mpi://world":
        return list(range(_runtime.num_localities()))
    if key == "mpi://self":
        return [_runtime.locality_id()]
    raise MPIException(C.ERR_ARG, f"no process set {name!r}; hpxpy has {', '.join(_PSETS)}")


class _State:
    """What the references to one session share."""

    def __init__(self, errhandler: Any) -> None:
        self.errhandler = errhandler
        self.buffer: Any = None


class Session:
    """An MPI session: ``Session.Init()`` gives one, ``Finalize`` ends it."""

    _state: Optional[_State]

    def __new__(cls, session: Optional[Session] = None) -> Session:
        self = super().__new__(cls)
        if session is not None and not isinstance(session, Session):
            raise TypeError(f"expecting a Session, got {type(session).__name__}")
        self._state = session._state if session is not None else None
        return self

    # -- handle semantics --------------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Session):
            return NotImplemented
        return self._state is other._state

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None  # type: ignore[assignment]  # as mpi4py's: equal references, no hash

    def __bool__(self) -> bool:
        return self._state is not None

    def __reduce__(self) -> Any:
        if self is SESSION_NULL:
            return "SESSION_NULL"
        if self._state is None:
            return (type(self), (SESSION_NULL,))
        raise ValueError(f"cannot serialize '{type(self).__name__}' instance")

    @property
    def handle(self) -> int:
        """The session's integer handle (``Session.fromhandle`` gives it back)."""
        if self._state is None:
            return _NULL_HANDLE
        return _handles.number(self._state, self)

    @classmethod
    def fromhandle(cls, handle: int) -> Session:
        """Return the session whose handle is ``handle``."""
        if int(handle) == _NULL_HANDLE:
            return cls(SESSION_NULL)
        return _handles.lookup(handle, cls)

    def toint(self) -> int:
        """Return the handle of the session."""
        return self.handle

    fromint = fromhandle

    def py2f(self) -> int:
        return self.handle

    f2py = fromhandle

    def _check(self) -> _State:
        if self._state is None:
            raise MPIException(C.ERR_SESSION, "the session is MPI.SESSION_NULL")
        return self._state

    # -- MPI API -----------------------------------------------------------------------------
    @classmethod
    def Init(cls, info: Info = INFO_NULL, errhandler: Any = None) -> Session:
        """Start a session (the runtime starts if it has not)."""
        _runtime.core()
        session = cls()
        session._state = _State(errhandler or _errhandler.ERRORS_RETURN)
        return session

    def Finalize(self) -> None:
        """End the session (the reference becomes ``SESSION_NULL``)."""
        state = self._check()
        _handles.forget(state)
        self._state = None

    def free(self) -> None:
        """Finalize the session if it is not null (safe to call on any session)."""
        if self._state is not None:
            self.Finalize()

    def Get_num_psets(self, info: Info = INFO_NULL) -> int:
        """Number of process sets: ``mpi://WORLD`` and ``mpi://SELF``."""
        self._check()
        return len(_PSETS)

    def Get_nth_pset(self, n: int, info: Info = INFO_NULL) -> str:
        """Return the name of the ``n``-th process set."""
        self._check()
        if not 0 <= n < len(_PSETS):
            raise MPIException(C.ERR_ARG, f"there are {len(_PSETS)} process sets, no set {n}")
        return _PSETS[n]

    def Get_info(self) -> Info:
        """The session's hints: thread support (every level is provided)."""
        self._check()
        return Info.Create({"thread_level": "MPI_THREAD_MULTIPLE"})

    def Get_pset_info(self, pset_name: str) -> Info:
        """Return the info of a process set: ``mpi_size``, the number of processes in the set."""
        self._check()
        return Info.Create({"mpi_size": str(len(pset_members(pset_name)))})

    def Create_group(self, pset_name: str) -> Group:
        """The group of the processes of set ``pset_name``."""
        self._check()
        return Group._make(pset_members(pset_name))

    # -- buffered sends (the buffer is accepted; sends are buffered by the runtime) -----------
    def Attach_buffer(self, buf: Any) -> None:
        """Attach a buffer for the session's buffered sends."""
        self._check().buffer = buf if buf is C.BUFFER_AUTOMATIC else _memory.buffer(buf)

    def Detach_buffer(self) -> Any:
        """Detach the session's buffer for buffered sends and return it."""
        state = self._check()
        buf, state.buffer = state.buffer, None
        if buf is C.BUFFER_AUTOMATIC:
            return buf
        return _memory.buffer(buf) if buf is not None else _memory.buffer()

    def Flush_buffer(self) -> None:
        """Flush the session's buffer of buffered sends."""
        self._check()

    def Iflush_buffer(self) -> Any:
        """Flush the session's buffer of buffered sends, nonblocking."""
        self._check()
        return Request(complete=True)

    # -- error handlers ----------------------------------------------------------------------
    def Get_errhandler(self) -> Any:
        """Return the session's error handler."""
        return _errhandler.reference(self._check().errhandler)

    def Set_errhandler(self, errhandler: Any) -> None:
        """Set the session's error handler."""
        state = self._check()
        state.errhandler = _errhandler.check_settable(errhandler)

    def Call_errhandler(self, errorcode: int) -> None:
        """Call the session's error handler with ``errorcode``."""
        _errhandler.call(self._check().errhandler, self, errorcode)

    @classmethod
    def Create_errhandler(cls, errhandler_fn: Any) -> Any:
        """Create an error handler for sessions from a Python function."""
        return _errhandler.create("Session", errhandler_fn)


_NULL_HANDLE = 0x3C000000  # MPICH's MPI_SESSION_NULL
SESSION_NULL = Session()
