"""pytest-mpi style tests (``mpi_tests/``) run as a 2-rank job under mpiexec and under hpxrun.

pytest-mpi imports ``mpi4py`` itself, so the hpxrun run also shows that hpxpy's ``mpi4py``
stand-in carries a real pytest plugin: markers (``mpi(min_size=...)``), the ``mpi_tmp_path``
fixture and the MPI section of the terminal summary.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys

import pytest

from mpi_parity import harness

TESTS = harness.HERE / "mpi_tests" / "test_comm_mpi.py"
PYTEST = ["-m", "pytest", "--with-mpi", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
          str(TESTS)]

pytestmark = pytest.mark.skipif(importlib.util.find_spec("pytest_mpi") is None,
                                reason="pytest-mpi is not installed (pip install -e '.[test]')")


def _check(run: harness.Run, vendor: str) -> None:
    text = run.stdout + run.stderr
    assert run.returncode == 0 and not run.timed_out, run.tail()
    # Both ranks print a pytest summary: every rank ran and passed the same tests.
    summaries = re.findall(r"(\d+) passed, (\d+) skipped", run.stdout)
    assert summaries == [("5", "1")] * 2, text
    assert "size: 2" in run.stdout and vendor in run.stdout, text


@pytest.mark.timeout(200)
def test_under_mpiexec():
    if shutil.which("mpiexec") is None or importlib.util.find_spec("mpi4py") is None:
        pytest.skip("mpiexec or mpi4py is not installed")
    mpi = harness.mpi_backend("mpich")
    run = harness.run([*mpi.prefix, "-n", "2", mpi.python, *PYTEST], mpi.env, 150)
    _check(run, "MPI vendor: MPICH")


@pytest.mark.timeout(200)
def test_under_hpxrun():
    hpx = harness.hpx_backend()
    run = harness.run([*hpx.prefix, "-n", "2", *hpx.extra, "--timeout", "150", sys.executable,
                       *PYTEST], hpx.env, 170)
    _check(run, "MPI vendor: hpxpy")
