"""hpxpy.comm against mpi4py's semantics, as real jobs of 1, 2, 3 and 4 localities."""

from __future__ import annotations

import pytest
from conftest import PROGRAMS, run_job

from hpxpy.comm import _constants as C


def _expected(n: int, rank: int) -> dict:
    left = (rank - 1) % n
    root = n - 1
    counts = [i + 1 for i in range(n)]
    displs = [sum(counts[:i]) for i in range(n)]
    allgatherv = [float(i) for i in range(n) for _ in range(i + 1)]
    return {
        "ordered": [0, 1, 2, 3, 4],
        "any": [left * 10, left, 42],
        "zero": [0, left],
        "sendrecv": [left] * 3,
        "irecv": [[left, i] for i in range(3)],
        "ssend": "sync",
        "probe": [left, 9],
        "probed": [0.0 * left, 1.0 * left, 2.0 * left, 3.0 * left],
        "bcast": [{"root": r} for r in range(n)],
        "gather": [[i * i for i in range(n)] if rank == r else None for r in range(n)],
        "scatter": [r * 100 + rank for r in range(n)],
        "allgather": [[i] for i in range(n)],
        "alltoall": [i * 10 + rank for i in range(n)],
        "reduce": [_prod(n) if rank == r else None for r in range(n)],
        "allreduce": [n * (n - 1) // 2, n - 1, 0],
        "maxloc": [1, 1] if n > 1 else [0, 0],
        "scan": [(rank + 1) * (rank + 2) // 2, None if rank == 0 else rank * (rank + 1) // 2],
        "buffers": {
            "allreduce": [n * (n + 1) / 2] * 3,
            "inplace": [n - 1] * 2,
            "reduce": [n * (n + 1) / 2] * 3 if rank == root else None,
            "bcast": [0.0, 1.0, 2.0, 3.0],
            "gather": [v for i in range(n) for v in (i, -i)] if rank == root else None,
            "allgatherv": allgatherv,
            "scatterv": [float(displs[rank] + k) for k in range(rank + 1)],
            "alltoall": [i * 10 + rank for i in range(n)],
            "scan": [(rank + 1) * (rank + 2) / 2],
            "land": [1],
        },
        "derived": {"column": [3.0 * i * (left + 1) for i in range(4)],
                    "untouched": [-1.0] * 4,
                    "indexed": [0, -1, 2, -1, 4, -1] if rank != root else list(range(6))},
        "alltoallw": [i * 10 + rank for i in range(n)],
        "persistent": [[[left, 0], [left, 1]], True],
        "nonblocking": [left, float(n * (n - 1) // 2)],
        "more": _more(n, rank),
        "split": ([1, 0, 0, 0] if rank == 0 else
                  [n - 1, n - 1 - rank, sum(range(1, n)), n - 1]),
        "dup": n,
        "compare": [C.IDENT, C.CONGRUENT],
        "freed": [True, False],
        "undefined": rank == 0,
        "after": n,
    }


def _more(n: int, rank: int) -> dict:
    left, root, root1 = (rank - 1) % n, n - 1, 1 % n
    return {
        "sendrecv": [left, left, C.SUCCESS],
        "probe": [2, True, [left, 7]],
        "mprobe": "m",
        "improbe": "i",
        "replace": [left, [left, left]],
        "requests": [True, [C.UNDEFINED, True], True],
        "test": [True, True, left],
        "buffers": {
            "gatherv": [i for i in range(n) for _ in range(i + 1)] if rank == root else None,
            "scatter": [2.0 * rank, 2.0 * rank + 1],
            "allgather": [3 * i for i in range(n)],
            "alltoallv": [i * 10 + rank for i in range(n)],
            "reduce_scatter_block": [n * rank],
            "reduce_scatter": [n, n],
            "exscan": [rank * (rank + 1) // 2] if rank else None,
            "ibcast": [root1],
            "igather": list(range(n)) if rank == root1 else None,
            "iscatter": [2 * rank],
            "iallgather": list(range(n)),
            "ialltoall": [i * 10 + rank for i in range(n)],
            "ireduce": [float(n)] if rank == root1 else None,
            "iallreduce": [float(_prod(n))],
        },
        "comms": ["clone", n, n, len(range(0, n, 2)) if rank % 2 == 0 else None],
    }


def _prod(n: int) -> int:
    p = 1
    for i in range(1, n + 1):
        p *= i
    return p


@pytest.fixture(scope="module", params=[(1, False), (2, False), (3, False), (4, False),
                                        (3, True)])
def comm_job(request):
    n, as_mpi4py = request.param
    args = ["--mpi4py"] if as_mpi4py else []
    env = {"USE_MPI4PY_NAME": "1"} if as_mpi4py else {}
    job = run_job(n, [str(PROGRAMS / "comm_coverage.py")], launcher_args=args, env=env,
                  timeout=90)
    assert job.returncode == 0, job
    assert sorted(job.results) == list(range(n)), job
    return n, job.results


def test_results_match_mpi4py_semantics(comm_job):
    n, results = comm_job
    assert len({r["pid"] for r in results.values()}) == n
    for rank, r in results.items():
        assert r["module"] == "hpxpy.comm.MPI"
        want = _expected(n, rank)
        for key, value in want.items():
            assert r[key] == value, (key, rank, r[key], value)


def test_errors(comm_job):
    n, results = comm_job
    for r in results.values():
        e = r["errors"]
        assert e["rank"] == ["MPI.Exception", C.ERR_RANK]
        assert e["tag"] == ["MPI.Exception", C.ERR_TAG]
        assert e["root"] == ["MPI.Exception", C.ERR_ROOT]
        assert e["count"] == ["ValueError", "mismatch in send count 3 and receive count 4"]
        # A wrong count at the root raises on every rank (mpi4py would hang the others).
        assert e["scatter"] == ["ValueError", f"expecting {n} items, got {n + 1}"]


@pytest.mark.parametrize("n", [1, 3])
def test_abort_ends_the_job_with_its_status(n):
    code = ("from hpxpy.comm import MPI; import time\n"
            "c = MPI.COMM_WORLD\n"
            "if c.rank == c.size - 1:\n"
            "    c.Abort(7)\n"
            "c.barrier()\n"
            "print('RESULT {\"id\": %d}' % c.rank)\n")
    job = run_job(n, ["-c", code], timeout=60)
    assert job.returncode == 7, job
    assert job.results == {}  # nobody got past the barrier


def test_uncaught_exception_ends_the_job_with_status_1():
    code = ("from hpxpy.comm import MPI\n"
            "c = MPI.COMM_WORLD\n"
            "if c.rank == 1:\n"
            "    raise RuntimeError('boom')\n"
            "c.barrier()\n")
    job = run_job(3, ["-c", code], timeout=60)
    assert job.returncode == 1, job
    assert "boom" in job.stderr


def test_rooted_pickling_error_raises_pickles_exception_on_every_rank():
    # Only the root pickles in bcast and scatter; mpi4py raises pickle's exception there and
    # leaves the others waiting. hpxpy raises the same exception type on every rank (the
    # root its own, with its traceback), and the communicator works afterwards.
    code = (
        "import json, pickle, threading\n"
        "from hpxpy.comm import MPI\n"
        "c = MPI.COMM_WORLD\n"
        "def local():\n"
        "    return lambda x: x\n"
        "out = {}\n"
        "for name, obj in [('lambda', lambda x: x), ('local', local()),\n"
        "                  ('lock', threading.Lock())]:\n"
        "    for call in ('bcast', 'scatter'):\n"
        "        try:\n"
        "            if call == 'bcast':\n"
        "                c.bcast(obj if c.rank == 1 else None, root=1)\n"
        "            else:\n"
        "                c.scatter([obj] * c.size if c.rank == 1 else None, root=1)\n"
        "            out[name + ' ' + call] = 'returned'\n"
        "        except Exception as exc:\n"
        "            out[name + ' ' + call] = type(exc).__name__\n"
        "out['after'] = c.allreduce(1)\n"
        "print('RESULT ' + json.dumps({'id': c.rank, **out}))\n")
    job = run_job(3, ["-c", code], timeout=60)
    assert job.returncode == 0, job
    for rank in range(3):
        r = job.results[rank]
        for call in ("bcast", "scatter"):
            assert r[f"lambda {call}"] == "PicklingError", (rank, r)
            assert r[f"local {call}"] == "AttributeError", (rank, r)
            assert r[f"lock {call}"] == "TypeError", (rank, r)
        assert r["after"] == 3


def test_mpi4py_module_surface_handles_and_typedicts():
    # Names mpi4py programs and libraries reach for (Heat: Op.handle, MPI._typedict):
    # integer handles that turn back into the same object, typecode tables, the version,
    # types the library lacks as null datatypes, and `import mpi4py.rc` under the shim.
    code = (
        "import json\n"
        "import mpi4py.rc\n"
        "import mpi4py\n"
        "from mpi4py import MPI\n"
        "t = MPI.DOUBLE.Create_vector(2, 1, 3).Commit()\n"
        "out = {\n"
        "  'rc': mpi4py.rc is mpi4py.rc and repr(mpi4py.rc),\n"
        "  'version': [MPI.VERSION, MPI.SUBVERSION] == list(MPI.Get_version()),\n"
        "  'op': MPI.Op.fromhandle(MPI.SUM.handle) == MPI.SUM and MPI.SUM.handle != "
        "MPI.MAX.handle,\n"
        "  'predefined': MPI.Datatype.fromhandle(MPI.DOUBLE.handle) is MPI.DOUBLE,\n"
        "  'derived': MPI.Datatype.fromhandle(t.handle) is t\n"
        "             and MPI.Datatype.f2py(t.py2f()) is t,\n"
        "  'null': MPI.Datatype.fromhandle(MPI.DATATYPE_NULL.handle) == MPI.DATATYPE_NULL,\n"
        "  'typedict': [MPI._typedict['d'] is MPI.DOUBLE, MPI._typedict_c['i4'] == "
        "MPI.INT32_T, MPI._typedict_f['i'] == MPI.INTEGER, len(MPI._typedict), "
        "len(MPI._typedict_c), len(MPI._typedict_f)],\n"
        "  'absent': [getattr(MPI, n) == MPI.DATATYPE_NULL for n in ('BFLOAT16_T', "
        "'LOGICAL1', 'REAL2', 'INTEGER16')],\n"
        "}\n"
        "print('RESULT ' + json.dumps({'id': MPI.COMM_WORLD.rank, **out}))\n")
    job = run_job(1, ["-c", code], launcher_args=["--mpi4py"], timeout=60)
    assert job.returncode == 0, job
    r = job.results[0]
    assert r["rc"] == "<mpi4py.rc>"
    assert r["version"] and r["op"] and r["predefined"] and r["derived"] and r["null"]
    assert r["typedict"] == [True, True, True, 57, 33, 17]
    assert r["absent"] == [True] * 4


class _CudaArray:
    """A ``__cuda_array_interface__`` producer of four int32 at ``address``."""

    def __init__(self, address: int, keep: object = None) -> None:
        self._keep = keep
        self.__cuda_array_interface__ = {"version": 3, "data": (address, False),
                                         "typestr": "<i4", "shape": (4,), "strides": None}


class _DLPackOnDevice:
    """A DLPack producer that names CUDA device 0 as the home of a numpy array's memory."""

    def __init__(self, arr: object) -> None:
        self._arr = arr

    def __dlpack_device__(self) -> tuple:
        return (2, 0)  # kDLCUDA

    def __dlpack__(self, stream: object = None, **kwargs: object) -> object:
        return self._arr.__dlpack__(**kwargs)  # type: ignore[attr-defined]


def test_device_buffers_raise_a_clear_error_instead_of_being_read():
    """A buffer in GPU memory (an address the process cannot read, as a device pointer) is
    refused with BufferError naming the device; host memory behind the same interfaces (as
    mpi4py's own tests pass) is communicated; Get_address only takes the address."""
    np = pytest.importorskip("numpy")
    from hpxpy.comm import _buffers, _interop

    unmapped = 0x1000  # the page after NULL: mapped by no process
    with pytest.raises(BufferError, match="__cuda_array_interface__: device.*not GPU-aware"):
        _interop.to_numpy(_CudaArray(unmapped))
    on_device = np.asarray(_interop._Holder(None, {
        "version": 3, "shape": (4,), "typestr": "<i4", "data": (unmapped, False)}))
    with pytest.raises(BufferError, match="dlpack: device CUDA.*not GPU-aware"):
        _interop.to_numpy(_DLPackOnDevice(on_device), writable=True)
    assert _buffers.get_address(_CudaArray(unmapped)) == unmapped

    host = np.arange(4, dtype="i4")
    assert _interop.to_numpy(_CudaArray(host.ctypes.data, host)).tolist() == [0, 1, 2, 3]
    assert _interop.to_numpy(_DLPackOnDevice(host)).tolist() == [0, 1, 2, 3]
