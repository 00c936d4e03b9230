"""Errors that one locality finds and every member of a collective raises.

The failing locality sends a status code and the message in place of its data; the C++
core raises the matching Python exception on every member. The codes are the core's own
(``_core.STATUS_*``): one definition for C++ and Python.
"""

from __future__ import annotations

import os
import pickle
import re
import sys
import time
from types import FrameType
from typing import Optional, Tuple

from . import _core

# Checked in order: the first type an exception is an instance of gives its code.
_CODES = (
    (pickle.PicklingError, _core.STATUS_PICKLING_ERROR),
    (AttributeError, _core.STATUS_ATTRIBUTE_ERROR),
    (TypeError, _core.STATUS_TYPE_ERROR),
)
_TYPES = {code: kind for kind, code in _CODES}


def failure_status(exc: BaseException, text: str = "") -> Tuple[int, str]:
    """(status, message) that makes every member raise an exception of ``exc``'s kind:
    pickle's error, AttributeError, TypeError, or else ValueError."""
    for kind, code in _CODES:
        if isinstance(exc, kind):
            return code, text or str(exc)
    return _core.STATUS_VALUE_ERROR, text or str(exc)


def failure_exception(status: int, text: str, context: int = -1) -> BaseException:
    """The exception a failure status stands for (what the core raises for it);
    ``context``: the collective's (names the communicator of a mismatch)."""
    if status == _core.STATUS_MISMATCH:
        return CollectiveMismatchError(text, context)
    return _TYPES.get(status, ValueError)(text)


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _caller() -> Tuple[str, str]:
    """(the hpxpy function the program called, "file:line" of that call): the first frame
    outside this package and the hpxpy frame it called. Only on an error path: walking
    the stack costs about a microsecond, too much for every call."""
    frame: Optional[FrameType] = sys._getframe(1)
    api = ""
    while frame is not None:
        filename = frame.f_code.co_filename
        if not os.path.abspath(filename).startswith(_PACKAGE):
            return api, f"{filename}:{frame.f_lineno}"
        api = frame.f_code.co_name
        frame = frame.f_back
    return api, "?"


class CollectiveMismatchError(RuntimeError):
    """Members of a communicator called different collectives (or one collective with
    different roots) at the same point of their programs.

    Every collective message and shared-memory meeting cell names its call (operation
    and root); a member that meets another call's message or cell raises this, and sends
    it on in place of its data, so every member that depends on it raises too. The
    message names the communicator, both calls, and this rank's call with its source
    line: ``collective mismatch on COMM_WORLD: this rank called bcast(root=0) at
    prog.py:12, rank 1 called gather(root=0)``."""

    def __init__(self, text: str, context: int = -1, at_finalize: bool = False) -> None:
        self.detail = text
        self.context = context
        api, where = _caller()
        if at_finalize:  # the calls are long over: their lines are not known
            api, where = "", "?"
        comm = _communicator(context)
        name, rank = _comm_label(comm, context)
        self.where = where
        own = f"rank {rank} called " if rank is not None else None
        mine = re.search(rf"\b{own}([^,;]*)", text) if own else None
        if mine and at_finalize:
            text = text.replace(mine.group(0), f"this rank called {mine.group(1)}", 1)
        elif mine:
            text = text.replace(mine.group(0), f"this rank called {mine.group(1)} at {where}", 1)
            other = re.search(r"\brank (\d+) called ([^,;]*)", text)
            theirs = _peer_line(comm, int(other.group(1)), where) if other else None
            if other and theirs:
                text = text.replace(other.group(0), f"{other.group(0)} at {theirs}", 1)
        else:
            text = f"{text}; this rank was in {api or 'a collective'} at {where}"
        super().__init__(f"collective mismatch on {name}: {text}")


_NOTICE_WAIT = 1.0  # seconds a member waits for its peer's line
# The notes' tag on the notice context: negative, so no partitioned message (whose user tag
# is >= 0 and which shares that context) is ever taken for one, nor one for it.
_NOTICE_TAG = -3


def _peer_line(comm: object, peer: int, where: str) -> Optional[str]:
    """Where the peer named by a mismatch made its call: both members that found it (each
    in its call, from the other's message or cell) send each other their source line on
    the communicator's notice context and wait up to ``_NOTICE_WAIT`` s for the other's.
    A peer whose call had already returned sends none: then None. Error path only, so
    the hot path never looks up a source line."""
    if comm is None:
        return None
    from . import _runtime  # noqa: PLC0415 - only on this error path
    from .comm import _contexts  # noqa: PLC0415

    core = _runtime.core()
    context = comm._context + _contexts.NOTICE  # type: ignore[attr-defined]
    world = comm._world(peer)  # type: ignore[attr-defined]
    req = core.post_receive(context, world, _NOTICE_TAG)
    core.send(world, context, _NOTICE_TAG, [where.encode()])
    deadline = time.monotonic() + _NOTICE_WAIT
    while not core.test(req):
        if time.monotonic() > deadline:
            core.cancel(req)
            return None
        time.sleep(0.002)
    return bytes(req.payload).decode(errors="replace")


def _communicator(context: int) -> object:
    """The live communicator whose collectives run on ``context`` (None: not found)."""
    if context < 0 or "hpxpy.comm._handle" not in sys.modules:
        return None
    from . import _stall  # noqa: PLC0415 - only on this error path

    return _stall._communicators().get(context - 1)


def _comm_label(comm: object, context: int) -> Tuple[str, Optional[int]]:
    if comm is None:
        if context == _core.CONTEXT_COLLECTIVE:
            from . import _runtime  # noqa: PLC0415 - only on this error path

            return "hpxpy's own collectives", _runtime.locality_id()
        return f"the communicator with context {context - 1}", None
    from . import _stall  # noqa: PLC0415 - only on this error path

    return _stall._comm_name(comm, context - 1), getattr(comm, "_rank", None)


_core._set_mismatch_error(CollectiveMismatchError)
