from mpi4py import MPI

import json

import numpy as np

# 1-D halo exchange with Sendrecv and PROC_NULL at the ends: each rank's interior is
# [10r .. 10r+4]; after the exchange the ghost cells hold the neighbours' edge values.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
left = rank - 1 if rank > 0 else MPI.PROC_NULL
right = rank + 1 if rank < size - 1 else MPI.PROC_NULL

u = np.full(7, -1.0)
u[1:-1] = np.arange(5) + 10.0 * rank
status = MPI.Status()


def source_of(st):
    """The status' source; PROC_NULL by name, as its value differs between MPI libraries."""
    return "PROC_NULL" if st.Get_source() == MPI.PROC_NULL else st.Get_source()


comm.Sendrecv(u[-2:-1], dest=right, sendtag=1, recvbuf=u[0:1], source=left, recvtag=1,
              status=status)
from_left = [source_of(status), status.Get_tag(), status.Get_count(MPI.DOUBLE)]
comm.Sendrecv(u[1:2], dest=left, sendtag=2, recvbuf=u[-1:], source=right, recvtag=2,
              status=status)
from_right = [source_of(status), status.Get_tag(), status.Get_count(MPI.DOUBLE)]
# The same with non-blocking calls, as many codes write it.
v = u.copy()
v[0] = v[-1] = -5.0
reqs = [comm.Irecv(v[0:1], source=left, tag=3), comm.Irecv(v[-1:], source=right, tag=4),
        comm.Isend(v[1:2], dest=left, tag=4), comm.Isend(v[-2:-1], dest=right, tag=3)]
MPI.Request.Waitall(reqs)
print(json.dumps({"rank": rank, "u": u.tolist(), "v": v.tolist(), "from_left": from_left,
                  "from_right": from_right, "proc_null": [MPI.PROC_NULL == left,
                                                          MPI.PROC_NULL == right]}), flush=True)
