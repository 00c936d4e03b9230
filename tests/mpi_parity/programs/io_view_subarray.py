from mpi4py import MPI

import json
import os
import shutil
import tempfile

import numpy as np

# A 2-D global array (rows x cols) written collectively through file views with holes:
# each rank owns a column block (a subarray filetype: every row of the file has holes for
# the other ranks) and writes it with Write_all; then each rank reads the block of
# another rank through that rank's view, and rank 0 reads the whole array contiguously.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
folder = comm.bcast(tempfile.mkdtemp(prefix="parity-io-") if rank == 0 else None, 0)
path = os.path.join(folder, "grid.bin")
ROWS, W = 6, 3
cols = W * size
fh = MPI.File.Open(comm, path, MPI.MODE_CREATE | MPI.MODE_RDWR)


def block_type(r):
    return MPI.INT.Create_subarray([ROWS, cols], [ROWS, W], [0, r * W]).Commit()


ftype = block_type(rank)
fh.Set_view(0, MPI.INT, ftype)
local = (np.arange(ROWS * W, dtype="i").reshape(ROWS, W) + 100 * rank)
fh.Write_all(local)
after_write = fh.Get_position()
fh.Sync()
comm.Barrier()
fh.Sync()
other = (rank + size - 1) % size
otype = block_type(other)
fh.Set_view(0, MPI.INT, otype)
back = np.zeros((ROWS, W), dtype="i")
fh.Read_all(back)
fh.Set_view(0, MPI.INT, MPI.INT)
whole = np.zeros((ROWS, cols), dtype="i")
fh.Read_all(whole)
offsets = [fh.Get_byte_offset(k) for k in range(3)]
fh.Set_view(0, MPI.INT, ftype)
view_offsets = [fh.Get_byte_offset(k) for k in (0, W - 1, W, 2 * W + 1)]
disp, et, ft, rep = fh.Get_view()
extent = ft.Get_extent()
ft.Free()
ftype.Free()
otype.Free()
fh.Close()
comm.Barrier()
if rank == 0:
    shutil.rmtree(folder)
print(json.dumps({"rank": rank, "position": after_write, "other": back.tolist(),
                  "whole": whole.tolist(), "offsets": offsets, "view_offsets": view_offsets,
                  "view": [disp, et.Get_size(), list(extent), rep]}), flush=True)
