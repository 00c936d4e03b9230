"""hpxpy: one Python program as N cooperating processes ("localities"), HPX-style.

    import hpxpy as hpx
    with hpx.runtime():
        total = hpx.all_reduce(np.array([hpx.locality_id() + 1.0]))

Distributed arrays (``hpx.distributed_zeros`` etc.) keep one partition per locality.

Run it as 4 localities with ``hpxrun -n 4 python prog.py``; a plain ``python prog.py`` is a
job of one locality.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the lazily imported names, for type checkers
    from . import _core, collectives, distributed, launcher  # noqa: F401 - _core: for mypy
    from ._runtime import (
        LocalityError,
        finalize,
        get_locality_name,
        init,
        is_running,
        locality_id,
        num_localities,
        runtime,
    )
    from ._status import CollectiveMismatchError
    from .collectives import (
        ReduceOp,
        all_reduce,
        all_reduce_async,
        barrier,
        barrier_async,
        broadcast,
        broadcast_async,
        gather,
        gather_async,
        get_locality_id,
        get_num_localities,
        scatter,
        scatter_async,
    )
    from .distributed import (
        DistributedArray,
        DistributedArrayBool,
        DistributedArrayF32,
        DistributedArrayF64,
        DistributedArrayI32,
        DistributedArrayI64,
        DistributionInfo,
        DistributionPolicy,
        distributed_from_numpy,
        distributed_full,
        distributed_ones,
        distributed_zeros,
    )
    from .futures import Future, make_ready_future, when_all

__version__ = "0.1.0"

# Submodules and the names they provide, imported on first use: a program that only needs
# hpxpy.comm (an mpi4py program) does not pay for distributed arrays, futures or asyncio at
# start-up; the launcher (hpxrun) loads neither the core nor the runtime; and
# `python -m hpxpy.launcher` never finds the package half-imported.
_SUBMODULES = ("collectives", "distributed", "futures", "launcher")
_LAZY = {
    "CollectiveMismatchError": "_status",
    **{name: "_runtime" for name in (
        "LocalityError", "finalize", "get_locality_name", "init", "is_running", "locality_id",
        "num_localities", "runtime")},
    **{name: "collectives" for name in (
        "ReduceOp", "all_reduce", "all_reduce_async", "barrier", "barrier_async", "broadcast",
        "broadcast_async", "gather", "gather_async", "get_locality_id", "get_num_localities",
        "scatter", "scatter_async")},
    **{name: "distributed" for name in (
        "DistributedArray", "DistributedArrayBool", "DistributedArrayF32",
        "DistributedArrayF64", "DistributedArrayI32", "DistributedArrayI64",
        "DistributionInfo", "DistributionPolicy", "distributed_from_numpy",
        "distributed_full", "distributed_ones", "distributed_zeros")},
    **{name: "futures" for name in ("Future", "make_ready_future", "when_all")},
}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module("." + name, __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hpxpy' has no attribute {name!r}")
    value = getattr(importlib.import_module("." + module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))


__all__ = [
    "CollectiveMismatchError",
    "DistributedArray",
    "DistributedArrayBool",
    "DistributedArrayF32",
    "DistributedArrayF64",
    "DistributedArrayI32",
    "DistributedArrayI64",
    "DistributionInfo",
    "DistributionPolicy",
    "Future",
    "LocalityError",
    "ReduceOp",
    "all_reduce",
    "all_reduce_async",
    "barrier",
    "barrier_async",
    "broadcast",
    "broadcast_async",
    "collectives",
    "distributed",
    "distributed_from_numpy",
    "distributed_full",
    "distributed_ones",
    "distributed_zeros",
    "finalize",
    "gather",
    "gather_async",
    "get_locality_id",
    "get_locality_name",
    "get_num_localities",
    "init",
    "is_running",
    "launcher",
    "locality_id",
    "make_ready_future",
    "num_localities",
    "runtime",
    "scatter",
    "scatter_async",
    "when_all",
]
