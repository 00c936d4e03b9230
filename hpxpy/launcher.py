"""Launch one program as N cooperating localities (``hpxrun``), in the manner of ``mpiexec``.

The launcher starts a rendezvous server for the job, spawns one process per locality (each in
its own process group, with the locality's identity in its environment), passes their output
through, forwards SIGINT/SIGTERM/SIGHUP to them, and reduces their exit statuses to the job's
status: the first non-zero status observed (128+s for a locality killed by signal s), or 0.

When a locality fails, the survivors get a grace period to notice and exit on their own; then
they are sent SIGTERM and, if still alive after a short delay, SIGKILL. No locality process
(nor anything left in its process group) outlives the launcher.

Command line::

    hpxrun -n 4 [--tag-output] [--timeout S] [--interface ADDR|IFACE] [-v] [--trace OUT.json]
           [--stats[=json]] program [args...]
    hpxrun [-n N] --hosts a:2,b:2 | --hostfile FILE [--rsh CMD] program [args...]
    python -m hpxpy.launcher -n 4 python script.py

From Python::

    from hpxpy.launcher import launch_localities, spmd_main

    status = launch_localities("script.py", num_localities=4, args=["--size", "10"])

    @spmd_main(num_localities=4)
    def main():
        ...  # runs in every locality; a plain ``python script.py`` re-launches it as 4

This module is over 600 lines because it is one job's whole life seen from outside (spawn,
output pumps, signal forwarding, the failure grace period, exit statuses) plus its three
entry points; the bootstrap the localities run lives in ``_bootstrap.py``. Localities on
other hosts are started through the remote shell (``--rsh``, default ``ssh``) and watched
there by ``hpxpy._remote``.

Seeing inside a job (docs/observability.md): SIGQUIT to ``hpxrun`` (Ctrl-\\) is forwarded
to every locality, which writes a stall report (``_stall.py``: stacks and pending
operations) and goes on; ``--timeout`` asks for the same reports before it stops the job.
``--trace`` and ``--stats`` have each locality record its hpxpy.comm calls
(``comm/_trace.py``) and write its part to the job's directory at exit; ``observe.py``
merges them here.
"""

from __future__ import annotations

import argparse
import ctypes
import functools
import json
import os
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Dict, List, Sequence, TypeVar, Union

from hpxpy._bootstrap import (
    ENV_HOST,
    ENV_INTERFACE,
    ENV_JOB_SECRET,
    ENV_LOCALITY_ID,
    ENV_NUM_LOCALITIES,
    ENV_RENDEZVOUS,
    ENV_RENDEZVOUS_SERVER,
    RendezvousServer,
    interface_addresses,
    is_ipv4,
    new_job_secret,
    parse_address,
)
from hpxpy._launchenv import LauncherError, Placement
from hpxpy._launchenv import detect as _detect_launcher
from hpxpy._stall import END_MARKER, ENV_OBSERVE_DIR, ENV_TAG_OUTPUT, ready_localities

__all__ = [
    "LaunchConfig",
    "LocalityConfig",
    "find_free_port",
    "parse_hosts",
    "place_localities",
    "read_hostfile",
    "is_multi_locality_mode",
    "launch_localities",
    "main",
    "run_job",
    "spmd_main",
]

PROG = "hpxrun"
TIMEOUT_STATUS = 124  # as coreutils ``timeout``
ENV_TIMEOUT = "HPXPY_TIMEOUT"  # default for --timeout, in seconds
ENV_TRACE = "HPXPY_TRACE"  # set for the localities by --trace / --stats
ENV_STATS = "HPXPY_STATS"
ENV_RSH = "HPXPY_RSH"  # default for --rsh: how to run a command on another host
DEFAULT_RSH = "ssh"
# Variables that describe the launching host or session, not the job: not carried to
# localities on other hosts (as Hydra propagates the rest of the environment).
_HOST_SPECIFIC = {"HOSTNAME", "HOST", "PWD", "OLDPWD", "SHLVL", "_", "DISPLAY", "XAUTHORITY",
                  "TERM", "TERMCAP", "COLUMNS", "LINES", ENV_JOB_SECRET}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
COMMAND_NOT_FOUND_STATUS = 127
_FORWARDED_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)

F = TypeVar("F", bound=Callable[..., Any])


def find_free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that was free a moment ago (bind port 0, read it back)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _other_launcher() -> Placement | None:
    """Where mpiexec or srun (not hpxrun) placed this process; None if neither did."""
    try:
        return _detect_launcher()
    except LauncherError:
        return None  # started by one, but unusable: init() reports why


def is_multi_locality_mode() -> bool:
    """True when this process is one locality of a job of more than one locality (started
    by hpxrun, or by mpiexec or srun)."""
    placement = _other_launcher()
    if placement is not None:
        return placement.num_localities > 1
    try:
        return int(os.environ.get(ENV_NUM_LOCALITIES, "1")) > 1
    except ValueError:
        return False


