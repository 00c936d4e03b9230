"""Conversion between numpy dtypes and MPI datatypes (mpi4py's ``util.dtlib``).

Both directions speak only the MPI datatype API, so they follow how a type was built:
``from_numpy_dtype`` maps a scalar to (a duplicate of) its predefined type, a 1-d sub-array
to a contiguous type, an n-d one to a C-order subarray, a structured dtype to a struct
resized to the dtype's itemsize. ``to_numpy_dtype`` reads ``Datatype.decode()`` back: named
types by type code (pair types as aligned ``(value, int)`` structs), contiguous and full
subarrays as sub-arrays, structs, vectors and indexed types as structured dtypes with one
field per block. Without numpy (``_np_dtype`` None) it returns the specs numpy would take.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional

import numpy as _numpy

from hpxpy.comm import MPI

__all__ = ["from_numpy_dtype", "to_numpy_dtype"]

# Tests set this to None to see the numpy-free results.
_np_dtype: Optional[Callable[..., Any]] = _numpy.dtype

_PAIR_VALUES = {"SHORT_INT": "SHORT", "INT_INT": "INT", "TWOINT": "INT", "LONG_INT": "LONG",
                "FLOAT_INT": "FLOAT", "DOUBLE_INT": "DOUBLE",
                "LONG_DOUBLE_INT": "LONG_DOUBLE"}


def from_numpy_dtype(dtype: Any) -> MPI.Datatype:
    """A new MPI datatype (free it when done) with the layout of the numpy dtype."""
    if _np_dtype is None:
        raise RuntimeError("numpy is not available")
    dtype = _np_dtype(dtype)
    if dtype.hasobject:
        raise ValueError(f"cannot convert numpy dtype {dtype!r} with object entries")
    if not dtype.isnative:
        raise ValueError(f"cannot convert numpy dtype {dtype!r}: not in native byte order")
    if dtype.fields:
        names = dtype.names or ()
        parts = [from_numpy_dtype(dtype.fields[name][0]) for name in names]
        try:
            struct = MPI.Datatype.Create_struct(
                [1] * len(parts), [int(dtype.fields[name][1]) for name in names], parts)
        finally:
            for part in parts:
                part.Free()
        try:
            return struct.Create_resized(0, dtype.itemsize)
        finally:
            struct.Free()
    if dtype.subdtype is not None:
        base, shape = dtype.subdtype
        element = from_numpy_dtype(base)
        try:
            if len(shape) == 1:
                return element.Create_contiguous(shape[0])
            return element.Create_subarray(shape, shape, [0] * len(shape))
        finally:
            element.Free()
    return MPI.Datatype.fromcode(dtype.char).Dup()


def _aligned(datatype: MPI.Datatype, offset: int = 0) -> bool:
    """True if every predefined element of ``datatype`` placed at ``offset`` sits at a
    multiple of its alignment (numpy's ``aligned`` flag for a struct)."""
    if datatype.is_predefined:
        return offset == 0 or offset % (MPI._typealign(datatype) or 1) == 0
    old, _, args = datatype.decode()
    types, disps = [old], [0]
    combiner = datatype.combiner
    if combiner == MPI.COMBINER_STRUCT:
        types, disps = args["datatypes"], args["displacements"]
    elif combiner == MPI.COMBINER_RESIZED:
        disps = [args["extent"]]
    elif combiner == MPI.COMBINER_HVECTOR:
        disps = [args["stride"] if args["count"] > 1 else 0]
    elif combiner in (MPI.COMBINER_HINDEXED, MPI.COMBINER_HINDEXED_BLOCK):
        disps = args["displacements"]
    try:
        return all(_aligned(t, offset + d) for t, d in zip(types, disps))
    finally:
        _free(types)


def _free(types: List[MPI.Datatype]) -> None:
    for t in types:
        if t and not t.is_predefined:
            t.Free()


def _spec(spec: Any, **kwargs: Any) -> Any:
    """A numpy dtype for ``spec``, or the spec itself when numpy is not there."""
    if _np_dtype is None:
        return (spec, kwargs) if kwargs else spec
    return _np_dtype(spec, **kwargs)


def _struct(names: int, formats: list, offsets: list, itemsize: Optional[int],
            aligned: bool) -> Any:
    spec = {"names": [f"f{i}" for i in range(names)], "formats": formats,
            "offsets": list(offsets), "aligned": aligned}
    if itemsize is not None:
        spec["itemsize"] = itemsize
    return _spec(spec)


def to_numpy_dtype(datatype: MPI.Datatype) -> Any:
    """The numpy dtype with the layout of the MPI datatype ``datatype``."""
    if datatype == MPI.DATATYPE_NULL:
        raise ValueError("cannot convert MPI.DATATYPE_NULL to a numpy dtype")
    combiner = datatype.combiner
    if combiner == MPI.COMBINER_NAMED:
        code = MPI._typecode(datatype)
        if code is not None:
            return _spec(code)
        value = _PAIR_VALUES.get(datatype._key)
        if value is None:
            raise ValueError(f"cannot convert {datatype.name} to a numpy dtype")
        return _spec(f"{MPI._typecode(getattr(MPI, value))},i", align=True)
    if combiner in (MPI.COMBINER_F90_INTEGER, MPI.COMBINER_F90_REAL,
                    MPI.COMBINER_F90_COMPLEX):
        return _spec(MPI._typecode(datatype))

    old, _, args = datatype.decode()
    made: List[MPI.Datatype] = [old]  # references decode handed out: freed at the end
    try:
        if combiner == MPI.COMBINER_DUP:
            return to_numpy_dtype(old)
        if combiner == MPI.COMBINER_CONTIGUOUS:
            return _spec((to_numpy_dtype(old), (args["count"],)))
        if combiner == MPI.COMBINER_SUBARRAY:
            sizes = list(args["sizes"])
            if sizes != list(args["subsizes"]) or any(args["starts"]):
                raise ValueError("cannot convert a partial subarray to a numpy dtype")
            if args["order"] == MPI.ORDER_FORTRAN:
                sizes.reverse()
            return _spec((to_numpy_dtype(old), tuple(sizes)))
        aligned = True
        if combiner == MPI.COMBINER_RESIZED and old.combiner == MPI.COMBINER_STRUCT:
            # a struct with numpy's itemsize: one structured dtype
            aligned = _aligned(old, args["extent"])
            _, _, args = old.decode()
            combiner = MPI.COMBINER_STRUCT
        if combiner == MPI.COMBINER_STRUCT:
            made.extend(args["datatypes"])
            formats = [_block(t, n) for t, n in zip(args["datatypes"], args["blocklengths"])]
            aligned = aligned and all(_aligned(t, d) for t, d in
                                      zip(args["datatypes"], args["displacements"]))
            return _struct(len(formats), formats, args["displacements"], datatype.extent,
                           aligned)
        if combiner in (MPI.COMBINER_VECTOR, MPI.COMBINER_HVECTOR):
            count, element = args["count"], to_numpy_dtype(old)
            if combiner == MPI.COMBINER_VECTOR:
                stride, aligned = args["stride"] * old.extent, _aligned(old)
            else:
                stride = args["stride"] if count > 1 else 0
                aligned = _aligned(old, stride)
            return _struct(count, [(element, (args["blocklength"],))] * count,
                           [i * stride for i in range(count)], datatype.extent, aligned)
        if combiner in (MPI.COMBINER_INDEXED, MPI.COMBINER_HINDEXED,
                        MPI.COMBINER_INDEXED_BLOCK, MPI.COMBINER_HINDEXED_BLOCK):
            disps = list(args["displacements"])
            lengths = args.get("blocklengths") or [args["blocklength"]] * len(disps)
            element = to_numpy_dtype(old)
            aligned = _aligned(old)
            if combiner in (MPI.COMBINER_INDEXED, MPI.COMBINER_INDEXED_BLOCK):
                disps = [d * old.extent for d in disps]
            else:
                aligned = aligned and all(_aligned(old, d) for d in disps)
            return _struct(len(disps), [(element, (n,)) for n in lengths], disps, None,
                           aligned)
        raise ValueError(f"cannot convert an MPI datatype built by combiner {combiner} "
                         f"to a numpy dtype")
    finally:
        _free(made)


def _block(datatype: MPI.Datatype, count: int) -> Any:
    element = to_numpy_dtype(datatype)
    return element if count == 1 else (element, count)
