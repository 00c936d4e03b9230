"""mpi4py's ``mpi4py.typing`` names, as hpxpy.comm annotates its API with them."""

from __future__ import annotations

from typing import SupportsIndex, TypeVar

from hpxpy.comm._typing import (
    Bottom,
    Buffer,
    BufSpec,
    BufSpecB,
    BufSpecV,
    BufSpecW,
    InPlace,
    SupportsBuffer,
    SupportsCAI,
    SupportsDLPack,
    TargetSpec,
    TypeSpec,
)

__all__ = [
    "SupportsBuffer", "SupportsDLPack", "SupportsCAI", "Buffer", "Bottom", "InPlace",
    "Aint", "Count", "Displ", "Offset", "TypeSpec", "BufSpec", "BufSpecB", "BufSpecV",
    "BufSpecW", "TargetSpec",
]

Aint = SupportsIndex  # an address or address difference
Count = SupportsIndex  # a number of elements
Displ = SupportsIndex  # a displacement in elements
Offset = SupportsIndex  # a file offset

S = TypeVar("S")
T = TypeVar("T")
U = TypeVar("U")
V = TypeVar("V")
