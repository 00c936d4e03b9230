"""What observing costs: ping-pong and allreduce with tracing off, ``--stats`` and ``--trace``.

Each run is one 2-locality job under hpxrun (``benchmarks/_trace_worker.py``): a ping-pong
of 8-byte ``Send``/``Recv`` between ranks 0 and 1, then 8-byte ``Allreduce``; the worker
times each loop and prints microseconds per operation (a round trip for ping-pong). Modes
alternate run by run, so a change in the machine's load hits them alike; the table shows
medians and the ratio to "off". ``--base-python`` adds runs with another installation's
interpreter (e.g. the commit before the stall-report bookkeeping) as "base".

    python benchmarks/trace_overhead.py --runs 7
    python benchmarks/trace_overhead.py --runs 7 --base-python /tmp/base-venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from typing import Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "_trace_worker.py")


def run_once(python: str, mode: str, iterations: int, localities: int) -> Dict[str, float]:
    """One job; returns {"pingpong": us per round trip, "allreduce": us per call}."""
    args = [python, "-m", "hpxpy.launcher", "-n", str(localities), "--timeout", "300"]
    with tempfile.TemporaryDirectory() as tmp:
        if mode == "stats":
            args.append("--stats=json")
        elif mode == "trace":
            args += ["--trace", os.path.join(tmp, "t.json")]
        args += [python, WORKER, str(iterations)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("HPXPY_")}
        # cwd: a neutral directory, so each interpreter imports its own installed hpxpy
        out = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600,
                             check=False, cwd=tmp)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"{mode}: no result\n{out.stdout}\n{out.stderr}")


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=20000)
    parser.add_argument("-n", "--localities", type=int, default=2)
    parser.add_argument("--base-python", default=None,
                        help="interpreter of another hpxpy installation, run as 'base'")
    ns = parser.parse_args(argv)
    modes = (["base"] if ns.base_python else []) + ["off", "stats", "trace"]
    results: Dict[str, List[Dict[str, float]]] = {m: [] for m in modes}
    for r in range(ns.runs):
        for mode in modes:
            python = ns.base_python if mode == "base" else sys.executable
            res = run_once(python, "off" if mode == "base" else mode, ns.iterations,
                           ns.localities)
            results[mode].append(res)
            print(f"run {r} {mode:5s} pingpong {res['pingpong']:8.2f} us  "
                  f"allreduce {res['allreduce']:8.2f} us", flush=True)
    print()
    print(f"medians of {ns.runs} runs, {ns.localities} localities, {ns.iterations} iterations")
    print(f"{'mode':6s} {'pingpong us':>12s} {'ratio':>6s} {'allreduce us':>13s} {'ratio':>6s}")
    off = {k: statistics.median(r[k] for r in results["off"]) for k in ("pingpong", "allreduce")}
    for mode in modes:
        med = {k: statistics.median(r[k] for r in results[mode])
               for k in ("pingpong", "allreduce")}
        print(f"{mode:6s} {med['pingpong']:12.2f} {med['pingpong'] / off['pingpong']:6.2f} "
              f"{med['allreduce']:13.2f} {med['allreduce'] / off['allreduce']:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
