"""Worker processes for hpxpy's ``mpi4py.futures``: pools, teams and the task protocol.

A *team* is one master rank and the other ranks of a private duplicate of a communicator
(``MPICommExecutor``: the one given; ``python -m mpi4py.futures``: ``COMM_WORLD``, the
*shared* team every ``MPIPoolExecutor`` of the program uses). Every message is an object
message from the master to a worker or back:

- tag 0, master to worker: ``("sync", options)`` (import the master's ``__main__`` as
  ``__worker__``, extend ``sys.path``, change directory, update the environment) or
  ``None`` (stop serving);
- tag t > 0, one tag per executor: ``("init", fn, args, kwargs)`` (reply ``True`` or
  ``False``) and ``("call", fn, args, kwargs)`` (reply ``("ok", result)`` or
  ``("err", exception, traceback text)``), the reply on the same tag.

Each executor has a :class:`Pool`: a task queue and a manager thread, which hands queued
tasks to idle workers of the team (the idle set is shared by the executors of a team),
polls for replies on its tag and settles the futures. Without workers (a team of one
process) the manager thread runs the tasks itself. Workers answer in a blocking receive
loop (:func:`serve`). ``MPIPoolExecutor`` outside a team spawns its workers
(:func:`SpawnPool`): ``max_workers`` processes of ``python_exe python_args -m
mpi4py.futures.server``, whose team is the inter-communicator to them (the master alone in
its group); they serve the master until it stops them, then disconnect.
"""

from __future__ import annotations

import collections
import importlib.util
import os
import sys
import threading
import time
import traceback
import types
import warnings
import weakref
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

from hpxpy.comm import MPI

from ._base import BrokenExecutor, Future

__all__ = [
    "MAIN_RUN_NAME", "SharedPool", "RemoteTraceback", "SpawnUnavailable", "Pool",
    "WorkerPool", "ThreadPool", "SpawnPool", "SharedPoolCtx", "get_comm_server",
    "setup_mpi_threads", "serialized", "comm_split",
]

MAIN_RUN_NAME = "__worker__"  # the name the master's __main__ is imported under on workers
_CONTROL = 0  # the tag of "sync" and stop messages
_BACKOFF = 0.001  # seconds: the longest pause of a polling manager


class SpawnUnavailable(NotImplementedError):
    """Kept for programs that caught it: spawning workers works on hpxpy now."""


SPAWN_MESSAGE = (
    "mpi4py.futures.server is the entry point of workers spawned by MPIPoolExecutor; run "
    "on its own it has no parent to serve")


