"""Runtime lifecycle: configuration, start-up (bootstrap + C++ core), shut-down.

A plain ``python prog.py`` is a job of one locality. Under ``hpxrun`` (or any launcher
that sets the ``HPXPY_*`` variables, or HPX-style ``--hpx:*`` arguments) it is one of N; so
it is under MPICH's or Open MPI's ``mpiexec`` and Slurm's ``srun`` (see ``_launchenv``).
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import socket
import sys
import threading
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterator,
    List,
    NamedTuple,
    Optional,
    Sequence,
)

from . import _bootstrap, _core, _launchenv, _mpi, _stall

if TYPE_CHECKING:
    import concurrent.futures

LocalityError = _core.LocalityError
LocalityError.__doc__ = (
    "A locality of the job was lost (crashed, killed or unreachable); the job cannot go on. "
    "The attribute ``locality`` names it."
)

# How long a waiting call polls before it blocks, in microseconds. Short: localities often
# outnumber cores, and a spinning waiter then steals the core its sender needs. When the
# localities of this host outnumber its cores it does not spin at all.
_DEFAULT_SPIN_US = 50


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _spin_budget(configured: Optional[int], localities_here: int, shm: bool) -> int:
    if configured is not None:
        return configured
    # Shared memory decides per wait (it spins only while no more localities of the host
    # are awake than it has cores); TCP alone cannot know, so it never spins then.
    return 0 if localities_here > _usable_cores() and not shm else _DEFAULT_SPIN_US


class RuntimeConfig(NamedTuple):
    """Where this process sits in the job, and how it reaches the others."""

    locality_id: int = 0
    num_localities: int = 1
    rendezvous: Optional[str] = None
    host_rendezvous: bool = False
    secret: Optional[str] = None
    interface: str = "127.0.0.1"
    spin_us: Optional[int] = None  # None: _DEFAULT_SPIN_US, 0 when oversubscribed
    parcelport: str = _bootstrap.DEFAULT_PARCELPORT
    # Another launcher started the job ("hydra", "slurm", "openmpi"): rendezvous and secret
    # come from its key-value store at init (None: hpxrun, or no launcher).
    launcher: Optional[str] = None
    multi_host: bool = False  # that launcher says the job spans hosts

    @classmethod
    def from_environment(cls, args: Optional[Sequence[str]] = None) -> RuntimeConfig:
        """Read ``HPXPY_*`` variables, then let ``--hpx:*`` arguments override them."""
        env = os.environ
        values: Dict[str, Any] = {
            "locality_id": int(env.get(_bootstrap.ENV_LOCALITY_ID, "0")),
            "num_localities": int(env.get(_bootstrap.ENV_NUM_LOCALITIES, "1")),
            "rendezvous": env.get(_bootstrap.ENV_RENDEZVOUS),
            "host_rendezvous": env.get(_bootstrap.ENV_RENDEZVOUS_SERVER) == "0",
            "secret": env.get(_bootstrap.ENV_JOB_SECRET),
            "interface": env.get(_bootstrap.ENV_INTERFACE, "127.0.0.1"),
            "spin_us": int(env["HPXPY_SPIN_US"]) if env.get("HPXPY_SPIN_US") else None,
            "parcelport": env.get(_bootstrap.ENV_PARCELPORT) or _bootstrap.DEFAULT_PARCELPORT,
        }
        placement = _launchenv.detect(env)
        if placement is not None:
            values.update(locality_id=placement.locality_id,
                          num_localities=placement.num_localities, launcher=placement.launcher,
                          multi_host=placement.multi_host)
            if placement.multi_host and _bootstrap.ENV_INTERFACE not in env:
                values["interface"] = _launchenv.host_interface()
        for arg in args or ():
            key, _, value = arg.partition("=")
            if key == "--hpx:localities":
                values["num_localities"] = int(value)
            elif key in ("--hpx:node", "--hpx:locality"):
                values["locality_id"] = int(value)
            elif key == "--hpx:agas":
                values["rendezvous"] = value
            elif key == "--hpx:hpx":
                values["interface"] = _bootstrap.parse_address(value)[0]
        config = cls(**values)
        config.validate()
        return config

    def validate(self) -> None:
        _bootstrap.check_parcelport(self.parcelport)
        if self.num_localities < 1:
            raise ValueError(f"num_localities must be >= 1, got {self.num_localities}")
        if not 0 <= self.locality_id < self.num_localities:
            raise ValueError(
                f"locality_id {self.locality_id} out of range; expected 0 <= locality_id < "
                f"{self.num_localities}"
            )
        if self.num_localities > 1 and not self.launcher and not (
                self.rendezvous and self.secret):
            raise ValueError(
                f"a job of {self.num_localities} localities needs a rendezvous address and a "
                f"job secret ({_bootstrap.ENV_RENDEZVOUS}, {_bootstrap.ENV_JOB_SECRET}); "
                "start it with hpxrun"
            )


class _State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.core: Optional[_core.Runtime] = None
        self.mesh: Optional[_bootstrap.Mesh] = None
        self.config: Optional[RuntimeConfig] = None
        self.tags = itertools.count()
        self.executor: Optional[concurrent.futures.ThreadPoolExecutor] = None
        self.started_multi = False  # a multi-locality job cannot re-bootstrap
        self.failed = False  # an uncaught exception: leave without the closing barrier
        self.world_group: Optional[_core.Group] = None


_state = _State()


def _environment_config() -> RuntimeConfig:
    return _state.config or RuntimeConfig.from_environment()


def init(args: Optional[Sequence[str]] = None, config: Optional[RuntimeConfig] = None) -> None:
    """Start the runtime: join the job's other localities (if any) and connect to them.

    ``args`` may hold HPX-style options (``--hpx:localities=N``, ``--hpx:node=I``,
    ``--hpx:agas=HOST:PORT``, ``--hpx:hpx=ADDR:PORT``); by default the ``HPXPY_*``
    environment set by ``hpxrun`` is used. Raises ``RuntimeError`` if already running.
    """
    with _state.lock:
        if _state.core is not None:
            raise RuntimeError("hpxpy runtime is already running (call finalize() first)")
        cfg = config or RuntimeConfig.from_environment(args)
        cfg.validate()
        if not _bootstrap.is_ipv4(cfg.interface):  # an interface name, or "auto"
            cfg = cfg._replace(
                interface=_bootstrap.resolve_interface(cfg.interface, cfg.rendezvous))
        if os.environ.get(_stall.ENV_OBSERVE_DIR):  # under hpxrun: reports on SIGQUIT
            _stall.install()
        if cfg.num_localities > 1 and _state.started_multi:
            raise RuntimeError(
                "hpxpy runtime cannot be restarted after finalize() in a multi-locality job"
            )
        fds: List[int] = []
        mesh = None
        parcelports = ""
        shm_segment = None
        shm_peers: List[tuple] = []
        spin_us = _spin_budget(cfg.spin_us, 1, False)
        if cfg.parcelport == "mpi" or (cfg.parcelport == "auto" and _mpi.automatic(
                cfg.launcher, cfg.multi_host, cfg.secret)):
            # MPI assembles the job: MPI_Init talks to the launcher; rank and size are
            # MPI_COMM_WORLD's (no rendezvous, no mesh).
            rank, size, _ = _mpi.start()
            if cfg.num_localities > 1 and (rank, size) != (cfg.locality_id, cfg.num_localities):
                raise _mpi.MpiLibraryError(
                    f"HPXPY_PARCELPORT=mpi: this process is locality {cfg.locality_id} of "
                    f"{cfg.num_localities} ({cfg.launcher or 'hpxrun'}), but MPI says rank "
                    f"{rank} of {size}; the mpi parcelport needs the job started by the MPI "
                    "library's own launcher (mpiexec -n N python prog.py)")
            cfg = cfg._replace(locality_id=rank, num_localities=size)
            if size > 1:
                parcelports = "mpi"
                here = _launchenv._int(os.environ, "MPI_LOCALNRANKS",
                                       "OMPI_COMM_WORLD_LOCAL_SIZE") or size
                spin_us = _spin_budget(cfg.spin_us, here, False)
                _state.started_multi = True
                _install_failure_hook()
        elif cfg.num_localities > 1:
            server = None
            if cfg.launcher and not cfg.secret:  # meet through the launcher's store
                rendezvous, secret, server = _launchenv.exchange(
                    cfg.locality_id, cfg.num_localities, cfg.interface)
                cfg = cfg._replace(rendezvous=rendezvous, secret=secret,
                                          host_rendezvous=False)
            try:
                mesh = _bootstrap.Mesh(
                    cfg.locality_id,
                    cfg.num_localities,
                    cfg.rendezvous or "",
                    cfg.secret or "",
                    interface=cfg.interface,
                    host_rendezvous=cfg.host_rendezvous,
                    parcelport=cfg.parcelport,
                )
            finally:
                if server is not None:
                    server.close()
            fds = mesh.detach_fds()
            parcelports = ",".join(mesh.parcelports)
            shm = mesh.shm
            if shm is not None and "shm" in mesh.parcelports:
                shm_segment, shm_peers = shm.segment, list(shm.peers)
            spin_us = _spin_budget(cfg.spin_us, mesh.localities_on_this_host(),
                                   "shm" in mesh.parcelports)
            _state.started_multi = True
            _install_failure_hook()
        _state.core = _core.Runtime(cfg.locality_id, cfg.num_localities, fds, spin_us,
                                    parcelport=parcelports, shm_segment=shm_segment,
                                    shm_peers=shm_peers)
        if mesh is not None:
            mesh.close_shm()  # the core holds the segment now
        _state.mesh = mesh  # keeps listening: late or hostile connections are refused there
        _state.config = cfg
        _state.tags = itertools.count()
        _state.world_group = None
        if parcelports == "mpi" and not cfg.secret:
            # Processes that join later (Spawn, Connect) prove this secret; MPI_Init shared
            # none, so locality 0 makes one and sends it over MPI.
            _state.config = cfg._replace(secret=_agree_on_secret(_state.core))


def _agree_on_secret(core: Any) -> str:
    from ._items import RAW, item_raw  # noqa: PLC0415 (numpy stays unloaded)

    mine = bytes.fromhex(_bootstrap.new_job_secret()) if core.locality_id == 0 else None
    got = core.broadcast(world_group(), [mine] if mine is not None else None, RAW, 0,
                         next_tag(), 0, "")
    secret = item_raw(got) if got is not None else mine
    assert secret is not None
    return secret.hex()


_shutdown_hooks: List[Callable[[], None]] = []


def on_shutdown(hook: Callable[[], None]) -> None:
    """Call ``hook`` when the runtime stops: after finalize's barrier (every locality has
    reached it, so none still needs this one's services), before the transports close.
    hpxpy.comm's RMA service thread stops there."""
    if hook not in _shutdown_hooks:
        _shutdown_hooks.append(hook)


