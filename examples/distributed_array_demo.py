"""1-D heat equation on a distributed array, with halo exchange through ``arr.local``.

    hpxrun -n 4 python examples/distributed_array_demo.py [points] [steps]

u_t = u_xx on [0, 1], u = 0 at both ends, u(x, 0) = sin(pi x); the exact solution is
exp(-pi^2 t) sin(pi x). The grid is one block-distributed array: each locality updates its
own points with numpy (explicit finite differences), after swapping one boundary value
with each neighbour (``comm.Sendrecv`` on views of ``u.local``). The error against the
exact solution and the total heat are distributed reductions: no locality ever holds the
whole grid.
"""

from __future__ import annotations

import sys

import numpy as np

import hpxpy as hpx


def main() -> None:
    points = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    with hpx.runtime():
        from hpxpy.comm import MPI

        comm = MPI.COMM_WORLD
        rank, size = comm.Get_rank(), comm.Get_size()
        if points < 2 * size:
            raise SystemExit(f"need at least {2 * size} points for {size} localities")
        dx = 1.0 / (points - 1)
        dt = 0.4 * dx * dx  # explicit scheme: stable for dt <= dx^2 / 2

        u = hpx.distributed_zeros(points, comm=comm)
        x = u.global_indices() * dx  # this locality's grid points
        u.local[:] = np.sin(np.pi * x)
        interior = (x > 0) & (x < 1)  # the two end points stay at 0

        left = rank - 1 if rank > 0 else MPI.PROC_NULL
        right = rank + 1 if rank < size - 1 else MPI.PROC_NULL
        ext = np.zeros(len(u.local) + 2)  # local points with one ghost on each side
        for _ in range(steps):
            # Halo exchange: our last point to the right neighbour, its first back to us.
            comm.Sendrecv(u.local[-1:], dest=right, sendtag=0,
                          recvbuf=ext[:1], source=left, recvtag=0)
            comm.Sendrecv(u.local[:1], dest=left, sendtag=1,
                          recvbuf=ext[-1:], source=right, recvtag=1)
            ext[1:-1] = u.local
            lap = ext[:-2] - 2.0 * ext[1:-1] + ext[2:]
            u.local[interior] += (dt / (dx * dx)) * lap[interior]

        t = steps * dt
        exact = hpx.distributed_zeros(points, comm=comm)
        exact.local[:] = np.exp(-np.pi**2 * t) * np.sin(np.pi * x)
        error = abs(u - exact).max()  # element-wise on each locality, then one all_reduce
        heat = u.sum() * dx
        if rank == 0:
            print(f"heat equation: {points} points on {size} localities "
                  f"({u.get_distribution_info().partition_sizes} points each), "
                  f"{steps} steps to t = {t:.4f}")
            print(f"max |u - exact| = {error:.2e}; total heat {heat:.6f} "
                  f"(exact {2 / np.pi * np.exp(-np.pi**2 * t):.6f})")


if __name__ == "__main__":
    main()
