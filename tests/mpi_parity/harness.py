"""Run each parity program under real MPI and under hpxpy, and compare what every rank printed.

A parity program (``programs/*.py``) is an unmodified mpi4py program: it starts with
``from mpi4py import MPI`` and prints one JSON object per result, each holding a ``"rank"``
key. The harness runs it as

    mpiexec -n N python prog.py                  # mpi4py on MPICH (or Open MPI: --mpi openmpi)
    hpxrun -n N --mpi4py python prog.py          # the same file on hpxpy

and compares the records rank by rank: integers, strings, booleans and structure exactly;
floats exactly too, unless the program declares a tolerance next to its code::

    PARITY = {"rtol": 1e-12, "why": "MPI does not fix the order of a floating-point SUM"}

Nothing else in a program is read by the harness.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PROGRAMS = HERE / "programs"
SIZES = (1, 2, 3, 4)
# Each program runs in well under 2 s; the bound only matters when something hangs.
RUN_TIMEOUT = 45.0
# Programs in KNOWN_FAILURES are expected to fail (often by hanging): do not wait as long.
KNOWN_FAILURE_TIMEOUT = 10.0

# Real differences between hpxpy and MPI, kept in the suite until hpxpy is fixed: they run as
# expected failures (a shorter time limit, "xfail" in the table, pytest's xfail) and show up
# as XPASS once fixed. Key: (program, N), or (program, None) for every N; value: the reason.
# Empty: everything the suite found so far was fixed in hpxpy (see README, "Porting from
# mpi4py"), e.g. {("p2p_pingpong", 3): "an idle rank never joins the job"}.
KNOWN_FAILURES: Dict[Tuple[str, Optional[int]], str] = {}

_RECORD_START = re.compile(r'\{"rank":')


@dataclass
class Run:
    """One job: exit status, output, wall time, and the JSON records per rank."""

    command: List[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False
    records: Dict[int, List[Any]] = field(default_factory=dict)

    def ok(self, n: int) -> bool:
        return self.returncode == 0 and not self.timed_out and sorted(self.records) == list(
            range(n))

    def problem(self, n: int) -> str:
        """Why this run does not count as a clean run of n ranks ('' if it does)."""
        if self.timed_out:
            return "timed out"
        if self.returncode != 0:
            return f"exit status {self.returncode}"
        missing = sorted(set(range(n)) - set(self.records))
        if missing:
            return f"no output from rank(s) {missing}"
        extra = sorted(set(self.records) - set(range(n)))
        return f"output from unexpected rank(s) {extra}" if extra else ""

    def tail(self) -> str:
        return f"$ {' '.join(self.command)}\nstdout:\n{self.stdout[-1500:]}\n" \
               f"stderr:\n{self.stderr[-2500:]}"


def parse_records(stdout: str) -> Dict[int, List[Any]]:
    """Every JSON object starting with ``{"rank":`` in the output, grouped by rank in order.

    Launchers may join or split lines of different ranks (MPICH's hydra sometimes moves a
    newline), so objects are found by decoding from each ``{"rank":``, not line by line;
    anything else (warnings, banners) is ignored.
    """
    decoder = json.JSONDecoder()
    records: Dict[int, List[Any]] = {}
    for match in _RECORD_START.finditer(stdout):
        try:
            obj, _ = decoder.raw_decode(stdout, match.start())
        except ValueError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("rank"), int):
            records.setdefault(obj["rank"], []).append(obj)
    return records


def tolerance(program: Path) -> Dict[str, Any]:
    """The ``PARITY = {...}`` literal of a program (empty: compare exactly)."""
    tree = ast.parse(program.read_text(), str(program))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "PARITY" for t in node.targets):
            value = ast.literal_eval(node.value)
            unknown = set(value) - {"rtol", "atol", "why"}
            if unknown or "why" not in value:
                raise ValueError(f"{program.name}: PARITY takes rtol/atol and a 'why', "
                                 f"got {sorted(value)}")
            return value
    return {}


@dataclass
class Difference:
    """The first place where the two sides disagree."""

    rank: Optional[int]
    path: str
    expected: Any
    got: Any

    def __str__(self) -> str:
        if self.rank is None:   # the job itself failed on one side
            return f"{self.path} failed: {self.got}"
        return f"rank {self.rank}, {self.path or 'record'}: MPI {self.expected!r} " \
               f"vs hpxpy {self.got!r}"


def _same(a: Any, b: Any, tol: Dict[str, Any], path: str) -> Optional[Tuple[str, Any, Any]]:
    """None if equal under the rules, else (path, a, b) of the first difference."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if key not in a or key not in b:
                return (f"{path}.{key}", a.get(key, "<missing>"), b.get(key, "<missing>"))
            diff = _same(a[key], b[key], tol, f"{path}.{key}")
            if diff:
                return diff
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return (f"{path} (length)", len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            diff = _same(x, y, tol, f"{path}[{i}]")
            if diff:
                return diff
        return None
    if isinstance(a, float) and isinstance(b, float):
        if a == b or (math.isnan(a) and math.isnan(b)):
            return None
        if tol and math.isclose(a, b, rel_tol=tol.get("rtol", 0.0), abs_tol=tol.get("atol", 0.0)):
            return None
        return (path, a, b)
    # Everything else exactly, including the type: True is not 1, 1 is not 1.0.
    if type(a) is not type(b) or a != b:
        return (path, a, b)
    return None


def compare(mpi: Dict[int, List[Any]], hpx: Dict[int, List[Any]],
            tol: Dict[str, Any]) -> Optional[Difference]:
    """The first difference between two runs' records, lowest rank first."""
    for rank in sorted(set(mpi) | set(hpx)):
        if rank not in hpx:
            return Difference(rank, "output", f"{len(mpi[rank])} record(s)", "nothing")
        if rank not in mpi:
            return Difference(rank, "output", "nothing", f"{len(hpx[rank])} record(s)")
        diff = _same(mpi[rank], hpx[rank], tol, "")
        if diff:
            path, a, b = diff
            return Difference(rank, path.lstrip("."), a, b)
    return None


# --- running jobs ------------------------------------------------------------------------


def _session_members(sid: int) -> List[int]:
    """Processes still in session `sid` (the job's launcher was started as its leader)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":   # fields[3] is the session id
            members.append(int(entry.name))
    return members


def _reap_session(sid: int) -> None:
    """Kill whatever a job left behind. Launchers put ranks in process groups of their own
    (so killpg on the launcher's group misses them), but every rank stays in the session."""
    if not Path("/proc").is_dir():
        return
    for pid in _session_members(sid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _stop(proc: subprocess.Popen) -> None:
    """End a job's process group: SIGTERM first (hpxrun forwards it to its localities, which
    run in process groups of their own), SIGKILL if it is still there 5 s later."""
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 30.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def run(command: List[str], env: Dict[str, str], timeout: float, cwd: Path = ROOT) -> Run:
    """Run a job in its own session; on timeout stop the whole job (every rank)."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, errors="replace", env=env,
                            cwd=cwd, start_new_session=True)
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _stop(proc)
        out, err = proc.communicate()
    finally:
        if proc.poll() is None:  # interrupted (Ctrl-C, pytest-timeout): leave nothing behind
            _stop(proc)
        _reap_session(proc.pid)
    result = Run(command, proc.returncode, out, err, time.perf_counter() - start, timed_out)
    result.records = parse_records(out)
    return result


def base_env() -> Dict[str, str]:
    """This environment without hpxpy job variables (the harness may itself run in a job)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("HPXPY_")}


@dataclass
class Backend:
    """How to start a program as an N-rank job on one side."""

    name: str
    prefix: List[str]       # launcher and its options, before "-n N"
    python: str
    env: Dict[str, str]
    extra: List[str] = field(default_factory=list)   # launcher options after "-n N"
    timeout_option: Optional[str] = None   # the launcher's own time limit, if it has one

    def command(self, n: int, program: Path, timeout: Optional[float] = None) -> List[str]:
        limit = [self.timeout_option, str(int(timeout))] if (
            timeout and self.timeout_option) else []
        return [*self.prefix, "-n", str(n), *self.extra, *limit, self.python, str(program)]


def mpi_backend(kind: str = "mpich", python: Optional[str] = None) -> Backend:
    """mpi4py on MPICH or Open MPI: `python` is the interpreter that has that mpi4py (its
    environment's `mpiexec` is used)."""
    python = python or os.environ.get("MPI_PARITY_PYTHON") or sys.executable
    # absolute (jobs run in the programs' directory), but not resolved: a venv's python is
    # a symlink to the base interpreter, and resolving it would leave the venv
    python = os.path.abspath(python)
    bindir = Path(python).parent
    mpiexec = bindir / "mpiexec"
    if not mpiexec.exists():
        found = shutil.which("mpiexec")
        if found is None:
            raise FileNotFoundError("no mpiexec next to the MPI python or on PATH")
        mpiexec = Path(found)
    env = base_env()
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PYTHONPATH", None)  # never the hpxpy shim on the MPI side
    env["MPIEXEC_TIMEOUT"] = str(int(RUN_TIMEOUT))  # MPICH's mpiexec stops a hung job itself
    if kind == "openmpi":
        # Two cores, four ranks: Open MPI refuses to oversubscribe unless asked; CI runs as
        # root, which Open MPI refuses unless confirmed twice.
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
        return Backend("openmpi", [str(mpiexec)], python, env, ["--oversubscribe"])
    return Backend("mpich", [str(mpiexec)], python, env)


def _keep_parcelport(env: Dict[str, str]) -> Dict[str, str]:
    """``env`` with this process's transport choice (CI's TCP pass compares over TCP)."""
    if os.environ.get("HPXPY_PARCELPORT"):
        env["HPXPY_PARCELPORT"] = os.environ["HPXPY_PARCELPORT"]
    return env


def hpx_backend(pythonpath: Sequence[str] = ()) -> Backend:
    """hpxpy's launcher with the mpi4py shim, from this environment; `pythonpath` goes first
    on the path of every process of the job (used to plant a deliberately broken hpxpy)."""
    env = _keep_parcelport(base_env())
    paths = [*pythonpath, str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return Backend("hpxpy", [sys.executable, "-m", "hpxpy.launcher"], sys.executable, env,
                   ["--mpi4py"], timeout_option="--timeout")


def launcher_backend(launcher: str, openmpi_python: Optional[str] = None) -> Backend:
    """hpxpy started by another launcher, no hpxrun (the mpi4py shim first on the path):
    ``mpiexec`` (MPICH's Hydra next to this python), ``openmpi`` (the mpiexec next to
    ``openmpi_python``) or ``srun`` (the Slurm that SLURM_CONF, or the system, names)."""
    shim = ROOT / "hpxpy" / "comm" / "_shim"
    if launcher == "openmpi":
        if not openmpi_python:
            raise ValueError("the openmpi launcher needs the python of an Open MPI environment")
        base = mpi_backend("openmpi", openmpi_python)
        prefix, extra, env = base.prefix, base.extra, base.env
    elif launcher == "mpiexec":
        prefix, extra, env = [str(Path(sys.executable).parent / "mpiexec")], [], base_env()
        env["MPIEXEC_TIMEOUT"] = str(int(RUN_TIMEOUT))
    elif launcher == "srun":  # one output file per task (srun mixes long lines of tasks)
        srun = ROOT / "tests" / "slurm" / "srun_by_task.py"
        prefix, extra, env = [sys.executable, str(srun)], ["--time=2"], base_env()
    else:
        raise ValueError(f"unknown launcher {launcher!r}")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(shim), str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return Backend(f"hpxpy-{launcher}", prefix, sys.executable, _keep_parcelport(env), extra)


# --- one case and the table --------------------------------------------------------------


@dataclass
class Case:
    """One program at one N on both sides, and the verdict."""

    program: str
    n: int
    mpi: Run
    hpx: Run
    difference: Optional[Difference]
    known: Optional[str]

    @property
    def passed(self) -> bool:
        return self.difference is None

    @property
    def verdict(self) -> str:
        if self.known:
            return "XPASS" if self.passed else "xfail"
        return "ok" if self.passed else "FAIL"

    @property
    def counts_as_failure(self) -> bool:
        return not self.passed and not self.known

    def report(self) -> str:
        """A failing case: the first differing rank and value, and each side's output."""
        lines = [f"{self.program} at N={self.n}: {self.difference}"]
        if self.known:
            lines.append(f"  (known failure: {self.known})")
        for name, r in (("MPI", self.mpi), ("hpxpy", self.hpx)):
            problem = r.problem(self.n)
            if problem:
                lines.append(f"  {name}: {problem}\n" + _indent(r.tail()))
        return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def known_failure(program: str, n: int) -> Optional[str]:
    return KNOWN_FAILURES.get((program, n)) or KNOWN_FAILURES.get((program, None))


def run_case(program: Path, n: int, mpi: Backend, hpx: Backend,
             timeout: float = RUN_TIMEOUT) -> Case:
    """Run one program at N ranks on both sides and compare."""
    name = program.stem
    known = known_failure(name, n)
    limit = KNOWN_FAILURE_TIMEOUT if known else timeout
    tol = tolerance(program)
    m = run(mpi.command(n, program, limit), mpi.env, limit, cwd=program.parent)
    # hpxrun stops a job at its --timeout by itself; the harness's bound is the backstop.
    h = run(hpx.command(n, program, limit), hpx.env, limit + 10, cwd=program.parent)
    if not m.ok(n):
        difference: Optional[Difference] = Difference(None, "MPI run", "a clean run",
                                                      m.problem(n))
    else:
        # A crashed or hung hpxpy side: show the first wrong value if there is one.
        difference = compare(m.records, h.records, tol) if h.records else None
        if difference is None and not h.ok(n):
            difference = Difference(None, "hpxpy run", "a clean run", h.problem(n))
    return Case(name, n, m, h, difference, known)


def programs(selected: Sequence[str] = ()) -> List[Path]:
    """Every program, or those whose name contains one of `selected`."""
    found = sorted(p for p in PROGRAMS.glob("*.py") if not p.name.startswith("_"))
    if selected:
        found = [p for p in found if any(s in p.stem for s in selected)]
    return found


def format_row(case: Case, mpi_name: str) -> str:
    def side(r: Run) -> str:
        state = "pass" if r.ok(case.n) else "fail"
        return f"{state} {r.seconds:5.2f}s"

    return f"{case.program:28s} {case.n:2d}  {mpi_name:>7s} {side(case.mpi):12s} " \
           f"hpxpy {side(case.hpx):12s} {case.verdict}"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.mpi_parity",
        description="Run the parity programs under real MPI and hpxpy and compare.")
    parser.add_argument("-n", "--sizes", default=",".join(map(str, SIZES)),
                        help="comma-separated job sizes (default 1,2,3,4)")
    parser.add_argument("--mpi", choices=("mpich", "openmpi"), default="mpich",
                        help="the MPI the reference side runs on (default mpich)")
    parser.add_argument("--mpi-python", default=None,
                        help="python of the environment holding mpi4py for --mpi (default: "
                             "$MPI_PARITY_PYTHON, else this python)")
    parser.add_argument("--hpx-pythonpath", action="append", default=[],
                        help="directory put first on PYTHONPATH of the hpxpy side only "
                             "(e.g. one holding a sitecustomize.py that breaks hpxpy)")
    parser.add_argument("--hpx-launcher", choices=("hpxrun", "mpiexec", "openmpi", "srun"),
                        default="hpxrun",
                        help="what starts the hpxpy side (default hpxrun --mpi4py; openmpi "
                             "takes its mpiexec from --mpi-python)")
    parser.add_argument("--timeout", type=float, default=RUN_TIMEOUT,
                        help=f"seconds per job (default {RUN_TIMEOUT:g})")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show the output of every failing case, not only the first")
    parser.add_argument("programs", nargs="*", help="only programs whose name contains these")
    args = parser.parse_args(argv)

    sizes = [int(x) for x in args.sizes.split(",")]
    mpi = mpi_backend(args.mpi, args.mpi_python)
    hpx = hpx_backend(args.hpx_pythonpath) if args.hpx_launcher == "hpxrun" else \
        launcher_backend(args.hpx_launcher, args.mpi_python)
    selected = programs(args.programs)
    if not selected:
        print("no parity program matches", args.programs, file=sys.stderr)
        return 2
    print("MPI side:", " ".join(mpi.command(0, Path("prog.py"))).replace("-n 0", "-n N"))
    print("hpxpy side:", " ".join(hpx.command(0, Path("prog.py"))).replace("-n 0", "-n N"))
    print(f"{'program':28s} {'N':>2s}  {'backend':>7s} {'result':12s} {'backend':5s} "
          f"{'result':12s} parity")
    start = time.perf_counter()
    failed: List[Case] = []
    known: List[Case] = []
    total = 0
    for program in selected:
        for n in sizes:
            case = run_case(program, n, mpi, hpx, args.timeout)
            total += 1
            print(format_row(case, mpi.name), flush=True)
            if case.counts_as_failure:
                failed.append(case)
            elif case.known:
                known.append(case)
    elapsed = time.perf_counter() - start
    print(f"\n{total - len(failed) - len(known)} of {total} cases agree, {len(known)} known "
          f"failure(s), {len(failed)} difference(s); {elapsed:.0f} s")
    for case in known:
        print(f"known: {case.program} N={case.n} {case.verdict}: {case.known}")
    for i, case in enumerate(failed):
        if i == 0 or args.verbose:
            print("\nDIFFERENCE " + case.report())
        else:
            print(f"DIFFERENCE {case.program} at N={case.n}: {case.difference}")
    return 1 if failed else 0
