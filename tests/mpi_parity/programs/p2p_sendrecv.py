from mpi4py import MPI

import json

import numpy as np

# sendrecv (objects), Sendrecv (buffers of different sizes each way) and Sendrecv_replace,
# shifting by one and by two ranks.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
right, left = (rank + 1) % size, (rank - 1) % size

status = MPI.Status()
obj = comm.sendrecv({"r": rank}, dest=right, sendtag=1, source=left, recvtag=1, status=status)
obj_src = status.Get_source()
far = comm.sendrecv(rank * 2, dest=(rank + 2) % size, source=(rank - 2) % size)
recv = np.zeros(3 + left, dtype=np.int64)
comm.Sendrecv(np.arange(3 + rank, dtype=np.int64), dest=right, recvbuf=recv, source=left)
rep = np.array([rank, rank + 0.5])
comm.Sendrecv_replace(rep, dest=left, sendtag=4, source=right, recvtag=4, status=status)
print(json.dumps({"rank": rank, "obj": obj, "obj_src": obj_src, "far": far,
                  "buf": recv.tolist(), "replace": rep.tolist(),
                  "replace_count": status.Get_count(MPI.DOUBLE)}), flush=True)
