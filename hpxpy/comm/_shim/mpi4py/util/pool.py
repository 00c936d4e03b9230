"""A ``multiprocessing.pool.Pool``-like interface over ``mpi4py.futures`` executors.

``Pool(processes)`` runs the calls on an :class:`~mpi4py.futures.MPIPoolExecutor` (on
hpxpy: the workers of ``python -m mpi4py.futures``), ``ThreadPool`` on threads. The
``*_async`` methods return :class:`AsyncResult` objects; ``maxtasksperchild`` and
``context`` are not supported (a warning says so).
"""

from __future__ import annotations

import functools
import itertools
import operator
import os
import threading
import warnings
import weakref
from typing import Any, Callable, Iterable, Iterator, List, Optional, Tuple

from .. import futures as _futures

__all__ = ["Pool", "ThreadPool", "AsyncResult", "ApplyResult", "MapResult"]

_Callback = Optional[Callable[[Any], Any]]


class Pool:
    """A pool of worker processes with ``multiprocessing.pool.Pool``'s methods."""

    Executor: Any = _futures.MPIPoolExecutor

    def __init__(self, processes: Optional[int] = None,
                 initializer: Optional[Callable[..., Any]] = None,
                 initargs: Iterable[Any] = (), **kwargs: Any) -> None:
        """``processes`` workers (>= 1), each running ``initializer(*initargs)`` first;
        other keyword arguments go to the executor."""
        if processes is not None and processes < 1:
            raise ValueError("number of processes must be at least 1")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        for name in ("maxtasksperchild", "context"):
            if kwargs.pop(name, None) is not None:
                warnings.warn(f"argument {name!r} is not supported", stacklevel=2)
        self.executor = self.Executor(processes, initializer=initializer,
                                      initargs=initargs, **kwargs)

    def apply(self, func: Callable[..., Any], args: Iterable[Any] = (),
              kwds: Optional[dict] = None) -> Any:
        """``func(*args, **kwds)`` on a worker; its result."""
        return self.executor.submit(func, *args, **(kwds or {})).result()

    def apply_async(self, func: Callable[..., Any], args: Iterable[Any] = (),
                    kwds: Optional[dict] = None, callback: _Callback = None,
                    error_callback: _Callback = None) -> ApplyResult:
        """Start ``func(*args, **kwds)`` on a worker."""
        future = self.executor.submit(func, *args, **(kwds or {}))
        return ApplyResult(future, callback, error_callback)

    def map(self, func: Callable[[Any], Any], iterable: Iterable[Any],
            chunksize: Optional[int] = None) -> List[Any]:
        """``list(map(func, iterable))``, computed by the workers."""
        return self.starmap(func, zip(iterable), chunksize)

    def map_async(self, func: Callable[[Any], Any], iterable: Iterable[Any],
                  chunksize: Optional[int] = None, callback: _Callback = None,
                  error_callback: _Callback = None) -> MapResult:
        """Start ``map``; a result whose ``get()`` is the list."""
        return self.starmap_async(func, zip(iterable), chunksize, callback, error_callback)

    def imap(self, func: Callable[[Any], Any], iterable: Iterable[Any],
             chunksize: int = 1) -> Iterator[Any]:
        """An iterator over ``func(x)`` in order."""
        return self.istarmap(func, zip(iterable), chunksize)

    def imap_unordered(self, func: Callable[[Any], Any], iterable: Iterable[Any],
                       chunksize: int = 1) -> Iterator[Any]:
        """An iterator over ``func(x)`` as they complete."""
        return self.istarmap_unordered(func, zip(iterable), chunksize)

    def starmap(self, func: Callable[..., Any], iterable: Iterable[Iterable[Any]],
                chunksize: Optional[int] = None) -> List[Any]:
        """``list(itertools.starmap(func, iterable))``, computed by the workers."""
        iterable, chunksize = _chunksize(self, iterable, chunksize)
        return list(self.executor.starmap(func, iterable, chunksize=chunksize))

    def starmap_async(self, func: Callable[..., Any], iterable: Iterable[Iterable[Any]],
                      chunksize: Optional[int] = None, callback: _Callback = None,
                      error_callback: _Callback = None) -> MapResult:
        """Start ``starmap``; a result whose ``get()`` is the list."""
        iterable, chunksize = _chunksize(self, iterable, chunksize)
        results = self.executor.starmap(func, iterable, chunksize=chunksize)
        future = _helper_executor(self).submit(list, results)
        return MapResult(future, callback, error_callback)

    def istarmap(self, func: Callable[..., Any], iterable: Iterable[Iterable[Any]],
                 chunksize: int = 1) -> Iterator[Any]:
        """An iterator over ``func(*args)`` in order."""
        return self.executor.starmap(func, iterable, chunksize=chunksize)

    def istarmap_unordered(self, func: Callable[..., Any],
                           iterable: Iterable[Iterable[Any]],
                           chunksize: int = 1) -> Iterator[Any]:
        """An iterator over ``func(*args)`` as they complete."""
        return self.executor.starmap(func, iterable, chunksize=chunksize, unordered=True)

    def close(self) -> None:
        """Accept no more work; what was submitted still runs."""
        self.executor.shutdown(wait=False)

    def terminate(self) -> None:
        """Accept no more work and cancel what has not started."""
        self.executor.shutdown(wait=False, cancel_futures=True)
        _helper_shutdown(self, wait=False)

    def join(self) -> None:
        """Wait for the work to finish (after ``close`` or ``terminate``)."""
        self.executor.shutdown(wait=True)
        _helper_shutdown(self, wait=True)

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.terminate()


