"""Jobs across hosts: ``hpxrun --hosts/--hostfile`` with a remote shell (``--rsh``).

The "hosts" are network namespaces of this machine (``ip netns``), each with one interface
``hpx0`` (a veth pair whose other end is in a bridge of the root namespace, 10.231.X.0/24,
default route through the bridge), so each has its own addresses and sees the others only
over that link. The remote shell is a script standing in for ssh: ``ip netns exec HOST sh -c
COMMAND``. hpxrun gives each locality its host's name as host identity, so two localities of
one namespace use shared memory and localities of different namespaces TCP over the veths;
the tests check the routes and the veths' byte counters.

Needs root (``ip netns``): where the namespaces cannot be made the tests skip and say why
(CI runs as root, and there a skip fails). Every namespace, link and process is removed by
the fixtures, even when a test fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import pytest
from conftest import clean_env, run_bounded
from mpi_parity import harness

from hpxpy.launcher import parse_hosts, place_localities, read_hostfile

ROOT = Path(__file__).resolve().parents[1]
JOB_TIMEOUT = 120
# Jobs across hosts use both transports whatever HPXPY_PARCELPORT says (the tests clear it),
# so CI's TCP pass repeats only a few of them.
TCP_PASS = os.environ.get("HPXPY_PARCELPORT") == "tcp"
RSH_SCRIPT = '#!/bin/sh\n# stands in for ssh: RSH HOST COMMAND\nhost=$1; shift\n' \
             'exec ip netns exec "$host" sh -c "$*"\n'

# Each locality: its host, its routes to every locality, collectives and p2p results.
PROGRAM = r'''
import json, os, sys
import numpy as np
from hpxpy.comm import MPI
from hpxpy import _runtime

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
routes = [_runtime.core().route(j) for j in range(size)]
big = np.full(1 << 19, rank + 1, dtype=np.float64)      # 4 MiB: crosses the links
total = np.empty_like(big)
comm.Allreduce(big, total, op=MPI.SUM)
obj = comm.bcast({"from": 0, "data": list(range(5))} if rank == 0 else None, root=0)
gathered = comm.allgather(rank * rank)
right, left = (rank + 1) % size, (rank - 1) % size
token = np.array([rank], dtype=np.int64)
got = np.empty(1, dtype=np.int64)
comm.Sendrecv(token, dest=right, recvbuf=got, source=left)
shared = comm.Split_type(MPI.COMM_TYPE_SHARED)
comm.Barrier()
print(json.dumps({"rank": rank, "host": os.environ.get("HPXPY_HOST"), "routes": routes,
                  "total": float(total[0]), "total_ok": bool((total == total[0]).all()),
                  "obj": obj, "gathered": gathered, "left": int(got[0]),
                  "shared": [shared.Get_rank(), shared.Get_size()],
                  "processor": MPI.Get_processor_name() != ""}), flush=True)
'''

# Up, then allreduce in a loop until a locality is lost: prints READY, then LOST or DONE.
CUT_PROGRAM = r'''
import json, os, sys, time
import hpxpy as hpx
from hpxpy.comm import MPI

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
comm.Barrier()
print("READY " + json.dumps({"rank": rank, "pid": os.getpid()}), flush=True)
end = time.time() + 60
try:
    while time.time() < end:
        hpx.all_reduce(rank)
        time.sleep(0.02)
except hpx.LocalityError as err:
    print("LOST " + json.dumps({"rank": rank, "locality": err.locality, "t": time.time(),
                                "msg": str(err)}), flush=True)
    sys.exit(3)  # as an uncaught error: the others are told whom this one lost
print("DONE", flush=True)
'''

# Prints its job secret, then waits (up to 30 s) for the file named in argv to appear.
SECRET_PROGRAM = r'''
import os, sys, time
print("SECRET " + os.environ.get("HPXPY_JOB_SECRET", "") + " "
      + os.environ.get("HOSTS_TEST_TOKEN", ""), flush=True)
end = time.time() + 30
while not os.path.exists(sys.argv[1]) and time.time() < end:
    time.sleep(0.05)
'''


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30,
                          check=check)


def _netns_problem() -> Optional[str]:
    """Why network namespaces cannot be made here (None: they can)."""
    if shutil.which("ip") is None:
        return "no 'ip' command (iproute2)"
    probe = f"hxprobe{os.getpid()}"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"'ip netns add' is not permitted here: {made.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


class Cluster:
    """``count`` hosts (namespaces) joined by a bridge; ``rsh`` enters one."""

    def __init__(self, count: int, tmp_path: Path) -> None:
        tag = os.getpid() % 10000
        self.subnet = 10 + os.getpid() % 240  # 10.231.<subnet>.0/24
        self.bridge = f"hxb{tag}"
        self.hosts = [f"hx{tag}h{k}" for k in range(count)]
        self.links = [f"hx{tag}v{k}" for k in range(count)]  # root-namespace ends
        self.rsh = tmp_path / "netns-rsh"
        self.rsh.write_text(RSH_SCRIPT)
        self.rsh.chmod(0o755)
        self.teardown()  # leftovers of a crashed earlier run with the same pid
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"10.231.{self.subnet}.1/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for k, (host, link) in enumerate(zip(self.hosts, self.links)):
            peer = f"hx{tag}p{k}"
            _ip("netns", "add", host)
            _ip("link", "add", link, "type", "veth", "peer", "name", peer)
            _ip("link", "set", peer, "netns", host)
            _ip("-n", host, "link", "set", peer, "name", "hpx0")
            _ip("-n", host, "addr", "add", f"10.231.{self.subnet}.{k + 2}/24", "dev", "hpx0")
            _ip("-n", host, "link", "set", "hpx0", "up")
            _ip("-n", host, "link", "set", "lo", "up")
            _ip("-n", host, "route", "add", "default", "via", f"10.231.{self.subnet}.1")
            _ip("link", "set", link, "master", self.bridge)
            _ip("link", "set", link, "up")

    def address(self, k: int) -> str:
        return f"10.231.{self.subnet}.{k + 2}"

    def tx_bytes(self, k: int) -> int:
        """Bytes host k received over its link (sent into it from the bridge side) plus
        bytes it sent: the traffic of its veth."""
        stats = Path("/sys/class/net") / self.links[k] / "statistics"
        return int((stats / "tx_bytes").read_text()) + int((stats / "rx_bytes").read_text())

    def pids(self, host: str) -> List[int]:
        out = _ip("netns", "pids", host, check=False).stdout
        return [int(p) for p in out.split()]

    def teardown(self) -> None:
        for host in self.hosts:
            for pid in self.pids(host):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            _ip("netns", "del", host, check=False)  # takes its veth pair with it
        for link in self.links:
            _ip("link", "del", link, check=False)
        _ip("link", "del", self.bridge, check=False)


@pytest.fixture
def cluster(request: pytest.FixtureRequest, tmp_path: Path):
    """A Cluster of ``request.param`` hosts (default 2), removed afterwards."""
    problem = _netns_problem()
    if problem:
        pytest.skip(f"multi-host tests need network namespaces: {problem}")
    made = Cluster(getattr(request, "param", 2), tmp_path)
    leftovers: Dict[str, List[int]] = {}
    try:
        yield made
        deadline = time.time() + 5  # the job is over: its processes are gone or going
        while time.time() < deadline:
            leftovers = {h: made.pids(h) for h in made.hosts if made.pids(h)}
            if not leftovers:
                break
            time.sleep(0.1)
    finally:
        made.teardown()
    assert not leftovers, f"processes left in the hosts after the test: {leftovers}"


def _env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    return {**clean_env(ROOT), **(extra or {})}


def _hpxrun(cluster: Cluster, hosts: str, args: List[str], command: List[str],
            timeout: float = JOB_TIMEOUT, env: Optional[Dict[str, str]] = None,
            ) -> subprocess.CompletedProcess:
    """hpxrun across the cluster's hosts, bounded; the job's process group is killed on
    timeout."""
    cmd = [sys.executable, "-m", "hpxpy.launcher", "--hosts", hosts, "--rsh", str(cluster.rsh),
           *args, *command]
    job = run_bounded(cmd, timeout, _env(env), "job across hosts", cwd=ROOT)
    return subprocess.CompletedProcess(cmd, job.returncode, job.stdout, job.stderr)


def _records(stdout: str) -> Dict[int, dict]:
    return {r["rank"]: r for r in (json.loads(line) for line in stdout.splitlines()
                                   if line.startswith('{"rank"'))}


# -- the host list --------------------------------------------------------------------------


def test_host_list_parsing_and_placement(tmp_path: Path) -> None:
    assert parse_hosts("a,b:2, c:3") == [("a", 1), ("b", 2), ("c", 3)]
    for bad in ("a:0", "a:x", "a:"):
        with pytest.raises(ValueError):
            parse_hosts(bad)
    hostfile = tmp_path / "hosts"
    hostfile.write_text("# the nodes\nn1:2\n\nn2   # one slot\nn3:1\n")
    assert read_hostfile(hostfile) == [("n1", 2), ("n2", 1), ("n3", 1)]
    hosts = [("a", 2), ("b", 2)]
    assert place_localities(hosts, 4) == ["a", "a", "b", "b"]
    assert place_localities(hosts, 3) == ["a", "a", "b"]
    assert place_localities(hosts, 6) == ["a", "a", "b", "b", "a", "a"]  # round again


# -- jobs across hosts ----------------------------------------------------------------------


def _check_job(cluster: Cluster, job: subprocess.CompletedProcess, per_host: int,
               names: Optional[List[str]] = None) -> None:
    names = names or cluster.hosts  # as the host list named them
    count = len(cluster.hosts)
    n = count * per_host
    assert job.returncode == 0, job
    records = _records(job.stdout)
    assert sorted(records) == list(range(n)), job
    for rank, r in records.items():
        host = rank // per_host
        assert r["host"] == names[host]
        expected = ["self" if j == rank else "shm" if j // per_host == host else "tcp"
                    for j in range(n)]
        assert r["routes"] == expected, r
        assert r["total"] == n * (n + 1) / 2 and r["total_ok"]
        assert r["obj"] == {"from": 0, "data": [0, 1, 2, 3, 4]}
        assert r["gathered"] == [i * i for i in range(n)]
        assert r["left"] == (rank - 1) % n
        assert r["shared"] == [rank % per_host, per_host]  # COMM_TYPE_SHARED: one host


@pytest.mark.timeout(JOB_TIMEOUT + 60)
@pytest.mark.parametrize("cluster", [3], indirect=True)
@pytest.mark.parametrize("interface", ["auto"] if TCP_PASS else ["auto", "hpx0"])
def test_collectives_and_p2p_across_three_hosts(cluster: Cluster, tmp_path: Path,
                                                interface: str) -> None:
    """2 localities per host: shm within a host, TCP across; TCP's bytes cross the veths.
    ``auto``: each host binds the address it reaches hpxrun from; ``hpx0``: by name."""
    program = tmp_path / "prog.py"
    program.write_text(PROGRAM)
    before = [cluster.tx_bytes(k) for k in range(3)]
    args = [] if interface == "auto" else ["--interface", interface]
    job = _hpxrun(cluster, ",".join(f"{h}:2" for h in cluster.hosts), args,
                  [sys.executable, str(program)])
    _check_job(cluster, job, per_host=2)
    moved = [cluster.tx_bytes(k) - b for k, b in enumerate(before)]
    # The 4 MiB allreduce sends at least 4 MiB out of and into every host.
    assert all(m > 4 << 20 for m in moved), moved


@pytest.mark.timeout(JOB_TIMEOUT + 60)
def test_hostfile_and_default_count(cluster: Cluster, tmp_path: Path) -> None:
    """--hostfile with slots; -n defaults to the slots' total."""
    program = tmp_path / "prog.py"
    program.write_text(PROGRAM)
    hostfile = tmp_path / "hostfile"
    hostfile.write_text("".join(f"{h}:2  # two slots\n" for h in cluster.hosts))
    cmd = [sys.executable, "-m", "hpxpy.launcher", "--hostfile", str(hostfile), "--rsh",
           str(cluster.rsh), sys.executable, str(program)]
    job = subprocess.run(cmd, capture_output=True, text=True, timeout=JOB_TIMEOUT,
                         env=_env(), cwd=ROOT, start_new_session=True)
    _check_job(cluster, job, per_host=2)


