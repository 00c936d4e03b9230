"""One Python view of what the C++ collectives take and return, shared by hpxpy's
collectives, its distributed arrays and hpxpy.comm.

The codes are the core's own (``_core.DTYPE_CODES``, ``OP_CODES``, ``ITEM_RAW``,
``ITEM_OBJECT``): one definition in C++. Results come back as ``_core.Item`` (named fields
``dtype, shape, payload, offset, nbytes``); the helpers here view an item's bytes where
they lie, without copying.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional

from . import _core
from ._numpy import np

if TYPE_CHECKING:
    DTYPE_CODES: Dict[np.dtype, int]  # numpy dtype -> the core's element code
    CODE_DTYPES: Dict[int, np.dtype]  # and back


def __getattr__(name: str) -> Any:
    # The dtype tables are made on first use: building them imports numpy (see _numpy).
    if name not in ("DTYPE_CODES", "CODE_DTYPES"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    codes = {np.dtype(dtype_name): code for dtype_name, code in _core.DTYPE_CODES.items()}
    globals().update(DTYPE_CODES=codes, CODE_DTYPES={code: dt for dt, code in codes.items()})
    return globals()[name]


OP_CODES: Dict[str, int] = dict(_core.OP_CODES)
RAW: int = _core.ITEM_RAW        # bytes passed through untouched
OBJECT: int = _core.ITEM_OBJECT  # a pickled Python object


def item_raw(item: Any) -> bytes:
    """The item's bytes as ``bytes``, without numpy (for callers that must not load it)."""
    return bytes(memoryview(item.payload)[item.offset:item.offset + item.nbytes])


def item_bytes(item: Any) -> np.ndarray:
    """The item's bytes, a uint8 view of the received message."""
    return np.frombuffer(item.payload, dtype=np.uint8, count=item.nbytes, offset=item.offset)


def item_array(item: Any, dtype: Any, count: Optional[int] = None) -> np.ndarray:
    """The item's bytes as ``count`` elements of ``dtype`` (all of them by default), a view
    of the received message."""
    dtype = np.dtype(dtype)
    if count is None:
        count = item.nbytes // dtype.itemsize
    return np.frombuffer(item.payload, dtype=dtype, count=count, offset=item.offset)
