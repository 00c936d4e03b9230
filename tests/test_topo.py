"""Process topologies and neighbour collectives of hpxpy.comm: errors as mpi4py on MPICH
raises them, and neighbour order and matching as MPI defines them, in real jobs."""

from __future__ import annotations

import pytest
from conftest import run_job

ERRORS = r'''
import json
from hpxpy.comm import MPI
S = MPI.COMM_SELF
out = {"id": 0}
def check(label, f):
    try:
        f()
        out[label] = "no error"
    except MPI.Exception as e:
        out[label] = e.Get_error_class()
    except Exception as e:
        out[label] = type(e).__name__
cart = S.Create_cart([1, 1], [True, False])
check("dims_not_divisible", lambda: MPI.Compute_dims(7, [0, 2]))
check("dims_fixed_product", lambda: MPI.Compute_dims(6, [2, 2]))
check("dims_negative_entry", lambda: MPI.Compute_dims(6, [-1, 0]))
check("dims_negative_nnodes", lambda: MPI.Compute_dims(-1, 2))
check("dims_negative_ndims", lambda: MPI.Compute_dims(6, -1))
check("cart_too_big", lambda: S.Create_cart([2]))
check("cart_negative_side", lambda: S.Create_cart([-1]))
check("cart_periods_short", lambda: S.Create_cart([1], []))
check("cart_periods_long", lambda: S.Create_cart([1], [0, 0]))
check("cart_map_too_big", lambda: S.Cart_map([2]))
check("shift_direction_high", lambda: cart.Shift(2, 1))
check("shift_direction_negative", lambda: cart.Shift(-1, 1))
check("coords_bad_rank", lambda: cart.Get_coords(1))
check("cart_rank_off_edge", lambda: cart.Get_cart_rank([0, 1]))
check("cart_rank_length", lambda: cart.Get_cart_rank([0]))
check("sub_length", lambda: cart.Sub([True]))
check("graph_too_big", lambda: S.Create_graph([1, 2], [0, 0]))
check("graph_bad_edge", lambda: S.Create_graph([1], [5]))
check("graph_bad_index", lambda: S.Create_graph([2, 1], [0, 0]))
check("graph_map_too_big", lambda: S.Graph_map([1, 2], [0, 0]))
check("graph_neighbors_bad_rank", lambda: S.Create_graph([1], [0]).Get_neighbors(1))
check("dist_weights_length", lambda: S.Create_dist_graph_adjacent([0], [0], [1, 2], [1]))
check("dist_one_side_weighted", lambda: S.Create_dist_graph_adjacent([0], [0], [1], None))
check("dist_empty_weights", lambda: S.Create_dist_graph_adjacent(
    [0], [0], MPI.WEIGHTS_EMPTY, MPI.WEIGHTS_EMPTY))
check("dist_bad_rank", lambda: S.Create_dist_graph_adjacent([1], [0]))
check("distg_degrees", lambda: S.Create_dist_graph([0], [2], [0], None))
check("topocomm_of_plain", lambda: MPI.Topocomm(S))
check("cartcomm_of_graph", lambda: MPI.Cartcomm(S.Create_graph([1], [0])))
check("null_cart_dims", lambda: MPI.Cartcomm().dims)
check("alltoall_wrong_count", lambda: cart.neighbor_alltoall([1, 2, 3]))
check("truncated", lambda: S.Create_cart([1], [True]).Neighbor_allgather(
    bytearray(2), bytearray(2)))
out["topology_plain"] = [MPI.COMM_WORLD.Get_topology() == MPI.UNDEFINED,
                         MPI.COMM_WORLD.is_topo]
out["constants"] = [MPI.GRAPH, MPI.CART, MPI.DIST_GRAPH,
                    MPI.UNWEIGHTED != MPI.WEIGHTS_EMPTY]
print("RESULT " + json.dumps(out))
'''

# What mpi4py 4.1.2 on MPICH 5.0.2 raises (error classes as MPICH's), checked by hand with
# the same calls; where that MPICH build checks nothing (a negative side, a rank out of
# range), the class MPICH's checks and Open MPI name.
EXPECTED_ERRORS = {
    "dims_not_divisible": 11, "dims_fixed_product": 11, "dims_negative_entry": 11,
    "dims_negative_nnodes": 12, "dims_negative_ndims": "ValueError",
    "cart_too_big": 12, "cart_negative_side": 11, "cart_periods_short": "ValueError",
    "cart_periods_long": "ValueError", "cart_map_too_big": 11,
    "shift_direction_high": 12, "shift_direction_negative": 12, "coords_bad_rank": 6,
    "cart_rank_off_edge": 12, "cart_rank_length": "ValueError", "sub_length": "ValueError",
    "graph_too_big": 12, "graph_bad_edge": 12, "graph_bad_index": 12,
    "graph_map_too_big": 12, "graph_neighbors_bad_rank": 6,
    "dist_weights_length": "ValueError", "dist_one_side_weighted": 10,
    "dist_empty_weights": "ValueError", "dist_bad_rank": 12, "distg_degrees": "ValueError",
    "topocomm_of_plain": "TypeError", "cartcomm_of_graph": "TypeError", "null_cart_dims": 5,
    "alltoall_wrong_count": "ValueError", "truncated": 14,
    "topology_plain": [True, False], "constants": [1, 2, 3, True], "id": 0,
}


