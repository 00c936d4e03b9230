from mpi4py import MPI

import json

# An inter-communicator between the lower and upper halves of COMM_WORLD: object
# collectives across the two groups (rooted ones with MPI.ROOT / MPI.PROC_NULL), point to
# point to the remote group, Merge, Dup and Split.

world = MPI.COMM_WORLD
rank, size = world.Get_rank(), world.Get_size()


def emit(**record):
    print(json.dumps({"rank": rank, **record}), flush=True)


if size < 2:
    emit(skipped="needs two groups")
else:
    color = 0 if rank < size // 2 else 1
    intra = world.Split(color, key=rank)
    inter = intra.Create_intercomm(0, world, size // 2 if color == 0 else 0, tag=7)
    emit(local=[inter.Get_rank(), inter.Get_size()], remote=inter.Get_remote_size(),
         inter=inter.Is_inter())
    emit(allreduce=inter.allreduce(rank + 1), allgather=inter.allgather(rank * 10))
    for root_group in (0, 1):
        if color == root_group:
            root = MPI.ROOT if inter.Get_rank() == 0 else MPI.PROC_NULL
        else:
            root = 0
        got = inter.bcast({"from": rank} if root == MPI.ROOT else None, root=root)
        gathered = inter.gather(rank, root=root)
        scattered = inter.scatter([f"item{i}" for i in range(inter.Get_remote_size())]
                                  if root == MPI.ROOT else None, root=root)
        reduced = inter.reduce(rank, op=MPI.MAX, root=root)
        emit(root_group=root_group, bcast=got, gather=gathered, scatter=scattered,
             reduce=reduced)
    emit(alltoall=inter.alltoall([(rank, j) for j in range(inter.Get_remote_size())]))
    if inter.Get_rank() == 0:
        inter.send(("hello", rank), dest=0, tag=3)
        emit(p2p=inter.recv(source=0, tag=3))
    inter.Barrier()
    merged = inter.Merge(high=color == 1)
    emit(merged=[merged.Get_rank(), merged.Get_size(), merged.allreduce(rank)])
    dup = inter.Dup()
    emit(dup=dup.allreduce(1))
    halves = inter.Split(inter.Get_rank() % 2, key=0)
    emit(split=None if halves == MPI.COMM_NULL else
         [halves.Get_size(), halves.Get_remote_size(), halves.allgather(rank)])
    for comm in (halves, dup, merged, inter, intra):
        if comm != MPI.COMM_NULL:
            comm.Free()
