"""The last locality stops itself (SIGSTOP: alive, but silent) while the others are inside
collectives (MODE=allreduce) or wait for a message from it (MODE=recv); the survivors must
raise LocalityError naming it, found by heartbeats (nothing else would notice)."""

import json
import os
import signal
import sys
import time

from hpxpy import LocalityError
from hpxpy.comm import MPI

comm = MPI.COMM_WORLD
me, n = comm.Get_rank(), comm.Get_size()
victim = n - 1
mode = os.environ.get("MODE", "allreduce")
print("PID " + json.dumps({"id": me, "pid": os.getpid()}), flush=True)
comm.Barrier()
try:
    if me == victim:
        time.sleep(0.3)
        print("STOP " + json.dumps({"t": time.time()}), flush=True)
        os.kill(os.getpid(), signal.SIGSTOP)
        time.sleep(60)  # not reached before the launcher kills us
    elif mode == "recv":
        comm.recv(source=victim)
    else:
        while True:
            comm.allreduce(me)
except LocalityError as exc:
    print("LOST " + json.dumps({"id": me, "msg": str(exc), "t": time.time()}), flush=True)
    sys.exit(3)
