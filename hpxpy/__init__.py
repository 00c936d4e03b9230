"""hpxpy: one Python program as N cooperating processes ("localities"), HPX-style.

    import hpxpy as hpx
    with hpx.runtime():
        total = hpx.all_reduce(np.array([hpx.locality_id() + 1.0]))

Distributed arrays (``hpx.distributed_zeros`` etc.) keep one partition per locality.

Run it as 4 localities with ``hpxrun -n 4 python prog.py``; a plain ``python prog.py`` is a
job of one locality.
"""

from . import collectives, distributed
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


def __getattr__(name: str):
    # Imported on first use: `python -m hpxpy.launcher` must not find it half-imported.
    if name == "launcher":
        import importlib

        return importlib.import_module(".launcher", __name__)
    raise AttributeError(f"module 'hpxpy' has no attribute {name!r}")


__all__ = [
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