@pytest.mark.timeout(JOB_TIMEOUT + 60)
def test_secret_never_in_a_command_line(cluster: Cluster, tmp_path: Path) -> None:
    """The job secret and the carried environment travel on the remote shell's stdin: no
    process's argv shows them, and the localities on the other host have them."""
    program = tmp_path / "secret.py"
    program.write_text(SECRET_PROGRAM)
    go = tmp_path / "go"
    token = os.urandom(16).hex()
    cmd = [sys.executable, "-m", "hpxpy.launcher", "--hosts", ",".join(cluster.hosts),
           "--rsh", str(cluster.rsh), sys.executable, str(program), str(go)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, cwd=ROOT,
                            env=_env({"HOSTS_TEST_TOKEN": token}))
    try:
        secrets: List[str] = []
        while len(secrets) < 2:  # one locality per host, both started
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            if line.startswith("SECRET "):
                secrets.append(line[len("SECRET "):].strip())
        assert len(set(secrets)) == 1, secrets
        secret, got_token = secrets[0].split()
        assert len(secret) == 64 and got_token == token, secrets
        seen = 0
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    cmdline = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                seen += 1
                assert secret.encode() not in cmdline, cmdline
                assert token.encode() not in cmdline, cmdline
        assert seen > 5
        go.touch()
        out, err = proc.communicate(timeout=JOB_TIMEOUT)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


