"""Exercises hpxpy.comm like an mpi4py program would; each rank prints one JSON line.

Run by tests/test_comm.py under hpxrun at 1..4 localities (imported as hpxpy.comm, and
as mpi4py through the --mpi4py shim).
"""

import json
import os
import sys
import time

import numpy as np

if os.environ.get("USE_MPI4PY_NAME"):
    from mpi4py import MPI
else:
    from hpxpy.comm import MPI

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
out = {"id": rank, "size": size, "module": MPI.__name__, "pid": os.getpid()}

# point to point: ring, ordering, ANY_SOURCE/ANY_TAG with Status, zero-length, sendrecv
right, left = (rank + 1) % size, (rank - 1) % size
for k in range(5):
    comm.send({"k": k, "from": rank}, dest=right, tag=k)
out["ordered"] = [comm.recv(source=left, tag=MPI.ANY_TAG)["k"] for _ in range(5)]
st = MPI.Status()
comm.send(rank * 10, dest=right, tag=42)
out["any"] = [comm.recv(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=st), st.Get_source(),
              st.Get_tag()]
comm.Send(np.empty(0), dest=right, tag=5)
empty = np.empty(0)
comm.Recv(empty, source=left, tag=5, status=st)
out["zero"] = [st.Get_count(MPI.DOUBLE), st.Get_source()]
buf = np.empty(3, dtype="i")
comm.Sendrecv(np.array([rank, rank, rank], dtype="i"), dest=right, recvbuf=buf, source=left)
out["sendrecv"] = buf.tolist()
reqs = [comm.isend([rank, i], dest=right, tag=i) for i in range(3)]
rreqs = [comm.irecv(source=left, tag=i) for i in range(3)]
out["irecv"] = MPI.Request.waitall(rreqs)
MPI.Request.Waitall(reqs)
sync = comm.issend("sync", dest=right)  # completes once the receive below matched it
out["ssend"] = comm.recv(source=left)
sync.wait()
if size % 2 == 0:  # blocking ssend: even ranks send, odd ranks receive
    if rank % 2 == 0:
        comm.ssend("sync2", dest=right)
    else:
        comm.recv(source=left)
comm.send(np.arange(4.0) * rank, dest=right, tag=9)
comm.probe(source=left, tag=9, status=st)
out["probe"] = [st.Get_source(), st.Get_tag()]
out["probed"] = comm.recv(source=left, tag=9).tolist()

# object collectives with every root
out["bcast"] = [comm.bcast({"root": r} if rank == r else None, root=r) for r in range(size)]
out["gather"] = [comm.gather(rank * rank, root=r) for r in range(size)]
out["scatter"] = [comm.scatter([r * 100 + i for i in range(size)] if rank == r else None, root=r)
                  for r in range(size)]
out["allgather"] = comm.allgather([rank])
out["alltoall"] = comm.alltoall([rank * 10 + i for i in range(size)])
out["reduce"] = [comm.reduce(rank + 1, op=MPI.PROD, root=r) for r in range(size)]
out["allreduce"] = [comm.allreduce(rank, op=op) for op in (MPI.SUM, MPI.MAX, MPI.MIN)]
out["maxloc"] = comm.allreduce((rank % 2, rank), op=MPI.MAXLOC)
out["scan"] = [comm.scan(rank + 1), comm.exscan(rank + 1)]
comm.barrier()

