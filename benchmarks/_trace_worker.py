"""One locality of benchmarks/trace_overhead.py: 8-byte ping-pong (ranks 0 and 1; with one
locality, a Send to itself and its Recv: the per-call cost without scheduling noise), then
8-byte Allreduce of every rank; prints rank 0's microseconds per operation as RESULT."""

import json
import sys
import time

import numpy as np

from hpxpy.comm import MPI

comm = MPI.COMM_WORLD
rank = comm.rank
n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
buf = np.zeros(1)
out = np.zeros(1)


def pingpong(count: int) -> float:
    comm.Barrier()
    t = time.perf_counter()
    peer = 1 if comm.size > 1 else 0
    for _ in range(count):
        if rank == 0:
            comm.Send(buf, dest=peer, tag=0)
            comm.Recv(buf, source=peer, tag=0)
        elif rank == 1:
            comm.Recv(buf, source=0, tag=0)
            comm.Send(buf, dest=0, tag=0)
    return (time.perf_counter() - t) / count * 1e6


def allreduce(count: int) -> float:
    comm.Barrier()
    t = time.perf_counter()
    for _ in range(count):
        comm.Allreduce(buf, out, op=MPI.SUM)
    return (time.perf_counter() - t) / count * 1e6


pingpong(n // 10)  # warm-up
allreduce(n // 10)
result = {"pingpong": pingpong(n), "allreduce": allreduce(n)}
if rank == 0:
    print("RESULT " + json.dumps(result), flush=True)
