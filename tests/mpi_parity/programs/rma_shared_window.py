from mpi4py import MPI

import json

import numpy as np

# A shared-memory window among the ranks of one node: each rank allocates a slot of
# (rank + 1) doubles, writes its own with plain stores, and after a barrier reads its
# neighbours' slots directly through Shared_query (no RMA call moves the data).
comm = MPI.COMM_WORLD
node = comm.Split_type(MPI.COMM_TYPE_SHARED)
rank, size = node.Get_rank(), node.Get_size()
win = MPI.Win.Allocate_shared((rank + 1) * 8, 8, comm=node)
win.Lock_all()  # the usual idiom: a passive epoch around loads/stores, Sync + Barrier
mine = np.frombuffer(win.tomemory(), "d")
mine[:] = 100.0 * rank + np.arange(rank + 1)
win.Sync()
node.Barrier()
win.Sync()
left, right = (rank - 1) % size, (rank + 1) % size
views = {}
for r in (left, right):
    mem, unit = win.Shared_query(r)
    views[r] = (np.frombuffer(mem, "d").tolist(), unit)
first = np.frombuffer(win.Shared_query(MPI.PROC_NULL)[0], "d").tolist()
win.Unlock_all()
node.Barrier()
win.Free()
node.Free()
print(json.dumps({"rank": comm.Get_rank(), "node_size": size, "left": views[left],
                  "right": views[right], "first_slot": first,
                  "flavor_shared": True}), flush=True)
