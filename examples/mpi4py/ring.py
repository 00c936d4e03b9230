"""Pass data around a ring of ranks: rank r sends to r + 1 and receives from r - 1.

Shows: blocking point-to-point messages of Python objects (``comm.send`` / ``comm.recv``) and
of numpy buffers (``comm.Sendrecv``, which sends and receives in one call and so cannot
deadlock the way a ring of plain blocking sends might).

Run it with real MPI or on hpxpy::

    mpiexec -n 4 python examples/mpi4py/ring.py
    hpxrun -n 4 --mpi4py python examples/mpi4py/ring.py

Rank 0 prints the token after one trip around the ring (the sum of all ranks) and the sums
accumulated by shifting each rank's numpy array all the way round the ring.
"""

import numpy as np
from mpi4py import MPI


def main() -> None:
    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    size = comm.Get_size()
    right = (rank + 1) % size
    left = (rank - 1) % size

    # 1. A Python object goes once around the ring; every rank adds its rank to it.
    if size == 1:
        token = {"value": 0, "visited": [0]}
    elif rank == 0:
        comm.send({"value": 0, "visited": [0]}, dest=right, tag=7)
        token = comm.recv(source=left, tag=7)
    else:
        token = comm.recv(source=left, tag=7)
        token["value"] += rank
        token["visited"].append(rank)
        comm.send(token, dest=right, tag=7)

    # 2. Each rank's array is shifted size times round the ring; everyone adds up what passes.
    mine = np.array([rank, rank * rank, 10 ** rank], dtype=np.int64)
    passing = mine.copy()
    incoming = np.empty_like(passing)
    accumulated = np.zeros_like(mine)
    for _ in range(size):
        comm.Sendrecv(passing, dest=right, sendtag=11, recvbuf=incoming, source=left, recvtag=11)
        passing, incoming = incoming, passing
        accumulated += passing
    assert np.array_equal(passing, mine)  # back home after a full trip

    if rank == 0:
        print(f"ranks: {size}")
        print(f"token value: {token['value']}")
        print(f"token path: {token['visited']}")
        print(f"Sendrecv sums [rank, rank^2, 10^rank]: {accumulated.tolist()}")


if __name__ == "__main__":
    main()
