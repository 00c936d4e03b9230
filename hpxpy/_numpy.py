"""numpy, imported when hpxpy first uses it.

    from ._numpy import np      # instead of: import numpy as np

Importing numpy costs more CPU than the rest of ``hpxpy.comm`` together (about 0.1 s a
process here), and a job pays it once per locality before its first message: mpi4py does
not import numpy, so an mpi4py program that sends Python objects must not pay it under
hpxpy either. ``np`` stands in for the numpy module: the first attribute read imports numpy
and copies its namespace in, so later reads are plain module attribute reads.
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Any


class _LazyNumpy(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        # Only reached for names not copied in yet: the first read, and numpy's own lazily
        # loaded submodules (numpy.random, ...), which numpy's __getattr__ provides.
        import numpy

        if "ndarray" not in self.__dict__:
            self.__dict__.update(numpy.__dict__)
        return getattr(numpy, name)


if TYPE_CHECKING:
    import numpy as np
else:
    np = _LazyNumpy("numpy")
