"""What a communicator is underneath its API: members, contexts, C++ group, sequence.

``_Handle`` is the base class of ``Comm``: the fields the operation modules (``_p2p``,
``_objcoll``, ``_bufcoll``, ``_nbcoll``) work on, and the argument checks they share. Those
modules take a ``_Handle``, so none of them imports ``_comm``.

Layer 3 of hpxpy.comm: imports ``hpxpy._core``, ``hpxpy._runtime``, ``_constants`` and
``_errors`` only.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .. import _core as _core_module
from .. import _runtime
from .._numpy import np
from . import _constants as C
from ._errors import Exception as MPIException

# A null (or freed) communicator's fast paths: every call falls back to the general path.
NULL_PATH = _core_module.CommPath()


class _Handle:
    """A communicator's state. ``_members`` None: ``MPI.COMM_NULL`` (or a freed one)."""

    _members: Optional[List[int]]  # world rank of each rank
    _context: int  # first context of the block (point to point); +1 collectives
    _name: str
    _rank: int
    _index: Dict[int, int]  # world rank -> rank
    _group: Any  # _core.Group over the members, or None
    _topology: Any  # a _topology.Topology (Cartesian grid, graph ...) or None
    # _core.CommPath: the fast paths (one C++ call per MPI call in the common case) and the
    # collective sequence numbers, equal on every rank by program order
    _path: Any

    def _setup(self, members: Optional[List[int]], context: int, name: str) -> None:
        self._members = members
        self._context = context
        self._name = name
        self._topology = None
        if members is not None:
            me = _runtime.locality_id()
            self._rank = members.index(me) if me in members else C.UNDEFINED
            self._index = {w: i for i, w in enumerate(members)}
            self._group = _core_module.Group(context + 1, self._rank, members, len(members))
            self._path = _core_module.CommPath(context, self._rank, members)
        else:
            self._rank = C.UNDEFINED
            self._index = {}
            self._group = None
            self._path = NULL_PATH

    def _accept(self, comm: _Handle) -> None:
        """``Cls(comm)``: raise TypeError if ``comm`` cannot be referred to as this class
        (a topology class refuses a communicator without its kind of topology)."""

    def _check(self) -> List[int]:
        members = self._members
        if members is None:
            raise MPIException(C.ERR_COMM, "the communicator is MPI.COMM_NULL")
        return members

    def _world(self, rank: int) -> int:
        return self._check()[rank]

    def _next(self) -> int:
        """The next collective's sequence number (a non-blocking collective takes its
        number when started, in the caller's thread, and passes it down)."""
        self._check()
        return self._path.next_seq()

    @staticmethod
    def _tag(seq: int, step: int = 0) -> int:
        """The core tag of step ``step`` of collective ``seq``."""
        return (seq * 8 + step) & 0x7FFFFFFF

    # -- argument checks ---------------------------------------------------------------------
    def _check_dest(self, dest: int) -> None:
        size = len(self._check())
        if dest != C.PROC_NULL and not (isinstance(dest, (int, np.integer)) and 0 <= dest < size):
            raise MPIException(C.ERR_RANK, f"invalid rank {dest}; expected 0 <= rank < {size} "
                                           "or MPI.PROC_NULL")

    def _check_source(self, source: int) -> None:
        size = len(self._check())
        if source not in (C.ANY_SOURCE, C.PROC_NULL) and not (
                isinstance(source, (int, np.integer)) and 0 <= source < size):
            raise MPIException(C.ERR_RANK, f"invalid source {source}; expected 0 <= rank < "
                                           f"{size}, MPI.ANY_SOURCE or MPI.PROC_NULL")

    @staticmethod
    def _check_send_tag(tag: int) -> None:
        if not 0 <= tag <= C.TAG_MAX:
            raise MPIException(C.ERR_TAG, f"invalid tag {tag}; expected 0 <= tag <= {C.TAG_MAX}")

    @staticmethod
    def _check_recv_tag(tag: int) -> None:
        if tag != C.ANY_TAG and not 0 <= tag <= C.TAG_MAX:
            raise MPIException(C.ERR_TAG, f"invalid tag {tag}; expected 0 <= tag <= "
                                          f"{C.TAG_MAX} or MPI.ANY_TAG")

    def _check_root(self, root: int) -> int:
        size = len(self._check())
        if not (isinstance(root, (int, np.integer)) and 0 <= root < size):
            raise MPIException(C.ERR_ROOT, f"invalid root {root}; expected 0 <= root < {size}")
        return int(root)

    def _check_pair(self, dest: int, sendtag: int, source: int, recvtag: int) -> None:
        self._check_dest(dest)
        self._check_send_tag(sendtag)
        self._check_source(source)
        self._check_recv_tag(recvtag)


def core_tag(tag: int) -> int:
    """The engine's tag for an MPI receive tag (``ANY_TAG`` is the engine's -1)."""
    return -1 if tag == C.ANY_TAG else tag
