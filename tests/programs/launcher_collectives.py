"""An unmodified mpi4py program for tests/test_launchers.py: started by mpiexec or srun
(no hpxrun), it prints what each rank sees after a few collectives and point-to-point."""

import json
import os

from mpi4py import MPI

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
total = comm.allreduce(rank, op=MPI.SUM)
word = comm.bcast("hello" if rank == 0 else None, root=0)
ring = comm.sendrecv(rank, dest=(rank + 1) % size, source=(rank - 1) % size)
print(json.dumps({
    "rank": rank, "size": size, "sum": total, "bcast": word, "ring": ring,
    "module": MPI.__name__,
    # the secret came through the launcher's store, never through the environment
    "secret_in_env": "HPXPY_JOB_SECRET" in os.environ,
}), flush=True)
