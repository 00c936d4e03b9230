"""Error handlers: ``MPI.Errhandler``, the predefined ones and user handlers.

hpxpy.comm raises ``MPI.Exception`` for the errors it detects whatever handler is set
(mpi4py's default, ``ERRORS_RETURN``); ``Call_errhandler`` runs the handler that is set, as
MPI does: a user function is called with the object and the error code,
``ERRORS_ARE_FATAL`` and ``ERRORS_ABORT`` end the job on an error code.

An ``Errhandler`` object is a reference to a handler (``_Kind`` below, shared by every
reference); ``Get_errhandler`` hands out a new reference, which ``Free`` makes null.

Layer 0 of hpxpy.comm: imports ``_constants``, ``_errors`` and ``_handles`` (and, when a
fatal handler ends the job, ``hpxpy._runtime``).
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Dict, Optional

from . import _constants as C
from . import _handles
from ._errors import Exception as MPIException

# mpi4py keeps at most this many user error handlers of each class (Comm, Win, File,
# Session) alive; one more raises RuntimeError.
MAX_USER_HANDLERS = 32
_live_user: Dict[str, int] = {}


class _Handler:
    """One error handler, shared by its references."""

    def __init__(self, name: str, fn: Optional[Callable[[Any, int], None]] = None,
                 kind: str = "", number: int = 0) -> None:
        self.name = name
        self.fn = fn          # a user handler's function, None for a predefined one
        self.kind = kind      # the class that created it (user handlers)
        self.number = number  # MPICH's handle of a predefined one; 0: numbered on demand
        self.freed = False


class _Errhandler:
    """An error handler (``MPI.Errhandler``). ``Errhandler()`` is a null handler and
    ``Errhandler(eh)`` a new reference to ``eh``'s handler."""

    _handler: Optional[_Handler]

    def __new__(cls, errhandler: Optional[_Errhandler] = None) -> _Errhandler:
        self = super().__new__(cls)
        if errhandler is not None and not isinstance(errhandler, _Errhandler):
            raise TypeError(f"expecting an Errhandler, got {type(errhandler).__name__}")
        self._handler = errhandler._handler if errhandler is not None else None
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Errhandler):
            return NotImplemented
        return self._handler is other._handler

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None  # type: ignore[assignment]  # as mpi4py's: equal references, no hash

    def __repr__(self) -> str:
        return f"<MPI.Errhandler {self._handler.name if self._handler else 'ERRHANDLER_NULL'}>"

    def __bool__(self) -> bool:
        return self._handler is not None

    def __reduce__(self) -> Any:
        handler = self._handler
        if self is ERRHANDLER_NULL:
            return "ERRHANDLER_NULL"
        for name, predefined in _PREDEFINED.items():
            if self is predefined:
                return name
        if handler is None:
            return (type(self), (ERRHANDLER_NULL,))
        if handler.fn is None:
            return (type(self), (_PREDEFINED[handler.name],))
        raise ValueError(f"cannot serialize '{type(self).__name__}' instance")

    # -- integer handles ---------------------------------------------------------------------
    @property
    def handle(self) -> int:
        """The handler's integer handle (``Errhandler.fromhandle`` gives it back)."""
        if self._handler is None:
            return _NULL_NUMBER
        return self._handler.number or _handles.number(self._handler, self)

    @classmethod
    def fromhandle(cls, handle: int) -> _Errhandler:
        """Return the error handler whose handle is ``handle``."""
        for predefined in (ERRHANDLER_NULL, *_PREDEFINED.values()):
            if predefined.handle == int(handle):
                return cls(predefined)
        return _handles.lookup(handle, cls)

    def toint(self) -> int:
        """Return the handle of the error handler."""
        return self.handle

    def py2f(self) -> int:
        return self.handle

    fromint = fromhandle
    f2py = fromhandle

    def Free(self) -> None:
        """Release this reference (it becomes ``ERRHANDLER_NULL``). Freeing the predefined
        constants themselves (``MPI.ERRORS_RETURN`` ...) does nothing, as with MPICH and
        Open MPI: they stay valid."""
        handler = self._handler
        if handler is None:
            raise MPIException(C.ERR_ERRHANDLER, "the error handler is MPI.ERRHANDLER_NULL")
        if any(self is p for p in _PREDEFINED.values()):
            return
        if handler.fn is not None and not handler.freed and self is _created.get(id(handler)):
            # the reference Create_errhandler gave: the user handler's slot is free again
            handler.freed = True
            _live_user[handler.kind] -= 1
            _created.pop(id(handler), None)
            _handles.forget(handler)
        self._handler = None


    def free(self) -> None:
        """Release this reference if it is not null and not a predefined constant (those
        are never freed): safe to call on any error handler."""
        if self._handler is not None and not any(self is p for p in _PREDEFINED.values()):
            self.Free()


