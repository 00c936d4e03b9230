"""MPI.Message: a message matched by ``mprobe``/``improbe``, received later.

Layer 3 of hpxpy.comm: imports ``_request`` (``irecv`` returns a request), ``_status``,
``_typing``, ``_constants`` and ``_errors``.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from . import _constants as C
from ._errors import Exception as MPIException
from ._request import Request
from ._status import Status, fill_status
from ._typing import BufSpec


class Message:
    """A message matched by ``mprobe``/``improbe``, to be received with ``recv``/``Recv``."""

    __slots__ = ("_source", "_tag", "_payload", "_unpack", "_used")

    def __init__(self, source: int = C.PROC_NULL, tag: int = C.ANY_TAG, payload: Any = None,
                 unpack: Optional[Callable] = None) -> None:
        self._source, self._tag, self._payload, self._unpack = source, tag, payload, unpack
        self._used = payload is None and unpack is None

    def __bool__(self) -> bool:
        return not self._used

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return (self._used and other._used) or self is other

    def __hash__(self) -> int:
        return id(self)

    def _take(self) -> Any:
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
        unpack = self._take()
        return Request(finish=lambda st: unpack(None, st))

    def Irecv(self, buf: BufSpec) -> Request:
        unpack = self._take()
        return Request(finish=lambda st: unpack(buf, st))


def _no_proc(buf: Any, status: Optional[Status]) -> None:
    fill_status(status, C.PROC_NULL, C.ANY_TAG, 0)


class _NoProcMessage(Message):
    """What probing ``PROC_NULL`` matches: receiving it gets nothing, any number of times."""

    def __init__(self) -> None:
        super().__init__(C.PROC_NULL, C.ANY_TAG, payload=b"", unpack=_no_proc)

    def _take(self) -> Any:
        return _no_proc


MESSAGE_NULL = Message()
MESSAGE_NO_PROC = _NoProcMessage()
