"""mpi4py's own test modules, unchanged, under hpxrun --mpi4py.

Every module the issue names is asserted here at 1, 2 and 3 localities (the MPI-IO
modules, ``FOUR``, also at 4); run
``python -m tests.mpi4py_suite`` for the full table of the issue's modules.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from mpi4py_suite.__main__ import (
    FOUR,
    LOCAL_ONLY,
    MODULES,
    NO_SKIPS,
    ONE_TRANSPORT,
    TIMEOUTS,
    fetch_mpi4py_tests,
    run_module,
)

PASSING = MODULES  # every module the issue names passes at 1, 2 and 3 localities


# Set to 1 to let a machine without access to the package index skip these tests (with a
# warning); by default, and always in CI, a suite that cannot be fetched fails.
ALLOW_MISSING = "HPXPY_ALLOW_MISSING_MPI4PY_SUITE"


@pytest.fixture(scope="module")
def suite_dir():
    try:
        return fetch_mpi4py_tests()
    except (subprocess.SubprocessError, OSError) as exc:
        reason = f"mpi4py's own test suite could not be fetched: {exc}"
        if os.environ.get(ALLOW_MISSING) == "1":
            warnings.warn(f"{reason}; skipped because {ALLOW_MISSING}=1", stacklevel=1)
            pytest.skip(reason)
        pytest.fail(f"{reason} (set {ALLOW_MISSING}=1 to skip locally)")


def _cases() -> list:
    """(module, n): in the shared-memory pass every module at 1, 2 and 3 localities (the
    LOCAL_ONLY ones, which send no message, at 1 and 2). CI's TCP pass (HPXPY_PARCELPORT=
    tcp) asserts what the transport carries: each module that sends messages over it, at 3
    localities (one locality uses no transport; 3 covers every pair path 2 does, with the
    odd-sized trees and rings), within CI's time limit."""
    if os.environ.get("HPXPY_PARCELPORT") == "tcp":
        return [(module, 3) for module in PASSING if module not in ONE_TRANSPORT]
    return [(module, n) for module in PASSING for n in (1, 2, 3)
            if not (module in LOCAL_ONLY and n == 3)]


@pytest.mark.timeout(700)
@pytest.mark.parametrize("module,n", _cases())
def test_module_passes_unchanged(suite_dir, module, n):
    _check_module(module, n)


@pytest.mark.timeout(700)
@pytest.mark.one_pass
@pytest.mark.parametrize("module", FOUR)
def test_module_passes_unchanged_at_four(suite_dir, module):
    """MPI-IO and the one-sided modules at 4 localities too (more processes than cores;
    the TCP pass has them at 3)."""
    _check_module(module, 4)


def _check_module(module: str, n: int) -> None:
    assert TIMEOUTS.get(module, 120) < 700  # the runner's own timeout fires first
    counts = run_module(module, n)
    assert counts["ok"] and counts["ran"] > 0, str(counts["output"])[-4000:]
    assert counts["failures"] == 0 and counts["errors"] == 0
    if module in NO_SKIPS:
        assert counts["skipped"] == 0, str(counts["output"])[-4000:]


@pytest.mark.timeout(300)
def test_every_module_level_name_of_mpi4py_is_there(suite_dir):
    """Every name mpi4py's MPI.pyi declares at module level is in hpxpy's MPI: working, or
    raising NotImplementedError naming its feature (tests/mpi4py_suite/surface.py)."""
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-m", "tests.mpi4py_suite.surface"], cwd=root,
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.splitlines()[0].endswith(", 0 missing"), out.stdout
