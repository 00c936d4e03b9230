from mpi4py import MPI

import json

import numpy as np

# A receive that nothing matches, cancelled: Wait returns, the status says cancelled. Then
# Testsome/Testany/Get_status on requests that complete.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()

buf = np.zeros(2)
req = comm.Irecv(buf, source=MPI.ANY_SOURCE, tag=999)
req.Cancel()
status = MPI.Status()
req.Wait(status)
cancelled = status.Is_cancelled()

reqs = [comm.irecv(source=rank, tag=k) for k in range(3)]
not_yet = MPI.Request.Testsome(reqs)
sends = [comm.isend(k * 10, dest=rank, tag=k) for k in range(3)]
done = []
while len(done) < 3:
    idx = MPI.Request.Testsome(reqs)
    done += idx or []
MPI.Request.Waitall(sends)

late = comm.irecv(source=rank, tag=7)
ready_before = late.Get_status()
s = comm.isend("x", dest=rank, tag=7)
while not late.Get_status():
    pass
value = late.wait()
s.wait()
print(json.dumps({"rank": rank, "cancelled": cancelled, "not_yet": not_yet,
                  "testsome": sorted(done), "get_status_before": ready_before,
                  "value": value}), flush=True)
