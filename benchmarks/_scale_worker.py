"""One mpi4py program for benchmarks/scale.py, run under mpiexec and under hpxrun --mpi4py.

    python _scale_worker.py startup          # Barrier, exit (the launcher's wall time counts)
    python _scale_worker.py allreduce SECS   # Allreduce of 8 B for about SECS seconds

``allreduce`` prints one line ``ALLREDUCE {"us": ..., "calls": ...}`` from rank 0: the
slowest rank's mean time per call. The number of calls is agreed at the start (rank 0
times a few calls and broadcasts how many fit in SECS), so a slow implementation is
measured over fewer calls instead of running for minutes.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
from mpi4py import MPI


def allreduce(seconds: float) -> None:
    comm = MPI.COMM_WORLD
    one = np.ones(1, dtype="f8")
    out = np.empty(1, dtype="f8")
    for _ in range(3):  # warm-up: connections, meeting slots, caches
        comm.Allreduce(one, out, op=MPI.SUM)
    comm.Barrier()
    start = time.perf_counter()
    for _ in range(5):
        comm.Allreduce(one, out, op=MPI.SUM)
    probe = (time.perf_counter() - start) / 5
    calls = comm.bcast(max(5, min(20000, int(seconds / max(probe, 1e-7)))), root=0)
    comm.Barrier()
    start = time.perf_counter()
    for _ in range(calls):
        comm.Allreduce(one, out, op=MPI.SUM)
    mine = (time.perf_counter() - start) / calls
    assert out[0] == comm.Get_size(), out
    slowest = comm.reduce(mine, op=MPI.MAX, root=0)
    if comm.Get_rank() == 0:
        print("ALLREDUCE " + json.dumps({"us": slowest * 1e6, "calls": calls}), flush=True)


def main() -> None:
    mode = sys.argv[1]
    if mode == "startup":
        MPI.COMM_WORLD.Barrier()
    elif mode == "allreduce":
        allreduce(float(sys.argv[2]))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
