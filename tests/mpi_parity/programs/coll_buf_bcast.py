from mpi4py import MPI

import json

import numpy as np

# Buffer Bcast from every root, several dtypes, explicit [buf, count, datatype] specs.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()

out = []
for root in range(size):
    f = np.arange(5, dtype=np.float64) * (root + 0.5) if rank == root else np.zeros(5)
    comm.Bcast(f, root=root)
    i = np.full(3, root * 11 - 7, dtype=np.int32) if rank == root else np.zeros(3, np.int32)
    comm.Bcast([i, MPI.INT], root=root)
    c = np.array([root + 1j, -root], dtype=np.complex128) if rank == root else \
        np.zeros(2, np.complex128)
    comm.Bcast([c, 2, MPI.DOUBLE_COMPLEX], root=root)
    out.append([f.tolist(), i.tolist(), [[z.real, z.imag] for z in c]])
b = bytearray(b"hello" if rank == size - 1 else b"\0" * 5)
comm.Bcast([b, MPI.BYTE], root=size - 1)
print(json.dumps({"rank": rank, "bcast": out, "bytes": b.decode()}), flush=True)
