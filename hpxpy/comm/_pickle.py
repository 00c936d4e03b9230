"""Objects on the wire: pickle protocol 5 with out-of-band buffers.

A numpy array inside an object is not copied into the pickle: its memory is sent as its
own segment (gathered by the parcelport, no copy), and on the receiving side it comes
back as a view of the received message.

Layout (every part starts 16-byte aligned): header ``<IIQ`` (magic, buffer count, pickle
length) + one ``<Q`` length per buffer, the pickle, then each buffer.
"""

from __future__ import annotations

import pickle
import struct
from typing import Any, List, Optional

_MAGIC = 0x504B3548  # "H5KP"
_MAGIC_CUSTOM = 0x504B3549  # the object was serialized by MPI.pickle's own dumps
_ZEROS = bytes(16)


_HEAD = struct.Struct("<IIQ")  # magic, buffer count, pickle length
# Objects of these types never hold an out-of-band buffer: they pickle in one call.
_PLAIN = frozenset((int, float, complex, str, bytes, bool, type(None)))


def _pad(n: int) -> int:
    return -n % 16


# MPI.pickle (set by MPI.py): when a program gives it its own dumps/loads (dill, say, to
# send lambdas), objects travel in-band in that serializer, as under mpi4py.
_active: Optional[Pickle] = None


def dumps(obj: Any) -> List[Any]:
    """The segments that carry ``obj``."""
    custom = _active
    if custom is not None and custom._custom:
        data = custom.dumps(obj)
        head = struct.pack("<IIQ", _MAGIC_CUSTOM, 0, len(data))
        return [head + _ZEROS[: _pad(len(head))], data]
    if type(obj) in _PLAIN:  # the common small value: no buffer list, no per-buffer work
        data = pickle.dumps(obj, 5)
        return [_HEAD.pack(_MAGIC, 0, len(data)), data]
    buffers: List[pickle.PickleBuffer] = []
    data = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    raws = []
    for b in buffers:
        try:
            raws.append(b.raw())
        except BufferError:  # not contiguous: must travel in-band after all
            return dumps_inband(obj)
    head = struct.pack(f"<IIQ{len(raws)}Q", _MAGIC, len(raws), len(data),
                       *(r.nbytes for r in raws))
    if not raws:
        return [head + _ZEROS[: _pad(len(head))] + data]
    segments: List[Any] = [head + _ZEROS[: _pad(len(head))], data]
    size = len(data)
    for r in raws:
        segments.append(_ZEROS[: _pad(size)])
        segments.append(r)
        size = r.nbytes
    return segments


def dumps_inband(obj: Any) -> List[Any]:
    data = pickle.dumps(obj, protocol=5)
    head = struct.pack("<IIQ", _MAGIC, 0, len(data))
    return [head + _ZEROS[: _pad(len(head))] + data]


def loads(payload: Any, offset: int = 0, nbytes: int = -1) -> Any:
    """The object in ``payload[offset:offset+nbytes]``; arrays view the payload."""
    magic, count, size = _HEAD.unpack_from(payload, offset)
    if magic == _MAGIC and count == 0 and (nbytes < 0 or 16 + size <= nbytes):
        start = offset + 16  # no buffers: the pickle follows the header at once
        return pickle.loads(memoryview(payload)[start: start + size])
    view = memoryview(payload)
    view = view[offset:] if nbytes < 0 else view[offset: offset + nbytes]
    if magic == _MAGIC_CUSTOM and _active is not None:
        return _active.loads(view[16:16 + size])
    if magic != _MAGIC:
        raise ValueError("message does not hold a pickled object")
    lengths = struct.unpack_from(f"<{count}Q", view, 16)
    pos = 16 + 8 * count
    pos += _pad(pos)
    data = view[pos: pos + size]
    pos += size
    buffers = []
    for n in lengths:
        pos += _pad(pos)
        buffers.append(view[pos: pos + n])
        pos += n
    return pickle.loads(data, buffers=buffers)


_DEFAULT_THRESHOLD = 262144  # bytes: smaller buffers stay in the pickle (dumps_oob)


class Pickle:
    """Pickle: mpi4py's serializer of Python objects, with
    ``dumps``/``loads`` (in-band) and ``dumps_oob``/``loads_oob`` (out-of-band buffers).

    ``PROTOCOL`` is the protocol of ``dumps`` (None: the highest); ``dumps_oob`` always uses
    protocol 5 and keeps buffers of fewer than ``THRESHOLD`` bytes in-band (None: 256 KiB).
    Note: hpxpy's own transport always uses pickle protocol 5 with out-of-band buffers
    (``dumps``/``loads`` above); this object serves programs that call it directly (and
    ``mpi4py.util.pkl5``)."""

    # How dumps_oob hands out a buffer; MPI.py makes it MPI.buffer (a layer above this one).
    _wrap: Any = staticmethod(memoryview)

    def __init__(self, dumps: Any = None, loads: Any = None, protocol: Any = None,
                 threshold: Any = None) -> None:
        self._dumps = dumps if dumps is not None else pickle.dumps
        self._loads = loads if loads is not None else pickle.loads
        # Another serializer than pickle's (dill, marshal, json...): objects travel in it.
        self._custom = self._dumps is not pickle.dumps or self._loads is not pickle.loads
        self.PROTOCOL = protocol
        self.THRESHOLD = threshold

    @property
    def PROTOCOL(self) -> Optional[int]:  # noqa: N802 - mpi4py's name
        """The protocol ``dumps`` is called with (None: called without one)."""
        return self._protocol

    @PROTOCOL.setter
    def PROTOCOL(self, value: Optional[int]) -> None:  # noqa: N802
        if value is None and self._dumps is pickle.dumps:
            value = pickle.HIGHEST_PROTOCOL
        self._protocol = None if value is None else int(value)

    @property
    def THRESHOLD(self) -> int:  # noqa: N802 - mpi4py's name
        return self._threshold

    @THRESHOLD.setter
    def THRESHOLD(self, value: Optional[int]) -> None:  # noqa: N802
        self._threshold = _DEFAULT_THRESHOLD if value is None else int(value)

    def dumps(self, obj: Any) -> bytes:
        """Serialize ``obj`` in-band."""
        if self._protocol is None:
            return self._dumps(obj)
        return self._dumps(obj, self._protocol)

    def loads(self, data: Any) -> Any:
        """Deserialize ``data``."""
        return self._loads(data)

    def dumps_oob(self, obj: Any) -> Any:
        """Serialize ``obj``: (data, list of out-of-band buffers of ``THRESHOLD`` bytes or
        more). A custom ``dumps`` serializes in-band (no buffers)."""
        if self._dumps is not pickle.dumps:
            return self.dumps(obj), []
        threshold = self._threshold
        buffers: List[Any] = []

        def out_of_band(pb: pickle.PickleBuffer) -> bool:
            try:
                raw = pb.raw()
            except BufferError:  # not contiguous: in-band
                return True
            if raw.nbytes < threshold:
                return True
            buffers.append(self._wrap(raw))
            return False

        data = pickle.dumps(obj, 5, buffer_callback=out_of_band)
        return data, buffers

    def loads_oob(self, data: Any, buffers: Any) -> Any:
        """Deserialize ``data`` with its out-of-band ``buffers``."""
        return pickle.loads(data, buffers=buffers)