def _check_num_localities(num_localities: Any) -> None:
    if isinstance(num_localities, bool) or not isinstance(num_localities, int):
        raise ValueError(
            f"num_localities must be an int >= 1, got {type(num_localities).__name__} "
            f"{num_localities!r}"
        )
    if num_localities < 1:
        raise ValueError(f"num_localities must be >= 1, got {num_localities}")


@dataclass
class LocalityConfig:
    """The identity of one locality within a job, and how it reaches the others.

    ``rendezvous`` is the ``host:port`` of the job's rendezvous server, ``interface`` the
    address the locality's parcelport binds, ``job_secret`` the per-job hex secret.
    """

    locality_id: int
    num_localities: int
    rendezvous: str = "127.0.0.1:0"
    interface: str = "127.0.0.1"
    job_secret: str = ""

    def __post_init__(self) -> None:
        _check_num_localities(self.num_localities)
        if isinstance(self.locality_id, bool) or not isinstance(self.locality_id, int):
            raise ValueError(
                f"locality_id must be an int in [0, {self.num_localities}), got "
                f"{type(self.locality_id).__name__} {self.locality_id!r}"
            )
        if not 0 <= self.locality_id < self.num_localities:
            raise ValueError(
                f"locality_id must be in [0, {self.num_localities}) for a job of "
                f"{self.num_localities} localities, got {self.locality_id}"
            )
        parse_address(self.rendezvous)  # raises ValueError naming the expected form
        if not self.interface:
            raise ValueError("interface must be a non-empty address, got ''")

    def to_hpx_args(self) -> List[str]:
        """HPX-style command-line arguments describing this locality."""
        return [
            f"--hpx:localities={self.num_localities}",
            f"--hpx:node={self.locality_id}",
            f"--hpx:agas={self.rendezvous}",
            f"--hpx:hpx={self.interface}:0",
        ]

    def to_env(self, job_secret: str | None = None) -> Dict[str, str]:
        """The environment variables a locality process reads at start-up.

        ``job_secret`` overrides the ``job_secret`` field; the secret variable is left out when
        neither is set.
        """
        env = {
            ENV_LOCALITY_ID: str(self.locality_id),
            ENV_NUM_LOCALITIES: str(self.num_localities),
            ENV_RENDEZVOUS: self.rendezvous,
            ENV_INTERFACE: self.interface,
            "PYTHONUNBUFFERED": "1",
        }
        secret = self.job_secret if job_secret is None else job_secret
        if secret:
            env[ENV_JOB_SECRET] = secret
        return env


