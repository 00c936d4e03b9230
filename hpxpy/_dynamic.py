"""Processes joining a running job: spawned children and their parents.

A spawn (``Comm.Spawn``) starts a new job of ``k`` localities that is connected to the
spawning group:

1. Every parent opens a ``JoinListener`` (an ephemeral TCP port, the same HMAC handshake
   over the job secret as the bootstrap's). The root starts the children (``start``),
   with the environment of an ordinary job of ``k`` localities (their own rendezvous,
   run by the root, their own ``COMM_WORLD``) plus ``HPXPY_PARENT``: the parents'
   addresses and a proposed context base.
2. Each child, when it starts hpxpy.comm, connects to every parent (``connect``), proves
   the secret and sends its rank and the context base the children agreed on.
3. Both sides hand the sockets to the core (``Runtime.join``), which gives each joined
   process a locality id of its own numbering (``num_localities`` and up) and carries its
   messages over one more TCP parcelport; the inter-communicator is built over those ids.

A child that dies is seen as a lost locality (EOF without goodbye), as in the job itself.
The root reaps the children it started (at exit, bounded, then SIGKILL).
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import threading
import time
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

from . import _bootstrap

if TYPE_CHECKING:
    import subprocess

ENV_PARENT = "HPXPY_PARENT"  # json: {"ports": [addr per parent rank], "context": int}
ENV_APPNUM = "HPXPY_APPNUM"  # which command of a Spawn_multiple this process runs
ENV_UNIVERSE = "HPXPY_UNIVERSE_SIZE"  # MPI.UNIVERSE_SIZE, if the user limits it
ABORT_RANK = -1  # a "rank" in the handshake that carries a failure instead of a process
JOIN_TIMEOUT = float(os.environ.get("HPXPY_JOIN_TIMEOUT", "180"))


class JoinError(RuntimeError):
    """Processes could not be started or did not join in time."""


class JoinListener:
    """Accepts the authenticated connections of ``count`` joining processes, one each."""

    def __init__(self, secret: str, count: int, interface: str = "127.0.0.1") -> None:
        self.count = count
        self._secret = bytes.fromhex(secret)
        self._cond = threading.Condition()
        self._joined: Dict[int, Tuple[socket.socket, dict]] = {}
        self._abort: Optional[str] = None  # why the processes will never come (see abort())
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind((interface, 0))
        listener.listen(max(16, count))
        host, port = listener.getsockname()[:2]
        self.address = f"{host}:{port}"
        self._acceptor = _bootstrap._Acceptor(listener, self._secret, self._accept)

    def _accept(self, sock: socket.socket, rank: int) -> bool:
        hello = json.loads(_bootstrap.recv_frame(sock))
        if rank == ABORT_RANK:
            with self._cond:
                self._abort = str(hello.get("abort", "the spawn failed"))
                self._cond.notify_all()
            return False
        with self._cond:
            if not 0 <= rank < self.count or rank in self._joined:
                return False
            sock.settimeout(None)
            _bootstrap._tune(sock)
            self._joined[rank] = (sock, hello)
            self._cond.notify_all()
        return True

    def wait(self, alive=None, timeout: float = JOIN_TIMEOUT) -> List[Tuple[socket.socket, dict]]:
        """Every joined process's socket and hello, in rank order. ``alive()`` (if given)
        is asked while waiting and raises when the processes cannot join any more."""
        deadline = time.monotonic() + timeout
        try:
            with self._cond:
                while len(self._joined) < self.count:
                    if self._abort is not None:
                        raise JoinError(self._abort)
                    if alive is not None:
                        alive()
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise JoinError(f"{self.count - len(self._joined)} of {self.count} "
                                        f"processes did not connect within {timeout:.0f} s")
                    self._cond.wait(min(left, 0.2))
                return [self._joined.pop(r) for r in range(self.count)]
        finally:
            self.close()

    def close(self) -> None:
        self._acceptor.close()
        with self._cond:
            for sock, _ in self._joined.values():
                sock.close()
            self._joined.clear()


def abort(addresses: Sequence[str], secret: str, why: str) -> None:
    """Tell the listeners at ``addresses`` (the other parents) that nobody will join, so they
    fail now instead of at their timeout. Best effort."""
    for address in addresses:
        try:
            connect(address, secret, ABORT_RANK, {"abort": why}, timeout=5.0).close()
        except JoinError:
            pass


def connect(address: str, secret: str, rank: int, hello: dict,
            timeout: float = JOIN_TIMEOUT) -> socket.socket:
    """Join a process listening at ``address``: handshake as ``rank``, send ``hello``."""
    deadline = time.monotonic() + timeout
    sock = _bootstrap._connect(_bootstrap.parse_address(address), deadline)
    try:
        sock.settimeout(max(1.0, deadline - time.monotonic()))
        _bootstrap.handshake_as_client(sock, bytes.fromhex(secret), rank)
        _bootstrap.send_frame(sock, json.dumps(hello).encode())
    except (_bootstrap.HandshakeError, OSError) as err:
        sock.close()
        raise JoinError(f"joining {address} failed: {err}") from err
    sock.settimeout(None)
    _bootstrap._tune(sock)
    return sock


def join(core, sockets: Sequence[socket.socket]) -> List[int]:
    """Hand the sockets to the core; the locality ids they got, in the same order."""
    return [core.join(sock.detach()) for sock in sockets]


# -- starting processes --------------------------------------------------------------------

_children: List[subprocess.Popen] = []
_children_lock = threading.Lock()


def universe_size(num_localities: int) -> int:
    """How many processes a job may reach by spawning: ``HPXPY_UNIVERSE_SIZE`` if set, else
    the usable cores (or the job's size, if larger). Nothing else limits a spawn here."""
    configured = os.environ.get(ENV_UNIVERSE)
    if configured and configured.isdigit():
        return int(configured)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(cores, num_localities)


class Started:
    """Processes started by one spawn (their rendezvous and their ``Popen``)."""

    def __init__(self, procs: List[subprocess.Popen], server: _bootstrap.RendezvousServer,
                 errors: List[str]) -> None:
        self.procs = procs
        self._server = server
        self.errors = errors

    def check(self) -> None:
        """Raise JoinError if a started process has already exited (it will never join)."""
        for i, proc in enumerate(self.procs):
            status = proc.poll()
            if status is not None:
                raise JoinError(f"spawned process {i} exited with status {status} "
                                f"before joining")

    def close(self) -> None:
        self._server.close()


def start(apps: Sequence[Tuple[str, List[str], int, Dict[str, str]]], secret: str,
          parent: dict, interface: str = "127.0.0.1") -> Started:
    """Start the processes of ``apps`` (command, arguments, count, info) as one job of
    ``sum(counts)`` localities connected to the parents described by ``parent``.

    info keys: ``wdir`` (working directory), ``path`` (``os.pathsep``-separated
    directories searched for the command), ``env`` (``NAME=value`` lines added to the
    environment). A command that cannot be started raises JoinError naming it."""
    import subprocess  # noqa: PLC0415 - only a program that spawns pays for it

    total = sum(count for _, _, count, _ in apps)
    server = _bootstrap.RendezvousServer(total, secret, host=interface)
    procs: List[subprocess.Popen] = []
    rank = 0
    try:
        for appnum, (command, args, count, info) in enumerate(apps):
            env = dict(os.environ)
            for line in (info.get("env") or "").splitlines():
                name, sep, value = line.partition("=")
                if sep and name.strip():
                    env[name.strip()] = value
            env.update({
                _bootstrap.ENV_NUM_LOCALITIES: str(total),
                _bootstrap.ENV_RENDEZVOUS: server.address_string,
                _bootstrap.ENV_JOB_SECRET: secret,
                _bootstrap.ENV_INTERFACE: interface,
                ENV_PARENT: json.dumps(parent),
                ENV_APPNUM: str(appnum),
            })
            env.pop(_bootstrap.ENV_RENDEZVOUS_SERVER, None)
            if env.get(_bootstrap.ENV_PARCELPORT) == "mpi":
                # The children are an hpxpy job of their own, which the parents' MPI job
                # does not contain: they connect as hpxrun's localities do.
                env[_bootstrap.ENV_PARCELPORT] = _bootstrap.DEFAULT_PARCELPORT
            env.pop("HPXPY_OBSERVE_DIR", None)  # the launcher's reports know its localities only
            executable = command
            if info.get("path") and os.sep not in command:
                for folder in info["path"].split(os.pathsep):
                    candidate = os.path.join(folder, command)
                    if os.access(candidate, os.X_OK):
                        executable = candidate
                        break
            for _ in range(count):
                env[_bootstrap.ENV_LOCALITY_ID] = str(rank)
                try:
                    proc = subprocess.Popen([executable, *args], env=dict(env),
                                            cwd=info.get("wdir") or None)
                except OSError as err:
                    raise JoinError(f"cannot start {command!r}: {err}") from err
                procs.append(proc)
                rank += 1
    except BaseException:
        for proc in procs:
            _kill(proc)
        server.close()
        raise
    with _children_lock:
        _children[:] = [p for p in _children if p.poll() is None]  # reap the finished
        _children.extend(procs)
    return Started(procs, server, [])


def _kill(proc: subprocess.Popen) -> None:
    import subprocess  # noqa: PLC0415 - loaded by whoever started proc

    try:
        proc.send_signal(signal.SIGKILL)
    except OSError:
        pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        pass


def reap(timeout: float = 10.0) -> None:
    """Wait (bounded) for every process this one spawned, then kill what is left."""
    with _children_lock:
        procs = list(_children)
        _children.clear()
    if not procs:
        return
    import subprocess  # noqa: PLC0415 - loaded by whoever started them

    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _kill(proc)


atexit.register(reap)


def parent_info() -> Optional[dict]:
    """What a spawned process knows of its parents (None: not spawned)."""
    text = os.environ.get(ENV_PARENT)
    return json.loads(text) if text else None


# -- ports and names (MPI_Open_port, MPI_Publish_name) ---------------------------------------

class Port:
    """An open port: a listener whose authenticated connections wait for an ``Accept``."""

    def __init__(self, secret: str, interface: str = "127.0.0.1") -> None:
        self._cond = threading.Condition()
        self._waiting: List[socket.socket] = []
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind((interface, 0))
        listener.listen(16)
        host, port = listener.getsockname()[:2]
        self.name = f"hpxpy:{host}:{port}"
        self._acceptor = _bootstrap._Acceptor(listener, bytes.fromhex(secret), self._arrived)

    def _arrived(self, sock: socket.socket, _rank: int) -> bool:
        sock.settimeout(None)
        with self._cond:
            self._waiting.append(sock)
            self._cond.notify_all()
        return True

    def take(self) -> socket.socket:
        """The next connecting group's root (waits, as MPI_Comm_accept does; Ctrl-C works)."""
        with self._cond:
            while not self._waiting:
                self._cond.wait(0.2)
            return self._waiting.pop(0)

    def close(self) -> None:
        self._acceptor.close()
        with self._cond:
            for sock in self._waiting:
                sock.close()
            self._waiting.clear()


def port_address(name: str) -> str:
    """The listener address in a port name (ValueError if it is not one of ours)."""
    prefix, sep, address = name.partition(":")
    if prefix != "hpxpy" or not sep:
        raise ValueError(f"not an hpxpy port name: {name!r}")
    _bootstrap.parse_address(address)
    return address


def ask(address: str, secret: str, rank: int, request: dict,
        timeout: float = JOIN_TIMEOUT) -> dict:
    """Connect to a port, send ``request``, return the answer (one exchange)."""
    sock = connect(address, secret, rank, request, timeout)
    try:
        sock.settimeout(timeout)
        return json.loads(_bootstrap.recv_frame(sock))
    except (_bootstrap.HandshakeError, OSError) as err:
        raise JoinError(f"no answer from port {address}: {err}") from err
    finally:
        sock.close()


def names_dir(secret: str) -> str:
    """Where the job's published names live: one file per service, in a directory private
    to the job (named by a hash of its secret, readable by this user only)."""
    import hashlib
    import tempfile

    digest = hashlib.sha256(bytes.fromhex(secret)).hexdigest()[:24]
    return os.path.join(tempfile.gettempdir(), f"hpxpy-names-{os.getuid()}-{digest}")


_published: Dict[str, str] = {}  # service file -> port, published by this process


def publish(secret: str, service: str, port: str) -> None:
    folder = names_dir(secret)
    path = os.path.join(folder, _service_file(service))
    tmp = f"{path}.{os.getpid()}.tmp"
    for attempt in range(100):
        # Another locality's unpublish removes the folder once its last name is gone; if
        # that falls between our makedirs and our write, make it again. (Inside makedirs
        # too: its mkdir finds the folder, which is gone when it checks it is one.)
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            with open(tmp, "w") as f:
                f.write(port)
            os.replace(tmp, path)
            break
        except (FileNotFoundError, FileExistsError):
            if attempt == 99:
                raise
    _published[path] = port


def lookup(secret: str, service: str) -> Optional[str]:
    try:
        with open(os.path.join(names_dir(secret), _service_file(service))) as f:
            return f.read()
    except FileNotFoundError:
        return None


def unpublish(secret: str, service: str, port: str) -> bool:
    """False if ``service`` is not published with ``port``."""
    folder = names_dir(secret)
    path = os.path.join(folder, _service_file(service))
    if lookup(secret, service) != port:
        return False
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    _published.pop(path, None)
    try:
        os.rmdir(folder)  # the last name gone: leave nothing behind
    except OSError:
        pass
    return True


def _service_file(service: str) -> str:
    import urllib.parse

    return urllib.parse.quote(service, safe="") or "%00"


def _unpublish_all() -> None:
    """At exit: the names this process published and did not withdraw."""
    for path in list(_published):
        try:
            os.unlink(path)
            os.rmdir(os.path.dirname(path))
        except OSError:
            pass
    _published.clear()


atexit.register(_unpublish_all)
