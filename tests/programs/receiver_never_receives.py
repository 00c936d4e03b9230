"""Locality 0 sends 1 GiB in 64 KiB messages to locality 1, which never receives. The
receiver's memory must stay bounded (flow control) and the sender block; after a few
seconds the receiver reports its resident memory and leaves, which ends the sender's wait."""

import json
import os
import sys
import time

import numpy as np

from hpxpy.comm import MPI

comm = MPI.COMM_WORLD
me = comm.Get_rank()
comm.Barrier()
if me == 1:
    time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 4.0)
    with open("/proc/self/status") as f:
        rss_kib = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    print("RSS " + json.dumps({"kib": rss_kib}), flush=True)
    os._exit(0)
message = np.zeros(64 << 10, dtype=np.uint8)
sent = 0
try:
    for _ in range((1 << 30) // message.nbytes):
        comm.Send(message, dest=1, tag=7)
        sent += message.nbytes
    outcome = "all sent"
except Exception as exc:  # noqa: BLE001 - the receiver left while we were blocked
    outcome = type(exc).__name__
print("SENT " + json.dumps({"bytes": sent, "outcome": outcome}), flush=True)
os._exit(0)