PARITY_SAMPLE = ["p2p_ring", "p2p_sendrecv", "coll_buf_reduce_ops", "coll_obj_gather_scatter",
                 "coll_nonblocking", "app_jacobi_2d", "rma_fence_halo", "comm_split_dup"]
if TCP_PASS:
    PARITY_SAMPLE = PARITY_SAMPLE[:2]


@pytest.mark.timeout(2 * JOB_TIMEOUT + 60)
@pytest.mark.parametrize("program", PARITY_SAMPLE)
def test_parity_programs_across_hosts_equal_one_host(cluster: Cluster, program: str) -> None:
    """A parity program (tests/mpi_parity/programs) at 4 localities on 2 hosts prints what
    it prints with all 4 on one host."""
    path = harness.PROGRAMS / f"{program}.py"
    hpx = harness.hpx_backend()
    hpx.env.pop("HPXPY_PARCELPORT", None)  # across hosts: shm between neighbours, tcp beyond
    one_host = harness.run(hpx.command(4, path, JOB_TIMEOUT), hpx.env, JOB_TIMEOUT + 30)
    assert one_host.ok(4), one_host.tail()
    hosts = f"{cluster.hosts[0]}:2,{cluster.hosts[1]}:2"
    spread = harness.Backend("hpxpy-hosts", hpx.prefix, hpx.python, hpx.env,
                             [*hpx.extra, "--hosts", hosts, "--rsh", str(cluster.rsh)],
                             hpx.timeout_option)
    across = harness.run(spread.command(4, path, JOB_TIMEOUT), spread.env, JOB_TIMEOUT + 30)
    assert across.ok(4), across.tail()
    diff = harness.compare(one_host.records, across.records, harness.tolerance(path))
    assert diff is None, f"{diff}\n{across.tail()}"


