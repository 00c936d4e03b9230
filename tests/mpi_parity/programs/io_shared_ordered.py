from mpi4py import MPI

import json
import os
import shutil
import tempfile

import numpy as np

# The shared file pointer: Write_ordered appends each rank's record in rank order (a
# different length per rank), twice; Read_ordered reads the records back in the same order;
# then Write_shared from every rank (order unknown, so only the total is compared) and
# the shared position seen by everyone after a Barrier.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
folder = comm.bcast(tempfile.mkdtemp(prefix="parity-io-") if rank == 0 else None, 0)
path = os.path.join(folder, "log.bin")
fh = MPI.File.Open(comm, path, MPI.MODE_CREATE | MPI.MODE_RDWR | MPI.MODE_DELETE_ON_CLOSE)
fh.Set_view(0, MPI.INT)
for round_ in range(2):
    record = np.full(rank + 2, 10 * round_ + rank, dtype="i")
    fh.Write_ordered(record)
pos_after_ordered = fh.Get_position_shared()
fh.Sync()
comm.Barrier()
fh.Seek_shared(0, MPI.SEEK_SET)
got = []
status = MPI.Status()
for _ in range(2):
    back = np.zeros(rank + 2, dtype="i")
    fh.Read_ordered(back, status)
    got.append(back.tolist())
comm.Barrier()
fh.Seek_shared(0, MPI.SEEK_END)
fh.Write_shared(np.full(3, 7, dtype="i"))
fh.Sync()
comm.Barrier()
final = fh.Get_position_shared()
whole = np.zeros(fh.Get_size() // 4, dtype="i")
fh.Read_at(0, whole)
fh.Close()
comm.Barrier()
if rank == 0:
    left = os.listdir(folder)
    shutil.rmtree(folder)
else:
    left = None
print(json.dumps({"rank": rank, "pos_after_ordered": pos_after_ordered, "got": got,
                  "final": final, "sevens": int((whole == 7).sum()),
                  "head": whole[: 2 * sum(range(2, size + 2))].tolist(),
                  "left_behind": left}), flush=True)
