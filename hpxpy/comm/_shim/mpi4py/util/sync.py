"""Synchronisation between processes (``mpi4py.util.sync``), written for hpxpy.

Same names, arguments and behaviour as mpi4py 4.1's module, built on ``MPI.Win``:

- ``Sequential(comm, tag=0)``: a context manager (or ``begin()``/``end()``) that runs its
  block one rank at a time, in rank order (a token passed from rank to rank).
- ``Counter(start=0, step=1, *, typecode='i', comm=COMM_SELF, info=INFO_NULL, root=0)``:
  a shared counter living in ``root``'s window; ``next(incr=None)`` is one atomic
  ``Fetch_and_op`` under a shared lock.
- ``Mutex(recursive=False, *, comm=COMM_SELF, info=INFO_NULL)``: a queue lock (MCS): the
  tail of the queue is in rank 0's window; a process that finds a predecessor tells it
  and waits (asleep, in a receive) for the predecessor to hand the lock over.
- ``Condition(mutex=None, recursive=True, *, comm=COMM_SELF, info=INFO_NULL)``: waiters
  queue their ranks in rank 0's window (while holding the mutex) and sleep in a receive
  until a ``notify`` sends them a message.
- ``Semaphore(value=1, bounded=True, *, comm=COMM_SELF, info=INFO_NULL)``: a counter plus
  a condition.

Every constructor and ``free()`` is collective over the communicator. After ``free()``
every other method raises ``RuntimeError``; ``free()`` itself may be called again.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional

import numpy as np

from hpxpy.comm import MPI
from hpxpy.comm._ops import REPLACE, SUM

# _INT and _BYTE are made at import time (invisible to the type checker)
_INT = MPI.Datatype.fromcode("i")
_BYTE = MPI.Datatype.fromcode("B")

__all__ = ["Sequential", "Counter", "Mutex", "Condition", "Semaphore"]

_TAG_GRANT = 1  # Mutex: the lock is yours
_TAG_SUCCESSOR = 2  # Mutex: I queued behind you
_TAG_NOTIFY = 3  # Condition: wake up


class Sequential:
    """Run a block of code one process at a time, in rank order."""

    def __init__(self, comm: MPI.Intracomm, tag: int = 0) -> None:
        self.comm = comm
        self.tag = tag

    def __enter__(self) -> Sequential:
        self.begin()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.end()

    def begin(self) -> None:
        """Wait for the previous rank to finish its turn."""
        comm, rank = self.comm, self.comm.Get_rank()
        if rank > 0:
            comm.Recv([None, 0, _BYTE], rank - 1, self.tag)

    def end(self) -> None:
        """Hand the turn to the next rank."""
        comm, rank = self.comm, self.comm.Get_rank()
        if rank < comm.Get_size() - 1:
            comm.Send([None, 0, _BYTE], rank + 1, self.tag)


def _free_window(win: Optional[MPI.Win], comm: Optional[MPI.Intracomm]) -> None:
    if win is not None:
        win.Free()
    if comm is not None:
        comm.Free()


class Counter:
    """A global counter: ``next()`` returns its value and adds ``step`` (atomically)."""

    def __init__(self, start: int = 0, step: int = 1, *, typecode: str = "i",
                 comm: MPI.Intracomm = MPI.COMM_SELF, info: MPI.Info = MPI.INFO_NULL,
                 root: int = 0) -> None:
        datatype = MPI.Datatype.fromcode(typecode)
        itemsize = datatype.Get_size()
        rank = comm.Get_rank()
        self._win: Optional[MPI.Win] = MPI.Win.Allocate(
            itemsize if rank == root else 0, itemsize, info, comm)
        if rank == root:
            memory = np.frombuffer(self._win.tomemory(), dtype=typecode)
            memory[0] = start
        self._win.Fence()  # the start value is in place before anyone counts
        self._dtype = np.dtype(typecode)
        self._datatype = datatype
        self._step = step
        self._root = root

    def __iter__(self) -> Counter:
        return self

    def __next__(self) -> Any:
        return self.next()

    def next(self, incr: Optional[int] = None) -> Any:
        """The counter's value, then add ``incr`` (default: the step) to it."""
        win = self._win
        if win is None:
            raise RuntimeError("counter already freed")
        add = np.array([self._step if incr is None else incr], dtype=self._dtype)
        old = np.zeros(1, dtype=self._dtype)
        win.Lock(self._root, MPI.LOCK_SHARED)
        win.Fetch_and_op([add, self._datatype], [old, self._datatype], self._root, 0, SUM)
        win.Unlock(self._root)
        return old[0].item()

    def free(self) -> None:
        """Free the counter (collective)."""
        win, self._win = self._win, None
        if win is not None:
            win.Free()


