"""Shared memory for ``Win.Allocate_shared``: one anonymous memfd segment per window.

The window's rank 0 creates the segment (``memfd_create``: no name anywhere, nothing in
``/dev/shm``) and tells the others its ``(pid, fd, size)``; they open it through
``/proc/<pid>/fd/<fd>`` (same user only) and map it. Once every member has mapped it, the
creator closes its descriptor: the memory then lives only as long as some mapping does, so
nothing is left behind however the job ends (SIGKILL included), as for the shared-memory
transport's segments.

Layer 0 of hpxpy.comm: the standard library and numpy only.
"""

from __future__ import annotations

import mmap
import os
from typing import Optional, Tuple

from .._numpy import np

ALIGN = 64  # each rank's part starts on a cache line


def layout(sizes: list) -> Tuple[list, int]:
    """(offset of each rank's part, total bytes): parts in rank order, cache-line aligned."""
    offsets, total = [], 0
    for size in sizes:
        offsets.append(total)
        total += (size + ALIGN - 1) // ALIGN * ALIGN
    return offsets, total


class Segment:
    """A mapping of the window's segment (``memory``: all of it, as bytes)."""

    def __init__(self, total: int, source: Optional[Tuple[int, int]] = None) -> None:
        self.fd = -1
        self._map: Optional[mmap.mmap] = None
        if total == 0:
            self.memory = np.zeros(0, np.uint8)
            return
        if source is None:  # the creator
            self.fd = os.memfd_create("hpxpy-win", os.MFD_CLOEXEC)
            os.ftruncate(self.fd, total)
            fd = self.fd
        else:
            pid, their_fd = source
            fd = os.open(f"/proc/{pid}/fd/{their_fd}", os.O_RDWR | os.O_CLOEXEC)
        try:
            self._map = mmap.mmap(fd, total, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            if source is not None:
                os.close(fd)
        self.memory = np.frombuffer(self._map, dtype=np.uint8)

    def endpoint(self) -> Tuple[int, int]:
        return os.getpid(), self.fd

    def close_descriptor(self) -> None:
        """Close the creator's descriptor once everyone has mapped the segment."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    @property
    def address(self) -> int:
        return int(self.memory.__array_interface__["data"][0]) if self.memory.size else 0
