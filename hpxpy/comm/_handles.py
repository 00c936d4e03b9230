"""Integer handles of MPI objects (``obj.handle``, ``toint``, ``py2f`` and back).

An MPI library's handles are integers (MPICH's are); mpi4py hands them out and takes them
back (``Cls.fromhandle``), so C or Fortran code can be given an object and return it. hpxpy's
objects are Python objects: an object gets a number the first time its handle is asked for,
and the table keeps a reference to it so that ``fromhandle`` can give back an object equal
to it (a new Python reference to the same MPI object, as mpi4py does). Predefined objects
have fixed numbers given by their class.

Layer 0 of hpxpy.comm: imports nothing of it.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Dict, Hashable

# One numbering for all kinds: a handle names one object whatever class asks for it.
_numbers = itertools.count(0x70000001)  # above the predefined objects' numbers
_by_number: Dict[int, Any] = {}
_by_identity: Dict[Hashable, int] = {}


def number(identity: Hashable, obj: Any) -> int:
    """The handle of the MPI object ``identity`` (what its Python references share),
    registering ``obj`` as a reference to it."""
    found = _by_identity.get(identity)
    if found is None:
        found = next(_numbers)
        _by_identity[identity] = found
        _by_number[found] = obj
    return found


def lookup(handle: int, make: Callable[[Any], Any]) -> Any:
    """``make(reference)``: a new reference to the object with this handle; ValueError if
    no object has it."""
    obj = _by_number.get(int(handle))
    if obj is None:
        raise ValueError(f"no MPI object has handle {handle:#x}")
    return make(obj)


def forget(identity: Hashable) -> None:
    """The object ``identity`` is freed: its number names nothing from now on."""
    found = _by_identity.pop(identity, None)
    if found is not None:
        _by_number.pop(found, None)


class HandleMethods:
    """``handle``, ``toint``, ``py2f`` and ``fromhandle``, ``fromint``, ``f2py`` for a class
    whose references share an identity (``_identity()``: None for a null reference).
    ``_numbered`` maps the fixed numbers of the class's predefined objects to them; the
    first entry is its null object."""

    _numbered: Dict[int, Any] = {}

    def _identity(self) -> Any:
        raise NotImplementedError

    @property
    def handle(self) -> int:
        """The object's integer handle (``fromhandle`` gives back an equal object)."""
        for num, predefined in type(self)._numbered.items():
            if self == predefined:
                return num
        return number(self._identity(), self)

    def toint(self) -> int:
        """The integer handle (as ``handle``)."""
        return self.handle

    def py2f(self) -> int:
        """The Fortran handle (as ``handle``)."""
        return self.handle

    @classmethod
    def fromhandle(cls, handle: int) -> Any:
        """A new reference to the object with integer handle ``handle``."""
        predefined = cls._numbered.get(int(handle))
        if predefined is not None:
            return cls(predefined)  # type: ignore[call-arg]
        return lookup(handle, cls)

    @classmethod
    def fromint(cls, arg: int) -> Any:
        return cls.fromhandle(arg)

    @classmethod
    def f2py(cls, arg: int) -> Any:
        return cls.fromhandle(arg)
