"""Tests of the launcher (``hpxrun`` / ``python -m hpxpy.launcher``).

The locality programs here are plain Python scripts that only read the environment the
launcher gives them; they do not start the hpxpy runtime.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Dict, List

import pytest
from conftest import clean_env

from hpxpy import launcher
from hpxpy.launcher import (
    LaunchConfig,
    LocalityConfig,
    find_free_port,
    is_multi_locality_mode,
    launch_localities,
)

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT = 60

# A child that records its pid in <dir>/pid.<id> and prints "LOCALITY <id> <n> <pid>".
# Localities share the launcher's stdout, so each line goes out in a single write():
# print() writes the text and the newline separately, and lines could interleave.
RECORD = r"""
import os, sys
def say(*words, fd=1):
    os.write(fd, (" ".join(str(w) for w in words) + "\n").encode())
out = sys.argv[1]
lid = os.environ["HPXPY_LOCALITY_ID"]
with open(os.path.join(out, "pid." + lid), "w") as f:
    f.write(str(os.getpid()))
say("LOCALITY", lid, os.environ["HPXPY_NUM_LOCALITIES"], os.getpid())
"""


def _env() -> Dict[str, str]:
    return clean_env(ROOT)


def _script(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(RECORD + textwrap.dedent(body))
    return path


def _hpxrun(*args: str, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hpxpy.launcher", *args],
        env=_env(),
        capture_output=True,
        timeout=timeout,
        cwd=str(ROOT),
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie nobody has reaped yet is dead for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _wait_dead(pids: List[int], timeout: float = 5.0) -> List[int]:
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in pids if _alive(p)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def _recorded_pids(out: Path, prefix: str = "pid.") -> List[int]:
    return [int(p.read_text()) for p in sorted(out.glob(prefix + "*"))]


def _wait_for_files(directory: Path, pattern: str, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while len(list(directory.glob(pattern))) < count:
        assert time.monotonic() < deadline, f"only {list(directory.glob(pattern))} appeared"
        time.sleep(0.05)


# -- configuration ----------------------------------------------------------------------------


def test_locality_config_hpx_args() -> None:
    cfg = LocalityConfig(2, 4, rendezvous="10.0.0.1:5555", interface="10.0.0.7")
    assert cfg.to_hpx_args() == [
        "--hpx:localities=4",
        "--hpx:node=2",
        "--hpx:agas=10.0.0.1:5555",
        "--hpx:hpx=10.0.0.7:0",
    ]


def test_locality_config_env() -> None:
    cfg = LocalityConfig(1, 3, rendezvous="127.0.0.1:4000", job_secret="ab" * 32)
    assert cfg.to_env() == {
        "HPXPY_LOCALITY_ID": "1",
        "HPXPY_NUM_LOCALITIES": "3",
        "HPXPY_RENDEZVOUS": "127.0.0.1:4000",
        "HPXPY_JOB_SECRET": "ab" * 32,
        "HPXPY_INTERFACE": "127.0.0.1",
        "PYTHONUNBUFFERED": "1",
    }
    assert cfg.to_env(job_secret="cd")["HPXPY_JOB_SECRET"] == "cd"
    assert "HPXPY_JOB_SECRET" not in LocalityConfig(0, 1).to_env()


@pytest.mark.parametrize(
    ("locality_id", "num_localities", "expected"),
    [
        (4, 4, r"\[0, 4\).*got 4"),
        (-1, 2, r"\[0, 2\).*got -1"),
        (0, 0, r">= 1, got 0"),
        (0, -3, r">= 1, got -3"),
        ("0", 2, r"got str"),
    ],
)
def test_locality_config_validation(locality_id, num_localities, expected) -> None:
    with pytest.raises(ValueError, match=expected):
        LocalityConfig(locality_id, num_localities)


def test_locality_config_bad_rendezvous() -> None:
    with pytest.raises(ValueError, match="host:port"):
        LocalityConfig(0, 2, rendezvous="nowhere")


def test_launch_config_validation() -> None:
    assert LaunchConfig().num_localities == 4
    with pytest.raises(ValueError, match=">= 1, got 0"):
        LaunchConfig(num_localities=0)
    with pytest.raises(ValueError, match="timeout"):
        LaunchConfig(timeout=0)
    with pytest.raises(ValueError, match="grace_period"):
        LaunchConfig(grace_period=-1)


def test_find_free_port() -> None:
    port = find_free_port()
    assert 0 < port < 65536
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))  # it really is free


def test_is_multi_locality_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HPXPY_NUM_LOCALITIES", raising=False)
    assert not is_multi_locality_mode()
    monkeypatch.setenv("HPXPY_NUM_LOCALITIES", "1")
    assert not is_multi_locality_mode()
    monkeypatch.setenv("HPXPY_NUM_LOCALITIES", "3")
    assert is_multi_locality_mode()
    monkeypatch.setenv("HPXPY_NUM_LOCALITIES", "garbage")
    assert not is_multi_locality_mode()


def test_split_argv_passes_program_flags_through() -> None:
    opts, cmd = launcher._split_argv(["-n", "2", "--tag-output", "python", "-c", "x", "-x"])
    assert opts == ["-n", "2", "--tag-output"]
    assert cmd == ["python", "-c", "x", "-x"]
    assert launcher._split_argv(["--timeout=3", "--", "-weird"]) == (["--timeout=3"], ["-weird"])


# -- hpxrun -----------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_hpxrun_starts_n_localities(tmp_path: Path, n: int) -> None:
    script = _script(
        tmp_path,
        "child.py",
        """
        for var in ("HPXPY_RENDEZVOUS", "HPXPY_JOB_SECRET", "HPXPY_INTERFACE"):
            assert os.environ[var], var
        assert os.environ["PYTHONUNBUFFERED"] == "1"
        """,
    )
    res = _hpxrun("-n", str(n), sys.executable, str(script), str(tmp_path))
    assert res.returncode == 0, res.stderr
    lines = [ln.split() for ln in res.stdout.decode().splitlines() if ln.startswith("LOCALITY")]
    assert sorted(int(ln[1]) for ln in lines) == list(range(n))
    assert {ln[2] for ln in lines} == {str(n)}
    assert len({ln[3] for ln in lines}) == n  # n distinct processes


@pytest.mark.parametrize("flag", ["-n", "-np", "-l", "--localities"])
def test_hpxrun_count_aliases(tmp_path: Path, flag: str) -> None:
    script = _script(tmp_path, "child.py", "")
    res = _hpxrun(flag, "3", sys.executable, str(script), str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert res.stdout.decode().count("LOCALITY") == 3


def test_hpxrun_python_c_and_program_flags(tmp_path: Path) -> None:
    code = (
        "import os, sys; "
        "os.write(1, f\"ARGS {os.environ['HPXPY_LOCALITY_ID']} {sys.argv[1:]}\\n\".encode())"
    )
    res = _hpxrun("-n", "2", sys.executable, "-c", code, "-x", "--timeout", "7")
    assert res.returncode == 0, res.stderr
    out = res.stdout.decode()
    assert out.count("ARGS") == 2
    assert "['-x', '--timeout', '7']" in out


@pytest.mark.parametrize("bad", ["0", "-2"])
def test_hpxrun_invalid_count(bad: str) -> None:
    res = _hpxrun("-n", bad, sys.executable, "-c", "pass")
    assert res.returncode == 2
    assert b"number of localities must be >= 1" in res.stderr


def test_hpxrun_usage_errors() -> None:
    assert _hpxrun("-n", "2").returncode == 2  # no command
    assert _hpxrun("--bogus", "true").returncode == 2


def test_mpi4py_flag_swaps_in_hpxpy_only_for_that_job() -> None:
    code = "import mpi4py.MPI as M; print(M.__name__, M.COMM_WORLD.Get_size())"
    res = _hpxrun("-n", "2", "--mpi4py", sys.executable, "-c", code)
    assert res.returncode == 0, res.stderr
    assert res.stdout.decode().split("\n").count("hpxpy.comm.MPI 2") == 2
    # Without the flag, a real mpi4py installed beside hpxpy is what programs import: its
    # MPI module is the compiled extension, not the shim's Python module (checked on the
    # module itself, not on the spelling of its path: checkouts live in folders named hpxpy).
    probe = ("import importlib.machinery as m, importlib.util as u; "
             "s = u.find_spec('mpi4py.MPI'); "
             "print(s.name, s.origin.endswith(tuple(m.EXTENSION_SUFFIXES)))")
    plain = subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=60)
    assert plain.stdout.decode().split() == ["mpi4py.MPI", "True"], plain


def test_hpxrun_command_not_found(tmp_path: Path) -> None:
    res = _hpxrun("-n", "2", str(tmp_path / "does-not-exist"))
    assert res.returncode == 127
    assert b"cannot run" in res.stderr


def test_hpxrun_tag_output(tmp_path: Path) -> None:
    script = _script(
        tmp_path,
        "child.py",
        """
        print("hello from", lid)
        print("oops from", lid, file=sys.stderr)
        sys.stdout.buffer.write(b"raw \\xff\\xfe " + lid.encode() + b"\\n")
        sys.stdout.write("no newline " + lid)
        """,
    )
    res = _hpxrun("-n", "3", "--tag-output", sys.executable, str(script), str(tmp_path))
    assert res.returncode == 0, res.stderr
    out = res.stdout.splitlines()
    err = res.stderr.splitlines()
    for i in range(3):
        assert f"[{i}] hello from {i}".encode() in out
        assert f"[{i}] raw ".encode() + b"\xff\xfe " + str(i).encode() in out
        assert f"[{i}] no newline {i}".encode() in out
        assert f"[{i}] oops from {i}".encode() in err
    assert all(line.startswith(b"[") for line in out)


def test_hpxrun_untagged_output_passes_through(tmp_path: Path) -> None:
    script = _script(tmp_path, "child.py", 'say("to stderr", lid, fd=2)')
    res = _hpxrun("-n", "2", sys.executable, str(script), str(tmp_path))
    assert res.returncode == 0
    lines = [ln for ln in res.stderr.decode().splitlines() if "to stderr" in ln]
    assert sorted(lines) == ["to stderr 0", "to stderr 1"]


def test_hpxrun_first_nonzero_status(tmp_path: Path) -> None:
    script = _script(tmp_path, "child.py", 'sys.exit(3 if lid == "1" else 0)')
    res = _hpxrun("-n", "4", sys.executable, str(script), str(tmp_path))
    assert res.returncode == 3


def test_hpxrun_killed_locality_status(tmp_path: Path) -> None:
    body = 'import signal\nif lid == "0":\n    os.kill(os.getpid(), signal.SIGKILL)\n'
    script = _script(tmp_path, "child.py", body)
    res = _hpxrun("-n", "2", sys.executable, str(script), str(tmp_path))
    assert res.returncode == 128 + signal.SIGKILL


def test_hpxrun_failure_stops_survivors(tmp_path: Path) -> None:
    # Locality 2 fails; the others sleep (one ignores SIGTERM, one has a grandchild).
    script = _script(
        tmp_path,
        "child.py",
        """
        import signal, subprocess, time
        if lid == "2":
            time.sleep(0.5)
            sys.exit(1)
        if lid == "1":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if lid == "0":
            p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
            with open(os.path.join(out, "grandchild"), "w") as f:
                f.write(str(p.pid))
        time.sleep(60)
        """,
    )
    start = time.monotonic()
    res = _hpxrun("-n", "4", "--grace-period", "1", sys.executable, str(script), str(tmp_path))
    elapsed = time.monotonic() - start
    assert res.returncode == 1, res.stderr
    assert elapsed < 15, elapsed  # grace 1 s + SIGKILL 2 s later + start-up
    assert b"hpxrun: locality 2 exited with status 1; stopping the job" in res.stderr
    pids = _recorded_pids(tmp_path)
    assert len(pids) == 4
    pids.append(int((tmp_path / "grandchild").read_text()))
    assert _wait_dead(pids) == []


def test_hpxrun_survivors_may_finish_within_grace(tmp_path: Path) -> None:
    script = _script(
        tmp_path,
        "child.py",
        """
        import time
        if lid == "0":
            sys.exit(5)
        time.sleep(0.5)
        open(os.path.join(out, "finished." + lid), "w").close()
        """,
    )
    res = _hpxrun("-n", "3", "--grace-period", "20", sys.executable, str(script), str(tmp_path))
    assert res.returncode == 5
    assert len(list(tmp_path.glob("finished.*"))) == 2


def test_hpxrun_timeout(tmp_path: Path) -> None:
    script = _script(tmp_path, "child.py", "import time\ntime.sleep(60)\n")
    start = time.monotonic()
    res = _hpxrun("-n", "3", "--timeout", "1.5", sys.executable, str(script), str(tmp_path))
    assert res.returncode == 124
    assert time.monotonic() - start < 15
    assert b"hpxrun: job exceeded timeout of 1.5 s; stopping" in res.stderr
    assert _wait_dead(_recorded_pids(tmp_path)) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signals_are_forwarded(tmp_path: Path, sig: signal.Signals) -> None:
    script = _script(
        tmp_path,
        "child.py",
        """
        import signal, time
        def handler(signum, frame):
            with open(os.path.join(out, "got.%s.%d" % (lid, signum)), "w"):
                pass
            sys.exit(0)
        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)
        open(os.path.join(out, "ready." + lid), "w").close()
        time.sleep(60)
        """,
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hpxpy.launcher",
            "-n",
            "3",
            sys.executable,
            str(script),
            str(tmp_path),
        ],
        env=_env(),
        cwd=str(ROOT),
    )
    try:
        _wait_for_files(tmp_path, "ready.*", 3)
        proc.send_signal(sig)
        assert proc.wait(timeout=RUN_TIMEOUT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    got = sorted(p.name for p in tmp_path.glob("got.*"))
    assert got == [f"got.{i}.{int(sig)}" for i in range(3)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses PR_SET_PDEATHSIG")
def test_localities_die_with_a_killed_launcher(tmp_path: Path) -> None:
    script = _script(
        tmp_path,
        "child.py",
        """
        import time
        open(os.path.join(out, "ready." + lid), "w").close()
        time.sleep(60)
        """,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "hpxpy.launcher", "-n", "3", "--tag-output"]
        + [sys.executable, str(script), str(tmp_path)],
        env=_env(),
        cwd=str(ROOT),
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait_for_files(tmp_path, "ready.*", 3)
    finally:
        proc.kill()
        proc.wait(timeout=RUN_TIMEOUT)
    assert _wait_dead(_recorded_pids(tmp_path)) == []


# -- Python API -------------------------------------------------------------------------------


def test_spmd_main_relaunches(tmp_path: Path) -> None:
    script = tmp_path / "spmd.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, sys
            from hpxpy.launcher import spmd_main

            @spmd_main(num_localities=3)
            def main(tag):
                line = f"{tag} {os.environ['HPXPY_LOCALITY_ID']} {sys.argv[1:]}\\n"
                os.write(1, line.encode())  # one write: localities share stdout
                return 0

            if __name__ == "__main__":
                main("SPMD")
            """
        )
    )
    res = subprocess.run(
        [sys.executable, str(script), "--opt", "v"],
        env=_env(),
        capture_output=True,
        timeout=RUN_TIMEOUT,
    )
    assert res.returncode == 0, res.stderr
    lines = sorted(res.stdout.decode().splitlines())
    assert lines == [f"SPMD {i} ['--opt', 'v']" for i in range(3)]


def test_spmd_main_inside_locality_calls_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HPXPY_NUM_LOCALITIES", "2")

    @launcher.spmd_main(num_localities=2)
    def work(x: int) -> int:
        """Doc."""
        return x * 2

    assert work(21) == 42
    assert work.__name__ == "work" and work.__doc__ == "Doc."


def test_launch_localities_returns_status(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", _env()["PYTHONPATH"])
    before = signal.getsignal(signal.SIGINT)
    script = _script(tmp_path, "child.py", 'sys.exit(7 if lid == "1" else 0)')
    assert launch_localities(script, 2, args=[str(tmp_path)], timeout=30) == 7
    ok = _script(tmp_path, "ok.py", "")
    assert launch_localities(ok, 3, args=[str(tmp_path)]) == 0
    assert len(_recorded_pids(tmp_path)) == 3
    cfg = LaunchConfig(num_localities=2, timeout=1.0)
    sleeper = _script(tmp_path, "sleeper.py", "import time\ntime.sleep(60)\n")
    assert launch_localities(sleeper, args=[str(tmp_path)], config=cfg) == 124
    assert signal.getsignal(signal.SIGINT) is before  # handlers restored
