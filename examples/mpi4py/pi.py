"""Compute pi by midpoint integration of 4 / (1 + x^2) over [0, 1].

Shows: splitting a loop by rank, the pickle-based ``comm.reduce`` (lower case, result on the
root only) and the buffer-based ``comm.Allreduce`` on numpy arrays (result on every rank).

Run it with real MPI or on hpxpy::

    mpiexec -n 4 python examples/mpi4py/pi.py
    hpxrun -n 4 --mpi4py python examples/mpi4py/pi.py

Rank 0 prints the estimate rounded to 10 decimals: the partial sums are combined in an order
that depends on the number of ranks and on the MPI implementation, which only changes the last
bits of the result.
"""

import numpy as np
from mpi4py import MPI

INTERVALS = 1_000_000


def main() -> None:
    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    size = comm.Get_size()

    # Rank r takes the intervals r, r + size, r + 2 * size, ...
    h = 1.0 / INTERVALS
    mine = np.arange(rank, INTERVALS, size, dtype=np.float64)
    x = (mine + 0.5) * h
    partial = float(np.sum(4.0 / (1.0 + x * x))) * h

    # Lower case: any picklable Python object, result only on the root.
    pi_reduce = comm.reduce(partial, op=MPI.SUM, root=0)

    # Upper case: numpy buffers, result on every rank.
    local = np.array([partial], dtype=np.float64)
    total = np.zeros(1, dtype=np.float64)
    comm.Allreduce(local, total, op=MPI.SUM)

    counts = np.array([mine.size], dtype=np.int64)
    counted = np.zeros(1, dtype=np.int64)
    comm.Allreduce(counts, counted, op=MPI.SUM)
    assert counted[0] == INTERVALS  # every rank can check this

    if rank == 0:
        print(f"ranks: {size}")
        print(f"intervals: {int(counted[0])}")
        print(f"pi (reduce):    {pi_reduce:.10f}")
        print(f"pi (Allreduce): {total[0]:.10f}")


if __name__ == "__main__":
    main()
