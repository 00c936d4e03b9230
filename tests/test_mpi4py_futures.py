"""mpi4py's Python-level modules under hpxrun --mpi4py: mpi4py.futures (the shared pool of
``python -m mpi4py.futures``, MPICommExecutor), util.pkl5 with a large object,
``python -m mpi4py`` and mpi4py.bench. Every job is a real multi-process job with a
bounded timeout (conftest.run_job)."""

from __future__ import annotations

import textwrap

from conftest import pid_alive, run_job

MPI4PY = ("--mpi4py",)

POOL_PROGRAM = textwrap.dedent('''
    import json, sys
    from mpi4py import MPI
    from mpi4py.futures import MPIPoolExecutor, get_comm_workers, as_completed

    def square(x):
        return x * x, MPI.COMM_WORLD.Get_rank()

    def workers():
        return get_comm_workers().Get_size()

    def fail(x):
        raise KeyError(x)

    if __name__ == "__main__":
        with MPIPoolExecutor() as executor:
            results = list(executor.map(square, range(40)))
            chunked = list(executor.map(square, range(40), chunksize=7))
            unordered = sorted(r[0] for r in executor.map(square, range(10), unordered=True))
            error = executor.submit(fail, 7).exception()
            out = {"id": MPI.COMM_WORLD.Get_rank(), "values": [r[0] for r in results],
                   "chunked": [r[0] for r in chunked], "unordered": unordered,
                   "ranks": sorted({r[1] for r in results + chunked}),
                   "num_workers": executor.num_workers,
                   "comm_workers": executor.submit(workers).result(),
                   "error": [type(error).__name__, str(error.args[0]),
                             type(error.__cause__).__name__],
                   "argv": sys.argv[1:]}
        print("RESULT " + json.dumps(out), flush=True)
''')


