"""hpxpy.comm (the mpi4py API on hpxpy) against mpi4py (MPICH), one program on both.

    python benchmarks/comm.py                # pingpong, Barrier, allreduce, Allreduce,
                                             # Bcast, bcast at 2 and 4 ranks, with ratios
    python benchmarks/comm.py --only-mpi     # the mpi4py + MPICH side alone
    python benchmarks/comm.py -n 2 --scale 0.1   # quick look: 2 ranks, a tenth of the loops

Needs `pip install -e '.[bench]'` (mpi4py + the mpich wheel). The worker,
benchmarks/_comm_worker.py, is written against mpi4py and does `from mpi4py import MPI`: it runs
under `mpiexec -n N` and under `hpxrun -n N --mpi4py`, where that import resolves to hpxpy.
Each figure is the slowest rank's mean time per operation; ratio = hpxpy / mpi4py.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from typing import Optional

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "_comm_worker.py")
TIMEOUT = 600


class JobFailed(Exception):
    pass


def run(cmd: list, timeout: float) -> dict:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise JobFailed(f"{' '.join(cmd)} timed out after {timeout:.0f} s") from exc
    if out.returncode != 0:
        raise JobFailed(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError) as exc:
        raise JobFailed(f"{' '.join(cmd)} printed no result:\n{out.stdout[-2000:]}") from exc


def hpx_cmd(n: int, *args: str) -> list:
    return [sys.executable, "-m", "hpxpy.launcher", "-n", str(n), "--mpi4py",
            sys.executable, WORKER, *args]


def mpi_cmd(n: int, *args: str) -> list:
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        raise SystemExit("mpiexec not found: pip install -e '.[bench]' (mpi4py + mpich)")
    return [mpiexec, "-n", str(n), sys.executable, WORKER, *args]


def fmt(seconds: Optional[float]) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1e6:10.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:10.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--ranks", type=int, nargs="+", default=[2, 4],
                        help="job sizes to run (default: 2 4)")
    parser.add_argument("--only-mpi", action="store_true",
                        help="run only the mpi4py + MPICH side")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply every iteration count (default 1)")
    args = parser.parse_args()
    extra = [] if args.scale == 1.0 else [str(args.scale)]

    failures = []
    print(f"{'operation':18s} {'N':>2s} {'mpi4py+MPICH':>14s} {'hpxpy':>14s} {'ratio':>8s}",
          flush=True)
    for n in args.ranks:
        try:
            mpi = run(mpi_cmd(n, *extra), timeout=TIMEOUT)
        except JobFailed as exc:
            raise SystemExit(str(exc)) from None
        hpx: dict = {}
        if not args.only_mpi:
            try:
                hpx = run(hpx_cmd(n, *extra), timeout=TIMEOUT)
            except JobFailed as exc:
                failures.append(str(exc))
        for name, m in mpi.items():
            h = hpx.get(name)
            ratio = f"{h / m:7.2f}x" if h is not None else "-"
            print(f"{name:18s} {n:2d} {fmt(m):>14s} {fmt(h):>14s} {ratio:>8s}", flush=True)
    print("ratio = hpxpy time / mpi4py time (below 1: hpxpy faster); each time is the slowest "
          "rank's mean per operation; pingpong is one-way (half the round trip).")
    if failures:
        print("\nhpxpy side failed:", file=sys.stderr)
        for text in failures:
            print(text, file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
