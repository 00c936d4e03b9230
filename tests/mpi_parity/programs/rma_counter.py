from mpi4py import MPI

import json

import numpy as np

# A global counter in rank 0's window: every rank takes 10 tickets with Fetch_and_op(SUM)
# under a shared lock; the tickets handed out are exactly 0..10*size-1. Then a
# Compare_and_swap race on a second slot: exactly one rank wins it.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
win = MPI.Win.Allocate(16 if rank == 0 else 0, 8, comm=comm)
if rank == 0:
    np.frombuffer(win.tomemory(), "i8")[:] = 0
comm.Barrier()
one, ticket = np.ones(1, "i8"), np.zeros(1, "i8")
mine = []
for _ in range(10):
    win.Lock(0, MPI.LOCK_SHARED)
    win.Fetch_and_op(one, ticket, 0, 0, MPI.SUM)
    win.Unlock(0)
    mine.append(int(ticket[0]))
tickets = sorted(t for ts in comm.allgather(mine) for t in ts)
old = np.zeros(1, "i8")
win.Lock(0, MPI.LOCK_EXCLUSIVE)
win.Compare_and_swap(np.array([rank + 1], "i8"), np.zeros(1, "i8"), old, 0, 1)
win.Unlock(0)
winners = sum(comm.allgather(int(old[0]) == 0))
comm.Barrier()
final = np.zeros(2, "i8")
win.Lock(0, MPI.LOCK_SHARED)
win.Get(final, 0, 0)
win.Unlock(0)
win.Free()
print(json.dumps({"rank": rank, "tickets_ok": tickets == list(range(10 * size)),
                  "mine_increasing": mine == sorted(mine), "count": int(final[0]),
                  "cas_winners": winners, "cas_slot_set": 1 <= int(final[1]) <= size}),
      flush=True)
