from mpi4py import MPI

import json

# Object broadcast from every root in turn (not only 0): nested containers, None, tuples,
# bytes, big integers and an empty object.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()

got = []
for root in range(size):
    obj = None
    if rank == root:
        obj = {"root": root, "nested": [root, (root, "x"), None, {"k": [1.5, -2]}],
               "big": 2 ** 70 + root, "bytes": b"\x00\xff".hex(), "empty": []}
    obj = comm.bcast(obj, root=root)
    got.append(obj)
none = comm.bcast(None, root=size - 1)
tup = comm.bcast((1, (2, 3)) if rank == 0 else None)
print(json.dumps({"rank": rank, "got": got, "none": none, "tuple_type": type(tup).__name__,
                  "big_ok": [g["big"] == 2 ** 70 + g["root"] for g in got]},
                 default=str), flush=True)
