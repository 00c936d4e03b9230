from mpi4py import MPI

import json

import numpy as np

# Memory from MPI.Alloc_mem viewed as a numpy array (the buffer protocol), filled, sent as
# bytes and received into another Alloc_mem block; then Free_mem.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
right, left = (rank + 1) % size, (rank - 1) % size

mem = MPI.Alloc_mem(64)
arr = np.frombuffer(mem, dtype=np.float64)
arr[:] = np.arange(8) + rank
got = MPI.Alloc_mem(64)
req = comm.Isend([mem, MPI.BYTE], dest=right, tag=1)
comm.Recv([got, MPI.BYTE], source=left, tag=1)
req.Wait()
received = np.frombuffer(got, dtype=np.float64).tolist()
sizes = [len(mem), mem.nbytes]
MPI.Free_mem(mem)
MPI.Free_mem(got)
print(json.dumps({"rank": rank, "mem": received, "sizes": sizes}), flush=True)