# Segments MPI libraries name (jobs of other tests may run beside this one); hpxpy names
# none (memfds), so anything else new in /dev/shm would be ours.
_OTHERS_SEGMENTS = ("mpich", "sem.", "ompi", "vader", "psm", "pmix", "open_mpi",
                    "sm_segment")


def _shm_segments() -> set:
    names = os.listdir("/dev/shm") if os.path.isdir("/dev/shm") else []
    return {n for n in names if not n.startswith(_OTHERS_SEGMENTS)}


@pytest.mark.timeout(JOB_TIMEOUT + 60)
def test_cut_link_survivors_raise_and_nothing_is_left(cluster: Cluster, tmp_path: Path) -> None:
    """Host 1's link goes down mid-job (no FIN, no RST: only heartbeats can tell). Host 0's
    localities raise LocalityError naming one of host 1's within 10 s, hpxrun exits
    non-zero, and no process, namespace or /dev/shm entry of the job is left."""
    program = tmp_path / "cut.py"
    program.write_text(CUT_PROGRAM)
    segments = _shm_segments()
    hosts = f"{cluster.hosts[0]}:2,{cluster.hosts[1]}:2"
    cmd = [sys.executable, "-m", "hpxpy.launcher", "--hosts", hosts, "--rsh", str(cluster.rsh),
           sys.executable, str(program)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=_env(),  # heartbeats: default 6 s
                            cwd=ROOT)
    lines: List[str] = []
    try:
        ready = {}
        while len(ready) < 4:
            line = proc.stdout.readline()
            assert line, (lines, proc.stderr.read())
            lines.append(line)
            if line.startswith("READY "):
                record = json.loads(line[6:])
                ready[record["rank"]] = record["pid"]
        time.sleep(0.5)
        cut_at = time.time()
        _ip("link", "set", cluster.links[1], "down")
        out, err = proc.communicate(timeout=60)
        ended = time.time()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    lines += out.splitlines()
    assert proc.returncode != 0, (lines, err)
    lost = {r["rank"]: r for r in (json.loads(line[5:]) for line in lines
                                   if line.startswith("LOST "))}
    assert {0, 1} <= set(lost), (lines, err)  # both localities of the healthy host raised
    for rank in (0, 1):
        assert lost[rank]["locality"] in (2, 3), lost[rank]
        assert re.search(r"locality [23]\b", lost[rank]["msg"]), lost[rank]
        assert lost[rank]["t"] - cut_at < 10, (lost[rank], cut_at)
        print(f"locality {rank} raised {lost[rank]['t'] - cut_at:.1f} s after the cut: "
              f"{lost[rank]['msg']}")
    assert ended - cut_at < 30
    for pid in ready.values():
        assert not os.path.exists(f"/proc/{pid}") or \
            "zombie" in Path(f"/proc/{pid}/status").read_text(), f"locality {pid} outlived the job"
    assert not any(cluster.pids(h) for h in cluster.hosts)
    assert _shm_segments() <= segments


