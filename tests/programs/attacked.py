"""Locality 0 publishes its parcelport port and waits until the test has attacked it
(garbage, a wrong secret, a silent connection); then the job must still compute right."""

import json
import os
import sys
import time

import numpy as np

import hpxpy as hpx
from hpxpy import _runtime

hpx.init()
me, n = hpx.locality_id(), hpx.num_localities()
port_file, go_file = sys.argv[1], sys.argv[2]
if me == 0:
    with open(port_file + ".tmp", "w") as f:
        json.dump({"port": _runtime.listen_address()[1]}, f)
    os.rename(port_file + ".tmp", port_file)
    deadline = time.time() + 60
    while not os.path.exists(go_file) and time.time() < deadline:
        time.sleep(0.05)
hpx.barrier()
total = hpx.all_reduce(np.array([me + 1.0]))
gathered = hpx.gather(np.array([me]), root=0)
print("RESULT " + json.dumps({"id": me, "total": total.tolist(),
                              "gathered": None if gathered is None else
                              [g.tolist() for g in gathered]}), flush=True)
hpx.finalize()
