"""hpxpy.comm's structure: Request as a state machine and an hpxpy Future (no thread per
call), the library channel, the module layers (no module imports one above it), and the
type check of the package."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_job

# Nothing here depends on the transport CI's pass picks.
pytestmark = pytest.mark.one_pass

ROOT = Path(__file__).resolve().parent.parent
COMM = ROOT / "hpxpy" / "comm"

# The layers of hpxpy.comm (as drawn in _comm.py's docstring and docs/architecture.md).
LAYERS = {
    "_constants": 0, "_errors": 0, "_errhandler": 0, "_datatypes": 0, "_info": 0,
    "_pickle": 0, "_shmwin": 0, "_handles": 0, "_attributes": 0, "_docs": 0,
    "_status": 1, "_interop": 1, "_typing": 1, "_fileview": 1,
    "_request": 2, "_memory": 2,
    "_message": 3, "_buffers": 3, "_ops": 3, "_failures": 3, "_group": 3, "_contexts": 3,
    "_handle": 3, "_topology": 3, "_session": 3,
    "_p2p": 4, "_partitioned": 4, "_objcoll": 4, "_file": 4, "_rma_service": 4, "_pack": 4,
    "_bufcoll": 5, "_create": 5, "_neighbor": 5,
    "_nbcoll": 6, "_topo": 6, "_persistent": 6, "_intercomm": 6, "_interbuf": 6, "_ulfm": 6,
    "_comm": 7,
    "_win": 8, "_channel": 8, "_spawn": 8, "_unsafe": 8, "run": 8, "_environment": 8,
    "MPI": 9,
}


def _imports(path: Path) -> set:
    """hpxpy.comm modules ``path`` imports (relative imports, at any depth of the file)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
    return found


def test_every_module_has_a_layer_and_imports_only_below_it():
    modules = {p.stem for p in COMM.glob("*.py")} - {"__init__"}
    assert modules == set(LAYERS), modules ^ set(LAYERS)
    for name in modules:
        for dep in _imports(COMM / f"{name}.py"):
            assert dep in LAYERS, (name, dep)
            if dep != name:
                assert LAYERS[dep] < LAYERS[name] or (
                    LAYERS[dep] == LAYERS[name] and name not in _imports(COMM / f"{dep}.py")
                ), f"{name} (layer {LAYERS[name]}) imports {dep} (layer {LAYERS[dep]})"


def test_no_layer_imports_a_higher_one():
    for name, layer in LAYERS.items():
        for dep in _imports(COMM / f"{name}.py"):
            assert LAYERS[dep] <= layer, f"{name} (layer {layer}) imports {dep}"


REQUEST_PROGRAM = r'''
import asyncio, json, threading
import numpy as np
from hpxpy.comm import MPI
from hpxpy.comm._request import State
c = MPI.COMM_WORLD
rank, size = c.rank, c.size
peer = (rank + 1) % size
out = {"id": rank}
threads = threading.active_count()
# receives that are still pending when their futures are asked for
reqs = [c.irecv(source=(rank - 1) % size, tag=t) for t in range(20)]
chained = [r.then(lambda f: ("got", f.get())) for r in reqs]
out["pending"] = [r._state.name for r in reqs][:1]
c.Barrier()
for t in range(20):
    c.send([rank, t], dest=peer, tag=t)
out["then"] = [f.get(timeout=30) for f in chained][:2]
out["threads_added"] = threading.active_count() - threads  # one watcher, not twenty
out["null_after"] = all(r == MPI.REQUEST_NULL for r in reqs)
# get(timeout) and await on a request
r = c.irecv(source=(rank - 1) % size, tag=99)
try:
    r.get(timeout=0.05)
    out["timeout"] = "returned"
except TimeoutError:
    out["timeout"] = "TimeoutError"
c.Barrier()  # nothing is sent on tag 99 before every rank's wait has timed out
c.send("late", dest=peer, tag=99)
out["after_timeout"] = r.get(timeout=30)
async def main():
    r = c.irecv(source=(rank - 1) % size, tag=100)
    c.send("awaited", dest=peer, tag=100)
    return await r
out["await"] = asyncio.run(main())
# a non-blocking collective as a future: resolved by its completion, no watcher
a = np.array([float(rank)]); b = np.empty(1)
out["iallreduce"] = c.Iallreduce(a, b).then(lambda f: float(b[0])).get(timeout=30)
# the states of a persistent request
p = c.Recv_init(np.empty(1), source=(rank - 1) % size, tag=7)
states = [p._state.name]
p.Start(); states.append(p._state.name)
c.Send(np.ones(1), dest=peer, tag=7)
p.Wait(); states.append(p._state.name)
p.Free(); states.append(p._state.name)
out["prequest"] = states
# a cancelled receive is complete, with a cancelled status, then null
q = c.irecv(source=(rank - 1) % size, tag=12345)
q.Cancel()
st = MPI.Status()
cancel_state = q._state.name
q.Wait(st)
out["cancel"] = [cancel_state, st.Is_cancelled(), q._state.name]
c.Barrier()
print("RESULT " + json.dumps(out))
'''


