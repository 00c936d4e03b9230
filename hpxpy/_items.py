"""One Python view of what the C++ collectives take and return, shared by hpxpy's
collectives, its distributed arrays and hpxpy.comm.

The codes are the core's own (``_core.DTYPE_CODES``, ``OP_CODES``, ``ITEM_RAW``,
``ITEM_OBJECT``): one definition in C++. Results come back as ``_core.Item`` (named fields
``dtype, shape, payload, offset, nbytes``); the helpers here view an item's bytes where
they lie, without copying.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

from . import _core

DTYPE_CODES: Dict[np.dtype, int] = {np.dtype(name): code
                                    for name, code in _core.DTYPE_CODES.items()}
CODE_DTYPES: Dict[int, np.dtype] = {code: dtype for dtype, code in DTYPE_CODES.items()}
OP_CODES: Dict[str, int] = dict(_core.OP_CODES)
RAW: int = _core.ITEM_RAW        # bytes passed through untouched
OBJECT: int = _core.ITEM_OBJECT  # a pickled Python object


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
