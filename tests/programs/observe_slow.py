"""A job that waits a while, then finishes normally (SIGQUIT reports, tests/test_observe.py).

Rank 0 sleeps (in pure Python) until the file named by argv[1] exists, then sends to
rank 1, which waits in comm.Recv (the C++ fast path) meanwhile.
"""

import os
import sys
import time

import numpy as np

from hpxpy.comm import MPI

comm = MPI.COMM_WORLD
flag = sys.argv[1]
buf = np.zeros(16)
print(f"rank {comm.rank} ready pid {os.getpid()}", flush=True)
if comm.rank == 0:
    deadline = time.monotonic() + 30
    while not os.path.exists(flag) and time.monotonic() < deadline:
        time.sleep(0.05)  # WAIT-FLAG
    comm.Send(np.ones(16), dest=1, tag=3)
else:
    comm.Recv(buf, source=0, tag=3)  # WAIT-RECV
print(f"rank {comm.rank} done {buf.sum()}", flush=True)
