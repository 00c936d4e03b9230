from mpi4py import MPI

import json

# Inter-communicator constructors beyond Dup/Split/Merge: Idup, Idup_with_info, Create
# (a subgroup of each side; COMM_NULL outside it or when either side's subgroup is empty),
# and Split_type.

world = MPI.COMM_WORLD
rank, size = world.Get_rank(), world.Get_size()


def emit(**record):
    print(json.dumps({"rank": rank, **record}), flush=True)


def describe(comm):
    if comm == MPI.COMM_NULL:
        return None
    return {"inter": comm.Is_inter(), "rank": comm.Get_rank(), "size": comm.Get_size(),
            "remote": comm.Get_remote_size() if comm.Is_inter() else None,
            "allgather": comm.allgather(rank)}


if size < 2:
    emit(skipped="needs two groups")
else:
    color = 0 if rank < size // 2 else 1
    intra = world.Split(color, key=rank)
    inter = intra.Create_intercomm(0, world, size // 2 if color == 0 else 0, tag=7)
    made = []

    dup, request = inter.Idup()
    request.Wait()
    emit(idup=describe(dup))
    made.append(dup)
    dup2, request = inter.Idup_with_info(MPI.INFO_NULL)
    request.Wait()
    emit(idup_with_info=describe(dup2), compare=MPI.Comm.Compare(inter, dup2))
    made.append(dup2)

    # Create: every member calls it; the group is a subgroup of the local group.
    group = inter.Get_group()
    # (Open MPI hangs in Create when a subgroup reorders several members: no such case.)
    last = group.Get_size() - 1
    for name, ranks in (("first", [0]), ("last", [last]), ("all", list(range(last + 1))),
                        ("empty_lower", [] if color == 0 else [0])):
        sub = group.Incl(ranks)
        comm = inter.Create(sub)
        emit(create=name, result=describe(comm))
        made.append(comm)
        sub.Free()

    # Create_group is an intra-communicator's only (MPI_Comm_create_group); nor has an
    # inter-communicator the prefix reductions.
    emit(has=[hasattr(inter, name) for name in ("Create_group", "Scan", "Exscan", "scan",
                                                   "exscan", "Iscan", "Iexscan")])
    group.Free()

    # Split_type: every process is on this host, so both sides form one inter-communicator.
    shared = inter.Split_type(MPI.COMM_TYPE_SHARED, key=-rank)
    emit(split_type=describe(shared))
    made.append(shared)
    undefined = inter.Split_type(MPI.UNDEFINED)
    emit(split_type_undefined=describe(undefined))

    inter.Barrier()
    for comm in made + [inter, intra]:
        if comm != MPI.COMM_NULL:
            comm.Free()