# buffer collectives: non-zero roots, IN_PLACE, v-variants with uneven counts
root = size - 1
a = np.full(3, rank + 1.0)
b = np.empty(3)
comm.Allreduce(a, b, op=MPI.SUM)
inplace = np.full(2, rank, dtype="i")
comm.Allreduce(MPI.IN_PLACE, inplace, op=MPI.MAX)
red = np.zeros(3)
comm.Reduce(a, red if rank == root else None, op=MPI.SUM, root=root)
x = np.arange(4.0) if rank == root else np.zeros(4)
comm.Bcast(x, root=root)
g = np.zeros(2 * size, dtype="i") if rank == root else None
comm.Gather(np.array([rank, -rank], dtype="i"), g, root=root)
counts = [i + 1 for i in range(size)]
displs = [sum(counts[:i]) for i in range(size)]
gv = np.zeros(sum(counts), dtype="d")
comm.Allgatherv(np.full(rank + 1, float(rank)), [gv, (counts, displs), MPI.DOUBLE])
sv = np.empty(rank + 1, dtype="d")
src = np.arange(sum(counts), dtype="d") if rank == root else None
comm.Scatterv([src, (counts, displs), MPI.DOUBLE] if rank == root else None, sv, root=root)
at = np.empty(size, dtype="i")
comm.Alltoall(np.array([rank * 10 + i for i in range(size)], dtype="i"), at)
sc = np.empty(1)
comm.Scan(np.array([rank + 1.0]), sc)
land = np.empty(1, dtype="i")
comm.Allreduce(np.array([1], dtype="i"), land, op=MPI.LAND)
out["buffers"] = {
    "allreduce": b.tolist(), "inplace": inplace.tolist(),
    "reduce": red.tolist() if rank == root else None, "bcast": x.tolist(),
    "gather": None if g is None else g.tolist(), "allgatherv": gv.tolist(),
    "scatterv": sv.tolist(), "alltoall": at.tolist(), "scan": sc.tolist(),
    "land": land.tolist(),
}

# derived datatypes: a strided column travels packed and lands strided
grid = np.arange(12, dtype="d").reshape(4, 3) * (rank + 1)
column = MPI.DOUBLE.Create_vector(4, 1, 3).Commit()
got = np.full((4, 3), -1.0)
comm.Sendrecv([grid, 1, column], dest=right, recvbuf=[got.reshape(-1)[1:], 1, column], source=left)
every_other = MPI.INT.Create_indexed_block(1, [0, 2, 4]).Commit()
bc = np.arange(6, dtype="i") if rank == root else np.full(6, -1, dtype="i")
comm.Bcast([bc, 1, every_other], root=root)
column.Free()
every_other.Free()
out["derived"] = {"column": got[:, 1].tolist(), "untouched": got[:, 0].tolist(),
                  "indexed": bc.tolist()}

# Alltoallw: a datatype and a byte displacement per rank
wsend = np.array([rank * 10 + j for j in range(size)], dtype="i")
wrecv = np.full(size, -1, dtype="i")
item = MPI.INT.Get_size()
comm.Alltoallw([wsend, ([1] * size, [j * item for j in range(size)]), [MPI.INT] * size],
               [wrecv, ([1] * size, [j * item for j in range(size)]), [MPI.INT] * size])
out["alltoallw"] = wrecv.tolist()

# persistent requests, started twice; Isendrecv; Ireduce_scatter
pbuf = np.zeros(2, dtype="i")
psend = comm.Send_init(pbuf, dest=right, tag=11)
precv_buf = np.zeros(2, dtype="i")
precv = comm.Recv_init(precv_buf, source=left, tag=11)
rounds = []
for k in range(2):
    pbuf[:] = [rank, k]
    MPI.Prequest.Startall([psend, precv])
    MPI.Request.Waitall([psend, precv])
    rounds.append(precv_buf.tolist())
out["persistent"] = [rounds, psend != MPI.REQUEST_NULL]
psend.Free()
precv.Free()
isr = np.zeros(1, dtype="i")
comm.Isendrecv(np.array([rank], dtype="i"), right, 3, isr, left, 3).Wait()
rs_out = np.zeros(1, dtype="d")
comm.Ireduce_scatter(np.ones(size, dtype="d") * rank, rs_out, [1] * size).Wait()
out["nonblocking"] = [int(isr[0]), float(rs_out[0])]

# the rest of the API, each call once with a checkable result
more = {}
st = MPI.Status()
more["sendrecv"] = [comm.sendrecv(rank, dest=right, source=left, status=st), st.Get_source(),
                    st.Get_error()]
