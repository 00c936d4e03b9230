"""Per-call overhead of hpxpy.comm beside mpi4py (MPICH), one process, COMM_SELF.

    python benchmarks/percall.py               # every operation, µs per call and the ratio
    python benchmarks/percall.py --loops 2000  # quicker, noisier
    python benchmarks/percall.py --json out.json

With one process nothing crosses a wire: what is left is the cost of getting from a
Python call to the runtime and back (argument checks, parsing the buffer, status), which
is what mpi4py's Cython layer keeps at ~1-2 µs. Each implementation runs in a child
process of its own (MPICH's singleton start and hpxpy's runtime never share one); each
figure is the best of ``--repeats`` timed loops. ratio = hpxpy / mpi4py.
Needs mpi4py (MPICH) in the environment: ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Tuple

# (name, what it does) in print order; the same names are timed on both sides.
CASES: List[Tuple[str, str]] = [
    ("Send+Recv", "Send (mpi4py: Bsend) then Recv of 8 B (float64[1])"),
    ("Send+Recv bytearray", "Send then Recv of a bytearray(8)"),
    ("Isend+Irecv+Wait", "Isend, Irecv, Wait (8 B)"),
    ("Ssend+Irecv", "Irecv, Ssend, Wait (8 B)"),
    ("Sendrecv", "Sendrecv of 8 B to self"),
    ("Allreduce", "Allreduce of 8 B, SUM"),
    ("Reduce", "Reduce of 8 B, SUM, root 0"),
    ("Bcast", "Bcast of 8 B"),
    ("Barrier", "Barrier"),
    ("Gather", "Gather of 8 B"),
    ("Scatter", "Scatter of 8 B"),
    ("Allgather", "Allgather of 8 B"),
    ("Alltoall", "Alltoall of 8 B"),
    ("send+recv", "send then recv of a small tuple"),
    ("bcast", "bcast of a float"),
    ("allreduce", "allreduce of a float, SUM"),
    ("barrier", "barrier"),
]


def cases(MPI: Any) -> Dict[str, Callable[[], None]]:
    """The timed bodies, written against the mpi4py API."""
    import numpy as np

    comm = MPI.COMM_SELF
    # MPICH's blocking Send to self waits for the receive (MPI allows it), so mpi4py's
    # side sends with Bsend/bsend (one buffered call, what hpxpy's Send does anyway).
    send, osend = comm.Send, comm.send
    if not MPI.__name__.startswith("hpxpy"):
        MPI.Attach_buffer(bytearray(1 << 20))
        send, osend = comm.Bsend, comm.bsend
    a = np.ones(1)
    b = np.empty(1)
    ba, bb = bytearray(8), bytearray(8)
    obj = (1, "x")

    def send_recv() -> None:
        send(a, 0, 7)
        comm.Recv(b, 0, 7)

    def send_recv_bytes() -> None:
        send(ba, 0, 7)
        comm.Recv(bb, 0, 7)

    def isend_irecv() -> None:
        s = comm.Isend(a, 0, 7)
        r = comm.Irecv(b, 0, 7)
        r.Wait()
        s.Wait()

    def ssend() -> None:
        r = comm.Irecv(b, 0, 7)
        comm.Ssend(a, 0, 7)
        r.Wait()

    return {
        "Send+Recv": send_recv,
        "Send+Recv bytearray": send_recv_bytes,
        "Isend+Irecv+Wait": isend_irecv,
        "Ssend+Irecv": ssend,
        "Sendrecv": lambda: comm.Sendrecv(a, 0, 7, b, 0, 7),
        "Allreduce": lambda: comm.Allreduce(a, b, MPI.SUM),
        "Reduce": lambda: comm.Reduce(a, b, MPI.SUM, 0),
        "Bcast": lambda: comm.Bcast(a, 0),
        "Barrier": comm.Barrier,
        "Gather": lambda: comm.Gather(a, b, 0),
        "Scatter": lambda: comm.Scatter(a, b, 0),
        "Allgather": lambda: comm.Allgather(a, b),
        "Alltoall": lambda: comm.Alltoall(a, b),
        "send+recv": lambda: (osend(obj, 0, 7), comm.recv(None, 0, 7)),
        "bcast": lambda: comm.bcast(1.5, 0),
        "allreduce": lambda: comm.allreduce(1.5, MPI.SUM),
        "barrier": comm.barrier,
    }


def measure(impl: str, loops: int, repeats: int) -> Dict[str, float]:
    """µs per call of every case, in this process, on ``impl`` ("hpxpy" or "mpi4py")."""
    if impl == "hpxpy":
        from hpxpy.comm import MPI
    else:
        from mpi4py import MPI
    out: Dict[str, float] = {}
    for name, body in cases(MPI).items():
        for _ in range(loops // 10):  # warm up
            body()
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(loops):
                body()
            best = min(best, (time.perf_counter() - t0) / loops)
        out[name] = best * 1e6
    return out


def child(impl: str, loops: int, repeats: int) -> Dict[str, float]:
    cmd = [sys.executable, __file__, "--child", impl, "--loops", str(loops),
           "--repeats", str(repeats)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"{impl} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.loops, args.repeats)))
        return
    hpx = child("hpxpy", args.loops, args.repeats)
    mpi = child("mpi4py", args.loops, args.repeats)
    print(f"{'operation (COMM_SELF)':<22} {'hpxpy µs':>9} {'mpi4py µs':>10} {'ratio':>6}")
    for name, _ in CASES:
        print(f"{name:<22} {hpx[name]:9.2f} {mpi[name]:10.2f} {hpx[name] / mpi[name]:6.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"hpxpy": hpx, "mpi4py": mpi}, f, indent=1)


if __name__ == "__main__":
    main()
