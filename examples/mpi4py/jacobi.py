"""Solve -u'' = pi^2 sin(pi x) on [0, 1], u(0) = 0, u(1) = 1, by Jacobi iteration on a grid
split into one piece per rank.

Shows: halo exchange with ``comm.Sendrecv`` on numpy array slices, using ``MPI.PROC_NULL`` as
the neighbour past either end of the domain (a send to it or a receive from it does nothing,
so the end ranks need no special case), a global ``comm.allreduce`` of the residual norm and
``comm.Gather`` of the equal-sized pieces onto rank 0.

Run it with real MPI or on hpxpy (the number of ranks must divide POINTS)::

    mpiexec -n 4 python examples/mpi4py/jacobi.py
    hpxrun -n 4 --mpi4py python examples/mpi4py/jacobi.py

Each point is updated from its two neighbours only, so the solution is bit-for-bit the same for
any number of ranks. The residual norm is a sum over ranks and is printed to 10 significant
digits; the checksum is computed on rank 0 from the gathered array.
"""

import sys

import numpy as np
from mpi4py import MPI

POINTS = 48  # interior grid points; divisible by 1, 2, 3, 4, 6, 8, ...
ITERATIONS = 6000
LEFT_VALUE, RIGHT_VALUE = 0.0, 1.0


def main() -> None:
    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    size = comm.Get_size()
    if POINTS % size:
        if rank == 0:
            print(f"jacobi.py: {size} ranks do not divide {POINTS} points", file=sys.stderr)
        sys.exit(1)

    n = POINTS // size
    h = 1.0 / (POINTS + 1)
    first = rank * n  # global index of my first point
    x = (np.arange(first, first + n) + 1) * h
    f = np.pi ** 2 * np.sin(np.pi * x)

    # u[0] and u[-1] are ghost cells: a neighbour's edge value, or the boundary condition.
    u = np.zeros(n + 2)
    if rank == 0:
        u[0] = LEFT_VALUE
    if rank == size - 1:
        u[-1] = RIGHT_VALUE
    left = rank - 1 if rank > 0 else MPI.PROC_NULL
    right = rank + 1 if rank < size - 1 else MPI.PROC_NULL

    def exchange_halos() -> None:
        comm.Sendrecv(u[1:2], dest=left, sendtag=0, recvbuf=u[-1:], source=right, recvtag=0)
        comm.Sendrecv(u[-2:-1], dest=right, sendtag=1, recvbuf=u[0:1], source=left, recvtag=1)

    for _ in range(ITERATIONS):
        exchange_halos()
        u[1:-1] = 0.5 * (u[:-2] + u[2:] + h * h * f)

    exchange_halos()
    residual = f + (u[:-2] - 2.0 * u[1:-1] + u[2:]) / (h * h)
    norm = np.sqrt(comm.allreduce(float(np.sum(residual * residual)), op=MPI.SUM))

    whole = np.empty(POINTS) if rank == 0 else None
    comm.Gather(np.ascontiguousarray(u[1:-1]), whole, root=0)

    if rank == 0:
        print(f"ranks: {size}")
        print(f"points: {POINTS}, iterations: {ITERATIONS}")
        print(f"residual norm: {norm:.10g}")
        print(f"checksum: {np.sum(whole):.10g}")
        x_all = np.arange(1, POINTS + 1) * h
        error = np.max(np.abs(whole - (np.sin(np.pi * x_all) + x_all)))
        print(f"max error against the exact solution sin(pi x) + x: {error:.3e}")


if __name__ == "__main__":
    main()
