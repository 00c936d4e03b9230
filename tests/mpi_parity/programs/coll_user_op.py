from mpi4py import MPI

import json

import numpy as np

# A user Op.Create: 2x2 integer matrix product, associative but not commutative, so the
# result shows the rank order MPI promises (inoutbuf = inbuf op inoutbuf, lower ranks left).
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()


def matmul_buf(inbuf, inoutbuf, datatype):
    a = np.frombuffer(inbuf, dtype=np.int64).reshape(2, 2)
    b = np.frombuffer(inoutbuf, dtype=np.int64).reshape(2, 2)
    np.frombuffer(inoutbuf, dtype=np.int64)[:] = (a @ b).ravel()


def matmul_obj(a, b, datatype=None):
    return [[sum(a[i][k] * b[k][j] for k in range(2)) for j in range(2)] for i in range(2)]


mine = np.array([1, rank + 1, 0, 1], dtype=np.int64) if rank % 2 else \
    np.array([1, 0, rank + 2, 1], dtype=np.int64)
buf_op = MPI.Op.Create(matmul_buf, commute=False)
obj_op = MPI.Op.Create(matmul_obj, commute=False)
sum_op = MPI.Op.Create(lambda a, b, dt=None: a + b, commute=True)

allred = np.zeros(4, dtype=np.int64)
comm.Allreduce(mine, allred, op=buf_op)
red = np.zeros(4, dtype=np.int64)
comm.Reduce(mine, red, op=buf_op, root=size - 1)
scan = np.zeros(4, dtype=np.int64)
comm.Scan(mine, scan, op=buf_op)
obj = comm.allreduce(mine.reshape(2, 2).tolist(), op=obj_op)
obj_scan = comm.scan(mine.reshape(2, 2).tolist(), op=obj_op)
commutes = [buf_op.Is_commutative(), sum_op.Is_commutative(), MPI.SUM.Is_commutative()]
total = comm.allreduce(rank + 1, op=sum_op)
buf_op.Free()
obj_op.Free()
sum_op.Free()
print(json.dumps({"rank": rank, "allreduce": allred.tolist(),
                  "reduce": red.tolist() if rank == size - 1 else None,
                  "scan": scan.tolist(), "obj": obj, "obj_scan": obj_scan,
                  "commutes": commutes, "total": total}), flush=True)
