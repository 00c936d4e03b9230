from mpi4py import MPI

import json

import numpy as np

# Buffer Reduce/Allreduce with every predefined arithmetic, logical and bitwise op on the
# types they apply to, roots other than 0, and MPI.IN_PLACE. The float data are small
# integers and halves, so every summation order gives the same bits.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
root = (size + 1) // 2 % size

out = {}
floats = {"SUM", "PROD", "MAX", "MIN"}
ints = floats | {"LAND", "LOR", "LXOR", "BAND", "BOR", "BXOR"}
for dtype, ops in (("f8", floats), ("f4", floats), ("i8", ints), ("i4", ints), ("u1", ints)):
    for name in sorted(ops):
        op = getattr(MPI, name)
        send = (np.array([rank + 1, (rank * 5) % 3, rank % 2, 2], dtype=dtype)
                if dtype[0] != "f" else np.array([rank + 0.5, -rank, (rank * 5) % 3, 1.5],
                                                 dtype=dtype))
        res = np.zeros_like(send)
        comm.Allreduce(send, res, op=op)
        red = np.zeros_like(send)
        comm.Reduce(send, red if rank == root else None, op=op, root=root)
        inplace = send.copy()
        comm.Allreduce(MPI.IN_PLACE, inplace, op=op)
        red_ip = send.copy()
        if rank == root:
            comm.Reduce(MPI.IN_PLACE, red_ip, op=op, root=root)
        else:
            comm.Reduce(send, None, op=op, root=root)
        out[f"{dtype}_{name}"] = [res.tolist(), red.tolist() if rank == root else None,
                                  inplace.tolist(), red_ip.tolist() if rank == root else None]
print(json.dumps({"rank": rank, **out}), flush=True)
