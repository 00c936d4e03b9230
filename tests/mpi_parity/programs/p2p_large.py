from mpi4py import MPI

import json
import zlib

import numpy as np

# 64 MiB buffers: Send/Recv from rank 0 to the last rank, a 64 MiB Bcast from the last rank,
# and a 64 MiB object (bytes) sent around. Each rank reports CRCs, not the data.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
N = 64 * 1024 * 1024 // 8   # float64 elements in 64 MiB

out = {}
if rank == 0:
    data = np.arange(N, dtype=np.float64)
    req = comm.Isend(data, dest=size - 1, tag=1)
if rank == size - 1:
    recv = np.empty(N, dtype=np.float64)
    status = MPI.Status()
    comm.Recv(recv, source=0, tag=1, status=status)
    out["p2p"] = [zlib.crc32(recv), status.Get_count(MPI.DOUBLE)]
    del recv
if rank == 0:
    req.Wait()
    del data

b = np.full(N, 0.5) if rank == size - 1 else np.empty(N)
comm.Bcast(b, root=size - 1)
out["bcast"] = [zlib.crc32(b), float(b[12345])]
del b

blob = bytes(range(256)) * (256 * 1024) if rank == 0 else None   # 64 MiB
blob = comm.bcast(blob, root=0)
out["bcast_obj"] = [len(blob), zlib.crc32(blob)]
print(json.dumps({"rank": rank, **out}), flush=True)
