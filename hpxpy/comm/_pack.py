"""MPI_Pack / MPI_Unpack and their external32 forms (``Datatype.Pack`` and friends).

A packed message is the type map's data in type-map order with no gaps: each element's
bytes, a pair type's value then index with the padding between them dropped. Native
packing keeps this machine's byte order; ``external32`` (MPI's portable representation, as
MPICH writes it) is big-endian, with ``long`` as 4 bytes, ``wchar_t`` as 2 and ``long
double`` as an IEEE quad. A datatype's external form is found from the predefined type it
was built from (``decode()`` history); a struct mixing several element types has no single
one: its bytes carry tags naming each element's type (``Datatype._tags``).
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Dict, Optional, Tuple

from .._numpy import np
from . import _constants as C
from . import _datatypes as D
from ._buffers import Region, _raw
from ._errors import Exception as MPIException
from ._interop import to_numpy

EXTERNAL32 = "external32"


def _fields(base: np.dtype) -> list:
    """[(numpy dtype, byte offset)] of one base element's data (a pair: value, index)."""
    if base.names and base.fields:
        return [base.fields[name][:2] for name in base.names]
    return [(base, 0)]


def _count(dt: D.Datatype, buf: np.ndarray) -> int:
    extent = dt.extent
    return _raw(buf).size // extent if extent > 0 else 0


def _region(dt: D.Datatype, buf: Any, writable: bool) -> Region:
    dt._check()
    mem = to_numpy(buf, writable)
    return Region(mem, dt, 0, _count(dt, mem))


def _native_bytes(data: np.ndarray) -> np.ndarray:
    """The data bytes of ``data`` (flat base elements), padding of pair types dropped."""
    fields = _fields(data.dtype)
    if len(fields) == 1:
        return data.view(np.uint8).reshape(-1)
    raw = data.view(np.uint8).reshape(len(data), data.dtype.itemsize)
    return np.concatenate([raw[:, off:off + t.itemsize] for t, off in fields],
                          axis=1).reshape(-1)


def _from_native(packed: np.ndarray, base: np.dtype, n: int) -> np.ndarray:
    """``n`` base elements from their packed data bytes."""
    fields = _fields(base)
    if len(fields) == 1:
        return packed.view(base)
    out = np.zeros(n, base)
    raw = out.view(np.uint8).reshape(n, base.itemsize)
    packed = packed.reshape(n, -1)
    at = 0
    for t, off in fields:
        raw[:, off:off + t.itemsize] = packed[:, at:at + t.itemsize]
        at += t.itemsize
    return out


# -- external32 ------------------------------------------------------------------------
def _quad_encode(values: np.ndarray) -> np.ndarray:
    """x87 80-bit long doubles -> big-endian IEEE binary128 (16 bytes each)."""
    raw = np.ascontiguousarray(values).view(np.uint8).reshape(-1, 16)
    mantissa = raw[:, :8].copy().view("<u8").reshape(-1)
    sign_exp = raw[:, 8:10].copy().view("<u2").reshape(-1).astype(np.uint64)
    fraction = mantissa & np.uint64((1 << 63) - 1)  # the explicit integer bit is implied
    high = (sign_exp << np.uint64(48)) | (fraction >> np.uint64(15))
    low = (fraction & np.uint64((1 << 15) - 1)) << np.uint64(49)
    return np.stack([high, low], axis=1).astype(">u8").view(np.uint8).reshape(-1)


def _quad_decode(packed: np.ndarray) -> np.ndarray:
    """Big-endian IEEE binary128 -> x87 80-bit long doubles."""
    words = packed.view(">u8").reshape(-1, 2).astype(np.uint64)
    high, low = words[:, 0], words[:, 1]
    sign_exp = high >> np.uint64(48)
    fraction = ((high & np.uint64((1 << 48) - 1)) << np.uint64(15)) | (low >> np.uint64(49))
    explicit = np.where((sign_exp & np.uint64(0x7FFF)) != 0, np.uint64(1 << 63), np.uint64(0))
    out = np.zeros((len(words), 16), np.uint8)
    out[:, :8] = (fraction | explicit).astype("<u8").view(np.uint8).reshape(-1, 8)
    out[:, 8:10] = sign_exp.astype("<u2").view(np.uint8).reshape(-1, 2)
    return out.reshape(-1).view(np.longdouble)


def _x87_long_double() -> bool:
    info = np.finfo(np.longdouble)
    return np.dtype(np.longdouble).itemsize == 16 and info.nmant == 63