sreq = comm.Isend(np.array([rank, 7], dtype="i"), dest=right, tag=21)
comm.Probe(source=left, tag=21, status=st)
got = np.zeros(2, dtype="i")
flag = comm.Iprobe(source=left, tag=21)
comm.Irecv(got, source=left, tag=21).Wait()
sreq.Wait()
more["probe"] = [st.Get_count(MPI.INT), flag, got.tolist()]
comm.send("m", dest=right, tag=22)
more["mprobe"] = comm.mprobe(source=left, tag=22).recv()
comm.send("i", dest=right, tag=23)
for _ in range(5000):  # improbe does not wait: poll, bounded
    m = comm.improbe(source=left, tag=23)
    if m is not None:
        break
    time.sleep(0.001)
more["improbe"] = m.recv()
ack = comm.Issend(np.array([rank], dtype="i"), dest=right, tag=24)
one = np.zeros(1, dtype="i")
comm.Recv(one, source=left, tag=24)
ack.Wait()
if size > 1:  # a synchronous ring: odd ranks receive first, so no cycle of waiting senders
    two = np.zeros(1, dtype="i")
    if rank % 2 == 0:
        comm.Ssend(np.array([rank], dtype="i"), dest=right, tag=25)
        comm.Recv(two, source=left, tag=25)
    else:
        comm.Recv(two, source=left, tag=25)
        comm.Ssend(np.array([rank], dtype="i"), dest=right, tag=25)
    assert two[0] == left
rep = np.array([rank, rank], dtype="i")
comm.Sendrecv_replace(rep, dest=right, source=left)
more["replace"] = [int(one[0]), rep.tolist()]
reqs = [comm.irecv(source=left, tag=30 + k) for k in range(3)]
for k in range(3):
    comm.send(k * 100 + rank, dest=right, tag=30 + k)
first, value = MPI.Request.waitany(reqs)
indices, values = MPI.Request.waitsome(reqs)
indices = indices or []
for _ in range(5000):
    if MPI.Request.Testall(reqs):
        break
    time.sleep(0.001)
more["requests"] = [sorted([first, *indices]) == sorted(set([first, *indices])),
                    MPI.Request.Testany(reqs), reqs[0] == MPI.REQUEST_NULL]
pending = comm.irecv(source=left, tag=99)
pending.Cancel()
pending.Wait(st)
sent = comm.isend(rank, dest=right, tag=40)
flag_send = sent.Test()
incoming = comm.irecv(source=left, tag=40)
for _ in range(5000):
    done, obj = incoming.test()
    if done:
        break
    time.sleep(0.001)
more["test"] = [st.Is_cancelled(), flag_send, obj]
# buffer collectives with uneven counts, non-zero roots, and their non-blocking forms
root1 = 1 % size
counts = [i + 1 for i in range(size)]
displs = [sum(counts[:i]) for i in range(size)]
gv = np.full(sum(counts), -1, dtype="i") if rank == root else None
comm.Gatherv(np.full(rank + 1, rank, dtype="i"),
             [gv, (counts, displs), MPI.INT] if rank == root else None, root=root)
sc = np.zeros(2, dtype="d")
comm.Scatter(np.arange(2 * size, dtype="d") if rank == root1 else None, sc, root=root1)
ag = np.zeros(size, dtype="i")
comm.Allgather(np.array([rank * 3], dtype="i"), ag)
scounts = [1] * size
rcounts = [1] * size
atv = np.zeros(size, dtype="i")
comm.Alltoallv([np.array([rank * 10 + j for j in range(size)], dtype="i"), (scounts, None)],
               [atv, (rcounts, None)])