def _predefined(name: str, number: int) -> _Errhandler:
    eh = _Errhandler()
    eh._handler = _Handler(name, number=number)
    return eh


# MPICH's handle numbers, as mpi4py shows them there
_NULL_NUMBER = 0x14000000
# Its name as mpi4py's (type(MPI.ERRORS_RETURN).__name__, the C API's PyMPIErrhandler_*);
# the private qualified name stays, so pickling still finds the class here.
_Errhandler.__name__ = "Errhandler"

ERRHANDLER_NULL = _Errhandler()
ERRORS_ARE_FATAL = _predefined("ERRORS_ARE_FATAL", 0x54000000)
ERRORS_RETURN = _predefined("ERRORS_RETURN", 0x54000001)
ERRORS_ABORT = _predefined("ERRORS_ABORT", 0x54000003)
_PREDEFINED = {"ERRORS_RETURN": ERRORS_RETURN, "ERRORS_ARE_FATAL": ERRORS_ARE_FATAL,
               "ERRORS_ABORT": ERRORS_ABORT}
_created: Dict[int, _Errhandler] = {}  # id(handler) -> the reference Create_errhandler gave


def create(kind: str, fn: Callable[[Any, int], None]) -> _Errhandler:
    """``<kind>.Create_errhandler(fn)``: a user handler; ``fn(obj, errorcode)``."""
    if not callable(fn):
        raise TypeError("expecting a callable error handler function")
    if _live_user.get(kind, 0) >= MAX_USER_HANDLERS:
        raise RuntimeError(f"cannot create more than {MAX_USER_HANDLERS} user-defined "
                           f"error handlers for {kind}")
    _live_user[kind] = _live_user.get(kind, 0) + 1
    eh = _Errhandler()
    eh._handler = _Handler(f"user error handler of {kind}", fn=fn, kind=kind)
    _created[id(eh._handler)] = eh
    return eh


def reference(errhandler: _Errhandler) -> _Errhandler:
    """What ``Get_errhandler`` returns: a new reference to the handler set."""
    return _Errhandler(errhandler)


def call(errhandler: _Errhandler, obj: Any, errorcode: int) -> None:
    """``obj.Call_errhandler(errorcode)``: run the handler set on ``obj``."""
    handler = errhandler._handler
    if handler is None:
        return
    if handler.fn is not None:
        handler.fn(obj, int(errorcode))
    elif handler.name in ("ERRORS_ARE_FATAL", "ERRORS_ABORT") and errorcode != C.SUCCESS:
        from .. import _runtime

        print(f"hpxpy: {MPIException(errorcode)} ({handler.name})", file=sys.stderr,
              flush=True)
        rt = _runtime._state.core
        if rt is not None:
            rt.abort(int(errorcode) & 0xFF or 1)  # every locality exits; does not return
        os._exit(int(errorcode) & 0xFF or 1)


def check_settable(errhandler: object) -> _Errhandler:
    """What ``Set_errhandler`` accepts: an error handler that is not null. Returns the
    reference to keep (a new one: freeing the caller's leaves the handler set)."""
    if not isinstance(errhandler, _Errhandler):
        raise TypeError(f"expecting an Errhandler, got {type(errhandler).__name__}")
    if not errhandler:
        raise MPIException(C.ERR_ERRHANDLER, "the error handler is MPI.ERRHANDLER_NULL")
    return _Errhandler(errhandler)