# (external bytes per element, encode, decode) of one scalar numpy kind
_Codec = Tuple[int, Callable[[Any], Any], Callable[[Any], Any]]  # arrays in, arrays out


def _scalar_codec(key: str, t: np.dtype) -> _Codec:
    """How one scalar of predefined type ``key`` (numpy ``t``) is written in external32."""
    if key in ("LONG", "SIGNED_LONG", "UNSIGNED_LONG") or (key == "LONG_INT" and t.kind == "i"
                                                          and t.itemsize == 8):
        wire = np.dtype(">u4" if t.kind == "u" else ">i4")
        return (4, lambda v: v.astype(wire).view(np.uint8),
                lambda b: b.view(wire).astype(t))
    if key == "WCHAR":
        return (2, lambda v: v.view(np.uint32).astype(">u2").view(np.uint8),
                lambda b: b.view(">u2").astype(np.uint32).view(t))
    if t.kind in "fc" and t.itemsize in (16, 32) and t.itemsize // (2 if t.kind == "c" else 1) \
            == 16 and _x87_long_double():
        parts = 2 if t.kind == "c" else 1
        return (16 * parts, lambda v: _quad_encode(v.view(np.longdouble)),
                lambda b: _quad_decode(b).view(t))
    if t.kind in "fc" and np.dtype(t).type in (np.longdouble, np.clongdouble):
        raise NotImplementedError("external32 of long double on this platform")
    wire = t.newbyteorder(">")
    return (t.itemsize, lambda v: v.astype(wire).view(np.uint8),
            lambda b: b.view(wire).astype(t))


_CODECS: Dict[str, list] = {}


def _codecs(key: str) -> list:
    """[(field dtype, offset in base element, codec)] of predefined type ``key``."""
    codecs = _CODECS.get(key)
    if codecs is None:
        base = D.PREDEFINED[key].numpy_dtype
        codecs = _CODECS[key] = [(t, off, _scalar_codec(key, t)) for t, off in _fields(base)]
    return codecs


def _check_datarep(datarep: str) -> None:
    if datarep != EXTERNAL32:
        raise MPIException(C.ERR_UNSUPPORTED_DATAREP, f"unsupported data representation "
                           f"{datarep!r} (hpxpy packs '{EXTERNAL32}')")


def _encode(key: str, data: np.ndarray) -> np.ndarray:
    """External32 bytes of ``data``, elements of predefined type ``key``."""
    codecs = _codecs(key)
    if len(codecs) == 1:
        return codecs[0][2][1](data)
    columns = [codec[1](np.ascontiguousarray(data[name])).reshape(len(data), -1)
               for name, (_, _, codec) in zip(data.dtype.names or (), codecs)]
    return np.concatenate(columns, axis=1).reshape(-1)


def _decode(key: str, packed: np.ndarray, n: int) -> np.ndarray:
    """``n`` elements of predefined type ``key`` from their external32 bytes."""
    codecs = _codecs(key)
    base = D.PREDEFINED[key].numpy_dtype
    if len(codecs) == 1:
        return codecs[0][2][2](packed)
    out = np.zeros(n, base)
    rows = packed.reshape(n, -1)
    at = 0
    for name, (_, _, codec) in zip(base.names or (), codecs):
        out[name] = codec[2](np.ascontiguousarray(rows[:, at:at + codec[0]]).reshape(-1))
        at += codec[0]
    return out


def _external_size(key: str) -> int:
    return sum(codec[0] for _, _, codec in _codecs(key))


class _Layout:
    """Where each element of a type's packed data lies: its predefined type, its native
    bytes' start in the type-map data and its external32 bytes' start. A type of one
    element type is one run; a struct of several is read from its byte tags."""

    key: Optional[str]
    groups: list

    def __init__(self, dt: D.Datatype, count: int) -> None:
        key = dt._root_key()
        if key is not None:
            self.key = key
            self.external = count * dt.base_count * _external_size(key)
            return
        if dt._tags is None:
            raise NotImplementedError("external32 packing of a datatype whose element types "
                                      "are unknown")
        self.key = None
        tags = np.tile(dt._tags, count)
        starts = np.flatnonzero((tags & 0xFF) == 0)
        kinds = tags[starts] >> 8
        sizes = np.array([_external_size(D._TAG_KEYS[k]) for k in range(len(D._TAG_KEYS))],
                         dtype=np.int64)[kinds] if len(starts) else np.empty(0, np.int64)
        self.groups = []
        wire = np.concatenate([[0], np.cumsum(sizes)])[:-1] if len(starts) else sizes
        for k in np.unique(kinds):
            mine = kinds == k
            self.groups.append((D._TAG_KEYS[int(k)], starts[mine], wire[mine]))
        self.external = int(sizes.sum())


