"""hpxpy's stand-in for the ``mpi4py`` package.

This directory is put first on ``sys.path`` only for programs started with
``hpxrun --mpi4py`` or ``python -m hpxpy.comm.run``; installing hpxpy never shadows a real
mpi4py.
"""

__version__ = "4.1.2"


class _RC:
    """mpi4py's run-time configuration object. ``initialize = False`` (set before
    ``from mpi4py import MPI``) defers starting the runtime to its first use; the rest is
    accepted and ignored."""

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

    def __repr__(self):
        return f"<{__name__}.rc>"


rc = _RC()
# As mpi4py: `import mpi4py.rc` works and names the same object.
__import__("sys").modules[__name__ + ".rc"] = rc


def get_config():
    return {}


def get_include():
    raise RuntimeError("hpxpy's mpi4py stand-in has no C headers")


def __getattr__(name):
    if name == "MPI":  # `import mpi4py` alone does not start anything, as with mpi4py
        import importlib

        return importlib.import_module(__name__ + ".MPI")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
