from mpi4py import MPI

import json

# Split (by parity, keys reversing the order) and Dup, with traffic on the parent and the
# new communicators overlapping: same tags on different communicators never mix.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()

sub = comm.Split(color=rank % 2, key=-rank)
dup = comm.Dup()
right, left = (rank + 1) % size, (rank - 1) % size
# The same (dest, tag) on world and dup, sent in opposite orders and received dup first.
r1 = comm.isend(("world", rank), dest=right, tag=1)
r2 = dup.isend(("dup", rank), dest=right, tag=1)
from_dup = dup.recv(source=left, tag=1)
from_world = comm.recv(source=left, tag=1)
MPI.Request.Waitall([r1, r2])

sub_rank, sub_size = sub.Get_rank(), sub.Get_size()
sub_sum = sub.allreduce(rank)
sub_members = sub.allgather(rank)
world_sum = dup.allreduce(rank)
# Sub-communicator point to point, while the world runs a collective in between.
sr = sub.sendrecv(rank, dest=(sub_rank + 1) % sub_size, source=(sub_rank - 1) % sub_size)
comm.Barrier()
undefined = comm.Split(color=MPI.UNDEFINED if rank == 0 else 1, key=rank)
undef_info = undefined == MPI.COMM_NULL if rank == 0 else undefined.Get_size()
nested = sub.Split(color=0, key=sub_rank).Dup()
nested_sum = nested.allreduce(1)
for c in (nested, sub, dup):
    c.Free()
if undefined != MPI.COMM_NULL:
    undefined.Free()
print(json.dumps({"rank": rank, "from_dup": from_dup, "from_world": from_world,
                  "sub": [sub_rank, sub_size, sub_sum, sub_members, sr], "world_sum": world_sum,
                  "undefined": undef_info, "nested_sum": nested_sum,
                  "freed": sub == MPI.COMM_NULL}), flush=True)
