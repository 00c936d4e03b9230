"""Dynamic processes: ``Spawn``/``Spawn_multiple``, ``Get_parent``, ``Disconnect``.

The spawning group's root starts the children (``hpxpy._dynamic.start``) as a job of
their own; every parent listens, every child connects to every parent at start-up
(``connect_parent``, when hpxpy.comm starts), and both sides build an ``Intercomm`` over
the joined localities. The context block both sides use is agreed without messages
between them: the parents propose the largest free base among them (in the children's
environment), the children take the maximum of that and theirs, and tell the parents
in their hello.

Layer 8 of hpxpy.comm: imports ``_comm`` and lower layers.
"""

from __future__ import annotations

import os
from typing import Any, List, Optional, Sequence, Tuple

from .. import _dynamic, _runtime
from .._bootstrap import new_job_secret
from . import _constants as C
from . import _contexts
from ._comm import COMM_NULL, COMM_WORLD, Intercomm, Intracomm
from ._errors import Exception as MPIException
from ._info import Info

_parent: Optional[Intercomm] = None


_own_secret: Optional[str] = None


def _secret() -> str:
    """The job secret; a process started without a launcher makes one for its children."""
    global _own_secret
    cfg = _runtime._state.config
    secret = cfg.secret if cfg is not None else None
    if not secret:
        if _own_secret is None:
            _own_secret = new_job_secret()
        secret = _own_secret
    return secret


def _interface() -> str:
    cfg = _runtime._state.config
    return getattr(cfg, "interface", None) or "127.0.0.1"


def _info_dict(info: Any) -> dict:
    if info is None or not isinstance(info, Info) or not info:
        return {}
    return {key: info.Get(key) for key in info.keys()}


def _apps(command: Any, args: Any, maxprocs: Any, info: Any, multiple: bool
          ) -> List[Tuple[str, List[str], int, dict]]:
    """The root's arguments as (command, args, count, info) per application, checked as
    mpi4py checks them (ValueError for lists of different lengths)."""
    if not multiple:
        count = int(maxprocs)
        if count < 0:
            raise MPIException(C.ERR_SPAWN, f"invalid maxprocs {count}")
        return [(os.fspath(command), [os.fspath(a) for a in (args or [])], count,
                 _info_dict(info))]
    if isinstance(command, (str, bytes, os.PathLike)):
        raise ValueError("expecting a sequence of commands")
    commands = [os.fspath(c) for c in command]
    n = len(commands)

    def per_app(value: Any, what: str, default: Any) -> list:
        if value is None:
            return [default] * n
        if what != "args" and not isinstance(value, (list, tuple)):
            return [value] * n  # one maxprocs or info for every command
        items = list(value)
        if len(items) != n:
            raise ValueError(f"expecting {n} items in {what}, got {len(items)}")
        return items

    arglists = per_app(args, "args", None)
    for a in arglists:
        if a is not None and isinstance(a, (str, bytes)):
            raise ValueError("expecting a sequence of argument lists")
    counts = per_app(maxprocs, "maxprocs", 1)
    infos = per_app(info, "info", None)
    return [(commands[i], [os.fspath(a) for a in (arglists[i] or [])], int(counts[i]),
             _info_dict(infos[i])) for i in range(n)]


def spawn(comm: Intracomm, command: Any, args: Any, maxprocs: Any, info: Any, root: int,
          errcodes: Optional[list], multiple: bool) -> Intercomm:
    """Collective over ``comm``: start the children at ``root`` and connect to them."""
    members = comm._check()
    apps: list = []
    size = len(members)
    if not 0 <= root < size:
        raise MPIException(C.ERR_ROOT, f"invalid root {root}")
    me = comm.Get_rank()
    plan: Any = None
    if me == root:
        try:
            apps = _apps(command, args, maxprocs, info, multiple)
            plan = ([a[2] for a in apps], _secret())
        except BaseException as err:
            plan = err
    # Everyone learns the root's plan (or its error) first, so nobody waits for children
    # that will never come.
    plan = comm.bcast(plan, root)
    if isinstance(plan, BaseException):
        raise plan
    shape, secret = plan
    total = sum(shape)
    listener = _dynamic.JoinListener(secret, total, _interface())
    ports = comm.gather(listener.address, root)
    proposal = comm.allreduce(_contexts.TABLE.peek(), op=_max())
    started = None
    error: Optional[str] = None
    if me == root:
        try:
            started = _dynamic.start(apps, secret, {"ports": ports, "context": proposal},
                                     _interface())
        except _dynamic.JoinError as err:
            error = str(err)
    error = comm.bcast(error, root)
    if error is not None:
        listener.close()
        raise MPIException(C.ERR_SPAWN, error)
    try:
        joined = listener.wait(started.check if started is not None else None)
    except _dynamic.JoinError as err:
        raise MPIException(C.ERR_SPAWN, str(err)) from err
    finally:
        if started is not None:
            started.close()
    base = max(hello.get("context", proposal) for _, hello in joined)
    remote = _dynamic.join(_runtime.core(), [sock for sock, _ in joined])
    _contexts.TABLE.reserve(base, 2)
    if errcodes is not None:  # every process learns them, as under MPICH
        errcodes[:] = ([[C.SUCCESS] * n for n in shape] if multiple
                       else [C.SUCCESS] * total)
    return Intercomm._make(list(members), remote, base)


def _max() -> Any:
    from ._ops import MAX

    return MAX


def connect_parent() -> None:
    """In a spawned process, as hpxpy.comm starts: join every parent (collective over the
    children's COMM_WORLD). Does nothing in a process that was not spawned."""
    global _parent
    parent = _dynamic.parent_info()
    if parent is None or _parent is not None:
        return
    cfg = _runtime._state.config
    secret = cfg.secret if cfg is not None else os.environ.get("HPXPY_JOB_SECRET", "")
    base = COMM_WORLD.allreduce(max(_contexts.TABLE.peek(), int(parent["context"])),
                                op=_max())
    rank = COMM_WORLD.Get_rank()
    sockets = [_dynamic.connect(address, secret, rank, {"context": base})
               for address in parent["ports"]]
    remote = _dynamic.join(_runtime.core(), sockets)
    _contexts.TABLE.reserve(base, 2)
    _parent = Intercomm._make(list(COMM_WORLD._check()), remote, base)


def get_parent() -> Intercomm:
    """The parents' inter-communicator of a spawned process (COMM_NULL once disconnected,
    and in a process that was not spawned)."""
    return _parent if _parent is not None and _parent._members is not None else \
        Intercomm()


def disconnect(comm: Intercomm) -> None:
    """Collective over both groups: wait for each other, then leave every joined peer of
    the inter-communicator (goodbye both ways), then free it."""
    global _parent
    remote = list(comm._check())
    comm.Barrier()
    core = _runtime.core()
    world = _runtime.num_localities()
    for peer in remote:
        if peer >= world:
            core.leave(peer)
    if comm is _parent:
        _parent = None


def appnum() -> Optional[int]:
    """Which command of a Spawn_multiple started this process (None: not spawned)."""
    value = os.environ.get(_dynamic.ENV_APPNUM)
    return int(value) if value and _dynamic.parent_info() is not None else None


def universe_size() -> int:
    return _dynamic.universe_size(_runtime.num_localities())


__all__: Sequence[str] = ["spawn", "connect_parent", "get_parent", "disconnect", "appnum",
                          "universe_size", "COMM_NULL"]