class ThreadPool(Pool):
    """:class:`Pool` over threads of this process."""

    Executor = _futures.ThreadPoolExecutor


class AsyncResult:
    """The pending result of an ``*_async`` call."""

    def __init__(self, future: Any, callback: _Callback = None,
                 error_callback: _Callback = None) -> None:
        self.future = future
        self._event = threading.Event()
        future.add_done_callback(functools.partial(
            _on_done, event=self._event, callback=callback, error_callback=error_callback))

    def get(self, timeout: Optional[float] = None) -> Any:
        """The result, waiting at most ``timeout`` seconds (then ``TimeoutError``); the
        call's exception is raised again here."""
        self.wait(timeout)
        if not self.ready():
            raise TimeoutError
        try:
            return self.future.result()
        except _futures.CancelledError:
            raise TimeoutError from None

    def wait(self, timeout: Optional[float] = None) -> None:
        """Wait at most ``timeout`` seconds for the result."""
        self._event.wait(timeout)

    def ready(self) -> bool:
        """Whether the call has finished."""
        return self._event.is_set()

    def successful(self) -> bool:
        """Whether it finished without an exception (``ValueError`` if not finished)."""
        if not self.ready():
            raise ValueError(f"{self!r} not ready")
        try:
            return self.future.exception() is None
        except _futures.CancelledError:
            return False


class ApplyResult(AsyncResult):
    """The result of ``apply_async``."""


class MapResult(AsyncResult):
    """The result of ``map_async``/``starmap_async``."""


def _on_done(future: Any, event: threading.Event, callback: _Callback,
             error_callback: _Callback) -> None:
    try:
        try:
            error = future.exception()
        except _futures.CancelledError:
            error = TimeoutError()
        if error is not None:
            if error_callback is not None:
                error_callback(error)
        elif callback is not None:
            callback(future.result())
    finally:
        event.set()


def _chunksize(pool: Pool, iterable: Iterable[Any],
               chunksize: Optional[int]) -> Tuple[Iterable[Any], int]:
    """As multiprocessing: by default about four chunks per worker."""
    if chunksize is not None:
        return iterable, chunksize
    workers = getattr(pool.executor, "_max_workers", 0)
    if workers <= 0:
        return iterable, 1
    tasks = operator.length_hint(iterable)
    if tasks == 0:
        iterable = list(iterable)
        tasks = len(iterable)
    if tasks == 0:
        return iterable, 1
    quot, rem = divmod(tasks, workers * 4)
    return iterable, quot + bool(rem)


# One small thread pool per Pool collects the results of the *_async maps.
_helpers: weakref.WeakKeyDictionary[Pool, Any] = weakref.WeakKeyDictionary()
_helpers_lock = threading.Lock()


def _helper_executor(pool: Pool) -> Any:
    with _helpers_lock:
        helper = _helpers.get(pool)
        if helper is None:
            count = getattr(os, "process_cpu_count", os.cpu_count)() or 1
            helper = _futures.ThreadPoolExecutor(min(4, count))
            _helpers[pool] = helper
        return helper


def _helper_shutdown(pool: Pool, wait: bool) -> None:
    with _helpers_lock:
        helper = _helpers.pop(pool, None)
    if helper is not None:
        helper.shutdown(wait=wait)


del itertools
