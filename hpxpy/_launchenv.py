"""Launcher environment: what started this process, and how its localities meet.

``hpxrun`` hands every locality its id, the job size, the rendezvous address and the job
secret in ``HPXPY_*`` variables. Other launchers give only the id and the size; what they
do offer is a key-value store private to the job, and that is where locality 0 publishes
the rendezvous address and a fresh job secret for the others to read:

- MPICH's Hydra ``mpiexec`` and Slurm's ``srun --mpi=pmi2``: ``PMI_FD`` (with ``PMI_RANK``,
  ``PMI_SIZE``) is a socket speaking the PMI-1 wire protocol (``put``/``barrier_in``/``get``
  on the job's KVS); Slurm's pmi2 plugin answers PMI-1 as well as PMI-2.
- Open MPI's ``mpiexec`` (PRRTE) and ``srun --mpi=pmix``: PMIx, through ``libpmix``
  (``PMIx_Put``/``Commit``/``Fence``/``Get``) loaded with ctypes (``_pmix.py``).

A launcher that gives a job of several processes no such store (``srun`` with
``--mpi=none``) cannot share a secret privately, so the job refuses to start rather than
run unauthenticated. Nothing here uses a fixed port: the rendezvous server listens on an
ephemeral one and the store carries its address.
"""

from __future__ import annotations

import os
import socket
from typing import Dict, Mapping, NamedTuple, Optional, Tuple

from . import _bootstrap

# Where locality 0 publishes "host:port,secret" in the launcher's store.
RENDEZVOUS_KEY = "hpxpy-rendezvous"


class LauncherError(_bootstrap.BootstrapError):
    """The launcher's environment or its key-value store could not be used."""


class Placement(NamedTuple):
    """This process's place in a job started by a launcher other than hpxrun."""

    launcher: str  # "hydra", "slurm" or "openmpi": how the store is reached
    locality_id: int
    num_localities: int
    multi_host: bool  # the launcher says the job spans hosts (loopback will not do)


def _int(env: Mapping[str, str], *names: str) -> Optional[int]:
    for name in names:
        value = env.get(name)
        if value is not None and value.strip().lstrip("-").isdigit():
            return int(value)
    return None


def detect(env: Optional[Mapping[str, str]] = None) -> Optional[Placement]:
    """The launcher that started this process, or None (hpxrun, or no launcher at all).

    Raises LauncherError for a launcher that starts several processes but gives them no
    private store (nothing to carry the job secret)."""
    env = os.environ if env is None else env
    if _bootstrap.ENV_NUM_LOCALITIES in env:
        return None  # hpxrun (or someone setting its variables by hand)
    slurm_nodes = _int(env, "SLURM_STEP_NUM_NODES", "SLURM_NNODES")
    if "PMIX_RANK" in env and "PMIX_NAMESPACE" in env:
        rank = _int(env, "PMIX_RANK")
        size = _int(env, "OMPI_COMM_WORLD_SIZE", "SLURM_STEP_NUM_TASKS", "SLURM_NTASKS")
        local = _int(env, "OMPI_COMM_WORLD_LOCAL_SIZE")
        if rank is None or size is None:
            raise LauncherError("a PMIx launcher started this process but gave no job size "
                                "(OMPI_COMM_WORLD_SIZE or SLURM_NTASKS)")
        multi = (local is not None and local != size) or (slurm_nodes or 1) > 1
        return Placement("openmpi" if "OMPI_COMM_WORLD_SIZE" in env else "slurm",
                         rank, size, multi)
    if "PMI_FD" in env:
        rank = _int(env, "PMI_RANK", "SLURM_PROCID")
        size = _int(env, "PMI_SIZE", "SLURM_STEP_NUM_TASKS", "SLURM_NTASKS")
        if rank is None or size is None:
            raise LauncherError("PMI_FD is set but PMI_RANK/PMI_SIZE are not")
        local = _int(env, "MPI_LOCALNRANKS")  # Hydra: ranks on this host
        multi = (local is not None and local != size) or (slurm_nodes or 1) > 1
        return Placement("slurm" if "SLURM_STEP_ID" in env else "hydra", rank, size, multi)
    size = _int(env, "SLURM_STEP_NUM_TASKS", "SLURM_NTASKS")
    if "SLURM_PROCID" in env and "SLURM_STEP_ID" in env and size is not None and size > 1:
        raise LauncherError(
            "srun started this process without a PMI key-value store, so the localities "
            "cannot share a job secret privately; run it with `srun --mpi=pmi2` (or pmix), "
            "or set MpiDefault=pmi2 in slurm.conf")
    if _int(env, "OMPI_COMM_WORLD_SIZE", "PMI_SIZE") not in (None, 1):
        raise LauncherError(
            "this process is one of several started by an MPI launcher that offers no PMI or "
            "PMIx key-value store to share a job secret; start the job with hpxrun")
    return None


