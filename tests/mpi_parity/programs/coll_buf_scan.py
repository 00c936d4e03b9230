from mpi4py import MPI

import json

import numpy as np

# Buffer Scan/Exscan (SUM, PROD, MAX, MIN) and Scan with IN_PLACE. Exscan leaves rank 0's
# receive buffer undefined, so rank 0 does not report it.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()

out = {}
for name in ("SUM", "PROD", "MAX", "MIN"):
    op = getattr(MPI, name)
    send = np.array([rank + 1, (rank * 3) % 4, 2 - rank], dtype=np.int64)
    scan = np.zeros(3, dtype=np.int64)
    comm.Scan(send, scan, op=op)
    ex = np.zeros(3, dtype=np.int64)
    comm.Exscan(send, ex, op=op)
    fsend = send.astype(np.float64) / 2
    fscan = np.zeros(3)
    comm.Scan(fsend, fscan, op=op)
    ip = send.copy()
    comm.Scan(MPI.IN_PLACE, ip, op=op)
    out[name] = [scan.tolist(), ex.tolist() if rank > 0 else None, fscan.tolist(), ip.tolist()]
print(json.dumps({"rank": rank, **out}), flush=True)
