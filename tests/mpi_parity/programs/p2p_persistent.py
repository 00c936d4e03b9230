from mpi4py import MPI

import json

import numpy as np

# Persistent requests: Send_init/Ssend_init/Recv_init started again and again with Start,
# Startall, completed with Wait/Waitall; the buffers are re-read at every start.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
right, left = (rank + 1) % size, (rank - 1) % size

out = np.zeros(3, dtype=np.int64)
inp = np.zeros(3, dtype=np.int64)
send = comm.Send_init(out, dest=right, tag=1)
recv = comm.Recv_init(inp, source=left, tag=1)
seen = []
for it in range(4):
    out[:] = [rank, it, rank * it]
    MPI.Prequest.Startall([recv, send])
    MPI.Request.Waitall([recv, send])
    seen.append(inp.tolist())
ssend = comm.Ssend_init(out, dest=right, tag=2)
recv2 = comm.Recv_init(inp, source=left, tag=2)
recv2.Start()
ssend.Start()
status = MPI.Status()
recv2.Wait(status)
ssend.Wait()
for req in (send, recv, ssend, recv2):
    req.Free()
print(json.dumps({"rank": rank, "seen": seen, "last": inp.tolist(),
                  "status": [status.Get_source(), status.Get_tag()],
                  "freed": send == MPI.REQUEST_NULL}), flush=True)
