"""The executors of hpxpy's ``mpi4py.futures``: ``MPIPoolExecutor``, ``MPICommExecutor``,
``ThreadPoolExecutor``, ``ProcessPoolExecutor`` and ``get_comm_workers``."""

from __future__ import annotations

import collections
import functools
import itertools
import threading
import time
import weakref
from typing import Any, Callable, Deque, Iterable, Iterator, List, Optional, Tuple

from . import _core
from ._base import BrokenExecutor, Executor, Future, as_completed

__all__ = ["MPIPoolExecutor", "MPICommExecutor", "ThreadPoolExecutor",
           "ProcessPoolExecutor", "get_comm_workers"]


class MPIPoolExecutor(Executor):
    """An executor whose tasks run on worker processes.

    Under ``hpxrun -n N --mpi4py python -m mpi4py.futures prog.py`` the workers are ranks
    1..N-1 (every executor of the program shares them); otherwise each executor spawns
    its own ``max_workers`` worker processes (``MPI.COMM_SELF.Spawn``) when it gets its
    first task, and stops them at shutdown.
    """

    Future: Any = Future

    def __init__(self, max_workers: Optional[int] = None,
                 initializer: Optional[Callable[..., Any]] = None,
                 initargs: Iterable[Any] = (), **kwargs: Any) -> None:
        """``max_workers`` (> 0) is accepted as mpi4py does (a shared team always uses all
        its workers); ``initializer(*initargs)`` runs once in every worker before its
        first task of this executor. The keyword options of mpi4py are accepted:
        ``path``, ``wdir``, ``env``, ``globals``, ``main`` apply to the workers (a shared
        team's: its first executor's); ``python_exe``, ``python_args`` and ``mpi_info``
        (spawn info hints) concern spawned workers; ``use_pkl5`` is accepted (objects
        always travel as one message); ``backoff`` is the polling pause in seconds."""
        if max_workers is not None:
            max_workers = int(max_workers)
            if max_workers <= 0:
                raise ValueError("max_workers must be greater than 0")
            kwargs["max_workers"] = max_workers
        if initializer is not None:
            if not callable(initializer):
                raise TypeError("initializer must be a callable")
            kwargs["initializer"] = initializer
            kwargs["initargs"] = tuple(initargs)
        self._options = kwargs
        self._shutdown = False
        self._broken: Optional[str] = None
        self._lock = threading.Lock()
        self._pool: Optional[_core.Pool] = None

    _make_pool = staticmethod(_core.WorkerPool)

    def _bootstrap(self) -> _core.Pool:
        if self._pool is None:
            self._pool = self._make_pool(self)
        return self._pool

    @property
    def _max_workers(self) -> int:
        return self.num_workers

    @property
    def num_workers(self) -> int:
        """How many workers run this executor's tasks (0 once shut down or broken)."""
        with self._lock:
            if self._broken or self._shutdown:
                return 0
            pool = self._bootstrap()
        pool.wait()
        return 0 if self._broken else int(pool.size or 0)

    def bootup(self, wait: bool = True) -> MPIPoolExecutor:
        """Start the executor's pool now (``wait``: until its workers are ready)."""
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot bootup after shutdown")
            pool = self._bootstrap()
        if wait:
            pool.wait()
        return self

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Schedule ``fn(*args, **kwargs)``; its :class:`Future`."""
        with self._lock:
            if self._broken:
                raise BrokenExecutor(self._broken)
            if self._shutdown:
                raise RuntimeError("cannot submit after shutdown")
            pool = self._bootstrap()
            future: Future = self.Future()
            pool.push((future, (fn, args, kwargs)))
            return future

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any],
            timeout: Optional[float] = None, chunksize: int = 1,
            buffersize: Optional[int] = None, unordered: bool = False) -> Iterator[Any]:
        """``map(fn, *iterables)`` with the calls run by the workers; results in order
        (``unordered``: as they complete). ``timeout`` bounds the whole iteration,
        ``chunksize`` sends that many calls per task, ``buffersize`` bounds the tasks
        submitted ahead of the results taken."""
        return self.starmap(fn, zip(*iterables), timeout, chunksize, buffersize, unordered)

    def starmap(self, fn: Callable[..., Any], iterable: Iterable[Iterable[Any]],
                timeout: Optional[float] = None, chunksize: int = 1,
                buffersize: Optional[int] = None, unordered: bool = False) -> Iterator[Any]:
        """``itertools.starmap(fn, iterable)`` with the calls run by the workers; the
        options are :meth:`map`'s."""
        if chunksize < 1:
            raise ValueError("chunksize must be >= 1.")
        if buffersize is not None:
            if not isinstance(buffersize, int):
                raise TypeError("buffersize must be an integer or None")
            if buffersize < 1:
                raise ValueError("buffersize must be None or > 0")
            if unordered:
                raise ValueError("buffersize must be None if unordered")
        if chunksize == 1:
            return _results(self, fn, iter(iterable), timeout, buffersize, unordered)
        chunks = _chunks(iterable, chunksize)
        batches = _results(self, functools.partial(_apply_chunk, fn), chunks, timeout,
                           buffersize, unordered)
        return itertools.chain.from_iterable(batches)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """No more submissions; ``cancel_futures`` cancels the tasks not yet started;
        ``wait`` waits for the rest to finish and the pool to stop."""
        with self._lock:
            if not self._shutdown:
                self._shutdown = True
                if self._pool is not None:
                    self._pool.done()
            if cancel_futures and self._pool is not None:
                self._pool.cancel()
            pool = None
            if wait:
                pool, self._pool = self._pool, None
        if pool is not None:
            pool.join()


