/* hpxpy's mpi4py stand-in: mpi4py.get_include() names this directory, as mpi4py's does.
 *
 * hpxpy's MPI objects are Python objects over its own C++ runtime; there is no MPI C
 * library and no C API of mpi4py (PyMPIComm_Get ...) to build against. A C or Cython
 * extension that needs one must be built against a real MPI and mpi4py. */
#error "hpxpy's mpi4py stand-in has no C API (no MPI C library): build C extensions against a real MPI and mpi4py"
