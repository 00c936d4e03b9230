"""pytest configuration for the parity suite.

``mpi_tests/`` holds communicator tests in the pytest-mpi style: they only make sense inside
a job (``mpiexec -n 2 python -m pytest --with-mpi ...`` or the same under ``hpxrun``), which
``test_pytest_mpi.py`` starts. A plain ``pytest tests`` run does not collect them itself.
"""

from pathlib import Path

MPI_TESTS = Path(__file__).parent / "mpi_tests"


def pytest_ignore_collect(collection_path, config):
    if Path(collection_path) == MPI_TESTS and not _with_mpi(config):
        return True
    return None


def _with_mpi(config) -> bool:
    try:
        return bool(config.getoption("--with-mpi"))
    except ValueError:  # pytest-mpi is not installed
        return False
