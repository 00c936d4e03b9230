from mpi4py import MPI

import json
import os
import shutil
import tempfile

import numpy as np

# Collective writes of disjoint parts at explicit offsets, read back by other ranks: each
# rank writes its block with Write_at_all, then reads its right neighbour's block
# (Read_at_all) and the whole file (Read_at), after Sync + Barrier + Sync.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
folder = comm.bcast(tempfile.mkdtemp(prefix="parity-io-") if rank == 0 else None, 0)
path = os.path.join(folder, "data.bin")
N = 1000 + 17 * rank  # a different amount per rank; the blocks are packed end to end
counts = comm.allgather(N)
start = sum(counts[:rank])

fh = MPI.File.Open(comm, path, MPI.MODE_CREATE | MPI.MODE_RDWR)
fh.Set_view(0, MPI.DOUBLE)
mine = np.arange(N, dtype="d") + 1000.0 * rank
status = MPI.Status()
fh.Write_at_all(start, mine, status)
written = status.Get_count(MPI.DOUBLE)
fh.Sync()
comm.Barrier()
fh.Sync()
right = (rank + 1) % size
theirs = np.zeros(counts[right], dtype="d")
fh.Read_at_all(sum(counts[:right]), theirs, status)
got = status.Get_count(MPI.DOUBLE)
whole = np.zeros(sum(counts) + 5, dtype="d")
fh.Read_at(0, whole, status)
read_all = status.Get_count(MPI.DOUBLE)
size_bytes = fh.Get_size()
fh.Close()
comm.Barrier()
if rank == 0:
    shutil.rmtree(folder)
print(json.dumps({"rank": rank, "written": written, "neighbour_ok":
                  bool(np.array_equal(theirs, np.arange(counts[right]) + 1000.0 * right)),
                  "neighbour_read": got, "whole_read": read_all,
                  "whole_sum": float(whole.sum()), "tail": whole[-5:].tolist(),
                  "file_bytes": size_bytes}), flush=True)
