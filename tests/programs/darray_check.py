"""Exercises hpxpy's distributed arrays; each locality prints one RESULT JSON line.

Run by tests/test_distributed_array.py under hpxrun at 1..4 localities. Values that every
locality can predict (the whole arrays are built from formulas) are checked here against
numpy and reported as a list of failures; layouts, memory figures and error messages are
reported raw for the test to compare with the formulas.
"""

import json
import os
import warnings

import numpy as np

import hpxpy as hpx

DTYPES = ["float64", "float32", "int64", "int32"]
POLICIES = ["none", "block", "cyclic"]
LAYOUT_SIZES = [0, 1, 2, 3, 5, 7, 10, 13]


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def error_of(fn):
    try:
        fn()
    except (ValueError, TypeError, IndexError) as exc:
        return [type(exc).__name__, str(exc)]
    return None


def data(shape, dtype, seed=0):
    """The same pseudo-random array on every locality."""
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.uniform(-2, 3, size=shape).astype(dtype)
    return rng.integers(-9, 10, size=shape).astype(dtype)


def main():
    out = {}
    failures = []

    def check(name, cond):
        if not cond:
            failures.append(name)

    with hpx.runtime():
        me, n = hpx.locality_id(), hpx.num_localities()
        out.update(id=me, n=n)

        # -- memory: each locality holds only its partition --------------------------------
        hpx.distributed_zeros(4)  # first array: sets up the communicator's context
        before = rss_bytes()
        big = hpx.distributed_zeros([10**7])
        after = rss_bytes()
        out["memory"] = {"local_nbytes": big.local.nbytes, "rss_growth": after - before,
                         "full_nbytes": 10**7 * 8}
        check("big sum", big.sum() == 0.0)
        del big

        # -- layouts --------------------------------------------------------------------------
        layouts = {}
        for pol in ("block", "cyclic", "none"):
            for size in LAYOUT_SIZES + [max(n - 1, 0), n + 1]:
                a = hpx.distributed_zeros(size, dtype="int32", distribution=pol)
                info = a.get_distribution_info()
                layouts[f"{pol}/{size}"] = {
                    "global": a.global_indices().tolist(),
                    "local_len": len(a.local),
                    "sizes": list(info.partition_sizes),
                    "ranges": [list(r) for r in info.partition_indices],
                    "local_range": list(info.local_range),
                    "partition": info.local_partition,
                    "num_partitions": a.num_partitions,
                    "distributed": a.is_distributed(),
                }
                a.local[:] = a.global_indices()  # every element knows its global index
                check(f"layout data {pol}/{size}",
                      np.array_equal(a.to_numpy(), np.arange(size, dtype=np.int32)))
        out["layouts"] = layouts

        # -- round trips, reductions, element-wise: every dtype and policy --------------------
        for dt in DTYPES + ["bool"]:
            for pol in POLICIES:
                for shape in ((11,), (7, 3), (n - 1,)):
                    full = data(shape, "int32" if dt == "bool" else dt) > 0 if dt == "bool" \
                        else data(shape, dt)
                    for root in (None, 0, n - 1):
                        src = full if root is None or me == root else None
                        d = hpx.distributed_from_numpy(src, distribution=pol, root=root)
                        key = f"{dt}/{pol}/{shape}/{root}"
                        check(f"type {key}", d.dtype == np.dtype(dt) and d.shape == shape
                              and type(d).__name__.startswith("DistributedArray"))
                        check(f"roundtrip {key}", np.array_equal(d.to_numpy(), full))
                        got = d.to_numpy(root=n - 1)
                        check(f"to_numpy(root) {key}", (got is None) == (me != n - 1)
                              and (got is None or np.array_equal(got, full)))
                    if dt == "bool":
                        continue
                    if full.size:
                        close = np.allclose if dt.startswith("float") else np.array_equal
                        for red in ("sum", "prod", "min", "max", "mean"):
                            mine, ref = getattr(d, red)(), getattr(full, red)()
                            check(f"{red} {key}", close(mine, ref, **({"rtol": 1e-5}
                                                                     if close is np.allclose
                                                                     else {}))
                                  and np.asarray(mine).dtype == np.asarray(ref).dtype)
                    e = hpx.distributed_from_numpy(data(shape, dt, seed=1), distribution=pol)
                    f2 = data(shape, dt, seed=1)
                    with np.errstate(divide="ignore", invalid="ignore"):
                        cases = {
                            "a+b": (d + e, full + f2), "a-b": (d - e, full - f2),
                            "a*b": (d * e, full * f2), "a/b": (d / e, full / f2),
                            "a+2": (d + 2, full + 2), "3-a": (3 - d, 3 - full),
                            "a*1.5": (d * 1.5, full * 1.5), "2/a": (2 / d, 2 / full),
                            "a<b": (d < e, full < f2), "a>=1": (d >= 1, full >= 1),
                            "a==b": (d == e, full == f2), "a!=0": (d != 0, full != 0),
                            "-a": (-d, -full), "np2*a": (np.float32(2) * d,
                                                         np.float32(2) * full),
                        }
                    for op, (dist, ref) in cases.items():
                        res = dist.to_numpy()
                        check(f"{op} {key}", res.dtype == ref.dtype
                              and np.allclose(res, ref, equal_nan=True)
                              and dist.policy == d.policy)
                    d += e
                    check(f"+= {key}", np.array_equal(d.to_numpy(), full + f2))

        # -- N-dimensional: along the first axis ----------------------------------------------
        cube = data((5, 2, 3), "float64")
        c = hpx.distributed_from_numpy(cube, distribution="cyclic")
        check("nd local shape", c.local.shape[1:] == (2, 3))
        check("nd global", np.array_equal(c.local, cube[c.global_indices()]))
        check("nd row", np.array_equal(c[3], cube[3]) and c[3, 1, 2] == cube[3, 1, 2])

        # -- one element by global index ------------------------------------------------------
        for pol in POLICIES:
            full = np.arange(13, dtype=np.int64) * 10
            a = hpx.distributed_from_numpy(full, distribution=pol)
            check(f"getitem {pol}", [a[i] for i in (0, 5, 12, -1, -13)]
                  == [0, 50, 120, 120, 0])
            check(f"getitem type {pol}", isinstance(a[4], np.int64))
            a[3] = -7
            a[-1] = 99
            full[3], full[-1] = -7, 99
            check(f"setitem {pol}", np.array_equal(a.to_numpy(), full))
            # only the owner wrote: the other partitions are untouched
            info = a.get_distribution_info()
            check(f"setitem owner {pol}", np.array_equal(a.local, full[list(info.local_range)]))

        # -- redistribute and copy ------------------------------------------------------------
        full = data((10, 2), "float32")
        a = hpx.distributed_from_numpy(full, distribution="block")
        for pol in ("cyclic", "none", "block", "none", "cyclic", "block", "block"):
            a = a.redistribute(pol)
            check(f"redistribute {pol}", a.policy.name == pol
                  and np.array_equal(a.to_numpy(), full)
                  and np.array_equal(a.local, full[a.global_indices()]))
        b = a.copy()
        b.fill(5)
        check("copy independent", np.array_equal(a.to_numpy(), full) and b.sum() == 5 * 20)
        check("astype", a.astype("int64").dtype == np.int64)
        check("full dtype", hpx.distributed_full(4, 7).dtype == np.int64
              and hpx.distributed_full((3, 2), 2.5, dtype="float32").sum() == np.float32(15)
              and hpx.distributed_ones([6], dtype=np.int32).sum() == 6)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check("empty mean", np.isnan(hpx.distributed_zeros(0).mean()))
        nan = hpx.distributed_from_numpy(np.array([1.0, np.nan, 3.0, 4.0, 5.0]))
        check("nan min/max", np.isnan(nan.min()) and np.isnan(nan.max()))

        # -- identity --------------------------------------------------------------------------
        blk = hpx.distributed_zeros(8)
        out["identity"] = {
            "block": blk.is_distributed(),
            "none": hpx.distributed_zeros(8, distribution="none").is_distributed(),
            "num_partitions": blk.num_partitions,
            "locality_id": blk.locality_id,
            "policy_enum": hpx.distributed_zeros(3, distribution=hpx.DistributionPolicy.cyclic)
            .policy == hpx.DistributionPolicy.cyclic,
        }

        # -- the comm layer: sub-communicators and buffers ------------------------------------
        from hpxpy.comm import MPI

        world = MPI.COMM_WORLD
        sub = world.Split(me % 2, me)
        s = hpx.distributed_from_numpy(np.arange(9.0), comm=sub)
        out["sub"] = {"size": sub.Get_size(), "partitions": s.num_partitions,
                      "is_comm": s.comm is sub, "sum": float(s.sum()),
                      "roundtrip": bool(np.array_equal(s.to_numpy(), np.arange(9.0))),
                      "distributed": s.is_distributed()}
        check("default comm", blk.comm is world)

        ones = hpx.distributed_ones(8 * n)
        world.Allreduce(MPI.IN_PLACE, ones)  # the local partition, summed over localities
        check("Allreduce in place", np.all(ones.local == n))
        # halo exchange through arr.local
        h = hpx.distributed_from_numpy(np.arange(4.0 * n))
        left, right = (me - 1) % n, (me + 1) % n
        halo = np.empty(1)
        world.Sendrecv(h.local[-1:], dest=right, recvbuf=halo, source=left)
        check("halo", halo[0] == (4 * left + 3))
        total = np.zeros(1)
        world.Allreduce(np.array([h.local.sum()]), total)
        check("halo sum", total[0] == h.sum())

        # -- errors: raised on every locality, nothing hangs ----------------------------------
        errs = {}
        errs["distribution"] = error_of(lambda: hpx.distributed_zeros(5, distribution="diag"))
        errs["dtype"] = error_of(lambda: hpx.distributed_zeros(5, dtype="complex128"))
        errs["dtype_name"] = error_of(lambda: hpx.distributed_ones(5, dtype="nonsense"))
        errs["negative"] = error_of(lambda: hpx.distributed_zeros((4, -1)))
        errs["shape_type"] = error_of(lambda: hpx.distributed_zeros("abc"))
        errs["mismatch"] = error_of(lambda: hpx.distributed_zeros(10 + (me == n - 1)))
        errs["mismatch_ndim"] = error_of(
            lambda: hpx.distributed_zeros((4, 2) if me == 0 else (4,)))
        errs["one_bad_dtype"] = error_of(
            lambda: hpx.distributed_zeros(4, dtype="complex64" if me == n - 1 else "float64"))
        errs["from_numpy_root_bad"] = error_of(lambda: hpx.distributed_from_numpy(
            np.zeros(3, np.complex128) if me == 0 else None, root=0))
        errs["from_numpy_mismatch"] = error_of(
            lambda: hpx.distributed_from_numpy(np.zeros(3 + (me == 0))))
        x, y = hpx.distributed_zeros(6), hpx.distributed_zeros(6, distribution="cyclic")
        errs["operand_policy"] = error_of(lambda: x + y)
        errs["operand_shape"] = error_of(lambda: x + hpx.distributed_zeros(7))
        errs["operand_numpy"] = error_of(lambda: x + np.ones(6))
        errs["index"] = error_of(lambda: x[6])
        errs["index_negative"] = error_of(lambda: x[-7])
        errs["index_one_locality"] = error_of(lambda: x[6 if me == n - 1 else 0])
        errs["index_differs"] = error_of(lambda: x[me])
        errs["index_type"] = error_of(lambda: x[1:3])

        def setitem():
            x[9] = 1.0

        errs["setitem"] = error_of(setitem)
        errs["to_numpy_root"] = error_of(lambda: x.to_numpy(root=n))
        errs["min_empty"] = error_of(lambda: hpx.distributed_zeros(0).min())
        out["errors"] = errs
        out["after_errors"] = float(hpx.distributed_ones(3 * n).sum())

    out["failures"] = failures
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
