"""16 localities on one machine: collectives and point to point give the right results, and
the messages each locality sends per collective grow like log2 N (counted by the engine,
never timed)."""

from __future__ import annotations

import json
import math
import os

import pytest
from conftest import PROGRAMS, run_job

N = 16
ROUNDS = math.ceil(math.log2(N))


def counts(meetings: str) -> dict:
    job = run_job(N, [str(PROGRAMS / "scale_collectives.py")], timeout=300,
                  env={"HPXPY_MEETINGS": meetings, "HPXPY_HEARTBEAT": "0"})
    assert job.returncode == 0, job
    (line,) = [x for x in job.stdout.splitlines() if x.startswith("COUNTS ")]
    found = json.loads(line[len("COUNTS "):])
    assert found["size"] == N
    return found


@pytest.mark.timeout(330)
def test_sixteen_localities_message_algorithms():
    # Meetings off: Barrier and Allreduce use messages, as between hosts.
    found = counts("0")
    most = found["max"]
    assert most["Barrier"] == ROUNDS, most  # dissemination: one message per round
    assert most["Allreduce"] <= ROUNDS + 2, most  # recursive doubling (+ fold in/out)
    assert most["Bcast"] <= ROUNDS, most  # binomial tree: the root sends the most
    assert most["Allgather"] <= ROUNDS, most  # Bruck: one message per round
    small_blocks(found)


def small_blocks(found: dict) -> None:
    """Gather, Scatter (root 0) and Alltoall of 8-byte blocks: at most one message per
    round sent, and received, by any locality (the Gather's root receives ⌈log2 N⌉, not
    N - 1)."""
    most, received = found["max"], found["max_received"]
    for name in ("Gather", "Scatter", "Alltoall"):
        assert most[name] <= ROUNDS and received[name] <= ROUNDS, (name, found)


@pytest.mark.timeout(330)
def test_sixteen_localities_default():
    found = counts("1")
    most = found["max"]
    if os.environ.get("HPXPY_PARCELPORT") == "tcp":
        # No shared memory between the localities, so no meetings: messages as above.
        assert most["Barrier"] == ROUNDS and most["Allreduce"] <= ROUNDS + 2, most
    else:
        # One host: blocking Barrier, small Allreduce and Gather, Allgather and Alltoall of
        # small blocks meet in shared memory, no message.
        for name in ("Barrier", "Allreduce", "Gather", "Allgather", "Alltoall"):
            assert most[name] == 0 and found["max_received"][name] == 0, (name, found)
    assert most["Bcast"] <= ROUNDS and most["Allgather"] <= ROUNDS, most
    small_blocks(found)
