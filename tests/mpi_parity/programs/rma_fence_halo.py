from mpi4py import MPI

import json

import numpy as np

# A 1-D halo exchange with one-sided Put in fence epochs: each rank's window is
# [ghost | 4 interior | ghost]; neighbours put their edge values into its ghost cells.
# Then Get of the neighbours' interiors and an Accumulate of every rank into rank 0.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
left = rank - 1 if rank > 0 else MPI.PROC_NULL
right = rank + 1 if rank < size - 1 else MPI.PROC_NULL
u = np.full(6, -1.0)
u[1:5] = np.arange(4) + 10.0 * rank
win = MPI.Win.Create(u, MPI.DOUBLE.Get_size(), comm=comm)
win.Fence()
win.Put(u[1:2], left, 5)  # my first interior value into the left's right ghost
win.Put(u[4:5], right, 0)  # my last interior value into the right's left ghost
win.Fence()
halo = u.tolist()
got_left, got_right = np.full(4, -2.0), np.full(4, -2.0)
win.Get(got_left, left, 1)
win.Get(got_right, right, (1, 4, MPI.DOUBLE))
win.Fence()
acc = np.arange(6, dtype="d") * (rank + 1)
win.Accumulate(acc[1:5], 0, 1, MPI.SUM)
win.Fence()
maxed = np.array([float(rank)])
win.Accumulate(maxed, size - 1, 0, MPI.MAX)
win.Fence(MPI.MODE_NOSUCCEED)
win.Free()
print(json.dumps({"rank": rank, "halo": halo, "left": got_left.tolist(),
                  "right": got_right.tolist(), "after": u.tolist()}), flush=True)
