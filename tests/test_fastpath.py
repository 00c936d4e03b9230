"""The fast paths of hpxpy.comm (one C++ call per MPI call) behave as the general path:
status fields, truncation, bytes-likes vs numpy, non-contiguous buffers falling back,
object messages, the recursive-doubling allreduce and its errors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import PROGRAMS, run_job


def _results(n: int) -> list:
    job = run_job(n, [str(PROGRAMS / "fastpath_check.py")], timeout=120)
    assert job.returncode == 0, job.stderr[-3000:]
    assert sorted(job.results) == list(range(n))
    return [job.results[i] for i in range(n)]


@pytest.mark.parametrize("n", [1, 3])
def test_fast_paths_match_mpi_semantics(n: int) -> None:
    results = _results(n)
    for rank, out in enumerate(results):
        left = (rank - 1) % n
        sizes = {"numpy": 16, "bytes": 6, "bytearray": 5, "memoryview": 24, "array": 4,
                 "fortran": 32}
        for name, (status, same, untouched) in out["kinds"].items():
            assert status == [left, 3, sizes[name], 0], name
            assert same and untouched, name
        assert out["noncontig"] == "BufferError"
        assert out["truncate"] == [True, [left, 5, 16, 0]]
        assert out["irecv"] == [[float(left), 7.0], [left, 6, 16, 0]]
        assert out["sendrecv"] == [[left], [left, 8, 8, 0]]
        assert out["ssend"] == "abc"
        assert out["readonly"] == "BufferError"
        assert out["badrank"] is True
        assert out["obj"] == [{"from": left}, left]
        assert out["objarray"] == (np.arange(3) * left).tolist()
        assert out["rawobj"] == "raw"
        assert out["bcast"] == {"root": n - 1}
        assert out["allreduce"] == [sum(r + 0.5 for r in range(n)), n - 1,
                                    list(range(n)), "".join(map(str, range(n)))]
        assert out["opfails"] == ("own" if rank == 0 else "value") if n > 1 else "no error"
        y, z, w, mixed, bb, short = out["coll"]
        assert y == [n * (n + 1) / 2, 2.0 * n]
        assert z == [n - 1]
        if rank == 0:
            prod = float(np.prod(np.arange(1.0, n + 1)))
            assert w == [prod, 2.0 ** n]
        assert mixed == "ValueError"
        assert bb == [0.0, 1.0, 2.0]
        assert short == (True if rank else "root")


UNPICKLE_RAISES = """
import json, pickle
from hpxpy.comm import MPI

class BadUnpickle:
    def __reduce__(self):
        return (divmod, (1, 0))  # unpickling raises ZeroDivisionError

comm = MPI.COMM_WORLD
if comm.Get_rank() == 0:
    comm.send(BadUnpickle(), dest=1, tag=4)
    comm.send("after", dest=1, tag=5)
else:
    try:
        comm.recv(source=0, tag=4)
        got = "no error"
    except ZeroDivisionError:
        got = "ZeroDivisionError"
    print("RESULT " + json.dumps({"id": 1, "got": got, "next": comm.recv(source=0, tag=5)}))
"""


def test_object_whose_unpickling_raises() -> None:
    # The receiver raises the unpickler's own exception (not an internal error) and goes on.
    job = run_job(2, ["-c", UNPICKLE_RAISES], timeout=60)
    assert job.returncode == 0, job.stderr[-3000:]
    assert job.results[1] == {"id": 1, "got": "ZeroDivisionError", "next": "after"}


BLOCK_COLLECTIVES = """
import json
import numpy as np
from hpxpy.comm import MPI

comm = MPI.COMM_WORLD
rank, n = comm.Get_rank(), comm.Get_size()
# Odd ranks describe their buffers as message specs (the general path), even ranks pass
# plain arrays (the fast path): both must agree on the wire.
def spec(a):
    return [a, MPI.DOUBLE] if rank % 2 else a
