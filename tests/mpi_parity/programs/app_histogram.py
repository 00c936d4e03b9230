from mpi4py import MPI

import json

import numpy as np

# A histogram over data scattered from a non-zero root: local counts, a Reduce to another
# root, and an object gather of per-rank extremes.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
src_root, dst_root = size - 1, size // 2
PER_RANK, BINS = 3000, 16

data = None
if rank == src_root:
    data = np.random.default_rng(42).normal(50.0, 15.0, size=PER_RANK * size).reshape(size, -1)
mine = np.zeros(PER_RANK)
comm.Scatter(data, mine, root=src_root)
local, _ = np.histogram(mine, bins=BINS, range=(0.0, 100.0))
local = local.astype(np.int64)
total = np.zeros(BINS, dtype=np.int64) if rank == dst_root else None
comm.Reduce(local, total, op=MPI.SUM, root=dst_root)
extremes = comm.gather((float(mine.min()), float(mine.max())), root=dst_root)
outside = comm.allreduce(int(np.sum((mine < 0) | (mine >= 100))))
print(json.dumps({"rank": rank, "local": local.tolist(),
                  "total": total.tolist() if rank == dst_root else None,
                  "extremes": extremes, "outside": outside}), flush=True)
