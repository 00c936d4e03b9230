"""Seeing inside a running job: stall reports (``hpxrun --timeout``, SIGQUIT), the
timeline (``hpxrun --trace``) and the summary (``hpxrun --stats``).

Every job runs in its own session with a bounded time; whatever is left of it is killed,
and the localities' pids (printed in their reports or by the programs) are checked dead.
"""

from __future__ import annotations

import bisect
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
MISMATCH = PROGRAMS / "observe_mismatch.py"
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
    # through messages (TCP), or a meeting in shared memory (shm: no message to wait for)
    assert ("blocked in: collective-internal receive on COMM_WORLD from rank 1, tag 8 "
            "(collective #1, step 0)") in reports[0] or (
        "blocked in: collective on COMM_WORLD in shared memory, waiting for every rank to "
        "arrive (collective #1)") in reports[0], reports[0]
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
    _assert_gone(reports)


def _stats_line(stderr: str) -> dict:
    import json

    for line in stderr.splitlines():
        if line.startswith('{"hpxpy_stats"'):
            return json.loads(line)["hpxpy_stats"]
    raise AssertionError(f"no stats line in\n{stderr}")


@pytest.mark.timeout(120)
def test_stats_counts_equal_the_programs_own() -> None:
    import json

    with Running(3, [str(PROGRAMS / "observe_counts.py")], ["--stats=json"]) as job:
        assert job.finish(timeout=90) == 0, job.stderr
    results = {}
    for line in job.stdout.splitlines():
        if line.startswith("RESULT "):
            data = json.loads(line[len("RESULT "):])
            results[data["id"]] = data
    assert set(results) == {0, 1, 2}
    stats = _stats_line(job.stderr)
    assert stats["missing"] == []
    for rank, mine in results.items():
        ops = stats["localities"][str(rank)]["operations"]
        assert {k: v["calls"] for k, v in ops.items()} == mine["counts"], (rank, ops)
        assert ops["Send"]["bytes"] == mine["send_bytes"]
        assert ops["Recv"]["bytes"] == mine["send_bytes"]
        assert all(v["seconds"] >= 0 for v in ops.values())

    # the table form names every operation for every locality
    with Running(2, [str(PROGRAMS / "observe_counts.py")], ["--stats"]) as job:
        assert job.finish(timeout=90) == 0, job.stderr
    table = job.stderr
    assert "hpxrun stats" in table
    for rank in (0, 1):
        assert re.search(rf"^\s*{rank} Allreduce\s+3\s", table, re.M), table
        assert re.search(rf"^\s*{rank} send\s+5\s", table, re.M), table


JACOBI_RANKS = 4


