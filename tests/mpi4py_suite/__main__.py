"""mpi4py's own tests on hpxpy.

    python -m tests.mpi4py_suite                  # the issue's modules at 1, 2 and 3 localities
    python -m tests.mpi4py_suite -n 2,3 test_p2p_obj test_op

The test modules ship in mpi4py's source distribution on PyPI; they are fetched (with
`pip download`) into a cache directory the first time (``HPXPY_MPI4PY_TESTS`` overrides
it), never committed here. Each module runs unchanged as ``hpxrun -n N --mpi4py python
test_x.py``; the table shows what unittest reported on locality 0.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

VERSION = "4.1.2"
MODULES = [
    "test_cco_obj", "test_cco_buf", "test_cco_vec", "test_cco_nb_buf", "test_p2p_obj",
    "test_p2p_buf", "test_comm", "test_op", "test_request", "test_status", "test_group",
    "test_msgspec", "test_exceptions",
]


def fetch_mpi4py_tests() -> Path:
    """The directory holding mpi4py's test modules, fetched on first use."""
    root = Path(os.environ.get("HPXPY_MPI4PY_TESTS",
                               Path.home() / ".cache" / "hpxpy" / f"mpi4py-{VERSION}"))
    tests = root / "test"
    if (tests / "mpiunittest.py").exists():
        return tests
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", f"mpi4py=={VERSION}",
                        "--no-binary", ":all:", "--no-deps", "--quiet", "-d", tmp],
                       check=True, timeout=300)
        sdist = next(Path(tmp).glob("mpi4py-*.tar.gz"))
        prefix = f"mpi4py-{VERSION}/test/"
        with tarfile.open(sdist) as tar:
            members = [m for m in tar.getmembers()
                       if m.name.startswith(prefix) and m.isfile() and "/" not in
                       m.name[len(prefix):]]
            for m in members:
                m.name = m.name[len(prefix):]
                tar.extract(m, tests)
    return tests


_RAN = re.compile(r"^\[0\] Ran (\d+) tests?")
_RESULT = re.compile(r"^\[0\] (OK|FAILED)(?: \((.*)\))?")


def run_module(module: str, n: int, timeout: float = 120) -> Dict[str, object]:
    """Run one module at n localities; counts from locality 0's unittest summary."""
    cmd = [sys.executable, "-m", "hpxpy.launcher", "-n", str(n), "--mpi4py", "--tag-output",
           "--timeout", str(int(timeout)), sys.executable, f"{module}.py"]
    try:
        out = subprocess.run(cmd, cwd=fetch_mpi4py_tests(), capture_output=True, text=True,
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
    print(f"{'module':18s} {'N':>2s} {'ran':>5s} {'fail':>5s} {'error':>5s} {'skip':>5s}  result")
    all_ok = True
    for module in args.modules:
        for n in [int(x) for x in args.localities.split(",")]:
            c = run_module(module, n)
            all_ok &= bool(c["ok"])
            verdict = "ok" if c["ok"] else f"FAILED (status {c['status']})"
            print(f"{module:18s} {n:2d} {c['ran']:5d} {c['failures']:5d} {c['errors']:5d} "
                  f"{c['skipped']:5d}  {verdict}", flush=True)
            if args.verbose and not c["ok"]:
                print(str(c["output"])[-4000:])
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
