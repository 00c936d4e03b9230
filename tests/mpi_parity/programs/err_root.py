from mpi4py import MPI

import json

import numpy as np

# A root out of range (N and -1) in every rooted collective: each rank raises MPI.Exception
# with error class ERR_ROOT, and nothing hangs.
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


buf = np.zeros(3)


def rooted_calls(root):
    """Every rooted collective with this root."""
    return {
        "bcast": outcome(lambda: comm.bcast(1, root=root)),
        "gather": outcome(lambda: comm.gather(1, root=root)),
        "scatter": outcome(lambda: comm.scatter([1] * size, root=root)),
        "reduce": outcome(lambda: comm.reduce(1, root=root)),
        "Bcast": outcome(lambda: comm.Bcast(buf, root=root)),
        "Gather": outcome(lambda: comm.Gather(buf, np.zeros(3 * size), root=root)),
        "Scatter": outcome(lambda: comm.Scatter(np.zeros(3 * size), buf, root=root)),
        "Reduce": outcome(lambda: comm.Reduce(buf, np.zeros(3), root=root)),
    }


out = {str(root): rooted_calls(root) for root in (size, -1)}
# The communicator still works afterwards.
out["after"] = comm.allreduce(1)
print(json.dumps({"rank": rank, **out}), flush=True)
