from mpi4py import MPI

import json

import numpy as np

# MINLOC/MAXLOC on arrays of MPI.DOUBLE_INT pairs: numpy's aligned (float64, int32) record
# has MPI's extent for DOUBLE_INT (16 bytes, 4 of them padding).
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()

double_int = np.dtype([("v", "f8"), ("i", "i4")], align=True)

out = {}
extent = MPI.DOUBLE_INT.Get_extent()[1]
for label, dtype, mpitype in (("double_int", double_int, MPI.DOUBLE_INT),):
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
print(json.dumps({"rank": rank, "extent": extent, **out}), flush=True)
