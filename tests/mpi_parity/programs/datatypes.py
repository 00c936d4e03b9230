from mpi4py import MPI

import json

import numpy as np

# Predefined datatypes: sizes and extents, typed message specs [buf, count, type], a
# contiguous derived type, and Get_count/Get_elements in different units.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
right, left = (rank + 1) % size, (rank - 1) % size

names = ["CHAR", "SHORT", "INT", "LONG", "LONG_LONG", "FLOAT", "DOUBLE", "BYTE", "INT8_T",
         "INT16_T", "INT32_T", "INT64_T", "UINT8_T", "UINT64_T", "C_BOOL", "FLOAT_INT",
         "TWOINT", "C_FLOAT_COMPLEX", "C_DOUBLE_COMPLEX"]
sizes = {n: [getattr(MPI, n).Get_size(), getattr(MPI, n).Get_extent()[1]] for n in names}

vec3 = MPI.DOUBLE.Create_contiguous(3).Commit()
out = np.arange(6, dtype=np.float64) + rank
req = comm.Isend([out, 2, vec3], dest=right, tag=1)
got = np.zeros(6)
status = MPI.Status()
comm.Recv([got, 2, vec3], source=left, tag=1, status=status)
req.Wait()
counts = [status.Get_count(vec3), status.Get_count(MPI.DOUBLE), status.Get_count(MPI.BYTE),
          status.Get_elements(MPI.DOUBLE), vec3.Get_size(), vec3.Get_extent()[1]]
vec3.Free()

part = np.zeros(4, dtype=np.int16)
out2 = np.arange(8, dtype=np.int16) * (rank + 1)
req = comm.Isend([out2, 4, MPI.SHORT], dest=right, tag=2)
comm.Recv([part, MPI.SHORT], source=left, tag=2)
req.Wait()
print(json.dumps({"rank": rank, "sizes": sizes, "contiguous": got.tolist(),
                  "counts": counts, "partial": part.tolist()}),
      flush=True)
