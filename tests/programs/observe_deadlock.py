"""Both ranks receive first: a deadlock, for stall reports (tests/test_observe.py).

argv[1]: "obj" (comm.recv, objects) or "buf" (comm.Recv into a numpy array, the C++ fast
path) or "python" (rank 0 spins in pure Python, rank 1 in comm.recv) or "coll" (rank 0 in
COMM_WORLD's Barrier, rank 1 in a receive from ANY_SOURCE on a duplicate named "halo")
or "flow" (rank 0 sends 1 MiB messages that rank 1, asleep, never receives: flow control
blocks the sender).
"""

import sys
import time

import numpy as np

from hpxpy.comm import MPI


def wait_for_peer(comm, mode):
    other = 1 - comm.rank
    if mode == "obj":
        return comm.recv(source=other, tag=7)  # DEADLOCK-OBJ
    if mode == "buf":
        buf = np.empty(1000, dtype=np.float64)
        comm.Recv(buf, source=other, tag=7)  # DEADLOCK-BUF
        return buf
    if mode == "flow":
        if comm.rank == 0:
            block = np.zeros(1 << 17)  # 1 MiB
            while True:
                comm.Send(block, dest=1, tag=9)  # DEADLOCK-FLOW
        while True:
            time.sleep(0.05)
    if mode == "coll":
        halo = comm.Dup()
        halo.Set_name("halo")
        if comm.rank == 0:
            comm.Barrier()  # DEADLOCK-BARRIER
        else:
            halo.Recv(np.empty(4), source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG)  # DEADLOCK-ANY
        return None
    if comm.rank == 0:
        while True:
            time.sleep(0.01)  # DEADLOCK-PY
    return comm.recv(source=other, tag=7)  # DEADLOCK-OBJ


def main():
    comm = MPI.COMM_WORLD
    mode = sys.argv[1] if len(sys.argv) > 1 else "obj"
    print(f"rank {comm.rank} waiting", flush=True)
    wait_for_peer(comm, mode)
    comm.send(None, dest=1 - comm.rank, tag=7)


if __name__ == "__main__":
    main()
