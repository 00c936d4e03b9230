from mpi4py import MPI

import json

import numpy as np

# Gatherv/Scatterv/Allgatherv/Alltoallv with uneven counts (rank r holds r+1 items, one rank
# holds none at N>1) and explicit displacements with gaps.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
root = size // 2

counts = [0 if (r == 1 and size > 1) else r + 1 for r in range(size)]
displs = [sum(counts[:r]) + 2 * r for r in range(size)]   # a gap of 2 between blocks
total = displs[-1] + counts[-1]
mine = np.arange(counts[rank], dtype=np.float64) + 100 * rank

gv = np.full(total, -1.0) if rank == root else None
comm.Gatherv(mine, [gv, counts, displs, MPI.DOUBLE] if rank == root else None, root=root)

sv_src = np.arange(total, dtype=np.int32) if rank == 0 else None
sv = np.zeros(counts[rank], dtype=np.int32)
comm.Scatterv([sv_src, counts, displs, MPI.INT] if rank == 0 else None, sv, root=0)

agv = np.full(total, -1.0)
comm.Allgatherv(mine, [agv, counts, displs, MPI.DOUBLE])

# Alltoallv: rank r sends (d + 1) items to rank d, each item 10*r + d.
scounts = [d + 1 for d in range(size)]
sdispls = [sum(scounts[:d]) for d in range(size)]
sendbuf = np.concatenate([np.full(d + 1, 10 * rank + d, dtype=np.int64) for d in range(size)])
rcounts = [rank + 1] * size
rdispls = [s * (rank + 1) for s in range(size)]
recvbuf = np.zeros((rank + 1) * size, dtype=np.int64)
comm.Alltoallv([sendbuf, scounts, sdispls, MPI.INT64_T], [recvbuf, rcounts, rdispls, MPI.INT64_T])

# IN_PLACE Allgatherv.
ip = np.full(total, -2.0)
ip[displs[rank]:displs[rank] + counts[rank]] = mine
comm.Allgatherv(MPI.IN_PLACE, [ip, counts, displs, MPI.DOUBLE])

print(json.dumps({"rank": rank, "gatherv": gv.tolist() if rank == root else None,
                  "scatterv": sv.tolist(), "allgatherv": agv.tolist(),
                  "alltoallv": recvbuf.tolist(), "allgatherv_in_place": ip.tolist()}),
      flush=True)
