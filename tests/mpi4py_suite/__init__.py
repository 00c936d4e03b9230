"""Run mpi4py's own test modules, unchanged, on hpxpy (``hpxrun -n N --mpi4py``)."""
