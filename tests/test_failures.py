"""A lost locality makes the survivors raise, the job ends non-zero, nothing is left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
from conftest import PROGRAMS, hpxrun_command, pid_alive, run_job


def pids_of(stdout: str) -> dict:
    return {d["id"]: d["pid"] for d in
            (json.loads(line[4:]) for line in stdout.splitlines() if line.startswith("PID "))}


@pytest.mark.parametrize("n", [2, 3, 4])
def test_locality_killed_mid_all_reduce(n):
    start = time.time()
    job = run_job(n, [str(PROGRAMS / "die_mid_allreduce.py")], timeout=60)
    assert job.returncode != 0, job
    lost = [json.loads(line[5:]) for line in job.stdout.splitlines() if line.startswith("LOST ")]
    assert sorted(d["id"] for d in lost) == list(range(n - 1)), job  # every survivor raised
    for d in lost:
        assert d["locality"] == n - 1 and d["later"] == n - 1
        assert f"locality {n - 1}" in d["msg"]
        assert d["t"] - start < 30  # includes start-up; the raise itself follows the kill
    pids = pids_of(job.stdout)
    assert len(pids) == n
    assert not any(pid_alive(p) for p in pids.values()), "a locality outlived the job"


def test_sigint_interrupts_blocked_localities():
    proc = subprocess.Popen(
        hpxrun_command(2, [str(PROGRAMS / "blocked_forever.py")]),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        lines = []
        while len(lines) < 2:  # wait until both localities are up
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            if line.startswith("PID "):
                lines.append(line)
        time.sleep(0.5)  # let locality 1 block in the barrier
        t0 = time.time()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        elapsed = time.time() - t0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode != 0
    # The blocked barrier was interrupted; the launcher then stopped the sleeping locality.
    assert "KeyboardInterrupt" in err and "hpx.barrier()" in err, err
    assert elapsed < 15
    for line in lines:
        assert not pid_alive(json.loads(line[4:])["pid"])


@pytest.mark.parametrize("mode", ["allreduce", "recv"])
def test_stopped_locality_found_by_heartbeats(mode):
    """SIGSTOP leaves the pid alive and every socket open: only heartbeats find it."""
    n = 3
    job = run_job(n, [str(PROGRAMS / "freeze_mid_collectives.py")], timeout=90,
                  env={"MODE": mode})  # heartbeats are on by default (6 s)
    assert job.returncode != 0, job
    stopped = [json.loads(line[5:]) for line in job.stdout.splitlines()
               if line.startswith("STOP ")]
    lost = [json.loads(line[5:]) for line in job.stdout.splitlines() if line.startswith("LOST ")]
    assert len(stopped) == 1, job
    assert sorted(d["id"] for d in lost) == list(range(n - 1)), job  # every survivor raised
    for d in lost:  # found by its own heartbeats, or told by a survivor that found it
        assert f"locality {n - 1} was lost" in d["msg"], d
        assert d["t"] - stopped[0]["t"] < 10, d
    assert any("heartbeat" in d["msg"] for d in lost), lost
    pids = pids_of(job.stdout)
    assert len(pids) == n
    assert not any(pid_alive(p) for p in pids.values()), "a locality outlived the job"