@pytest.fixture(scope="module")
def jacobi_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The merged --trace of examples/mpi4py/jacobi.py at 4 localities (made once)."""
    out = tmp_path_factory.mktemp("jacobi") / "jacobi.json"
    with Running(JACOBI_RANKS, [str(ROOT / "examples" / "mpi4py" / "jacobi.py")],
                 ["--mpi4py", "--trace", str(out)]) as job:
        assert job.finish(timeout=150) == 0, job.stderr
    assert "residual norm" in job.stdout
    return out


@pytest.mark.timeout(180)
def test_trace_of_jacobi_is_valid_trace_event_json(jacobi_trace: Path) -> None:
    import json

    n = JACOBI_RANKS
    doc = json.loads(jacobi_trace.read_text())
    events = doc["traceEvents"]
    assert isinstance(events, list) and events
    complete = [e for e in events if e["ph"] == "X"]
    starts = {e["id"]: e for e in events if e["ph"] == "s"}
    ends = {e["id"]: e for e in events if e["ph"] == "f"}
    meta = [e for e in events if e["ph"] == "M"]
    assert {e["ph"] for e in events} == {"X", "s", "f", "M"}
    assert {e["args"]["name"] for e in meta if e["name"] == "process_name"} == {
        f"locality {i}" for i in range(n)}
    for e in complete:
        assert isinstance(e["name"], str) and e["name"]
        assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0
        assert isinstance(e["dur"], (int, float)) and e["dur"] > 0
        assert e["pid"] in range(n)
        assert isinstance(e["tid"], int) and e["tid"] > 0
        assert e["args"]["comm"] == "COMM_WORLD"
    names = {e["name"] for e in complete}
    assert {"Sendrecv", "allreduce", "Gather"} <= names
    # one Sendrecv per halo exchange and side, ITERATIONS + 1 exchanges of two
    per_rank = [sum(1 for e in complete if e["pid"] == r and e["name"] == "Sendrecv")
                for r in range(n)]
    assert per_rank == [2 * 6001] * n
    # every real send (not to PROC_NULL) starts a flow that ends at its receive
    sends = [e for e in complete if e["name"] == "Sendrecv" and e["args"]["dest"] != -1]
    assert len(starts) == len(sends) == 6001 * 2 * (n - 1)
    assert set(starts) == set(ends)
    slices = {}
    for e in complete:
        slices.setdefault((e["pid"], e["tid"]), []).append((e["ts"], e["ts"] + e["dur"]))
    for spans in slices.values():
        spans.sort()
    starts_of = {k: [a for a, _ in v] for k, v in slices.items()}

    def inside(point) -> bool:
        key = (point["pid"], point["tid"])
        i = bisect.bisect_right(starts_of[key], point["ts"]) - 1
        return i >= 0 and slices[key][i][0] <= point["ts"] <= slices[key][i][1]

    for fid, s in starts.items():
        f = ends[fid]
        assert s["name"] == f["name"] and s["cat"] == f["cat"]
        assert f["bp"] == "e"
        assert abs(s["pid"] - f["pid"]) == 1  # halo messages go to a neighbour
        # each flow point lies inside a slice of its thread (the send's, the receive's)
        for point in (s, f):
            assert inside(point), point
        src, dst = s["args"]["key"].split(":")[0].split(">")
        assert (int(src), int(dst)) == (s["pid"], f["pid"])
    assert doc["otherData"]["unmatched_sends"] == 0
    assert doc["otherData"]["unmatched_receives"] == 0
    assert doc["otherData"]["offsets_ns"] == {str(i): 0 for i in range(n)}  # one host


@pytest.mark.timeout(300)
def test_trace_of_jacobi_opens_in_chromiums_trace_engine(jacobi_trace: Path) -> None:
    """A real reader, offline: Chromium's DevTools trace engine (the Performance panel's,
    shipped inside the browser) parses the Jacobi trace; it must find one process per
    locality under its name, each with one thread holding every call of that locality
    as a slice: 12,004 per locality, 48,016 in all (tests/trace_reader.py says how
    Chromium is brought up). CI installs Debian's chromium (.ci/run)."""
    import json

    import trace_reader

    if trace_reader.chromium() is None:
        pytest.skip("chromium is not installed (apt-get install chromium): no real trace "
                    "reader to open the trace with")
    doc = json.loads(jacobi_trace.read_text())
    calls: Dict[tuple, int] = {}
    for e in doc["traceEvents"]:
        if e["ph"] == "X":
            calls[(e["pid"], e["tid"])] = calls.get((e["pid"], e["tid"]), 0) + 1
    seen = trace_reader.read_trace(jacobi_trace)
    assert seen["generic"] is True  # read as a trace-event file, not a Chrome profile
    assert sorted(map(tuple, seen["processes"])) == [
        (i, f"locality {i}") for i in range(JACOBI_RANKS)]
    assert {(t["pid"], t["tid"]): t["slices"] for t in seen["threads"]} == calls
    assert all(t["name"] == "MainThread" for t in seen["threads"])
    assert sum(calls.values()) == (2 * 6001 + 2) * JACOBI_RANKS  # Sendrecvs, allreduce, Gather


@pytest.mark.timeout(60)
def test_verbose_names_the_localities_not_connected_yet() -> None:
    with Running(3, [str(PROGRAMS / "observe_late.py")], ["-v"]) as job:
        assert job.finish(timeout=40) == 0, job.stderr
    assert "hpxrun: started 3 localities" in job.stderr
    assert re.search(r"hpxrun: \d+ s: 2 of 3 localities connected; waiting for 1\n",
                     job.stderr), job.stderr
    assert "hpxrun: every locality connected" in job.stderr
    assert job.stdout.count("joined") == 3


@pytest.mark.timeout(60)
def test_timeout_report_names_a_send_blocked_by_flow_control() -> None:
    with Running(2, [str(DEADLOCK), "flow"], ["--timeout", "6"]) as job:
        assert job.finish(timeout=40) == 124
    reports = _reports(job.stderr)
    assert f"{DEADLOCK}:{_line_of(DEADLOCK, 'DEADLOCK-FLOW')} in" in reports[0]
    assert ("blocked in: send blocked by flow control on COMM_WORLD to rank 1, tag 9, "
            "1048576 bytes") in reports[0], reports[0]
    assert "no pending communication" in reports[1]
    _assert_gone(reports)


@pytest.mark.timeout(120)
def test_trace_links_every_kind_of_send_to_its_receive(tmp_path: Path) -> None:
    """Objects, buffers, Sendrecv, Isend to Irecv (completed in Waitall): every message's
    flow goes from its send to its receive."""
    import json

    out = tmp_path / "counts.json"
    n = 3
    with Running(n, [str(PROGRAMS / "observe_counts.py")], ["--trace", str(out)]) as job:
        assert job.finish(timeout=90) == 0, job.stderr
    doc = json.loads(out.read_text())
    events = doc["traceEvents"]
    starts = {e["id"]: e for e in events if e["ph"] == "s"}
    ends = {e["id"]: e for e in events if e["ph"] == "f"}
    assert len(starts) == n * (5 + 4 + 2 + 3)  # send, Send, Sendrecv, Isend per rank
    assert set(starts) == set(ends)
    for fid, s in starts.items():
        assert ends[fid]["pid"] == (s["pid"] + 1) % n  # the ring: to the right
    assert doc["otherData"]["unmatched_sends"] == 0
    assert doc["otherData"]["unmatched_receives"] == 0
    irecvs = [e for e in events if e["ph"] == "X" and e["name"] == "Irecv"]
    assert len(irecvs) == 3 * n and all(e["args"]["bytes"] == 800 for e in irecvs)


