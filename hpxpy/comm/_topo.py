"""Topology communicators: their constructors and the methods of ``Topocomm``,
``Cartcomm``, ``Graphcomm`` and ``Distgraphcomm``.

The public classes are declared in ``_comm`` (they derive from ``Intracomm``); their
methods live here, in mix-in classes over ``_Handle`` (``TopoMethods``, ``CartMethods``,
``GraphMethods``, ``DistgraphMethods``), and the constructors (``Intracomm.Create_cart``,
``Create_graph``, ``Create_dist_graph[_adjacent]``, ``Cartcomm.Sub``) return
``(members, base context, topology)`` for ``build`` to turn into a communicator of the
caller's class, or None where the caller is not a member (a null communicator of that
class, as mpi4py returns). A communicator's topology (``_topology``'s objects) is kept in
its ``_topology`` field, and ``Dup``/``Clone`` keep it. Processes are never reordered:
``reorder`` is accepted and ignored, so ``Cart_map``/``Graph_map`` give the rank itself
(or ``UNDEFINED`` past the grid or graph), as MPICH does.

Layer 6 of hpxpy.comm: imports ``_handle``, ``_create``, ``_objcoll``, ``_neighbor``,
``_nbcoll``, ``_topology``, ``_request``, ``_pickle``, ``_errors`` and ``_typing``.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple, Type, TypeVar, cast

from . import _constants as C
from . import _create, _nbcoll, _neighbor, _pickle
from ._errors import Exception as MPIException
from ._handle import _Handle
from ._objcoll import _comm_lock, exchange
from ._request import Prequest, Request
from ._topology import (
    Cart,
    DistGraph,
    Graph,
    Topology,
    cart_args,
    dist_adjacent_args,
    dist_edges,
    expect_len,
    graph_args,
    int_list,
)
from ._typing import BufSpec, BufSpecB, BufSpecV, BufSpecW

MadeTopo = Optional[Tuple[List[int], int, Topology]]
H = TypeVar("H", bound=_Handle)


def build(cls: Type[H], made: MadeTopo) -> H:
    """A communicator of class ``cls`` from a constructor's result (None: a null one)."""
    if made is None:
        return cls()
    members, context, topo = made
    comm = cls(members, context, "")  # type: ignore[call-arg]
    comm._topology = topo
    return comm


def kind(comm: _Handle) -> int:
    """Get_topology: CART, GRAPH, DIST_GRAPH or UNDEFINED."""
    comm._check()
    return C.UNDEFINED if comm._topology is None else comm._topology.kind


# -- constructors (collective over ``comm``) ---------------------------------------------------
def create_cart(comm: _Handle, dims: Sequence[int], periods: Any) -> MadeTopo:
    """A grid over the first prod(dims) ranks, in row-major order."""
    size = len(comm._check())
    dims, periods = cart_args(dims, periods, size)
    made = _create.first(comm, _product(dims))
    if made is None:
        return None
    return made[0], made[1], Cart(dims, periods, comm._rank)


def _product(values: Sequence[int]) -> int:
    out = 1
    for v in values:
        out *= v
    return out


def cart_map(comm: _Handle, dims: Sequence[int], periods: Any) -> int:
    """This rank's rank in the grid, or UNDEFINED (no reordering)."""
    size = len(comm._check())
    dims, _ = cart_args(dims, periods, size, "map")
    return comm._rank if comm._rank < _product(dims) else C.UNDEFINED


def create_graph(comm: _Handle, index: Sequence[int], edges: Sequence[int]) -> MadeTopo:
    """A graph over the first len(index) ranks."""
    size = len(comm._check())
    index, edges = graph_args(index, edges, size)
    made = _create.first(comm, len(index))
    if made is None:
        return None
    return made[0], made[1], Graph(index, edges, comm._rank)


def graph_map(comm: _Handle, index: Sequence[int], edges: Sequence[int]) -> int:
    size = len(comm._check())
    index, _ = graph_args(index, edges, size)
    return comm._rank if comm._rank < len(index) else C.UNDEFINED


def create_dist_graph_adjacent(comm: _Handle, sources: Any, destinations: Any,
                               sourceweights: Any, destweights: Any) -> MadeTopo:
    """Every rank names its own in- and out-neighbours: no exchange, fresh contexts."""
    size = len(comm._check())
    topo = dist_adjacent_args(sources, destinations, sourceweights, destweights, size)
    members, base = _create.dup(comm)
    return members, base, topo


