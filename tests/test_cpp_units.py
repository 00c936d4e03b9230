"""The C++ unit tests (tests/cpp/): engine, parcel handler and collectives over an
in-process loopback parcelport. Built here with cmake into a temporary directory, with
warnings as errors, and run one test per pytest case. Never skipped: cmake and a C++
compiler are part of what building hpxpy needs anyway."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

# Nothing here depends on the transport CI's pass picks.
pytestmark = pytest.mark.one_pass

CPP_DIR = Path(__file__).parent / "cpp"
BUILD_TIMEOUT = 480
RUN_TIMEOUT = 150  # the binary also ends itself after 120 s (alarm)


def _test_names() -> list:
    source = (CPP_DIR / "test_units.cpp").read_text()
    return re.findall(r'\{"(\w+)", test_\w+\}', source)


def _run(cmd: list, timeout: float) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{' '.join(map(str, cmd))} took more than {timeout} s:\n{exc.stdout}")


@pytest.fixture(scope="module")
def unit_binary(tmp_path_factory) -> Path:
    cmake = shutil.which("cmake")
    assert cmake, "cmake is needed to build the C++ unit tests"
    build = tmp_path_factory.mktemp("cpp-units")
    configure = [cmake, "-S", str(CPP_DIR), "-B", str(build), "-DHPXPY_WERROR=ON",
                 "-DCMAKE_BUILD_TYPE=RelWithDebInfo"]
    if shutil.which("ninja"):
        configure += ["-G", "Ninja"]
    out = _run(configure, BUILD_TIMEOUT)
    assert out.returncode == 0, f"cmake configure failed:\n{out.stdout}\n{out.stderr}"
    jobs = str(max(1, min(2, os.cpu_count() or 1)))
    out = _run([cmake, "--build", str(build), "--parallel", jobs], BUILD_TIMEOUT)
    assert out.returncode == 0, f"build failed:\n{out.stdout[-6000:]}\n{out.stderr[-3000:]}"
    binary = build / "hpxpy_cpp_tests"
    assert binary.exists()
    return binary


def test_every_unit_test_is_collected():
    names = _test_names()
    assert len(names) >= 10 and len(set(names)) == len(names)


@pytest.mark.timeout(BUILD_TIMEOUT + RUN_TIMEOUT + 60)
@pytest.mark.parametrize("name", _test_names())
def test_cpp_unit(unit_binary, name):
    out = _run([str(unit_binary), name], RUN_TIMEOUT)
    assert out.returncode == 0, f"{out.stdout}\n{out.stderr}"
    assert f"PASS {name}" in out.stdout, out.stdout


def test_shm_ring(unit_binary):
    # src/parcelport/shm: order, contents, wrap-around and gathered parts between threads
    # and between processes, size limits, a full ring; built beside the unit tests.
    out = _run([str(unit_binary.parent / "hpxpy_shm_ring_test")], RUN_TIMEOUT)
    assert out.returncode == 0, f"{out.stdout}\n{out.stderr}"
    assert "all checks passed" in out.stdout, out.stdout
