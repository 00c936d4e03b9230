from mpi4py import MPI

import json
import threading

# Objects pickle refuses, in every object collective and in send: each call raises pickle's
# own exception (PicklingError for a lambda, AttributeError for a local object, TypeError
# for a lock), and the communicator works afterwards. Rooted calls where only the root
# pickles (bcast, scatter) are tried at N=1: under MPI the other ranks would wait forever.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()


def local_function():
    return lambda x: x


UNPICKLABLE = {"lambda": lambda x: x, "local": local_function(), "lock": threading.Lock()}


def outcome(fn):
    try:
        fn()
        return "returned"
    except Exception as exc:   # noqa: BLE001 - the type is the result
        return type(exc).__name__


def calls_with(obj):
    calls = {
        "allgather": lambda: comm.allgather(obj),
        "gather": lambda: comm.gather(obj, root=0),
        "alltoall": lambda: comm.alltoall([obj] * size),
        "allreduce": lambda: comm.allreduce(obj, op=MPI.SUM),
        "send": lambda: comm.send(obj, dest=(rank + 1) % size),
    }
    if size == 1:
        calls["bcast"] = lambda: comm.bcast(obj, root=0)
        calls["scatter"] = lambda: comm.scatter([obj], root=0)
    return calls


out = {name: {call: outcome(fn) for call, fn in calls_with(obj).items()}
       for name, obj in UNPICKLABLE.items()}
out["after"] = comm.allgather(rank)
print(json.dumps({"rank": rank, **out}), flush=True)