class RemoteTraceback(Exception):
    """The formatted traceback of an exception raised on a worker (its ``__cause__``)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


# -- thread support ------------------------------------------------------------------------
def serialized(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function``, called under ``serialized.lock`` when the MPI library is not
    thread-safe (never the case on hpxpy, which provides ``THREAD_MULTIPLE``)."""
    lock = serialized.lock  # type: ignore[attr-defined]
    if lock is None:
        return function

    def locked(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return function(*args, **kwargs)

    return locked


serialized.lock = None  # type: ignore[attr-defined]
_thread_level: Optional[int] = None
_thread_level_lock = threading.Lock()


def setup_mpi_threads() -> None:
    """Read the thread level once; below ``THREAD_MULTIPLE`` serialise the pool's calls."""
    global _thread_level
    with _thread_level_lock:
        if _thread_level is None:
            _thread_level = MPI.Query_thread()
            if _thread_level < MPI.THREAD_MULTIPLE:
                serialized.lock = threading.Lock()  # type: ignore[attr-defined]
    if _thread_level < MPI.THREAD_SERIALIZED:
        warnings.warn("the MPI thread level should be at least MPI_THREAD_SERIALIZED",
                      RuntimeWarning, stacklevel=2)


class Backoff:
    """Growing pauses (up to ``seconds``) between polls that found nothing."""

    def __init__(self, seconds: float = _BACKOFF) -> None:
        self.tmax = max(float(seconds), 0.0)
        self.tval = 0.0

    def reset(self) -> None:
        self.tval = 0.0

    def sleep(self) -> None:
        time.sleep(self.tval)
        self.tval = min(self.tmax, max(self.tmax / 1024, self.tval * 2))


def _option_env(name: str) -> Optional[str]:
    return os.environ.get(f"MPI4PY_FUTURES_{name}")


def _backoff_of(options: Dict[str, Any]) -> float:
    value = options.get("backoff")
    if value is None:
        value = _option_env("BACKOFF") or _BACKOFF
    return float(value)


# -- the worker communicator ---------------------------------------------------------------
_tls = threading.local()


def get_comm_server() -> Any:
    """The intracommunicator of the workers, inside a task running on a worker."""
    try:
        return _tls.comm_server
    except AttributeError:
        raise RuntimeError("communicator is not accessible") from None


def _set_comm_server(comm: Any) -> None:
    _tls.comm_server = comm


def _del_comm_server() -> None:
    _tls.__dict__.pop("comm_server", None)


# -- pools ---------------------------------------------------------------------------------
class TaskQueue(collections.deque):
    """Tasks in submission order (``(future, (fn, args, kwargs))``; ``None`` = stop);
    ``pop`` takes the oldest and raises ``LookupError`` (IndexError) when empty."""

    put = collections.deque.append
    pop = collections.deque.popleft


_live_pools: weakref.WeakKeyDictionary[threading.Thread, TaskQueue] = \
    weakref.WeakKeyDictionary()


def _join_pools(pools: weakref.WeakKeyDictionary[threading.Thread, TaskQueue]) -> None:
    """Stop and join the manager threads of ``pools`` (at exit: pools never shut down)."""
    items = list(pools.items())
    for _, queue in items:
        queue.put(None)
    for thread, _ in items:
        thread.join()


if hasattr(threading, "_register_atexit"):  # before the interpreter joins its threads
    threading._register_atexit(_join_pools, _live_pools)
else:  # pragma: no cover
    import atexit

    atexit.register(_join_pools, _live_pools)

Manager = Callable[["Pool", Dict[str, Any]], None]


class Pool:
    """One executor's queue of tasks and the manager thread that runs them."""

    def __init__(self, executor: Any, manager: Manager, register: bool = True) -> None:
        self.size: Optional[int] = None
        self.event = threading.Event()  # set once the workers are ready (or broken)
        self.queue = queue = TaskQueue()
        self.wakeup = wakeup = threading.Event()  # a task (or the stop) was queued

        def lost(_: Any) -> None:  # the executor was collected without shutdown
            queue.put(None)
            wakeup.set()

        self.exref = weakref.ref(executor, lost)
        setup_mpi_threads()
        self.thread = threading.Thread(target=manager, args=(self, dict(executor._options)),
                                       name="mpi4py.futures", daemon=False)
        self.thread.start()
        if register:
            _live_pools[self.thread] = queue

    def wait(self) -> None:
        self.event.wait()

    def push(self, item: Any) -> None:
        self.queue.put(item)
        self.wakeup.set()

    def done(self) -> None:
        self.push(None)

    def join(self) -> None:
        self.thread.join()

    def setup(self, size: int) -> TaskQueue:
        self.size = size
        self.event.set()
        return self.queue

    def cancel(self, handler: Optional[Callable[[Future], None]] = None) -> None:
        """Cancel (or pass to ``handler``) every queued task, up to a stop mark."""
        queue = self.queue
        while True:
            try:
                item = queue.pop()
            except LookupError:
                break
            if item is None:
                queue.put(None)
                break
            future = item[0]
            if handler is not None:
                handler(future)
            else:
                future.cancel()
                future.set_running_or_notify_cancel()

    def broken(self, message: str) -> None:
        """The workers could not be set up: every queued and later task fails."""
        executor = self.exref()
        lock = None
        if executor is not None:
            executor._broken = message
            if not executor._shutdown:
                lock = executor._lock

        def fail(future: Future) -> None:
            if future.set_running_or_notify_cancel():
                future.set_exception(BrokenExecutor(message))

        self.event.set()
        if lock is not None:
            with lock:
                self.cancel(fail)
        else:
            self.cancel(fail)


def _initialize(options: Dict[str, Any]) -> bool:
    """Run the executor's initializer (if any) here; False if it raised."""
    initializer = options.pop("initializer", None)
    args = options.pop("initargs", ())
    kwargs = options.pop("initkwargs", {})
    if initializer is None:
        return True
    try:
        initializer(*args, **kwargs)
    except BaseException:
        return False
    return True


def _run_task(future: Future, task: Tuple[Any, Any, Any]) -> None:
    fn, args, kwargs = task
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:
        future.set_exception(exc)
    else:
        future.set_result(result)


def _next_task(pool: Pool, backoff: Backoff) -> Any:
    """The oldest queued item, waiting for one (``None`` = stop)."""
    while True:
        try:
            return pool.queue.pop()
        except LookupError:
            pool.wakeup.wait(0.1)
            pool.wakeup.clear()


def _thread_manager(pool: Pool, options: Dict[str, Any], comm_server: Any = None) -> None:
    """Run the tasks on threads of this process (up to ``max_workers``)."""
    size = int(options.pop("max_workers", 1))
    pool.setup(size)
    threads: List[threading.Thread] = []
    init = dict(options)

    def work() -> None:
        if comm_server is not None:
            _set_comm_server(comm_server)
        if not _initialize(dict(init)):
            pool.broken("initializer failed")
            pool.push(None)
            return
        backoff = Backoff(_backoff_of(options))
        while True:
            item = _next_task(pool, backoff)
            if item is None:
                pool.push(None)  # for the other threads
                break
            future, task = item
            if future.set_running_or_notify_cancel():
                if pool.queue and len(threads) < size - 1:
                    extra = threading.Thread(target=work, name="mpi4py.futures")
                    extra.start()
                    threads.append(extra)
                _run_task(future, task)
            del future, task, item
        if comm_server is not None:
            _del_comm_server()

    work()
    for thread in threads:
        thread.join()
    pool.queue.pop()  # the stop mark


def ThreadPool(executor: Any) -> Pool:
    """A pool of threads of this process."""
    return Pool(executor, _thread_manager)


def _shim_dir() -> str:
    """The directory that makes ``import mpi4py`` resolve to hpxpy's shim."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _max_workers(options: Dict[str, Any]) -> int:
    """``max_workers``, else ``MPI4PY_FUTURES_MAX_WORKERS``, else what ``UNIVERSE_SIZE``
    leaves beside ``COMM_WORLD`` (at least 1)."""
    count = options.pop("max_workers", None)
    if count is None:
        count = _option_env("MAX_WORKERS")
    if count is None:
        universe = MPI.COMM_WORLD.Get_attr(MPI.UNIVERSE_SIZE) or 0
        count = max(int(universe) - MPI.COMM_WORLD.Get_size(), 1)
    return int(count)


def _spawn_workers(options: Dict[str, Any]) -> Any:
    """Start the workers; the inter-communicator to them."""
    count = _max_workers(options)
    python = options.pop("python_exe", None) or sys.executable
    args = [*(options.pop("python_args", None) or ()), "-m", "mpi4py.futures.server"]
    info = MPI.Info.Create()
    hints = options.pop("mpi_info", None) or {}
    for key, value in (hints.items() if isinstance(hints, dict) else hints):
        info.Set(key, str(value))
    path = os.environ.get("PYTHONPATH")
    shim = _shim_dir()
    if not path or shim not in path.split(os.pathsep):
        info.Set("env", "PYTHONPATH=" + os.pathsep.join([shim] + ([path] if path else [])))
    try:
        return MPI.COMM_SELF.Spawn(os.fspath(python), args, count, info=info)
    finally:
        info.Free()


def _check_use_pkl5(options: Dict[str, Any]) -> None:
    """``use_pkl5`` (or ``MPI4PY_FUTURES_USE_PKL5``) is accepted; objects always travel as
    one message on hpxpy, whatever their size. An unknown value is warned about."""
    if options.pop("use_pkl5", None) is not None:
        return
    text = _option_env("USE_PKL5")
    if text is not None and text.strip().lower() not in (
            "", "0", "1", "y", "n", "yes", "no", "on", "off", "true", "false"):
        warnings.warn(f"environment variable MPI4PY_FUTURES_USE_PKL5: unexpected value "
                      f"{text!r}", RuntimeWarning, stacklevel=1)


def _spawn_manager(pool: Pool, options: Dict[str, Any]) -> None:
    """Spawn the workers, then hand them the pool's tasks; stop and disconnect them when
    the executor shuts down."""
    _check_use_pkl5(options)
    try:
        comm = _spawn_workers(options)
    except BaseException as exc:  # noqa: BLE001 - every task fails with the reason
        pool.broken(f"cannot spawn workers: {exc}")
        return
    team = Team(comm, None, list(range(comm.Get_remote_size())))
    try:
        team.sync(options)
        _team_manager(pool, options, team, team.new_tag(), stop_team=True)
    finally:
        comm.Disconnect()


def SpawnPool(executor: Any) -> Pool:
    """A pool of spawned worker processes (``MPI_Comm_spawn``)."""
    return Pool(executor, _spawn_manager)


def WorkerPool(executor: Any) -> Pool:
    """The pool of an ``MPIPoolExecutor``: the shared team's under ``-m mpi4py.futures``,
    else spawned workers."""
    if SharedPool is not None:
        return SharedPool(executor)
    return SpawnPool(executor)


# -- teams ---------------------------------------------------------------------------------
class Team:
    """The master's side of a team: the private communicator, its worker ranks and which
    of them are idle."""

    def __init__(self, comm: Any, root: Optional[int],
                 ranks: Optional[List[int]] = None) -> None:
        self.comm = comm
        self.root = root
        # The workers' ranks: the others of an intra-communicator, or every remote rank of
        # the inter-communicator to spawned workers.
        self.ranks = ranks if ranks is not None else \
            [r for r in range(comm.Get_size()) if r != root]
        self._idle: Deque[int] = collections.deque(self.ranks)
        self._lock = threading.Lock()
        self._tags = iter(range(1, MPI.TAG_UB))
        self.synced = False

    @property
    def size(self) -> int:
        return len(self.ranks)

    def new_tag(self) -> int:
        with self._lock:
            return next(self._tags)

    def take(self) -> Optional[int]:
        with self._lock:
            return self._idle.popleft() if self._idle else None

    def give(self, rank: int) -> None:
        with self._lock:
            self._idle.append(rank)

    def sync(self, options: Dict[str, Any]) -> None:
        """Once per team: send the workers what they need to import the master's
        ``__main__`` (so its functions unpickle there) and the path/wdir/env options."""
        with self._lock:
            if self.synced:
                return
            self.synced = True
        data = {key: options[key] for key in ("path", "wdir", "env", "globals")
                if options.get(key) is not None}
        if options.get("main", True):
            main = sys.modules["__main__"]
            sys.modules.setdefault(MAIN_RUN_NAME, main)
            spec = getattr(main, "__spec__", None)
            if getattr(spec, "name", None):
                data["main_module"] = spec.name  # type: ignore[union-attr]
            elif getattr(main, "__file__", None):
                data["main_path"] = os.path.abspath(main.__file__)  # type: ignore[type-var]
        for rank in self.ranks:
            serialized(self.comm.send)(("sync", data), rank, _CONTROL)

    def stop(self) -> None:
        for rank in self.ranks:
            serialized(self.comm.send)(None, rank, _CONTROL)


def _settle(future: Future, reply: Any) -> None:
    if reply[0] == "ok":
        future.set_result(reply[1])
        return
    _, error, text = reply
    if text is not None:
        error.__cause__ = RemoteTraceback(text)
    future.set_exception(error)


def _team_manager(pool: Pool, options: Dict[str, Any], team: Team, tag: int,
                  stop_team: bool) -> None:
    """Hand the pool's tasks to the team's idle workers on ``tag`` and settle them."""
    comm = team.comm
    status = MPI.Status()
    send = serialized(comm.send)
    recv = serialized(comm.recv)
    iprobe = serialized(comm.iprobe)
    try:
        initializer = options.pop("initializer", None)
        if initializer is not None:
            message = ("init", initializer, tuple(options.pop("initargs", ())),
                       dict(options.pop("initkwargs", {})))
            for rank in team.ranks:
                send(message, rank, tag)
            ok = [recv(None, rank, tag) for rank in team.ranks]
            if not all(r is True for r in ok):
                pool.broken("initializer failed")
                return
        pool.setup(team.size)
        backoff = Backoff(_backoff_of(options))
        pending: Dict[int, Future] = {}
        stopping = False
        while True:
            busy = False
            while not stopping and pool.queue:
                idle = team.take()
                if idle is None:
                    break
                rank = idle
                try:
                    item = pool.queue.pop()
                except LookupError:
                    team.give(rank)
                    break
                if item is None:
                    team.give(rank)
                    stopping = True
                    break
                future, (fn, args, kwargs) = item
                del item
                if not future.set_running_or_notify_cancel():
                    team.give(rank)
                    continue
                try:
                    send(("call", fn, args, kwargs), rank, tag)
                except BaseException as exc:  # the task did not pickle
                    team.give(rank)
                    future.set_exception(exc)
                else:
                    pending[rank] = future
                del future, fn, args, kwargs
                busy = True
            while pending and iprobe(MPI.ANY_SOURCE, tag, status):
                rank = status.Get_source()
                try:
                    reply = recv(None, rank, tag)
                except BaseException as exc:  # the result did not unpickle here
                    reply = ("err", exc, None)
                team.give(rank)
                _settle(pending.pop(rank), reply)
                del reply
                busy = True
            if stopping and not pending:
                break
            if busy:
                backoff.reset()
            elif not pending and not (pool.queue and team.size):
                pool.wakeup.wait(0.1)  # nothing in flight: sleep until a task comes
                pool.wakeup.clear()
            else:
                backoff.sleep()
    finally:
        pool.event.set()
        if stop_team:
            team.stop()


def _formatted(exc: BaseException, comm: Any) -> str:
    body = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    where = f"### Worker {comm.Get_rank()} of {comm.Get_size()} on {MPI.Get_processor_name()}"
    return f'\n{where}\n"""\n{body}"""'


def _failure(exc: BaseException, comm: Any) -> Tuple[str, BaseException, str]:
    text = _formatted(exc, comm)
    exc.__traceback__ = exc.__context__ = exc.__cause__ = None
    return ("err", exc, text)


def _import_main(data: Dict[str, Any]) -> None:
    """On a worker: apply the master's options and import its ``__main__`` module under
    the name ``__worker__`` (``if __name__ == "__main__":`` blocks do not run)."""
    if "path" in data:
        sys.path.extend(data["path"])
    if "wdir" in data:
        os.chdir(data["wdir"])
    if "env" in data:
        os.environ.update(data["env"])
    module = types.ModuleType(MAIN_RUN_NAME)
    if data.get("globals"):
        module.__dict__.update(data["globals"])
    module.__name__ = MAIN_RUN_NAME
    code = None
    if "main_module" in data:
        spec = importlib.util.find_spec(data["main_module"])
        if spec is not None and spec.loader is not None:
            code = spec.loader.get_code(data["main_module"])  # type: ignore[attr-defined]
            module.__file__ = spec.origin
    elif "main_path" in data:
        path = data["main_path"]
        with open(path, "rb") as f:
            code = compile(f.read(), path, "exec")
        module.__file__ = path
        if not getattr(sys.flags, "safe_path", False):
            sys.path[0] = os.path.dirname(os.path.realpath(path))
    previous = sys.modules["__main__"]
    sys.modules["__main__"] = sys.modules[MAIN_RUN_NAME] = module
    try:
        if code is not None:
            exec(code, module.__dict__)
    except BaseException:
        sys.modules["__main__"] = previous
        raise


def serve(comm: Any, root: int, workers: Any) -> None:
    """A worker's loop: run what the master at ``root`` of ``comm`` sends until it says
    stop. ``workers`` is what ``get_comm_workers()`` returns meanwhile."""
    _set_comm_server(workers)
    status = MPI.Status()
    try:
        while True:
            try:
                message = comm.recv(None, root, MPI.ANY_TAG, status)
            except BaseException as exc:  # a task that does not unpickle here
                tag = status.Get_tag()
                if tag != _CONTROL:
                    _reply(comm, root, tag, _failure(exc, comm))
                else:
                    traceback.print_exc()
                continue
            tag = status.Get_tag()
            if message is None:
                break
            kind = message[0]
            if kind == "sync":
                try:
                    _import_main(message[1])
                except BaseException:
                    traceback.print_exc()
            elif kind == "init":
                _, fn, args, kwargs = message
                _reply(comm, root, tag, _initialize(
                    {"initializer": fn, "initargs": args, "initkwargs": kwargs}))
            else:
                _, fn, args, kwargs = message
                del message
                try:
                    reply: Any = ("ok", fn(*args, **kwargs))
                except BaseException as exc:
                    reply = _failure(exc, comm)
                del fn, args, kwargs
                _reply(comm, root, tag, reply)
                del reply
    finally:
        _del_comm_server()


def _reply(comm: Any, root: int, tag: int, reply: Any) -> None:
    try:
        comm.send(reply, root, tag)
    except BaseException as exc:  # the result (or its exception) did not pickle
        try:
            comm.send(_failure(exc, comm), root, tag)
        except BaseException:
            comm.send(_failure(RuntimeError(f"{type(exc).__name__}: {exc}"), comm),
                      root, tag)


def _split(comm: Any, root: int) -> Tuple[Any, Any]:
    """(a private duplicate of ``comm``, the workers' communicator or COMM_NULL at root)."""
    private = comm.Dup()
    rank = private.Get_rank()
    workers = private.Split(MPI.UNDEFINED if rank == root else 0, rank)
    return private, workers


def comm_split(comm: Any, root: int) -> Tuple[Any, Any]:
    """(the inter-communicator between ``root`` alone and the other ranks of ``comm``, the
    others' intra-communicator or COMM_NULL at root); null ones on a communicator of one."""
    if comm.Get_size() == 1:
        return MPI.Intercomm(MPI.COMM_NULL), MPI.Intracomm(MPI.COMM_NULL)
    rank = comm.Get_rank()
    side = comm.Split(0 if rank == root else 1, 0)
    # Each side's leader is its rank 0; the other side's, as a rank of comm: root, or the
    # lowest rank other than root.
    other = root if rank != root else (1 if root == 0 else 0)
    intercomm = side.Create_intercomm(0, comm, other, 0)
    if rank == root:
        side.Free()
        side = MPI.COMM_NULL
    return intercomm, side


# -- the shared team of ``python -m mpi4py.futures`` ---------------------------------------
SharedPool: Optional[SharedPoolCtx] = None


class SharedPoolCtx:
    """``with SharedPoolCtx() as ctx:`` on every rank of ``COMM_WORLD``: ``ctx`` at rank 0,
    whose executors share ranks 1..N-1 as workers; ``None`` at the others, which serve
    until rank 0 leaves the block. At one rank, tasks run on a thread of rank 0."""

    def __init__(self) -> None:
        self.team: Optional[Team] = None
        self.private: Any = None
        self.workers: Any = None
        self.on_root = False
        self.pools: weakref.WeakKeyDictionary[threading.Thread, TaskQueue] = \
            weakref.WeakKeyDictionary()
        self.lock = threading.Lock()

    def __reduce__(self) -> str:
        return "SharedPool"

    def __call__(self, executor: Any) -> Pool:
        """The pool of one executor over the shared team."""
        with self.lock:
            team = self.team
            if team is None:
                manager: Manager = _single_manager
            else:
                tag = team.new_tag()

                def manager(pool: Pool, options: Dict[str, Any]) -> None:
                    team.sync(options)
                    _team_manager(pool, options, team, tag, stop_team=False)
            pool = Pool(executor, manager, register=False)
            self.pools[pool.thread] = pool.queue
        return pool

    def __enter__(self) -> Optional[SharedPoolCtx]:
        global SharedPool
        if SharedPool is not None:
            raise RuntimeError("a shared pool is already running")
        world = MPI.COMM_WORLD
        self.on_root = world.Get_rank() == 0
        if world.Get_size() > 1:
            self.private, self.workers = _split(world, 0)
            if self.on_root:
                self.team = Team(self.private, 0)
        SharedPool = self
        return self if self.on_root else None

    def __exit__(self, *exc: Any) -> None:
        global SharedPool
        try:
            if self.on_root:
                _join_pools(self.pools)
                if self.team is not None:
                    self.team.stop()
            elif self.private is not None:
                serve(self.private, 0, self.workers)
        finally:
            SharedPool = None
            for comm in (self.workers, self.private):
                if comm is not None and comm != MPI.COMM_NULL:
                    comm.Free()
            self.team = self.private = self.workers = None
            self.pools.clear()


def _single_manager(pool: Pool, options: Dict[str, Any]) -> None:
    """A team of one process: rank 0 runs the tasks itself, on one thread."""
    options["max_workers"] = 1
    _thread_manager(pool, options, MPI.COMM_SELF)


# -- MPICommExecutor -----------------------------------------------------------------------
def comm_executor_enter(executor: Any, comm: Any, root: int) -> None:
    """Set up ``MPICommExecutor``'s team on every rank of ``comm``: at ``root`` the
    executor's pool; the other ranks serve here until that executor shuts down."""
    if comm.Get_size() == 1:
        if executor is not None:
            executor._pool = Pool(executor, _single_manager)
        return
    private, workers = _split(comm, root)
    if executor is None:
        try:
            serve(private, root, workers)
        finally:
            workers.Free()
            private.Free()
        return
    team = Team(private, root)
    tag = team.new_tag()

    def manager(pool: Pool, options: Dict[str, Any]) -> None:
        try:
            _team_manager(pool, options, team, tag, stop_team=True)
        finally:
            private.Free()

    executor._pool = Pool(executor, manager)
