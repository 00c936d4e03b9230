"""hpxpy at 2 ... 64 localities on one machine, beside MPICH (mpiexec + mpi4py), in one run.

    python benchmarks/scale.py                                  # N = 2,4,8,16,32,64
    python benchmarks/scale.py --sizes 2,16 --repeats 1         # a quick look
    python benchmarks/scale.py --mpich-python /work/venv/bin/python

For every N: job start-up (``hpxrun -n N --mpi4py`` / ``mpiexec -n N`` of a program that
imports mpi4py, calls Barrier and exits; the launcher's wall time, median of --repeats,
the two alternating), Allreduce of 8 B (slowest rank's mean per call, ``_scale_worker.py``),
and, for hpxpy, the messages each locality sends per Barrier/Allreduce/Bcast/Allgather and
its resident memory (``tests/programs/scale_collectives.py``, counted by the engine, with
shared-memory meetings on, the default, and off, ``HPXPY_MEETINGS=0``: the message
algorithms used between hosts). A run that does not end within its timeout is recorded as
"timed out", not dropped: MPICH polls while it waits, so 64 ranks on 2 cores may crawl.

Writes ``scale.csv`` (every figure), ``scale.md`` (tables; ratios hpxpy / MPICH of the same
run) and ``scale.png`` (log2 N on x) into ``--out`` (default ``docs/benchmarks``).
"""

from __future__ import annotations

import argparse
import compileall
import csv
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import hpxpy

HERE = Path(__file__).resolve().parent
WORKER = HERE / "_scale_worker.py"
COUNTER = HERE.parent / "tests" / "programs" / "scale_collectives.py"
COLLECTIVES = ("Barrier", "Allreduce", "Bcast", "Allgather")
TIMED_OUT = "timed out"


def run(cmd: List[str], timeout: float, env: Optional[Dict[str, str]] = None
        ) -> Tuple[Optional[float], str]:
    """Runs a job in its own session; (wall seconds, stdout), or (None, why) if it failed."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env={**os.environ, **(env or {})})
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the launcher and every rank it started
        proc.communicate()
        return None, TIMED_OUT
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        return None, f"failed (status {proc.returncode}): {err.strip()[-300:]}"
    return wall, out


def line_of(out: str, prefix: str) -> dict:
    for line in out.splitlines():
        if line.startswith(prefix + " "):
            return json.loads(line[len(prefix) + 1:])
    raise ValueError(f"no {prefix} line in {out[-300:]!r}")


def commands(args: argparse.Namespace) -> Dict[str, List[str]]:
    """Launcher prefixes per implementation; "{n}" stands for the job size."""
    mpiexec = str(Path(args.mpich_python).parent / "mpiexec")
    return {
        "hpxpy": [sys.executable, "-m", "hpxpy.launcher", "-n", "{n}", "--mpi4py",
                  sys.executable, str(WORKER)],
        "mpich": [mpiexec, "-n", "{n}", args.mpich_python, str(WORKER)],
    }


def sized(prefix: List[str], n: int, *rest: str) -> List[str]:
    return [a.replace("{n}", str(n)) for a in prefix] + list(rest)


def measure(args: argparse.Namespace, rows: List[dict]) -> None:
    """Start-up and Allreduce latency, hpxpy and MPICH alternating at each N."""
    impls = commands(args)
    for n in args.sizes:
        walls: Dict[str, List[float]] = {name: [] for name in impls}
        failed: Dict[str, str] = {}
        for _ in range(args.repeats):
            for name, prefix in impls.items():
                if name in failed:
                    continue  # a timeout once is enough: do not spend it again
                wall, out = run(sized(prefix, n, "startup"), args.timeout)
                if wall is None:
                    failed[name] = out
                else:
                    walls[name].append(wall)
        for name in impls:
            value = statistics.median(walls[name]) if walls[name] else failed[name]
            rows.append({"impl": name, "n": n, "metric": "startup_s", "value": value})
            print(f"N={n} {name} start-up: {value}", flush=True)
        for name, prefix in impls.items():
            wall, out = run(sized(prefix, n, "allreduce", str(args.seconds)), args.timeout)
            value = line_of(out, "ALLREDUCE")["us"] if wall is not None else out
            rows.append({"impl": name, "n": n, "metric": "allreduce_8B_us", "value": value})
            print(f"N={n} {name} Allreduce 8 B: {value}", flush=True)


def count(args: argparse.Namespace, rows: List[dict]) -> None:
    """hpxpy's messages per locality per collective, and resident memory, at each N."""
    for n in args.sizes:
        for meetings in ("1", "0"):
            cmd = [sys.executable, "-m", "hpxpy.launcher", "-n", str(n), sys.executable,
                   str(COUNTER)]
            wall, out = run(cmd, args.timeout, {"HPXPY_MEETINGS": meetings})
            if wall is None:
                rows.append({"impl": "hpxpy", "n": n, "metric": f"counts_meetings{meetings}",
                             "value": out})
                continue
            found = line_of(out, "COUNTS")
            for name in COLLECTIVES:
                rows.append({"impl": "hpxpy", "n": n,
                             "metric": f"messages_{name}_meetings{meetings}",
                             "value": found["max"][name]})
            if meetings == "1":
                for key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                    rows.append({"impl": "hpxpy", "n": n, "metric": f"max_{key}_kB",
                                 "value": max(m[key] for m in found["rss_kb"])})
            print(f"N={n} meetings={meetings}: {found['max']}", flush=True)


