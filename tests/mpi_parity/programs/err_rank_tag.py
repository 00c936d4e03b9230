from mpi4py import MPI

import json

import numpy as np

# Invalid destination/source ranks (ERR_RANK) and negative tags (ERR_TAG) in point to point,
# caught on every rank.
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


buf = np.zeros(2)
out = {
    "send_to_N": outcome(lambda: comm.send(1, dest=size)),
    "Send_to_N": outcome(lambda: comm.Send(buf, dest=size)),
    "send_to_-5": outcome(lambda: comm.send(1, dest=-5)),
    "recv_from_N": outcome(lambda: comm.recv(source=size)),
    "Recv_from_N": outcome(lambda: comm.Recv(buf, source=size)),
    "isend_to_N": outcome(lambda: comm.isend(1, dest=size)),
    "probe_N": outcome(lambda: comm.probe(source=size)),
    "send_tag_-5": outcome(lambda: comm.send(1, dest=rank, tag=-5)),
    "Send_tag_-5": outcome(lambda: comm.Send(buf, dest=rank, tag=-5)),
    "recv_tag_-5": outcome(lambda: comm.recv(source=rank, tag=-5)),
}
out["after"] = comm.allreduce(1)
print(json.dumps({"rank": rank, **out}), flush=True)
