from mpi4py import MPI

import json

import numpy as np

# Predefined ops apply to predefined datatypes only: MPICH and Open MPI raise ERR_OP on every
# rank for SUM/MAX over a derived type (even a Dup or a contiguous of one DOUBLE), in every
# reduction. A user-defined op takes the same derived types.
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


def add(invec, inoutvec, datatype):
    """A user-defined sum over any buffer of doubles."""
    out = np.frombuffer(inoutvec, dtype="d")
    out += np.frombuffer(invec, dtype="d")


user_sum = MPI.Op.Create(add, commute=True)
types = {
    "dup": (MPI.DOUBLE.Dup().Commit(), 4),
    "contiguous1": (MPI.DOUBLE.Create_contiguous(1).Commit(), 4),
    "contiguous2": (MPI.DOUBLE.Create_contiguous(2).Commit(), 2),
    "resized": (MPI.DOUBLE.Create_resized(0, 8).Commit(), 4),
}


def reductions(t, count):
    """Every buffer reduction over ``count`` elements of ``t``, with a predefined op."""
    a, b = np.full(4, rank + 1.0), np.zeros(4)
    return {
        "Allreduce": lambda: comm.Allreduce([a, count, t], [b, count, t], op=MPI.SUM),
        "Reduce": lambda: comm.Reduce([a, count, t], [b, count, t], op=MPI.MAX, root=0),
        "Scan": lambda: comm.Scan([a, count, t], [b, count, t], op=MPI.SUM),
        "Reduce_scatter_block": lambda: comm.Reduce_scatter_block(
            [np.full(4 * size, 1.0), count * size, t], [b, count, t], op=MPI.SUM),
    }


out = {}
for name, (t, count) in types.items():
    out[name] = {call: outcome(fn) for call, fn in reductions(t, count).items()}
    a, b = np.full(4, rank + 1.0), np.zeros(4)
    comm.Allreduce([a, count, t], [b, count, t], op=user_sum)
    out[name]["user op"] = b.tolist()
    t.Free()
user_sum.Free()
out["after"] = comm.allreduce(1)
print(json.dumps({"rank": rank, **out}), flush=True)
