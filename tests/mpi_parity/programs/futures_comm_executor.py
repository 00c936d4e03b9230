from mpi4py import MPI
from mpi4py.futures import MPICommExecutor, collect
from mpi4py.util import pkl5

import json

import numpy as np

# MPICommExecutor: the root gets an executor whose workers are the other ranks (which rank
# runs which task depends on timing, so only the results are reported); then pkl5 object
# messages (out-of-band numpy buffers) between the ranks.


def work(x):
    return {"x": x, "square": x * x, "array": np.arange(x % 5).tolist()}


comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
out = {"rank": rank}
with MPICommExecutor(comm, root=0) as executor:
    out["executor"] = executor is not None
    if executor is not None:
        out["map"] = list(executor.map(work, range(12), chunksize=5))
        out["starmap"] = list(executor.starmap(pow, [(2, k) for k in range(8)]))
        out["collect"] = collect([executor.submit(abs, -k) for k in range(5)]).result()
        out["workers"] = executor.num_workers

p = pkl5.Intracomm(comm)
big = np.full(1 << 16, rank, dtype=np.int32)
got = p.sendrecv(big, (rank + 1) % size, 3, None, (rank - 1) % size, 3)
out["sendrecv"] = [int(got[0]), int(got.sum())]
out["bcast"] = p.bcast({"root": rank, "a": np.arange(3.0)} if rank == 0 else None)["root"]
out["allgather"] = [int(a[0]) for a in p.allgather(np.array([rank * 10]))]
print(json.dumps(out), flush=True)
