"""Runtime lifecycle and configuration: one-locality jobs in this process, and jobs started
without the launcher (HPX-style arguments, locality 0 hosting the rendezvous)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import pid_alive, run_job

import hpxpy as hpx
from hpxpy import _bootstrap
from hpxpy._runtime import RuntimeConfig
from hpxpy.launcher import LocalityConfig, find_free_port


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch):
    for var in ("HPXPY_LOCALITY_ID", "HPXPY_NUM_LOCALITIES", "HPXPY_RENDEZVOUS",
                "HPXPY_JOB_SECRET"):
        monkeypatch.delenv(var, raising=False)
    yield
    hpx.finalize()


def test_plain_process_is_one_locality():
    assert not hpx.is_running()
    assert (hpx.locality_id(), hpx.num_localities()) == (0, 1)
    with hpx.runtime():
        assert hpx.is_running()
        assert hpx.collectives.get_num_localities() == 1
        assert hpx.all_reduce(np.array([2.5]))[0] == 2.5
        assert hpx.gather(np.arange(2))[0].tolist() == [0, 1]
        with hpx.runtime():  # nested: reuses the running runtime
            assert hpx.is_running()
        assert hpx.is_running()
    assert not hpx.is_running()


def test_init_finalize_and_restart():
    hpx.init()
    with pytest.raises(RuntimeError, match="already running"):
        hpx.init()
    hpx.finalize()
    hpx.finalize()  # idempotent
    hpx.init()  # a one-locality runtime can start again
    assert hpx.broadcast(np.array([7]))[0] == 7
    hpx.finalize()


def test_collectives_start_the_runtime_on_first_use():
    assert not hpx.is_running()
    assert hpx.all_reduce(3) == 3
    assert hpx.is_running()


def test_result_types():
    assert isinstance(hpx.all_reduce(1.5), np.float64)
    assert isinstance(hpx.all_reduce(np.int32(4)), np.int32)
    r = hpx.all_reduce(np.ones((2, 2), dtype=np.float32))
    assert r.dtype == np.float32 and r.shape == (2, 2)
    x = np.arange(4.0)
    assert hpx.all_reduce(x) is not x  # never the caller's buffer


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="root 1 out of range; expected 0 <= root < 1"):
        hpx.broadcast(np.ones(1), root=1)
    with pytest.raises(TypeError, match="root must be an int"):
        hpx.gather(np.ones(1), root="0")
    with pytest.raises(TypeError, match="unsupported dtype bool"):
        hpx.all_reduce(True)
    with pytest.raises(ValueError, match="unsupported op 'mean'"):
        hpx.all_reduce(1.0, op="mean")
    with pytest.raises(TypeError, match="unsupported dtype uint8"):
        hpx.scatter([np.ones(1, dtype=np.uint8)])


def test_config_from_hpx_arguments(monkeypatch):
    monkeypatch.setenv(_bootstrap.ENV_JOB_SECRET, "ab" * 32)
    cfg = RuntimeConfig.from_environment(
        ["--hpx:localities=4", "--hpx:node=2", "--hpx:agas=127.0.0.1:5000",
         "--hpx:hpx=127.0.0.3:0", "--unrelated"])
    assert (cfg.locality_id, cfg.num_localities, cfg.rendezvous, cfg.interface) == (
        2, 4, "127.0.0.1:5000", "127.0.0.3")
    with pytest.raises(ValueError, match="locality_id 4 out of range"):
        RuntimeConfig.from_environment(["--hpx:localities=4", "--hpx:node=4"])
    monkeypatch.delenv(_bootstrap.ENV_JOB_SECRET)
    with pytest.raises(ValueError, match="needs a rendezvous address and a job secret"):
        hpx.init(["--hpx:localities=2", "--hpx:node=0"])


EXTERNAL = """
import json, os, sys
import numpy as np
import hpxpy as hpx
hpx.init(sys.argv[1:])
me = hpx.locality_id()
total = hpx.all_reduce(np.array([me + 1.0]))
print(json.dumps({"id": me, "n": hpx.num_localities(), "total": float(total[0]),
                  "pid": os.getpid()}), flush=True)
