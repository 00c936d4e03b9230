from mpi4py import MPI

import json

import numpy as np

# MINLOC/MAXLOC on value-index pair types (2INT, FLOAT_INT) with ties: MPI takes the lowest
# index among equal values. (DOUBLE_INT, whose extent has padding: coll_buf_double_int.py.)
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()

float_int = np.dtype([("v", "f4"), ("i", "i4")])
two_int = np.dtype([("v", "i4"), ("i", "i4")])

out = {}
for label, dtype, mpitype in (("float_int", float_int, MPI.FLOAT_INT),
                              ("two_int", two_int, MPI.TWOINT)):
    send = np.zeros(3, dtype=dtype)
    send["v"] = [(rank * 7) % 4, rank % 2, -(rank // 2)]
    send["i"] = [rank, 10 + rank, 20 - rank]
    for opname in ("MINLOC", "MAXLOC"):
        res = np.zeros(3, dtype=dtype)
        comm.Allreduce([send, mpitype], [res, mpitype], op=getattr(MPI, opname))
        red = np.zeros(3, dtype=dtype)
        comm.Reduce([send, mpitype], [red, mpitype], op=getattr(MPI, opname), root=size - 1)
        out[f"{label}_{opname}"] = [[[float(x["v"]), int(x["i"])] for x in res],
                                    [[float(x["v"]), int(x["i"])] for x in red]
                                    if rank == size - 1 else None]
print(json.dumps({"rank": rank, **out}), flush=True)
