"""Groups: ordered sets of processes (world ranks), with mpi4py's ``MPI.Group`` API.

Layer 3 of hpxpy.comm: imports ``hpxpy._runtime``, ``_constants`` and ``_errors`` only.
"""

from __future__ import annotations

from typing import Any, Iterable, List, Optional, Sequence, Tuple

from .. import _runtime
from . import _constants as C
from . import _handles
from ._errors import Exception as MPIException


class Group(_handles.HandleMethods):
    """An ordered set of processes (world ranks)."""

    __slots__ = ("_ranks", "_freed", "_id", "_name")
    _ranks: List[int]
    _freed: bool
    _id: Optional[object]  # the handle's identity: equal groups share it

    def __new__(cls, *args: Any, **kwargs: Any) -> Group:
        # Takes the constructor's arguments, so that a subclass may call
        # super().__new__(cls, group) as with mpi4py's classes; __init__ does the work.
        return super().__new__(cls)

    __hash__ = None  # type: ignore[assignment]  # as mpi4py's: equal references, no hash

    def __init__(self, group: Optional[Group] = None) -> None:
        """Make a group: ``Group()`` is a null group, ``Group(group)`` a new reference to
        ``group``'s handle."""
        self._name = ""
        if group is None:
            self._ranks, self._freed, self._id = [], True, None
        elif isinstance(group, Group):
            self._ranks, self._freed, self._id = group._ranks, group._freed, group._id
        else:
            raise TypeError(f"expecting a Group, got {type(group).__name__}")

    @classmethod
    def _make(cls, world_ranks: Iterable[int]) -> Group:
        """A new group of these world ranks, in this order."""
        group = cls()
        group._ranks, group._freed, group._id = [int(r) for r in world_ranks], False, object()
        return group

    def _identity(self) -> Any:
        return self._id

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Group):
            return NotImplemented
        if self._freed or other._freed:
            return self._freed and other._freed
        return self._id is other._id or (not self._ranks and not other._ranks)

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __bool__(self) -> bool:
        return not self._freed

    def __reduce__(self) -> Any:
        if self._name:
            return self._name
        if self._freed or (not self._ranks):
            return (type(self), (GROUP_NULL if self._freed else GROUP_EMPTY,))
        raise ValueError(f"cannot serialize '{_api_name(self)}' instance")

    def _check(self) -> None:
        if self._freed:
            raise MPIException(C.ERR_GROUP, "the group is MPI.GROUP_NULL")

    def Get_size(self) -> int:
        """Return the number of processes in the group."""
        self._check()
        return len(self._ranks)

    def Get_rank(self) -> int:
        """Return the rank of this process in the group, or ``UNDEFINED``."""
        self._check()
        me = _runtime.locality_id()
        return self._ranks.index(me) if me in self._ranks else C.UNDEFINED

    size = property(Get_size)
    rank = property(Get_rank)

    def _valid(self, ranks: Sequence[int]) -> List[int]:
        out = []
        for r in ranks:
            if not 0 <= r < len(self._ranks):
                raise MPIException(C.ERR_RANK, f"rank {r} is not in a group of {len(self._ranks)}")
            out.append(int(r))
        if len(set(out)) != len(out):
            raise MPIException(C.ERR_RANK, "ranks must be distinct")
        return out

    def Incl(self, ranks: Sequence[int]) -> Group:
        """Return the group of the members with the given ranks, in that order."""
        self._check()
        return Group._make([self._ranks[r] for r in self._valid(ranks)])

    def Excl(self, ranks: Sequence[int]) -> Group:
        """Return the group without the members with the given ranks."""
        self._check()
        drop = set(self._valid(ranks))
        return Group._make([w for i, w in enumerate(self._ranks) if i not in drop])

    def Range_incl(self, ranges: Sequence[Tuple[int, int, int]]) -> Group:
        """Return the group of the ranks in the ``(first, last, stride)`` ranges."""
        picked: List[int] = []
        for first, last, stride in ranges:
            picked.extend(range(first, last + (1 if stride > 0 else -1), stride))
        return self.Incl(picked)

    def Range_excl(self, ranges: Sequence[Tuple[int, int, int]]) -> Group:
        """Return the group without the ranks in the ``(first, last, stride)`` ranges."""
        picked: List[int] = []
        for first, last, stride in ranges:
            picked.extend(range(first, last + (1 if stride > 0 else -1), stride))
        return self.Excl(picked)

    def Translate_ranks(self, ranks: Optional[Sequence[int]] = None,
                        group: Optional[Group] = None) -> List[int]:
        """Return the ranks in ``group`` of the processes with ``ranks`` in this group."""
        self._check()
        if ranks is None:
            ranks = range(len(self._ranks))
        out = []
        for r in ranks:
            if r == C.PROC_NULL:
                out.append(C.PROC_NULL)
                continue
            world = self._ranks[self._valid([r])[0]]
            if group is None:
                out.append(world)
            else:
                out.append(group._ranks.index(world) if world in group._ranks else C.UNDEFINED)
        return out

    def Compare(self, group: Group) -> int:
        """Compare two groups: ``IDENT``, ``SIMILAR`` or ``UNEQUAL``."""
        self._check()
        group._check()
        if self._ranks == group._ranks:
            return C.IDENT
        if sorted(self._ranks) == sorted(group._ranks):
            return C.SIMILAR
        return C.UNEQUAL

    @classmethod
    def Union(cls, group1: Group, group2: Group) -> Group:
        """Return the members of ``group1``, then those of ``group2`` not in it."""
        return Group._make(group1._ranks + [r for r in group2._ranks if r not in group1._ranks])

    @classmethod
    def Intersection(cls, group1: Group, group2: Group) -> Group:
        """Return the members of ``group1`` that are in ``group2``."""
        return Group._make([r for r in group1._ranks if r in group2._ranks])

    Intersect = Intersection  # mpi4py's alias

    @classmethod
    def Difference(cls, group1: Group, group2: Group) -> Group:
        """Return the members of ``group1`` that are not in ``group2``."""
        return Group._make([r for r in group1._ranks if r not in group2._ranks])

    @classmethod
    def Create_from_session_pset(cls, session: Any, pset_name: str) -> Group:
        """The group of process set ``pset_name`` of ``session`` (``Session.Create_group``)."""
        return cls(session.Create_group(pset_name))

    def Dup(self) -> Group:
        """Return a duplicate of the group."""
        self._check()
        return Group._make(self._ranks)

    def Free(self) -> None:
        """Free the group."""
        self._check()
        self._freed = True

    def free(self) -> None:
        """Drop this reference (MPI.GROUP_EMPTY and MPI.GROUP_NULL themselves stay)."""
        if not self._name:
            self._freed = True


GROUP_NULL = Group()
GROUP_NULL._name = "GROUP_NULL"
GROUP_EMPTY = Group._make([])
GROUP_EMPTY._name = "GROUP_EMPTY"
# MPICH's numbers, as mpi4py shows them there
Group._numbered = {0x08000000: GROUP_NULL, 0x48000000: GROUP_EMPTY}


def _api_name(obj: Any) -> str:
    """The qualified type name mpi4py would show for ``obj`` (e.g. ``mpi4py.MPI.Group``)."""
    return f"{_API_MODULE}.{type(obj).__name__}"


_API_MODULE = "mpi4py.MPI"
