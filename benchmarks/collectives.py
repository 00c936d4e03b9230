"""Collectives: hpxpy against mpi4py (MPICH) on this machine, in the same run.

    python benchmarks/collectives.py            # all_reduce 8 B / 8 MiB, broadcast 8 MiB,
                                                # barrier at 2 and 4 localities, with ratios
    python benchmarks/collectives.py --soak     # 10^5 small all_reduce at 4 localities:
                                                # resident memory before/after per locality

Needs `pip install -e '.[bench]'` (mpi4py + the mpich wheel). Each figure is the slowest
rank's mean time per operation; ratio = hpxpy / mpi4py (lower is better for hpxpy).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "_worker.py")


def run(cmd: list, timeout: float) -> dict:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def hpx_cmd(n: int, *args: str) -> list:
    return [sys.executable, "-m", "hpxpy.launcher", "-n", str(n), sys.executable, WORKER,
            "hpxpy", *args]


def mpi_cmd(n: int, *args: str) -> list:
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        raise SystemExit("mpiexec not found: pip install -e '.[bench]' (mpi4py + mpich)")
    return [mpiexec, "-n", str(n), sys.executable, WORKER, "mpi4py", *args]


def fmt(seconds: float) -> str:
    return f"{seconds * 1e6:10.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:10.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--soak", action="store_true", help="memory soak at 4 localities")
    parser.add_argument("--soak-iters", type=int, default=100_000)
    parser.add_argument("-n", "--localities", type=int, nargs="+", default=[2, 4])
    args = parser.parse_args()

    if args.soak:
        res = run(hpx_cmd(4, str(args.soak_iters)), timeout=1800)
        print(f"soak: {args.soak_iters} all_reduce of 8 B at 4 localities, "
              f"{fmt(res['per_op_s'])} each")
        print("locality  RSS before (KiB)  RSS after (KiB)  growth (KiB)")
        for i, (before, after) in enumerate(res["soak"]):
            print(f"{i:8d}  {before:16d}  {after:15d}  {after - before:12d}")
        return

    print(f"{'operation':18s} {'N':>2s} {'mpi4py+MPICH':>14s} {'hpxpy':>14s} {'ratio':>8s}")
    for n in args.localities:
        mpi = run(mpi_cmd(n), timeout=600)
        hpx = run(hpx_cmd(n), timeout=600)
        for name in mpi:
            ratio = hpx[name] / mpi[name]
            print(f"{name:18s} {n:2d} {fmt(mpi[name]):>14s} {fmt(hpx[name]):>14s} {ratio:7.1f}x")


if __name__ == "__main__":
    main()
