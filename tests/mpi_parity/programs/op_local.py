from mpi4py import MPI

import json

import numpy as np

# Op.Reduce_local with every predefined op, Is_commutative, and calling MAXLOC/MINLOC/REPLACE
# as functions on Python objects (what object reductions use).
comm = MPI.COMM_WORLD
rank = comm.Get_rank()

out = {}
for name in ("SUM", "PROD", "MAX", "MIN", "LAND", "LOR", "LXOR", "BAND", "BOR", "BXOR"):
    op = getattr(MPI, name)
    a = np.array([1, 6, 0, 5], dtype=np.int32)
    b = np.array([3, 2, 0, rank], dtype=np.int32)
    op.Reduce_local(a, b)
    out[name] = [b.tolist(), op.Is_commutative()]
pairs = np.zeros(2, dtype=[("v", "f4"), ("i", "i4")])
pairs["v"], pairs["i"] = [1, 2], [5, 6]
other = np.zeros(2, dtype=pairs.dtype)
other["v"], other["i"] = [1, 3], [4, 7]
MPI.MAXLOC.Reduce_local([pairs, MPI.FLOAT_INT], [other, MPI.FLOAT_INT])
out["MAXLOC"] = [[float(x["v"]), int(x["i"])] for x in other]
out["obj_loc"] = [MPI.MAXLOC((1, 3), (1, 2)), MPI.MINLOC((0, 9), (2, 1))]
out["replace"] = [MPI.REPLACE(1, 2), MPI.NO_OP(1, 2)]
print(json.dumps({"rank": rank, **out}), flush=True)