def kept_rows(path: Path) -> List[dict]:
    """The rows of an earlier run's CSV, numbers as numbers."""
    rows = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            row["n"] = int(row["n"])
            try:
                row["value"] = float(row["value"])
            except ValueError:
                pass  # "timed out", "failed ..."
            rows.append(row)
    return rows


def value(rows: List[dict], impl: str, n: int, metric: str):
    for row in rows:
        if (row["impl"], row["n"], row["metric"]) == (impl, n, metric):
            return row["value"]
    return None


def fmt(v, digits: int = 2) -> str:
    if v is None:
        return "-"
    if isinstance(v, str):
        return v if v == TIMED_OUT else "failed"
    return f"{v:.{digits}f}" if isinstance(v, float) and v != int(v) else f"{v:g}"


def ratio(a, b) -> str:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b:
        return f"{a / b:.2f}"
    return "-"


def markdown(rows: List[dict], sizes: List[int]) -> str:
    load = os.getloadavg()[0]
    out = [f"# hpxpy at scale on one machine ({os.cpu_count()} cores, load {load:.1f} at the "
           "end of the run)", "",
           "Written by `python benchmarks/scale.py`. Start-up: wall time of the launcher for a "
           "program that imports mpi4py, calls Barrier and exits (median of the runs). "
           "Allreduce: 8 B, the slowest rank's mean per call. Ratio: hpxpy / MPICH, "
           "below 1 means hpxpy is faster.", "",
           "| N | start-up hpxpy s | start-up MPICH s | ratio | Allreduce hpxpy µs | "
           "Allreduce MPICH µs | ratio |", "|---|---|---|---|---|---|---|"]
    for n in sizes:
        sh, sm = value(rows, "hpxpy", n, "startup_s"), value(rows, "mpich", n, "startup_s")
        ah = value(rows, "hpxpy", n, "allreduce_8B_us")
        am = value(rows, "mpich", n, "allreduce_8B_us")
        out.append(f"| {n} | {fmt(sh)} | {fmt(sm)} | {ratio(sh, sm)} | {fmt(ah, 1)} | "
                   f"{fmt(am, 1)} | {ratio(ah, am)} |")
    out += ["", "Messages each locality sends per call (the most any locality sends), "
            "counted by the engine (`Runtime.traffic()`). Meetings off (`HPXPY_MEETINGS=0`): "
            "the message algorithms, as between hosts. With meetings on (the default on one "
            "host) Barrier and Allreduce send none: they meet in shared memory.", "",
            "| N | ⌈log2 N⌉ | Barrier | Allreduce | Bcast (root) | Allgather | "
            "Barrier, Allreduce with meetings |", "|---|---|---|---|---|---|---|"]
    for n in sizes:
        m = {c: value(rows, "hpxpy", n, f"messages_{c}_meetings0") for c in COLLECTIVES}
        met = [value(rows, "hpxpy", n, f"messages_{c}_meetings1") for c in COLLECTIVES[:2]]
        out.append(f"| {n} | {math.ceil(math.log2(n))} | " +
                   " | ".join(fmt(m[c]) for c in COLLECTIVES) +
                   f" | {fmt(met[0])}, {fmt(met[1])} |")
    out += ["", "Resident memory per locality (the largest, kB, after the collectives above): "
            "VmRSS = RssAnon (heap: Python, numpy) + RssFile (mapped code) + RssShmem (the "
            "pages of shared-memory segments this process touched, its own and its peers').",
            "", "| N | VmRSS | RssAnon | RssFile | RssShmem |", "|---|---|---|---|---|"]
    for n in sizes:
        out.append(f"| {n} | " + " | ".join(
            fmt(value(rows, "hpxpy", n, f"max_{k}_kB"))
            for k in ("VmRSS", "RssAnon", "RssFile", "RssShmem")) + " |")
    return "\n".join(out) + "\n"


