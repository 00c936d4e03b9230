from mpi4py import MPI

import json

import numpy as np

# Buffered sends with an attached buffer (bsend/Bsend/Ibsend, Detach_buffer returns it),
# and ready sends (Rsend) after the receiver has posted its receive and said so.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
right, left = (rank + 1) % size, (rank - 1) % size

MPI.Attach_buffer(bytearray(1 << 20))
comm.bsend({"b": rank}, dest=right, tag=1)
data = np.arange(4, dtype=np.float64) * rank
comm.Bsend(data, dest=right, tag=2)
req = comm.Ibsend(data[:2], dest=right, tag=3)
got1 = comm.recv(source=left, tag=1)
got2 = np.zeros(4)
comm.Recv(got2, source=left, tag=2)
got3 = np.zeros(2)
comm.Recv(got3, source=left, tag=3)
req.Wait()
detached = MPI.Detach_buffer()

ready = np.zeros(3, dtype=np.int32)
rreq = comm.Irecv(ready, source=left, tag=4)
comm.Barrier()   # every receive is posted before anyone sends in ready mode
comm.Rsend(np.full(3, rank, dtype=np.int32), dest=right, tag=4)
rreq.Wait()
print(json.dumps({"rank": rank, "bsend": got1, "Bsend": got2.tolist(), "Ibsend": got3.tolist(),
                  "detached": len(detached), "Rsend": ready.tolist()}), flush=True)
