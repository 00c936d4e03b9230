from mpi4py import MPI

import json

# Object gather/scatter/allgather/alltoall with roots other than 0 and ragged objects.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
last, mid = size - 1, size // 2

mine = {"r": rank, "items": list(range(rank)), "s": "x" * rank}
gathered = comm.gather(mine, root=last)
scattered = comm.scatter([[i] * i for i in range(size)] if rank == mid else None, root=mid)
everyone = comm.allgather((rank, None if rank % 2 else str(rank)))
swapped = comm.alltoall([f"{rank}->{d}" for d in range(size)])
print(json.dumps({"rank": rank, "gathered": gathered, "scattered": scattered,
                  "allgather": everyone, "alltoall": swapped}), flush=True)