class Mutex:
    """A lock shared by the processes of a communicator (``recursive``: the holder may
    acquire it again, and must release it as many times)."""

    def __init__(self, recursive: bool = False, *, comm: MPI.Intracomm = MPI.COMM_SELF,
                 info: MPI.Info = MPI.INFO_NULL) -> None:
        dup: Any = comm.Dup()
        self._comm: Optional[MPI.Intracomm] = dup
        rank = dup.Get_rank()
        self._win: Optional[MPI.Win] = MPI.Win.Allocate(
            _INT.Get_size() if rank == 0 else 0, _INT.Get_size(), info, dup)
        if rank == 0:
            np.frombuffer(self._win.tomemory(), dtype="i")[0] = MPI.PROC_NULL  # no tail
        self._win.Fence()
        self._recursive = bool(recursive)
        self._count = 0

    # -- the queue lock ------------------------------------------------------------------------
    def _swap_tail(self, value: int) -> int:
        win = self._win
        assert win is not None
        mine = np.array([value], "i")
        old = np.zeros(1, "i")
        win.Lock(0, MPI.LOCK_SHARED)
        win.Fetch_and_op([mine, _INT], [old, _INT], 0, 0, REPLACE)
        win.Unlock(0)
        return int(old[0])

    def _cas_tail(self, expected: int, value: int) -> int:
        win = self._win
        assert win is not None
        mine, compare, old = np.array([value], "i"), np.array([expected], "i"), np.zeros(1, "i")
        win.Lock(0, MPI.LOCK_SHARED)
        win.Compare_and_swap([mine, _INT], [compare, _INT], [old, _INT], 0, 0)
        win.Unlock(0)
        return int(old[0])

    def _acquire(self, blocking: bool) -> bool:
        comm = self._comm
        assert comm is not None
        me = comm.Get_rank()
        if not blocking:
            return self._cas_tail(MPI.PROC_NULL, me) == MPI.PROC_NULL
        previous = self._swap_tail(me)
        if previous != MPI.PROC_NULL:
            comm.Send([None, 0, _BYTE], previous, _TAG_SUCCESSOR)
            comm.Recv([None, 0, _BYTE], previous, _TAG_GRANT)
        return True

    def _release(self) -> None:
        comm = self._comm
        assert comm is not None
        me = comm.Get_rank()
        if self._cas_tail(me, MPI.PROC_NULL) == me:
            return  # nobody queued behind us
        status = MPI.Status()
        comm.Recv([None, 0, _BYTE], MPI.ANY_SOURCE, _TAG_SUCCESSOR, status)
        comm.Send([None, 0, _BYTE], status.Get_source(), _TAG_GRANT)

    def _check(self) -> None:
        if self._win is None:
            raise RuntimeError("mutex already freed")

    # -- the API ---------------------------------------------------------------------------
    def __enter__(self) -> Mutex:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def acquire(self, blocking: bool = True) -> bool:
        """Take the lock (``blocking`` False: only if it is free); True if taken."""
        self._check()
        if self._count:
            if not self._recursive:
                raise RuntimeError("cannot acquire already held mutex")
            self._count += 1
            return True
        if not self._acquire(blocking):
            return False
        self._count = 1
        return True

    def release(self) -> None:
        """Release the lock (once, for a recursive mutex)."""
        self._check()
        if not self._count:
            raise RuntimeError("cannot release unheld mutex")
        self._count -= 1
        if not self._count:
            self._release()

    def locked(self) -> bool:
        """True if this process holds the lock."""
        self._check()
        return self._count > 0

    def count(self) -> int:
        """How many times this process holds the lock (recursive mutexes)."""
        self._check()
        return self._count

    def free(self) -> None:
        """Free the mutex (collective); a lock this process holds is released first."""
        if self._win is None:
            return
        if self._count:
            self._count = 0
            self._release()
        win, comm = self._win, self._comm
        self._win = self._comm = None
        _free_window(win, comm)


