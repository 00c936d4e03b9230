"""Errors that one locality finds and every member of a collective raises.

The failing locality sends a status code and the message in place of its data; the C++
core raises the matching Python exception on every member. The codes are the core's own
(``_core.STATUS_*``): one definition for C++ and Python.
"""

from __future__ import annotations

import pickle
from typing import Tuple

from . import _core

# Checked in order: the first type an exception is an instance of gives its code.
_CODES = (
    (pickle.PicklingError, _core.STATUS_PICKLING_ERROR),
    (AttributeError, _core.STATUS_ATTRIBUTE_ERROR),
    (TypeError, _core.STATUS_TYPE_ERROR),
)
_TYPES = {code: kind for kind, code in _CODES}


def failure_status(exc: BaseException, text: str = "") -> Tuple[int, str]:
    """(status, message) that makes every member raise an exception of ``exc``'s kind:
    pickle's error, AttributeError, TypeError, or else ValueError."""
    for kind, code in _CODES:
        if isinstance(exc, kind):
            return code, text or str(exc)
    return _core.STATUS_VALUE_ERROR, text or str(exc)


def failure_exception(status: int, text: str) -> BaseException:
    """The exception a failure status stands for (what the core raises for it)."""
    return _TYPES.get(status, ValueError)(text)
