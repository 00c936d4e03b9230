"""The MPI library of the ``mpi`` parcelport (``HPXPY_PARCELPORT=mpi``), found at run time.

hpxpy never links MPI: the core opens, with ``dlopen``, a library that implements the
MPI-5 standard ABI (``libmpi_abi.so``; the ``mpich`` wheel ships one) and calls it through
the standard's fixed handles and layouts. So one build rides any MPI with that ABI, and
hpxpy without MPI behaves as before. With the mpi parcelport, MPI bootstraps the job:
``MPI_Init`` talks to the launcher, and rank and size come from ``MPI_COMM_WORLD`` (no
rendezvous, no TCP mesh).
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import List, Mapping, Optional, Tuple

ENV_LIBRARY = "HPXPY_MPI_LIBRARY"  # path of the MPI library (overrides the search)
# The standard ABI's shared library (libmpi_abi.so is often a linker script, not loadable).
_NAMES = ("libmpi_abi.so.1", "libmpi_abi.so")


class MpiLibraryError(RuntimeError):
    """No usable MPI library for the mpi parcelport (or MPI failed to start)."""


def candidates(env: Optional[Mapping[str, str]] = None) -> List[str]:
    """Where the library is looked for, in order: ``HPXPY_MPI_LIBRARY``; the ``lib`` next to
    the ``mpiexec`` on ``PATH`` (the launcher's own MPI); this Python's prefix (the
    ``mpich`` wheel installs there); the system's library directories."""
    env = os.environ if env is None else env
    if env.get(ENV_LIBRARY):
        return [env[ENV_LIBRARY]]
    dirs: List[str] = []
    mpiexec = shutil.which("mpiexec", path=env.get("PATH"))
    if mpiexec:
        dirs.append(os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(mpiexec))),
                                 "lib"))
        dirs.append(os.path.join(os.path.dirname(os.path.dirname(mpiexec)), "lib"))
    dirs += [os.path.join(sys.prefix, "lib"), os.path.join(sys.base_prefix, "lib"),
             "/usr/local/lib", "/usr/lib", "/usr/lib64", "/usr/lib/x86_64-linux-gnu"]
    seen = []
    for d in dirs:
        for name in _NAMES:
            path = os.path.join(d, name)
            if path not in seen:
                seen.append(path)
    return seen


def find_library(env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The first candidate that exists, or None."""
    env = os.environ if env is None else env
    if env.get(ENV_LIBRARY) and "/" not in env[ENV_LIBRARY]:
        return env[ENV_LIBRARY]  # a bare name: the dynamic loader searches its path
    for path in candidates(env):
        if os.path.isfile(path):
            return path
    return None


def automatic(launcher: Optional[str], multi_host: bool, secret: Optional[str],
              env: Optional[Mapping[str, str]] = None) -> bool:
    """Whether ``HPXPY_PARCELPORT=auto`` (the default) takes the mpi parcelport: when a
    launcher that MPICH's PMI client speaks to (Hydra's ``mpiexec``, ``srun --mpi=pmi2``)
    started a job that spans hosts and a standard-ABI library is found. Then the cluster's
    MPI carries the traffic between hosts instead of TCP. On one host shared memory stays
    (faster than MPI through this parcelport, see docs/architecture.md); Open MPI's
    launcher is left to PMIx and TCP (Open MPI 5 ships no standard-ABI library)."""
    return (launcher in ("hydra", "slurm") and multi_host and not secret
            and find_library(env) is not None)


def start(env: Optional[Mapping[str, str]] = None) -> Tuple[int, int, str]:
    """Load the MPI library and initialise MPI: (rank, size, library version).

    Raises MpiLibraryError saying what was looked for, or what MPI said."""
    from . import _core  # noqa: PLC0415 - the launcher imports hpxpy without the core

    looked = candidates(env)
    path = find_library(env)
    if path is None:
        raise MpiLibraryError(
            "HPXPY_PARCELPORT=mpi needs an MPI library with the MPI-5 standard ABI "
            f"(libmpi_abi.so.1), and none was found; looked at: {', '.join(looked)}. "
            f"Install one (pip install mpich) or set {ENV_LIBRARY} to its path")
    try:
        rank, size, version = _core.mpi_start(path)
    except RuntimeError as err:
        raise MpiLibraryError(f"HPXPY_PARCELPORT=mpi: {err}") from err
    return int(rank), int(size), str(version)
