from mpi4py import MPI

import json

import numpy as np

# Reduce_scatter_block and Reduce_scatter with uneven receive counts (one rank gets none).
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()

send = np.arange(size * 2, dtype=np.int64) * (rank + 1)
block = np.zeros(2, dtype=np.int64)
comm.Reduce_scatter_block(send, block, op=MPI.SUM)

counts = [r + 1 for r in range(size)]
if size > 1:
    counts[0] = 0
total = sum(counts)
vsend = np.arange(total, dtype=np.float64) + rank
vrecv = np.zeros(counts[rank])
comm.Reduce_scatter(vsend, vrecv, recvcounts=counts, op=MPI.MAX)

ip = send.copy()
comm.Reduce_scatter_block(MPI.IN_PLACE, ip, op=MPI.PROD)

print(json.dumps({"rank": rank, "block": block.tolist(), "uneven": vrecv.tolist(),
                  "in_place": ip[:2].tolist()}), flush=True)
