from mpi4py import MPI

import json

import numpy as np

# k-means on 2-D integer points scattered unevenly from rank 0 (Scatterv): each iteration
# every rank assigns its points, then the cluster sums and counts are Allreduce'd. The
# coordinates are integers, so every partial sum is exact in float64 whatever the order:
# the result compares exactly.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
K, POINTS, ITERS = 4, 2000, 8

counts = [POINTS // size + (1 if r < POINTS % size else 0) for r in range(size)]
displs = [2 * sum(counts[:r]) for r in range(size)]
data = None
if rank == 0:
    rng = np.random.default_rng(7)
    centres = np.array([[10, 10], [60, 15], [30, 70], [80, 80]])
    data = (centres[rng.integers(0, K, POINTS)] + rng.integers(-12, 13, (POINTS, 2))).astype(
        np.float64)
mine = np.zeros((counts[rank], 2))
comm.Scatterv([data, [2 * c for c in counts], displs, MPI.DOUBLE] if rank == 0 else None,
              mine, root=0)
centroids = comm.bcast(data[:K].copy() if rank == 0 else None, root=0)
for _ in range(ITERS):
    dist = ((mine[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
    label = dist.argmin(axis=1)
    sums = np.zeros((K, 2))
    np.add.at(sums, label, mine)
    cnt = np.bincount(label, minlength=K).astype(np.int64)
    comm.Allreduce(MPI.IN_PLACE, sums, op=MPI.SUM)
    comm.Allreduce(MPI.IN_PLACE, cnt, op=MPI.SUM)
    centroids = sums / np.maximum(cnt, 1)[:, None]
print(json.dumps({"rank": rank, "points": counts[rank], "sizes": cnt.tolist(),
                  "centroids": centroids.tolist(), "local_labels": np.bincount(
                      label, minlength=K).tolist()}), flush=True)
