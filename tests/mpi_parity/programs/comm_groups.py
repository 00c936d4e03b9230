from mpi4py import MPI

import json

# Groups: Get_group, Incl/Excl/Range_incl, Translate_ranks, Compare, Union/Intersection/
# Difference, and Comm.Create from a group (Create_group: comm_create_group.py).
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()

world = comm.Get_group()
evens = world.Incl(list(range(0, size, 2)))
odds = world.Excl(list(range(0, size, 2)))
rng = world.Range_incl([(size - 1, 0, -1)])   # reversed
info = {
    "sizes": [world.Get_size(), evens.Get_size(), odds.Get_size(), rng.Get_size()],
    "ranks": [world.Get_rank(), evens.Get_rank() == MPI.UNDEFINED, rng.Get_rank()],
    "translate": MPI.Group.Translate_ranks(rng, list(range(size)), world),
    "compare": [MPI.Group.Compare(world, world) == MPI.IDENT,
                MPI.Group.Compare(world, rng) == (MPI.IDENT if size == 1 else MPI.SIMILAR),
                MPI.Group.Compare(evens, odds) == MPI.UNEQUAL],
    "union": MPI.Group.Union(odds, evens).Get_size(),
    "intersection": MPI.Group.Intersection(world, evens).Get_size(),
    "difference": MPI.Group.Difference(world, evens).Get_size(),
}
ev_comm = comm.Create(evens)
info["create"] = None if ev_comm == MPI.COMM_NULL else [ev_comm.Get_rank(),
                                                       ev_comm.allreduce(rank)]
rev = comm.Create(rng)
info["reversed"] = [rev.Get_rank(), rev.bcast(rank, root=0)]
for g in (world, evens, odds, rng):
    g.Free()
print(json.dumps({"rank": rank, **info}), flush=True)
