"""The harness itself: its comparison rules, and that it catches a broken hpxpy.

The broken hpxpy is planted without touching hpxpy's code: a directory holding a
``sitecustomize.py`` goes first on the hpxpy side's PYTHONPATH (``--hpx-pythonpath``); it
wraps ``Comm.allreduce`` so that the last rank's value is dropped. The harness must then exit
non-zero and name the program, the rank and the wrong value.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import pytest

from mpi_parity import harness

BROKEN_SITECUSTOMIZE = textwrap.dedent('''
    """Plant a bug in hpxpy for the parity harness test: allreduce drops the last rank."""
    import functools
    import importlib.abc
    import sys


    def _break(module):
        comm = module.Comm
        original = comm.allreduce

        @functools.wraps(original)
        def allreduce(self, sendobj, op=None, **kwargs):
            values = self.allgather(sendobj)
            if len(values) > 1:
                values = values[:-1]   # the bug: the last rank's value is lost
            result = values[0]
            for value in values[1:]:
                result = result + value
            return result

        comm.allreduce = allreduce


    class _Finder(importlib.abc.MetaPathFinder):
        """Patch hpxpy.comm._comm as soon as it is imported (not before: importing hpxpy
        here would change what the program does at start-up)."""

        def find_spec(self, name, path, target=None):
            if name != "hpxpy.comm._comm":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            loader = spec.loader
            exec_module = loader.exec_module

            def patched(module):
                exec_module(module)
                _break(module)

            loader.exec_module = patched
            return spec


    import importlib.util  # noqa: E402

    sys.meta_path.insert(0, _Finder())
''')


def test_compare_rules():
    tol = {"rtol": 1e-9, "why": "test"}
    assert harness.compare({0: [{"rank": 0, "x": 1.0}]}, {0: [{"rank": 0, "x": 1.0}]}, {}) is None
    diff = harness.compare({0: [{"rank": 0, "x": 1.0}]}, {0: [{"rank": 0, "x": 1.0 + 1e-12}]}, {})
    assert diff and diff.rank == 0 and diff.path == "[0].x"
    assert harness.compare({0: [{"rank": 0, "x": 1.0}]}, {0: [{"rank": 0, "x": 1.0 + 1e-12}]},
                           tol) is None
    # Tolerances never apply to integers, and types must match.
    assert harness.compare({0: [{"rank": 0, "x": 10}]}, {0: [{"rank": 0, "x": 11}]}, tol)
    assert harness.compare({0: [{"rank": 0, "x": 1}]}, {0: [{"rank": 0, "x": True}]}, tol)
    assert harness.compare({0: [{"rank": 0, "x": 1}]}, {0: [{"rank": 0, "x": 1.0}]}, tol)
    assert harness.compare({0: [1], 1: [2]}, {0: [1]}, {}).rank == 1
    nan = float("nan")
    assert harness.compare({0: [{"rank": 0, "x": nan}]}, {0: [{"rank": 0, "x": nan}]}, {}) is None


def test_records_survive_joined_lines():
    out = 'noise\n{"rank": 1, "a": [1, 2]}{"rank": 0, "a": "}"}\n\n{"rank": 1, "b": null}\n'
    records = harness.parse_records(out)
    assert records == {0: [{"rank": 0, "a": "}"}], 1: [{"rank": 1, "a": [1, 2]},
                                                        {"rank": 1, "b": None}]}


@pytest.mark.timeout(300)
def test_harness_reports_a_broken_allreduce(tmp_path):
    if shutil.which("mpiexec") is None:
        pytest.skip("mpiexec is not installed")
    (tmp_path / "sitecustomize.py").write_text(BROKEN_SITECUSTOMIZE)
    cmd = [sys.executable, "-m", "tests.mpi_parity", "-n", "1,3", "--hpx-pythonpath",
           str(tmp_path), "coll_obj_reduce_ops"]
    out = subprocess.run(cmd, cwd=harness.ROOT, capture_output=True, text=True, timeout=280,
                         env=harness.base_env())
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    # N=1 has no other rank to drop: it still agrees. N=3 must be reported, with the rank
    # and the value: allreduce(rank + 1) is 6 under MPI, 3 with rank 2's value dropped.
    rows = {int(line.split()[1]): line.split()[-1] for line in out.stdout.splitlines()
            if line.startswith("coll_obj_reduce_ops ")}
    assert rows == {1: "ok", 3: "FAIL"}, text
    assert "DIFFERENCE coll_obj_reduce_ops at N=3: rank 0, [0].SUM[0]: MPI 6 vs hpxpy 3" in text, \
        text
