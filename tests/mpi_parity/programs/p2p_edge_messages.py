from mpi4py import MPI

import json
import math

import numpy as np

# Zero-length messages (buffers of 0 elements, empty objects) and unusual objects: None,
# nested containers, numpy arrays inside objects, special floats, large integers, sets.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
right, left = (rank + 1) % size, (rank - 1) % size

status = MPI.Status()
empty_out = np.zeros(0, dtype=np.float64)
req = comm.Isend(empty_out, dest=right, tag=1)
empty_in = np.zeros(0, dtype=np.float64)
comm.Recv(empty_in, source=left, tag=1, status=status)
req.Wait()
zero = [status.Get_count(), status.Get_count(MPI.DOUBLE), status.Get_source()]

# A zero-length message into a non-empty buffer: allowed, the buffer stays untouched.
req = comm.Isend(empty_out, dest=right, tag=2)
big = np.full(4, 9.0)
comm.Recv(big, source=left, tag=2, status=status)
req.Wait()
into_big = [big.tolist(), status.Get_count(MPI.DOUBLE)]

objects = [None, [], {}, "", b"", (), [None, [None, {"a": (None,)}]],
           {"arr": np.arange(3, dtype=np.int16), "nested": [np.zeros((2, 2))]},
           [float("inf"), -float("inf"), float("nan"), -0.0], 10 ** 40, {1, 2, 3}]
got = []
for k, obj in enumerate(objects):
    req = comm.isend(obj, dest=right, tag=10 + k)
    got.append(comm.recv(source=left, tag=10 + k))
    req.wait()


def describe(x):
    """A JSON-able picture of x that keeps its type and value."""
    if isinstance(x, np.ndarray):
        return ["ndarray", str(x.dtype), list(x.shape), x.tolist()]
    if isinstance(x, float):
        return ["float", "nan" if math.isnan(x) else repr(x)]
    if isinstance(x, (list, tuple, set)):
        items = sorted(x) if isinstance(x, set) else x
        return [type(x).__name__, [describe(i) for i in items]]
    if isinstance(x, dict):
        return ["dict", {str(k): describe(v) for k, v in x.items()}]
    if isinstance(x, bytes):
        return ["bytes", x.hex()]
    return [type(x).__name__, x if x is None or isinstance(x, (str, bool)) else str(x)]


# Empty collectives: a zero-length Bcast/Allreduce/Allgather and bcast of None.
e = np.zeros(0, dtype=np.int32)
comm.Bcast(e, root=size - 1)
r = np.zeros(0, dtype=np.int32)
comm.Allreduce(e, r, op=MPI.SUM)
ag = np.zeros(0, dtype=np.int32)
comm.Allgather(e, ag)
none = comm.bcast(None, root=size - 1)
print(json.dumps({"rank": rank, "zero": zero, "into_big": into_big,
                  "objects": [describe(g) for g in got],
                  "empty_collectives": [e.size, r.size, ag.size, none]}), flush=True)
