"""Point to point: sends, receives, probes and the message header on the wire.

A message on a communicator's point-to-point context starts with a 16-byte header (kind,
then reserved space): ``KIND_OBJ`` carries a pickled object (``_pickle``'s segments),
``KIND_BUF`` a buffer's bytes. Every function takes the communicator (a ``_Handle``) first;
``Comm``'s methods call them directly (one call deep on the small-message paths).

Layer 4 of hpxpy.comm: imports ``_handle``, ``_buffers``, ``_failures``, ``_request``,
``_pickle`` and ``_constants``; nothing above.
"""

from __future__ import annotations

import pickle
import struct
from typing import Any, Callable, List, Optional, Tuple

from .. import _core as _core_module
from .. import _runtime
from .._numpy import np
from . import _constants as C
from . import _pickle
from ._buffers import message_array, message_region, receive_array
from ._failures import truncation
from ._handle import _Handle, core_tag
from ._message import Message, no_proc_message
from ._request import Request
from ._status import Status, fill_status

HEADER = struct.Struct("<IIq")
HEADER_SIZE = 16
KIND_OBJ, KIND_BUF = 1, 2
_OBJ_HEADER = HEADER.pack(KIND_OBJ, 0, 0) + bytes(HEADER_SIZE - HEADER.size)
_BUF_HEADER = HEADER.pack(KIND_BUF, 0, 0) + bytes(HEADER_SIZE - HEADER.size)

Unpack = Callable[[Any, Optional[Status]], Any]

# The fast paths (hpxpy._core.CommPath) use this module's wire format and share these.
_core_module.configure_fastpath(Status, truncation, C.IN_PLACE, _pickle.dumps, _pickle.loads,
                                C.ANY_SOURCE, C.ANY_TAG, C.TAG_MAX)


def no_result(status: Optional[Status]) -> None:
    """The finish of a request with nothing to hand back (a send's)."""


# -- sending ---------------------------------------------------------------------------------
def _post(comm: _Handle, dest: int, tag: int, parts: List[Any], sync: bool) -> Optional[Any]:
    """Send ``parts`` (header first); for a synchronous send, the receive of its
    acknowledgement."""
    core = _runtime.core()
    world = comm._world(dest)
    if sync:
        return core.send_sync(world, comm._context, tag, parts)
    core.send(world, comm._context, tag, parts)
    return None


def send_obj(comm: _Handle, obj: Any, dest: int, tag: int, sync: bool) -> Optional[Any]:
    """Send a Python object; returns the acknowledgement of a synchronous send."""
    comm._check_dest(dest)
    comm._check_send_tag(tag)
    if dest == C.PROC_NULL:
        return None
    return _post(comm, dest, tag, [_OBJ_HEADER, *_pickle.dumps(obj)], sync)


def send_buf(comm: _Handle, buf: Any, dest: int, tag: int, sync: bool) -> Optional[Any]:
    """Send a buffer; returns the acknowledgement of a synchronous send."""
    comm._check_dest(dest)
    comm._check_send_tag(tag)
    if dest == C.PROC_NULL:  # as mpi4py: the message is not even looked at
        return None
    arr, _ = message_array(buf)
    return _post(comm, dest, tag, [_BUF_HEADER, arr], sync)


def started(ack: Optional[Any]) -> Request:
    """The request of a started send: complete at once (sends are buffered), or once the
    receiver matched it (``ack``, a synchronous send's)."""
    if ack is None:
        return Request(finish=no_result)
    return Request(core_request=ack, finish=no_result)


# -- receiving -------------------------------------------------------------------------------
def unpack(comm: _Handle, source_world: int, tag: int, payload: Any, buf: Any,
           status: Optional[Status]) -> Any:
    """Consume one received message: into ``buf``, or (``buf`` None) as an object."""
    kind = HEADER.unpack_from(payload, 0)[0]
    source = comm._index.get(source_world, source_world)
    nbytes = len(payload) - HEADER_SIZE
    if buf is None:  # lower-case receive: an object
        fill_status(status, source, tag, nbytes)
        if kind == KIND_OBJ:
            return _pickle.loads(payload, HEADER_SIZE)
        if nbytes == 0:  # as mpi4py: an empty message is None
            return None
        return pickle.loads(memoryview(payload)[HEADER_SIZE:])  # raw bytes, as mpi4py
    arr, _, commit = receive_array(buf)
    data = np.frombuffer(payload, dtype=np.uint8, offset=HEADER_SIZE)
    room = arr.nbytes
    if nbytes > room:
        fill_status(status, source, tag, room)
        raise truncation(nbytes, room)
    arr.view(np.uint8)[:nbytes] = data if arr.nbytes else data[:0]
    commit()
    fill_status(status, source, tag, nbytes)
    return None


