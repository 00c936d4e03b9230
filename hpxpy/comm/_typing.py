"""Type aliases for what hpxpy.comm's methods accept: buffers and message specifications.

The names are mpi4py's (``mpi4py.typing``), so annotations read the same on both:

- ``Buffer``: memory, by the buffer protocol, DLPack or ``__cuda_array_interface__``.
- ``BufSpec``: a message, ``buf`` or ``[buf, datatype]``, ``[buf, count, datatype]``,
  ``[buf, (count, displ), datatype]`` (``MPI.BOTTOM`` with absolute addresses).
- ``BufSpecB``: a message of ``size`` equal blocks (Gather, Scatter, Alltoall ...).
- ``BufSpecV``: a message of per-rank counts and displacements (the v-variants).
- ``BufSpecW``: per-rank counts, byte displacements and datatypes (Alltoallw).
- ``TargetSpec``: where one-sided operations act in the target window.

Lists stand for tuples throughout, as mpi4py accepts both. Layer 1 of hpxpy.comm: imports
``hpxpy._core``, ``_constants`` and ``_datatypes`` only.
"""

from __future__ import annotations

import array
import mmap
import sys
from typing import Any, Dict, List, Protocol, Sequence, Tuple, Union

from .._core import HostMemory
from .._numpy import np
from ._constants import _Sentinel
from ._datatypes import Datatype


class SupportsDLPack(Protocol):
    """An object exporting its memory by DLPack."""

    def __dlpack__(self, *, stream: Any = None) -> Any: ...

    def __dlpack_device__(self) -> Tuple[int, int]: ...


class SupportsCAI(Protocol):
    """An object exporting its memory by ``__cuda_array_interface__``."""

    @property
    def __cuda_array_interface__(self) -> Dict[str, Any]: ...


if sys.version_info >= (3, 12):
    from collections.abc import Buffer as SupportsBuffer
else:
    SupportsBuffer = Union[bytes, bytearray, memoryview, array.array, mmap.mmap,
                           "np.ndarray[Any, Any]", HostMemory]

Buffer = Union[SupportsBuffer, SupportsDLPack, SupportsCAI]
Bottom = Union[_Sentinel, None]  # MPI.BOTTOM (absolute addresses)
InPlace = Union[_Sentinel, None]  # MPI.IN_PLACE
BufferAutomatic = _Sentinel  # MPI.BUFFER_AUTOMATIC
Count = int
Displ = int
Aint = int
TypeSpec = Union[Datatype, str]

BufSpec = Union[
    Buffer,
    Tuple[Buffer, Count],
    Tuple[Buffer, TypeSpec],
    Tuple[Buffer, Count, TypeSpec],
    Tuple[Buffer, Tuple[Count, Displ], TypeSpec],
    Tuple[Bottom, Count, Datatype],
    List[Any],
]
BufSpecB = Union[
    Buffer,
    Tuple[Buffer, TypeSpec],
    Tuple[Buffer, Count, TypeSpec],
    List[Any],
]
BufSpecV = Union[
    Buffer,
    Tuple[Buffer, Sequence[Count]],
    Tuple[Buffer, Tuple[Sequence[Count], Sequence[Displ]]],
    Tuple[Buffer, TypeSpec],
    Tuple[Buffer, Sequence[Count], TypeSpec],
    Tuple[Buffer, Tuple[Sequence[Count], Sequence[Displ]], TypeSpec],
    Tuple[Buffer, Sequence[Count], Sequence[Displ], TypeSpec],
    Tuple[Bottom, Tuple[Sequence[Count], Sequence[Displ]], Datatype],
    Tuple[Bottom, Sequence[Count], Sequence[Displ], Datatype],
    List[Any],
]
BufSpecW = Union[
    Tuple[Buffer, Sequence[Datatype]],
    Tuple[Buffer, Tuple[Sequence[Count], Sequence[Displ]], Sequence[Datatype]],
    Tuple[Buffer, Sequence[Count], Sequence[Displ], Sequence[Datatype]],
    Tuple[Bottom, Tuple[Sequence[Count], Sequence[Displ]], Sequence[Datatype]],
    Tuple[Bottom, Sequence[Count], Sequence[Displ], Sequence[Datatype]],
    List[Any],
]
TargetSpec = Union[
    Displ,
    Tuple[()],
    Tuple[Displ],
    Tuple[Displ, Count],
    Tuple[Displ, Count, TypeSpec],
    List[Any],
]
