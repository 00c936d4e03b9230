"""Seeing inside a running job: stall reports (``hpxrun --timeout``, SIGQUIT), the
timeline (``hpxrun --trace``) and the summary (``hpxrun --stats``).

Every job runs in its own session with a bounded time; whatever is left of it is killed,
and the localities' pids (printed in their reports or by the programs) are checked dead.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import pytest
from conftest import clean_env, pid_alive

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = ROOT / "tests" / "programs"
DEADLOCK = PROGRAMS / "observe_deadlock.py"
SLOW = PROGRAMS / "observe_slow.py"
END = "-- end of hpxpy report --"


def _line_of(path: Path, marker: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if marker in line:
            return number
    raise AssertionError(f"{marker} not in {path}")


class Running:
    """hpxrun in its own session, its output read as it comes; killed if left running."""

    def __init__(self, n: int, program: Sequence[str], launcher_args: Sequence[str] = (),
                 env: Optional[Dict[str, str]] = None) -> None:
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hpxpy.launcher", "-n", str(n), *launcher_args,
             sys.executable, *program],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True, cwd=str(ROOT), env={**clean_env(ROOT), **(env or {})})
        self.out: List[str] = []
        self.err: List[str] = []
        self._readers = [threading.Thread(target=self._read, args=(s, d), daemon=True)
                         for s, d in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self._readers:
            t.start()

    @staticmethod
    def _read(stream, into: List[str]) -> None:
        for line in stream:
            into.append(line)

    @property
    def stdout(self) -> str:
        return "".join(self.out)

    @property
    def stderr(self) -> str:
        return "".join(self.err)

    def wait_for(self, what: str, count: int = 1, timeout: float = 30.0,
                 stream: str = "out") -> None:
        lines = self.out if stream == "out" else self.err
        deadline = time.monotonic() + timeout
        while sum(what in line for line in list(lines)) < count:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.kill()
                pytest.fail(f"no {count}x {what!r} within {timeout} s\n{self.stdout}\n"
                            f"{self.stderr}")
            time.sleep(0.05)

    def finish(self, timeout: float = 60.0) -> int:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"hpxrun did not end within {timeout} s\n{self.stdout}\n{self.stderr}")
        for t in self._readers:
            t.join(timeout=5)
        self.elapsed = time.monotonic() - self.started
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc) -> None:
        self.kill()


def _reports(stderr: str) -> Dict[int, str]:
    """Each locality's report (its tagged lines), by locality."""
    found: Dict[int, List[str]] = {}
    for line in stderr.splitlines():
        m = re.match(r"\[(\d+)\] (.*)", line)
        if m:
            found.setdefault(int(m.group(1)), []).append(m.group(2))
    return {k: "\n".join(v) for k, v in found.items() if any(END in x for x in v)}


def _assert_gone(reports: Dict[int, str]) -> None:
    pids = [int(m.group(1)) for text in reports.values()
            for m in [re.search(r", pid (\d+) on ", text)] if m]
    deadline = time.monotonic() + 5
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [p for p in pids if pid_alive(p)], "locality processes outlived hpxrun"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode,marker,size", [("obj", "DEADLOCK-OBJ", "any size"),
                                               ("buf", "DEADLOCK-BUF", "buffer of 8000 bytes")])
def test_timeout_reports_a_deadlock(mode: str, marker: str, size: str) -> None:
    with Running(2, [str(DEADLOCK), mode], ["--timeout", "5"]) as job:
        rc = job.finish(timeout=40)
    assert rc == 124, job.stderr
    assert job.elapsed < 15, f"took {job.elapsed:.1f} s"
    reports = _reports(job.stderr)
    assert set(reports) == {0, 1}, job.stderr
    line = _line_of(DEADLOCK, marker)
    for rank, text in reports.items():
        assert "thread MainThread" in text
        assert f"{DEADLOCK}:{line} in wait_for_peer" in text, text
        assert (f"blocked in: receive on COMM_WORLD from rank {1 - rank}, tag 7, {size}"
                in text), text
        assert re.search(r"waiting \d+\.\d s", text)
    _assert_gone(reports)


@pytest.mark.timeout(60)
def test_timeout_report_names_communicator_collective_and_pure_python() -> None:
    with Running(2, [str(DEADLOCK), "coll"], ["--timeout", "4"]) as job:
        assert job.finish(timeout=40) == 124
    reports = _reports(job.stderr)
    assert f"{DEADLOCK}:{_line_of(DEADLOCK, 'DEADLOCK-BARRIER')} in" in reports[0]
    assert ("blocked in: collective-internal receive on COMM_WORLD from rank 1, tag 8 "
            "(collective #1, step 0)") in reports[0], reports[0]
    assert f"{DEADLOCK}:{_line_of(DEADLOCK, 'DEADLOCK-ANY')} in" in reports[1]
    assert ("blocked in: receive on halo from ANY_SOURCE, tag ANY_TAG, buffer of 32 bytes"
            in reports[1]), reports[1]
    _assert_gone(reports)

    # HPXPY_TIMEOUT stands for --timeout; a rank in pure Python shows its line
    with Running(2, [str(DEADLOCK), "python"], env={"HPXPY_TIMEOUT": "4"}) as job:
        assert job.finish(timeout=40) == 124
    reports = _reports(job.stderr)
    assert f"{DEADLOCK}:{_line_of(DEADLOCK, 'DEADLOCK-PY')} in wait_for_peer" in reports[0]
    assert "no pending communication" in reports[0]
    assert "blocked in: receive on COMM_WORLD from rank 0, tag 7" in reports[1]
    _assert_gone(reports)


@pytest.mark.timeout(90)
def test_sigquit_to_hpxrun_reports_and_the_job_goes_on(tmp_path: Path) -> None:
    flag = tmp_path / "go"
    with Running(2, [str(SLOW), str(flag)], ["--tag-output"]) as job:
        job.wait_for("ready", count=2)
        time.sleep(0.5)
        job.proc.send_signal(signal.SIGQUIT)
        job.wait_for(END, count=2, stream="err")
        flag.touch()
        rc = job.finish(timeout=60)
    assert rc == 0, job.stderr
    assert "[1] rank 1 done 16.0" in job.stdout
    reports = _reports(job.stderr)
    assert set(reports) == {0, 1}
    assert "[0] [0]" not in job.stderr  # --tag-output: tagged once
    assert f"{SLOW}:{_line_of(SLOW, 'WAIT-FLAG')} in <module>" in reports[0]
    assert f"{SLOW}:{_line_of(SLOW, 'WAIT-RECV')} in <module>" in reports[1]
    assert "blocked in: receive on COMM_WORLD from rank 0, tag 3, buffer of 128 bytes" \
        in reports[1]
    _assert_gone(reports)


@pytest.mark.timeout(90)
def test_sigquit_to_one_locality(tmp_path: Path) -> None:
    flag = tmp_path / "go"
    with Running(2, [str(SLOW), str(flag)]) as job:
        job.wait_for("ready", count=2)
        pid = int(next(re.search(r"rank 1 ready pid (\d+)", line).group(1)
                       for line in job.out if "rank 1 ready" in line))
        os.kill(pid, signal.SIGQUIT)
        job.wait_for(END, count=1, stream="err")
        time.sleep(0.3)
        flag.touch()
        assert job.finish(timeout=60) == 0, job.stderr
    reports = _reports(job.stderr)
    assert set(reports) == {1}
    assert "rank 1 done 16.0" in job.stdout
