"""New communicators: who their members are and which contexts they get.

Each function is collective as its ``Comm`` method (Dup, Split, Create, Create_group, and
the topology constructors through :func:`first`, :func:`split` and :func:`dup`) and
returns ``(members, base context)`` of the communicator to make, or None where the caller
is not a member (``Comm`` turns that into ``COMM_NULL``). The base context is agreed
through the context table (``_contexts``).

Layer 5 of hpxpy.comm: imports ``_handle``, ``_group``, ``_objcoll`` and ``_contexts``.
"""

from __future__ import annotations

from typing import List, Optional, Tuple

from .. import _core as _core_module
from .. import _runtime
from . import _constants as C
from . import _contexts
from ._errors import Exception as MPIException
from ._group import Group
from ._handle import _Handle
from ._objcoll import obj_bcast, obj_gather

Made = Optional[Tuple[List[int], int]]  # (world ranks of the members, base context)

_AGREE_STEP = 7  # the step of a collective that agrees on contexts


def _agree(comm: _Handle, seq: int, count: int) -> int:
    """A base context no member has used yet; every member reserves ``count`` blocks."""
    return _contexts.agree(comm._group, comm._tag(seq, _AGREE_STEP), count)


def dup(comm: _Handle) -> Tuple[List[int], int]:
    """The same members, fresh contexts."""
    members = comm._check()
    return list(members), _agree(comm, comm._next(), 1)


def split(comm: _Handle, color: int, key: int) -> Made:
    """The ranks of this rank's color, ordered by (key, rank); None for UNDEFINED."""
    members = comm._check()
    seq = comm._next()
    table = obj_gather(comm, seq, (int(color), int(key)), 0)
    table = obj_bcast(comm, seq, table, 0, step=1)
    colors = sorted({c for c, _ in table if c != C.UNDEFINED})
    base = _agree(comm, seq, max(1, len(colors)))
    if color == C.UNDEFINED:
        return None
    mine = [(k, r) for r, (c, k) in enumerate(table) if c == color]
    ranks = [members[r] for _, r in sorted(mine)]
    return ranks, base + _contexts.STRIDE * colors.index(color)


# MPI 4's hardware split types name the level in the info key below; hpxpy knows one
# level between the job and a process: the host, whose memory its localities share.
HW_RESOURCE_KEY = "mpi_hw_resource_type"
HW_SHARED_MEMORY = "mpi_shared_memory"


def split_type_color(comm: _Handle, split_type: int, resource: Optional[str] = None) -> int:
    """Split_type's color: the index of this rank's host, or UNDEFINED.

    COMM_TYPE_SHARED splits by host; COMM_TYPE_HW_GUIDED and COMM_TYPE_RESOURCE_GUIDED do
    when ``resource`` (the info's ``mpi_hw_resource_type``) is ``mpi_shared_memory`` and
    give COMM_NULL for any other or none; COMM_TYPE_HW_UNGUIDED splits by host when that
    makes a strictly smaller communicator (the job spans hosts), else gives COMM_NULL."""
    known = (C.UNDEFINED, C.COMM_TYPE_SHARED, C.COMM_TYPE_HW_GUIDED,
             C.COMM_TYPE_HW_UNGUIDED, C.COMM_TYPE_RESOURCE_GUIDED)
    if split_type not in known:
        raise MPIException(C.ERR_ARG, f"unsupported split type {split_type}")
    host = _runtime.host_identity()  # the host shared memory reaches, as the transports
    seq = comm._next()
    table = obj_bcast(comm, seq, obj_gather(comm, seq, (split_type, host), 0), 0, step=1)
    if split_type in (C.COMM_TYPE_HW_GUIDED, C.COMM_TYPE_RESOURCE_GUIDED):
        if resource != HW_SHARED_MEMORY:
            return C.UNDEFINED
    elif split_type == C.COMM_TYPE_HW_UNGUIDED:
        if len({h for _, h in table}) < 2:
            return C.UNDEFINED  # one host: no level below the communicator's own
    elif split_type == C.UNDEFINED:
        return C.UNDEFINED
    hosts = sorted({h for t, h in table if t != C.UNDEFINED})
    return hosts.index(host)


def create(comm: _Handle, group: Group) -> Made:
    """``group``'s members (collective over the whole communicator)."""
    comm._check()
    group._check()
    base = _agree(comm, comm._next(), 1)
    if _runtime.locality_id() not in group._ranks:
        return None
    return list(group._ranks), base


def first(comm: _Handle, count: int) -> Made:
    """The first ``count`` ranks, in order (collective over the whole communicator: the
    topology constructors' communicator, before any reordering)."""
    members = comm._check()
    base = _agree(comm, comm._next(), 1)
    if comm._rank >= count:
        return None
    return list(members[:count]), base


def create_group(comm: _Handle, group: Group, tag: int) -> Made:
    """``group``'s members (collective over those members only)."""
    comm._check()
    group._check()
    comm._check_send_tag(tag)
    me = _runtime.locality_id()
    members = list(group._ranks)
    if me not in members:
        return None
    if any(m not in comm._index for m in members):
        raise MPIException(C.ERR_GROUP, "the group is not a subgroup of the communicator")
    # The parent's spare context carries the agreement, so it cannot meet the parent's
    # own collectives (which non-members may be running meanwhile).
    among = _core_module.Group(comm._context + _contexts.SPARE, members.index(me), members,
                               len(members))
    return members, _contexts.agree(among, tag, 1)
