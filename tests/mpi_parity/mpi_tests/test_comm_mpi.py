"""Communicator tests in the pytest-mpi style, run inside a 2-rank job:

    mpiexec -n 2 python -m pytest --with-mpi tests/mpi_parity/mpi_tests
    hpxrun -n 2 --mpi4py python -m pytest --with-mpi tests/mpi_parity/mpi_tests

Every rank runs every test; pytest-mpi's plugin imports ``mpi4py`` itself (the real one under
mpiexec, hpxpy's stand-in under ``hpxrun --mpi4py``). Tests must not skip on some ranks only,
or the ranks would wait for each other in different collectives.
"""

import json

import numpy as np
import pytest
from mpi4py import MPI


@pytest.mark.mpi(min_size=2)
def test_ranks_agree_on_the_size():
    comm = MPI.COMM_WORLD
    assert comm.allgather(comm.Get_size()) == [comm.Get_size()] * comm.Get_size()
    assert comm.allgather(comm.Get_rank()) == list(range(comm.Get_size()))


@pytest.mark.mpi(min_size=2)
def test_allreduce_and_bcast():
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    total = np.zeros(3)
    comm.Allreduce(np.full(3, rank + 1.0), total, op=MPI.SUM)
    assert total.tolist() == [size * (size + 1) / 2] * 3
    assert comm.bcast({"from": size - 1} if rank == size - 1 else None, root=size - 1) == {
        "from": size - 1}


@pytest.mark.mpi(min_size=2)
def test_point_to_point_ring():
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    got = comm.sendrecv(rank, dest=(rank + 1) % size, source=(rank - 1) % size)
    assert got == (rank - 1) % size


@pytest.mark.mpi(min_size=2)
def test_split_and_dup():
    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    sub = comm.Split(color=rank % 2, key=rank)
    dup = sub.Dup()
    try:
        assert dup.allreduce(1) == sub.Get_size()
        assert MPI.Comm.Compare(sub, dup) == MPI.CONGRUENT
    finally:
        dup.Free()
        sub.Free()


@pytest.mark.mpi(min_size=2)
def test_mpi_tmp_path_is_shared(mpi_tmp_path):
    """pytest-mpi's fixture: every rank gets rank 0's directory and can see the others' files."""
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    assert comm.allgather(str(mpi_tmp_path)) == [str(mpi_tmp_path)] * size
    (mpi_tmp_path / f"rank{rank}.json").write_text(json.dumps({"rank": rank}))
    comm.Barrier()
    seen = sorted(json.loads(p.read_text())["rank"] for p in mpi_tmp_path.glob("rank*.json"))
    assert seen == list(range(size))
    comm.Barrier()   # nobody leaves (and pytest cleans up) while another rank still reads


@pytest.mark.mpi(min_size=64)
def test_skipped_below_min_size():
    pytest.fail("pytest-mpi runs this only with 64 ranks or more")
