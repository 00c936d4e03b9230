from mpi4py import MPI

import json

# Comm.Create_group is collective over the group's members only: the other ranks do not
# call it (unlike Comm.Create, which every rank of the parent calls).
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()

evens = comm.Get_group().Incl(list(range(0, size, 2)))
info = None
if rank % 2 == 0:
    grp = comm.Create_group(evens, tag=5)
    info = [grp.Get_rank(), grp.Get_size(), grp.allgather(rank)]
    grp.Free()
comm.Barrier()
print(json.dumps({"rank": rank, "create_group": info}), flush=True)
