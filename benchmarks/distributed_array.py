"""Distributed array sum: hpxpy against numpy (one process) and mpi4py (MPICH), same run.

    python benchmarks/distributed_array.py                  # 10^8 float64 at 1, 2, 4
    python benchmarks/distributed_array.py -N 1e7 -n 1 2    # smaller / other counts

What is measured (see benchmarks/_darray_worker.py):
  sum      every rank generates its own block of the global array in place first, then
           the time of one global sum is taken (mean of 10, slowest rank):
           numpy  arr.sum() over the whole array in one process;
           hpxpy  DistributedArrayF64.sum(): C++ local sum + one all_reduce;
           mpi4py numpy sum of the rank's block + Allreduce of one float64.
  scatter  rank 0 holds the whole array and sends every rank its block (best of 2,
           slowest rank): hpxpy distributed_from_numpy(root=0), mpi4py Scatterv.
Ratios: hpxpy / reference (lower is better for hpxpy). Needs `pip install -e '.[bench]'`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "_darray_worker.py")


def run(cmd: list, timeout: float) -> dict:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    if abs(res["total"] - res["expected"]) > 1e-6 * abs(res["expected"]):
        raise SystemExit(f"{' '.join(cmd)}: wrong sum {res['total']} != {res['expected']}")
    return res


def fmt(seconds: float) -> str:
    return f"{seconds * 1e3:9.2f} ms" if seconds < 1 else f"{seconds:9.3f} s "


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-N", "--elements", type=float, default=1e8)
    parser.add_argument("-n", "--localities", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    n = str(int(args.elements))
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        raise SystemExit("mpiexec not found: pip install -e '.[bench]' (mpi4py + mpich)")

    base = run([sys.executable, WORKER, "numpy", n], timeout=600)
    print(f"sum of {int(args.elements):,} float64; numpy in one process: {fmt(base['sum'])}")
    print(f"{'operation':8s} {'N':>2s} {'numpy':>12s} {'mpi4py+MPICH':>13s} {'hpxpy':>12s} "
          f"{'hpxpy/numpy':>12s} {'hpxpy/mpi4py':>13s}")
    for p in args.localities:
        mpi = run([mpiexec, "-n", str(p), sys.executable, WORKER, "mpi4py", n], timeout=900)
        hpx = run([sys.executable, "-m", "hpxpy.launcher", "-n", str(p), sys.executable, WORKER,
                   "hpxpy", n], timeout=900)
        print(f"{'sum':8s} {p:2d} {fmt(base['sum']):>12s} {fmt(mpi['sum']):>13s} "
              f"{fmt(hpx['sum']):>12s} {hpx['sum'] / base['sum']:11.2f}x "
              f"{hpx['sum'] / mpi['sum']:12.2f}x")
        print(f"{'scatter':8s} {p:2d} {'-':>12s} {fmt(mpi['scatter']):>13s} "
              f"{fmt(hpx['scatter']):>12s} {'-':>12s} {hpx['scatter'] / mpi['scatter']:12.2f}x")


if __name__ == "__main__":
    main()
