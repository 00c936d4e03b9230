"""Shared helpers: run a program as a real multi-process job under hpxrun, bounded in time,
with every process of the job gone afterwards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import pytest

PROGRAMS = Path(__file__).parent / "programs"


class Job:
    """A finished job: exit status, output, and the RESULT lines parsed per locality."""

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.results: Dict[int, dict] = {}
        for line in stdout.splitlines():
            if line.startswith("RESULT "):
                data = json.loads(line[len("RESULT "):])
                self.results[data["id"]] = data

    def __repr__(self) -> str:
        return f"Job(rc={self.returncode}, stdout={self.stdout[-2000:]!r}, " \
               f"stderr={self.stderr[-3000:]!r})"


def clean_env(root: Path) -> Dict[str, str]:
    """This environment with `root` first on PYTHONPATH and no HPXPY_* job variables."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root) + (os.pathsep + env["PYTHONPATH"] if "PYTHONPATH" in env else "")
    for key in list(env):
        if key.startswith("HPXPY_"):
            del env[key]
    return env


def hpxrun_command(n: int, script: Sequence[str], launcher_args: Sequence[str] = ()) -> List[str]:
    return [sys.executable, "-m", "hpxpy.launcher", "-n", str(n), *launcher_args,
            sys.executable, *script]


def run_bounded(cmd: Sequence[str], timeout: float, env: Dict[str, str], what: str,
                cwd: Optional[Path] = None) -> Job:
    """Run ``cmd`` in a session of its own; past ``timeout`` kill that whole process group
    and fail naming ``what``; interrupted (pytest-timeout, Ctrl-C), leave nothing behind."""
    proc = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, env=env, cwd=cwd)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{what} exceeded {timeout} s\n{out[-2000:]}\n{err[-3000:]}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return Job(proc.returncode, out, err)


def run_job(n: int, script: Sequence[str], timeout: float = 90, launcher_args=(),
            env: Optional[dict] = None) -> Job:
    """Run under hpxrun; on timeout kill the launcher's whole process group and fail."""
    return run_bounded(hpxrun_command(n, script, launcher_args), timeout,
                       {**os.environ, **(env or {})}, f"job of {n} localities")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is gone for our purposes once reaped by its parent.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "one_pass: the test names its own transport or sends nothing between "
        "localities; CI's second pass (HPXPY_PARCELPORT=tcp) leaves it out")


# CI runs the suite twice, once per transport between the localities of one host. A test
# marked one_pass would run the same way in both: the TCP pass deselects it (not a skip).
def pytest_collection_modifyitems(config, items):
    if os.environ.get("HPXPY_PARCELPORT") != "tcp":
        return
    kept, left_out = [], []
    for item in items:
        (left_out if item.get_closest_marker("one_pass") else kept).append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept


# CI sets HPXPY_FAIL_ON_SKIP=1: there a skipped test (a parity or conformance check that did
# not run) is a failure, not a quiet green.
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("HPXPY_FAIL_ON_SKIP") == "1" and not hasattr(
            report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped, and HPXPY_FAIL_ON_SKIP=1 forbids skips: {reason}"
