"""Persistent collectives (MPI 4: ``Barrier_init``, ``Allreduce_init`` ...), as a mix-in of
``Comm``: set up once, then every ``Start`` runs the non-blocking collective (``Ibarrier``,
``Iallreduce`` ...) on the arguments given here, taking the collective's sequence number
at that moment, as every rank starts its persistent collectives in the same order.

Layer 6 of hpxpy.comm: imports ``_request``, ``_ops``, ``_info`` and ``_typing``; the
non-blocking methods it starts belong to the class it is mixed into.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence

from . import _ops as O
from ._info import Info
from ._request import Prequest
from ._typing import BufSpec, BufSpecB, BufSpecV, BufSpecW


class PersistentMethods:
    """``Comm``'s ``*_init`` methods (``info`` is accepted and not needed)."""

    if TYPE_CHECKING:  # the communicator's own (``_Handle``)
        def _check(self) -> Any: ...
        def _check_root(self, root: int) -> int: ...

    def _persistent(self, start: str, *args: Any) -> Prequest:
        self._check()
        method = getattr(self, start)
        return Prequest(starter=lambda: method(*args))

    def Barrier_init(self, info: Optional[Info] = None) -> Prequest:
        """A persistent Barrier."""
        return self._persistent("Ibarrier")

    def Bcast_init(self, buf: BufSpec, root: int = 0, info: Optional[Info] = None) -> Prequest:
        """A persistent Bcast."""
        self._check_root(root)
        return self._persistent("Ibcast", buf, root)

    def Gather_init(self, sendbuf: Optional[BufSpec], recvbuf: Optional[BufSpecB],
                    root: int = 0, info: Optional[Info] = None) -> Prequest:
        """A persistent Gather."""
        self._check_root(root)
        return self._persistent("Igather", sendbuf, recvbuf, root)

    def Gatherv_init(self, sendbuf: Optional[BufSpec], recvbuf: Optional[BufSpecV],
                     root: int = 0, info: Optional[Info] = None) -> Prequest:
        """A persistent Gatherv."""
        self._check_root(root)
        return self._persistent("Igatherv", sendbuf, recvbuf, root)

    def Scatter_init(self, sendbuf: Optional[BufSpecB], recvbuf: Optional[BufSpec],
                     root: int = 0, info: Optional[Info] = None) -> Prequest:
        """A persistent Scatter."""
        self._check_root(root)
        return self._persistent("Iscatter", sendbuf, recvbuf, root)

    def Scatterv_init(self, sendbuf: Optional[BufSpecV], recvbuf: Optional[BufSpec],
                      root: int = 0, info: Optional[Info] = None) -> Prequest:
        """A persistent Scatterv."""
        self._check_root(root)
        return self._persistent("Iscatterv", sendbuf, recvbuf, root)

    def Allgather_init(self, sendbuf: Optional[BufSpec], recvbuf: BufSpecB,
                       info: Optional[Info] = None) -> Prequest:
        """A persistent Allgather."""
        return self._persistent("Iallgather", sendbuf, recvbuf)

    def Allgatherv_init(self, sendbuf: Optional[BufSpec], recvbuf: BufSpecV,
                        info: Optional[Info] = None) -> Prequest:
        """A persistent Allgatherv."""
        return self._persistent("Iallgatherv", sendbuf, recvbuf)

    def Alltoall_init(self, sendbuf: Optional[BufSpecB], recvbuf: BufSpecB,
                      info: Optional[Info] = None) -> Prequest:
        """A persistent Alltoall."""
        return self._persistent("Ialltoall", sendbuf, recvbuf)

    def Alltoallv_init(self, sendbuf: Optional[BufSpecV], recvbuf: BufSpecV,
                       info: Optional[Info] = None) -> Prequest:
        """A persistent Alltoallv."""
        return self._persistent("Ialltoallv", sendbuf, recvbuf)

    def Alltoallw_init(self, sendbuf: Optional[BufSpecW], recvbuf: BufSpecW,
                       info: Optional[Info] = None) -> Prequest:
        """A persistent Alltoallw."""
        return self._persistent("Ialltoallw", sendbuf, recvbuf)

    def Reduce_init(self, sendbuf: Optional[BufSpec], recvbuf: Optional[BufSpec],
                    op: O.Op = O.SUM, root: int = 0, info: Optional[Info] = None) -> Prequest:
        """A persistent Reduce."""
        self._check_root(root)
        return self._persistent("Ireduce", sendbuf, recvbuf, op, root)

    def Allreduce_init(self, sendbuf: Optional[BufSpec], recvbuf: BufSpec, op: O.Op = O.SUM,
                       info: Optional[Info] = None) -> Prequest:
        """A persistent Allreduce."""
        return self._persistent("Iallreduce", sendbuf, recvbuf, op)

    def Reduce_scatter_block_init(self, sendbuf: Optional[BufSpecB], recvbuf: BufSpec,
                                  op: O.Op = O.SUM, info: Optional[Info] = None) -> Prequest:
        """A persistent Reduce_scatter_block."""
        return self._persistent("Ireduce_scatter_block", sendbuf, recvbuf, op)

    def Reduce_scatter_init(self, sendbuf: Optional[BufSpec], recvbuf: BufSpec,
                            recvcounts: Optional[Sequence[int]] = None, op: O.Op = O.SUM,
                            info: Optional[Info] = None) -> Prequest:
        """A persistent Reduce_scatter."""
        return self._persistent("Ireduce_scatter", sendbuf, recvbuf, recvcounts, op)

    def Scan_init(self, sendbuf: Optional[BufSpec], recvbuf: BufSpec, op: O.Op = O.SUM,
                  info: Optional[Info] = None) -> Prequest:
        """A persistent Scan."""
        return self._persistent("Iscan", sendbuf, recvbuf, op)

    def Exscan_init(self, sendbuf: Optional[BufSpec], recvbuf: BufSpec, op: O.Op = O.SUM,
                    info: Optional[Info] = None) -> Prequest:
        """A persistent Exscan."""
        return self._persistent("Iexscan", sendbuf, recvbuf, op)
