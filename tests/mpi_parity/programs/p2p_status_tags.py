from mpi4py import MPI

import json

import numpy as np

# Status fields and message ordering: messages from one source with the same tag arrive in
# order; receiving by tag takes them out of order; PROC_NULL gives an empty status.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
right, left = (rank + 1) % size, (rank - 1) % size

outs = [np.full(k + 1, k, dtype=np.int32) for k in range(4)]
reqs = [comm.Isend(outs[k], dest=right, tag=100 + k % 2) for k in range(4)]
status = MPI.Status()
order = []
for tag in (101, 100, 101, 100):
    buf = np.zeros(4, dtype=np.int32)
    comm.Recv(buf, source=left, tag=tag, status=status)
    order.append([status.Get_tag(), status.Get_source(), status.Get_count(MPI.INT),
                  status.Get_elements(MPI.INT), buf.tolist()])
MPI.Request.Waitall(reqs)

null = MPI.Status()
comm.Recv(np.zeros(2), source=MPI.PROC_NULL, tag=5, status=null)
null_info = [null.Get_source() == MPI.PROC_NULL, null.Get_tag() == MPI.ANY_TAG,
             null.Get_count(), null.Get_error() == MPI.SUCCESS]
obj_null = comm.recv(source=MPI.PROC_NULL)
comm.send("ignored", dest=MPI.PROC_NULL)

s = MPI.Status()
s.Set_source(3)
s.Set_tag(9)
s.Set_error(MPI.SUCCESS)
manual = [s.Get_source(), s.Get_tag(), s.source, s.tag, s.Is_cancelled()]
tag_ub_ok = comm.Get_attr(MPI.TAG_UB) >= 32767
print(json.dumps({"rank": rank, "order": order, "proc_null": null_info, "obj_null": obj_null,
                  "manual": manual, "tag_ub_ok": tag_ub_ok}), flush=True)
