"""One distributed-sum benchmark run inside a job; rank 0 prints JSON.

    python benchmarks/_darray_worker.py numpy N               # one process, no runtime
    hpxrun -n 4 python benchmarks/_darray_worker.py hpxpy N
    mpiexec -n 4 python benchmarks/_darray_worker.py mpi4py N

Data: element g of the global array is (g % 1000) * 0.001 (float64). Each rank generates
its own block-layout part in place, so the sum timings measure only the sum:
  numpy:  arr.sum() over the whole array in one process;
  hpxpy:  DistributedArrayF64.sum() (C++ local sum + one all_reduce);
  mpi4py: numpy sum of the rank's block + comm.Allreduce of one float64.
The "scatter" figure is separate: rank 0 holds the whole array and sends each rank its
block (hpxpy: distributed_from_numpy(root=0); mpi4py: Scatterv into a preallocated block).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

CHUNK = 10**7
REPS = 10


def generate(out: np.ndarray, start: int) -> None:
    """out[i] = ((start + i) % 1000) * 0.001, in chunks (no array-sized temporaries)."""
    for lo in range(0, out.size, CHUNK):
        hi = min(lo + CHUNK, out.size)
        idx = np.arange(start + lo, start + hi, dtype=np.int64)
        np.multiply(idx % 1000, 0.001, out=out[lo:hi])


def block(n: int, p: int, r: int) -> tuple:
    q, rem = divmod(n, p)
    start = r * q + min(r, rem)
    return start, q + (1 if r < rem else 0)


def expected(n: int) -> float:
    full, rest = divmod(n, 1000)
    return full * 499.5 + sum(i * 0.001 for i in range(rest))


def main() -> None:
    backend, n = sys.argv[1], int(sys.argv[2])
    if backend == "numpy":
        arr = np.empty(n)
        generate(arr, 0)
        arr.sum()
        t0 = time.perf_counter()
        for _ in range(REPS):
            total = arr.sum()
        t = (time.perf_counter() - t0) / REPS
        print(json.dumps({"sum": t, "total": float(total), "expected": expected(n)}))
        return

    if backend == "mpi4py":
        from mpi4py import MPI

        comm = MPI.COMM_WORLD
        rank, size = comm.Get_rank(), comm.Get_size()
        start, count = block(n, size, rank)
        local = np.empty(count)
        generate(local, start)
        buf, out = np.empty(1), np.empty(1)

        def dsum() -> float:
            buf[0] = local.sum()
            comm.Allreduce(buf, out)
            return float(out[0])

        def scatter() -> None:
            full = None
            if rank == 0:
                full = np.empty(n)
                generate(full, 0)
            counts = [block(n, size, r)[1] for r in range(size)]
            displs = [block(n, size, r)[0] for r in range(size)]
            mine = np.empty(count)
            comm.Barrier()
            t0 = time.perf_counter()
            comm.Scatterv([full, counts, displs, MPI.DOUBLE] if rank == 0 else None, mine, 0)
            comm.Barrier()
            return time.perf_counter() - t0

        def worst(x: float) -> float:
            return comm.allreduce(x, op=MPI.MAX)

        sync = comm.Barrier
    else:
        import hpxpy as hpx

        hpx.init()
        rank = hpx.locality_id()
        arr = hpx.distributed_zeros(n)
        generate(arr.local, arr.get_distribution_info().local_range.start)

        def dsum() -> float:
            return float(arr.sum())

        def scatter() -> None:
            full = None
            if rank == 0:
                full = np.empty(n)
                generate(full, 0)
            hpx.barrier()
            t0 = time.perf_counter()
            hpx.distributed_from_numpy(full, root=0)
            hpx.barrier()
            return time.perf_counter() - t0

        def worst(x: float) -> float:
            return float(hpx.all_reduce(np.array([x]), op="max")[0])

        sync = hpx.barrier

    total = dsum()  # warm-up
    sync()
    t0 = time.perf_counter()
    for _ in range(REPS):
        total = dsum()
    t_sum = worst((time.perf_counter() - t0) / REPS)
    t_scatter = worst(min(scatter(), scatter()))
    if rank == 0:
        print(json.dumps({"sum": t_sum, "scatter": t_scatter, "total": total,
                          "expected": expected(n)}))


if __name__ == "__main__":
    main()
