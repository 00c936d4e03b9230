"""Process topologies as data: Cartesian grids, graphs and distributed graphs.

What a topology communicator knows about its shape, computed locally: coordinates and
ranks of a Cartesian grid, shifts, the neighbours of a rank, and the plan of a neighbour
collective (who sends which block to whom, and the step that keeps blocks between the
same pair of processes apart). Argument checks raise what mpi4py on MPICH raises:
``ValueError`` for a sequence of the wrong length (mpi4py's own check), else
``MPI.Exception`` with MPICH's error class.

Neighbour order is MPI's: for a Cartesian grid, per dimension the neighbour in the
negative then in the positive direction (``PROC_NULL`` past a non-periodic edge); for a
graph, the rank's edges in order; for a distributed graph, the sources and destinations
as given. A Cartesian block sent in the negative direction lands in the receiver's
positive-direction slot and vice versa, so the two directions use different steps: with a
periodic dimension of size 1 or 2 both neighbours are one process, and the blocks still
land where MPI says (MPICH and Open MPI do the same).

Layer 3 of hpxpy.comm: imports ``_constants`` and ``_errors`` only.
"""

from __future__ import annotations

import operator
from typing import Any, List, Optional, Sequence, Tuple

from . import _constants as C
from ._errors import Exception as MPIException

Plan = List[Tuple[int, int]]  # (peer rank or PROC_NULL, step) per block, in block order


def int_list(values: Any, what: str = "") -> List[int]:
    """A sequence of integers as a list (None is empty)."""
    if values is None:
        return []
    return [operator.index(v) for v in values]


def expect_len(values: Sequence[Any], n: int) -> None:
    """mpi4py's check of a sequence's length (its message, its ValueError)."""
    if len(values) != n:
        raise ValueError(f"expecting {n} items, got {len(values)}")


def _product(values: Sequence[int]) -> int:
    out = 1
    for v in values:
        out *= v
    return out


