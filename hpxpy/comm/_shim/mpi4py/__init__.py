"""hpxpy's stand-in for the ``mpi4py`` package.

This directory is put first on ``sys.path`` only for programs started with
``hpxrun --mpi4py`` or ``python -m hpxpy.comm.run``; installing hpxpy never shadows a real
mpi4py.
"""

import sys

from hpxpy.comm import MPI

sys.modules[__name__ + ".MPI"] = MPI

__version__ = "4.1.2"


class _RC:
    """mpi4py's run-time configuration object; hpxpy accepts and mostly ignores it."""

    initialize = True
    threads = True
    thread_level = "multiple"
    finalize = None
    fast_reduce = True
    recv_mprobe = True
    irecv_bufsz = 32768
    errors = "exception"

    def __call__(self, **kwargs):
        for key, value in kwargs.items():
            setattr(self, key, value)


rc = _RC()


def get_config():
    return {}


def get_include():
    raise RuntimeError("hpxpy's mpi4py stand-in has no C headers")