def unpacker(comm: _Handle, source_world: int, tag: int, payload: Any) -> Unpack:
    """``unpack`` of one message, for later: (buf, status) -> object."""
    return lambda buf, status: unpack(comm, source_world, tag, payload, buf, status)


def _source_world(comm: _Handle, source: int) -> int:
    return _core_module.ANY_SOURCE if source == C.ANY_SOURCE else comm._world(source)


def receive(comm: _Handle, buf: Any, source: int, tag: int, status: Optional[Status]) -> Any:
    """A blocking receive: into ``buf``, or (``buf`` None) of an object."""
    comm._check_source(source)
    comm._check_recv_tag(tag)
    if source == C.PROC_NULL:
        fill_status(status, C.PROC_NULL, C.ANY_TAG, 0)
        return None
    src, got_tag, payload = _runtime.core().receive(comm._context, _source_world(comm, source),
                                                    core_tag(tag))
    return unpack(comm, src, got_tag, payload, buf, status)


def _proc_null_finish(status: Optional[Status]) -> None:
    fill_status(status, C.PROC_NULL, C.ANY_TAG, 0)


def irecv(comm: _Handle, buf: Any, source: int, tag: int) -> Request:
    """A started receive: into ``buf``, or (``buf`` None) of an object."""
    comm._check_source(source)
    comm._check_recv_tag(tag)
    if source == C.PROC_NULL:
        return Request(finish=_proc_null_finish)
    req = _runtime.core().post_receive(comm._context, _source_world(comm, source),
                                       core_tag(tag))

    def finish(st: Optional[Status]) -> Any:
        return unpack(comm, req.source, req.tag, req.payload, buf, st)

    return Request(core_request=req, finish=finish, cancellable=True)


def isendrecv(comm: _Handle, sendbuf: Any, dest: int, sendtag: int, recvbuf: Any,
              source: int, recvtag: int) -> Request:
    """Start sending a buffer and receiving into another; both messages are checked
    before anything moves, so an error leaves nothing behind."""
    comm._check_pair(dest, sendtag, source, recvtag)
    if dest != C.PROC_NULL:
        message_region(sendbuf)
    if source != C.PROC_NULL:
        message_region(recvbuf, writable=True)
    req = irecv(comm, recvbuf, source, recvtag)
    send_buf(comm, sendbuf, dest, sendtag, False)
    return req


def isendrecv_replace(comm: _Handle, buf: Any, dest: int, sendtag: int, source: int,
                      recvtag: int) -> Request:
    """Start sending the buffer's contents and replacing them with the message received."""
    comm._check_pair(dest, sendtag, source, recvtag)
    outgoing = None
    if dest != C.PROC_NULL:
        arr, _ = message_array(buf, writable=source != C.PROC_NULL)
        outgoing = arr.copy().view(np.uint8)  # the receive may overwrite it at once
    elif source != C.PROC_NULL:
        message_region(buf, writable=True)
    req = irecv(comm, buf, source, recvtag)
    if outgoing is not None:
        send_buf(comm, outgoing, dest, sendtag, False)
    return req


# -- probing ---------------------------------------------------------------------------------
def _matching(comm: _Handle, source: int, tag: int,
              block: bool) -> Optional[Tuple[int, int, int]]:
    """(world source, tag, size) of the oldest matching message without receiving it;
    None if there is none yet (non-blocking); (PROC_NULL, ANY_TAG, 16) for PROC_NULL."""
    comm._check_source(source)
    comm._check_recv_tag(tag)
    if source == C.PROC_NULL:
        return C.PROC_NULL, C.ANY_TAG, HEADER_SIZE
    args = (comm._context, _source_world(comm, source), core_tag(tag))
    return _runtime.core().probe(*args) if block else _runtime.core().iprobe(*args)


def probe(comm: _Handle, source: int, tag: int, status: Optional[Status], block: bool) -> bool:
    """True if a matching message is available (``block``: wait until one is)."""
    info = _matching(comm, source, tag, block)
    if info is None:
        return False
    src, got_tag, size = info
    fill_status(status, comm._index.get(src, src), got_tag, size - HEADER_SIZE)
    return True


def mprobe(comm: _Handle, source: int, tag: int, status: Optional[Status],
           block: bool) -> Optional[Message]:
    """The matching message, taken off the queue (``block``: wait until there is one)."""
    info = _matching(comm, source, tag, block)
    if info is None:
        return None
    src, got_tag, size = info
    fill_status(status, comm._index.get(src, src), got_tag, size - HEADER_SIZE)
    if src == C.PROC_NULL:
        return no_proc_message()  # equal to MESSAGE_NO_PROC until received
    _, _, payload = _runtime.core().receive(comm._context, src, got_tag)
    return Message._make(comm._index.get(src, src), got_tag, payload,
                   unpacker(comm, src, got_tag, payload))