def finalize() -> None:
    """Stop the runtime. In a job of several localities this waits for all of them."""
    with _state.lock:
        core = _state.core
        if core is None:
            return
        graceful = not _state.failed
        mismatch = None
        try:
            if _state.executor is not None:
                _state.executor.shutdown(wait=graceful)
                _state.executor = None
            if graceful:
                core.barrier(world_group(), "hpxpy.finalize", next_tag())
                mismatch = _unreceived_collectives(core)
        except (LocalityError, KeyboardInterrupt):
            graceful = False
            raise
        finally:
            for hook in list(_shutdown_hooks):
                try:
                    hook()
                except BaseException:  # noqa: BLE001 - the runtime stops regardless
                    pass
            core.shutdown(graceful)
            if graceful:
                _core.mpi_finalize()  # after the goodbyes; nothing if MPI never started
            if _state.mesh is not None:
                _state.mesh.close()
            _state.core = None
            _state.mesh = None
            # Processes this one spawned: wait for them after our goodbyes (they may be
            # finishing theirs), then kill what is left.
            dynamic = sys.modules.get("hpxpy._dynamic")
            if dynamic is not None:
                dynamic.reap()
    if mismatch is not None:
        raise mismatch


def _unreceived_collectives(core: Any) -> Optional[BaseException]:
    """A collective mismatch that no call saw, found at finalize (every locality agrees).

    Two calls that only send (a bcast root, a gather non-root leaf) complete even when
    their members called different collectives; their messages are then never received.
    After the finalize barrier every message sent before it has arrived, so a collective
    message still waiting (its call word says which call sent it) names such a mismatch.
    Every locality lists what it holds, and all of them raise the same error."""
    import json  # noqa: PLC0415 - finalize only

    from ._items import OP_CODES, RAW, item_raw  # noqa: PLC0415 (not numpy: a program may not need it)
    from ._status import CollectiveMismatchError  # noqa: PLC0415

    offset = _core.CALL_OFFSET
    found = []
    comms: Optional[Dict[int, Any]] = None  # looked up (through gc) only if needed
    for context, source, tag, head in core.leftovers(_core.CONTEXT_FIRST_FREE, 1, offset + 4):
        word = int.from_bytes(head[offset:offset + 4], "little") if len(head) >= offset + 4 else 0
        if word >> 24 != _CALL_MAGIC:
            continue  # not a collective's header (a raw block): nothing to name
        if comms is None:
            comms = _stall._communicators() if "hpxpy.comm._handle" in sys.modules else {}
        comm = comms.get(context - 1)
        rank = getattr(comm, "_index", {}).get(source, source) if comm is not None else source
        found.append((context, tag >> 3, rank, _core.call_name(word)))
    group = world_group()
    if core.num_localities > 1:
        flag = [(1 if found else 0).to_bytes(4, "little")]  # one int32: any locality?
        item = core.all_reduce(group, flag, _core.DTYPE_CODES["int32"], OP_CODES["max"],
                               next_tag(), 0, "")
        if item_raw(item)[0] == 0:
            return None
        mine = json.dumps(found).encode()
        tag = next_tag()
        items = core.gather(group, [mine], RAW, 0, tag, 0, "")
        joined: Optional[bytes] = None
        if items is not None:
            lists = [json.loads(item_raw(it).decode()) if it is not None
                     else found for it in items]
            joined = json.dumps([f for part in lists for f in part]).encode()
        got = core.broadcast(group, [joined] if joined is not None else None, RAW, 0,
                             next_tag(), 0, "")
        if got is not None:
            joined = item_raw(got)
        found = json.loads((joined or b"[]").decode())
    if not found:
        return None
    # One line per communicator and collective: every rank whose message nobody received.
    calls: Dict[Any, Dict[int, str]] = {}
    for context, seq, rank, call in found:
        calls.setdefault((context, seq), {})[rank] = call
    (context, seq), by_rank = sorted(calls.items())[0]
    named = ", ".join(f"rank {r} called {c}" for r, c in sorted(by_rank.items()))
    text = (f"{named} as collective #{seq + 1} there, and those messages were never "
            "received: the members called different collectives (found at finalize)")
    return CollectiveMismatchError(text, context, at_finalize=True)


