"""The MPI parcelport (HPXPY_PARCELPORT=mpi): jobs under the mpich wheel's ``mpiexec``
whose messages travel over the MPI library opened at run time (src/parcelport/mpi/), and
the clear errors when there is no usable MPI library. CI's venv has the mpich wheel
('.[test]'); without it these tests skip, which CI (HPXPY_FAIL_ON_SKIP=1) fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mpi_parity import harness

from hpxpy import _mpi

PROGRAMS = Path(__file__).parent / "programs"
MPIEXEC = Path(sys.executable).parent / "mpiexec"
JOB_TIMEOUT = 90.0


def _env() -> dict:
    if not MPIEXEC.exists() or _mpi.find_library() is None:
        pytest.skip("no mpiexec / libmpi_abi.so in this environment (the mpich wheel of "
                    "'.[test]')")
    env = harness.base_env()
    env["HPXPY_PARCELPORT"] = "mpi"
    env["MPIEXEC_TIMEOUT"] = str(int(JOB_TIMEOUT))  # Hydra's own limit, a second guard
    env["PYTHONPATH"] = os.pathsep.join(
        [str(harness.ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


@pytest.mark.timeout(3 * JOB_TIMEOUT + 60)
@pytest.mark.parametrize("n", [2, 3, 4])
def test_p2p_and_collectives_over_mpi(n: int) -> None:
    run = harness.run([str(MPIEXEC), "-n", str(n), sys.executable,
                       str(PROGRAMS / "mpi_parcelport_job.py")], _env(), JOB_TIMEOUT)
    assert run.ok(n), run.tail()
    for rank in range(n):
        (record,) = run.records[rank]
        assert record["size"] == n
        assert record["routes"] == ["self" if r == rank else "mpi" for r in range(n)]
        assert len(record["checked"]) == 6, record


@pytest.mark.timeout(JOB_TIMEOUT + 60)
def test_lost_locality_ends_the_job() -> None:
    """A locality SIGKILLed mid-all_reduce: MPICH's mpiexec ends the whole job with a
    failure status (survivors do not hang), in bounded time."""
    env = _env()
    run = harness.run([str(MPIEXEC), "-n", "3", sys.executable,
                       str(PROGRAMS / "die_mid_allreduce.py")], env, JOB_TIMEOUT)
    assert not run.timed_out and run.returncode != 0, run.tail()
    assert run.stdout.count("PID {") == 3, run.tail()
    assert run.seconds < 30, run.tail()


@pytest.mark.timeout(JOB_TIMEOUT + 60)
def test_spawn_from_an_mpi_job() -> None:
    run = harness.run([str(MPIEXEC), "-n", "2", sys.executable,
                       str(PROGRAMS / "mpi_parcelport_spawn.py")], _env(), JOB_TIMEOUT)
    assert run.ok(2), run.tail()
    assert run.records == {0: [{"rank": 0, "got": [0, 100]}], 1: [{"rank": 1, "got": None}]}


def test_hpxrun_job_with_mpi_parcelport_is_refused() -> None:
    """hpxrun's localities are no MPI job (each MPI_Init is a singleton): a clear error."""
    env = _env()
    job = subprocess.run([sys.executable, "-m", "hpxpy.launcher", "-n", "2", sys.executable,
                          "-c", "import hpxpy; hpxpy.init()"], env=env, capture_output=True,
                         text=True, timeout=JOB_TIMEOUT)
    assert job.returncode != 0
    assert "MPI says rank 0 of 1; the mpi parcelport needs the job started by the MPI " \
        "library's own launcher" in job.stderr, job.stderr


@pytest.mark.timeout(2 * JOB_TIMEOUT + 60)
def test_abort_and_uncaught_exception() -> None:
    program = str(PROGRAMS / "mpi_parcelport_fail.py")
    run = harness.run([str(MPIEXEC), "-n", "3", sys.executable, program, "abort"], _env(),
                      JOB_TIMEOUT)
    assert not run.timed_out and run.returncode == 7, run.tail()
    run = harness.run([str(MPIEXEC), "-n", "3", sys.executable, program, "raise"], _env(),
                      JOB_TIMEOUT)
    assert not run.timed_out and run.returncode != 0, run.tail()
    assert "ValueError: boom" in run.stderr, run.tail()
    # Hydra kills the rest of the job as soon as one process exits non-zero, so the first
    # survivor to raise may end the other before it prints: one report at least, and every
    # report names locality 1.
    reports = [line for line in run.stdout.splitlines() if " raised " in line]
    assert reports, run.tail()
    for line in reports:
        assert line.startswith(("rank 0 ", "rank 2 ")), run.tail()
        assert "raised LocalityError locality 1 was lost" in line, run.tail()


def _start(env_extra: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HPXPY_", "PMI_", "PMIX_", "OMPI_"))}
    env.update(env_extra, HPXPY_PARCELPORT="mpi")
    return subprocess.run([sys.executable, "-c", "from hpxpy.comm import MPI; "
                           "print(MPI.COMM_WORLD.Get_size())"],
                          env=env, capture_output=True, text=True, timeout=60)


def test_missing_library_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "libmpi_abi.so.1"
    job = _start({"HPXPY_MPI_LIBRARY": str(missing)})
    assert job.returncode != 0
    assert "HPXPY_PARCELPORT=mpi needs an MPI library with the MPI-5 standard ABI" in job.stderr
    assert f"looked at: {missing}" in job.stderr and "HPXPY_MPI_LIBRARY" in job.stderr


def test_library_without_the_standard_abi_is_a_clear_error() -> None:
    import ctypes.util

    libm = ctypes.util.find_library("m")
    assert libm
    job = _start({"HPXPY_MPI_LIBRARY": libm})
    assert job.returncode != 0
    assert "has no MPI_Abi_get_version: not an MPI library with the MPI-5 standard ABI" in \
        job.stderr, job.stderr


def test_single_process_without_launcher() -> None:
    """A plain `python prog.py` with the mpi parcelport is MPI's singleton: one locality."""
    if _mpi.find_library() is None:
        pytest.skip("no libmpi_abi.so in this environment (the mpich wheel of '.[test]')")
    job = _start({})
    assert job.returncode == 0 and job.stdout.strip() == "1", job.stderr


def test_auto_takes_mpi_only_for_a_multi_host_mpich_job(tmp_path: Path) -> None:
    lib = tmp_path / "libmpi_abi.so.1"
    lib.write_bytes(b"")
    env = {"HPXPY_MPI_LIBRARY": str(lib)}
    assert _mpi.automatic("hydra", True, None, env)
    assert _mpi.automatic("slurm", True, None, env)
    assert not _mpi.automatic("hydra", False, None, env)  # one host: shared memory
    assert not _mpi.automatic("openmpi", True, None, env)
    assert not _mpi.automatic(None, False, None, env)  # hpxrun
    assert not _mpi.automatic("hydra", True, "ab" * 32, env)
    assert not _mpi.automatic("hydra", True, None, {"HPXPY_MPI_LIBRARY": str(tmp_path / "x")})