def host_interface() -> str:
    """The address other hosts reach this one at (for a job that spans hosts)."""
    try:
        address = socket.gethostbyname(socket.gethostname())
    except OSError as err:
        raise LauncherError(f"cannot resolve this host's name to an address: {err}") from err
    if address.startswith("127."):
        raise LauncherError(
            f"the job spans hosts but this host's name resolves to {address}; set "
            f"{_bootstrap.ENV_INTERFACE} to the address the other hosts reach it at")
    return address


# --- the stores ---------------------------------------------------------------------------


class _Store:
    """A job-private key-value store: put, then fence (every process), then get."""

    def put(self, key: str, value: str) -> None:
        raise NotImplementedError

    def fence(self) -> None:
        raise NotImplementedError

    def get(self, key: str, rank: int) -> str:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class Pmi1Store(_Store):
    """The PMI-1 wire protocol on an inherited socket: one line per message, space-separated
    ``key=value`` fields, the first ``cmd=<name>``; each request gets one reply."""

    def __init__(self, fd: int, timeout: float) -> None:
        self._sock = socket.socket(fileno=fd)
        self._sock.settimeout(timeout)
        self._pending = b""
        self._request("init", "response_to_init", pmi_version="1", pmi_subversion="1")
        self._kvsname = self._request("get_my_kvsname", "my_kvsname")["kvsname"]

    def _request(self, cmd: str, answer: str, **fields: str) -> Dict[str, str]:
        text = " ".join([f"cmd={cmd}"] + [f"{k}={v}" for k, v in fields.items()])
        try:
            self._sock.sendall(text.encode() + b"\n")
            while b"\n" not in self._pending:
                chunk = self._sock.recv(4096)
                if not chunk:
                    raise LauncherError(f"PMI: the launcher closed the connection ({cmd})")
                self._pending += chunk
        except OSError as err:
            raise LauncherError(f"PMI {cmd}: {err}") from err
        line, _, self._pending = self._pending.partition(b"\n")
        reply = dict(field.partition("=")[::2] for field in line.decode().split())
        if reply.get("cmd") != answer or reply.get("rc", "0") != "0":
            raise LauncherError(f"PMI {cmd} failed: {line.decode()!r}")
        return reply

    def put(self, key: str, value: str) -> None:
        self._request("put", "put_result", kvsname=self._kvsname, key=key, value=value)

    def fence(self) -> None:
        self._request("barrier_in", "barrier_out")

    def get(self, key: str, rank: int) -> str:
        return self._request("get", "get_result", kvsname=self._kvsname, key=key)["value"]

    def close(self) -> None:
        try:
            self._request("finalize", "finalize_ack")
        finally:
            self._sock.close()


def open_store(env: Optional[Mapping[str, str]] = None, timeout: float = 60.0) -> _Store:
    """Connect to the store of the launcher that started this process."""
    env = os.environ if env is None else env
    if "PMIX_RANK" in env and "PMIX_NAMESPACE" in env:
        from ._pmix import PmixStore  # noqa: PLC0415 - ctypes only for Open MPI's launcher

        return PmixStore(env)
    if "PMI_FD" in env:
        return Pmi1Store(int(env["PMI_FD"]), timeout)
    raise LauncherError("no launcher's key-value store (PMI_FD or PMIx) to meet through")


def exchange(locality_id: int, num_localities: int, interface: str,
             timeout: float = 60.0) -> Tuple[str, str, Optional[_bootstrap.RendezvousServer]]:
    """Meet through the launcher's store: locality 0 starts a rendezvous server on an
    ephemeral port of ``interface`` and publishes its address with a fresh job secret; every
    other locality reads them. Returns (rendezvous address, secret, the server on locality 0,
    which the caller closes once its own mesh is up)."""
    store = open_store(timeout=timeout)
    server = None
    try:
        if locality_id == 0:
            secret = _bootstrap.new_job_secret()
            server = _bootstrap.RendezvousServer(num_localities, secret,
                                                 host=interface, port=0)
            address = server.address_string
            store.put(RENDEZVOUS_KEY, f"{address},{secret}")
        store.fence()
        if server is None:
            address, _, secret = store.get(RENDEZVOUS_KEY, 0).partition(",")
            if not address or len(secret) != 64:
                raise LauncherError("malformed rendezvous record in the launcher's store")
        store.close()  # done with the launcher: the rest is hpxpy's own bootstrap
    except BaseException:
        if server is not None:
            server.close()
        raise
    return address, secret, server