@pytest.mark.timeout(120)
def test_trace_offsets_measured_as_across_hosts_keep_messages_causal(tmp_path: Path) -> None:
    """With every locality claiming a host of its own, the ping-pong offsets are applied:
    on this one machine they must come out within their error bound of the true 0, and
    every message must still end after it started."""
    import json

    out = tmp_path / "counts.json"
    n = 3
    with Running(n, [str(PROGRAMS / "observe_counts.py")], ["--trace", str(out)],
                 env={"HPXPY_TRACE_SEPARATE_HOSTS": "1"}) as job:
        assert job.finish(timeout=90) == 0, job.stderr
    doc = json.loads(out.read_text())
    other = doc["otherData"]
    assert len(set(other["hosts"].values())) == n
    assert other["offsets_ns"]["0"] == 0
    for i in range(1, n):
        offset, bound = other["offsets_ns"][str(i)], other["offset_error_ns"][str(i)]
        assert bound > 0 and abs(offset) <= bound + 1000, (offset, bound)
    events = doc["traceEvents"]
    starts = {e["id"]: e for e in events if e["ph"] == "s"}
    ends = {e["id"]: e for e in events if e["ph"] == "f"}
    worst = max(other["offset_error_ns"].values()) / 1000.0
    for fid, s in starts.items():
        assert ends[fid]["ts"] >= s["ts"] - 2 * worst, (s, ends[fid])


# (mode, both calls as the error names them, the source markers of both calls when every
# rank finds the mismatch in its call; None: found at finalize, where lines are not known)
_MISMATCHES = [
    ("bcast_gather", ("bcast(root=0)", "gather(root=0)"), None),
    ("roots", ("bcast(root=0)", "bcast(root=1)"), None),
    ("allreduce_barrier", ("allreduce()", "barrier()"),
     ("MISMATCH-ALLREDUCE", "MISMATCH-BARRIER")),
    ("Allreduce_barrier", ("Allreduce()", "barrier()"),
     ("MISMATCH-BUFALLREDUCE", "MISMATCH-OBJBARRIER")),
    # Calls that send each other nothing: each waits, then asks the other (CallWatch).
    ("gather_bcast", ("gather(root=0)", "bcast(root=0)"),
     ("MISMATCH-GATHER0", "MISMATCH-BCAST0")),
    ("Gather_allreduce", ("Gather(root=0)", "allreduce()"),
     ("MISMATCH-RAWGATHER", "MISMATCH-OBJALLREDUCE")),
]


@pytest.mark.timeout(120)
@pytest.mark.one_pass
@pytest.mark.parametrize("parcelport", ["shm", "tcp"])
@pytest.mark.parametrize("mode,calls,markers", _MISMATCHES, ids=[m[0] for m in _MISMATCHES])
def test_collective_mismatch_raises_on_every_rank(mode: str, calls: Sequence[str],
                                                  markers: Optional[Sequence[str]],
                                                  parcelport: str) -> None:
    """Rank 0 and rank 1 call different collectives (or roots) on COMM_WORLD: both raise
    CollectiveMismatchError naming the communicator and both calls (with both source
    lines when they found it in the call), instead of hanging or returning garbage."""
    with Running(2, [str(MISMATCH), mode], ["--timeout", "60"],
                 env={"HPXPY_PARCELPORT": parcelport}) as job:
        rc = job.finish(timeout=90)
    assert rc == 0, job.stdout + job.stderr
    for rank in (0, 1):
        raised = [line for line in job.out if line.startswith(f"rank {rank} raised")]
        assert len(raised) == 1, job.stdout + job.stderr
        text = raised[0]
        assert "collective mismatch on COMM_WORLD: " in text, text
        for call in calls:
            assert call in text, text
        assert "this rank called" in text, text
        if markers is None:
            assert text.startswith(f"rank {rank} raised at finalize: "), text
            continue
        own, other = markers if rank == 0 else markers[::-1]
        assert f"this rank called {calls[rank]} at {MISMATCH}:{_line_of(MISMATCH, own)}" in text
        assert f"rank {1 - rank} called {calls[1 - rank]} at {MISMATCH}:" \
               f"{_line_of(MISMATCH, other)}" in text, text


@pytest.mark.timeout(120)
def test_collective_mismatch_left_to_the_runtime_fails_the_job() -> None:
    """A program that does not catch the error found at finalize exits with status 1, the
    error on stderr (hpxrun stops the others once the first locality has exited, so how
    many print it first is a race; the caught cases above check every rank)."""
    with Running(3, [str(MISMATCH), "bcast_gather", "uncaught"], ["--timeout", "60"]) as job:
        rc = job.finish(timeout=90)
    assert rc == 1, job.stdout + job.stderr
    errors = [line for line in job.err if "hpxpy: CollectiveMismatchError: collective "
              "mismatch on COMM_WORLD" in line]
    assert errors, job.stderr
    assert all("bcast(root=0)" in line and "gather(root=0)" in line for line in errors)
