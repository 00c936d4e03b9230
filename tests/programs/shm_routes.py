"""Prints how this locality reaches every other one (self / shm / tcp)."""

import json

import hpxpy as hpx
from hpxpy import _runtime

hpx.init()
core = _runtime.core()
routes = [core.route(i) for i in range(hpx.num_localities())]
print("ROUTES " + json.dumps({"id": hpx.locality_id(), "routes": routes}), flush=True)
hpx.finalize()
