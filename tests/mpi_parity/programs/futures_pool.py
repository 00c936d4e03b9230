from mpi4py import MPI
from mpi4py.futures import MPIPoolExecutor, get_comm_workers

import json

# The default MPIPoolExecutor: every rank's executor spawns its own 2 workers (which worker
# runs which task depends on timing, so only results are reported), tasks come back in
# order, a worker's exception comes back with its remote traceback, and the workers see
# each other through get_comm_workers(); after shutdown the executor has no workers.


def square(x):
    return x * x


def workers():
    comm = get_comm_workers()
    return [comm.Get_size(), MPI.Comm.Get_parent().Get_remote_size()]


def fail(x):
    raise KeyError(x)


if __name__ == "__main__":
    rank = MPI.COMM_WORLD.Get_rank()
    out = {"rank": rank}
    executor = MPIPoolExecutor(max_workers=2)
    out["map"] = list(executor.map(square, range(rank, rank + 10)))
    out["chunked"] = list(executor.map(square, range(7), chunksize=3))
    out["starmap"] = list(executor.starmap(pow, [(rank + 2, k) for k in range(5)]))
    error = executor.submit(fail, rank).exception()
    out["error"] = [type(error).__name__, error.args[0], error.__cause__ is not None]
    out["workers"] = executor.submit(workers).result()
    out["num_workers"] = executor.num_workers
    executor.shutdown()
    out["after"] = executor.num_workers
    print(json.dumps(out), flush=True)
