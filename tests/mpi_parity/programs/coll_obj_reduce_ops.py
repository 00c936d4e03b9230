from mpi4py import MPI

import json

# Object reduce/allreduce with every predefined op, root != 0, including MINLOC/MAXLOC
# on (value, index) pairs and SUM on lists (concatenation: shows the rank order).
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
root = size - 1

values = {"SUM": rank + 1, "PROD": rank + 2, "MAX": (rank * 7) % 5, "MIN": (rank * 7) % 5 - 3,
          "LAND": rank != 1, "LOR": rank == 2, "LXOR": rank % 2 == 1, "BAND": 0xF0 | rank,
          "BOR": 1 << rank, "BXOR": rank * 3, "MAXLOC": ((rank * 5) % 3, rank),
          "MINLOC": ((rank * 5) % 3, rank)}
out = {}
for name, value in values.items():
    op = getattr(MPI, name)
    res = comm.allreduce(value, op=op)
    red = comm.reduce(value, op=op, root=root)
    out[name] = [res, red]
out["list_sum"] = comm.allreduce([rank], op=MPI.SUM)
out["str_sum"] = comm.reduce(str(rank), op=MPI.SUM, root=size // 2)
out["default_op"] = comm.allreduce(rank * 10)
print(json.dumps({"rank": rank, **out}), flush=True)
