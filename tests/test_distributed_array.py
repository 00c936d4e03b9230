"""Distributed arrays, as real jobs of 1, 2, 3 and 4 localities (tests/programs/darray_check.py),
plus the layout math of the C++ core checked in-process against the formulas."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import PROGRAMS, Job, clean_env, run_job

from hpxpy import _core

PROGRAM = str(PROGRAMS / "darray_check.py")
NONE, BLOCK, CYCLIC = 0, 1, 2


def block_range(n: int, p: int, r: int) -> range:
    """Block layout by its definition: the first n % p partitions get ceil(n / p) rows."""
    q, rem = divmod(n, p)
    start = r * q + min(r, rem)
    return range(start, start + q + (1 if r < rem else 0))


def cyclic_range(n: int, p: int, r: int) -> range:
    """Cyclic layout by its definition: global index g lives on partition g % p."""
    return range(r, n, p)


def expected_range(policy: str, n: int, p: int, r: int) -> range:
    if policy == "none":
        return range(n)
    return (block_range if policy == "block" else cyclic_range)(n, p, r)


# --- layout math, in-process ------------------------------------------------------------------


@pytest.mark.parametrize("p", [1, 2, 3, 4, 7])
def test_layout_formulas(p):
    for n in [0, 1, 2, 3, p - 1, p, p + 1, 10, 13, 100, 101]:
        if n < 0:
            continue
        for policy, name in ((BLOCK, "block"), (CYCLIC, "cyclic")):
            owner_of = {}
            for r in range(p):
                layout = _core.ArrayLayout(policy, n, p, r)
                want = expected_range(name, n, p, r)
                assert layout.count(r) == len(want)
                assert layout.global_indices(r).tolist() == list(want)
                for i, g in enumerate(want):
                    owner_of[g] = r
                    assert layout.owner(g) == r
                    assert layout.local_index(g) == i
            assert sorted(owner_of) == list(range(n))  # every index has exactly one owner
            layout = _core.ArrayLayout(policy, n, p, 0)
            assert layout.owners(np.arange(n)).tolist() == [owner_of[g] for g in range(n)]
            with pytest.raises(IndexError):
                layout.owner(n)
        none = _core.ArrayLayout(NONE, n, p, p - 1)  # replicated: one partition, all rows
        assert (none.partitions, none.count(0), none.global_indices(0).tolist()) == \
            (1, n, list(range(n)))


def test_layout_rejects_bad_arguments():
    with pytest.raises(ValueError):
        _core.ArrayLayout(7, 10, 2, 0)
    with pytest.raises(ValueError):
        _core.ArrayLayout(BLOCK, -1, 2, 0)
    with pytest.raises(IndexError):
        _core.ArrayLayout(BLOCK, 10, 2, 2)


def test_array_types_are_exported():
    import hpxpy as hpx

    for name in ("DistributedArrayF64", "DistributedArrayF32", "DistributedArrayI64",
                 "DistributedArrayI32", "DistributionInfo", "distributed_zeros",
                 "distributed_ones", "distributed_full", "distributed_from_numpy"):
        assert hasattr(hpx, name)
    assert [p.name for p in hpx.DistributionPolicy] == ["none", "block", "cyclic"]
    with pytest.raises(TypeError):
        hpx.DistributedArrayF64()


# --- real jobs --------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=[1, 2, 3, 4])
def job(request):
    n = request.param
    result = run_job(n, [PROGRAM], timeout=150)
    assert result.returncode == 0, result
    assert sorted(result.results) == list(range(n)), result
    return n, result.results


def test_values_match_numpy(job):
    """Round trips (every dtype, policy, root), reductions, element-wise operations,
    indexing, redistribution and the comm interplay, checked on every locality."""
    n, results = job
    for i, r in results.items():
        assert r["failures"] == [], f"locality {i} of {n}: {r['failures'][:30]}"


def test_layouts_match_definitions(job):
    n, results = job
    for me, r in results.items():
        for key, got in r["layouts"].items():
            policy, size = key.split("/")
            size = int(size)
            want = expected_range(policy, size, n, me)
            assert got["global"] == list(want), key
            assert got["local_len"] == len(want), key
            assert got["local_range"] == list(want), key
            parts = 1 if policy == "none" else n
            assert got["num_partitions"] == parts, key
            assert got["ranges"] == [list(expected_range(policy, size, n, q))
                                     for q in range(parts)], key
            assert got["sizes"] == [len(x) for x in got["ranges"]], key
            assert sum(got["sizes"]) == (size if policy != "none" else size), key
            assert got["partition"] == (0 if policy == "none" else me), key
            assert got["distributed"] == (policy != "none" and n > 1), key


def test_each_locality_holds_only_its_partition(job):
    n, results = job
    for me, r in results.items():
        mem = r["memory"]
        assert mem["local_nbytes"] == len(block_range(10**7, n, me)) * 8
        # The partition is really there (filled with zeros), and nothing more of that size.
        assert mem["rss_growth"] >= 0.9 * mem["local_nbytes"], mem
        assert mem["rss_growth"] <= mem["local_nbytes"] + 8 * 2**20, mem
        if n == 4:
            assert mem["local_nbytes"] == mem["full_nbytes"] // 4
            assert mem["rss_growth"] < mem["full_nbytes"] / 2, mem


def test_identity(job):
    n, results = job
    for me, r in results.items():
        ident = r["identity"]
        assert ident["block"] == (n > 1)
        assert ident["none"] is False
        assert ident["num_partitions"] == n
        assert ident["locality_id"] == me
        assert ident["policy_enum"]


def test_arrays_on_a_split_communicator(job):
    n, results = job
    for me, r in results.items():
        members = len([q for q in range(n) if q % 2 == me % 2])
        sub = r["sub"]
        assert sub["size"] == sub["partitions"] == members
        assert sub["is_comm"] and sub["roundtrip"] and sub["sum"] == 36.0
        assert sub["distributed"] == (members > 1)


def test_errors_raise_on_every_locality(job):
    n, results = job
    errors = [r["errors"] for r in results.values()]
    kinds = {
        "distribution": "ValueError", "dtype": "TypeError", "dtype_name": "TypeError",
        "negative": "ValueError", "shape_type": "TypeError", "one_bad_dtype": "TypeError",
        "from_numpy_root_bad": "TypeError", "operand_policy": "ValueError",
        "operand_shape": "ValueError", "operand_numpy": "TypeError", "index": "IndexError",
        "index_negative": "IndexError", "index_one_locality": "IndexError",
        "index_type": "TypeError", "setitem": "IndexError", "to_numpy_root": "ValueError",
        "min_empty": "ValueError",
    }
    if n > 1:  # these differ between localities only when there are several
        kinds.update(mismatch="ValueError", mismatch_ndim="ValueError",
                     from_numpy_mismatch="ValueError", index_differs="ValueError")
    for name, kind in kinds.items():
        for e in errors:
            assert e[name] is not None and e[name][0] == kind, (name, e[name])
    for e in errors:
        assert "unknown distribution 'diag'" in e["distribution"][1]
        assert "complex128" in e["dtype"][1] and "float64" in e["dtype"][1]
        assert "negative" in e["negative"][1]
        # the locality with the bad argument is named everywhere
        assert f"on locality {n - 1}" in e["one_bad_dtype"][1]
        assert "on locality 0" in e["from_numpy_root_bad"][1]
        if n > 1:
            assert "different shape" in e["mismatch"][1]
    for r in results.values():
        assert r["after_errors"] == 3.0 * n  # every locality still in step


def test_single_process_without_launcher(tmp_path: Path):
    """`python prog.py` with no launcher is a job of one: arrays work, not distributed."""
    out = subprocess.run([sys.executable, PROGRAM], capture_output=True, text=True,
                         timeout=120, env=clean_env(Path(__file__).resolve().parents[1]),
                         cwd=tmp_path)
    job = Job(out.returncode, out.stdout, out.stderr)
    assert job.returncode == 0, job
    r = job.results[0]
    assert r["n"] == 1 and r["failures"] == [] and r["identity"]["block"] is False
