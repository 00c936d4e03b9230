"""mpi4py's utilities on hpxpy: ``pkl5``, ``dtlib``, ``pool`` (``sync`` needs one-sided
windows, which hpxpy does not have)."""