_CALL_MAGIC = 0xC7  # collectives.hpp's kCallMagic: the top byte of every call word


def is_running() -> bool:
    """True between ``init()`` and ``finalize()``."""
    return _state.core is not None


@contextlib.contextmanager
def runtime(args: Optional[Sequence[str]] = None) -> Iterator[None]:
    """``with hpx.runtime(): ...`` starts the runtime and finalizes it on exit.

    If the runtime is already running (started by an outer block or by a collective),
    the block just uses it.
    """
    if is_running():
        yield
        return
    init(args)
    try:
        yield
    except BaseException:
        if _state.config is not None and _state.config.num_localities > 1:
            _state.failed = True  # the others may be waiting on us: don't wait for them
        raise
    finally:
        finalize()


def locality_id() -> int:
    """This process's locality id, in ``[0, num_localities())``."""
    return _environment_config().locality_id


def num_localities() -> int:
    """How many localities the job has."""
    return _environment_config().num_localities


def host_identity() -> str:
    """Equal exactly for the localities that share memory (the host hpxrun placed them on,
    see ``_bootstrap.host_identity``): what ``COMM_TYPE_SHARED`` groups by."""
    return _bootstrap.host_identity()


def get_locality_name() -> str:
    """The name of the host this locality runs on."""
    return socket.gethostname()


