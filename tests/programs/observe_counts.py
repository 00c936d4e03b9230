"""Known numbers of sends, receives and collectives, for ``hpxrun --stats``
(tests/test_observe.py): each rank prints the counts it made as RESULT JSON."""

import json

import numpy as np

from hpxpy.comm import MPI

comm = MPI.COMM_WORLD
rank, size = comm.rank, comm.size
right, left = (rank + 1) % size, (rank - 1) % size
counts = {}


def did(name, n=1):
    counts[name] = counts.get(name, 0) + n


for i in range(5):
    comm.send({"i": i}, dest=right, tag=1)
    did("send")
for _ in range(5):
    comm.recv(source=left, tag=1)
    did("recv")
data = np.arange(100, dtype=np.float64)
got = np.empty(100)
for _ in range(4):
    comm.Send(data, dest=right, tag=2)
    did("Send")
for _ in range(4):
    comm.Recv(got, source=left, tag=2)
    did("Recv")
for _ in range(2):
    comm.Sendrecv(data, dest=right, sendtag=3, recvbuf=got, source=left, recvtag=3)
    did("Sendrecv")
requests = []
for _ in range(3):
    requests.append(comm.Irecv(np.empty(100), source=left, tag=4))
    did("Irecv")
for _ in range(3):
    comm.Isend(data, dest=right, tag=4)
    did("Isend")
MPI.Request.Waitall(requests)
did("Waitall")
total = np.zeros(1)
for _ in range(3):
    comm.Allreduce(np.ones(1), total, op=MPI.SUM)
    did("Allreduce")
for _ in range(2):
    comm.barrier()
    did("barrier")
comm.bcast("x" if rank == 0 else None, root=0)
did("bcast")
print("RESULT " + json.dumps({"id": rank, "counts": counts, "send_bytes": 4 * data.nbytes}),
      flush=True)
