"""Locality 0 ignores SIGINT and sleeps; locality 1 blocks in a barrier waiting for it.
Used to check that SIGINT reaches the localities and interrupts a blocked collective."""

import json
import os
import signal
import time

import hpxpy as hpx

hpx.init()
print("PID " + json.dumps({"id": hpx.locality_id(), "pid": os.getpid()}), flush=True)
if hpx.locality_id() == 0:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    time.sleep(120)
hpx.barrier()