def _apply_chunk(fn: Callable[..., Any], chunk: Tuple[Any, ...]) -> List[Any]:
    return [fn(*args) for args in chunk]


def _chunks(iterable: Iterable[Any], size: int) -> Iterator[Tuple[Any]]:
    it = iter(iterable)
    while True:
        chunk = tuple(itertools.islice(it, size))
        if not chunk:
            return
        yield (chunk,)


def _take(future: Future, timeout: Optional[float]) -> Any:
    try:
        return future.result(timeout)
    finally:
        future.cancel()  # timed out: not wanted any more (a no-op once done)


def _results(executor: MPIPoolExecutor, fn: Callable[..., Any], argiter: Iterator[Any],
             timeout: Optional[float], buffersize: Optional[int],
             unordered: bool) -> Iterator[Any]:
    """Submit now; the generator yields the results and cancels what is left if it is
    closed early or fails."""
    deadline = None if timeout is None else time.monotonic() + timeout
    source = argiter if buffersize is None else itertools.islice(argiter, buffersize)
    fs: Deque[Future] = collections.deque(executor.submit(fn, *args) for args in source)
    exref = weakref.ref(executor)
    del executor

    def left() -> Optional[float]:
        return None if deadline is None else deadline - time.monotonic()

    def generate() -> Iterator[Any]:
        try:
            if unordered:
                for future in as_completed(list(fs), left()):
                    fs.remove(future)
                    yield _take(future, None)
            else:
                while fs:
                    value = _take(fs.popleft(), left())
                    if buffersize is not None:
                        owner = exref()
                        args = next(argiter, None)
                        if owner is not None and args is not None:
                            fs.append(owner.submit(fn, *args))
                        del owner
                    yield value
        finally:
            while fs:
                fs.pop().cancel()

    return generate()


class MPICommExecutor:
    """``with MPICommExecutor(comm, root) as executor:`` on every rank of ``comm``: an
    :class:`MPIPoolExecutor` at ``root`` whose workers are the other ranks, ``None`` on
    those (they run the tasks until the root leaves the block, then go on)."""

    def __init__(self, comm: Any = None, root: int = 0, **kwargs: Any) -> None:
        """``kwargs`` are :class:`MPIPoolExecutor`'s options."""
        if comm is None:
            comm = _core.MPI.COMM_WORLD
        if comm.Is_inter():
            raise ValueError("expecting an intracommunicator")
        if root < 0 or root >= comm.Get_size():
            raise ValueError("expecting root in range(comm.size)")
        if _core.SharedPool is not None:  # under -m mpi4py.futures: the shared team
            comm = _core.MPI.COMM_WORLD
            root = comm.Get_rank()
        self._comm = comm
        self._root = root
        self._options = kwargs
        self._executor: Optional[MPIPoolExecutor] = None

    def __enter__(self) -> Optional[MPIPoolExecutor]:
        if self._executor is not None:
            raise RuntimeError("__enter__")
        executor = None
        if self._comm.Get_rank() == self._root:
            executor = _CommPoolExecutor(**self._options)
            if _core.SharedPool is not None:
                executor._pool = _core.SharedPool(executor)
        if _core.SharedPool is None:
            _core.comm_executor_enter(executor, self._comm, self._root)
        self._executor = executor
        return executor

    def __exit__(self, *exc: Any) -> bool:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
            return False
        return True


class _CommPoolExecutor(MPIPoolExecutor):
    """The root's executor of an :class:`MPICommExecutor` (its pool is set up there)."""


class ThreadPoolExecutor(MPIPoolExecutor):
    """:class:`MPIPoolExecutor`'s interface over threads of this process."""

    _make_pool = staticmethod(_core.ThreadPool)


class ProcessPoolExecutor(MPIPoolExecutor):
    """:class:`MPIPoolExecutor` over spawned processes, also under ``-m mpi4py.futures``."""

    _make_pool = staticmethod(_core.SpawnPool)


def get_comm_workers() -> Any:
    """Inside a task on a worker: the intracommunicator of all the workers."""
    return _core.get_comm_server()
