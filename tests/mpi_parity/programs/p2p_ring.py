from mpi4py import MPI

import json

import numpy as np

# A token passed around the ring twice: once as an object, once as a buffer (with Send/Recv
# and Isend/Recv), each rank adding its rank.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
right, left = (rank + 1) % size, (rank - 1) % size

if rank == 0:
    # isend: at N=1 rank 0 is its own neighbour, and a blocking send to oneself may deadlock.
    first = comm.isend({"path": [0], "sum": 0}, dest=right, tag=7)
    token = comm.recv(source=left, tag=7)
    first.wait()
else:
    token = comm.recv(source=left, tag=7)
    token = {"path": token["path"] + [rank], "sum": token["sum"] + rank}
    comm.send(token, dest=right, tag=7)

buf = np.zeros(3, dtype=np.int64)
if rank == 0:
    start = np.array([0, 1, 0], dtype=np.int64)
    first = comm.Isend(start, dest=right, tag=8)
    comm.Recv(buf, source=left, tag=8)
    first.Wait()
else:
    comm.Recv(buf, source=left, tag=8)
    buf += [rank, 1, rank * rank]
    comm.Isend(buf, dest=right, tag=8).Wait()

# Everyone sends and receives at once: non-blocking send avoids the cycle of waits.
req = comm.isend(rank * 100, dest=right, tag=9)
from_left = comm.recv(source=left, tag=9)
req.wait()
print(json.dumps({"rank": rank, "token": token if rank == 0 else None,
                  "buffer": buf.tolist() if rank == 0 else None, "from_left": from_left}),
      flush=True)