# -- Compute_dims ----------------------------------------------------------------------------
def _balanced(n: int, k: int, cap: int) -> Optional[List[int]]:
    """The lexicographically smallest non-increasing list of ``k`` factors of ``n``, each
    at most ``cap`` (the most balanced grid first: the largest side as small as possible,
    then the next ...); None if there is none."""
    if k == 0:
        return [] if n == 1 else None
    if k == 1:
        return [n] if n <= cap else None
    first = 1
    while first ** k < n:  # the largest side is at least the k-th root
        first += 1
    for d in range(first, min(cap, n) + 1):
        if n % d == 0:
            rest = _balanced(n // d, k - 1, d)
            if rest is not None:
                return [d, *rest]
    return None


def compute_dims(nnodes: int, dims: Any) -> List[int]:
    """MPI_Dims_create: ``dims`` (a count, or a sequence whose zeros are to be filled)
    completed so that the product is ``nnodes``, the free sides as balanced as possible and
    non-increasing."""
    nnodes = operator.index(nnodes)
    try:
        ndims = operator.index(dims)
    except TypeError:  # a sequence
        out = int_list(dims)
    else:
        if ndims < 0:
            raise ValueError(f"expecting {ndims} items, got 0")
        out = [0] * ndims
    if not out:  # as MPICH: no dimensions, nothing to check
        return out
    if nnodes <= 0:
        raise MPIException(C.ERR_ARG, f"invalid number of nodes {nnodes}; expected > 0")
    if any(d < 0 for d in out):
        raise MPIException(C.ERR_DIMS, f"invalid dimension sizes {out}; expected >= 0")
    fixed = _product([d for d in out if d > 0])
    free = [i for i, d in enumerate(out) if d == 0]
    if nnodes % fixed or (not free and fixed != nnodes):
        raise MPIException(C.ERR_DIMS, f"cannot make a grid of {nnodes} nodes with sides "
                                        f"{out}")
    sides = _balanced(nnodes // fixed, len(free), nnodes)
    assert sides is not None  # nnodes // fixed, ones for the rest, always fits
    for i, side in zip(free, sides):
        out[i] = side
    return out


# -- the topologies -------------------------------------------------------------------------
class Topology:
    """What every topology answers: its kind, and the neighbours of this process."""

    kind: int
    sources: List[int]  # in-neighbours (receive blocks), in order
    destinations: List[int]  # out-neighbours (send blocks), in order

    def recv_plan(self) -> Plan:
        """(source, step) of each receive block: blocks from one peer with one step are
        matched in order."""
        return [(s, 0) for s in self.sources]

    def send_plan(self) -> Plan:
        """(destination, step) of each send block."""
        return [(d, 0) for d in self.destinations]


class Cart(Topology):
    """A Cartesian grid: ``dims`` sides, ``periods`` (0/1) per side, rank ``rank`` in it
    (row-major order: the last dimension varies fastest)."""

    kind = C.CART

    def __init__(self, dims: List[int], periods: List[int], rank: int) -> None:
        self.dims, self.periods, self.rank = dims, periods, rank
        self.ndim = len(dims)
        self.coords = self.coords_of(rank)
        self.sources = []
        for direction in range(self.ndim):
            self.sources += [self.neighbour(direction, -1), self.neighbour(direction, +1)]
        self.destinations = list(self.sources)

    @property
    def size(self) -> int:
        return _product(self.dims)

    def coords_of(self, rank: int) -> List[int]:
        """The coordinates of ``rank``."""
        out = []
        for side in reversed(self.dims):
            out.append(rank % side)
            rank //= side
        return out[::-1]

    def rank_of(self, coords: List[int]) -> int:
        """The rank at ``coords`` (wrapped along periodic sides)."""
        rank = 0
        for i, (c, side) in enumerate(zip(coords, self.dims)):
            if self.periods[i]:
                c %= side
            elif not 0 <= c < side:
                raise MPIException(C.ERR_ARG, f"invalid coordinate {c} in dimension {i}; "
                                              f"expected 0 <= coordinate < {side}")
            rank = rank * side + c
        return rank

    def neighbour(self, direction: int, disp: int) -> int:
        """The rank ``disp`` steps away along ``direction`` (PROC_NULL off an edge)."""
        coords = list(self.coords)
        c = coords[direction] + disp
        side = self.dims[direction]
        if self.periods[direction]:
            c %= side
        elif not 0 <= c < side:
            return C.PROC_NULL
        coords[direction] = c
        return self.rank_of(coords)

    def shift(self, direction: int, disp: int) -> Tuple[int, int]:
        """(source, dest) of a shift by ``disp`` along ``direction``."""
        if not 0 <= direction < self.ndim:
            raise MPIException(C.ERR_ARG, f"invalid direction {direction}; expected 0 <= "
                                          f"direction < {self.ndim}")
        return self.neighbour(direction, -disp), self.neighbour(direction, disp)

    def recv_plan(self) -> Plan:
        # slot 2d holds what the negative neighbour sent in its positive direction
        return [(s, i % 2) for i, s in enumerate(self.sources)]

    def send_plan(self) -> Plan:
        # block 2d goes in the negative direction: into the receiver's slot 2d+1
        return [(d, 1 - i % 2) for i, d in enumerate(self.destinations)]


class Graph(Topology):
    """A graph over the ranks (MPI_Graph_create's ``index`` and ``edges``)."""

    kind = C.GRAPH

    def __init__(self, index: List[int], edges: List[int], rank: int) -> None:
        self.index, self.edges, self.rank = index, edges, rank
        self.nnodes, self.nedges = len(index), len(edges)
        self.sources = self.neighbours(rank)
        self.destinations = list(self.sources)

    def neighbours(self, rank: int) -> List[int]:
        if not 0 <= rank < self.nnodes:
            raise MPIException(C.ERR_RANK, f"invalid rank {rank}; expected 0 <= rank < "
                                           f"{self.nnodes}")
        start = self.index[rank - 1] if rank else 0
        return self.edges[start:self.index[rank]]


class DistGraph(Topology):
    """A distributed graph: this process's in- and out-neighbours, weights or None."""

    kind = C.DIST_GRAPH

    def __init__(self, sources: List[int], destinations: List[int],
                 weights: Optional[Tuple[List[int], List[int]]]) -> None:
        self.sources, self.destinations, self.weights = sources, destinations, weights


# -- the checks of the creating calls --------------------------------------------------------
def cart_args(dims: Any, periods: Any, size: int, what: str = "create"
              ) -> Tuple[List[int], List[int]]:
    """(dims, periods as 0/1) of Create_cart/Cart_map, checked against a communicator of
    ``size`` ranks (Cart_map: ``what`` "map")."""
    dims = int_list(dims)
    if periods is None:
        periods = [0] * len(dims)
    elif isinstance(periods, bool):
        periods = [int(periods)] * len(dims)
    else:
        if not hasattr(periods, "__len__"):
            raise TypeError(f"object of type '{type(periods).__name__}' has no len()")
        periods = [int(bool(p)) for p in periods]
        expect_len(periods, len(dims))
    if any(d < 0 for d in dims):  # as MPICH, a side of 0 makes an empty grid
        raise MPIException(C.ERR_DIMS, f"invalid dimension sizes {dims}; expected >= 0")
    if _product(dims) > size:
        raise MPIException(C.ERR_DIMS if what == "map" else C.ERR_ARG,
                           f"the grid {dims} has {_product(dims)} nodes, more than the "
                           f"communicator's {size} processes")
    return dims, periods


def graph_args(index: Any, edges: Any, size: int) -> Tuple[List[int], List[int]]:
    """(index, edges) of Create_graph/Graph_map, checked; as mpi4py, an ``index`` that
    starts with 0 and ends with the number of edges is the standard adjacency array with a
    leading 0, which is dropped."""
    index, edges = int_list(index), int_list(edges)
    if len(index) > 0 and index[0] == 0 and index[-1] == len(edges):
        index = index[1:]
    nnodes = len(index)
    if nnodes > size:
        raise MPIException(C.ERR_ARG, f"the graph has {nnodes} nodes, more than the "
                                      f"communicator's {size} processes")
    if any(b < a for a, b in zip([0, *index], index)) or (index and index[-1] != len(edges)):
        raise MPIException(C.ERR_ARG, f"invalid graph index {index}")
    if any(not 0 <= e < nnodes for e in edges):
        raise MPIException(C.ERR_ARG, f"invalid graph edges {edges}; expected 0 <= node < "
                                      f"{nnodes}")
    return index, edges


def _is(value: Any, constant: int) -> bool:
    return value is not None and not hasattr(value, "__len__") and value == constant


def _weights(weights: Any, degree: int) -> Optional[List[int]]:
    """A weights argument: None (unweighted), [] (WEIGHTS_EMPTY), or its list."""
    if weights is None or _is(weights, C.UNWEIGHTED):
        return None
    if _is(weights, C.WEIGHTS_EMPTY):
        if degree:
            raise ValueError("empty weights but nonzero degree")
        return []
    values = int_list(weights)
    expect_len(values, degree)
    return values


def _check_ranks(ranks: List[int], size: int, what: str) -> None:
    for r in ranks:
        if r != C.PROC_NULL and not 0 <= r < size:
            raise MPIException(C.ERR_ARG, f"invalid {what} {r}; expected 0 <= rank < {size}"
                                          " or MPI.PROC_NULL")


def dist_adjacent_args(sources: Any, destinations: Any, sourceweights: Any, destweights: Any,
                       size: int) -> DistGraph:
    """The distributed graph of Create_dist_graph_adjacent, checked."""
    src, dst = int_list(sources), int_list(destinations)
    sw, dw = _weights(sourceweights, len(src)), _weights(destweights, len(dst))
    if (sw is None) != (dw is None):
        raise MPIException(C.ERR_TOPOLOGY, "either both or neither of sourceweights and "
                                           "destweights must be given")
    _check_ranks(src, size, "source")
    _check_ranks(dst, size, "destination")
    return DistGraph(src, dst, None if sw is None else (sw, dw))  # type: ignore[arg-type]


Edge = Tuple[int, int, int]  # (source, destination, weight)


def dist_edges(sources: Any, degrees: Any, destinations: Any, weights: Any, size: int
               ) -> Tuple[List[Edge], bool]:
    """(the edges this process specifies, whether weighted) for Create_dist_graph."""
    src, deg = int_list(sources), int_list(degrees)
    expect_len(deg, len(src))
    dst = int_list(destinations)
    expect_len(dst, sum(deg))
    w = _weights(weights, len(dst))
    _check_ranks(src, size, "source")
    _check_ranks(dst, size, "destination")
    if any(d < 0 for d in deg):
        raise MPIException(C.ERR_ARG, f"invalid degrees {deg}; expected >= 0")
    edges: List[Edge] = []
    k = 0
    for s, d in zip(src, deg):
        for _ in range(d):
            edges.append((s, dst[k], w[k] if w else 1))
            k += 1
    return edges, w is not None
