"""MPI's environment functions (``MPI.Init``, ``MPI.Wtime``, ``MPI.Open_port`` ...).

They live here, not in ``MPI.py``, so that the ``MPI`` namespace holds mpi4py's names and
no module objects (mpi4py's ``test_doc`` walks every module the namespace holds).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Tuple

from .. import _runtime
from . import _buffers, _spawn, _topology
from . import _typing as _T
from ._constants import THREAD_MULTIPLE
from ._info import INFO_NULL, Info

_main_thread = threading.main_thread()
_finalized = False


def Wtime() -> float:
    """Return an elapsed time on the calling process, in seconds (monotonic)."""
    return time.perf_counter()


def Wtick() -> float:
    """Return the resolution of :func:`Wtime`, in seconds."""
    return time.get_clock_info("perf_counter").resolution


def Get_processor_name() -> str:
    """Return the name of the host this process runs on."""
    return socket.gethostname()


def Get_hw_resource_info() -> Info:
    """Return the hardware this process runs on (MPI 4.1).

    The info holds ``mpi_hw_resource_type``, the host, and ``cpus``: the number of
    processors the process may run on.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no affinity masks on this platform
        cpus = os.cpu_count() or 1
    return Info.Create({"mpi_hw_resource_type": "Machine", "cpus": str(cpus),
                        "host": socket.gethostname()})


def Get_version() -> Tuple[int, int]:
    """Return the version of the MPI standard whose API hpxpy follows (4.1: sessions,
    partitioned and persistent collectives, the hardware split types, Isendrecv)."""
    return (4, 1)


def get_vendor() -> Tuple[str, Tuple[int, int, int]]:
    """Return the name and version of the MPI implementation: hpxpy."""
    return ("hpxpy", (0, 1, 0))


def Get_library_version() -> str:
    """Return the name and version of the library (hpxpy and its transports)."""
    from .. import __version__

    return f"hpxpy {__version__} (HPX-style runtime, shared-memory and TCP parcelports)"


def Get_abi_version() -> Tuple[int, int]:
    """Return the version of the MPI ABI: (-1, -1), hpxpy has none (no C MPI library)."""
    return (-1, -1)


def Get_abi_info() -> Info:
    """Return the sizes in bytes of ``MPI.AINT``, ``MPI.COUNT`` and ``MPI.OFFSET``.

    The keys are ``mpi_aint_size``, ``mpi_count_size`` and ``mpi_offset_size``.
    """
    from ._datatypes import PREDEFINED

    return Info.Create({f"mpi_{name.lower()}_size": str(PREDEFINED[name].Get_size())
                        for name in ("AINT", "COUNT", "OFFSET")})


def Get_abi_fortran_info() -> Info:
    """Return ``MPI.INFO_NULL``: hpxpy has no Fortran bindings to describe."""
    return INFO_NULL


def Init() -> None:
    """Initialize the execution environment (the runtime also starts on import)."""
    _runtime.core()
    _spawn.connect_parent()


def Init_thread(required: int = THREAD_MULTIPLE) -> int:
    """Initialize the execution environment; every thread level is provided."""
    Init()
    return THREAD_MULTIPLE


def Finalize() -> None:
    """Terminate the execution environment (waits for every locality)."""
    global _finalized
    _runtime.finalize()
    _finalized = True


def Open_port(info: Info = INFO_NULL) -> str:
    """Return a new port name to ``Accept`` connections on.

    Processes of this job, or of jobs it spawned, can ``Connect`` to it.
    """
    return _spawn.open_port()


def Close_port(port_name: str) -> None:
    """Close a port opened with :func:`Open_port`."""
    _spawn.close_port(port_name)


def Publish_name(service_name: str, port_name: str, info: Info = INFO_NULL) -> None:
    """Make ``port_name`` findable as ``service_name`` by the job's processes."""
    _spawn.publish_name(service_name, port_name)


def Unpublish_name(service_name: str, port_name: str, info: Info = INFO_NULL) -> None:
    """Withdraw a name published with :func:`Publish_name`."""
    _spawn.unpublish_name(service_name, port_name)


def Lookup_name(service_name: str, info: Info = INFO_NULL) -> str:
    """Return the port published as ``service_name`` (``ERR_NAME`` if none is)."""
    return _spawn.lookup_name(service_name)


def Is_initialized() -> bool:
    """Tell whether the execution environment was initialized."""
    return _runtime.is_running() or _finalized


def Is_finalized() -> bool:
    """Tell whether the execution environment was finalized."""
    return _finalized


def Query_thread() -> int:
    """Return the provided level of thread support (always ``THREAD_MULTIPLE``)."""
    return THREAD_MULTIPLE


def Is_thread_main() -> bool:
    """Tell whether the calling thread is the main thread."""
    return threading.current_thread() is _main_thread


def Get_address(location: _T.Buffer | _T.Bottom) -> int:
    """Return the address of a buffer's memory (for displacements from ``MPI.BOTTOM``)."""
    return _buffers.get_address(location)


def Aint_add(base: int, disp: int) -> int:
    """Return the sum of an address and a displacement."""
    return base + disp


def Aint_diff(addr1: int, addr2: int) -> int:
    """Return the difference of two addresses."""
    return addr1 - addr2


def Pcontrol(level: int) -> None:
    """Control profiling: accepted and ignored (hpxpy has no profiling layer)."""


def Compute_dims(nnodes: int, dims: int | _T.Sequence[int]) -> list[int]:
    """Return a balanced distribution of processes per coordinate direction.

    ``dims`` is the number of dimensions, or the sizes with zeros to fill: the result is
    non-increasing, its largest side as small as possible.
    """
    return _topology.compute_dims(nnodes, dims)
