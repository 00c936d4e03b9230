"""Locality 0 sleeps; the others block in a barrier waiting for it. Used to check that
SIGINT reaches every locality and interrupts a blocked collective."""

import json
import os
import time

import hpxpy as hpx

hpx.init()
print("PID " + json.dumps({"id": hpx.locality_id(), "pid": os.getpid()}), flush=True)
if hpx.locality_id() == 0:
    time.sleep(120)
hpx.barrier()