def create_dist_graph(comm: _Handle, sources: Any, degrees: Any, destinations: Any,
                      weights: Any) -> MadeTopo:
    """Any rank may name any edge: each edge goes to its two ends (one pairwise exchange);
    a rank's neighbours are in the order of the ranks that named them, then as named."""
    size = len(comm._check())
    edges, weighted = dist_edges(sources, degrees, destinations, weights, size)
    outgoing: List[List[Any]] = [[] for _ in range(size)]
    for edge in edges:
        for end in {edge[0], edge[1]} - {C.PROC_NULL}:
            outgoing[end].append(edge)
    me = comm._rank
    received = exchange(comm, comm._next(), [_pickle.dumps((weighted, e)) for e in outgoing],
                        lambda payload: _pickle.loads(payload, 0))
    src: List[int] = []
    dst: List[int] = []
    sw: List[int] = []
    dw: List[int] = []
    for _, named in received:
        for s, d, w in named:
            if d == me:
                src.append(s)
                sw.append(w)
            if s == me:
                dst.append(d)
                dw.append(w)
    any_weighted = any(flag for flag, _ in received)
    members, base = _create.dup(comm)
    return members, base, DistGraph(src, dst, (sw, dw) if any_weighted else None)


# -- the classes' methods ----------------------------------------------------------------------
class TopoMethods(_Handle):
    """``Topocomm``: neighbour counts and lists, neighbour collectives."""

    _expecting = "a topology communicator"
    _kinds: Tuple[int, ...] = (C.CART, C.GRAPH, C.DIST_GRAPH)

    def _accept(self, comm: _Handle) -> None:
        """``Cls(comm)``: ``comm`` must be null or have a topology of this class's kind."""
        topo = comm._topology
        if comm._members is None:
            return
        if topo is None:
            raise TypeError("expecting a topology communicator")
        if topo.kind not in self._kinds:
            raise TypeError(f"expecting {self._expecting}")

    def _topo(self) -> Topology:
        return _neighbor.topology(self)

    @property
    def degrees(self) -> Tuple[int, int]:
        """(in-degree, out-degree)."""
        topo = self._topo()
        return len(topo.sources), len(topo.destinations)

    @property
    def indegree(self) -> int:
        """The number of in-neighbours."""
        return len(self._topo().sources)

    @property
    def outdegree(self) -> int:
        """The number of out-neighbours."""
        return len(self._topo().destinations)

    @property
    def inedges(self) -> List[int]:
        """The in-neighbours, in order."""
        return list(self._topo().sources)

    @property
    def outedges(self) -> List[int]:
        """The out-neighbours, in order."""
        return list(self._topo().destinations)

    @property
    def inoutedges(self) -> Tuple[List[int], List[int]]:
        """(in-neighbours, out-neighbours)."""
        topo = self._topo()
        return list(topo.sources), list(topo.destinations)

    # -- neighbour collectives: buffers -----------------------------------------------------
    def Neighbor_allgather(self, sendbuf: BufSpec, recvbuf: BufSpecB) -> None:
        """The send buffer to every out-neighbour; block k of ``recvbuf`` from
        in-neighbour k."""
        _neighbor.allgather(self, None, sendbuf, recvbuf, True)

    def Neighbor_allgatherv(self, sendbuf: BufSpec, recvbuf: BufSpecV) -> None:
        """As Neighbor_allgather with a count and displacement per in-neighbour."""
        _neighbor.allgather(self, None, sendbuf, recvbuf, False)

    def Neighbor_alltoall(self, sendbuf: BufSpecB, recvbuf: BufSpecB) -> None:
        """Block k of ``sendbuf`` to out-neighbour k; block k of ``recvbuf`` from
        in-neighbour k."""
        _neighbor.alltoall(self, None, sendbuf, recvbuf, True)

    def Neighbor_alltoallv(self, sendbuf: BufSpecV, recvbuf: BufSpecV) -> None:
        """As Neighbor_alltoall with counts and displacements per neighbour."""
        _neighbor.alltoall(self, None, sendbuf, recvbuf, False)

    def Neighbor_alltoallw(self, sendbuf: BufSpecW, recvbuf: BufSpecW) -> None:
        """As Neighbor_alltoallv with a datatype per neighbour, displacements in bytes."""
        _neighbor.alltoallw(self, None, sendbuf, recvbuf)

    def Ineighbor_allgather(self, sendbuf: BufSpec, recvbuf: BufSpecB) -> Request:
        """Start a Neighbor_allgather."""
        return _nbcoll.start(self, _neighbor.allgather, sendbuf, recvbuf, True)

    def Ineighbor_allgatherv(self, sendbuf: BufSpec, recvbuf: BufSpecV) -> Request:
        """Start a Neighbor_allgatherv."""
        return _nbcoll.start(self, _neighbor.allgather, sendbuf, recvbuf, False)

    def Ineighbor_alltoall(self, sendbuf: BufSpecB, recvbuf: BufSpecB) -> Request:
        """Start a Neighbor_alltoall."""
        return _nbcoll.start(self, _neighbor.alltoall, sendbuf, recvbuf, True)

    def Ineighbor_alltoallv(self, sendbuf: BufSpecV, recvbuf: BufSpecV) -> Request:
        """Start a Neighbor_alltoallv."""
        return _nbcoll.start(self, _neighbor.alltoall, sendbuf, recvbuf, False)

    def Ineighbor_alltoallw(self, sendbuf: BufSpecW, recvbuf: BufSpecW) -> Request:
        """Start a Neighbor_alltoallw."""
        return _nbcoll.start(self, _neighbor.alltoallw, sendbuf, recvbuf)

    # -- persistent forms: each Start runs the non-blocking one ------------------------------
    def Neighbor_allgather_init(self, sendbuf: BufSpec, recvbuf: BufSpecB,
                                info: Any = None) -> Prequest:
        """A persistent Neighbor_allgather."""
        self._topo()
        return Prequest(starter=lambda: self.Ineighbor_allgather(sendbuf, recvbuf))

    def Neighbor_allgatherv_init(self, sendbuf: BufSpec, recvbuf: BufSpecV,
                                 info: Any = None) -> Prequest:
        """A persistent Neighbor_allgatherv."""
        self._topo()
        return Prequest(starter=lambda: self.Ineighbor_allgatherv(sendbuf, recvbuf))

    def Neighbor_alltoall_init(self, sendbuf: BufSpecB, recvbuf: BufSpecB,
                               info: Any = None) -> Prequest:
        """A persistent Neighbor_alltoall."""
        self._topo()
        return Prequest(starter=lambda: self.Ineighbor_alltoall(sendbuf, recvbuf))

    def Neighbor_alltoallv_init(self, sendbuf: BufSpecV, recvbuf: BufSpecV,
                                info: Any = None) -> Prequest:
        """A persistent Neighbor_alltoallv."""
        self._topo()
        return Prequest(starter=lambda: self.Ineighbor_alltoallv(sendbuf, recvbuf))

    def Neighbor_alltoallw_init(self, sendbuf: BufSpecW, recvbuf: BufSpecW,
                                info: Any = None) -> Prequest:
        """A persistent Neighbor_alltoallw."""
        self._topo()
        return Prequest(starter=lambda: self.Ineighbor_alltoallw(sendbuf, recvbuf))

    # -- neighbour collectives: objects (one call at a time per operation, as mpi4py) ---------
    def neighbor_allgather(self, sendobj: Any) -> List[Any]:
        """The object of every in-neighbour, in order (None from PROC_NULL)."""
        with _comm_lock(self, "neighbor_allgather"):
            return _neighbor.obj_allgather(self, sendobj)

    def neighbor_alltoall(self, sendobj: List[Any]) -> List[Any]:
        """Item k of ``sendobj`` to out-neighbour k; returns the in-neighbours' items."""
        with _comm_lock(self, "neighbor_alltoall"):
            return _neighbor.obj_alltoall(self, sendobj)


