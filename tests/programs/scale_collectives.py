"""Collectives and point to point at any N, results checked, and the messages each
locality sends per collective, counted by the engine (``_core.Runtime.traffic``).

Locality 0 prints one line ``COUNTS {json}``: for every collective the most and the fewest
messages any locality sent per call (``max``, ``min``), the most any locality received
(``max_received``: a Gather's root receives, it does not send), and every locality's
resident memory (kB). Used by
tests/test_scale.py and benchmarks/scale.py. ``HPXPY_MEETINGS=0`` makes Barrier and
Allreduce use messages on one host too (the path between hosts).
"""

from __future__ import annotations

import json
import sys

import numpy as np

from hpxpy import _runtime
from hpxpy.comm import MPI

CALLS = 5  # calls counted per collective (after one uncounted warm-up call)


def resident_kb() -> dict:
    """This process's resident memory, split as /proc/self/status splits it."""
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                fields[key] = int(value.split()[0])
    return fields


def check_results(comm) -> None:
    rank, size = comm.Get_rank(), comm.Get_size()
    total = np.empty(4, dtype="f8")
    comm.Allreduce(np.arange(4, dtype="f8") + rank, total, op=MPI.SUM)
    assert np.array_equal(total, np.arange(4) * size + size * (size - 1) / 2), total
    assert comm.allreduce(rank, op=MPI.MAX) == size - 1
    data = np.full(3, 7 if rank == size - 1 else -1, dtype="i8")
    comm.Bcast(data, root=size - 1)
    assert (data == 7).all(), data
    everyone = np.empty(size, dtype="i8")
    comm.Allgather(np.array([rank * 10], dtype="i8"), everyone)
    assert np.array_equal(everyone, np.arange(size) * 10), everyone
    for root in (0, size - 1):
        for width in (1, 600):  # 8 B and 4.8 KB blocks
            mine = np.arange(width, dtype="i8") + rank * 1000
            table = np.full((size, width), -1, dtype="i8") if rank == root else None
            comm.Gather(mine, table, root=root)
            if rank == root:
                want = np.arange(width)[None, :] + np.arange(size)[:, None] * 1000
                assert np.array_equal(table, want), (root, width)
            part = np.empty(width, dtype="i8")
            source = (np.arange(size * width, dtype="i8").reshape(size, width)
                      if rank == root else None)
            comm.Scatter(source, part, root=root)
            assert np.array_equal(part, np.arange(width) + rank * width), (root, width)
    swapped = np.empty(size, dtype="i8")
    comm.Alltoall(np.arange(size, dtype="i8") + rank * 100, swapped)
    assert np.array_equal(swapped, np.arange(size) * 100 + rank), swapped
    assert comm.gather(rank, root=0) == (list(range(size)) if rank == 0 else None)
    assert comm.scatter([i * i for i in range(size)] if rank == 0 else None, root=0) == rank**2
    assert comm.alltoall([rank * 100 + i for i in range(size)]) == [
        i * 100 + rank for i in range(size)
    ]
    # Point to point: a ring both ways, and everyone to locality 0.
    right, left = (rank + 1) % size, (rank - 1) % size
    got = np.empty(2, dtype="i8")
    comm.Sendrecv(np.array([rank, -rank], dtype="i8"), right, 5, got, left, 5)
    assert list(got) == [left, -left], got
    assert comm.sendrecv(("hi", rank), dest=left, source=right) == ("hi", right)
    if rank == 0:
        seen = sorted(comm.recv(source=MPI.ANY_SOURCE, tag=9) for _ in range(size - 1))
        assert seen == list(range(1, size)), seen
    else:
        comm.send(rank, dest=0, tag=9)
    comm.Barrier()


def count_messages(comm) -> tuple:
    """Messages this locality sent, and received, per call of each collective (8-byte
    blocks). Receives are counted when a receive matches them, so a call's count holds
    its own messages only."""
    core = _runtime.core()
    one = np.ones(1, dtype="f8")
    out = np.empty(1, dtype="f8")
    gathered = np.empty(comm.Get_size(), dtype="f8")
    swapped = np.empty(comm.Get_size(), dtype="f8")
    calls = {
        "Barrier": lambda: comm.Barrier(),
        "Allreduce": lambda: comm.Allreduce(one, out, op=MPI.SUM),
        "Bcast": lambda: comm.Bcast(out, root=0),
        "Allgather": lambda: comm.Allgather(one, gathered),
        "Gather": lambda: comm.Gather(one, gathered, root=0),
        "Scatter": lambda: comm.Scatter(gathered, out, root=0),
        "Alltoall": lambda: comm.Alltoall(gathered, swapped),
    }
    sent, received = {}, {}
    for name, call in calls.items():
        call()  # the first call may set things up (a meeting slot is claimed by message)
        before = core.traffic()
        for _ in range(CALLS):
            call()
        after = core.traffic()
        sent[name] = (after[0] - before[0]) / CALLS
        received[name] = (after[2] - before[2]) / CALLS
    return sent, received


def main() -> None:
    comm = MPI.COMM_WORLD
    check_results(comm)
    counts, received = count_messages(comm)
    everyone = comm.gather((counts, received, resident_kb()), root=0)
    comm.Barrier()
    if comm.Get_rank() == 0:
        summary = {
            "size": comm.Get_size(),
            "max": {k: max(c[k] for c, _, _ in everyone) for k in counts},
            "min": {k: min(c[k] for c, _, _ in everyone) for k in counts},
            "max_received": {k: max(r[k] for _, r, _ in everyone) for k in counts},
            "rss_kb": [m for _, _, m in everyone],
        }
        print("COUNTS " + json.dumps(summary), flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
