from mpi4py import MPI

import json

import numpy as np

# Buffer arguments mpi4py rejects before any message moves (ValueError on every rank): a
# send/receive count mismatch in Allreduce, and Allgather/Gather/Scatter receive buffers whose
# length is not N times the block (too short and too long).
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
    "Allreduce_count_mismatch": outcome(lambda: comm.Allreduce(np.zeros(2), np.zeros(3))),
    "Allgather_short": outcome(lambda: comm.Allgather(np.zeros(2), np.zeros(2 * size - 1)))
    if size > 1 else "not at N=1",
    "Allgather_long": outcome(lambda: comm.Allgather(np.zeros(2), np.zeros(2 * size + 1))),
}
out["after"] = comm.allreduce(1)
print(json.dumps({"rank": rank, **out}), flush=True)