class CartMethods(TopoMethods):
    """``Cartcomm``: a Cartesian grid."""

    _expecting = "a Cartesian communicator"
    _kinds = (C.CART,)

    def _cart(self) -> Cart:
        return cast(Cart, self._topo())

    def Get_dim(self) -> int:
        """The number of dimensions."""
        return self._cart().ndim

    dim = property(Get_dim)
    ndim = property(Get_dim)

    def Get_topo(self) -> Tuple[List[int], List[int], List[int]]:
        """(dims, periods as 0/1, this process's coordinates)."""
        cart = self._cart()
        return list(cart.dims), list(cart.periods), list(cart.coords)

    topo = property(Get_topo)

    @property
    def dims(self) -> List[int]:
        """The size of each dimension."""
        return list(self._cart().dims)

    @property
    def periods(self) -> List[int]:
        """Whether each dimension is periodic (0/1)."""
        return list(self._cart().periods)

    @property
    def coords(self) -> List[int]:
        """This process's coordinates."""
        return list(self._cart().coords)

    def Get_cart_rank(self, coords: Sequence[int]) -> int:
        """The rank at ``coords`` (wrapped along periodic dimensions)."""
        cart = self._cart()
        values = int_list(coords)
        expect_len(values, cart.ndim)
        return cart.rank_of(values)

    def Get_coords(self, rank: int) -> List[int]:
        """The coordinates of ``rank``."""
        cart = self._cart()
        if not 0 <= rank < cart.size:
            raise _rank_error(rank, cart.size)
        return cart.coords_of(rank)

    def Shift(self, direction: int, disp: int) -> Tuple[int, int]:
        """(source, dest): the ranks ``disp`` steps back and forward along
        ``direction`` (PROC_NULL past a non-periodic edge)."""
        return self._cart().shift(direction, disp)

    def Sub(self, remain_dims: Sequence[bool]) -> Any:
        """The sub-grid of the dimensions kept (``remain_dims[i]`` true) through this
        process; collective."""
        cart = self._cart()
        keep = [bool(k) for k in remain_dims]
        expect_len(keep, cart.ndim)
        color = 0
        for i, side in enumerate(cart.dims):
            if not keep[i]:
                color = color * side + cart.coords[i]
        made = _create.split(self, color, self._rank)
        assert made is not None
        dims = [d for d, k in zip(cart.dims, keep) if k]
        periods = [p for p, k in zip(cart.periods, keep) if k]
        rank = Cart(dims, periods, 0).rank_of([c for c, k in zip(cart.coords, keep) if k])
        return build(type(self), (made[0], made[1], Cart(dims, periods, rank)))


