from mpi4py import MPI

import json
import os
import shutil
import tempfile

import numpy as np

# Round-robin interleaving through a vector filetype: rank r's view starts at byte
# disp = r * BLOCK * 8 and takes BLOCK doubles out of every size * BLOCK, so the ranks'
# Write_all calls fill the file in turns. Then an independent read with a resized indexed
# filetype, an odd etype count, SEEK_END and the positions. (SEEK_END is asked on a
# contiguous view only: through a view with holes MPICH counts the view's data before the
# end of the file, Open MPI the file's bytes past the displacement.)
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
folder = comm.bcast(tempfile.mkdtemp(prefix="parity-io-") if rank == 0 else None, 0)
path = os.path.join(folder, "interleaved.bin")
BLOCK, REPEAT = 4, 5
fh = MPI.File.Open(comm, path, MPI.MODE_CREATE | MPI.MODE_RDWR)
vec = MPI.DOUBLE.Create_vector(REPEAT, BLOCK, BLOCK * size).Commit()
fh.Set_view(rank * BLOCK * 8, MPI.DOUBLE, vec)
mine = np.arange(BLOCK * REPEAT, dtype="d") + 100.0 * rank
fh.Write_all(mine)
fh.Sync()
comm.Barrier()
fh.Sync()
fh.Set_view(0, MPI.DOUBLE, MPI.DOUBLE)
whole = np.zeros(BLOCK * REPEAT * size, dtype="d")
status = MPI.Status()
fh.Read_all(whole, status)
count = status.Get_count(MPI.DOUBLE)
fh.Seek(0, MPI.SEEK_END)
end = fh.Get_position()
fh.Seek(-3, MPI.SEEK_CUR)
back3 = fh.Get_position()
# every other double, from a resized indexed type
idx = MPI.DOUBLE.Create_indexed([1, 1], [0, 2]).Create_resized(0, 4 * 8).Commit()
fh.Set_view(8, MPI.DOUBLE, idx)
picks = np.full(7, -1.0)
fh.Read_at(rank, picks, status)
picked = status.Get_count(MPI.DOUBLE)
fh.Seek(3, MPI.SEEK_SET)
fh.Seek(2, MPI.SEEK_CUR)
byte = fh.Get_byte_offset(fh.Get_position())
idx.Free()
vec.Free()
fh.Close()
comm.Barrier()
if rank == 0:
    shutil.rmtree(folder)
print(json.dumps({"rank": rank, "whole": whole.tolist(), "count": count,
                  "picks": picks.tolist(), "picked": picked, "end": end, "back3": back3,
                  "byte": byte}), flush=True)
