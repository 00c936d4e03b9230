"""MPI.Message: a message matched by ``mprobe``/``improbe``, received later.

Layer 3 of hpxpy.comm: imports ``_request`` (``irecv`` returns a request), ``_status``,
``_typing``, ``_constants`` and ``_errors``.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from . import _constants as C
from . import _handles
from ._errors import Exception as MPIException
from ._request import Request
from ._status import Status, fill_status
from ._typing import BufSpec


class Message(_handles.HandleMethods):
    """A message matched by ``mprobe``/``improbe``, to be received with ``recv``/``Recv``.

    ``Message(msg)`` is a new reference to ``msg``'s handle (equal to it until one of them
    is received or freed, which makes that reference ``MESSAGE_NULL``)."""

    __slots__ = ("_source", "_tag", "_payload", "_unpack", "_used", "_ident", "_noproc")

    def __new__(cls, *args: Any, **kwargs: Any) -> Message:
        # Takes the constructor's arguments, so that a subclass may call
        # super().__new__(cls, message) as with mpi4py's classes; __init__ does the work.
        return super().__new__(cls)

    __hash__ = None  # type: ignore[assignment]  # as mpi4py's: equal references, no hash

    def __init__(self, message: Optional[Message] = None) -> None:
        if message is None:
            message = MESSAGE_NULL
        if not isinstance(message, Message):
            raise TypeError(f"expecting a Message, got {type(message).__name__}")
        for name in Message.__slots__:
            setattr(self, name, getattr(message, name))

    @classmethod
    def _make(cls, source: Any = C.PROC_NULL, tag: int = C.ANY_TAG, payload: Any = None,
              unpack: Optional[Callable] = None) -> Message:
        """A matched message from ``source`` (rank) with ``tag``: ``payload`` as received,
        ``unpack`` turns it into the object; neither: a null message."""
        message = cls.__new__(cls)
        message._init(source, tag, payload, unpack)
        return message

    def _init(self, source: Any, tag: int, payload: Any, unpack: Optional[Callable]) -> None:
        self._source, self._tag, self._payload, self._unpack = source, tag, payload, unpack
        self._used = payload is None and unpack is None
        self._ident: object = object()  # shared by the references (a Message has no hash)
        self._noproc = False

    def _identity(self) -> Any:
        return self._ident

    def __bool__(self) -> bool:
        return not self._used

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        if self._used or other._used:
            return self._used and other._used
        return self._ident is other._ident or (self._noproc and other._noproc)

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __reduce__(self) -> Any:
        # As mpi4py: the constants pickle as themselves, a reference equal to one of them
        # as a new reference to it; a matched message cannot leave its process.
        if self is MESSAGE_NULL:
            return "MESSAGE_NULL"
        if self is MESSAGE_NO_PROC:
            return "MESSAGE_NO_PROC"
        if self._used:
            return (type(self), (MESSAGE_NULL,))
        if self._noproc:
            return (type(self), (MESSAGE_NO_PROC,))
        raise ValueError("cannot serialize 'Message' instance")

    @classmethod
    def probe(cls, comm: Any, source: int = C.ANY_SOURCE, tag: int = C.ANY_TAG,
              status: Optional[Status] = None) -> Message:
        """Match a message and return it: ``comm.mprobe(source, tag, status)``."""
        return comm.mprobe(source, tag, status)

    @classmethod
    def iprobe(cls, comm: Any, source: int = C.ANY_SOURCE, tag: int = C.ANY_TAG,
               status: Optional[Status] = None) -> Optional[Message]:
        """Match a message if one is there: ``comm.improbe(source, tag, status)``: None if no
        message is there."""
        return comm.improbe(source, tag, status)

    Probe = probe
    Iprobe = iprobe

    def free(self) -> None:
        """Forget the message without receiving it (this reference becomes MESSAGE_NULL;
        the constants MESSAGE_NULL and MESSAGE_NO_PROC themselves stay)."""
        if self is not MESSAGE_NO_PROC:
            self._used = True

    def _take(self) -> Any:
        if self._noproc:  # nothing to receive; the constant itself stays MESSAGE_NO_PROC
            if self is not MESSAGE_NO_PROC:
                self._used = True
            return _no_proc
        if self._used:
            raise MPIException(C.ERR_REQUEST, "message already received (MESSAGE_NULL)")
        self._used = True
        return self._unpack

    def recv(self, status: Optional[Status] = None) -> Any:
        """Receive the matched object."""
        return self._take()(None, status)

    def Recv(self, buf: BufSpec, status: Optional[Status] = None) -> None:
        """Receive the matched message into ``buf``."""
        self._take()(buf, status)

    def irecv(self) -> Request:
        """Start receiving the matched message as a Python object."""
        unpack = self._take()
        return Request(finish=lambda st: unpack(None, st))

    def Irecv(self, buf: BufSpec) -> Request:
        """Start receiving the matched message into ``buf``."""
        unpack = self._take()
        return Request(finish=lambda st: unpack(buf, st))


def _no_proc(buf: Any, status: Optional[Status]) -> None:
    fill_status(status, C.PROC_NULL, C.ANY_TAG, 0)


def no_proc_message() -> Message:
    """What probing ``PROC_NULL`` matches: receiving it gets nothing."""
    message = Message._make(C.PROC_NULL, C.ANY_TAG, payload=b"", unpack=_no_proc)
    message._noproc = True
    return message


MESSAGE_NULL = Message._make()
MESSAGE_NO_PROC = no_proc_message()
# MPICH's numbers, as mpi4py shows them there
Message._numbered = {0x2c000000: MESSAGE_NULL, 0x6c000000: MESSAGE_NO_PROC}
