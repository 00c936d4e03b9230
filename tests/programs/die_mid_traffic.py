"""Every locality exchanges messages around a ring (argv[1]: message bytes) while the last
one SIGKILLs itself; the survivors must raise LocalityError naming it. With argv[2] ==
"meet" they only run small blocking collectives (barriers and reductions that meet in
shared memory, no message at all)."""

import json
import os
import signal
import sys
import threading
import time

import numpy as np

from hpxpy.comm import MPI

comm = MPI.COMM_WORLD
me, n = comm.Get_rank(), comm.Get_size()
size = int(sys.argv[1])
meet_only = sys.argv[2:] == ["meet"]
victim = n - 1
print("PID " + json.dumps({"id": me, "pid": os.getpid()}), flush=True)
comm.Barrier()


def die() -> None:
    print("KILL " + json.dumps({"t": time.time()}), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


if me == victim:
    threading.Timer(0.5, die).start()
out = np.full(size, me, dtype=np.uint8)
into = np.empty(size, dtype=np.uint8)
rounds = 0
try:
    while meet_only:
        comm.Barrier()
        comm.Allreduce(MPI.IN_PLACE, into[:8], op=MPI.MAX)
        comm.allreduce(rounds)
        rounds += 1
    while True:
        comm.Sendrecv(out, dest=(me + 1) % n, recvbuf=into, source=(me - 1) % n)
        comm.Allreduce(MPI.IN_PLACE, into[:8], op=MPI.MAX)
        comm.Bcast(into, root=rounds % n)  # large ones go through the root's shared window
        rounds += 1
except MPI.Exception as exc:  # LocalityError surfaces as MPI.Exception too
    print("LOST " + json.dumps({"id": me, "msg": str(exc), "t": time.time()}), flush=True)
    sys.exit(3)
except Exception as exc:  # noqa: BLE001
    print("LOST " + json.dumps({"id": me, "msg": repr(exc), "t": time.time()}), flush=True)
    sys.exit(3)
