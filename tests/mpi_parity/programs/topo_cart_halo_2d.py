from mpi4py import MPI

import json

import numpy as np

# 2-D Cartesian halo exchange, periodic and not: ghost cells filled once with Shift and
# Sendrecv, once with Neighbor_alltoall (edge strips packed per dimension, negative then
# positive direction), once with Neighbor_alltoallv (Ineighbor_alltoallv on the open grid);
# they must agree, and a PROC_NULL neighbour past a non-periodic edge leaves its ghost cells
# untouched (-1). Also the grid's queries: coordinates, shifts, ranks of coordinates,
# neighbour lists, sub-grids. (Open MPI's non-blocking neighbour collectives put the two
# blocks from a periodic side of 1 or 2 processes in each other's slots, unlike its
# blocking ones, MPICH and MPI's rule, so the periodic grid uses the blocking form.)
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
NY, NX = 3, 4


def name(r):
    """A neighbour rank, PROC_NULL by name (its value differs between MPI libraries)."""
    return "PROC_NULL" if r == MPI.PROC_NULL else r


def block(cart):
    u = np.full((NY + 2, NX + 2), -1.0)
    r = cart.Get_rank()
    u[1:-1, 1:-1] = 1000 * r + 10 * np.arange(NY)[:, None] + np.arange(NX)[None, :]
    return u


def halo_sendrecv(cart):
    u = block(cart)
    for direction in (0, 1):
        src, dst = cart.Shift(direction, 1)
        if direction == 0:
            # rows: send the last interior row forward, receive the ghost row from behind
            recv = np.full(NX, -1.0)
            cart.Sendrecv(u[-2, 1:-1].copy(), dst, 10, recv, src, 10)
            if src != MPI.PROC_NULL:
                u[0, 1:-1] = recv
            recv = np.full(NX, -1.0)
            cart.Sendrecv(u[1, 1:-1].copy(), src, 11, recv, dst, 11)
            if dst != MPI.PROC_NULL:
                u[-1, 1:-1] = recv
        else:
            recv = np.full(NY, -1.0)
            cart.Sendrecv(u[1:-1, -2].copy(), dst, 12, recv, src, 12)
            if src != MPI.PROC_NULL:
                u[1:-1, 0] = recv
            recv = np.full(NY, -1.0)
            cart.Sendrecv(u[1:-1, 1].copy(), src, 13, recv, dst, 13)
            if dst != MPI.PROC_NULL:
                u[1:-1, -1] = recv
    return u


def strips(u):
    """The edge strips in MPI's neighbour order: dim 0 negative (top row), positive
    (bottom row), dim 1 negative (left column), positive (right column)."""
    return [u[1, 1:-1], u[-2, 1:-1], u[1:-1, 1], u[1:-1, -2]]


def halo_alltoall(cart):
    u = block(cart)
    width = max(NX, NY)
    send = np.zeros((4, width))
    for k, strip in enumerate(strips(u)):
        send[k, :strip.size] = strip
    recv = np.full((4, width), -1.0)
    cart.Neighbor_alltoall(send, recv)
    u[0, 1:-1], u[-1, 1:-1] = recv[0, :NX], recv[1, :NX]
    u[1:-1, 0], u[1:-1, -1] = recv[2, :NY], recv[3, :NY]
    return u


def halo_alltoallv(cart):
    u = block(cart)
    counts = [NX, NX, NY, NY]
    displs = [0, NX, 2 * NX, 2 * NX + NY]
    send = np.concatenate(strips(u))
    recv = np.full(sum(counts), -1.0)
    smsg = [send, (counts, displs), MPI.DOUBLE]
    rmsg = [recv, (counts, displs), MPI.DOUBLE]
    if any(cart.periods):
        cart.Neighbor_alltoallv(smsg, rmsg)
    else:
        cart.Ineighbor_alltoallv(smsg, rmsg).Wait()
    u[0, 1:-1], u[-1, 1:-1] = recv[0:NX], recv[NX:2 * NX]
    u[1:-1, 0], u[1:-1, -1] = recv[2 * NX:2 * NX + NY], recv[2 * NX + NY:]
    return u


out = {"rank": rank}
dims = MPI.Compute_dims(size, 2)
for periodic in (True, False):
    cart = comm.Create_cart(dims, periods=[periodic, periodic])
    a, b, c = halo_sendrecv(cart), halo_alltoall(cart), halo_alltoallv(cart)
    gathered = np.full(4, -1, dtype="i")
    cart.Neighbor_allgather(np.array([cart.Get_rank()], dtype="i"), gathered)
    rows, cols = cart.Sub([False, True]), cart.Sub([True, False])
    key = "periodic" if periodic else "open"
    out[key] = {
        "topo": cart.Get_topo(), "topology": cart.Get_topology() == MPI.CART,
        "shift": [[name(x) for x in cart.Shift(d, s)] for d in (0, 1) for s in (1, -1, 2)],
        "inedges": [name(x) for x in cart.inedges], "degrees": cart.degrees,
        "rank_of": [cart.Get_cart_rank([i, j]) for i in range(dims[0])
                    for j in range(dims[1])],
        "coords_of": [cart.Get_coords(r) for r in range(size)],
        "sendrecv": a.tolist(), "alltoall_same": bool((a == b).all()),
        "alltoallv_same": bool((a == c).all()), "allgather": gathered.tolist(),
        "objects": cart.neighbor_alltoall([f"{rank}-{k}" for k in range(4)]),
        "rows": [rows.Get_size(), rows.Get_rank(), rows.dims, rows.periods, rows.coords],
        "cols": [cols.Get_size(), cols.Get_rank(), cols.dims, cols.coords],
        "dup": cart.Dup().topo == cart.topo,
        "cart_map": cart.Cart_map(dims, [periodic] * 2),
    }
    rows.Free()
    cols.Free()
    cart.Free()
# a grid smaller than the communicator: the others get COMM_NULL (Cart_map's UNDEFINED
# there is MPICH's and MPI's; Open MPI returns a rank, so it is not compared)
small = comm.Create_cart([1])
out["small"] = [small == MPI.COMM_NULL, small.Get_topology() == MPI.CART if small else None]
if small != MPI.COMM_NULL:
    small.Free()
print(json.dumps(out), flush=True)
