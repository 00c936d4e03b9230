from mpi4py import MPI

import json

import numpy as np

# Buffer Alltoall (int and float blocks of 2), and the object/buffer barrier pair.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()

send = np.array([[100 * rank + d, -d] for d in range(size)], dtype=np.int32)
recv = np.zeros_like(send)
comm.Alltoall(send, recv)
fsend = np.arange(size * 3, dtype=np.float64).reshape(size, 3) + rank / 4
frecv = np.zeros_like(fsend)
comm.Alltoall([fsend, 3, MPI.DOUBLE], [frecv, 3, MPI.DOUBLE])
comm.Barrier()
comm.barrier()
print(json.dumps({"rank": rank, "alltoall": recv.tolist(), "float": frecv.tolist()}),
      flush=True)