# Blocks in a barrier that locality 1 never joins; prints its pid first.
BLOCKED_PROGRAM = r'''
import json, os, time
from hpxpy.comm import MPI
comm = MPI.COMM_WORLD
print("PID " + json.dumps({"rank": comm.Get_rank(), "pid": os.getpid()}), flush=True)
if comm.Get_rank() == 1:
    time.sleep(120)
comm.Barrier()
'''


@pytest.mark.timeout(JOB_TIMEOUT + 60)
def test_signals_reach_localities_on_other_hosts(cluster: Cluster, tmp_path: Path) -> None:
    """hpxrun forwards SIGQUIT (stall reports) and SIGINT over the remote shell's stdin (ssh
    carries no signals): both localities report, then the blocked ones raise
    KeyboardInterrupt, and the job ends."""
    program = tmp_path / "blocked.py"
    program.write_text(BLOCKED_PROGRAM)
    cmd = [sys.executable, "-m", "hpxpy.launcher", "--hosts", ",".join(cluster.hosts),
           "--rsh", str(cluster.rsh), sys.executable, str(program)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env=_env(), cwd=ROOT)
    try:
        pids = {}
        while len(pids) < 2:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            if line.startswith("PID "):
                record = json.loads(line[4:])
                pids[record["rank"]] = record["pid"]
        time.sleep(1.0)  # locality 0 blocks in the barrier
        # SIGQUIT travels as well: each locality writes its stall report and goes on.
        proc.send_signal(signal.SIGQUIT)
        reports = []
        while len(reports) < 2:
            line = proc.stderr.readline()
            assert line, reports
            if "end of hpxpy report" in line:
                reports.append(line)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode != 0
    assert "KeyboardInterrupt" in err, err
    for pid in pids.values():
        assert not os.path.exists(f"/proc/{pid}") or \
            "zombie" in Path(f"/proc/{pid}/status").read_text()
    assert not any(cluster.pids(h) for h in cluster.hosts)


