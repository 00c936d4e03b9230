"""mpi4py's own tests on hpxpy.

    python -m tests.mpi4py_suite                  # the issue's modules at 1, 2 and 3 localities
    python -m tests.mpi4py_suite -n 2,3 test_p2p_obj test_op

The test modules ship in mpi4py's source distribution; the archive is fetched as a file
from the package index pip is configured with (nothing is built), checked against its
sha256, and unpacked into a cache directory the first time (``HPXPY_MPI4PY_TESTS``
overrides it); never committed here. Each module runs unchanged as ``hpxrun -n N --mpi4py python
test_x.py``; the table shows what unittest reported on locality 0.
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

VERSION = "4.1.2"
MODULES = [
    "test_cco_obj", "test_cco_buf", "test_cco_vec", "test_cco_nb_buf", "test_p2p_obj",
    "test_p2p_buf", "test_comm", "test_op", "test_request", "test_status", "test_group",
    "test_msgspec", "test_exceptions", "test_comm_topo", "test_cco_ngh_buf", "test_cco_ngh_obj",
    "test_io", "test_file", "test_cco_pr_buf", "test_cco_pr_vec", "test_cco_pr_ngh_buf",
    "test_p2p_buf_matched", "test_p2p_obj_matched", "test_msgzero", "test_address",
    "test_mpimem", "test_threads", "test_comm_inter", "test_cco_obj_inter", "test_cco_nb_vec",
    "test_cco_buf_inter", "test_cco_vec_inter", "test_util_pkl5", "test_p2p_buf_part",
    # ULFM as MPICH has it: Revoke raises NotImplementedError (the tests skip it, there too).
    "test_ulfm",
    # Run as `python -m mpi4py.futures test_x.py` (the "futures:" prefix): rank 0 runs the
    # tests, ranks 1..N-1 are the workers of every MPIPoolExecutor (the shared pool).
    # test_futures is demo/futures/test_futures.py of the source archive.
    "futures:test_futures", "futures:test_util_pool",
    # Dynamic processes: Spawn/Get_parent/Disconnect; test_futures and test_util_pool as
    # plain programs (their MPIPoolExecutors spawn their workers); ports (Open_port/Accept/
    # Connect, names, Join; test_dynproc skips itself at one process, as under MPICH).
    "test_spawn", "test_futures", "test_dynproc", "test_util_pool",
    # One-sided communication (MPI.Win) and mpi4py.util.sync, over it.
    "test_win", "test_rma", "test_rma_nb", "test_util_sync",
    # Handles, subclassing, attributes, error handlers and codes, info, environment,
    # sessions, generalized requests, the package's top level.
    "test_handle", "test_subclass", "test_attributes", "test_errhandler", "test_errorcode",
    "test_info", "test_environ", "test_session", "test_grequest", "test_toplevel",
    # Datatypes (envelope/contents/decode, pickling), mpi4py.util.dtlib, Pack/Unpack and
    # external32, MPI.buffer, MPI.pickle. test_pickle skips its dill and yaml tests when
    # those packages are absent, as under MPICH.
    "test_datatype", "test_util_dtlib", "test_pack", "test_buffer", "test_pickle",
    # The object model (equality, no hash, constructors, pickling, MPI.BOTTOM ..., and
    # testCAPI: MPI.__pyx_capi__'s PyMPI<Class>_New/_Get C functions).
    "test_objmodel",
    # Docstrings: every callable's starts with its signature line (hpxpy/comm/_docs.py).
    "test_doc",
    # The MPI 5 ABI queries: no ABI, (-1, -1); the sizes of AINT/COUNT/OFFSET; no Fortran.
    "test_mpiabi",
]
# Modules that send no message (datatypes, packing, buffers, docstrings, the ABI queries):
# the number of localities and the transport change nothing in them, so CI asserts them
# at 1 and 2 localities in the shared-memory pass only (tests/test_mpi4py_suite.py).
LOCAL_ONLY = {"test_util_dtlib", "test_datatype", "test_pack", "test_buffer", "test_doc",
              "test_mpiabi", "test_toplevel"}
# Modules whose processes meet over TCP under either transport (spawned processes join
# their parents over TCP): CI's TCP pass leaves them to the shared-memory one.
ONE_TRANSPORT = {"test_spawn", "futures:test_futures", "futures:test_util_pool",
                 "test_futures", "test_util_pool", *LOCAL_ONLY}
# Modules also asserted at 4 localities, more processes than this machine's cores: MPI-IO
# (the shared file pointer and collective views) and the one-sided modules (the RMA service
# threads must sleep, not spin).
FOUR = ["test_io", "test_file", "test_win", "test_rma", "test_rma_nb", "test_util_sync"]
# Modules that must run every test: a skip there is a missing feature, so it fails.
NO_SKIPS = {"test_comm", "test_comm_topo", "test_cco_ngh_buf", "test_cco_ngh_obj",
            "futures:test_futures",
            "test_io", "test_file", "test_cco_pr_buf", "test_cco_pr_vec", "test_cco_pr_ngh_buf",
            "test_p2p_buf_matched", "test_p2p_obj_matched", "test_msgzero", "test_address",
            "test_mpimem", "test_threads", "test_cco_nb_vec", "test_p2p_buf_part",
            "test_win", "test_rma", "test_rma_nb", "test_util_sync",
            "test_handle", "test_subclass", "test_attributes", "test_errhandler",
            "test_errorcode", "test_info", "test_environ", "test_session", "test_grequest",
            "test_toplevel",
            "test_datatype", "test_util_dtlib", "test_pack", "test_buffer",
            "test_spawn", "test_futures", "test_doc", "test_objmodel", "test_mpiabi"}
# Seconds a module may take (default 120): test_rma's thousands of fence epochs take minutes
# on a loaded 2-core machine at 4 processes (mpiexec with MPICH took 193 s there).
TIMEOUTS = {"test_rma": 600, "test_rma_nb": 300, "test_util_sync": 300, "test_io": 240,
            "test_file": 240,
            "test_datatype": 300, "test_util_dtlib": 600,
            # Each spawn starts Python processes (~1 s each on a loaded 2-core machine):
            # test_spawn starts 60-200, test_futures at one process ~100 (218 s there).
            "test_spawn": 600, "test_futures": 600}
# Test modules that live elsewhere in the source archive than test/.
LOCATIONS = {"test_futures": "demo/futures"}


SDIST = f"mpi4py-{VERSION}.tar.gz"
SDIST_SHA256 = "56860286dc45f20e8821e93cb06669e30462348bf866f685553fa4b712d58d02"
FETCH_TIMEOUT = 120  # seconds, per index


def _index_urls() -> List[str]:
    """The package indexes pip uses here: its configuration and PIP_*INDEX_URL, else its
    default index."""
    urls: List[str] = []
    for var in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        urls += os.environ.get(var, "").split()
    try:
        listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"],
                                capture_output=True, text=True, timeout=60).stdout
    except (subprocess.SubprocessError, OSError):
        listed = ""
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        if key.endswith((".index-url", ".extra-index-url")):
            urls += value.strip("'\"").split()
    try:
        from pip._internal.models.index import PyPI  # pip's default index, by pip's name
        urls.append(PyPI.simple_url)
    except ImportError:
        pass
    return list(dict.fromkeys(urls))


def _sdist_links(index: str) -> List[str]:
    """Links to mpi4py's source archive on one simple index (PEP 691 JSON or PEP 503)."""
    page = index.rstrip("/") + "/mpi4py/"
    request = urllib.request.Request(page, headers={
        "Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"})
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:
        body = response.read().decode("utf-8", "replace")
        kind = response.headers.get("Content-Type", "")
    if "json" in kind:
        files = json.loads(body).get("files", [])
        return [urllib.parse.urljoin(page, f["url"]) for f in files
                if f.get("filename") == SDIST]
    return [urllib.parse.urljoin(page, html.unescape(href))
            for href in re.findall(r'href="([^"]+)"', body)
            if urllib.parse.urlsplit(html.unescape(href)).path.endswith("/" + SDIST)]


