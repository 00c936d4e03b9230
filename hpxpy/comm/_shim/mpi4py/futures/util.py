"""Helpers over futures: ``collect`` (many into one) and ``compose`` (result hooks)."""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, Iterable, List, Optional

from ._base import Future

__all__ = ["collect", "compose"]


def collect(fs: Iterable[Future]) -> Future:
    """One future whose result is the list of the results of ``fs``, in order.

    It fails with the first exception among ``fs`` and is cancelled if one of them is;
    either way the items still pending are cancelled. Cancelling it cancels them all. The
    new future has the class of the first item (a plain :class:`Future` when ``fs`` is
    empty, then already done with ``[]``).
    """
    items = list(fs)
    if not items:
        done: Future = Future()
        done.set_result([])
        return done
    return _Collector(items).future


class _Collector:
    def __init__(self, items: List[Future]) -> None:
        self._lock = threading.RLock()
        self._slots: Dict[Future, List[int]] = {}
        for index, item in enumerate(items):
            self._slots.setdefault(item, []).append(index)
        self._values: List[Any] = [None] * len(items)
        self._open = True
        self.future: Future = type(items[0])()
        self.future.add_done_callback(self._finished)
        for item in list(self._slots):
            item.add_done_callback(self._arrived)

    def _arrived(self, item: Future) -> None:
        with self._lock:
            if not self._open:
                return
            if item.cancelled():
                self.future.cancel()
                return
            error = item.exception()
            if error is not None:
                if self.future.set_running_or_notify_cancel():
                    self.future.set_exception(error)
                return
            for index in self._slots.pop(item):
                self._values[index] = item.result()
            if not self._slots and self.future.set_running_or_notify_cancel():
                self.future.set_result(self._values)

    def _finished(self, future: Future) -> None:
        with self._lock:
            self._open = False
            for item in self._slots:
                item.cancel()
            self._slots = {}
        if future.cancelled():
            future.set_running_or_notify_cancel()


def compose(future: Future, resulthook: Optional[Callable[[Any], Any]] = None,
            excepthook: Optional[Callable[[BaseException], Any]] = None) -> Future:
    """A new future (of ``future``'s class) settled from ``future``'s outcome.

    A result goes through ``resulthook`` (if given) to become the new result; an exception
    goes through ``excepthook``: an exception it returns fails the new future, anything
    else is its result. A hook that raises fails it with that exception. Cancelling either
    future cancels the other.
    """
    composed = type(future)()

    def on_composed(new: Future) -> None:
        if new.cancelled():
            new.set_running_or_notify_cancel()
            future.cancel()

    def on_source(old: Future) -> None:
        if composed.done():  # cancelled first: nothing to settle
            return
        try:
            if old.cancelled():
                composed.cancel()
                return
            error = old.exception()
            if error is not None:
                outcome = excepthook(error) if excepthook is not None else error
                if isinstance(outcome, BaseException):
                    composed.set_exception(outcome)
                else:
                    composed.set_result(outcome)
            else:
                value = old.result()
                composed.set_result(resulthook(value) if resulthook is not None else value)
        except BaseException as exc:
            composed.set_exception(exc)

    composed.add_done_callback(on_composed)
    future.add_done_callback(on_source)
    return composed
