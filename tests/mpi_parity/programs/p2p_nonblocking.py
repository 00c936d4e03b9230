from mpi4py import MPI

import json

import numpy as np

# Non-blocking point to point: irecv/isend with wait, Waitall, Waitany (which indices come
# back, as a set), Testall polling, Waitsome and Testany, and the Status a Wait fills in.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()

# Every rank sends one object and one buffer to every rank (itself included).
recv_obj = [comm.irecv(source=s, tag=10) for s in range(size)]
recv_buf = [np.zeros(2, dtype=np.int64) for _ in range(size)]
recv_req = [comm.Irecv(recv_buf[s], source=s, tag=11) for s in range(size)]
sends = [comm.isend((rank, d), dest=d, tag=10) for d in range(size)]
outs = [np.array([rank, d], dtype=np.int64) for d in range(size)]   # alive until sent
sends += [comm.Isend(outs[d], dest=d, tag=11) for d in range(size)]

objs = MPI.Request.waitall(recv_obj)
done = set()
for _ in range(size):
    status = MPI.Status()
    i = MPI.Request.Waitany(recv_req, status)
    done.add((i, status.Get_source(), status.Get_tag()))
waitany_after = MPI.Request.Waitany(recv_req)   # all inactive now: UNDEFINED
while not MPI.Request.Testall(sends):
    pass

# Testall on requests that cannot complete yet (nobody sent), then complete them.
late = [comm.irecv(source=(rank + 1) % size, tag=20)]
early = MPI.Request.Testall(late) if size > 1 else None
comm.Barrier()
late_send = comm.isend("late", dest=(rank - 1) % size, tag=20)
flag, values = MPI.Request.testall(late)
while not flag:
    flag, values = MPI.Request.testall(late)
late_send.wait()

req = comm.irecv(source=MPI.ANY_SOURCE, tag=30)
sends = [comm.isend(rank, dest=(rank + 1) % size, tag=30)]
status = MPI.Status()
value = req.wait(status)
some = [comm.irecv(source=rank, tag=40 + k) for k in range(3)]
for k in range(3):
    sends.append(comm.isend(k * k, dest=rank, tag=40 + k))
got = []
while len(got) < 3:
    got += [i for i in (MPI.Request.Waitsome(some) or [])]
MPI.Request.Waitall(sends)
flag_any = MPI.Request.Testany([MPI.REQUEST_NULL])
print(json.dumps({"rank": rank, "objs": objs, "bufs": [b.tolist() for b in recv_buf],
                  "waitany": sorted(done), "waitany_after": waitany_after == MPI.UNDEFINED,
                  "early_testall": early, "late": values,
                  "wait_status": [value, status.Get_source(), status.Get_tag()],
                  "waitsome": sorted(got), "testany_null": [flag_any[0] == MPI.UNDEFINED,
                                                            flag_any[1]]}), flush=True)