class Condition:
    """A condition variable over a :class:`Mutex` (its own recursive one by default)."""

    def __init__(self, mutex: Optional[Mutex] = None, recursive: bool = True, *,
                 comm: MPI.Intracomm = MPI.COMM_SELF,
                 info: MPI.Info = MPI.INFO_NULL) -> None:
        if mutex is None:
            self._mutex: Optional[Mutex] = Mutex(recursive, comm=comm, info=info)
            self._own_mutex = True
        else:
            self._mutex = mutex
            self._own_mutex = False
            assert mutex._comm is not None
            comm = mutex._comm
        dup: Any = comm.Dup()
        self._comm: Optional[MPI.Intracomm] = dup
        size, rank = dup.Get_size(), dup.Get_rank()
        # rank 0 keeps the queue of waiters: [count, rank, rank, ...]
        nbytes = (size + 1) * _INT.Get_size() if rank == 0 else 0
        self._win: Optional[MPI.Win] = MPI.Win.Allocate(nbytes, _INT.Get_size(), info, dup)
        if rank == 0:
            np.frombuffer(self._win.tomemory(), dtype="i")[:] = 0
        self._win.Fence()
        self._size = size

    def _check(self) -> Mutex:
        if self._win is None or self._mutex is None or self._mutex._win is None:
            raise RuntimeError("condition already freed")
        return self._mutex

    def _held(self) -> Mutex:
        mutex = self._check()
        if not mutex._count:
            raise RuntimeError("cannot wait on un-acquired lock")
        return mutex

    def _queue(self, change: Callable[[List[int]], List[int]]) -> List[int]:
        """Apply ``change`` to the waiters' queue (the mutex is held); returns the old."""
        win = self._win
        assert win is not None
        table = np.zeros(self._size + 1, "i")
        win.Lock(0, MPI.LOCK_EXCLUSIVE)
        win.Get([table, _INT], 0)
        waiters = [int(r) for r in table[1:1 + table[0]]]
        new = change(list(waiters))
        table[:] = 0
        table[0] = len(new)
        table[1:1 + len(new)] = new
        win.Put([table, _INT], 0)
        win.Unlock(0)
        return waiters

    def __enter__(self) -> Condition:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def acquire(self, blocking: bool = True) -> bool:
        """Acquire the underlying mutex."""
        return self._check().acquire(blocking)

    def release(self) -> None:
        """Release the underlying mutex."""
        self._check().release()

    def wait(self) -> bool:
        """Release the mutex, sleep until notified, take the mutex back."""
        mutex = self._held()
        comm = self._comm
        assert comm is not None
        me = comm.Get_rank()
        self._queue(lambda waiters: waiters + [me])
        held = mutex._count
        mutex._count = 0
        mutex._release()
        comm.Recv([None, 0, _BYTE], MPI.ANY_SOURCE, _TAG_NOTIFY)
        mutex._acquire(True)
        mutex._count = held
        return True

    def wait_for(self, predicate: Callable[[], Any]) -> Any:
        """``wait()`` until ``predicate()`` is true; returns its last value."""
        self._held()
        result = predicate()
        while not result:
            self.wait()
            result = predicate()
        return result

    def notify(self, n: int = 1) -> int:
        """Wake up to ``n`` waiters; returns how many were woken."""
        self._held()
        comm = self._comm
        assert comm is not None
        woken = self._queue(lambda waiters: waiters[n:])[:n]
        for rank in woken:
            comm.Send([None, 0, _BYTE], rank, _TAG_NOTIFY)
        return len(woken)

    def notify_all(self) -> int:
        """Wake every waiter; returns how many were woken."""
        return self.notify(self._size)

    def free(self) -> None:
        """Free the condition (collective), and its mutex if it made it; the mutex is
        released first if this process holds it (others may be waiting for it)."""
        if self._win is None:
            return
        win, comm = self._win, self._comm
        mutex, own = self._mutex, self._own_mutex
        if mutex is not None and mutex._win is not None and mutex._count:
            mutex._count = 0
            mutex._release()
        self._win = self._comm = self._mutex = None
        _free_window(win, comm)
        if own and mutex is not None:
            mutex.free()


class Semaphore:
    """A counting semaphore (``bounded``: releasing above the initial value raises
    ``ValueError``)."""

    def __init__(self, value: int = 1, bounded: bool = True, *,
                 comm: MPI.Intracomm = MPI.COMM_SELF,
                 info: MPI.Info = MPI.INFO_NULL) -> None:
        if value < 0:
            raise ValueError("initial value must be non-negative")
        self._bounded = bool(bounded)
        self._value = value
        self._counter: Optional[Counter] = Counter(value, comm=comm, info=info)
        self._condition: Optional[Condition] = Condition(comm=comm, info=info)

    def _check(self) -> Condition:
        if self._condition is None or self._counter is None:
            raise RuntimeError("semaphore already freed")
        return self._condition

    def __enter__(self) -> Semaphore:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def acquire(self, blocking: bool = True) -> bool:
        """Take one unit (``blocking`` False: only if one is free); True if taken."""
        condition = self._check()
        counter = self._counter
        assert counter is not None
        with condition:
            while True:
                if counter.next(-1) > 0:
                    return True
                counter.next(+1)
                if not blocking:
                    return False
                condition.wait()

    def release(self, n: int = 1) -> None:
        """Give back ``n`` units, waking as many waiters."""
        condition = self._check()
        counter = self._counter
        assert counter is not None
        if n < 1:
            raise ValueError("n must be one or more")
        with condition:
            if self._bounded and counter.next(0) + n > self._value:
                raise ValueError("semaphore released too many times")
            counter.next(n)
            condition.notify(n)

    def free(self) -> None:
        """Free the semaphore (collective)."""
        counter, condition = self._counter, self._condition
        self._counter = self._condition = None
        if counter is not None:
            counter.free()
        if condition is not None:
            condition.free()

