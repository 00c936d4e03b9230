"""Dynamic load balancing: rank 0 deals out tasks, the other ranks work on them.

Shows: receiving from whoever answers first (``source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG``) and
reading the sender and tag back from an ``MPI.Status``. A worker returns each result with the
task number as the message tag; rank 0 replies with another task, or with STOP_TAG when there
is no work left. With a single rank, rank 0 does all the work itself.

Run it with real MPI or on hpxpy::

    mpiexec -n 4 python examples/mpi4py/master_worker.py
    hpxrun -n 4 --mpi4py python examples/mpi4py/master_worker.py

Rank 0 prints the results in task order. Which worker did which task varies from run to run,
so that is not printed.
"""

from mpi4py import MPI

NUM_TASKS = 25
WORK_TAG = 1
STOP_TAG = 2


def collatz_steps(n: int) -> int:
    """The task: how many Collatz steps take n down to 1."""
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


def task_input(task: int) -> int:
    return 27 + 11 * task


def master(comm) -> dict:
    workers = comm.Get_size() - 1
    if workers == 0:
        return {task: collatz_steps(task_input(task)) for task in range(NUM_TASKS)}

    pending = list(range(NUM_TASKS))
    busy = 0
    for worker in range(1, workers + 1):
        if pending:
            comm.send(pending.pop(0), dest=worker, tag=WORK_TAG)
            busy += 1
        else:
            comm.send(None, dest=worker, tag=STOP_TAG)

    results = {}
    status = MPI.Status()
    while busy:
        value = comm.recv(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=status)
        worker, task = status.Get_source(), status.Get_tag()
        results[task] = value
        if pending:
            comm.send(pending.pop(0), dest=worker, tag=WORK_TAG)
        else:
            comm.send(None, dest=worker, tag=STOP_TAG)
            busy -= 1
    return results


def worker(comm) -> None:
    status = MPI.Status()
    while True:
        task = comm.recv(source=0, tag=MPI.ANY_TAG, status=status)
        if status.Get_tag() == STOP_TAG:
            return
        comm.send(collatz_steps(task_input(task)), dest=0, tag=task)


def main() -> None:
    comm = MPI.COMM_WORLD
    if comm.Get_rank() == 0:
        results = master(comm)
        print(f"ranks: {comm.Get_size()}")
        print(f"tasks done: {len(results)}")
        for task in sorted(results):
            print(f"task {task:2d}: collatz_steps({task_input(task)}) = {results[task]}")
    else:
        worker(comm)


if __name__ == "__main__":
    main()
