"""Under ``mpiexec -n 3`` with HPXPY_PARCELPORT=mpi: rank 1 calls ``Abort(7)`` (the job ends
with status 7: MPI_Abort) or raises (the others, in a Barrier, raise LocalityError naming
it, from the abort frames it sent before leaving)."""

import sys

from hpxpy.comm import MPI

c = MPI.COMM_WORLD
if sys.argv[1] == "abort" and c.Get_rank() == 1:
    c.Abort(7)
if sys.argv[1] == "raise" and c.Get_rank() == 1:
    raise ValueError("boom")
try:
    c.Barrier()
except Exception as e:
    # One write per line: Hydra forwards the ranks' output as it comes, so pieces of two
    # ranks' lines written separately could interleave.
    sys.stdout.write(f"rank {c.Get_rank()} raised {type(e).__name__} {e}\n")
    sys.stdout.flush()
    sys.exit(5)