def _download_sdist(target: Path) -> None:
    """Fetch the source archive as a file (nothing is built) and check its hash."""
    problems = []
    for index in _index_urls():
        try:
            for link in _sdist_links(index):
                with urllib.request.urlopen(link, timeout=FETCH_TIMEOUT) as response:
                    data = response.read()
                if hashlib.sha256(data).hexdigest() != SDIST_SHA256:
                    problems.append(f"{link}: sha256 mismatch")
                    continue
                target.write_bytes(data)
                return
            problems.append(f"{index}: no {SDIST}")
        except (OSError, ValueError) as exc:  # URLError is an OSError
            problems.append(f"{index}: {exc}")
    raise OSError(f"could not fetch {SDIST}: " + "; ".join(problems))


def fetch_mpi4py_tests() -> Path:
    """The directory holding mpi4py's test modules, fetched on first use and cached
    (``HPXPY_MPI4PY_TESTS`` names the cache folder)."""
    root = Path(os.environ.get("HPXPY_MPI4PY_TESTS",
                               Path.home() / ".cache" / "hpxpy" / f"mpi4py-{VERSION}"))
    tests = root / "test"
    extra = [root / where / f"{name}.py" for name, where in LOCATIONS.items()]
    if (tests / "mpiunittest.py").exists() and all(p.exists() for p in extra):
        _compile(root)
        return tests
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        sdist = Path(tmp) / SDIST
        _download_sdist(sdist)
        prefix = f"mpi4py-{VERSION}/test/"
        unpacked = Path(tmp) / "test"
        with tarfile.open(sdist) as tar:
            members = [m for m in tar.getmembers()
                       if m.name.startswith(prefix) and m.isfile() and "/" not in
                       m.name[len(prefix):]]
            for m in members:
                m.name = m.name[len(prefix):]
                tar.extract(m, unpacked)
            for name, where in LOCATIONS.items():
                member = tar.getmember(f"mpi4py-{VERSION}/{where}/{name}.py")
                member.name = f"{where}/{name}.py"
                tar.extract(member, tmp)
        if not (unpacked / "mpiunittest.py").exists():
            raise OSError(f"{SDIST} holds no test/mpiunittest.py")
        for name, where in LOCATIONS.items():
            (root / where).mkdir(parents=True, exist_ok=True)
            (Path(tmp) / where / f"{name}.py").replace(root / where / f"{name}.py")
        if tests.exists():  # an older cache without the extra modules
            shutil.rmtree(tests)
        unpacked.replace(tests)  # whole or not at all: a cut-off fetch leaves no cache
    _compile(root)
    return tests


