from mpi4py import MPI

import json

# Object scan/exscan: exscan gives None on rank 0; SUM on strings and lists shows the order.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()

out = {
    "scan_sum": comm.scan(rank + 1),
    "scan_prod": comm.scan(rank + 2, op=MPI.PROD),
    "scan_max": comm.scan((rank * 3) % 4, op=MPI.MAX),
    "scan_str": comm.scan(chr(ord("a") + rank)),
    "exscan_sum": comm.exscan(rank + 1),
    "exscan_list": comm.exscan([rank]),
    "exscan_min": comm.exscan(10 - rank, op=MPI.MIN),
    "scan_maxloc": comm.scan(((rank * 5) % 3, rank), op=MPI.MAXLOC),
}
print(json.dumps({"rank": rank, **out}), flush=True)
