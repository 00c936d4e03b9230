from mpi4py import MPI

import json
import math

import numpy as np

# pi by the midpoint rule on [0, 1] of 4/(1+x^2), intervals dealt cyclically to the ranks;
# the interval count is broadcast, the partial sums reduced (object and buffer forms).
PARITY = {"rtol": 1e-13, "why": "MPI fixes no order for a floating-point SUM over ranks"}
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()

n = comm.bcast(200_000 if rank == 0 else None, root=0)
h = 1.0 / n
x = h * (np.arange(rank, n, size) + 0.5)
local = float(np.sum(4.0 / (1.0 + x * x)) * h)
pi_obj = comm.reduce(local, op=MPI.SUM, root=0)
pi_buf = np.zeros(1)
comm.Allreduce(np.array([local]), pi_buf, op=MPI.SUM)
print(json.dumps({"rank": rank, "local": local, "pi": pi_obj, "pi_all": float(pi_buf[0]),
                  "close": abs(float(pi_buf[0]) - math.pi) < 1e-9}), flush=True)
