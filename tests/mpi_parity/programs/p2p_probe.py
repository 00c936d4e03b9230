from mpi4py import MPI

import json

import numpy as np

# probe/Probe then a receive sized from the Status; iprobe polling; mprobe/improbe with
# Message.recv/Recv; Get_count in bytes and in elements.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
right, left = (rank + 1) % size, (rank - 1) % size

# Send buffers stay referenced until their requests complete (MPI reads them late).
n = 3 + 2 * rank
out1 = np.arange(n, dtype=np.float64) + rank
reqs = [comm.Isend(out1, dest=right, tag=5)]
status = MPI.Status()
comm.Probe(source=left, tag=5, status=status)
count = status.Get_count(MPI.DOUBLE)
data = np.empty(count)
comm.Recv(data, source=status.Get_source(), tag=status.Get_tag())
probe_info = [status.Get_source(), status.Get_tag(), status.Get_count(), count, data.tolist()]

reqs.append(comm.isend({"from": rank, "pad": "x" * rank}, dest=right, tag=6))
while not comm.iprobe(source=MPI.ANY_SOURCE, tag=6, status=status):
    pass
iprobe_src = status.Get_source()
obj = comm.recv(source=iprobe_src, tag=6)

out2 = np.full(2 + rank, rank, dtype=np.int32)
reqs.append(comm.Isend(out2, dest=right, tag=7))
msg = comm.mprobe(source=left, tag=7, status=status)
buf = np.empty(status.Get_count(MPI.INT), dtype=np.int32)
msg.Recv(buf)
mprobe_info = [status.Get_source(), status.Get_count(MPI.INT), buf.tolist()]

reqs.append(comm.isend([rank] * 2, dest=right, tag=8))
m = None
while m is None:
    m = comm.improbe(source=left, tag=8)
got = m.recv()
MPI.Request.Waitall(reqs)
comm.Barrier()
# Nothing is left: iprobe must say so.
empty = comm.iprobe(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG)
print(json.dumps({"rank": rank, "probe": probe_info, "iprobe": [iprobe_src, obj],
                  "mprobe": mprobe_info, "improbe": got, "nothing_left": not empty}),
      flush=True)
