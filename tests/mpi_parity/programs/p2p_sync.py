from mpi4py import MPI

import json

import numpy as np

# Synchronous sends: ssend/Ssend complete only when matched; issend/Issend completed with
# Waitall after the matching receives were posted by the peer.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
right, left = (rank + 1) % size, (rank - 1) % size

# A blocking synchronous ring needs one rank to receive first; rank 0 starts it. (At N=1
# rank 0 would wait for itself: it uses issend.)
if size == 1:
    req = comm.issend(("self", rank), dest=0, tag=1)
    a = comm.recv(source=0, tag=1)
    req.wait()
elif rank == 0:
    comm.ssend(("first", rank), dest=right, tag=1)
    a = comm.recv(source=left, tag=1)
else:
    a = comm.recv(source=left, tag=1)
    comm.ssend(("next", rank), dest=right, tag=1)

out = np.array([rank] * 4, dtype=np.int32)   # kept alive until the request completes
reqs = [comm.Issend(out, dest=right, tag=2),
        comm.issend({"k": rank}, dest=left, tag=3)]
buf = np.zeros(4, dtype=np.int32)
comm.Recv(buf, source=left, tag=2)
b = comm.recv(source=right, tag=3)
MPI.Request.Waitall(reqs)
if size > 1 and rank == 0:
    comm.Ssend(np.arange(3.0), dest=1, tag=4)
elif rank == 1:
    c = np.zeros(3)
    comm.Recv(c, source=0, tag=4)
print(json.dumps({"rank": rank, "a": a, "buf": buf.tolist(), "b": b}), flush=True)