def test_request_state_machine_and_future_interop():
    job = run_job(2, ["-c", REQUEST_PROGRAM], timeout=90)
    assert job.returncode == 0, job
    for rank in range(2):
        r = job.results[rank]
        left = (rank - 1) % 2
        assert r["pending"] == ["ACTIVE"]
        assert r["then"] == [["got", [left, 0]], ["got", [left, 1]]]
        assert r["threads_added"] <= 1, r
        assert r["null_after"]
        assert r["timeout"] == "TimeoutError"
        assert r["after_timeout"] == "late"
        assert r["await"] == "awaited"
        assert r["iallreduce"] == 1.0
        assert r["prequest"] == ["INACTIVE", "ACTIVE", "INACTIVE", "NULL"]
        assert r["cancel"] == ["COMPLETE", True, "NULL"]


CHANNEL_PROGRAM = r'''
import json
from hpxpy.comm import MPI, channel
c = MPI.COMM_WORLD
ch = channel(c)
out = {"id": c.rank, "members": list(ch.members), "rank": ch.rank, "size": ch.size,
       "fresh": ch.context not in (4, 8), "tags": [ch.next_tag(), ch.next_tag()],
       "dup": ch.comm.Compare(c) == MPI.CONGRUENT}
print("RESULT " + json.dumps(out))
'''


def test_channel_is_a_private_duplicate():
    job = run_job(2, ["-c", CHANNEL_PROGRAM], timeout=60)
    assert job.returncode == 0, job
    for rank in range(2):
        r = job.results[rank]
        assert r["members"] == [0, 1] and r["rank"] == rank and r["size"] == 2
        assert r["fresh"] and r["tags"] == [0, 1] and r["dup"]


def test_package_ships_py_typed():
    assert (ROOT / "hpxpy" / "py.typed").is_file()


def test_mypy_passes_on_the_package():
    mypy = shutil.which("mypy") or str(Path(sys.executable).parent / "mypy")
    if not Path(mypy).exists():
        pytest.fail("mypy is not installed: pip install -e '.[test]'")
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]


_STARTUP_IMPORTS = r"""
import json, sys
from hpxpy.comm import MPI
comm = MPI.COMM_WORLD
comm.Barrier()
total = comm.allreduce(comm.Get_rank())
got = comm.bcast({"k": 1}, root=0)
rank = comm.Get_rank()
def loaded():
    return sorted(m for m in ("numpy", "hpxpy.comm._file", "hpxpy.comm._win")
                  if m in sys.modules)
running = loaded()
MPI.Finalize()  # its checks (unreceived collectives) must not load numpy either
print(json.dumps({"rank": rank, "total": total, "loaded": running,
                  "after_finalize": loaded()}), flush=True)
"""


def test_object_program_loads_neither_numpy_nor_file_nor_win():
    """Start-up cost: an mpi4py program that moves Python objects does not pay for numpy,
    MPI-IO or RMA (hpxpy/_numpy.py, MPI.py's names loaded on first use)."""
    job = run_job(2, ["-c", _STARTUP_IMPORTS], timeout=60)
    assert job.returncode == 0, job
    lines = [json.loads(line) for line in job.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 2, job
    for line in lines:
        assert line["total"] == 1 and line["loaded"] == line["after_finalize"] == [], line
    launcher = subprocess.run(
        [sys.executable, "-c", "import sys, hpxpy.launcher; "
         "print(sorted(m for m in ('numpy', 'hpxpy._core', 'hpxpy._runtime') "
         "if m in sys.modules))"], capture_output=True, text=True, timeout=60)
    assert launcher.stdout.strip() == "[]", launcher
