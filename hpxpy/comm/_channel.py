"""A private channel on a communicator, for libraries built on hpxpy.comm.

``hpxpy.distributed`` (and any library that moves its own messages next to a program's)
needs what a communicator is made of: the C++ group its collectives run on, a context for
its point-to-point messages, the members' world ranks, and tags that are equal on every
member by program order. ``channel(comm)`` duplicates ``comm`` (collective over it, as
``Comm.Dup``) and hands those out, so the library's messages can never match the program's
and it reads no private field of a communicator.

Layer 8 of hpxpy.comm (beside ``MPI``): imports ``_comm``.
"""

from __future__ import annotations

import itertools
from typing import Any, Iterator, Tuple

from ._comm import Comm


class Channel:
    """A duplicate of a communicator, opened up for a library's own messages."""

    __slots__ = ("comm", "group", "context", "members", "rank", "size", "_tags")

    def __init__(self, comm: Comm) -> None:
        dup = comm.Dup()  # collective over comm: agrees on fresh message contexts
        self.comm: Comm = dup  # keeps the contexts reserved for as long as the channel lives
        self.group: Any = dup._group  # hpxpy._core.Group: the C++ collectives' group
        self.context: int = dup._context  # point-to-point context (collectives: + 1)
        self.members: Tuple[int, ...] = tuple(dup._check())  # world rank of each rank
        self.rank: int = dup._rank
        self.size: int = len(self.members)
        self._tags: Iterator[int] = itertools.count()

    def next_tag(self) -> int:
        """The next operation's tag: equal on every member by program order."""
        return next(self._tags) & 0x7FFFFFFF


def channel(comm: Comm) -> Channel:
    """A private :class:`Channel` on ``comm`` (collective over ``comm``)."""
    return Channel(comm)