def test_futures_main_maps_on_the_other_ranks(tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text(POOL_PROGRAM)
    job = run_job(3, ["-m", "mpi4py.futures", str(prog), "a", "b"], timeout=120,
                  launcher_args=MPI4PY)
    assert job.returncode == 0, job
    assert list(job.results) == [0], job  # only rank 0 runs the program
    r = job.results[0]
    assert r["values"] == [x * x for x in range(40)]  # in order
    assert r["chunked"] == [x * x for x in range(40)]
    assert r["unordered"] == [x * x for x in range(10)]
    assert r["ranks"] == [1, 2]  # run by the two workers, not by rank 0
    assert r["num_workers"] == 2 and r["comm_workers"] == 2
    assert r["error"] == ["KeyError", "7", "RemoteTraceback"]
    assert r["argv"] == ["a", "b"]


def test_futures_main_at_one_locality_runs_tasks_on_a_thread(tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text(POOL_PROGRAM)
    job = run_job(1, ["-m", "mpi4py.futures", str(prog)], timeout=90, launcher_args=MPI4PY)
    assert job.returncode == 0, job
    r = job.results[0]
    assert r["values"] == [x * x for x in range(40)] and r["ranks"] == [0]
    assert r["num_workers"] == 1 and r["comm_workers"] == 1


def test_futures_main_program_error_ends_the_job(tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text("from mpi4py.futures import MPIPoolExecutor\n"
                    "with MPIPoolExecutor() as ex:\n"
                    "    assert ex.submit(abs, -3).result() == 3\n"
                    "raise SystemExit(3)\n")
    job = run_job(3, ["-m", "mpi4py.futures", str(prog)], timeout=90, launcher_args=MPI4PY)
    assert job.returncode == 3, job


COMM_EXECUTOR_PROGRAM = textwrap.dedent('''
    import json
    from mpi4py import MPI
    from mpi4py.futures import MPICommExecutor

    def where(x):
        return x + 100, MPI.COMM_WORLD.Get_rank()

    comm = MPI.COMM_WORLD
    out = {"id": comm.Get_rank()}
    with MPICommExecutor(comm, root=1) as executor:
        out["executor"] = executor is not None
        if executor is not None:
            got = list(executor.map(where, range(12)))
            out["values"] = [g[0] for g in got]
            out["ranks"] = sorted({g[1] for g in got})
    out["after"] = comm.allreduce(1)  # the communicator still works for everyone
    print("RESULT " + json.dumps(out), flush=True)
''')


def test_mpicommexecutor_root_gets_the_executor_others_serve():
    job = run_job(3, ["-c", COMM_EXECUTOR_PROGRAM], timeout=120, launcher_args=MPI4PY)
    assert job.returncode == 0, job
    for rank in range(3):
        r = job.results[rank]
        assert r["executor"] == (rank == 1)
        assert r["after"] == 3
    assert job.results[1]["values"] == list(range(100, 112))
    assert job.results[1]["ranks"] == [0, 2]


SPAWN_POOL_PROGRAM = textwrap.dedent('''
    import json, os
    from mpi4py import MPI
    from mpi4py.futures import MPIPoolExecutor, get_comm_workers

    def where(x):
        return x * x, os.getpid(), get_comm_workers().Get_size()

    if __name__ == "__main__":
        with MPIPoolExecutor(max_workers=2) as executor:
            results = list(executor.map(where, range(30)))
            workers = executor.num_workers
        print("RESULT " + json.dumps({
            "id": MPI.COMM_WORLD.Get_rank(), "values": [r[0] for r in results],
            "pids": sorted({r[1] for r in results}), "comm_workers": results[0][2],
            "num_workers": workers, "after": executor.num_workers,
            "me": os.getpid()}))
''')


def test_mpipoolexecutor_spawns_its_workers(tmp_path):
    # Outside `-m mpi4py.futures` every executor spawns its own workers (MPI_Comm_spawn),
    # and they are gone once it has shut down.
    program = tmp_path / "pool.py"
    program.write_text(SPAWN_POOL_PROGRAM)
    job = run_job(2, [str(program)], timeout=120, launcher_args=MPI4PY)
    assert job.returncode == 0, job
    for rank in range(2):
        r = job.results[rank]
        assert r["values"] == [x * x for x in range(30)]
        assert r["num_workers"] == 2 and r["comm_workers"] == 2 and r["after"] == 0
        assert r["me"] not in r["pids"] and 1 <= len(r["pids"]) <= 2
        assert not any(pid_alive(p) for p in r["pids"]), "a worker outlived its executor"


PKL5_PROGRAM = textwrap.dedent('''
    import json
    import numpy as np
    from mpi4py import MPI
    from mpi4py.util import pkl5

    comm = pkl5.Intracomm(MPI.COMM_WORLD)
    rank, size = comm.Get_rank(), comm.Get_size()
    n = (72 << 20) // 8  # 72 MiB of float64: above 64 MiB
    big = np.arange(n, dtype=np.float64) + rank
    status = MPI.Status()
    got = comm.sendrecv({"rank": rank, "data": big}, (rank + 1) % size, 5,
                        None, (rank - 1) % size, 5, status)
    left = (rank - 1) % size
    req = comm.issend(big, (rank + 1) % size, 6)
    msg = comm.mprobe((rank - 1) % size, 6)
    second = msg.recv()
    req.wait()
    root = comm.bcast(big if rank == 0 else None, root=0)
    out = {"id": rank, "from": got["rank"], "ok": bool(np.array_equal(got["data"],
           np.arange(n, dtype=np.float64) + left)),
           "mprobe": bool(second[-1] == n - 1 + left), "bcast": bool(root[-1] == n - 1),
           "nbytes": int(got["data"].nbytes), "status_bytes": status.Get_count() > n * 8}
    print("RESULT " + json.dumps(out), flush=True)
''')


def test_pkl5_moves_an_object_above_64_mib():
    job = run_job(2, ["-c", PKL5_PROGRAM], timeout=180, launcher_args=MPI4PY)
    assert job.returncode == 0, job
    for rank in range(2):
        r = job.results[rank]
        assert r["from"] == 1 - rank and r["ok"] and r["mprobe"] and r["bcast"], r
        assert r["nbytes"] == 72 << 20 and r["status_bytes"]


def test_python_m_mpi4py_runs_code_with_rc_options():
    code = ("import json, mpi4py\nfrom mpi4py import MPI\n"
            "print('RESULT ' + json.dumps({'id': MPI.COMM_WORLD.rank, "
            "'sum': MPI.COMM_WORLD.allreduce(1), 'rc': mpi4py.rc.thread_level}))")
    job = run_job(2, ["-m", "mpi4py", "-rc", "thread_level='serialized'", "-c", code],
                  timeout=90, launcher_args=MPI4PY)
    assert job.returncode == 0, job
    assert [job.results[r]["sum"] for r in range(2)] == [2, 2]
    assert job.results[0]["rc"] == "serialized"
    version = run_job(1, ["-m", "mpi4py", "--version"], timeout=60, launcher_args=MPI4PY)
    assert version.returncode == 0 and version.stdout.strip() == "4.1.2", version
    usage = run_job(1, ["-m", "mpi4py", "--bogus"], timeout=60, launcher_args=MPI4PY)
    assert usage.returncode != 0 and "Unknown option: --bogus" in usage.stderr, usage


def test_python_m_mpi4py_error_aborts_every_rank():
    code = ("from mpi4py import MPI\nimport time\n"
            "if MPI.COMM_WORLD.rank == 1:\n    raise ValueError('boom')\n"
            "time.sleep(60)\n")
    job = run_job(3, ["-m", "mpi4py", "-c", code], timeout=60, launcher_args=MPI4PY)
    assert job.returncode != 0 and "boom" in job.stderr, job


def test_bench_helloworld_ringtest_pingpong():
    job = run_job(2, ["-m", "mpi4py.bench", "helloworld"], timeout=60, launcher_args=MPI4PY)
    assert job.returncode == 0, job
    lines = job.stdout.splitlines()
    assert lines[0].startswith("Hello, World! I am process 0 of 2 on ")
    assert lines[1].startswith("Hello, World! I am process 1 of 2 on ")
    ring = run_job(3, ["-m", "mpi4py.bench", "ringtest", "-l", "20", "-n", "4096"],
                   timeout=60, launcher_args=MPI4PY)
    assert ring.returncode == 0 and "(3 processes, 4096 bytes)" in ring.stdout, ring
    ping = run_job(2, ["-m", "mpi4py.bench", "pingpong", "-n", "1024", "-l", "20", "-s", "2"],
                   timeout=60, launcher_args=MPI4PY)
    assert ping.returncode == 0, ping
    rows = [line for line in ping.stdout.splitlines() if not line.startswith("#")]
    assert [int(row.split()[0]) for row in rows] == [1 << k for k in range(11)]


def test_typing_names_and_sync_import():
    code = ("import json, mpi4py.typing as t\n"
            "try:\n    import mpi4py.util.sync\n    sync = 'imported'\n"
            "except ImportError as e:\n    sync = str(e)\n"
            "print('RESULT ' + json.dumps({'id': 0, 'names': sorted(t.__all__), "
            "'sync': sync}))")
    job = run_job(1, ["-c", code], timeout=60, launcher_args=MPI4PY)
    assert job.returncode == 0, job
    names = job.results[0]["names"]
    assert {"Buffer", "BufSpec", "BufSpecB", "BufSpecV", "BufSpecW", "TargetSpec", "Aint",
            "Count", "Displ", "Offset", "TypeSpec", "InPlace", "Bottom"} <= set(names)
    assert job.results[0]["sync"] == "imported"  # over MPI.Win, see tests/test_rma.py