hpx.finalize()
"""


@pytest.mark.parametrize("n", [2, 3])
def test_job_started_without_launcher(tmp_path, n):
    """As under a batch system: N processes with HPX-style arguments; locality 0 hosts the
    rendezvous at an agreed address, all share the job secret."""
    script = tmp_path / "external.py"
    script.write_text(EXTERNAL)
    agas = f"127.0.0.1:{find_free_port()}"
    env = {**os.environ, _bootstrap.ENV_JOB_SECRET: _bootstrap.new_job_secret(),
           _bootstrap.ENV_RENDEZVOUS_SERVER: "0"}
    procs = []
    try:
        for i in range(n):
            args = LocalityConfig(i, n, rendezvous=agas).to_hpx_args()
            procs.append(subprocess.Popen([sys.executable, str(script), *args], env=env,
                                          stdout=subprocess.PIPE, text=True))
        outs = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert all(p.returncode == 0 for p in procs)
    assert sorted(o["id"] for o in outs) == list(range(n))
    assert all(o["n"] == n and o["total"] == n * (n + 1) / 2 for o in outs)
    assert not any(pid_alive(o["pid"]) for o in outs)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_hpxrun_python_c(n):
    code = ("import os, hpxpy as hpx, numpy as np; "
            "r = hpx.all_reduce(np.array([hpx.locality_id() + 1.0])); "
            "print('RESULT {\"id\": %d, \"pid\": %d, \"n\": %d, \"r\": %r}' % "
            "(hpx.locality_id(), os.getpid(), hpx.num_localities(), float(r[0])))")
    job = run_job(n, ["-c", code], timeout=60)
    assert job.returncode == 0, job
    assert len({r["pid"] for r in job.results.values()}) == n
    assert all(r["n"] == n and r["r"] == n * (n + 1) / 2 for r in job.results.values())


def test_interface_option_binds_the_given_address():
    code = ("import json, hpxpy as hpx; from hpxpy import _runtime; hpx.init(); "
            "print('RESULT ' + json.dumps({'id': hpx.locality_id(), "
            "'host': _runtime.listen_address()[0]}))")
    # The TCP listener's address: TCP forced (with shared memory alone there is none).
    job = run_job(2, ["-c", code], launcher_args=["--interface", "127.0.0.2"], timeout=60,
                  env={"HPXPY_PARCELPORT": "tcp"})
    assert job.returncode == 0, job
    assert {r["host"] for r in job.results.values()} == {"127.0.0.2"}


def test_parcelport_selection(monkeypatch):
    """HPXPY_PARCELPORT names the transport; the Python bootstrap and the core agree on
    which exist, and an unknown name is a clear error before anything starts."""
    from hpxpy import _core

    assert set(_bootstrap.TRANSPORTS) | {"mpi"} == set(_core.parcelports())
    monkeypatch.setenv(_bootstrap.ENV_PARCELPORT, "tcp")
    assert RuntimeConfig.from_environment().parcelport == "tcp"
    monkeypatch.setenv(_bootstrap.ENV_PARCELPORT, "pigeon")
    with pytest.raises(ValueError, match=r"unknown parcelport 'pigeon' \(HPXPY_PARCELPORT\); "
                                         r"available: auto, mpi, shm, tcp"):
        RuntimeConfig.from_environment()
    with pytest.raises(ValueError, match="unknown parcelport 'pigeon'"):
        hpx.init()
    assert not hpx.is_running()
    with pytest.raises(ValueError, match="unknown parcelport 'pigeon'"):
        _core.Runtime(0, 2, [-1, -1], 0, parcelport="pigeon")
    with pytest.raises(ValueError, match="no transport reaches locality 1"):
        _core.Runtime(0, 2, [-1, -1], 0)


def test_routes_and_rendezvous_table_under_tcp():
    """Each peer is routed once (self, then the first transport reaching it); the rendezvous
    table carries the id, a host identity and one endpoint per transport offered."""
    code = ("import json, hpxpy as hpx; from hpxpy import _runtime; hpx.init(); "
            "rt = _runtime.core(); t = _runtime._state.mesh.table; "
            "print('RESULT ' + json.dumps({'id': hpx.locality_id(), "
            "'routes': [rt.route(i) for i in range(hpx.num_localities())], 'table': t}))")
    job = run_job(3, ["-c", code], timeout=60, env={_bootstrap.ENV_PARCELPORT: "tcp"})
    assert job.returncode == 0, job
    for i, r in job.results.items():
        assert r["routes"] == ["self" if j == i else "tcp" for j in range(3)]
        assert [e["id"] for e in r["table"]] == [0, 1, 2]
        for e in r["table"]:
            assert e["host"] == _bootstrap.host_identity()
            assert set(e["endpoints"]) == {"tcp"}
            assert _bootstrap.parse_address(e["endpoints"]["tcp"])[1] > 0