def _rank_error(rank: int, size: int) -> MPIException:
    return MPIException(C.ERR_RANK, f"invalid rank {rank}; expected 0 <= rank < {size}")


class GraphMethods(TopoMethods):
    """``Graphcomm``: a graph given whole on every process."""

    _expecting = "a graph communicator"
    _kinds = (C.GRAPH,)

    def _graph(self) -> Graph:
        return cast(Graph, self._topo())

    def Get_dims(self) -> Tuple[int, int]:
        """(number of nodes, number of edges)."""
        graph = self._graph()
        return graph.nnodes, graph.nedges

    dims = property(Get_dims)

    @property
    def nnodes(self) -> int:
        """The number of nodes."""
        return self._graph().nnodes

    @property
    def nedges(self) -> int:
        """The number of edges."""
        return self._graph().nedges

    def Get_topo(self) -> Tuple[List[int], List[int]]:
        """(index, edges)."""
        graph = self._graph()
        return list(graph.index), list(graph.edges)

    topo = property(Get_topo)

    @property
    def index(self) -> List[int]:
        """The cumulative neighbour counts of the nodes."""
        return list(self._graph().index)

    @property
    def edges(self) -> List[int]:
        """The neighbours of every node, node after node."""
        return list(self._graph().edges)

    def Get_neighbors_count(self, rank: int) -> int:
        """The number of neighbours of ``rank``."""
        return len(self._graph().neighbours(rank))

    def Get_neighbors(self, rank: int) -> List[int]:
        """The neighbours of ``rank``, in order."""
        return list(self._graph().neighbours(rank))

    @property
    def nneighbors(self) -> int:
        """The number of this process's neighbours."""
        return len(self._graph().sources)

    @property
    def neighbors(self) -> List[int]:
        """This process's neighbours."""
        return list(self._graph().sources)


class DistgraphMethods(TopoMethods):
    """``Distgraphcomm``: a graph each process knows its own edges of."""

    _expecting = "a distributed graph communicator"
    _kinds = (C.DIST_GRAPH,)

    def _dist(self) -> DistGraph:
        return cast(DistGraph, self._topo())

    def Get_dist_neighbors_count(self) -> Tuple[int, int, bool]:
        """(in-degree, out-degree, weighted)."""
        dist = self._dist()
        return len(dist.sources), len(dist.destinations), dist.weights is not None

    def Get_dist_neighbors(self) -> Tuple[List[int], List[int],
                                          Optional[Tuple[List[int], List[int]]]]:
        """(sources, destinations, (source weights, destination weights) or None)."""
        dist = self._dist()
        weights = None if dist.weights is None else (list(dist.weights[0]),
                                                     list(dist.weights[1]))
        return list(dist.sources), list(dist.destinations), weights
