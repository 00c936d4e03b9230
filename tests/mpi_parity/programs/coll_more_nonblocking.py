from mpi4py import MPI

import json

import numpy as np

# The remaining non-blocking calls: Isendrecv, Isendrecv_replace, Igatherv, Iscatterv,
# Iallgatherv, Ialltoallv, Ireduce_scatter, Idup; and Alltoallw with per-peer types.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
right, left = (rank + 1) % size, (rank - 1) % size

counts = [r + 1 for r in range(size)]
displs = [sum(counts[:r]) for r in range(size)]
total = sum(counts)
mine = np.full(rank + 1, rank, dtype=np.int64)
sr = np.zeros(2, dtype=np.int64)
rep = np.array([rank, -rank], dtype=np.int64)
gv = np.zeros(total, dtype=np.int64)
sv = np.zeros(rank + 1, dtype=np.int64)
agv = np.zeros(total, dtype=np.int64)
a2av = np.zeros((rank + 1) * size, dtype=np.int64)
rs = np.zeros(rank + 1, dtype=np.int64)
src_sr = np.array([rank, rank * rank], dtype=np.int64)
src_sv = np.arange(total, dtype=np.int64) * 3
src_a2a = np.concatenate([np.full(d + 1, 10 * rank + d, dtype=np.int64) for d in range(size)])
src_rs = np.arange(total, dtype=np.int64) + rank
reqs = [
    comm.Isendrecv(src_sr, dest=right, recvbuf=sr, source=left),
    comm.Isendrecv_replace(rep, dest=left, source=right),
    comm.Igatherv(mine, [gv, counts, displs, MPI.INT64_T], root=size - 1),
    comm.Iscatterv([src_sv, counts, displs, MPI.INT64_T], sv, root=0),
    comm.Iallgatherv(mine, [agv, counts, displs, MPI.INT64_T]),
    comm.Ialltoallv([src_a2a, counts, displs, MPI.INT64_T],
                    [a2av, [rank + 1] * size, [(rank + 1) * s for s in range(size)],
                     MPI.INT64_T]),
    comm.Ireduce_scatter(src_rs, rs, recvcounts=counts, op=MPI.SUM),
]
# Idup returns (comm, request): the new communicator is usable once the request completed.
dup, dup_req = comm.Idup()
MPI.Request.Waitall(reqs + [dup_req])
dup_sum = dup.allreduce(rank)
dup.Free()
w_send = np.arange(size, dtype=np.int32) + 100 * rank
w_recv = np.zeros(size, dtype=np.int32)
ones, disps = [1] * size, [4 * d for d in range(size)]
types = [MPI.INT] * size
comm.Alltoallw([w_send, ones, disps, types], [w_recv, ones, disps, types])
print(json.dumps({"rank": rank, "sendrecv": sr.tolist(), "replace": rep.tolist(),
                  "gatherv": gv.tolist() if rank == size - 1 else None,
                  "scatterv": sv.tolist(), "allgatherv": agv.tolist(),
                  "alltoallv": a2av.tolist(), "reduce_scatter": rs.tolist(),
                  "alltoallw": w_recv.tolist(), "dup_sum": dup_sum}), flush=True)
