"""Gather, Alltoall (and Scatter, unchanged, as a control) of equal raw blocks on hpxpy:
the logarithmic algorithms against the direct ones, in one run.

    python benchmarks/raw_blocks.py                  # N=4 and 8, 3 alternating rounds
    python benchmarks/raw_blocks.py -n 4 --rounds 1 --sizes 8,4096

"old" runs the same build with the direct algorithms forced (``HPXPY_GATHER_TREE_MAX=0``,
``HPXPY_BRUCK_ALLTOALL_MAX=0``: the code paths every call took before), "new" with the
defaults, or with ``--new-env`` (e.g. ``HPXPY_GATHER_TREE_MAX=1000000000`` to time the tree
above its threshold). Jobs alternate old/new so both see the same load; each figure is the
median over the rounds of the slowest rank's mean time per call (µs). The machine is
shared: quote the ratios of one run, with the load (printed first and last).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

OLD = {"HPXPY_GATHER_TREE_MAX": "0", "HPXPY_BRUCK_ALLTOALL_MAX": "0"}
COLLECTIVES = ("Gather", "Alltoall", "Scatter")


def worker(sizes: List[int]) -> None:
    import numpy as np

    from hpxpy.comm import MPI

    comm = MPI.COMM_WORLD
    n, rank = comm.Get_size(), comm.Get_rank()
    out: Dict[str, float] = {}
    for name in COLLECTIVES:
        for size in sizes:
            send = np.full(size * (1 if name == "Gather" else n), rank, dtype=np.uint8)
            recv = np.empty(size * (n if name != "Scatter" else 1), dtype=np.uint8)
            if name == "Gather":
                call = functools.partial(comm.Gather, send, recv, root=0)
            elif name == "Alltoall":
                call = functools.partial(comm.Alltoall, send, recv)
            else:
                call = functools.partial(comm.Scatter, send, recv, root=0)
            iters = 400 if size <= 4096 else 100
            for _ in range(20):
                call()
            comm.Barrier()
            t0 = time.perf_counter()
            for _ in range(iters):
                call()
            mean = (time.perf_counter() - t0) / iters
            out[f"{name} {size}"] = comm.allreduce(mean, op=MPI.MAX) * 1e6
    if rank == 0:
        print("RESULT " + json.dumps(out), flush=True)


def run(n: int, sizes: List[int], env: Dict[str, str]) -> Dict[str, float]:
    cmd = [sys.executable, "-m", "hpxpy.launcher", "-n", str(n), sys.executable, __file__,
           "--worker", "--sizes", ",".join(map(str, sizes))]
    proc = subprocess.run(cmd, env={**os.environ, "HPXPY_HEARTBEAT": "0", **env},
                          capture_output=True, text=True, timeout=600)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"no result (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--ranks", default="4,8")
    parser.add_argument("--sizes", default="8,4096")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--new-env", default="", help="VAR=VALUE,... for the new side")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.worker:
        worker(sizes)
        return
    new_env = dict(kv.split("=", 1) for kv in args.new_env.split(",") if kv)
    print(f"load before: {load()}", flush=True)
    for n in (int(x) for x in args.ranks.split(",")):
        times: Dict[str, Dict[str, List[float]]] = {"old": {}, "new": {}}
        for _ in range(args.rounds):
            for side, env in (("old", OLD), ("new", new_env)):
                for key, us in run(n, sizes, env).items():
                    times[side].setdefault(key, []).append(us)
        print(f"\nN={n} (µs per call, slowest rank, median of {args.rounds})")
        print("| collective | block B | old | new | new/old |")
        print("|---|---|---|---|---|")
        for key in times["old"]:
            old = statistics.median(times["old"][key])
            new = statistics.median(times["new"][key])
            name, size = key.split()
            print(f"| {name} | {size} | {old:.1f} | {new:.1f} | {new / old:.2f} |", flush=True)
    print(f"\nload after: {load()}")


if __name__ == "__main__":
    main()
