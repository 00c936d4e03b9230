"""mpi4py's ``util.sync`` is built on one-sided windows (``MPI.Win``), which hpxpy does not
provide: importing it raises ImportError."""

raise ImportError("mpi4py.util.sync needs one-sided communication (MPI.Win), which hpxpy "
                  "does not provide")
