from mpi4py import MPI

import json
import zlib

import numpy as np

# Ping-pong between ranks 0 and the last rank with messages of 0 B to 1 MiB, objects and
# buffers; the others take no part (a rank with nothing to do must still finish cleanly).
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
peer = size - 1

log = []
if size > 1 and rank in (0, peer):
    for nbytes in (0, 1, 100, 65535, 65536, 1 << 20):
        data = (np.arange(nbytes, dtype=np.uint8) * 7) if rank == 0 else np.empty(nbytes, np.uint8)
        for _ in range(3):
            if rank == 0:
                comm.Send(data, dest=peer, tag=nbytes % 1000)
                comm.Recv(data, source=peer, tag=nbytes % 1000)
            else:
                comm.Recv(data, source=0, tag=nbytes % 1000)
                data += 1
                comm.Send(data, dest=0, tag=nbytes % 1000)
        obj = comm.sendrecv(data.tobytes()[:50], dest=peer if rank == 0 else 0)
        log.append([nbytes, zlib.crc32(data.tobytes()), len(obj)])
print(json.dumps({"rank": rank, "log": log}), flush=True)
