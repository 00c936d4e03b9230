"""The MPI parity suite: mpi4py programs run under real MPI and under hpxpy, compared."""
