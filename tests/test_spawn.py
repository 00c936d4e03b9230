"""Dynamic processes: a parent job spawns children that join it (Spawn, Get_parent,
Disconnect); they exchange messages and all exit, nothing left over; a child killed with
SIGKILL makes every parent raise within 10 s."""

from __future__ import annotations

import json
import re

import pytest
from conftest import PROGRAMS, pid_alive, run_job


def lines(stdout: str, prefix: str) -> list:
    # Children share their parent's output pipe: their lines may run into each other.
    return [json.loads(found) for found in
            re.findall(prefix + r" (\{[^{}]*\}|\[.*?\])(?=$|\n|[A-Z]+ )", stdout, re.M)]


@pytest.mark.parametrize("n", [1, 2])
def test_spawn_exchange_disconnect(n):
    job = run_job(n, [str(PROGRAMS / "spawn_pair.py")], timeout=120)
    assert job.returncode == 0, job
    children = lines(job.stdout, "CHILD")
    assert sorted(c["rank"] for c in children) == [0, 1], job
    assert all(c["size"] == 2 and c["parents"] == n for c in children)
    replies = lines(job.stdout, "REPLIES")
    assert replies == [[{"rank": 0, "got": "hello 0"}, {"rank": 1, "got": "hello 1"}]], job
    assert sorted(d["rank"] for d in lines(job.stdout, "DONE")) == list(range(n))
    assert not any(pid_alive(c["pid"]) for c in children), "a spawned process outlived the job"


@pytest.mark.parametrize("n", [1, 2])
def test_spawned_child_killed(n):
    job = run_job(n, [str(PROGRAMS / "spawn_pair.py"), "kill"], timeout=120)
    assert job.returncode != 0, job
    raised = lines(job.stdout, "RAISED")
    assert sorted(r["rank"] for r in raised) == list(range(n)), job
    assert all(r["type"] == "LocalityError" and r["after"] < 10 for r in raised), raised
    children = lines(job.stdout, "CHILD")
    assert len(children) == 2, job
    assert not any(pid_alive(c["pid"]) for c in children), "a spawned process outlived the job"


def test_parents_killed_children_reaped():
    # The children wait for parents that die: they raise and exit; whatever is left is
    # killed with the spawning locality's process group and reaped by hpxrun.
    job = run_job(2, [str(PROGRAMS / "spawn_pair.py"), "killparent"], timeout=120)
    assert job.returncode != 0, job
    children = lines(job.stdout, "CHILD")
    assert len(children) == 2, job
    assert not any(pid_alive(c["pid"]) for c in children), "a spawned process outlived the job"


FAILING_SPAWNS = """
import json, sys, time
from hpxpy.comm import MPI
out = {"rank": MPI.COMM_WORLD.Get_rank()}
for name, command, args in (("missing", "/nonexistent/command", []),
                            ("exits", sys.executable, ["-c", "import sys; sys.exit(3)"])):
    t0 = time.time()
    try:
        MPI.COMM_WORLD.Spawn(command, args, 2)
        out[name] = None
    except MPI.Exception as err:
        out[name] = [err.Get_error_class() == MPI.ERR_SPAWN, time.time() - t0]
print("FAILED " + json.dumps(out), flush=True)
"""


def test_failing_spawn_raises_everywhere():
    # A command that cannot start, or children that exit before joining: every parent
    # raises ERR_SPAWN at once (the root tells the others), nobody waits for the timeout.
    job = run_job(3, ["-c", FAILING_SPAWNS], timeout=120)
    assert job.returncode == 0, job
    results = lines(job.stdout, "FAILED")
    assert sorted(r["rank"] for r in results) == [0, 1, 2], job
    for r in results:
        for name in ("missing", "exits"):
            assert r[name][0] and r[name][1] < 30, r
