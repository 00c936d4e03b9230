"""Run under ``mpiexec -n N`` with HPXPY_PARCELPORT=mpi (tests/test_mpi_parcelport.py):
point-to-point of small and large messages (above any eager limit, so MPI's rendezvous
protocol carries them), and a few collectives, checked on every rank; each rank prints
one record saying how its messages travelled and what it checked."""

import json

import numpy as np

from hpxpy import _runtime
from hpxpy.comm import MPI

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
right, left = (rank + 1) % size, (rank - 1) % size
checked = []

# Point-to-point around the ring: 8 B, 64 KiB, 8 MiB (buffers) and a pickled object.
for count in (1, 8 << 10, 1 << 20):
    send = np.arange(count, dtype=np.float64) + rank
    recv = np.empty(count, dtype=np.float64)
    comm.Sendrecv(send, dest=right, sendtag=count % 1000, recvbuf=recv, source=left,
                  recvtag=count % 1000)
    assert (recv == np.arange(count) + left).all(), count
    checked.append(f"sendrecv {send.nbytes}")
# Non-blocking, many in flight, received with ANY_SOURCE and in order per source.
reqs = [comm.Isend(np.full(4096, i + 100 * rank, dtype=np.int64), dest=right, tag=7)
        for i in range(8)]
for i in range(8):
    buf = np.empty(4096, dtype=np.int64)
    status = MPI.Status()
    comm.Recv(buf, source=MPI.ANY_SOURCE, tag=7, status=status)
    assert status.Get_source() == left and (buf == i + 100 * left).all()
MPI.Request.Waitall(reqs)
checked.append("isend x8 any_source in order")
# Synchronous send of a large message (the receiver posts late) and objects.
# Pairs (0, 1), (2, 3): the even rank sends.
if rank % 2 == 0 and rank + 1 < size:
    comm.Ssend(np.ones(3 << 20, dtype=np.uint8), dest=rank + 1, tag=3)
if rank % 2 == 1:
    big = np.empty(3 << 20, dtype=np.uint8)
    comm.Recv(big, source=rank - 1, tag=3)
    assert big.sum() == 3 << 20
obj = comm.sendrecv({"from": rank, "data": list(range(50000))}, dest=right, source=left)
assert obj["from"] == left and len(obj["data"]) == 50000
checked.append("ssend 3 MiB, objects")

# Collectives, small and large.
assert comm.allreduce(rank) == size * (size - 1) // 2
vec = np.full(1 << 20, rank + 1.0)
out = np.empty_like(vec)
comm.Allreduce(vec, out, op=MPI.SUM)
assert (out == size * (size + 1) / 2).all()
data = np.arange(2 << 20, dtype=np.uint8) if rank == 0 else np.empty(2 << 20, dtype=np.uint8)
comm.Bcast(data, root=0)
assert (data == np.arange(2 << 20, dtype=np.uint8)).all()
gathered = comm.gather(rank * 10, root=size - 1)
assert rank != size - 1 or gathered == [r * 10 for r in range(size)]
blocks = np.full((size, 1 << 16), rank, dtype=np.int32)
swapped = np.empty_like(blocks)
comm.Alltoall(blocks, swapped)
assert (swapped == np.arange(size)[:, None]).all()
comm.Barrier()
checked.append("allreduce bcast gather alltoall barrier")

routes = [_runtime._state.core.route(r) for r in range(size)]
print(json.dumps({"rank": rank, "size": size, "routes": routes, "checked": checked}),
      flush=True)
