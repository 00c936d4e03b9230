"""A bad argument to the C++ core raises a Python exception; it never crashes the runtime.

Regression: ``MPI.Comm.allgather(intercomm, x)`` (what mpi4py.util.pkl5 did) ran the
one-group collective over an inter-communicator's group, of which this locality is not a
member (its rank there is MPI.UNDEFINED); the core indexed past its arrays and the job
ended with a segmentation fault (status 139).
"""

from __future__ import annotations

from conftest import run_job

CORE_CALLS = r"""
import json
import numpy as np
from hpxpy import _core, _runtime
from hpxpy.comm import MPI

core = _runtime.core()
me = _runtime.locality_id()
n = _runtime.num_localities()
ctx = 1 << 20  # a context no communicator uses
raw = np.zeros(4, dtype=np.uint8)
groups = {
    "not a member": _core.Group(ctx, MPI.UNDEFINED, [me], 1),
    "rank past the end": _core.Group(ctx, 5, [me], 1),
    "member out of range": _core.Group(ctx, 0, [me, n + 3], 2),
    "someone else's rank": _core.Group(ctx, 0, [(me + 1) % n] + [me], 2),
}
calls = {
    "all_reduce": lambda g: core.all_reduce(g, raw, 0, 0, 1, 0, ""),
    "broadcast": lambda g: core.broadcast(g, [raw], 0, 0, 1, 0, ""),
    "gather": lambda g: core.gather(g, [raw], 0, 0, 1, 0, ""),
    "scatter": lambda g: core.scatter(g, [[raw]], [0], 0, 1, 0, ""),
    "barrier": lambda g: core.barrier(g, "", 1),
    "exchange": lambda g: core.exchange(g, [raw] * g.size, raw, [0] * g.size,
                                        [0] * g.size, 1),
    "gather_blocks": lambda g: core.gather_blocks(g, raw, raw, [0] * g.size,
                                                  [0] * g.size, 0, 1),
}
out = {}
for gname, g in groups.items():
    for cname, call in calls.items():
        try:
            call(g)
            out[f"{gname} {cname}"] = "returned"
        except Exception as exc:  # noqa: BLE001 - the kind is what is checked
            out[f"{gname} {cname}"] = type(exc).__name__
# A root outside the group.
whole = _core.Group(ctx, 0, [me], 1)
for cname, call in {"broadcast": lambda: core.broadcast(whole, [raw], 0, 7, 1, 0, ""),
                    "gather": lambda: core.gather(whole, [raw], 0, -2, 1, 0, "")}.items():
    try:
        call()
        out[f"root {cname}"] = "returned"
    except Exception as exc:  # noqa: BLE001
        out[f"root {cname}"] = type(exc).__name__
out["after"] = MPI.COMM_WORLD.allreduce(1)
print("RESULT " + json.dumps({"id": MPI.COMM_WORLD.rank, **out}))
"""

INTERCOMM_THROUGH_COMM = r"""
import json
from mpi4py import MPI
world = MPI.COMM_WORLD
rank = world.rank
local = world.Split(rank % 2, rank)
inter = local.Create_intercomm(0, world, 1 - rank % 2, 7)
out = {}
try:
    MPI.Comm.allgather(inter, rank)  # the one-group collective on an inter-communicator
    out["base"] = "returned"
except Exception as exc:  # noqa: BLE001
    out["base"] = type(exc).__name__
from mpi4py.util import pkl5
out["pkl5"] = pkl5.Intercomm(inter).allgather(rank)
out["after"] = world.allreduce(1)
print("RESULT " + json.dumps({"id": rank, **out}))
"""


def test_core_collectives_reject_bad_groups_and_roots():
    job = run_job(2, ["-c", CORE_CALLS], timeout=90)
    assert job.returncode == 0, job  # 139 before the checks: a segmentation fault
    for rank in range(2):
        r = job.results[rank]
        assert r.pop("after") == 2 and r.pop("id") == rank
        assert set(r.values()) == {"ValueError"}, (rank, r)


def test_one_group_collective_on_an_intercomm_raises_and_pkl5_works():
    job = run_job(2, ["-c", INTERCOMM_THROUGH_COMM], launcher_args=["--mpi4py"], timeout=90)
    assert job.returncode == 0, job
    for rank in range(2):
        r = job.results[rank]
        assert r["base"] == "ValueError"
        assert r["pkl5"] == [1 - rank]  # the remote group's object
        assert r["after"] == 2

