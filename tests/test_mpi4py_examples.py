"""The mpi4py example programs (``examples/mpi4py/``) under hpxpy and under real MPI.

Each program runs as N = 1..4 processes under ``hpxrun --mpi4py`` and its output is checked
against values computed here; where ``mpiexec`` and the real mpi4py are installed, it also runs
under ``mpiexec`` and the two outputs must be identical. The programs print from rank 0 only,
so their output does not depend on how the ranks' output interleaves.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, NamedTuple

import numpy as np
import pytest
from conftest import clean_env

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "mpi4py"
PROGRAMS = ["pi", "ring", "master_worker", "jacobi"]
SIZES = [1, 2, 3, 4]
RUN_TIMEOUT = 120

CASES = [pytest.param(prog, n, id=f"{prog}-n{n}") for prog in PROGRAMS for n in SIZES]


class Run(NamedTuple):
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return f"exit status {self.returncode}\nstdout:\n{self.stdout[-3000:]}\n" \
               f"stderr:\n{self.stderr[-3000:]}"


def _env() -> Dict[str, str]:
    return clean_env(ROOT)


def _run(command: List[str]) -> Run:
    """Run a job in its own session; on timeout kill everything in it, so no rank lingers."""
    proc = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, cwd=ROOT, env=_env(), start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{' '.join(command)} exceeded {RUN_TIMEOUT} s\n"
                    + Run(-1, out, err).describe())
    return Run(proc.returncode, out, err)


@functools.cache
def run_hpxrun(prog: str, n: int) -> Run:
    return _run([sys.executable, "-m", "hpxpy.launcher", "-n", str(n), "--mpi4py",
                 sys.executable, str(EXAMPLES / f"{prog}.py")])


def run_mpiexec(prog: str, n: int) -> Run:
    return _run(["mpiexec", "-n", str(n), sys.executable, str(EXAMPLES / f"{prog}.py")])


def real_mpi_available() -> bool:
    return shutil.which("mpiexec") is not None and importlib.util.find_spec("mpi4py") is not None


# --- expected output, computed independently of the programs -------------------------------


def _field(stdout: str, label: str) -> str:
    """The text after ``label:`` on the line that starts with it."""
    found = re.findall(rf"^{re.escape(label)}:\s*(.*)$", stdout, flags=re.MULTILINE)
    assert len(found) == 1, f"expected one line starting with {label!r} in:\n{stdout}"
    return found[0].strip()


def check_pi(stdout: str, n: int) -> None:
    assert int(_field(stdout, "ranks")) == n
    assert int(_field(stdout, "intervals")) == 1_000_000
    for label in ("pi (reduce)", "pi (Allreduce)"):
        assert abs(float(_field(stdout, label)) - math.pi) < 1e-9, stdout


def check_ring(stdout: str, n: int) -> None:
    assert int(_field(stdout, "ranks")) == n
    assert int(_field(stdout, "token value")) == n * (n - 1) // 2
    assert _field(stdout, "token path") == str(list(range(n)))
    sums = [sum(range(n)), sum(r * r for r in range(n)), sum(10 ** r for r in range(n))]
    assert _field(stdout, "Sendrecv sums [rank, rank^2, 10^rank]") == str(sums)


def _collatz(m: int) -> int:
    steps = 0
    while m > 1:
        m = 3 * m + 1 if m % 2 else m // 2
        steps += 1
    return steps


def check_master_worker(stdout: str, n: int) -> None:
    assert int(_field(stdout, "ranks")) == n
    done = int(_field(stdout, "tasks done"))
    lines = re.findall(r"^task\s+(\d+): collatz_steps\((\d+)\) = (\d+)$", stdout, re.MULTILINE)
    assert [int(task) for task, _, _ in lines] == list(range(done)), stdout
    for _, arg, steps in lines:
        assert int(steps) == _collatz(int(arg)), stdout


def _jacobi_reference(points: int, iterations: int):
    """Serial Jacobi for -u'' = pi^2 sin(pi x), u(0) = 0, u(1) = 1."""
    h = 1.0 / (points + 1)
    x = np.arange(1, points + 1) * h
    f = np.pi ** 2 * np.sin(np.pi * x)
    u = np.zeros(points + 2)
    u[-1] = 1.0
    for _ in range(iterations):
        u[1:-1] = 0.5 * (u[:-2] + u[2:] + h * h * f)
    residual = f + (u[:-2] - 2.0 * u[1:-1] + u[2:]) / (h * h)
    error = np.max(np.abs(u[1:-1] - (np.sin(np.pi * x) + x)))
    return float(np.linalg.norm(residual)), float(np.sum(u[1:-1])), float(error)


def check_jacobi(stdout: str, n: int) -> None:
    assert int(_field(stdout, "ranks")) == n
    match = re.fullmatch(r"(\d+), iterations: (\d+)", _field(stdout, "points"))
    assert match, stdout
    norm, checksum, error = _jacobi_reference(int(match[1]), int(match[2]))
    assert float(_field(stdout, "residual norm")) == pytest.approx(norm, rel=1e-6)
    assert float(_field(stdout, "checksum")) == pytest.approx(checksum, rel=1e-9)
    label = "max error against the exact solution sin(pi x) + x"
    assert float(_field(stdout, label)) == pytest.approx(error, rel=1e-3)


CHECKS = {
    "pi": check_pi,
    "ring": check_ring,
    "master_worker": check_master_worker,
    "jacobi": check_jacobi,
}


# --- tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("prog, n", CASES)
def test_under_hpxrun(prog: str, n: int) -> None:
    run = run_hpxrun(prog, n)
    assert run.returncode == 0, run.describe()
    CHECKS[prog](run.stdout, n)


@pytest.mark.timeout(2 * RUN_TIMEOUT + 30)
@pytest.mark.parametrize("prog, n", CASES)
def test_same_output_as_mpiexec(prog: str, n: int) -> None:
    if not real_mpi_available():
        pytest.skip("mpiexec or mpi4py is not installed")
    mpi = run_mpiexec(prog, n)
    assert mpi.returncode == 0, mpi.describe()
    CHECKS[prog](mpi.stdout, n)  # the expectations hold for real MPI too

    hpx = run_hpxrun(prog, n)
    assert hpx.returncode == 0, hpx.describe()
    assert hpx.stdout.splitlines() == mpi.stdout.splitlines()
