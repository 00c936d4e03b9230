"""Every runtime function and collective, run as real jobs of 1, 2, 3 and 4 localities."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import PROGRAMS, run_job

DTYPES = ["float64", "float32", "int64", "int32"]


def expected_reduce(n: int) -> dict:
    rows = [np.array([i + 1, 2 * i - 3, 7], dtype=np.float64) for i in range(n)]
    fold = {"sum": np.add, "prod": np.multiply, "min": np.minimum, "max": np.maximum}
    out = {}
    for dt in DTYPES:
        for op, f in fold.items():
            acc = rows[0].copy()
            for r in rows[1:]:
                acc = f(acc, r)
            out[f"{dt}/{op}"] = acc.tolist()
    return out


@pytest.fixture(scope="module", params=[1, 2, 3, 4])
def coverage_job(request):
    n = request.param
    job = run_job(n, [str(PROGRAMS / "coverage.py")], timeout=120)
    assert job.returncode == 0, job
    assert sorted(job.results) == list(range(n)), job
    return n, job.results


def test_real_processes_and_identity(coverage_job):
    n, results = coverage_job
    assert len({r["pid"] for r in results.values()}) == n  # n distinct processes
    for i, r in results.items():
        assert (r["id"], r["n"], r["coll_id"], r["coll_n"]) == (i, n, i, n)
        assert r["running"] and not r["running_before"] and not r["running_after"]
        assert r["name"]


def test_all_reduce(coverage_job):
    n, results = coverage_job
    want = expected_reduce(n)
    for r in results.values():
        assert r["reduce"] == want
        assert r["reduce_scalar"] == [sum(i + 0.5 for i in range(n)), n * (n + 1) // 2]
        assert r["matrix"] == [[sum(range(n))] * 3] * 2
        assert r["after_errors"] == n


def test_all_reduce_bit_identical(coverage_job):
    n, results = coverage_job
    assert len({r["bits"] for r in results.values()}) == 1
    noisy = [np.random.default_rng(i) for i in range(n)]
    total = sum(g.standard_normal(1000) * 10.0 ** g.integers(-8, 8, 1000) for g in noisy)
    got = np.frombuffer(bytes.fromhex(results[0]["bits"]))
    np.testing.assert_allclose(got, total, rtol=1e-12, atol=1e-6)


def test_large_all_reduce(coverage_job):
    n, results = coverage_job
    assert len({r["big"][0] for r in results.values()}) == 1  # bit-identical everywhere
    total = sum(np.random.default_rng(100 + i).standard_normal(100_003) for i in range(n))
    for r in results.values():
        assert r["big"][1] == pytest.approx(total[0], rel=1e-12, abs=1e-12)
        assert r["big"][2] == pytest.approx(total[-1], rel=1e-12, abs=1e-12)
        assert r["big"][3] == n - 1


def test_broadcast(coverage_job):
    n, results = coverage_job
    for r in results.values():
        assert r["bcast"] == [(np.arange(6.0).reshape(2, 3) * (root + 1)).tolist()
                              for root in range(n)]
        assert r["bcast_scalar"] == 41.5


def test_gather(coverage_job):
    n, results = coverage_job
    for me, r in results.items():
        for root, got in enumerate(r["gather"]):
            if me == root:
                assert got == [[i] * (i + 1) for i in range(n)]
            else:
                assert got is None


def test_scatter(coverage_job):
    n, results = coverage_job
    for me, r in results.items():
        assert r["scatter"] == [[10.0 * root + me] * (me + 1) for root in range(n)]
        assert r["scatter_array"] == [2 * me, 2 * me + 1]


def test_futures(coverage_job):
    n, results = coverage_job
    for me, r in results.items():
        assert r["async"] == [[float(n)], [2.0 * n], True]
        gathered = [[i] for i in range(n)] if me == 0 else None
        assert r["await"] == [[n - 1], gathered, me]


def test_errors_raise_on_every_locality(coverage_job):
    n, results = coverage_job
    last = n - 1
    for r in results.values():
        e = r["errors"]
        assert e["root_range"][0] == "ValueError" and f"root {n} out of range" in e["root_range"][1]
        assert e["bad_op_one"][0] == "ValueError" and "'avg'" in e["bad_op_one"][1]
        assert e["complex"][0] == "TypeError" and "complex128" in e["complex"][1]
        assert e["scatter_count"][0] == "ValueError"
        assert f"{n + 1} values, expected one per locality ({n})" in e["scatter_count"][1]
        assert e["bcast_dtype"][0] == "TypeError"
        if n > 1:
            assert e["dtype_one"][0] == "TypeError"
            assert e["shape_one"][0] == "ValueError"
            assert "float32" in e["dtype_one"][1] and "float64" in e["dtype_one"][1]
            assert "(3,)" in e["shape_one"][1] and "(2,)" in e["shape_one"][1]
            assert e["barrier_name"][0] == "ValueError"
            assert f"on locality {last}" in e["bad_op_one"][1]
        else:
            # One locality: nobody to disagree with.
            assert e["barrier_name"] is None and e["dtype_one"] is None
            assert e["shape_one"] is None
