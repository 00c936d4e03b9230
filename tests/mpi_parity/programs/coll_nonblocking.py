from mpi4py import MPI

import json

import numpy as np

# Non-blocking collectives, many in flight at once, completed together with Waitall.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
root = size - 1

b = np.arange(4.0) if rank == root else np.zeros(4)
ar_in = np.array([rank + 1, rank * 2], dtype=np.int64)
ar = np.zeros(2, dtype=np.int64)
g = np.zeros(size, dtype=np.int32) if rank == 0 else None
sc = np.zeros(2)
ag = np.zeros(size, dtype=np.int64)
a2a = np.zeros(size, dtype=np.int64)
red = np.zeros(2, dtype=np.int64)
scan = np.zeros(2, dtype=np.int64)
ex = np.zeros(2, dtype=np.int64)
rsb = np.zeros(1, dtype=np.int64)
reqs = [
    comm.Ibarrier(),
    comm.Ibcast(b, root=root),
    comm.Iallreduce(ar_in, ar, op=MPI.SUM),
    comm.Igather(np.array([rank * 3], dtype=np.int32), g, root=0),
    comm.Iscatter(np.arange(2.0 * size) if rank == root else None, sc, root=root),
    comm.Iallgather(np.array([rank * rank], dtype=np.int64), ag),
    comm.Ialltoall(np.arange(size, dtype=np.int64) + 10 * rank, a2a),
    comm.Ireduce(ar_in, red, op=MPI.MAX, root=root),
    comm.Iscan(ar_in, scan, op=MPI.SUM),
    comm.Iexscan(ar_in, ex, op=MPI.SUM),
    comm.Ireduce_scatter_block(np.arange(size, dtype=np.int64) * (rank + 1), rsb, op=MPI.SUM),
]
MPI.Request.Waitall(reqs)
print(json.dumps({"rank": rank, "bcast": b.tolist(), "allreduce": ar.tolist(),
                  "gather": g.tolist() if rank == 0 else None, "scatter": sc.tolist(),
                  "allgather": ag.tolist(), "alltoall": a2a.tolist(),
                  "reduce": red.tolist() if rank == root else None, "scan": scan.tolist(),
                  "exscan": ex.tolist() if rank > 0 else None,
                  "reduce_scatter_block": rsb.tolist(),
                  "all_null": all(r == MPI.REQUEST_NULL for r in reqs)}), flush=True)
