"""The shared-memory parcelport: chosen for peers on one host, survives nothing it should
not, leaves nothing behind, and bounds what a receiver that does not receive holds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
from conftest import PROGRAMS, hpxrun_command, pid_alive, run_job


def records(stdout: str, kind: str) -> list:
    prefix = kind + " "
    return [json.loads(line[len(prefix):]) for line in stdout.splitlines()
            if line.startswith(prefix)]


# Segments MPI libraries name in /dev/shm (another job on the machine, e.g. the parity
# suite's mpiexec): not ours, so not evidence against us.
_OTHERS = ("mpich_", "ompi", "vader", "sem.")


def dev_shm() -> set:
    """The named shared memory on this machine that could be hpxpy's (it names none)."""
    if not os.path.isdir("/dev/shm"):
        return set()
    return {name for name in os.listdir("/dev/shm") if not name.startswith(_OTHERS)}


@pytest.mark.one_pass
@pytest.mark.parametrize("parcelport,expected", [("", "shm"), ("shm", "shm"), ("tcp", "tcp")])
def test_route_per_peer(parcelport, expected):
    # Unset (""): automatic, shared memory for every peer of this host.
    job = run_job(3, [str(PROGRAMS / "shm_routes.py")], timeout=60,
                  env={"HPXPY_PARCELPORT": parcelport})
    assert job.returncode == 0, job
    routes = {d["id"]: d["routes"] for d in records(job.stdout, "ROUTES")}
    assert sorted(routes) == [0, 1, 2]
    for me, row in routes.items():
        assert row == ["self" if i == me else expected for i in range(3)]


@pytest.mark.parametrize("size,mode", [(8, "ring"), (3 << 20, "ring"), (8, "meet")],
                         ids=["small", "large", "meetings"])
def test_locality_killed_during_shm_traffic(size, mode):
    before = dev_shm()
    job = run_job(4, [str(PROGRAMS / "die_mid_traffic.py"), str(size), mode], timeout=90,
                  env={"HPXPY_PARCELPORT": "shm"})
    assert job.returncode != 0, job
    (kill,) = records(job.stdout, "KILL")
    lost = records(job.stdout, "LOST")
    assert sorted(d["id"] for d in lost) == [0, 1, 2], job  # every survivor raised
    for d in lost:
        assert "locality 3" in d["msg"], d
        assert d["t"] - kill["t"] < 10, d
    pids = {d["id"]: d["pid"] for d in records(job.stdout, "PID")}
    assert len(pids) == 4
    assert not any(pid_alive(p) for p in pids.values()), "a locality outlived the job"
    assert dev_shm() <= before, "the job left shared memory in /dev/shm"


def test_sigkill_of_every_process_leaves_nothing():
    before = dev_shm()
    proc = subprocess.Popen(
        hpxrun_command(4, [str(PROGRAMS / "die_mid_traffic.py"), str(1 << 20)]),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "HPXPY_PARCELPORT": "shm"})
    pids = []
    try:
        while len(pids) < 4:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            if line.startswith("PID "):
                pids.append(json.loads(line[4:])["pid"])
        time.sleep(0.2)  # in the middle of the traffic (the victim dies at 0.5 s)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    deadline = time.time() + 10
    while any(pid_alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(pid_alive(p) for p in pids)
    assert dev_shm() <= before, "SIGKILL left shared memory in /dev/shm"


@pytest.mark.one_pass
@pytest.mark.parametrize("parcelport", ["shm", "tcp"])
def test_receiver_that_never_receives_stays_bounded(parcelport):
    # 1 GiB offered in 64 KiB messages; the receiver holds at most its unexpected-data limit
    # (64 MiB per source) plus what the transport buffers, and the sender blocks.
    job = run_job(2, [str(PROGRAMS / "receiver_never_receives.py"), "4"], timeout=90,
                  env={"HPXPY_PARCELPORT": parcelport})
    (rss,) = records(job.stdout, "RSS")
    (sent,) = records(job.stdout, "SENT")
    assert rss["kib"] < 300 * 1024, job
    assert sent["bytes"] < 256 << 20, job
    assert sent["outcome"] != "all sent", job
