"""Chaining of futures, in the manner of JavaScript promises (Promises/A+).

``then(future, on_success, on_failure)`` returns a new future of the same class that
settles once ``future`` has and the matching callback has run. A callback that returns a
future makes the new future follow it; ``on_failure`` returning an exception fails the new
future with it, anything else it returns is a result. Cancelling either end cancels the
new future.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Callable, List, Optional

from ._base import Future

__all__ = ["ThenableFuture", "then", "catch"]

_Callback = Optional[Callable[[Any], Any]]


class ThenableFuture(Future):
    """A :class:`Future` with ``then`` and ``catch`` methods."""

    def then(self, on_success: _Callback = None, on_failure: _Callback = None) -> Future:
        """``then(self, on_success, on_failure)``."""
        return then(self, on_success, on_failure)

    def catch(self, on_failure: _Callback = None) -> Future:
        """``catch(self, on_failure)``."""
        return catch(self, on_failure)


def then(future: Future, on_success: _Callback = None, on_failure: _Callback = None) -> Future:
    """A new future settled by ``on_success(result)`` or ``on_failure(exception)`` once
    ``future`` is done (a missing callback passes the outcome through)."""
    follower = type(future)()
    future.add_done_callback(_Link(follower, on_success, on_failure))
    return follower


def catch(future: Future, on_failure: _Callback = None) -> Future:
    """``then(future, None, on_failure)``; without ``on_failure`` a failure becomes the
    result ``None``."""
    return then(future, None, on_failure if on_failure is not None else _to_none)


def _to_none(_: BaseException) -> None:
    return None


# Which futures each follower has been chained to: chaining twice to one is a cycle.
_seen_lock = threading.Lock()
_seen: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _follow(follower: Future, leader: Future) -> None:
    """Make ``follower`` settle as ``leader`` does (a callback returned ``leader``)."""
    if follower is leader:
        raise RuntimeError(f"chain cycle detected: Future {leader} chained with itself")
    with _seen_lock:
        chained = _seen.setdefault(follower, weakref.WeakSet())
        if leader in chained:
            raise RuntimeError(f"chain cycle detected: Future {leader} already in chain")
        chained.add(leader)
    leader.add_done_callback(_Link(follower, None, None))


class _Link:
    """The done-callback that settles one follower from its leader's outcome."""

    def __init__(self, follower: Future, on_success: _Callback, on_failure: _Callback):
        self._pending: List[Future] = [follower]
        self._on_success = on_success
        self._on_failure = on_failure

    def __call__(self, leader: Future) -> None:
        follower = self._pending.pop()
        if leader.cancelled() or follower.cancelled():
            follower.cancel()
            follower.set_running_or_notify_cancel()
            return
        error = leader.exception()
        if error is None:
            try:
                value = leader.result()
                if self._on_success is not None:
                    value = self._on_success(value)
                if isinstance(value, Future):
                    _follow(follower, value)
                else:
                    follower.set_result(value)
            except BaseException as exc:  # the callback failed, or a chain cycle
                self._fail(follower, exc)
        else:
            self._fail(follower, error)

    def _fail(self, follower: Future, error: BaseException) -> None:
        if self._on_failure is None:
            follower.set_exception(error)
            return
        try:
            outcome = self._on_failure(error)
            if isinstance(outcome, Future):
                _follow(follower, outcome)
            elif isinstance(outcome, BaseException):
                follower.set_exception(outcome)
            else:
                follower.set_result(outcome)
        except BaseException as exc:
            follower.set_exception(exc)