@pytest.mark.timeout(JOB_TIMEOUT + 60)
def test_unknown_command_on_a_remote_host(cluster: Cluster) -> None:
    """A program that does not exist on the remote host: status 127, said on stderr."""
    job = _hpxrun(cluster, ",".join(cluster.hosts), [], ["/nonexistent/program"],
                  timeout=60)
    assert job.returncode == 127, job
    assert "cannot run '/nonexistent/program'" in job.stderr, job


SSHD_CONFIG = """\
ListenAddress {address}
Port 22
HostKey {dir}/host_key
PidFile {dir}/sshd.{host}.pid
AuthorizedKeysFile {dir}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
"""


def _start_sshds(cluster: Cluster, tmp_path: Path) -> List[subprocess.Popen]:
    """One sshd per host, in its namespace on port 22 of its address, accepting a key made
    here (openssh-server: ``apt-get install openssh-server``; root)."""
    keys = tmp_path / "ssh"
    keys.mkdir(mode=0o700)
    for name in ("host_key", "id"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / name)],
                       check=True, timeout=30)
    (keys / "authorized_keys").write_text((keys / "id.pub").read_text())
    os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation directory
    daemons = []
    for k, host in enumerate(cluster.hosts):
        config = keys / f"sshd_config.{host}"
        config.write_text(SSHD_CONFIG.format(address=cluster.address(k), dir=keys, host=host))
        daemons.append(subprocess.Popen(
            ["ip", "netns", "exec", host, shutil.which("sshd") or "/usr/sbin/sshd", "-D", "-e",
             "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    return daemons


@pytest.mark.timeout(JOB_TIMEOUT + 90)
def test_real_ssh_between_hosts(cluster: Cluster, tmp_path: Path) -> None:
    """The same job through real ssh to an sshd in each namespace: the host list names
    the hosts by address, --rsh is ssh with the test's key."""
    sshd = shutil.which("sshd") or ("/usr/sbin/sshd" if os.path.exists("/usr/sbin/sshd")
                                     else None)
    if sshd is None or shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        pytest.skip("needs openssh-server and openssh-client (apt-get install openssh-server)")
    daemons = _start_sshds(cluster, tmp_path)
    try:
        keys = tmp_path / "ssh"
        rsh = (f"ssh -F /dev/null -i {keys / 'id'} -o BatchMode=yes -o LogLevel=ERROR "
               "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null")
        deadline = time.time() + 20
        for k in range(len(cluster.hosts)):  # wait for each sshd to answer
            while True:
                probe = subprocess.run([*rsh.split(), cluster.address(k), "true"],
                                       capture_output=True, text=True, timeout=30)
                if probe.returncode == 0:
                    break
                assert time.time() < deadline, (probe.stderr, daemons[k].poll())
                time.sleep(0.2)
        program = tmp_path / "prog.py"
        program.write_text(PROGRAM)
        hosts = ",".join(f"{cluster.address(k)}:2" for k in range(len(cluster.hosts)))
        cmd = [sys.executable, "-m", "hpxpy.launcher", "--hosts", hosts, "--rsh", rsh,
               sys.executable, str(program)]
        job = subprocess.run(cmd, capture_output=True, text=True, timeout=JOB_TIMEOUT,
                             env=_env(), cwd=ROOT, start_new_session=True)
        _check_job(cluster, job, per_host=2,
                   names=[cluster.address(k) for k in range(len(cluster.hosts))])
    finally:
        for daemon in daemons:
            daemon.terminate()
        for daemon in daemons:
            try:
                daemon.wait(timeout=10)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()


@pytest.mark.timeout(JOB_TIMEOUT + 60)
def test_localhost_started_directly_beside_another_host(cluster: Cluster,
                                                        tmp_path: Path) -> None:
    """``localhost`` in the list runs here without the remote shell (in the root
    namespace, reached from the other host over the bridge)."""
    program = tmp_path / "prog.py"
    program.write_text(PROGRAM)
    job = _hpxrun(cluster, f"localhost:2,{cluster.hosts[1]}:2", [],
                  [sys.executable, str(program)])
    _check_job(cluster, job, per_host=2, names=["localhost", cluster.hosts[1]])
