"""Attribute caching (``Create_keyval``, ``Set_attr``, ``Get_attr``, ``Delete_attr``,
``Free_keyval``) for communicators, datatypes and windows, as MPI defines it.

A keyval carries a copy and a delete callback. ``Dup`` of an object copies each attribute
through its copy callback (``None``/``False``: not copied, ``True``: the same value, a
function ``copy_fn(obj, keyval, value)``: its result, or not copied if it returns
``NotImplemented``); ``Free`` of the object, ``Delete_attr`` and overwriting with
``Set_attr`` call ``delete_fn(obj, keyval, value)``. An exception in a callback is printed
and raised as ``MPI.Exception(ERR_OTHER)``, as mpi4py does. An attribute keeps its keyval's
callbacks after ``Free_keyval``, as MPI's reference counting does.

``AttrMethods`` is the mix-in the handle classes inherit; each says where its objects keep
their attributes (``_attr_table``), so that every reference to one object sees them.

Layer 0 of hpxpy.comm: imports ``_constants`` and ``_errors`` only.
"""

from __future__ import annotations

import itertools
import weakref
from typing import Any, Dict, Optional, Tuple

from . import _constants as C
from ._errors import Exception as MPIException
from ._errors import run_callback

# The three kinds have separate keyvals in MPI (MPICH's ranges, as mpi4py shows them).
_FIRST = {"Comm": 0x64400100, "Datatype": 0x6C400100, "Win": 0x68400100}
_counters = {kind: itertools.count(first) for kind, first in _FIRST.items()}


class Keyval:
    """A key's callbacks."""

    __slots__ = ("kind", "copy_fn", "delete_fn", "nopython", "freed")

    def __init__(self, kind: str, copy_fn: Any, delete_fn: Any, nopython: bool) -> None:
        self.kind = kind
        self.copy_fn = copy_fn
        self.delete_fn = delete_fn
        self.nopython = nopython
        self.freed = False


_keyvals: Dict[int, Keyval] = {}
# An attribute: (value, its keyval's callbacks)
Table = Dict[int, Tuple[Any, Keyval]]


def create_keyval(kind: str, copy_fn: Any = None, delete_fn: Any = None,
                  nopython: bool = False) -> int:
    keyval = next(_counters[kind])
    _keyvals[keyval] = Keyval(kind, copy_fn, delete_fn, bool(nopython))
    return keyval


def free_keyval(kind: str, keyval: int) -> int:
    """Free a keyval (attributes set with it keep their callbacks); KEYVAL_INVALID."""
    key = _keyvals.get(keyval)
    if key is None or key.kind != kind:
        raise MPIException(C.ERR_KEYVAL, f"invalid attribute key {keyval}")
    key.freed = True
    del _keyvals[keyval]
    return C.KEYVAL_INVALID


def _key(kind: str, keyval: int) -> Keyval:
    key = _keyvals.get(keyval)
    if key is None or key.kind != kind:
        raise MPIException(C.ERR_KEYVAL, f"invalid attribute key {keyval}")
    return key


def get_attr(table: Table, keyval: int) -> Any:
    found = table.get(keyval)
    return None if found is None else found[0]


def set_attr(obj: Any, table: Table, kind: str, keyval: int, value: Any) -> None:
    key = _key(kind, keyval)
    if key.nopython:
        value = int(value)  # an address or integer, as a C attribute
    old = table.get(keyval)
    if old is not None:
        delete_attr(obj, table, keyval)
    table[keyval] = (value, key)


def delete_attr(obj: Any, table: Table, keyval: int) -> None:
    found = table.pop(keyval, None)
    if found is None:
        if keyval not in _keyvals:
            raise MPIException(C.ERR_KEYVAL, f"invalid attribute key {keyval}")
        return
    value, key = found
    if callable(key.delete_fn):
        run_callback(key.delete_fn, obj, keyval, value)


def copy_all(old: Any, table: Table, new_table: Table) -> None:
    """``Dup``: the attributes of ``old`` that their keyvals copy, into ``new_table``."""
    for keyval, (value, key) in list(table.items()):
        fn = key.copy_fn
        if fn is None or fn is False:
            continue
        if fn is True:
            new_table[keyval] = (value, key)
            continue
        copied = run_callback(fn, old, keyval, value)
        if copied is not NotImplemented:
            new_table[keyval] = (copied, key)


def delete_all(obj: Any, table: Table) -> None:
    """``Free``: every attribute's delete callback (the last error is raised after all)."""
    error: Optional[MPIException] = None
    for keyval in list(table):
        try:
            delete_attr(obj, table, keyval)
        except MPIException as exc:
            error = exc
    if error is not None:
        raise error


class AttrMethods:
    """``Create_keyval`` ... ``Delete_attr`` for a handle class; ``_attr_kind`` names the
    class, ``_attr_table()`` the object's table (shared by its references) and
    ``_predefined_attr(keyval)`` a predefined attribute's value (``MISSING``: none)."""

    __slots__ = ()
    _attr_kind = "Comm"

    def _attr_table(self) -> Table:
        raise NotImplementedError

    def _predefined_attr(self, keyval: int) -> Any:
        return MISSING

    @classmethod
    def Create_keyval(cls, copy_fn: Any = None, delete_fn: Any = None,
                      nopython: bool = False) -> int:
        """A new attribute key; ``copy_fn(obj, keyval, value)`` runs on ``Dup`` (or True:
        copy the value, None/False: do not copy), ``delete_fn(obj, keyval, value)`` when
        the attribute goes away. ``nopython``: the values are integers (C attributes)."""
        return create_keyval(cls._attr_kind, copy_fn, delete_fn, nopython)

    @classmethod
    def Free_keyval(cls, keyval: int) -> int:
        """Free an attribute key; returns ``KEYVAL_INVALID``."""
        return free_keyval(cls._attr_kind, keyval)

    def Get_attr(self, keyval: int) -> Any:
        """The value of attribute ``keyval``, or None if it is not set."""
        if keyval == C.KEYVAL_INVALID:
            raise MPIException(C.ERR_KEYVAL, "invalid attribute key MPI.KEYVAL_INVALID")
        predefined = self._predefined_attr(keyval)
        if predefined is not MISSING:
            return predefined
        table = self._attr_table()
        if keyval not in table and keyval not in _keyvals:
            raise MPIException(C.ERR_KEYVAL, f"invalid attribute key {keyval}")
        return get_attr(table, keyval)

    def Set_attr(self, keyval: int, attrval: Any) -> None:
        """Set attribute ``keyval`` (the old value's delete callback runs first)."""
        set_attr(self, self._attr_table(), self._attr_kind, keyval, attrval)

    def Delete_attr(self, keyval: int) -> None:
        """Remove attribute ``keyval`` (its delete callback runs)."""
        delete_attr(self, self._attr_table(), keyval)


MISSING = object()
# Tables of objects that have no place of their own for them (datatypes): id -> (weak
# reference, table); an entry goes when its object does.
_side_tables: Dict[int, Tuple[Any, Table]] = {}


def side_table(obj: Any, create: bool = True) -> Table:
    """The attribute table of ``obj`` (a weakly referenceable object), made on first use
    (``create=False``: an empty table, not kept, when ``obj`` has none yet)."""
    found = _side_tables.get(id(obj))
    if found is not None and found[0]() is obj:
        return found[1]
    if not create:
        return {}
    key = id(obj)
    table: Table = {}
    _side_tables[key] = (weakref.ref(obj, lambda _ref: _side_tables.pop(key, None)), table)
    return table
