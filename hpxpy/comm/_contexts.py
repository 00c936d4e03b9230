"""Message contexts: the one table that hands out context numbers to communicators.

Every communicator owns a block of ``STRIDE`` contexts on the matching engine: point to
point (``P2P``), collectives (``COLLECTIVE``, the block's number + 1, which is also its C++
group's), a spare one (``SPARE``) that carries ``Create_group``'s agreement, and the last
one (``NOTICE``, ``STRIDE - 1``): partitioned messages' (``_partitioned``; on COMM_WORLD
also ``Create_from_groups``' handshake), and, with a negative tag no user message has, the
notes two members that found a collective mismatch send each other about where their
calls are (hpxpy/_status.py). A new
communicator's block is agreed by its members: the maximum of each member's next free
number, so no member has used it yet.

Layer 3 of hpxpy.comm: imports numpy and hpxpy's core view (``_core``, ``_items``,
``_runtime``) only.
"""

from __future__ import annotations

import threading
from typing import Any

from .. import _core, _items, _runtime
from .._items import OP_CODES, item_array
from .._numpy import np

STRIDE = 4  # contexts per communicator: p2p, collectives, two spare
P2P, COLLECTIVE, SPARE, NOTICE = 0, 1, 2, 3  # offsets in a communicator's block
WORLD = _core.CONTEXT_FIRST_FREE  # COMM_WORLD's block (the core keeps those below)
SELF = WORLD + STRIDE  # COMM_SELF's block
_FIRST_FREE = SELF + STRIDE


class ContextTable:
    """This process's next free context number; blocks are taken in agreement."""

    def __init__(self, first_free: int) -> None:
        self._lock = threading.Lock()
        self._next = first_free

    def agree(self, group: Any, tag: int, count: int) -> int:
        """A base context no member of ``group`` (a ``_core.Group``) has used yet; every
        member reserves ``count`` blocks from it. Collective over ``group``."""
        with self._lock:
            mine = self._next
        agreed = np.array([mine], dtype=np.int64)
        item = _runtime.core().all_reduce(group, agreed, _items.DTYPE_CODES[agreed.dtype],
                                          OP_CODES["max"], tag, 0, "")
        if item is not None:
            agreed = item_array(item, np.int64, 1)
        base = int(agreed[0])
        with self._lock:
            self._next = max(self._next, base + STRIDE * count)
        return base


    def peek(self) -> int:
        """This process's next free context number (nothing reserved)."""
        with self._lock:
            return self._next

    def reserve(self, base: int, count: int) -> None:
        """Take ``count`` blocks from ``base`` (agreed by other means: an
        inter-communicator's two groups agree through their leaders)."""
        with self._lock:
            self._next = max(self._next, base + STRIDE * count)


TABLE = ContextTable(_FIRST_FREE)
agree = TABLE.agree
