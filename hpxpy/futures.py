"""HPX-style futures over the runtime's asynchronous operations."""

from __future__ import annotations

import threading
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Generic, Iterable, List, Optional, TypeVar

if TYPE_CHECKING:
    import concurrent.futures



def _concurrent() -> ModuleType:
    """concurrent.futures, imported on first use: it loads logging, which a program that
    makes no future should not pay for at start-up."""
    import concurrent.futures  # noqa: PLC0415

    return concurrent.futures


T = TypeVar("T")
U = TypeVar("U")


class Future(Generic[T]):
    """The eventual result of an asynchronous operation (``hpx::future``).

    ``get()`` waits for and returns the value (re-raising the operation's exception),
    ``done()`` tells whether it is ready, ``then(fn)`` chains a continuation, and a Future
    can be awaited in asyncio code.
    """

    __slots__ = ("_cf",)

    def __init__(self, cf: Optional[concurrent.futures.Future] = None) -> None:
        self._cf = cf if cf is not None else _concurrent().Future()

    def get(self, timeout: Optional[float] = None) -> T:
        """Wait for the result and return it; raises what the operation raised.

        ``timeout`` (seconds) raises ``TimeoutError`` if the result is not ready in time.
        """
        try:
            return self._cf.result(timeout)
        except _concurrent().TimeoutError:
            raise TimeoutError(f"future not ready after {timeout} s") from None

    def done(self) -> bool:
        """True once the result (or an exception) is available."""
        return self._cf.done()

    def is_ready(self) -> bool:
        """HPX's name for :meth:`done`."""
        return self._cf.done()

    def has_exception(self) -> bool:
        """True if the operation finished with an exception."""
        return self._cf.done() and self._cf.exception() is not None

    def then(self, fn: Callable[[Future[T]], U]) -> Future[U]:
        """Run ``fn(self)`` once this future is ready; returns a future of its result.

        As in HPX, the continuation receives the ready future (call ``.get()`` on it). It
        runs on the thread that completed this future, so keep it short and do not block
        on other pending futures inside it.
        """
        nxt: concurrent.futures.Future = _concurrent().Future()

        def run(_: concurrent.futures.Future) -> None:
            try:
                nxt.set_result(fn(self))
            except BaseException as exc:  # noqa: BLE001 - handed to the waiter
                nxt.set_exception(exc)

        self._cf.add_done_callback(run)
        return Future(nxt)

    def __await__(self):
        import asyncio  # on first await only: importing it costs start-up time

        return asyncio.wrap_future(self._cf).__await__()

    def __repr__(self) -> str:
        state = "ready" if self.done() else "pending"
        return f"<hpxpy.Future {state}>"


def make_ready_future(value: T) -> Future[T]:
    """A future that already holds ``value``."""
    fut: Future[T] = Future()
    fut._cf.set_result(value)
    return fut


def when_all(*futures: Any) -> Future[List[Any]]:
    """A future of the list of results of ``futures`` (or one iterable of futures)."""
    if len(futures) == 1 and not isinstance(futures[0], Future):
        futures = tuple(futures[0])
    items: Iterable[Future] = futures
    cfs = [f._cf for f in items]
    out: concurrent.futures.Future = _concurrent().Future()
    remaining = [len(cfs)]
    lock = threading.Lock()  # callbacks of different futures run on different threads

    def one_done(_: concurrent.futures.Future) -> None:
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            try:
                out.set_result([cf.result() for cf in cfs])
            except BaseException as exc:  # noqa: BLE001
                out.set_exception(exc)

    if not cfs:
        out.set_result([])
    for cf in cfs:
        cf.add_done_callback(one_done)
    return Future(out)
