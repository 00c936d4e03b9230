from mpi4py import MPI

import json

import numpy as np

# Buffer Gather/Scatter/Allgather with roots other than 0, and MPI.IN_PLACE at the root.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
root = size - 1

mine = np.array([rank, rank * 10, -rank], dtype=np.int64)
gathered = np.zeros((size, 3), dtype=np.int64) if rank == root else None
comm.Gather(mine, gathered, root=root)

src = np.arange(size * 2, dtype=np.float64).reshape(size, 2) * 1.5 if rank == size // 2 else None
part = np.zeros(2)
comm.Scatter(src, part, root=size // 2)

allg = np.zeros((size, 3), dtype=np.int64)
comm.Allgather(mine, allg)

# IN_PLACE: the root's own block is already in the receive buffer.
inplace = np.full((size, 2), -1, dtype=np.int32)
if rank == root:
    inplace[rank] = [rank, rank * rank]
    comm.Gather(MPI.IN_PLACE, inplace, root=root)
else:
    comm.Gather(np.array([rank, rank * rank], dtype=np.int32), None, root=root)

ag_in = np.zeros((size, 2), dtype=np.float32)
ag_in[rank] = [rank + 0.25, -rank]
comm.Allgather(MPI.IN_PLACE, ag_in)

sc_in = np.arange(size * 3, dtype=np.int32).reshape(size, 3) if rank == 0 else np.zeros(3, np.int32)
if rank == 0:
    comm.Scatter(sc_in, MPI.IN_PLACE, root=0)
    sc_mine = sc_in[0].tolist()
else:
    comm.Scatter(None, sc_in, root=0)
    sc_mine = sc_in.tolist()

print(json.dumps({"rank": rank, "gather": gathered.tolist() if rank == root else None,
                  "scatter": part.tolist(), "allgather": allg.tolist(),
                  "gather_in_place": inplace.tolist() if rank == root else None,
                  "allgather_in_place": ag_in.tolist(), "scatter_in_place": sc_mine}),
      flush=True)