@dataclass
class LaunchConfig:
    """How to run a job.

    Attributes:
        num_localities: number of locality processes.
        timeout: seconds after which the job is stopped with status 124 (None: no limit).
        tag_output: prefix every output line with ``[i] `` (the locality id).
        interface: address the rendezvous server and the localities bind.
        grace_period: seconds the survivors get to exit on their own after a locality fails.
        kill_delay: seconds between SIGTERM and SIGKILL when stopping the job.
        env: extra environment variables for every locality.
        poll_interval: seconds between two checks of the localities' state.
        trace: write a merged trace-event JSON timeline of hpxpy.comm calls there.
        stats: print a per-locality summary of hpxpy.comm calls at exit: "table" or "json".
        verbose: report start-up progress (which localities have not connected yet).
        report_wait: seconds a timed-out job waits for the localities' stall reports.
        hosts: the hosts to run on, as (name, slots); None: every locality on this host.
        rsh: the command that runs a command on another host (``ssh``), split as a shell
            would; it is run as ``RSH HOST COMMAND``.
    """

    num_localities: int = 4
    timeout: float | None = None
    tag_output: bool = False
    interface: str = "127.0.0.1"
    grace_period: float = 3.0
    kill_delay: float = 2.0
    env: Dict[str, str] = field(default_factory=dict)
    poll_interval: float = 0.02
    trace: str | None = None
    stats: str | None = None
    verbose: bool = False
    report_wait: float = 3.0
    hosts: List[tuple] | None = None
    rsh: str = DEFAULT_RSH

    def __post_init__(self) -> None:
        _check_num_localities(self.num_localities)
        if self.hosts is not None:
            if not self.hosts:
                raise ValueError("hosts must name at least one host")
            for name, slots in self.hosts:
                if not name or not isinstance(slots, int) or slots < 1:
                    raise ValueError(f"bad host entry {(name, slots)!r}: expected (name, slots "
                                     ">= 1)")
            if not shlex.split(self.rsh):
                raise ValueError("rsh must be a command, got an empty string")
        if self.timeout is not None and not self.timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds or None, got {self.timeout!r}")
        for name in ("grace_period", "kill_delay"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 seconds, got {getattr(self, name)!r}")
        if not self.poll_interval > 0:
            raise ValueError(f"poll_interval must be > 0 seconds, got {self.poll_interval!r}")
        if self.stats not in (None, "table", "json"):
            raise ValueError(f"stats must be None, 'table' or 'json', got {self.stats!r}")


def _message(text: str) -> None:
    try:
        sys.stderr.write(f"{PROG}: {text}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _exit_status(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def _describe_status(status: int) -> str:
    if status > 128:
        try:
            return f"status {status} (killed by {signal.Signals(status - 128).name})"
        except ValueError:
            pass
    return f"status {status}"


def _host_entry(text: str, where: str) -> tuple:
    name, sep, slots = text.strip().partition(":")
    name = name.strip()
    if not name or (sep and not slots.strip().isdigit()) or (sep and int(slots) < 1):
        raise ValueError(f"{where}: expected 'host' or 'host:slots' (slots >= 1), got {text!r}")
    return name, int(slots) if sep else 1


def parse_hosts(text: str) -> List[tuple]:
    """``"a,b:2"`` (``--hosts``, as Hydra's ``-hosts``) -> [("a", 1), ("b", 2)]."""
    return [_host_entry(item, "--hosts") for item in text.split(",") if item.strip()]


def read_hostfile(path: Union[str, os.PathLike]) -> List[tuple]:
    """A host file (``--hostfile``): one ``host[:slots]`` per line; ``#`` starts a comment."""
    hosts = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if line:
                hosts.append(_host_entry(line, f"{os.fspath(path)}, line {number}"))
    return hosts


def place_localities(hosts: Sequence[tuple], num_localities: int) -> List[str]:
    """The host of each locality: block-wise, filling each host's slots in list order, and
    round again from the first host when the localities outnumber the slots (as Hydra)."""
    order = [name for name, slots in hosts for _ in range(slots)]
    return [order[i % len(order)] for i in range(num_localities)]


def _is_this_host(name: str) -> bool:
    """Hosts hpxrun starts directly rather than through the remote shell."""
    return name in ("localhost", socket.gethostname())


def _remote_command(command: Sequence[str], env: Dict[str, str]) -> str:
    """The shell command the remote shell runs on another host: into this directory, the
    guardian (hpxpy._remote) with the program. Only PYTHONPATH is on that command line (the
    guardian must find hpxpy); the rest of the environment and the secret go over stdin
    (``_remote_start``), out of sight of ``ps``."""
    path = env.get("PYTHONPATH")
    return " ".join([f"cd {shlex.quote(os.getcwd())} && exec",
                     *([f"env PYTHONPATH={shlex.quote(path)}"] if path else []),
                     shlex.quote(sys.executable), "-m", "hpxpy._remote",
                     *(shlex.quote(word) for word in command)])


def _remote_start(env: Dict[str, str], secret: str) -> bytes:
    """The first line hpxrun writes to a remote locality's guardian: the job secret and the
    environment carried to the other host (as Hydra: all but the launching session's)."""
    carried = {k: v for k, v in env.items() if k not in _HOST_SPECIFIC
               and _ENV_NAME.match(k) and not k.startswith("SSH_")}
    return json.dumps({"secret": secret, "env": carried}).encode() + b"\n"


def _rendezvous_binding(interface: str) -> tuple:
    """Where the rendezvous of a job across hosts listens, and the addresses it is
    advertised at: the interface's address when it is one of this host's; otherwise every
    interface, advertised at each non-loopback address (the localities try them in turn)."""
    addresses = interface_addresses()
    if interface in addresses:
        return addresses[interface], addresses[interface]
    if interface in addresses.values():
        return interface, interface
    others = [a for a in addresses.values() if not a.startswith("127.")]
    return "0.0.0.0", ",".join([*others, "127.0.0.1"])


def _parent_death_hook() -> Callable[[], None] | None:
    """On Linux, a ``preexec_fn`` making the kernel SIGKILL a locality if the launcher dies.

    This covers the one case the launcher cannot clean up after itself: being SIGKILLed.
    The hook only calls prctl() and getppid(), nothing that takes a lock of the parent.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    launcher_pid = os.getpid()
    pr_set_pdeathsig = 1

    def hook() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != launcher_pid:  # the launcher died before prctl() took effect
            os._exit(1)

    return hook


_subreaper = False  # hpxrun adopts orphaned descendants (spawned processes)


def _become_subreaper() -> None:
    """Linux: processes a locality spawned (MPI_Comm_spawn) are re-parented to hpxrun, not
    to init, if that locality dies first, so hpxrun reaps them too."""
    global _subreaper
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        _subreaper = libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        _subreaper = False


def _reap_orphans(timeout: float = 5.0) -> None:
    """Wait (bounded) for adopted descendants; they share a locality's process group, which
    has been sent SIGKILL."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return  # none left
        if pid == 0:
            time.sleep(0.02)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    """Send ``sig`` to the process group of ``proc`` (which leads its own session)."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class _OutputPump(threading.Thread):
    """Copies one locality's stdout or stderr to ours as whole lines.

    Localities write to their own pipe, so lines from different localities never mix
    inside one line (a child's ``print`` may reach its pipe in several writes). A partial
    line (a prompt) is passed on once the locality has written nothing more for 100 ms.
    With ``tag`` every line is prefixed ``[i] ``.
    """

    _locks = {"stdout": threading.Lock(), "stderr": threading.Lock()}
    _PARTIAL_LINE_DELAY = 0.1

    _END = END_MARKER.encode()

    def __init__(self, pipe: IO[bytes], locality_id: int, sink: str, tag: bool) -> None:
        super().__init__(name=f"hpxrun-{sink}-{locality_id}", daemon=True)
        self._pipe = pipe
        self._prefix = f"[{locality_id}] ".encode() if tag else b""
        self._sink = sink
        self.reports = 0  # stall reports passed on (their last line, END_MARKER)

    def run(self) -> None:
        fd = self._pipe.fileno()
        pending = b""
        try:
            with self._pipe:
                while True:
                    if pending:
                        ready, _, _ = select.select([fd], [], [], self._PARTIAL_LINE_DELAY)
                        if not ready:
                            self._emit(pending, complete=False)
                            pending = b""
                            continue
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        break
                    pending += chunk
                    cut = pending.rfind(b"\n") + 1
                    if cut:
                        self._emit(pending[:cut], complete=True)
                        pending = pending[cut:]
                if pending:
                    self._emit(pending, complete=False)
        except (OSError, ValueError):
            pass

    def _emit(self, data: bytes, complete: bool) -> None:
        ends = data.count(self._END)
        if self._prefix:
            lines = data.split(b"\n")
            if complete:
                lines.pop()  # the empty piece after the final newline
            data = b"".join(self._prefix + line + b"\n" for line in lines)
        self._write(data)
        self.reports += ends

    def _write(self, data: bytes) -> None:
        stream = sys.stdout if self._sink == "stdout" else sys.stderr
        with self._locks[self._sink]:
            try:
                buffer = getattr(stream, "buffer", None)
                if buffer is not None:
                    stream.flush()
                    buffer.write(data)
                    buffer.flush()
                else:
                    stream.write(data.decode(errors="replace"))
                    stream.flush()
            except (OSError, ValueError):
                pass


class _ExitWatch:
    """Sleeps between the monitor's checks, waking as soon as a locality's process ends
    (a pidfd per process turns readable at its exit): a job is over when its last
    locality is, not up to a poll interval later. Without pidfds (old kernels), sleeps."""

    def __init__(self, procs: Sequence[subprocess.Popen]) -> None:
        self._fds: Dict[int, int] = {}
        for i, proc in enumerate(procs):
            if proc.returncode is not None:
                continue
            try:
                self._fds[i] = os.pidfd_open(proc.pid)
            except (AttributeError, OSError):  # no pidfd: the poll interval it is
                self.close()
                return

    def wait(self, running: Sequence[int], timeout: float) -> None:
        fds = [self._fds[i] for i in running if i in self._fds]
        if len(fds) < len(running):
            time.sleep(timeout)
        elif fds:
            select.select(fds, [], [], timeout)

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds = {}


class _Job:
    """One run of ``command`` as ``config.num_localities`` localities."""

    def __init__(self, command: Sequence[str], config: LaunchConfig) -> None:
        self.command = list(command)
        self.config = config
        self.procs: List[subprocess.Popen] = []
        self.pumps: List[_OutputPump] = []
        self._spawning = True
        self._pending_signals: List[int] = []
        self._signals_received = 0
        self._stop_requested = False
        self._old_handlers: Dict[int, Any] = {}
        self.server: RendezvousServer | None = None
        self.observe_dir = tempfile.mkdtemp(prefix="hpxrun-")
        self._quit_requests = 0  # SIGQUITs received, handled by the monitor loop
        # Localities on other hosts: the stdin of their remote shell (hpxpy._remote's
        # control channel), by locality.
        self.controls: Dict[int, int] = {}
        self.placement = (place_localities(config.hosts, config.num_localities)
                          if config.hosts else None)

    def _signal(self, i: int, sig: int) -> None:
        """``sig`` to locality i's process group, on whichever host it runs."""
        control = self.controls.get(i)
        if control is None:
            _signal_group(self.procs[i], sig)
            return
        try:
            os.write(control, f"SIG {int(sig)}\n".encode())
        except OSError:
            pass  # the remote shell is gone; its exit status says why

    # -- signals ---------------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: Any) -> None:
        self._signals_received += 1
        if self._signals_received >= 2:
            self._stop_requested = True  # a second signal: stop the job for good
        if self._spawning:
            self._pending_signals.append(signum)
        else:
            for i, proc in enumerate(self.procs):
                if proc.returncode is None:
                    self._signal(i, signum)

    def _on_quit(self, signum: int, frame: Any) -> None:
        self._quit_requests += 1  # the monitor asks the localities for reports

    def _install_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread
        for sig in _FORWARDED_SIGNALS:
            try:
                self._old_handlers[sig] = signal.signal(sig, self._on_signal)
            except (OSError, ValueError):
                pass
        if hasattr(signal, "SIGQUIT"):
            try:
                self._old_handlers[signal.SIGQUIT] = signal.signal(signal.SIGQUIT, self._on_quit)
            except (OSError, ValueError):
                pass

    # -- stall reports ---------------------------------------------------------------------

    def _request_reports(self, running: Sequence[int]) -> Dict[int, int]:
        """SIGQUIT to every running locality that writes reports (it said so in the job
        directory); the others are named. Returns {locality: reports seen before}."""
        ready = set(ready_localities(self.observe_dir, len(self.procs)))
        asked: Dict[int, int] = {}
        silent = [i for i in running if i not in ready]
        if silent:
            _message(f"no stall report from localities {_ranges(silent)} "
                     "(hpxpy not started there)")
        for i in running:
            if i not in ready:
                continue
            asked[i] = self._stderr_pump(i).reports
            try:
                if i in self.controls:
                    os.write(self.controls[i], b"QUIT\n")
                else:
                    os.kill(self.procs[i].pid, signal.SIGQUIT)  # the locality, not its group
            except (ProcessLookupError, PermissionError, OSError):
                pass
        return asked

    def _stderr_pump(self, i: int) -> _OutputPump:
        return self.pumps[2 * i + 1]

    def _reports_done(self, asked: Dict[int, int]) -> bool:
        return all(self._stderr_pump(i).reports > before or self.procs[i].poll() is not None
                   for i, before in asked.items())

    def _restore_handlers(self) -> None:
        for sig, handler in self._old_handlers.items():
            try:
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
            except (OSError, ValueError):
                pass
        self._old_handlers.clear()

    # -- processes -------------------------------------------------------------------------

    def _spawn(self, rendezvous: str, secret: str) -> None:
        cfg = self.config
        base_env = dict(os.environ)
        base_env.pop(ENV_RENDEZVOUS_SERVER, None)  # the launcher hosts the rendezvous
        base_env.update(cfg.env)
        tagged = cfg.tag_output
        base_env[ENV_OBSERVE_DIR] = self.observe_dir
        if tagged:
            base_env[ENV_TAG_OUTPUT] = "1"
        if cfg.trace:
            base_env[ENV_TRACE] = "1"
        if cfg.stats:
            base_env[ENV_STATS] = "1"
        for sys_stream in (sys.stdout, sys.stderr):
            try:
                sys_stream.flush()
            except (OSError, ValueError, AttributeError):
                pass
        preexec = _parent_death_hook()
        try:
            for i in range(cfg.num_localities):
                locality = LocalityConfig(i, cfg.num_localities, rendezvous, cfg.interface, secret)
                env = dict(base_env)
                env.update(locality.to_env())
                host = self.placement[i] if self.placement else None
                if host is not None:
                    env[ENV_HOST] = host
                if host is None or _is_this_host(host):
                    self.procs.append(subprocess.Popen(
                        self.command,
                        env=env,
                        stdin=None if i == 0 else subprocess.DEVNULL,  # stdin: locality 0
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                        start_new_session=True,  # own process group: killpg() reaches all
                        preexec_fn=preexec,
                    ))
                    continue
                # Another host: through the remote shell, the secret on its stdin.
                env.pop(ENV_JOB_SECRET, None)
                remote = [*shlex.split(cfg.rsh), host, _remote_command(self.command, env)]
                proc = subprocess.Popen(remote, env=env, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        start_new_session=True, preexec_fn=preexec)
                self.procs.append(proc)
                assert proc.stdin is not None
                self.controls[i] = proc.stdin.fileno()
                try:
                    start = _remote_start(env, secret)
                    while start:
                        start = start[os.write(self.controls[i], start):]
                except OSError:
                    pass  # the remote shell failed at once; its status says why
        finally:
            # The pumps start once every locality is forked, so no fork happens while they run.
            for i, proc in enumerate(self.procs):
                for pipe, sink in ((proc.stdout, "stdout"), (proc.stderr, "stderr")):
                    assert pipe is not None
                    pump = _OutputPump(pipe, i, sink, tagged)
                    pump.start()
                    self.pumps.append(pump)

    def _end_spawning(self) -> None:
        self._spawning = False
        pending, self._pending_signals = self._pending_signals, []
        for signum in pending:
            for i in range(len(self.procs)):
                self._signal(i, signum)

    def _monitor(self) -> int:
        exits = _ExitWatch(self.procs)
        try:
            return self._monitor_loop(exits)
        finally:
            exits.close()

    def _monitor_loop(self, exits: _ExitWatch) -> int:
        cfg = self.config
        start = time.monotonic()
        running = list(range(len(self.procs)))
        status: int | None = None
        stop_at: float | None = None
        kill_at: float | None = None
        timed_out = False
        reports: Dict[int, int] | None = None  # a timed-out job waits for these
        quits_seen = 0
        next_progress = start + 1.0
        while running:
            for i in list(running):
                rc = self.procs[i].poll()
                if rc is None:
                    continue
                running.remove(i)
                code = _exit_status(rc)
                if code != 0 and status is None:
                    status = code
                    if running and stop_at is None:
                        _message(
                            f"locality {i} exited with {_describe_status(code)}; stopping the job"
                        )
                        stop_at = time.monotonic() + cfg.grace_period
            if not running:
                break
            now = time.monotonic()
            if self._quit_requests != quits_seen:
                quits_seen = self._quit_requests
                _message("SIGQUIT: asking every locality for a stall report")
                self._request_reports(running)
            if cfg.verbose and now >= next_progress:
                next_progress = now + 1.0
                self._progress(now - start)
            if cfg.timeout is not None and not timed_out and now - start > cfg.timeout:
                timed_out = True
                reports = self._request_reports(running)
                _message(f"job exceeded timeout of {cfg.timeout:g} s; stopping"
                         + (" after the stall reports" if reports else ""))
                if status is None:
                    status = TIMEOUT_STATUS
                stop_at = now + cfg.report_wait if reports else now
            if reports and stop_at is not None and now < stop_at - 0.2 \
                    and self._reports_done(reports):
                reports = {}
                stop_at = now + 0.2  # let the pumps pass the last lines on
            if self._stop_requested and (stop_at is None or stop_at > now):
                stop_at = now
            if stop_at is not None and now >= stop_at and kill_at is None:
                for i in running:
                    self._signal(i, signal.SIGTERM)
                kill_at = now + cfg.kill_delay
            if kill_at is not None and now >= kill_at:
                for i in running:
                    self._signal(i, signal.SIGKILL)
                    if i in self.controls:  # and the remote shell, if it still runs
                        _signal_group(self.procs[i], signal.SIGKILL)
                kill_at = now + cfg.kill_delay  # keep insisting
            exits.wait(running, cfg.poll_interval)
        return 0 if status is None else status

    def _cleanup(self) -> None:
        """Kill whatever is left of every locality's process group and reap the localities,
        and the processes they spawned that outlived them (ours as subreaper). A locality
        on another host is asked to end first (its guardian kills it, or sees the end of
        its input when the remote shell dies)."""
        for i in self.controls:
            self._signal(i, signal.SIGKILL)
        deadline = time.monotonic() + 3.0
        for i, proc in enumerate(self.procs):
            if i in self.controls:
                try:
                    proc.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
                assert proc.stdin is not None
                proc.stdin.close()
        for proc in self.procs:
            _signal_group(proc, signal.SIGKILL)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - unkillable process
                _message(f"process {proc.pid} did not die after SIGKILL")
        if _subreaper:
            _reap_orphans()
        for pump in self.pumps:
            pump.join(timeout=2.0)

    def _progress(self, elapsed: float) -> None:
        """-v: while start-up waits, say which localities have not connected yet."""
        server = self.server
        if server is None or server.wait(0):
            return
        joined = set(server.registered())
        missing = [i for i in range(self.config.num_localities) if i not in joined]
        if missing:
            _message(f"{elapsed:.0f} s: {len(joined)} of {self.config.num_localities} "
                     f"localities connected; waiting for {_ranges(missing)}")

    def run(self) -> int:
        secret = new_job_secret()
        host, advertised = self.config.interface, ""
        if self.config.hosts or not is_ipv4(host):  # other hosts, or an interface name
            host, advertised = _rendezvous_binding(self.config.interface)
        server = RendezvousServer(self.config.num_localities, secret, host=host)
        self.server = server
        self._install_handlers()
        try:
            try:
                self._spawn(f"{advertised}:{server.address[1]}" if advertised
                            else server.address_string, secret)
            except OSError as err:
                _message(f"cannot run {self.command[0]!r}: {err.strerror or err}")
                self._end_spawning()
                return COMMAND_NOT_FOUND_STATUS
            self._end_spawning()
            if self.config.verbose:
                _message(f"started {len(self.procs)} localities; rendezvous at "
                         f"{server.address_string}")
            status = self._monitor()
            if self.config.verbose and server.wait(0):
                _message("every locality connected")
            return status
        finally:
            try:
                self._cleanup()
                self._collect()
            finally:
                self._restore_handlers()
                server.close()
                shutil.rmtree(self.observe_dir, ignore_errors=True)

    def _collect(self) -> None:
        """Merge the localities' trace parts and print the summary (--trace, --stats)."""
        cfg = self.config
        if not (cfg.trace or cfg.stats):
            return
        from hpxpy import observe  # only when asked for: keeps plain runs' start-up lean

        n = cfg.num_localities
        if cfg.trace:
            try:
                count, missing = observe.merge_trace(self.observe_dir, n, cfg.trace)
                note = f" (no part from localities {_ranges(missing)})" if missing else ""
                _message(f"trace: {count} events written to {cfg.trace}{note}")
            except OSError as err:
                _message(f"trace: cannot write {cfg.trace}: {err}")
        if cfg.stats:
            stats = observe.load_stats(self.observe_dir, n)
            text = observe.format_stats(stats) if cfg.stats == "table" \
                else observe.stats_json(stats)
            try:
                sys.stderr.write(text if text.endswith("\n") else text + "\n")
                sys.stderr.flush()
            except (OSError, ValueError):
                pass


def _ranges(ids: Sequence[int]) -> str:
    """[0, 1, 2, 5] -> "0-2, 5"."""
    out: List[str] = []
    ids = sorted(ids)
    i = 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        out.append(str(ids[i]) if i == j else f"{ids[i]}-{ids[j]}")
        i = j + 1
    return ", ".join(out)


def run_job(command: Sequence[str], config: LaunchConfig) -> int:
    """Run ``command`` as ``config.num_localities`` localities; return the job's exit status.

    The status is the first non-zero locality status observed (128+s for a locality killed by
    signal s), 124 when the job exceeded ``config.timeout``, 127 when the command could not be
    started, 0 when every locality exited 0.
    """
    if isinstance(command, (str, bytes)) or not command:
        raise ValueError(f"command must be a non-empty sequence of arguments, got {command!r}")
    return _Job(command, config).run()


def launch_localities(
    script: Union[str, os.PathLike],
    num_localities: int = 4,
    args: Sequence[str] = (),
    timeout: float | None = None,
    *,
    config: LaunchConfig | None = None,
    tag_output: bool = False,
    python: str | None = None,
) -> int:
    """Run the Python ``script`` with ``args`` as ``num_localities`` localities.

    When ``config`` is given it is used as is (``num_localities``, ``timeout`` and
    ``tag_output`` are then ignored). ``python`` defaults to the running interpreter.
    Returns the job's exit status (see :func:`run_job`).
    """
    if config is None:
        config = LaunchConfig(num_localities=num_localities, timeout=timeout, tag_output=tag_output)
    command = [python or sys.executable, os.fspath(script), *[str(a) for a in args]]
    return run_job(command, config)


def _relaunch_command() -> List[str]:
    """The command that re-runs the current program (script or ``-m`` module) with its args."""
    main_module = sys.modules.get("__main__")
    spec = getattr(main_module, "__spec__", None)
    if spec is not None and spec.name:
        name = spec.name
        if name.endswith(".__main__"):
            name = name[: -len(".__main__")]
        return [sys.executable, "-m", name, *sys.argv[1:]]
    script = sys.argv[0] if sys.argv else ""
    if not script or script == "-c" or not os.path.exists(script):
        raise RuntimeError(
            "spmd_main cannot re-launch this program: it is not a script or module on disk "
            f"(sys.argv[0] is {script!r}); run it with hpxrun instead"
        )
    return [sys.executable, script, *sys.argv[1:]]


def spmd_main(
    num_localities: Union[int, Callable[..., Any]] = 4,
) -> Any:
    """Decorate a program's entry point so that a plain run starts it as N localities.

    Inside a locality (``HPXPY_NUM_LOCALITIES`` is set, or mpiexec or srun started the
    process) the decorated function is simply called. In a plain process, the program
    (``sys.argv[0]`` with ``sys.argv[1:]``) is re-launched as ``num_localities``
    localities and the process exits with the job's status. Usable as
    ``@spmd_main(num_localities=4)`` or bare ``@spmd_main``.
    """
    if callable(num_localities):  # bare @spmd_main
        return spmd_main()(num_localities)
    _check_num_localities(num_localities)
    count = num_localities

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if ENV_NUM_LOCALITIES in os.environ or _other_launcher() is not None:
                return func(*args, **kwargs)  # already one locality of a job
            status = run_job(_relaunch_command(), LaunchConfig(num_localities=count))
            sys.exit(status)

        return wrapper  # type: ignore[return-value]

    return decorate


def _mpi4py_shim_dir() -> str | None:
    """Directory holding the ``mpi4py`` stand-in (``hpxpy/comm/_shim``), or None if absent.

    Computed from this file's location: importing hpxpy.comm here would start a runtime.
    """
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "comm", "_shim")
    return path if os.path.isdir(os.path.join(path, "mpi4py")) else None


_VALUE_OPTIONS = {
    "-n",
    "-np",
    "-l",
    "--localities",
    "--timeout",
    "--interface",
    "--grace-period",
    "--trace",
    "--hosts",
    "-hosts",
    "--host",
    "--hostfile",
    "-f",
    "--rsh",
}


def _split_argv(argv: Sequence[str]) -> tuple[List[str], List[str]]:
    """Split ``argv`` into launcher options and the command (from the first positional on)."""
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            return list(argv[:i]), list(argv[i + 1 :])
        if not token.startswith("-") or token == "-":
            return list(argv[:i]), list(argv[i:])
        i += 2 if token in _VALUE_OPTIONS else 1
    return list(argv), []


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        usage=f"{PROG} [-h] [-n N] [--hosts H[:SLOTS],... | --hostfile FILE] [--rsh CMD] "
        "[--tag-output] [--timeout S] [--interface ADDR|IFACE] [-v] "
        "[--trace OUT.json] [--stats[=json]] command [args ...]",
        description="Run a program as N cooperating hpxpy localities (like mpiexec). "
        "Ctrl-\\ (SIGQUIT) makes every locality print a stall report (stacks and pending "
        "communication) and go on; see docs/observability.md.",
        allow_abbrev=False,
    )
    parser.add_argument(
        "-n",
        "-np",
        "-l",
        "--localities",
        dest="num_localities",
        type=int,
        default=None,
        metavar="N",
        help="number of localities (default: the hosts' slots, or 4)",
    )
    hosts = parser.add_mutually_exclusive_group()
    hosts.add_argument(
        "--hosts",
        "-hosts",
        "--host",
        default=None,
        metavar="H[:SLOTS],...",
        help="run on these hosts: SLOTS localities (default 1) on each, block-wise in order, "
        "then round again; other hosts are reached with --rsh",
    )
    hosts.add_argument(
        "--hostfile",
        "-f",
        default=None,
        metavar="FILE",
        help="as --hosts, one 'host[:slots]' per line ('#' starts a comment)",
    )
    parser.add_argument(
        "--rsh",
        default=None,
        metavar="CMD",
        help=f"command that runs a command on another host, as 'CMD HOST COMMAND' "
        f"(default: ${ENV_RSH}, else {DEFAULT_RSH})",
    )
    parser.add_argument(
        "--tag-output", action="store_true", help="prefix every output line with [locality id]"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help="stop the job after S seconds, after a stall report from every locality "
        f"(exit status 124; default: ${ENV_TIMEOUT} if set)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="report start-up progress (which localities have not connected yet)",
    )
    parser.add_argument(
        "--trace",
        default=None,
        metavar="OUT.json",
        help="write a timeline of every hpxpy.comm call (Chrome/Perfetto trace-event JSON)",
    )
    parser.add_argument(
        "--stats",
        nargs="?",
        const="table",
        default=None,
        choices=("table", "json"),
        help="at exit, print calls, bytes and time per operation and locality "
        "(--stats=json: as one JSON line)",
    )
    parser.add_argument(
        "--interface",
        default=None,
        metavar="ADDR|IFACE",
        help="address, or network interface name (eth0), the localities bind and the "
        "rendezvous listens on (default: 127.0.0.1; with --hosts, 'auto': the address each "
        "host's name resolves to, else the one it reaches hpxrun from)",
    )
    parser.add_argument(
        "--grace-period",
        type=float,
        default=3.0,
        metavar="S",
        help="seconds survivors get to exit after a locality fails (default: 3)",
    )
    parser.add_argument(
        "--mpi4py",
        action="store_true",
        help="let the program 'import mpi4py' and run on hpxpy (compatibility shim)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The ``hpxrun`` command: ``hpxrun -n N [options] command [args...]``; returns the status."""
    if argv is None:
        argv = sys.argv[1:]
    parser = _build_parser()
    options, command = _split_argv(argv)
    try:
        ns = parser.parse_args(options)
    except SystemExit as exc:  # -h, or a usage error (already reported)
        return exc.code if isinstance(exc.code, int) else 2
    if not command:
        parser.print_usage(sys.stderr)
        _message("error: no command given")
        return 2
    hosts = None
    try:
        if ns.hosts is not None:
            hosts = parse_hosts(ns.hosts)
        elif ns.hostfile is not None:
            hosts = read_hostfile(ns.hostfile)
    except (OSError, ValueError) as err:
        _message(f"error: {err}")
        return 2
    if hosts is not None and not hosts:
        _message("error: the host list names no host")
        return 2
    if ns.num_localities is None:
        ns.num_localities = sum(slots for _, slots in hosts) if hosts else 4
    if ns.num_localities < 1:
        _message(f"error: the number of localities must be >= 1, got {ns.num_localities}")
        return 2
    rsh = ns.rsh or os.environ.get(ENV_RSH) or DEFAULT_RSH
    if not shlex.split(rsh):
        _message("error: --rsh names no command")
        return 2
    interface = ns.interface or ("auto" if hosts else "127.0.0.1")
    if ns.timeout is None and os.environ.get(ENV_TIMEOUT):
        try:
            ns.timeout = float(os.environ[ENV_TIMEOUT])
        except ValueError:
            _message(f"error: {ENV_TIMEOUT} must be a number of seconds, got "
                     f"{os.environ[ENV_TIMEOUT]!r}")
            return 2
    if ns.timeout is not None and not ns.timeout > 0:
        _message(f"error: --timeout must be > 0 seconds, got {ns.timeout:g}")
        return 2
    if ns.grace_period < 0:
        _message(f"error: --grace-period must be >= 0 seconds, got {ns.grace_period:g}")
        return 2
    env: Dict[str, str] = {}
    if ns.mpi4py:
        shim = _mpi4py_shim_dir()
        if shim is None:
            _message("error: --mpi4py: the mpi4py compatibility shim is not available")
            return 2
        old = os.environ.get("PYTHONPATH")
        env["PYTHONPATH"] = shim if not old else shim + os.pathsep + old
    config = LaunchConfig(
        num_localities=ns.num_localities,
        timeout=ns.timeout,
        tag_output=ns.tag_output,
        interface=interface,
        grace_period=ns.grace_period,
        env=env,
        trace=os.path.abspath(ns.trace) if ns.trace else None,
        stats=ns.stats,
        verbose=ns.verbose,
        hosts=hosts,
        rsh=rsh,
    )
    try:
        _become_subreaper()
        return run_job(command, config)
    except OSError as err:  # e.g. the interface cannot be bound
        _message(f"error: {err}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
