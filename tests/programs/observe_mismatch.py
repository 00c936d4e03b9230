"""Ranks of COMM_WORLD call different collectives at the same point (tests/test_observe.py):
every rank must raise hpxpy's CollectiveMismatchError naming both calls, in the call or,
when every mismatched call only sent, at finalize.

argv[1]: "bcast_gather" (rank 0 bcast root 0, the others gather to root 0),
"allreduce_barrier" (rank 0 the objects' allreduce, the others Barrier), "roots" (every
rank bcast with itself as root), "Allreduce_barrier" (rank 0 a buffer Allreduce, the others
barrier), "gather_bcast" (rank 0 gather to root 0, the others bcast from root 0: nobody
sends anything), "Gather_allreduce" (rank 0 a buffer Gather, the others the objects'
allreduce). argv[2] (optional) "uncaught": leave the error to the runtime (exit status 1).
Each rank prints "rank R raised[ at finalize]: <message>" for the error it caught.
"""

import sys

import numpy as np

import hpxpy
from hpxpy.comm import MPI


def mismatched(comm, mode):
    rank = comm.rank
    if mode == "bcast_gather":
        if rank == 0:
            comm.bcast("x", root=0)  # MISMATCH-BCAST
        else:
            comm.gather("y", root=0)  # MISMATCH-GATHER
    elif mode == "allreduce_barrier":
        if rank == 0:
            comm.allreduce(1)  # MISMATCH-ALLREDUCE
        else:
            comm.Barrier()  # MISMATCH-BARRIER
    elif mode == "Allreduce_barrier":
        if rank == 0:
            comm.Allreduce(np.ones(1), np.empty(1))  # MISMATCH-BUFALLREDUCE
        else:
            comm.barrier()  # MISMATCH-OBJBARRIER
    elif mode == "gather_bcast":  # nobody sends anything: found by the calls' notes
        if rank == 0:
            comm.gather("x", root=0)  # MISMATCH-GATHER0
        else:
            comm.bcast("y", root=0)  # MISMATCH-BCAST0
    elif mode == "Gather_allreduce":  # a raw-block call (no header) against a meeting
        if rank == 0:
            comm.Gather(np.ones(1), np.empty(comm.size), root=0)  # MISMATCH-RAWGATHER
        else:
            comm.allreduce(1)  # MISMATCH-OBJALLREDUCE
    elif mode == "roots":
        comm.bcast(rank, root=rank)  # MISMATCH-ROOTS
    else:
        raise SystemExit(f"unknown mode {mode}")


def main():
    comm = MPI.COMM_WORLD
    mode = sys.argv[1]
    uncaught = len(sys.argv) > 2 and sys.argv[2] == "uncaught"
    if uncaught:
        mismatched(comm, mode)
        return
    try:
        mismatched(comm, mode)
        print(f"rank {comm.rank} returned", flush=True)
    except hpxpy.CollectiveMismatchError as exc:
        print(f"rank {comm.rank} raised: {exc}", flush=True)
        return
    try:
        MPI.Finalize()
    except hpxpy.CollectiveMismatchError as exc:
        print(f"rank {comm.rank} raised at finalize: {exc}", flush=True)


if __name__ == "__main__":
    main()
