from mpi4py import MPI

import json

import numpy as np

# A receive buffer too small for the message: ERR_TRUNCATE at the receiver (blocking and
# non-blocking receive); the sender is unaffected. (A too-short Bcast buffer is left out:
# MPICH itself hangs on it at N=4.)
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


data = np.arange(10.0)
reqs = [comm.Isend(data, dest=d, tag=3) for d in range(size)] if rank == 0 else []
out = {"Recv": outcome(lambda: comm.Recv(np.zeros(4), source=0, tag=3))}
MPI.Request.Waitall(reqs)
comm.Barrier()
reqs = [comm.Isend(data, dest=d, tag=4) for d in range(size)] if rank == 0 else []
out["Irecv"] = outcome(lambda: comm.Irecv(np.zeros(5), source=0, tag=4).Wait())
MPI.Request.Waitall(reqs)
comm.Barrier()
out["after"] = comm.allreduce(1)
print(json.dumps({"rank": rank, **out}), flush=True)
