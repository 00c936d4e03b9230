"""The last locality SIGKILLs itself while everyone is inside all_reduce; the survivors
must raise hpx.LocalityError naming it (for the pending and for a later operation)."""

import json
import os
import signal
import sys
import threading
import time

import numpy as np

import hpxpy as hpx

hpx.init()
me, n = hpx.locality_id(), hpx.num_localities()
victim = n - 1
print("PID " + json.dumps({"id": me, "pid": os.getpid()}), flush=True)
hpx.barrier()
if me == victim:
    threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGKILL)).start()
data = np.ones(1 << 17)
try:
    while True:
        hpx.all_reduce(data)
except hpx.LocalityError as exc:
    t_raise = time.time()
    try:
        hpx.all_reduce(data)  # a later operation fails too, at once
        later = None
    except hpx.LocalityError as exc2:
        later = exc2.locality
    print("LOST " + json.dumps({"id": me, "locality": exc.locality, "msg": str(exc),
                                "later": later, "t": t_raise}), flush=True)
    sys.exit(3)
