"""Inter-communicator buffer collectives (non-blocking beside blocking, argument errors)
and partitioned point to point (kept apart from ordinary messages, argument checks).
mpi4py's test_cco_buf_inter, test_cco_vec_inter and test_p2p_buf_part cover the rest."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_job

INTERCOMM_NONBLOCKING = r"""
import json
import numpy as np
from mpi4py import MPI
world = MPI.COMM_WORLD
rank, size = world.rank, world.size
color = 0 if rank < size // 2 else 1
intra = world.Split(color, key=rank)
inter = intra.Create_intercomm(0, world, size // 2 if color == 0 else 0, tag=7)
out = {}
for root_group in (0, 1):
    if color == root_group:
        root = MPI.ROOT if inter.rank == 0 else MPI.PROC_NULL
    else:
        root = 0
    buf = np.full(3, rank, "i") if root == MPI.ROOT else np.full(3, -1, "i")
    # a non-blocking broadcast beside a blocking allreduce of the same communicator
    req = inter.Ibcast(None if root == MPI.PROC_NULL else buf, root=root)
    total = np.zeros(1, "i")
    inter.Allreduce(np.array([rank], "i"), total)
    req.Wait()
    out[f"ibcast{root_group}"] = buf.tolist()
    out[f"allreduce{root_group}"] = int(total[0])
try:
    inter.Allgather(MPI.IN_PLACE, np.zeros(inter.remote_size, "i"))
except MPI.Exception as exc:
    out["in_place"] = exc.Get_error_class() == MPI.ERR_ARG
try:
    inter.Bcast(np.zeros(1, "i"), root=inter.remote_size)
except MPI.Exception as exc:
    out["bad_root"] = exc.Get_error_class() == MPI.ERR_ROOT
print("RESULT " + json.dumps({"id": rank, **out}))
"""


def test_intercomm_nonblocking_broadcast_and_argument_errors():
    job = run_job(3, ["-c", INTERCOMM_NONBLOCKING], launcher_args=["--mpi4py"], timeout=90)
    assert job.returncode == 0, job
    remote_sums = {0: 1 + 2, 1: 0}  # ranks 1, 2 form group 1; rank 0 group 0
    for rank in range(3):
        r = job.results[rank]
        color = 0 if rank < 1 else 1
        for root_group in (0, 1):
            if color == root_group:
                expected = [rank] * 3 if rank in (0, 1) else [-1] * 3
            else:
                expected = [0 if root_group == 0 else 1] * 3
            assert r[f"ibcast{root_group}"] == expected, (rank, r)
            assert r[f"allreduce{root_group}"] == remote_sums[color], (rank, r)
        assert r["in_place"] is True and r["bad_root"] is True, (rank, r)


PARTITIONED = r"""
import json
import numpy as np
from mpi4py import MPI
comm = MPI.COMM_WORLD
rank, size = comm.rank, comm.size
out = {}
# the largest tag, and a partitioned message beside an ordinary one of the same tag
sbuf = np.arange(6, dtype="d") + 10 * rank
rbuf = np.full(6, -1.0)
dest, source = (rank + 1) % size, (rank - 1) % size
sreq = comm.Psend_init(sbuf, 3, dest, MPI.TAG_UB and comm.Get_attr(MPI.TAG_UB))
rreq = comm.Precv_init(rbuf, 3, source, comm.Get_attr(MPI.TAG_UB))
plain = comm.Irecv(np.zeros(1, "i"), source, MPI.ANY_TAG)
rreq.Start()
sreq.Start()
sreq.Pready_list([2, 0])
sreq.Pready(1)
comm.Send(np.array([rank], "i"), dest, 5)
status = MPI.Status()
rreq.Wait(status)
sreq.Wait()
plain.Wait()
out["got"] = rbuf.tolist()
out["status"] = [status.Get_source(), status.Get_count(MPI.DOUBLE)]
try:
    sreq.Pready(0)
except MPI.Exception as exc:
    out["inactive"] = exc.Get_error_class() == MPI.ERR_REQUEST
sreq.Start()
try:
    sreq.Pready(3)
except MPI.Exception as exc:
    out["range"] = exc.Get_error_class() == MPI.ERR_ARG
sreq.Pready_range(0, 2)
rreq.Start()
rreq.Wait()
sreq.Wait()
try:
    rreq.Pready(0)
except MPI.Exception as exc:
    out["recv_pready"] = exc.Get_error_class() == MPI.ERR_REQUEST
sreq.Free()
rreq.Free()
print("RESULT " + json.dumps({"id": rank, **out}))
"""


def test_partitioned_messages_stay_apart_and_check_their_arguments():
    job = run_job(3, ["-c", PARTITIONED], launcher_args=["--mpi4py"], timeout=90)
    assert job.returncode == 0, job
    for rank in range(3):
        r = job.results[rank]
        source = (rank - 1) % 3
        assert r["got"] == [10.0 * source + i for i in range(6)], (rank, r)
        assert r["status"] == [source, 6], (rank, r)
        assert r["inactive"] and r["range"] and r["recv_pready"], (rank, r)


def test_intercomm_rooted_nonblocking_forms_match_the_blocking_ones():
    program = Path(__file__).parent / "mpi_parity" / "programs" / "inter_buf_collectives.py"
    for n in (3, 4):
        job = run_job(n, [str(program), "--nonblocking-rooted"], launcher_args=["--mpi4py"],
                      timeout=120)
        assert job.returncode == 0, job
        records = [json.loads(line) for line in job.stdout.splitlines()
                   if line.startswith("{")]
        for rank in range(n):
            rooted = {(r["blocking"], r["root_group"]): r for r in records
                      if r["rank"] == rank and "root_group" in r}
            for root_group in (0, 1):
                blocking = dict(rooted[(True, root_group)], blocking=None)
                nonblocking = dict(rooted[(False, root_group)], blocking=None)
                assert nonblocking == blocking, (n, rank, root_group)


PERSISTENT_INTER = r"""
import json
import numpy as np
from mpi4py import MPI
world = MPI.COMM_WORLD
rank, size = world.rank, world.size
color = 0 if rank < size // 2 else 1
intra = world.Split(color, key=rank)
inter = intra.Create_intercomm(0, world, size // 2 if color == 0 else 0, tag=7)
sbuf, out = np.array([rank], "i"), np.zeros(1, "i")
ar = inter.Allreduce_init(sbuf, out)
buf = np.full(2, -1, "i")
if color == 0:
    root = MPI.ROOT if inter.rank == 0 else MPI.PROC_NULL
    if root == MPI.ROOT:
        buf[:] = 42
else:
    root = 0
bc = inter.Bcast_init(None if root == MPI.PROC_NULL else buf, root=root)
gathered = np.full(inter.remote_size, -1, "i")
ag = inter.Allgather_init(sbuf, gathered)
bar = inter.Barrier_init()
for _ in range(3):
    MPI.Prequest.Startall([ar, bc, ag, bar])
    MPI.Request.Waitall([ar, bc, ag, bar])
try:
    inter.Scan_init(np.zeros(1), np.zeros(1))
    scan = "returned"
except AttributeError:  # as in mpi4py: an Intercomm has no prefix reductions
    scan = "AttributeError"
for req in (ar, bc, ag, bar):
    req.Free()
print("RESULT " + json.dumps({"id": rank, "allreduce": int(out[0]), "bcast": buf.tolist(),
                              "allgather": gathered.tolist(), "scan": scan}))
"""


def test_intercomm_persistent_collectives():
    # The same figures as mpiexec with MPICH 4 (Scan_init is absent there too).
    job = run_job(3, ["-c", PERSISTENT_INTER], launcher_args=["--mpi4py"], timeout=90)
    assert job.returncode == 0, job
    expected = {0: (3, [42, 42], [1, 2]), 1: (0, [42, 42], [0]), 2: (0, [42, 42], [0])}
    for rank, (total, bcast, gathered) in expected.items():
        r = job.results[rank]
        assert (r["allreduce"], r["bcast"], r["allgather"]) == (total, bcast, gathered), r
        assert r["scan"] == "AttributeError"