def core() -> _core.Runtime:
    """The running C++ runtime; starts it on first use (as mpi4py initialises MPI)."""
    rt = _state.core
    if rt is None:
        with _state.lock:
            if _state.core is None:
                init()
            rt = _state.core
    return rt


# Message contexts, defined by the core: hpx's own collectives use CONTEXT_COLLECTIVE;
# communicators (hpxpy/comm/_contexts.py) take theirs from CONTEXT_FIRST_FREE upwards.
HPX_COLLECTIVE_CONTEXT = _core.CONTEXT_COLLECTIVE


def world_group() -> _core.Group:
    """Every locality of the job, for hpx's own collectives."""
    g = _state.world_group
    if g is None:
        rt = core()
        g = _state.world_group = _core.Group(
            HPX_COLLECTIVE_CONTEXT, rt.locality_id, [], rt.num_localities)
    return g


def next_tag() -> int:
    """Sequence number of the next collective; equal on every locality by program order."""
    return next(_state.tags) & 0x7FFFFFFF


def executor() -> concurrent.futures.ThreadPoolExecutor:
    """The single thread that runs ``*_async`` operations, in the order they were issued."""
    with _state.lock:
        if _state.executor is None:
            import concurrent.futures  # noqa: PLC0415 - it loads logging: only when used

            _state.executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="hpxpy-async"
            )
        return _state.executor


def listen_address() -> Optional[tuple]:
    """(host, port) this locality's parcelport listens on; None in a one-locality job."""
    return _state.mesh.address if _state.mesh is not None else None


_hook_installed = False


def _install_failure_hook() -> None:
    """An uncaught exception must not wait in finalize's barrier for peers that wait on us.

    The process then leaves at once; the others see it go and raise LocalityError.
    """
    global _hook_installed
    if _hook_installed:
        return
    _hook_installed = True
    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        _state.failed = True
        previous(exc_type, exc, tb)
        rt = _state.core
        if rt is not None:
            # Wakes an async operation blocked on a peer, so interpreter exit (which joins
            # the worker thread) cannot hang.
            rt.shutdown(False)

    sys.excepthook = hook


@atexit.register
def _finalize_at_exit() -> None:
    from ._status import CollectiveMismatchError  # noqa: PLC0415

    try:
        finalize()
    except CollectiveMismatchError as exc:  # the program's error, found at finalize
        sys.stdout.flush()
        print(f"hpxpy: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        os._exit(1)
    except BaseException:  # noqa: BLE001 - nothing left to report to at exit
        pass
