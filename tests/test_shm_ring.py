"""The shared-memory ring and segment (src/parcelport/shm), compiled and run as a C++ unit
test: order, contents and wrap-around between threads and between processes, size limits,
a full ring. Needs a C++17 compiler (the package build needs one too)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(300)
def test_shm_ring_unit(tmp_path: Path) -> None:
    cxx = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
    assert cxx, "no C++ compiler found (set CXX)"
    exe = tmp_path / "shm_ring_test"
    subprocess.run([cxx, "-std=c++17", "-O2", "-Wall", "-Wextra", "-Werror", "-pthread",
                    f"-I{ROOT / 'src'}", str(ROOT / "tests/cpp/shm_ring_test.cpp"),
                    str(ROOT / "src/parcelport/shm/segment.cpp"), "-o", str(exe)],
                   check=True, timeout=240)
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "all checks passed" in run.stdout
