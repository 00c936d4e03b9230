"""One benchmark run inside a job, for either backend; locality/rank 0 prints JSON.

    hpxrun -n 4 python benchmarks/_worker.py hpxpy
    mpiexec -n 4 python benchmarks/_worker.py mpi4py
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

SMALL = 1  # one float64: 8 bytes
LARGE = 8 * 1024 * 1024 // 8  # 8 MiB of float64


def rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4


def timed(fn, iters: int, warmup: int, sync) -> float:
    for _ in range(warmup):
        fn()
    sync()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - t0) / iters


def main() -> None:
    backend = sys.argv[1]
    soak = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    small, large = np.ones(SMALL), np.ones(LARGE)
    if backend == "mpi4py":
        from mpi4py import MPI

        comm = MPI.COMM_WORLD
        rank = comm.Get_rank()
        out_s, out_l = np.empty_like(small), np.empty_like(large)
        ops = {
            "all_reduce 8 B": (lambda: comm.Allreduce(small, out_s)),
            "all_reduce 8 MiB": (lambda: comm.Allreduce(large, out_l)),
            "broadcast 8 MiB": (lambda: comm.Bcast(large, root=0)),
            "barrier": comm.Barrier,
        }
        sync = comm.Barrier

        def worst(x: float) -> float:
            return comm.allreduce(x, op=MPI.MAX)

        def collect(x):
            return comm.gather(x, root=0)
    else:
        import hpxpy as hpx

        hpx.init()
        rank = hpx.locality_id()
        ops = {
            "all_reduce 8 B": (lambda: hpx.all_reduce(small)),
            "all_reduce 8 MiB": (lambda: hpx.all_reduce(large)),
            "broadcast 8 MiB": (lambda: hpx.broadcast(large, root=0)),
            "barrier": hpx.barrier,
        }
        sync = hpx.barrier

        def worst(x: float) -> float:
            return float(hpx.all_reduce(np.array([x]), op="max")[0])

        def collect(x):
            return hpx.gather(np.array(x), root=0)

    if soak:
        fn = ops["all_reduce 8 B"]
        timed(fn, 1000, 100, sync)
        before = rss_kib()
        t = timed(fn, soak, 0, sync)
        after = rss_kib()
        rows = collect([before, after])
        if rank == 0:
            print(json.dumps({"soak": [list(map(int, r)) for r in rows], "per_op_s": t}))
    else:
        plan = {"all_reduce 8 B": (3000, 300), "all_reduce 8 MiB": (30, 3),
                "broadcast 8 MiB": (30, 3), "barrier": (3000, 300)}
        results = {}
        for name, fn in ops.items():
            iters, warmup = plan[name]
            results[name] = worst(timed(fn, iters, warmup, sync))
        if rank == 0:
            print(json.dumps(results))
    sync()
    if backend != "mpi4py":
        hpx.finalize()


if __name__ == "__main__":
    main()