out = {}
mine = np.arange(3.0) + 10 * rank
every = np.empty(3 * n)
comm.Allgather(spec(mine), spec(every))
out["allgather"] = every.tolist()
every[:] = -1
every[3 * rank:3 * rank + 3] = mine
comm.Allgather(MPI.IN_PLACE, spec(every))
out["allgather_in_place"] = every.tolist()
for root in range(n):
    got = np.full(3 * n, -1.0)
    comm.Gather(spec(mine), spec(got) if rank == root else None, root=root)
    out[f"gather{root}"] = got.tolist()
    part = np.full(3, -1.0)
    src = np.arange(3.0 * n) + 100 * root
    comm.Scatter(spec(src) if rank == root else None, spec(part), root=root)
    out[f"scatter{root}"] = part.tolist()
send = np.array([100.0 * rank + j for j in range(n) for _ in range(2)])
recv = np.empty(2 * n)
comm.Alltoall(spec(send), spec(recv))
out["alltoall"] = recv.tolist()
counts = [j + 1 for j in range(n)]
displs = [sum(counts[:j]) for j in range(n)]
vs = np.full(counts[rank], float(rank))
vr = np.empty(sum(counts))
comm.Allgatherv(vs, [vr, counts, displs, MPI.DOUBLE])
out["allgatherv"] = vr.tolist()
big = np.arange(300000, dtype=np.int64) + rank  # several shm chunks per block
bigall = np.empty(300000 * n, dtype=np.int64)
comm.Allgather(big, bigall)
out["big"] = [int(bigall[300000 * j + 7]) for j in range(n)]
print("RESULT " + json.dumps({"id": rank, **out}))
"""


@pytest.mark.parametrize("n", [3, 4])
def test_block_collectives_fast_and_general_paths_agree(n: int) -> None:
    job = run_job(n, ["-c", BLOCK_COLLECTIVES], timeout=120)
    assert job.returncode == 0, job.stderr[-3000:]
    blocks = [[10.0 * r + k for k in range(3)] for r in range(n)]
    flat = [x for b in blocks for x in b]
    for rank in range(n):
        out = job.results[rank]
        assert out["allgather"] == flat
        assert out["allgather_in_place"] == flat
        for root in range(n):
            assert out[f"gather{root}"] == (flat if rank == root else [-1.0] * 3 * n)
            assert out[f"scatter{root}"] == [100.0 * root + 3 * rank + k for k in range(3)]
        assert out["alltoall"] == [100.0 * j + rank for j in range(n) for _ in range(2)]
        assert out["allgatherv"] == [float(j) for j in range(n) for _ in range(j + 1)]
        assert out["big"] == [7 + j for j in range(n)]


MEETINGS = """
import json
import numpy as np
from hpxpy.comm import MPI

comm = MPI.COMM_WORLD
rank, n = comm.Get_rank(), comm.Get_size()
ok = True
sub = comm.Split(rank % 2, -rank)  # another group, its rank 0 not locality 0
for i in range(200):
    a = np.array([float(rank + i)]); b = np.empty(1)
    req = comm.Iallreduce(a, b)  # in flight beside the blocking calls (which meet)
    comm.Barrier()
    ok &= comm.allreduce(i + rank) == n * i + n * (n - 1) // 2
    x = np.array([rank, i], dtype=np.int64); y = np.empty(2, dtype=np.int64)
    # odd ranks describe the buffers as specs (the general path): both must meet alike
    if rank % 2:
        comm.Allreduce([x, MPI.INT64_T], [y, MPI.INT64_T], op=MPI.MAX)
    else:
        comm.Allreduce(x, y, op=MPI.MAX)
    ok &= y.tolist() == [n - 1, i]
    big = np.full(100, float(rank)); bigout = np.empty(100)  # not one cell: messages
    comm.Allreduce(big, bigout, op=MPI.SUM)
    ok &= bigout[99] == n * (n - 1) / 2
    ok &= sub.allreduce(1) == sub.Get_size()
    sub.Barrier()
    # Gather, Allgather and Alltoall of small blocks meet too; odd ranks take the general
    # path (a strided send buffer), the others the fast path
    send = np.array([rank * 10.0 + i, -1.0])[:1] if rank % 2 == 0 else \
        np.array([rank * 10.0 + i, -1.0])[::2]
    table = np.full(n, -5.0)
    comm.Gather(send, table, root=i % n)
    ok &= table.tolist() == ([j * 10.0 + i for j in range(n)] if rank == i % n else [-5.0] * n)
    comm.Allgather(send, table)
    ok &= table.tolist() == [j * 10.0 + i for j in range(n)]
    out = np.arange(n, dtype=np.int64) * 100 + rank + i
    into = np.zeros(n, dtype=np.int64)
    comm.Alltoall(out if rank % 2 == 0 else [out, MPI.INT64_T], into)
    ok &= into.tolist() == [rank * 100 + j + i for j in range(n)]
    req.Wait()
    ok &= b[0] == n * i + n * (n - 1) / 2
