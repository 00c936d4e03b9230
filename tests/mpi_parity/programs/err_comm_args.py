from mpi4py import MPI

import json

# Using a freed communicator (ERR_COMM) and freeing COMM_WORLD (ERR_COMM), on every rank.
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


dup = comm.Dup()
dup.Free()
out = {
    "freed_Get_rank": outcome(lambda: dup.Get_rank()),
    "freed_Barrier": outcome(lambda: dup.Barrier()),
    "free_world": outcome(lambda: comm.Free()),
}
out["after"] = comm.allreduce(1)
print(json.dumps({"rank": rank, **out}), flush=True)
