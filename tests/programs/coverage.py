"""Exercises every runtime function and collective; each locality prints one JSON line.

Run by tests/test_collectives.py under hpxrun at 1..4 localities; the test computes what
each locality must have seen and compares.
"""

import asyncio
import hashlib
import json
import os

import numpy as np

import hpxpy as hpx
from hpxpy import collectives as coll

DTYPES = ["float64", "float32", "int64", "int32"]


def error_of(fn):
    try:
        fn()
    except (ValueError, TypeError) as exc:
        return [type(exc).__name__, str(exc)]
    return None


def main():
    out = {"running_before": hpx.is_running()}
    with hpx.runtime():
        me, n = hpx.locality_id(), hpx.num_localities()
        out.update(
            pid=os.getpid(), id=me, n=n, running=hpx.is_running(),
            coll_n=coll.get_num_localities(), coll_id=coll.get_locality_id(),
            name=hpx.get_locality_name(),
        )
        # all_reduce: every op x dtype, string and enum spellings
        red = {}
        for dt in DTYPES:
            x = np.array([me + 1, 2 * me - 3, 7], dtype=dt)
            for op in ["sum", "prod", "min", "max"]:
                r = hpx.all_reduce(x, op=op)
                r2 = coll.all_reduce(x, op=getattr(hpx.ReduceOp, op))
                assert r.dtype == np.dtype(dt) and np.array_equal(r, r2)
                red[f"{dt}/{op}"] = r.tolist()
        out["reduce"] = red
        out["reduce_scalar"] = [float(hpx.all_reduce(me + 0.5)), int(hpx.all_reduce(me + 1))]
        rng = np.random.default_rng(me)
        noisy = rng.standard_normal(1000) * 10.0 ** rng.integers(-8, 8, 1000)
        out["bits"] = hpx.all_reduce(noisy).tobytes().hex()
        # Large enough for reduce-scatter + allgather (and an odd length, split unevenly).
        big = np.random.default_rng(100 + me).standard_normal(100_003)
        big_sum = hpx.all_reduce(big)
        out["big"] = [hashlib.sha256(big_sum.tobytes()).hexdigest(), float(big_sum[0]),
                      float(big_sum[-1]), int(hpx.all_reduce(np.full(70_001, me), op="max")[7])]
        out["matrix"] = hpx.all_reduce(np.full((2, 3), me, dtype=np.int32)).tolist()
        # broadcast from every root
        out["bcast"] = [
            hpx.broadcast(np.arange(6.0).reshape(2, 3) * (me + 1) if me == root else None,
                          root=root).tolist()
            for root in range(n)
        ]
        out["bcast_scalar"] = float(hpx.broadcast(41.5 if me == 0 else None))
        # gather to every root, shapes differ per locality
        out["gather"] = []
        for root in range(n):
            g = hpx.gather(np.full(me + 1, me, dtype=np.int64), root=root)
            out["gather"].append(None if g is None else [a.tolist() for a in g])
        # scatter: list form and array form
        out["scatter"] = []
        for root in range(n):
            vals = [np.full(i + 1, 10 * root + i, dtype=np.float32) for i in range(n)]
            out["scatter"].append(hpx.scatter(vals if me == root else None, root=root).tolist())
        arr = np.arange(n * 2, dtype=np.int32).reshape(n, 2)
        out["scatter_array"] = hpx.scatter(arr if me == 0 else None).tolist()
        hpx.barrier()
        hpx.barrier("named")
        # futures
        f = hpx.all_reduce_async(np.array([1.0]))
        chained = f.then(lambda fut: fut.get() * 2)
        out["async"] = [f.get().tolist(), chained.get().tolist(), f.done()]

        async def use_await():
            a = await hpx.broadcast_async(np.array([me]), root=n - 1)
            b = await hpx.gather_async(np.array([me]), root=0)
            c = await hpx.scatter_async(list(range(n)) if me == 0 else None)
            await hpx.barrier_async()
            return [a.tolist(), None if b is None else [x.tolist() for x in b], int(c)]

        out["await"] = asyncio.run(use_await())
        # errors: raised on every locality, and the job goes on afterwards
        last = n - 1
        out["errors"] = {
            "root_range": error_of(lambda: hpx.broadcast(np.ones(1), root=n)),
            "bad_op_one": error_of(lambda: hpx.all_reduce(np.ones(2),
                                                          op="avg" if me == last else "sum")),
            "dtype_one": error_of(lambda: hpx.all_reduce(
                np.ones(2, dtype=np.float32 if me == last else np.float64))),
            "shape_one": error_of(lambda: hpx.all_reduce(np.ones(3 if me == last else 2))),
            "complex": error_of(lambda: hpx.all_reduce(np.ones(2, dtype=complex))),
            "scatter_count": error_of(lambda: hpx.scatter(list(range(n + 1)) if me == 0 else None)),
            "bcast_dtype": error_of(lambda: hpx.broadcast(np.array(["x"]) if me == 0 else None)),
            "barrier_name": error_of(lambda: hpx.barrier("a" if me == last else "b")),
        }
        out["after_errors"] = float(hpx.all_reduce(1.0))
    out["running_after"] = hpx.is_running()
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
