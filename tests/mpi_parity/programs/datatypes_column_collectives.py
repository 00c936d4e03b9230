from mpi4py import MPI

import json

import numpy as np

# Column-split 2-D arrays gathered and scattered with a resized vector type (one column of
# a row-major matrix, extent one element), as Heat does: block i starts at displs[i]
# elements and steps one column at a time, so the type map touches far less than
# count * (vector span). Receive buffers are MPI.memory over numpy memory (fromaddress).
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
R, C = 6, 2 * size + 3
cols = [C // size + (1 if i < C % size else 0) for i in range(size)]
starts = [sum(cols[:i]) for i in range(size)]
whole = np.arange(R * C, dtype="d").reshape(R, C)
mine = np.ascontiguousarray(whole[:, starts[rank]:starts[rank] + cols[rank]].T)  # by column

coltype = MPI.DOUBLE.Create_vector(R, 1, C).Create_resized(0, 8).Commit()

# Allgatherv into MPI.memory.fromaddress, (counts, displs) as a tuple.
out = np.full((R, C), -1.0)
buf = MPI.memory.fromaddress(out.ctypes.data, out.nbytes)
comm.Allgatherv(mine, [buf, (cols, starts), coltype])

# Gatherv to a root in the middle, counts and displs as separate items.
root = size // 2
g = np.full((R, C), -1.0) if rank == root else None
comm.Gatherv(mine, [g, cols, starts, coltype] if rank == root else None, root=root)

# Scatterv of columns from the last rank: each rank receives its columns, column by column.
src = whole * 2 if rank == size - 1 else None
got = np.zeros((cols[rank], R))
comm.Scatterv([src, (cols, starts), coltype] if rank == size - 1 else None, got,
              root=size - 1)

# Equal blocks: every rank owns 2 columns of an R x 2N matrix (Gather/Scatter/Allgather).
E = 2 * size
etype = MPI.INT64_T.Create_vector(R, 1, E).Create_resized(0, 8).Commit()
emine = np.array([[100 * rank + 10 * c + r for r in range(R)] for c in range(2)], dtype="i8")
eall = np.zeros((R, E), dtype="i8")
comm.Allgather(emine, [eall, 2, etype])
egath = np.zeros((R, E), dtype="i8") if rank == 0 else None
comm.Gather(emine, [egath, 2, etype] if rank == 0 else None, root=0)
escat = np.zeros((2, R), dtype="i8")
comm.Scatter([eall, 2, etype], escat, root=0)

# Point to point with the derived type and a displacement ([buf, (count, displ), type]):
# a ring passes each rank's columns into their place in the neighbour's matrix.
right, left = (rank + 1) % size, (rank - 1) % size
ring = np.full((R, C), -1.0)
comm.Sendrecv(mine, dest=right, recvbuf=[ring, (cols[left], starts[left]), coltype],
              source=left)
# Sending with the derived type: the columns straight out of the 2-D array.
back = np.zeros((cols[right], R))
comm.Sendrecv([whole, (cols[rank], starts[rank]), coltype], dest=left, recvbuf=back,
              source=right)
req = comm.Irecv([MPI.memory.fromaddress(ring.ctypes.data, ring.nbytes),
                  (cols[left], starts[left]), coltype], source=left, tag=7)
comm.Send([whole * 3, (cols[rank], starts[rank]), coltype], dest=right, tag=7)
req.Wait()

coltype.Free()
etype.Free()
print(json.dumps({"rank": rank, "allgatherv": out.tolist(),
                  "gatherv": g.tolist() if g is not None else None,
                  "scatterv": got.tolist(), "allgather": eall.tolist(),
                  "gather": egath.tolist() if egath is not None else None,
                  "scatter": escat.tolist(), "ring": ring.tolist(), "back": back.tolist()}),
      flush=True)
