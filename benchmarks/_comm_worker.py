"""One mpi4py-API benchmark run inside a job; rank 0 prints one JSON line.

The same file runs on real mpi4py and on hpxpy's mpi4py shim:

    mpiexec -n 4 python benchmarks/_comm_worker.py
    python -m hpxpy.launcher -n 4 --mpi4py python benchmarks/_comm_worker.py

An optional first argument scales every iteration count (e.g. 0.1 for a quick look).
Each figure is the slowest rank's mean time per operation, in seconds.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
from mpi4py import MPI

SMALL = 1  # one float64: 8 bytes
LARGE = 8 * 1024 * 1024 // 8  # 8 MiB of float64

# name -> (timed iterations, warm-up iterations)
PLAN = {
    "pingpong 8 B": (2000, 200),
    "Barrier": (2000, 200),
    "allreduce float": (2000, 200),
    "Allreduce 8 B": (2000, 200),
    "Allreduce 8 MiB": (20, 2),
    "Bcast 8 MiB": (20, 2),
    "bcast 8 MiB": (20, 2),
}


def timed(comm, fn, iters: int, warmup: int) -> float:
    """Mean seconds per call of ``fn`` on this rank, after a warm-up and a barrier."""
    for _ in range(warmup):
        fn()
    comm.Barrier()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - t0) / iters


def pingpong(comm, iters: int, warmup: int) -> float:
    """One-way latency of an 8 B Send/Recv between ranks 0 and 1 (half the round trip)."""
    rank = comm.Get_rank()
    buf = np.zeros(SMALL)
    if rank > 1:
        comm.Barrier()  # idle ranks: just the barrier that starts the timed loop
        comm.Barrier()  # and the one after it
        return 0.0

    def ping():  # rank 0
        comm.Send(buf, dest=1, tag=7)
        comm.Recv(buf, source=1, tag=7)

    def pong():  # rank 1
        comm.Recv(buf, source=0, tag=7)
        comm.Send(buf, dest=0, tag=7)

    t = timed(comm, ping if rank == 0 else pong, iters, warmup) / 2
    comm.Barrier()
    return t


def main() -> None:
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    if comm.Get_size() < 2:
        raise SystemExit("_comm_worker.py needs at least 2 ranks")

    small, large = np.ones(SMALL), np.ones(LARGE)
    out_s, out_l = np.empty_like(small), np.empty_like(large)
    bcast_buf = np.ones(LARGE) if rank == 0 else np.empty(LARGE)
    obj = np.ones(LARGE) if rank == 0 else None

    def bcast_obj():
        got = comm.bcast(obj, root=0)
        assert got.nbytes == LARGE * 8

    ops = {
        "Barrier": comm.Barrier,
        "allreduce float": (lambda: comm.allreduce(1.5)),
        "Allreduce 8 B": (lambda: comm.Allreduce(small, out_s, op=MPI.SUM)),
        "Allreduce 8 MiB": (lambda: comm.Allreduce(large, out_l, op=MPI.SUM)),
        "Bcast 8 MiB": (lambda: comm.Bcast(bcast_buf, root=0)),
        "bcast 8 MiB": bcast_obj,
    }

    results = {}
    for name, (iters, warmup) in PLAN.items():
        iters, warmup = max(1, round(iters * scale)), max(1, round(warmup * scale))
        if name == "pingpong 8 B":
            t = pingpong(comm, iters, warmup)
        else:
            t = timed(comm, ops[name], iters, warmup)
        results[name] = comm.allreduce(t, op=MPI.MAX)

    # sanity: the reductions and broadcasts computed what they should
    size = comm.Get_size()
    assert out_s[0] == size and out_l[-1] == size and bcast_buf[-1] == 1.0
    if rank == 0:
        print(json.dumps(results), flush=True)
    comm.Barrier()


if __name__ == "__main__":
    main()