try:
    comm.allreduce("text" if rank == 0 else 1)  # str + int fails on every rank
    err = "no error"
except TypeError:
    err = "TypeError"
# A block larger than the root's room (rank 1's) meets too: the root raises truncation.
try:
    comm.Gather(np.ones(2 if rank == 1 else 1), np.empty(n) if rank == 0 else None, root=0)
    trunc = "no error"
except MPI.Exception as exc:
    trunc = "truncate" if exc.Get_error_class() == MPI.ERR_TRUNCATE else repr(exc)
print("RESULT " + json.dumps({"id": rank, "ok": bool(ok), "err": err, "trunc": trunc}))
"""


@pytest.mark.parametrize("n", [2, 4])
def test_meetings_beside_nonblocking_and_message_collectives(n: int) -> None:
    job = run_job(n, ["-c", MEETINGS], timeout=120)
    assert job.returncode == 0, job.stderr[-3000:]
    for rank in range(n):
        trunc = "truncate" if rank == 0 else "no error"
        assert job.results[rank] == {"id": rank, "ok": True, "err": "TypeError",
                                     "trunc": trunc}


OBJECT_ALLREDUCE = """
import json, threading
import numpy as np
from hpxpy.comm import MPI

comm = MPI.COMM_WORLD
rank, n = comm.Get_rank(), comm.Get_size()
out = {}
out["float"] = comm.allreduce(rank + 0.5)
out["max"] = comm.allreduce(rank, op=MPI.MAX)
out["tuple"] = list(comm.allreduce((rank,)))
# A pickle with out-of-band buffers (an array): the general path unpickles the cells.
out["array"] = comm.allreduce(np.arange(3) * rank).tolist()
# One rank's pickle too large for a cell: every rank takes the recursive doubling.
out["big"] = len(comm.allreduce("x" * (1000 if rank == 1 else 1)))
# A user op: the general path on every rank; then the fast path again.
out["user"] = comm.allreduce(rank, op=MPI.Op.Create(lambda a, b, t=None: a * 10 + b))
# One rank's value does not pickle: every rank raises (its own error there).
try:
    comm.allreduce(threading.Lock() if rank == n - 1 else rank)
    out["unpicklable"] = "no error"
except TypeError:
    out["unpicklable"] = "TypeError"
except MPI.Exception as exc:
    out["unpicklable"] = type(exc).__name__
out["after"] = comm.allreduce(1)
print("RESULT " + json.dumps({"id": rank, **out}))
"""


@pytest.mark.parametrize("n", [2, 3])
def test_object_allreduce_fast_and_general_paths_agree(n: int) -> None:
    """The one-call object allreduce meets with ranks on the general path and hands over
    what it does not finish itself (buffers, a pickle too big for a cell, errors)."""
    job = run_job(n, ["-c", OBJECT_ALLREDUCE], timeout=120)
    assert job.returncode == 0, job.stderr[-3000:]
    user = 0
    for r in range(n):
        user = user * 10 + r
    for rank in range(n):
        out = job.results[rank]
        assert out["float"] == sum(r + 0.5 for r in range(n))
        assert out["max"] == n - 1
        assert out["tuple"] == list(range(n))
        assert out["array"] == (np.arange(3) * sum(range(n))).tolist()
        assert out["big"] == 1000 + n - 1
        assert out["user"] == user
        assert out["unpicklable"] == "TypeError", out
        assert out["after"] == n
