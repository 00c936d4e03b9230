"""Under ``mpiexec`` with HPXPY_PARCELPORT=mpi: the job secret that joining processes
prove was agreed over MPI (no launcher store was used), so Spawn works; the children are
an hpxpy job of their own (shared memory / TCP), not part of the parents' MPI job."""

import json
import sys

from hpxpy.comm import MPI

if len(sys.argv) > 1:
    parent = MPI.Comm.Get_parent()
    parent.send(MPI.COMM_WORLD.Get_rank() * 100, dest=0)
    parent.Disconnect()
else:
    comm = MPI.COMM_WORLD
    inter = comm.Spawn(sys.executable, [__file__, "child"], maxprocs=2, root=0)
    got = sorted(inter.recv(source=i) for i in range(2)) if comm.Get_rank() == 0 else None
    inter.Disconnect()
    print(json.dumps({"rank": comm.Get_rank(), "got": got}), flush=True)
