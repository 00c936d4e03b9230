"""The fast paths (one C++ call per MPI call) against the general path's behaviour; each
rank prints one JSON line. Run at 1 and 3 localities by tests/test_fastpath.py."""

import array
import json
import pickle

import numpy as np

from hpxpy.comm import MPI

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
right, left = (rank + 1) % size, (rank - 1) % size
out = {"id": rank}


def status_of(st):
    return [st.Get_source(), st.Get_tag(), st.Get_count(), st.Get_error()]


# bytes-likes of several kinds arrive byte for byte, with the status of the general path
got = {}
for name, make in [("numpy", lambda r: np.arange(4, dtype=np.int32) + r),
                   ("bytes", lambda r: bytes([r]) * 6),
                   ("bytearray", lambda r: bytearray([r]) * 5),
                   ("memoryview", lambda r: memoryview(np.full(3, r, dtype=np.float64))),
                   ("array", lambda r: array.array("h", [r] * 2)),
                   ("fortran", lambda r: np.asfortranarray(np.arange(4.0).reshape(2, 2) + r))]:
    comm.Send(make(rank), right, 3)
    into = np.full(64, 255, dtype=np.uint8)
    st = MPI.Status()
    comm.Recv(into, MPI.ANY_SOURCE, MPI.ANY_TAG, st)
    n = st.Get_count()
    sent = make(left)
    sent = sent.tobytes(order="A") if name == "fortran" else bytes(sent)
    got[name] = [status_of(st), into[:n].tobytes() == sent, int(into[n]) == 255]
out["kinds"] = got
try:  # not contiguous: the general path's error
    comm.Send(np.arange(8.0)[::2], right, 3)
except BufferError:
    out["noncontig"] = "BufferError"

# truncation: MPI.ERR_TRUNCATE, the status of a Recv records what fitted
comm.Send(np.arange(4, dtype=np.float64), right, 5)
st = MPI.Status()
try:
    comm.Recv(np.zeros(2), left, 5, st)
    out["truncate"] = "no error"
except MPI.Exception as exc:
    out["truncate"] = [exc.Get_error_class() == MPI.ERR_TRUNCATE, status_of(st)]

# Irecv/Wait, Sendrecv, Ssend, Issend and a readonly receive buffer (general path's error)
r = comm.Irecv(b := np.zeros(2), left, 6)
comm.Isend(np.array([rank, 7.0]), right, 6).Wait()
st = MPI.Status()
r.Wait(st)
out["irecv"] = [b.tolist(), status_of(st)]
st = MPI.Status()
comm.Sendrecv(np.array([rank], dtype=np.int64), right, 8, c := np.zeros(1, np.int64), left, 8, st)
out["sendrecv"] = [c.tolist(), status_of(st)]
req = comm.Irecv(d := bytearray(3), left, 9)
comm.Ssend(b"abc", right, 9)
req.Wait()
out["ssend"] = bytes(d).decode()
try:
    comm.Recv(np.zeros(1)[()] if False else np.frombuffer(b"12345678"), left, 1)
except Exception as exc:  # noqa: BLE001
    out["readonly"] = type(exc).__name__
try:
    comm.Send(np.zeros(2), size + 5)
except MPI.Exception as exc:
    out["badrank"] = exc.Get_error_class() == MPI.ERR_RANK

# objects
comm.send({"from": rank}, right, 11)
st = MPI.Status()
out["obj"] = [comm.recv(source=left, tag=11, status=st), st.Get_source()]
comm.send(np.arange(3) * rank, right, 12)  # out-of-band buffer
out["objarray"] = comm.recv(source=left, tag=12).tolist()
comm.Send(pickle.dumps("raw"), right, 13)  # bytes received as an object, as mpi4py
out["rawobj"] = comm.recv(source=left, tag=13)
out["bcast"] = comm.bcast({"root": rank} if rank == size - 1 else None, root=size - 1)
out["allreduce"] = [comm.allreduce(rank + 0.5), comm.allreduce(rank, op=MPI.MAX),
                    comm.allreduce([rank]), comm.allreduce(str(rank))]
try:
    comm.allreduce(rank, op=MPI.Op.Create(lambda a, b, t=None: 1 / 0 if rank == 0 else b))
    out["opfails"] = "no error"
except ZeroDivisionError:
    out["opfails"] = "own"
except ValueError:
    out["opfails"] = "value"

# buffer collectives
x = np.array([rank + 1.0, 2.0])
y = np.zeros(2)
comm.Allreduce(x, y, MPI.SUM)
z = np.array([rank], dtype=np.int32)
comm.Allreduce(MPI.IN_PLACE, z, MPI.MAX)
w = np.zeros(2)
comm.Reduce(x, w, MPI.PROD, root=0)
mixed = "no error"
try:
    comm.Allreduce(np.zeros(2, np.int64), np.zeros(2, np.int32))
except ValueError:
    mixed = "ValueError"
bb = np.arange(3.0) if rank == 0 else np.zeros(3)
comm.Bcast(bb, root=0)
short = "no error"
try:
    comm.Bcast(np.arange(4.0) if rank == 0 else np.zeros(2), root=0)
except MPI.Exception as exc:
    short = exc.Get_error_class() == MPI.ERR_TRUNCATE
comm.Barrier()
out["coll"] = [y.tolist(), z.tolist(), w.tolist() if rank == 0 else None, mixed, bb.tolist(),
               short if rank else "root"]
print("RESULT " + json.dumps(out), flush=True)
