"""Locality 1 joins the job late (hpxrun -v progress, tests/test_observe.py)."""

import os
import time

if os.environ.get("HPXPY_LOCALITY_ID") == "1":
    time.sleep(2.5)

from hpxpy.comm import MPI  # noqa: E402 - joining the job is the point

MPI.COMM_WORLD.Barrier()
print(f"rank {MPI.COMM_WORLD.rank} joined", flush=True)
