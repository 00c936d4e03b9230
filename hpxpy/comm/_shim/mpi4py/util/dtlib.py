"""Conversion between numpy dtypes and MPI datatypes (mpi4py's ``util.dtlib``).

``from_numpy_dtype(dtype)`` builds a new MPI datatype (free it when done) with the type map
of a numpy dtype: a scalar becomes (a duplicate of) its predefined type, a sub-array a
contiguous run, a structured dtype a struct resized to the dtype's itemsize.
``to_numpy_dtype(datatype)`` reads hpxpy's type map (base elements at byte offsets, lower
bound, extent) back into a numpy dtype: one element, a sub-array ``(base, (n,))`` for a
dense run, otherwise a structured dtype with one field per run of adjacent elements.
"""

from __future__ import annotations

from typing import Any, List, Tuple

import numpy as _np

from hpxpy.comm import MPI

__all__ = ["from_numpy_dtype", "to_numpy_dtype"]

_np_dtype: Any = _np.dtype


def _predefined(dtype: Any) -> Any:
    """The predefined MPI datatype of a numpy scalar dtype."""
    datatype = MPI._typedict.get(dtype.char)
    if datatype is None:
        try:
            datatype = MPI.Datatype.fromcode(dtype.str[1:])
        except (KeyError, ValueError):
            datatype = None
    if datatype is None or datatype == MPI.DATATYPE_NULL:
        raise ValueError(f"cannot convert numpy dtype {dtype!r} to an MPI datatype")
    return datatype


def from_numpy_dtype(dtype: Any) -> Any:
    """A new MPI datatype with the layout of the numpy dtype ``dtype``."""
    if _np_dtype is None:
        raise RuntimeError("numpy is not available")
    dtype = _np_dtype(dtype)
    if dtype.subdtype is not None:
        base, shape = dtype.subdtype
        inner = from_numpy_dtype(base)
        try:
            return inner.Create_contiguous(int(_np.prod(shape)))
        finally:
            inner.Free()
    if dtype.fields:
        names = dtype.names or ()
        parts = [from_numpy_dtype(dtype.fields[name][0]) for name in names]
        offsets = [int(dtype.fields[name][1]) for name in names]
        try:
            struct = MPI.Datatype.Create_struct([1] * len(parts), offsets, parts)
        finally:
            for part in parts:
                part.Free()
        if struct.Get_extent() == (0, dtype.itemsize):
            return struct
        try:
            return struct.Create_resized(0, dtype.itemsize)
        finally:
            struct.Free()
    if dtype.hasobject or dtype.kind == "V":
        raise ValueError(f"cannot convert numpy dtype {dtype!r} to an MPI datatype")
    if not dtype.isnative and dtype.itemsize > 1:
        raise ValueError(f"numpy dtype {dtype!r} is not in native byte order")
    return _predefined(dtype).Dup()


def _runs(offsets: List[int], itemsize: int) -> List[Tuple[int, int]]:
    """(start offset, count) of each run of adjacent elements, in type-map order."""
    runs: List[Tuple[int, int]] = []
    for off in offsets:
        if runs and runs[-1][0] + runs[-1][1] * itemsize == off:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((off, 1))
    return runs


def to_numpy_dtype(datatype: Any) -> Any:
    """The numpy dtype with the layout of the MPI datatype ``datatype``."""
    if datatype == MPI.DATATYPE_NULL or not datatype:
        raise ValueError("cannot convert MPI.DATATYPE_NULL to a numpy dtype")
    base = datatype.numpy_dtype
    offsets = [int(o) for o in datatype.offsets]
    lb, extent = datatype.Get_extent()
    if lb != 0:
        raise ValueError(f"cannot convert a datatype with lower bound {lb} to a numpy dtype")
    if len(offsets) == 1 and offsets[0] == 0 and extent == base.itemsize:
        return base
    if datatype.is_dense:
        return _np_dtype((base, (len(offsets),)))
    if any(o < 0 or o + base.itemsize > extent for o in offsets):
        raise ValueError("cannot convert a datatype whose elements lie outside its extent")
    runs = _runs(offsets, base.itemsize)
    if sorted(runs) != runs:
        raise ValueError("cannot convert a datatype whose elements are not in order")
    formats = [base if n == 1 else _np_dtype((base, (n,))) for _, n in runs]
    return _np_dtype({"names": [f"f{i}" for i in range(len(runs))], "formats": formats,
                      "offsets": [o for o, _ in runs], "itemsize": extent})
