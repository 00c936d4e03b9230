from mpi4py import MPI

import json

# The logical ops applied to Python objects (object allreduce with LAND/LOR/LXOR on ints):
# mpi4py gives booleans.
comm = MPI.COMM_WORLD
rank = comm.Get_rank()

direct = [MPI.LAND(3, 5), MPI.LOR(0, 5), MPI.LXOR(3, 0), MPI.LAND(0, 2), MPI.LOR(0, 0)]
reduced = [comm.allreduce(rank + 2, op=MPI.LAND), comm.allreduce(rank + 2, op=MPI.LOR),
           comm.allreduce(rank + 2, op=MPI.LXOR)]
print(json.dumps({"rank": rank, "direct": direct, "reduced": reduced}), flush=True)