def _compile(root: Path) -> None:
    """Byte-compile the cached modules (only those changed since): with
    PYTHONDONTWRITEBYTECODE set, every locality of every run would compile them again."""
    compileall.compile_dir(str(root), quiet=2)


_RAN = re.compile(r"^\[0\] Ran (\d+) tests?")
_RESULT = re.compile(r"^\[0\] (OK|FAILED)(?: \((.*)\))?")


def run_module(module: str, n: int, timeout: Optional[float] = None) -> Dict[str, object]:
    """Run one module at n localities; counts from locality 0's unittest summary. A
    ``futures:`` module runs as ``python -m mpi4py.futures module.py``."""
    if timeout is None:
        timeout = TIMEOUTS.get(module, 120)
    name = module.split(":", 1)[-1]
    runner = ["-m", "mpi4py.futures"] if module.startswith("futures:") else []
    cmd = [sys.executable, "-m", "hpxpy.launcher", "-n", str(n), "--mpi4py", "--tag-output",
           "--timeout", str(int(timeout)), sys.executable, *runner, f"{name}.py"]
    tests = fetch_mpi4py_tests()
    where = tests.parent / LOCATIONS[name] if name in LOCATIONS else tests
    try:
        out = subprocess.run(cmd, cwd=where, capture_output=True, text=True,
                             timeout=timeout + 30)
        text, status = out.stdout + out.stderr, out.returncode
    except subprocess.TimeoutExpired as exc:
        text, status = str(exc.stdout or "") + str(exc.stderr or ""), 124
    counts: Dict[str, object] = {"ran": 0, "failures": 0, "errors": 0, "skipped": 0,
                                 "status": status, "ok": False, "output": text}
    for line in text.splitlines():
        m = _RAN.match(line)
        if m:
            counts["ran"] = int(m.group(1))
        m = _RESULT.match(line)
        if m:
            counts["ok"] = m.group(1) == "OK" and status == 0
            for part in (m.group(2) or "").split(","):
                if "=" in part:
                    key, value = part.strip().split("=")
                    counts[key] = int(value)
    return counts


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="mpi4py's own tests on hpxpy")
    parser.add_argument("-n", "--localities", default="1,2,3",
                        help="comma-separated job sizes (default 1,2,3)")
    parser.add_argument("-v", "--verbose", action="store_true", help="show failing output")
    parser.add_argument("modules", nargs="*", default=MODULES)
    args = parser.parse_args(argv)
    print(f"{'module':24s} {'N':>2s} {'ran':>5s} {'fail':>5s} {'error':>5s} {'skip':>5s}  result")
    all_ok = True
    for module in args.modules:
        for n in [int(x) for x in args.localities.split(",")]:
            c = run_module(module, n)
            all_ok &= bool(c["ok"])
            verdict = "ok" if c["ok"] else f"FAILED (status {c['status']})"
            print(f"{module:24s} {n:2d} {c['ran']:5d} {c['failures']:5d} {c['errors']:5d} "
                  f"{c['skipped']:5d}  {verdict}", flush=True)
            if args.verbose and not c["ok"]:
                print(str(c["output"])[-4000:])
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
