"""Dynamic processes: ``Spawn``/``Spawn_multiple``, ``Get_parent``, ``Disconnect``, and
ports (``Open_port``, ``Accept``/``Connect``, ``Publish_name``/``Lookup_name``, ``Join``).

The spawning group's root starts the children (``hpxpy._dynamic.start``) as a job of
their own; every parent listens, every child connects to every parent at start-up
(``connect_parent``, when hpxpy.comm starts), and both sides build an ``Intercomm`` over
the joined localities. The context block both sides use is agreed without messages
between them: the parents propose the largest free base among them (in the children's
environment), the children take the maximum of that and theirs, and tell the parents
in their hello. ``Accept``/``Connect`` do the same between two groups of running
processes that share the job secret (one job, or a job and the jobs it spawned): the
accepting root's port answers the connecting root with its group's join addresses.

Layer 8 of hpxpy.comm: imports ``_comm`` and lower layers.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from typing import Any, List, Optional, Sequence, Tuple

from .. import _bootstrap, _dynamic, _runtime
from .._bootstrap import new_job_secret
from . import _comm, _contexts
from . import _constants as C
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
        made = _wait_group(comm, listener, proposal,
                           started.check if started is not None else None)
    except MPIException as err:
        if started is not None:  # the root saw it first: the others need not wait
            _dynamic.abort([p for i, p in enumerate(ports or []) if i != root], secret,
                           str(err.__cause__ or err))
        raise
    finally:
        if started is not None:
            started.close()
    if errcodes is not None:  # every process learns them, as under MPICH
        errcodes[:] = ([[C.SUCCESS] * n for n in shape] if multiple
                       else [C.SUCCESS] * total)
    return made


def _max() -> Any:
    from ._ops import MAX

    return MAX


def _join_group(comm: Intracomm, ports: List[str], proposal: int, secret: str) -> Intercomm:
    """The connecting side (spawned children, ``Connect``), collective over ``comm``: agree
    on the context base, join every process listening at ``ports``, build the Intercomm."""
    base = comm.allreduce(max(_contexts.TABLE.peek(), int(proposal)), op=_max())
    rank = comm.Get_rank()
    try:
        sockets = [_dynamic.connect(address, secret, rank, {"context": base})
                   for address in ports]
    except _dynamic.JoinError as err:
        raise MPIException(C.ERR_PORT, str(err)) from err
    remote = _dynamic.join(_runtime.core(), sockets)
    _contexts.TABLE.reserve(base, 2)
    return Intercomm._make(list(comm._check()), remote, base)


def _wait_group(comm: Intracomm, listener: _dynamic.JoinListener, proposal: int,
                alive: Any = None) -> Intercomm:
    """The listening side (parents, ``Accept``): every member takes its joins; the
    Intercomm over them."""
    try:
        joined = listener.wait(alive)
    except _dynamic.JoinError as err:
        raise MPIException(C.ERR_SPAWN, str(err)) from err
    base = max((hello.get("context", proposal) for _, hello in joined), default=proposal)
    remote = _dynamic.join(_runtime.core(), [sock for sock, _ in joined])
    _contexts.TABLE.reserve(base, 2)
    return Intercomm._make(list(comm._check()), remote, base)


def connect_parent() -> None:
    """In a spawned process, as hpxpy.comm starts: join every parent (collective over the
    children's COMM_WORLD). Does nothing in a process that was not spawned."""
    global _parent
    parent = _dynamic.parent_info()
    if parent is None or _parent is not None:
        return
    cfg = _runtime._state.config
    secret = (cfg.secret if cfg is not None else None) or os.environ.get("HPXPY_JOB_SECRET", "")
    _parent = _join_group(COMM_WORLD, parent["ports"], parent["context"], secret)


# -- ports: Open_port, Accept, Connect, names, Join ------------------------------------------
_ports: dict = {}  # port name -> _dynamic.Port, opened by this process


def open_port() -> str:
    port = _dynamic.Port(_secret(), _interface())
    _ports[port.name] = port
    return port.name


def close_port(name: str) -> None:
    port = _ports.pop(name, None)
    if port is None:
        raise MPIException(C.ERR_PORT, f"no port {name!r} is open in this process")
    port.close()


def accept(comm: Intracomm, name: Optional[str], root: int) -> Intercomm:
    """Collective over ``comm``: wait at ``root`` for a group connecting to port ``name``,
    then join every member of it."""
    comm._check()
    me = comm.Get_rank()
    request: Any = None
    conn = None
    if me == root:
        port = _ports.get(name or "")
        if port is None:
            request = MPIException(C.ERR_PORT, f"no port {name!r} is open in this process")
        else:
            conn = port.take()
            try:
                request = json.loads(_bootstrap.recv_frame(conn))
            except (OSError, ValueError, _bootstrap.HandshakeError) as err:
                conn.close()
                request = MPIException(C.ERR_PORT, f"a connection to {name} failed: {err}")
    request = comm.bcast(request, root)
    if isinstance(request, BaseException):
        raise request
    listener = _dynamic.JoinListener(_secret(), int(request["size"]), _interface())
    ports = comm.gather(listener.address, root)
    proposal = comm.allreduce(_contexts.TABLE.peek(), op=_max())
    if conn is not None:
        try:
            _bootstrap.send_frame(conn, json.dumps({"ports": ports, "context": proposal}).encode())
        except OSError:
            pass  # the connecting side then fails; ours ends waiting for its joins
        finally:
            conn.close()
    return _wait_group(comm, listener, proposal)


def connect(comm: Intracomm, name: Optional[str], root: int) -> Intercomm:
    """Collective over ``comm``: ``root`` asks the port ``name`` for the accepting group,
    then every member joins each of its processes."""
    comm._check()
    me = comm.Get_rank()
    answer: Any = None
    if me == root:
        try:
            answer = _dynamic.ask(_dynamic.port_address(name or ""), _secret(), me,
                                  {"size": comm.Get_size()})
        except (ValueError, _dynamic.JoinError) as err:
            answer = MPIException(C.ERR_PORT, str(err))
    answer = comm.bcast(answer, root)
    if isinstance(answer, BaseException):
        raise answer
    return _join_group(comm, answer["ports"], answer["context"], _secret())


def join(fd: int) -> Intercomm:
    """``Comm.Join``: the two processes at the ends of a connected socket (not taken over:
    the core gets a duplicate) make an Intercomm of one process each."""
    sock = socket.socket(fileno=os.dup(fd))
    try:
        sock.settimeout(_dynamic.JOIN_TIMEOUT)
        mine = _contexts.TABLE.peek()
        _bootstrap.send_frame(sock, json.dumps({"context": mine}).encode())
        theirs = json.loads(_bootstrap.recv_frame(sock))
        base = max(mine, int(theirs["context"]))
        sock.settimeout(None)
    except (OSError, ValueError, KeyError, _bootstrap.HandshakeError) as err:
        sock.close()
        raise MPIException(C.ERR_OTHER, f"Join failed: {err}") from err
    _bootstrap._tune(sock)
    remote = _dynamic.join(_runtime.core(), [sock])
    _contexts.TABLE.reserve(base, 2)
    return Intercomm._make([_runtime.locality_id()], remote, base)


def publish_name(service: str, port: str) -> None:
    _dynamic.publish(_secret(), service, port)


def lookup_name(service: str) -> str:
    port = _dynamic.lookup(_secret(), service)
    if port is None:
        raise MPIException(C.ERR_NAME, f"no port is published as {service!r}")
    return port


def unpublish_name(service: str, port: str) -> None:
    if not _dynamic.unpublish(_secret(), service, port):
        raise MPIException(C.ERR_SERVICE, f"{service!r} is not published with {port!r}")


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
                          "universe_size", "open_port", "close_port", "accept", "connect",
                          "join", "publish_name", "lookup_name", "unpublish_name",
                          "COMM_NULL"]

_comm._dynproc = sys.modules[__name__]  # Comm's dynamic-process methods call here
