"""MPI.Info: ordered (key, value) string hints, and MPI.INFO_NULL / MPI.INFO_ENV."""

from __future__ import annotations

import os
import platform
import socket
import sys
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from .. import _runtime
from . import _constants as C
from . import _handles
from ._errors import Exception as MPIException

_MISSING = object()


class Info(_handles.HandleMethods):
    """An info object: string keys mapped to string values, in insertion order.

    ``Info()`` is a null info and ``Info(info)`` a new reference to ``info``'s handle."""

    __slots__ = ("_data", "_name")

    def __new__(cls, *args: Any, **kwargs: Any) -> Info:
        # Takes the constructor's arguments, so that a subclass may call
        # super().__new__(cls, info) as with mpi4py's classes; __init__ does the work.
        return super().__new__(cls)

    def __init__(self, info: Optional[Info] = None) -> None:
        self._name = ""
        self._data: Optional[Dict[str, str]] = None
        if isinstance(info, Info):
            self._data = info._data
        elif info is not None:
            raise TypeError(f"Argument 'info' has incorrect type (expected mpi4py.MPI.Info, "
                            f"got {type(info).__name__})")

    # -- handle semantics --------------------------------------------------------------------
    def _identity(self) -> Any:
        return id(self._data)  # the table's reference keeps the dict, so the id is its own

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Info):
            return NotImplemented
        return self._data is other._data

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = None  # type: ignore[assignment]  # as mpi4py's: equal references, no hash

    def __bool__(self) -> bool:
        return self._data is not None

    def __reduce__(self) -> Any:
        if self._name:
            return self._name
        if self._data is None:
            return (type(self), (INFO_NULL,))
        if self._data is INFO_ENV._data:
            return (type(self), (INFO_ENV,))
        return (type(self).Create, (list(self._data.items()),))

    def _check(self) -> Dict[str, str]:
        if self._data is None:
            raise MPIException(C.ERR_ARG, "the info is MPI.INFO_NULL")
        return self._data

    @staticmethod
    def _key(key: str) -> str:
        if not isinstance(key, str):
            raise TypeError(f"expecting a string key, got {type(key).__name__}")
        if not key or len(key) > C.MAX_INFO_KEY:
            raise MPIException(C.ERR_INFO_KEY, f"invalid info key {key!r}")
        return key

    # -- MPI API -----------------------------------------------------------------------------
    @classmethod
    def Create(cls, items: Union[None, Dict[str, str], Info,
                                 Sequence[Tuple[str, str]]] = None) -> Info:
        """A new info object, optionally filled from a mapping or (key, value) pairs."""
        info = cls()
        info._data = {}
        if items is not None:
            pairs = items.items() if hasattr(items, "items") else items
            for key, value in pairs:
                info.Set(key, value)
        return info

    @classmethod
    def Create_env(cls, args: Union[None, str, Sequence[str]] = None) -> Info:
        """An info describing how this process was started (MPI 4): ``command`` and
        ``argv`` (from ``args``, a command line, or else this program's), ``maxprocs``,
        ``host``, ``wdir``, ``thread_level``."""
        if args is None:
            args = [sys.executable, *sys.argv]
        elif isinstance(args, str):
            args = [args]
        args = [str(a) for a in args]
        items = {"maxprocs": str(_runtime.num_localities()), "soft": "",
                 "host": socket.gethostname(), "arch": platform.machine(),
                 "wdir": os.getcwd(), "thread_level": "MPI_THREAD_MULTIPLE"}
        if args:
            items["command"] = args[0]
            items["argv"] = " ".join(args[1:])
        return cls.Create({k: v for k, v in items.items() if v})

    def Free(self) -> None:
        """Free the info (this reference becomes ``INFO_NULL``)."""
        self._check()
        if self._name:
            raise MPIException(C.ERR_ARG, f"cannot free {self._name}")
        _handles.forget(id(self._data))  # its id may name another dict from now on
        self._data = None

    def free(self) -> None:
        """Free the info unless it is null or predefined (safe on any info)."""
        if self._data is not None and not self._name:
            self.Free()

    def Dup(self) -> Info:
        """Return a duplicate of the info object."""
        return type(self).Create(list(self._check().items()))

    def Get(self, key: str) -> Optional[str]:
        """The value of ``key``, or None if not set."""
        data = self._check()
        return data.get(self._key(key))

    def Set(self, key: str, value: str) -> None:
        """Set the value of ``key``."""
        data = self._check()
        key = self._key(key)
        if not isinstance(value, str):
            raise TypeError(f"expecting a string value, got {type(value).__name__}")
        if len(value) > C.MAX_INFO_VAL:
            raise MPIException(C.ERR_INFO_VALUE, "info value too long")
        data[key] = value

    def Delete(self, key: str) -> None:
        """Delete ``key`` (``ERR_INFO_NOKEY`` if it is absent)."""
        data = self._check()
        key = self._key(key)
        if key not in data:
            raise MPIException(C.ERR_INFO_NOKEY, f"info key {key!r} is not set")
        del data[key]

    def Get_nkeys(self) -> int:
        """Return the number of keys."""
        return len(self._check())

    def Get_nthkey(self, n: int) -> str:
        """Return the ``n``-th key."""
        data = self._check()
        if not 0 <= n < len(data):
            raise MPIException(C.ERR_ARG, f"info has {len(data)} keys, no key {n}")
        return list(data)[n]

    # -- mapping interface -------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._data) if self._data is not None else 0

    def __contains__(self, key: object) -> bool:
        return self._data is not None and key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._data) if self._data is not None else [])

    def __getitem__(self, key: str) -> str:
        value = self.Get(key) if self._data is not None else None
        if value is None:
            raise KeyError(key)
        return value

    def _mapping(self) -> Dict[str, str]:
        """The data, for the dict-like methods: a null info raises KeyError there, as
        mpi4py's."""
        if self._data is None:
            raise KeyError("MPI.INFO_NULL holds no keys")
        return self._data

    def __setitem__(self, key: str, value: str) -> None:
        self._mapping()
        self.Set(key, value)

    def __delitem__(self, key: str) -> None:
        self._mapping()
        if key not in self:
            raise KeyError(key)
        self.Delete(key)

    def get(self, key: str, default: Any = None) -> Any:
        """Return the value of ``key``, or ``default`` if it is absent."""
        if self._data is None:
            return default
        value = self._data.get(key, _MISSING)
        return default if value is _MISSING else value

    def keys(self) -> List[str]:
        """Return the keys."""
        return list(self)

    def values(self) -> List[str]:
        """Return the values."""
        return list(self._data.values()) if self._data is not None else []

    def items(self) -> List[Tuple[str, str]]:
        """Return the ``(key, value)`` pairs."""
        return list(self._data.items()) if self._data is not None else []

    def copy(self) -> Info:
        """Return a copy of the info object."""
        return self.Dup() if self._data is not None else type(self)(INFO_NULL)

    def clear(self) -> None:
        """Delete every key."""
        if self._data is not None:
            self._data.clear()

    def update(self, other: Any = (), **kwds: str) -> None:
        """Set the keys and values of ``other`` and of the keyword arguments."""
        self._mapping()
        pairs = other.items() if hasattr(other, "items") else other
        for key, value in pairs:
            self.Set(key, value)
        for key, value in kwds.items():
            self.Set(key, value)

    def pop(self, key: str, *default: Any) -> Any:
        """Delete ``key`` and return its value (or ``default`` if it is absent)."""
        if key in self:
            value = self[key]
            self.Delete(key)
            return value
        if default:
            return default[0]
        self._mapping()
        raise KeyError(key)

    def popitem(self) -> Tuple[str, str]:
        """Delete a key and return it with its value."""
        data = self._mapping()
        if not data:
            raise KeyError("popitem(): info is empty")
        return data.popitem()


INFO_NULL = Info()
INFO_NULL._name = "INFO_NULL"
INFO_ENV = Info.Create_env()
INFO_ENV._name = "INFO_ENV"
# MPICH's numbers, as mpi4py shows them there
Info._numbered = {0x1c000000: INFO_NULL, 0x5c000001: INFO_ENV}