rsb = np.zeros(1, dtype="i")
comm.Reduce_scatter_block(np.arange(size, dtype="i"), rsb, op=MPI.SUM)
rs = np.zeros(2, dtype="i")
comm.Reduce_scatter(np.ones(2 * size, dtype="i"), rs, [2] * size, op=MPI.SUM)
ex = np.full(1, -1, dtype="i")
comm.Exscan(np.array([rank + 1], dtype="i"), ex, op=MPI.SUM)
comm.Barrier()
nb = {}
MPI.Request.Waitall([comm.Ibarrier()])
ib = np.array([rank], dtype="i")
comm.Ibcast(ib, root=root1).Wait()
ig = np.zeros(size, dtype="i") if rank == root1 else None
comm.Igather(np.array([rank], dtype="i"), ig, root=root1).Wait()
isc = np.zeros(1, dtype="i")
comm.Iscatter(np.arange(size, dtype="i") * 2 if rank == root1 else None, isc, root=root1).Wait()
iag = np.zeros(size, dtype="i")
comm.Iallgather(np.array([rank], dtype="i"), iag).Wait()
iat = np.zeros(size, dtype="i")
comm.Ialltoall(np.array([rank * 10 + j for j in range(size)], dtype="i"), iat).Wait()
ir = np.zeros(1, dtype="d")
comm.Ireduce(np.array([rank + 1.0]), ir, op=MPI.MAX, root=root1).Wait()
iar = np.zeros(1, dtype="d")
comm.Iallreduce(np.array([rank + 1.0]), iar, op=MPI.PROD).Wait()
more["buffers"] = {
    "gatherv": gv.tolist() if rank == root else None, "scatter": sc.tolist(),
    "allgather": ag.tolist(), "alltoallv": atv.tolist(), "reduce_scatter_block": rsb.tolist(),
    "reduce_scatter": rs.tolist(), "exscan": ex.tolist() if rank else None,
    "ibcast": ib.tolist(), "igather": ig.tolist() if rank == root1 else None,
    "iscatter": isc.tolist(), "iallgather": iag.tolist(), "ialltoall": iat.tolist(),
    "ireduce": ir.tolist() if rank == root1 else None, "iallreduce": iar.tolist(),
}
clone = comm.Clone()
clone.Set_name("clone")
shared = comm.Split_type(MPI.COMM_TYPE_SHARED)
evens = comm.Create(comm.Get_group().Incl(list(range(0, size, 2))))
more["comms"] = [clone.Get_name(), clone.allreduce(1), shared.Get_size(),
                 evens.Get_size() if evens != MPI.COMM_NULL else None]
out["more"] = more

# Split into uneven groups whose collectives run at the same time without interfering
color = 0 if rank == 0 else 1
sub = comm.Split(color, key=-rank)
dup = comm.Dup()
out["split"] = [sub.Get_size(), sub.Get_rank(), sub.allreduce(rank), sub.bcast(rank, root=0)]
out["dup"] = dup.allreduce(1)
out["compare"] = [comm.Compare(comm), comm.Compare(dup)]
dup.Free()
out["freed"] = [dup == MPI.COMM_NULL, bool(dup)]
none_comm = comm.Split(MPI.UNDEFINED if rank == 0 else 1)
out["undefined"] = none_comm == MPI.COMM_NULL

# errors as mpi4py raises them
errors = {}
for name, fn in {
    "rank": lambda: comm.send(1, dest=size),
    "tag": lambda: comm.send(1, dest=0, tag=-5),
    "root": lambda: comm.bcast(1, root=size),
    "count": lambda: comm.Allreduce(np.zeros(3), np.zeros(4)),
}.items():
    try:
        fn()
        errors[name] = None
    except MPI.Exception as exc:
        errors[name] = ["MPI.Exception", exc.Get_error_class()]
    except (TypeError, ValueError) as exc:
        errors[name] = [type(exc).__name__, str(exc)]
try:
    comm.scatter(list(range(size + 1)) if rank == 0 else None, root=0)
    errors["scatter"] = None
except ValueError as exc:
    errors["scatter"] = ["ValueError", str(exc)]
out["errors"] = errors
out["after"] = comm.allreduce(1)
print("RESULT " + json.dumps(out), flush=True)
sys.exit(0)
