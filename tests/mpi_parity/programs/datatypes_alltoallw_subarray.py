from mpi4py import MPI

import json

import numpy as np

# Alltoallw with subarray types, as a transpose of a block-distributed 2-D array is written
# (mpi4py-fft's pencil exchange): rank r holds rows block r of an (R, N*W) array and sends
# column block d to rank d; it receives row block s into columns of its (N*H, W) array.
# Receive buffers are MPI.memory over numpy memory; displacements are in bytes.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
H, W = 3, 2                     # each rank's block: H rows, W columns
a = np.array([[1000 * rank + 10 * i + j for j in range(size * W)] for i in range(H)],
             dtype="d")         # rows of rank's block, all columns
b = np.full((size * H, W), -1.0)

send_types = [MPI.DOUBLE.Create_subarray([H, size * W], [H, W], [0, d * W]).Commit()
              for d in range(size)]
recv_types = [MPI.DOUBLE.Create_subarray([size * H, W], [H, W], [s * H, 0]).Commit()
              for s in range(size)]
ones, zeros = [1] * size, [0] * size
rbuf = MPI.memory.fromaddress(b.ctypes.data, b.nbytes)
comm.Alltoallw([a, (ones, zeros), send_types], [rbuf, (ones, zeros), recv_types])

# The same exchange with one contiguous block type and byte displacements, into memory.
blk = MPI.DOUBLE.Create_contiguous(H * W).Commit()
flat_send = np.concatenate([a[:, d * W:(d + 1) * W].ravel() for d in range(size)])
flat_recv = np.full(size * H * W, -1.0)
disp = [d * H * W * 8 for d in range(size)]
comm.Alltoallw([flat_send, ones, disp, [blk] * size],
               [MPI.memory.fromaddress(flat_recv.ctypes.data, flat_recv.nbytes), ones, disp,
                [blk] * size])

# A resized column type with counts: rank r sends column d of its rows to rank d, which
# stores the H values of each sender in column s of an (H, size) array.
col_s = MPI.DOUBLE.Create_vector(H, 1, size * W).Create_resized(0, 8).Commit()
col_r = MPI.DOUBLE.Create_vector(H, 1, size).Create_resized(0, 8).Commit()
c = np.full((H, size), -1.0)
comm.Alltoallw([a, ([1] * size, [d * W * 8 for d in range(size)]), [col_s] * size],
               [MPI.memory.fromaddress(c.ctypes.data, c.nbytes),
                ([1] * size, [s * 8 for s in range(size)]), [col_r] * size])

for t in send_types + recv_types + [blk, col_s, col_r]:
    t.Free()
print(json.dumps({"rank": rank, "subarray": b.tolist(), "contiguous": flat_recv.tolist(),
                  "columns": c.tolist()}), flush=True)