def _external_bytes(dt: D.Datatype, data: np.ndarray, count: int) -> np.ndarray:
    layout = _Layout(dt, count)
    if layout.key is not None:
        return _encode(layout.key, data)
    out = np.zeros(layout.external, np.uint8)
    for key, starts, wire in layout.groups:
        base = D.PREDEFINED[key].numpy_dtype
        native = data[starts[:, None] + np.arange(base.itemsize)].reshape(-1).view(base)
        encoded = _encode(key, native).reshape(len(starts), -1)
        out[wire[:, None] + np.arange(encoded.shape[1])] = encoded
    return out


def _from_external(dt: D.Datatype, packed: np.ndarray, count: int) -> np.ndarray:
    layout = _Layout(dt, count)
    n = count * dt.base_count
    if layout.key is not None:
        return _decode(layout.key, packed, n)
    out = np.zeros(n, np.uint8)
    for key, starts, wire in layout.groups:
        base = D.PREDEFINED[key].numpy_dtype
        size = _external_size(key)
        values = _decode(key, packed[wire[:, None] + np.arange(size)].reshape(-1),
                         len(starts))
        out[starts[:, None] + np.arange(base.itemsize)] = \
            values.view(np.uint8).reshape(len(starts), base.itemsize)
    return out


# -- the operations --------------------------------------------------------------------
def _write(packed: np.ndarray, outbuf: Any, position: int) -> int:
    out = _raw(to_numpy(outbuf, True))
    position = int(position)
    if position < 0 or position + packed.size > out.size:
        raise MPIException(C.ERR_TRUNCATE, f"packing {packed.size} bytes at position "
                           f"{position} overflows a buffer of {out.size} bytes")
    out[position:position + packed.size] = packed
    return position + packed.size


def _read(inbuf: Any, position: int, size: int) -> np.ndarray:
    raw = _raw(to_numpy(inbuf, False))
    position = int(position)
    if position < 0 or position + size > raw.size:
        raise MPIException(C.ERR_TRUNCATE, f"unpacking {size} bytes at position {position} "
                           f"from a buffer of {raw.size} bytes")
    return raw[position:position + size].copy()


def _store(region: Region, values: np.ndarray) -> None:
    data = region.data()
    if data.size:
        data[...] = values
        region.store(data)


def pack(dt: D.Datatype, inbuf: Any, outbuf: Any, position: int,
         datarep: Optional[str] = None) -> int:
    """Pack all whole elements of ``dt`` in ``inbuf`` into ``outbuf`` from ``position``;
    the position after them."""
    if datarep is not None:
        _check_datarep(datarep)
    region = _region(dt, inbuf, False)
    data = region.data()
    packed = _external_bytes(dt, data, region.count) if datarep else _native_bytes(data)
    return _write(packed, outbuf, position)


def unpack(dt: D.Datatype, inbuf: Any, position: int, outbuf: Any,
           datarep: Optional[str] = None) -> int:
    """Unpack from ``inbuf`` at ``position`` as many elements of ``dt`` as ``outbuf``
    holds; the position after them."""
    if datarep is not None:
        _check_datarep(datarep)
    region = _region(dt, outbuf, True)
    n = region.count * dt.base_count
    size = region.count * (pack_size(dt, 1, datarep))
    packed = _read(inbuf, position, size)
    values = _from_external(dt, packed, region.count) if datarep else \
        _from_native(packed, dt.numpy_dtype, n)
    _store(region, values)
    return int(position) + size


def pack_size(dt: D.Datatype, count: int, datarep: Optional[str] = None) -> int:
    """Bytes ``count`` elements of ``dt`` take packed (no header: MPICH adds none)."""
    dt._check()
    count = int(count)
    if count < 0:
        raise MPIException(C.ERR_COUNT, f"negative count {count}")
    if datarep is None:
        return count * dt.Get_size()
    _check_datarep(datarep)
    return _Layout(dt, count).external


D._PACK = sys.modules[__name__]  # Datatype.Pack and friends call the functions above
