from mpi4py import MPI

import json

import numpy as np

# An op that does not apply to the datatype (MAXLOC or BAND on float64 buffers): MPI
# raises ERR_OP on every rank.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
CLASSES = ["ERR_ROOT", "ERR_RANK", "ERR_TAG", "ERR_TRUNCATE", "ERR_COUNT", "ERR_BUFFER",
           "ERR_OP", "ERR_COMM", "ERR_TYPE", "ERR_ARG", "ERR_OTHER"]


def outcome(fn):
    """What the call did: returned, or which exception (and MPI error class) it raised."""
    try:
        fn()
        return "returned"
    except MPI.Exception as exc:
        cls = exc.Get_error_class()
        return ["MPI.Exception", next((n for n in CLASSES if getattr(MPI, n) == cls), cls)]
    except Exception as exc:   # noqa: BLE001 - the type is the result
        return [type(exc).__name__]


out = {
    "MAXLOC_double": outcome(lambda: comm.Allreduce(np.zeros(3), np.zeros(3), op=MPI.MAXLOC)),
    "BAND_double": outcome(lambda: comm.Allreduce(np.zeros(3), np.zeros(3), op=MPI.BAND)),
}
out["after"] = comm.allreduce(1)
print(json.dumps({"rank": rank, **out}), flush=True)