def _results(job) -> list:
    assert job.returncode == 0, job.stderr[-3000:]
    return [job.results[i] for i in sorted(job.results)]


@pytest.mark.timeout(120)
def test_errors_have_mpich_classes():
    (got,) = _results(run_job(1, ["-c", ERRORS], timeout=60))
    assert got == EXPECTED_ERRORS


NEIGHBOURS = r'''
import json
import numpy as np
from hpxpy.comm import MPI
w = MPI.COMM_WORLD
rank, size = w.rank, w.size
out = {}
# a 1-D periodic ring and a non-periodic line: blocks in the negative direction land in
# the receiver's positive slot; PROC_NULL slots stay untouched
for name, periodic in (("ring", True), ("line", False)):
    cart = w.Create_cart([size], [periodic])
    send = np.array([100 * rank + 1, 100 * rank + 2], dtype="i")
    recv = np.full(2, -1, dtype="i")
    cart.Neighbor_alltoall(send, recv)
    gathered = np.full(2, -1, dtype="i")
    cart.Ineighbor_allgather(np.array([rank], "i"), gathered).Wait()
    out[name] = [recv.tolist(), gathered.tolist(), cart.neighbor_alltoall(["-", "+"]),
                 cart.Shift(0, 1), cart.inedges]
    cart.Free()
# a 2-D grid and its rows
dims = MPI.Compute_dims(size, 2)
grid = w.Create_cart(dims, [True, True])
row = grid.Sub([False, True])
out["grid"] = [grid.coords, row.dims, row.coords, row.size, grid.Dup().topo == grid.topo]
# a distributed graph from edges named anywhere: rank 0 names every ring edge
if rank == 0:
    sources, degrees = list(range(size)), [1] * size
    destinations = [(r + 1) % size for r in range(size)]
    weights = [r + 1 for r in range(size)]
else:
    sources, degrees, destinations, weights = [], [], [], []
dist = w.Create_dist_graph(sources, degrees, destinations, weights)
counts = [rank + 1]
recv = np.full(size + 1, -1, dtype="i")
src = dist.Get_dist_neighbors()[0]
dist.Neighbor_allgatherv(np.arange(rank + 1, dtype="i"),
                         [recv, ([s + 1 for s in src], [0] * len(src))])
out["dist"] = [dist.Get_dist_neighbors(), recv[: src[0] + 1].tolist(), counts]
print("RESULT " + json.dumps({"id": rank, **out}))
'''


def _expected_neighbours(n: int, rank: int) -> dict:
    left, right = (rank - 1) % n, (rank + 1) % n
    ring_recv = [100 * left + 2, 100 * right + 1]
    line_recv = [100 * left + 2 if rank > 0 else -1, 100 * right + 1 if rank < n - 1 else -1]
    line_src = [left if rank > 0 else -1, right if rank < n - 1 else -1]
    return {
        "ring": [ring_recv, [left, right], ["+", "-"], [left, right], [left, right]],
        "line": [line_recv, [s if s >= 0 else -1 for s in line_src],
                 [None if s < 0 else ("+" if i == 0 else "-") for i, s in enumerate(line_src)],
                 line_src, line_src],
    }


@pytest.mark.timeout(200)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_neighbour_order_and_edges(n):
    results = _results(run_job(n, ["-c", NEIGHBOURS], timeout=90))
    assert len(results) == n
    for rank, got in enumerate(results):
        expected = _expected_neighbours(n, rank)
        assert got["ring"] == expected["ring"], (rank, got)
        assert got["line"] == expected["line"], (rank, got)
        grid_dims = [[1, 1], [2, 1], [3, 1]][n - 1]
        coords = [rank // grid_dims[1], rank % grid_dims[1]]
        assert got["grid"] == [coords, [grid_dims[1]], [coords[1]], grid_dims[1], True]
        left = (rank - 1) % n
        assert got["dist"] == [[[left], [(rank + 1) % n], [[left + 1], [rank + 1]]],
                               list(range(left + 1)), [rank + 1]]