def plot(rows: List[dict], sizes: List[int], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [math.log2(n) for n in sizes]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    panels = [("startup_s", "job start-up (s)"), ("allreduce_8B_us", "Allreduce 8 B (µs)")]
    for ax, (metric, title) in zip(axes, panels):
        for impl, style in (("hpxpy", "o-"), ("mpich", "s--")):
            got = [(x, value(rows, impl, n, metric)) for x, n in zip(xs, sizes)]
            pts = [(x, v) for x, v in got if isinstance(v, (int, float))]
            if pts:
                ax.plot(*zip(*pts), style, label=impl)
            for x, v in got:
                if v == TIMED_OUT:
                    ax.annotate(f"{impl}: timed out", (x, 0.5), xycoords=("data", "axes fraction"),
                                rotation=90, ha="center", fontsize=8)
        ax.set_yscale("log")
        ax.set_title(title)
    ax = axes[2]
    for name, style in zip(COLLECTIVES, ("o-", "s-", "^-", "v-")):
        pts = [(x, value(rows, "hpxpy", n, f"messages_{name}_meetings0"))
               for x, n in zip(xs, sizes)]
        pts = [(x, v) for x, v in pts if isinstance(v, (int, float))]
        if pts:
            ax.plot(*zip(*pts), style, label=name)
    ax.plot(xs, [math.ceil(x) for x in xs], "k:", label="⌈log2 N⌉")
    ax.set_ylim(bottom=0)  # linear: O(log N) is a straight line over log2 N
    ax.set_title("hpxpy messages per locality per call\n(meetings off)")
    for ax in axes:
        ax.set_xlabel("log2 N (localities / ranks, one 2-core machine)")
        ax.set_xticks(xs)
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2,4,8,16,32,64")
    parser.add_argument("--repeats", type=int, default=3, help="start-up runs per N")
    parser.add_argument("--seconds", type=float, default=2.0,
                        help="about how long each Allreduce measurement runs")
    parser.add_argument("--timeout", type=float, default=300.0, help="per job, seconds")
    parser.add_argument("--mpich-python", default="/work/venv/bin/python",
                        help="a python with mpi4py on MPICH; its mpiexec sits beside it")
    parser.add_argument("--out", default=str(HERE.parent / "docs" / "benchmarks"))
    parser.add_argument("--only", choices=("counts", "timing"),
                        help="measure only these; the rest is kept from --out's scale.csv")
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",")]
    out = Path(args.out)
    rows: List[dict] = []
    if args.only:
        rows = [row for row in kept_rows(out / "scale.csv")
                if (row["metric"] in ("startup_s", "allreduce_8B_us")) != (args.only == "timing")]
    if args.only != "timing":
        count(args, rows)
    if args.only != "counts":
        # Bytecode as a regular install has it (pip compiles it): an editable checkout run
        # with PYTHONDONTWRITEBYTECODE would compile hpxpy's modules at every start.
        compileall.compile_dir(str(Path(hpxpy.__file__).parent), quiet=2)
        measure(args, rows)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "scale.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["impl", "n", "metric", "value"])
        writer.writeheader()
        writer.writerows(rows)
    (out / "scale.md").write_text(markdown(rows, args.sizes))
    plot(rows, args.sizes, out / "scale.png")
    print(f"wrote {out / 'scale.csv'}, scale.md, scale.png")


if __name__ == "__main__":
    main()
