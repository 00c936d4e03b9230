"""hpxpy's stand-in for the ``mpi4py`` package.

This directory is put first on ``sys.path`` only for programs started with
``hpxrun --mpi4py`` or ``python -m hpxpy.comm.run``; installing hpxpy never shadows a real
mpi4py.
"""

__version__ = "4.1.2"


class _RC:
    """mpi4py's run-time configuration (``mpi4py.rc``): set options before
    ``from mpi4py import MPI``, as attributes or ``rc(name=value)``. ``initialize = False``
    defers starting the runtime to its first use; the others describe MPI's initialization
    and pickling choices, which hpxpy does not need to make (always MPI_THREAD_MULTIPLE,
    errors raise ``MPI.Exception``), and are kept as set."""

    _DEFAULTS = {"initialize": True, "threads": True, "thread_level": "multiple",
                 "finalize": None, "fast_reduce": True, "recv_mprobe": True,
                 "irecv_bufsz": 32768, "errors": "exception"}

    def __init__(self, **kwargs):
        for key, value in self._DEFAULTS.items():
            object.__setattr__(self, key, value)
        self(**kwargs)

    def __setattr__(self, name, value):
        if name not in self._DEFAULTS:
            raise TypeError(f"object has no attribute {name!r}")
        object.__setattr__(self, name, value)

    def __call__(self, **kwargs):
        for key, value in kwargs.items():
            setattr(self, key, value)

    def __repr__(self):
        return f"<{__name__}.rc>"


rc = _RC()
# As mpi4py: `import mpi4py.rc` works and names the same object.
__import__("sys").modules[__name__ + ".rc"] = rc


def get_config():
    """Build configuration of the MPI library (mpicc ...): hpxpy has none, an empty dict."""
    return {}


def get_include():
    """The directory of mpi4py's C headers. hpxpy has no C API: its ``mpi4py/mpi4py.h``
    stops a compilation with a message saying so."""
    import os

    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "include")


_profiles: list = []  # (name, (library handle, file name)) of the profilers loaded


def profile(name, *, path=None, logfile=None):
    """Load a profiling library ``name`` (``lib<name>.so`` or a file name) from the
    directories ``path`` into the process, with its symbols global, as mpi4py does (hpxpy
    makes no MPI C calls, so an MPI profiler there sees none). ValueError if it is not
    found; a warning if it cannot be loaded."""
    import ctypes
    import os
    import sys
    import warnings

    if path is None:
        dirs = [""]
    elif isinstance(path, (str, bytes, os.PathLike)):
        dirs = [os.fsdecode(path)]
    else:
        dirs = [os.fsdecode(p) for p in path]
    if logfile:
        os.environ["MPE_LOGFILE_PREFIX"] = os.fsdecode(logfile)
    suffix = ".dylib" if sys.platform == "darwin" else ".so"
    names = [name] if name.startswith("lib") or suffix in name else [f"lib{name}{suffix}",
                                                                      name]
    for directory in dirs:
        for candidate in names:
            filename = os.path.join(directory, candidate)
            if os.path.isfile(filename):
                try:
                    handle = ctypes.CDLL(os.path.abspath(filename), mode=ctypes.RTLD_GLOBAL)
                except OSError as exc:
                    warnings.warn(str(exc), UserWarning, stacklevel=2)
                    return
                _profiles.append((name, (handle, filename)))
                return
    raise ValueError(f"profiler {name!r} not found")


def __getattr__(name):
    if name == "MPI":  # `import mpi4py` alone does not start anything, as with mpi4py
        import importlib

        return importlib.import_module(__name__ + ".MPI")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
