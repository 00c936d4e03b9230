"""OSU-style micro-benchmarks inside one job, written against mpi4py.

The same file runs on real mpi4py and on hpxpy's mpi4py shim:

    mpiexec -n 4 python benchmarks/_osu_worker.py [--scale S] [--sizes 8,4096] [--only a,b]
    hpxrun -n 4 --mpi4py python benchmarks/_osu_worker.py ...
    hpxrun -n 4 --mpi4py python benchmarks/_osu_worker.py --soak 1000000

Rank 0 prints one JSON line per measurement: ``{"bench", "size", "seconds", "iters"}``,
where ``seconds`` is the slowest rank's mean time per operation (one way for the latency
benchmark) and ``size`` the message size in bytes (per rank and per peer, as the OSU
benchmarks count it). Bandwidths are derived from these by the driver, ``osu.py``.

Iteration counts adapt to the machine: after a warm-up, rank 0 picks how many iterations
fill the time budget of one measurement and every rank runs that many.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Callable, Dict, List

import numpy as np
from mpi4py import MPI

SIZES = [8, 64, 512, 4096, 32768, 262144, 2097152, 16777216]  # 8 B ... 16 MiB
WINDOW = 64  # messages in flight in the bandwidth benchmarks (OSU's default)
BUDGET = 0.25  # seconds of timed loop per measurement (scaled by --scale)


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


class Bench:
    def __init__(self, comm: MPI.Intracomm, scale: float) -> None:
        self.comm = comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.budget = BUDGET * scale
        self.results: List[Dict[str, object]] = []

    def measure(self, name: str, size: int, step: Callable[[], None], per_step: int = 1,
                warmup: int = 3) -> None:
        """Time ``step`` (every rank calls it); ``per_step`` operations happen per call."""
        comm = self.comm
        for _ in range(warmup):
            step()
        # Calibrate: double the count until a round takes a tenth of the budget (every rank
        # takes the same decisions: they follow the slowest rank's time).
        rounds, spent = 1, 0.0
        while rounds < 10000:
            comm.Barrier()
            t0 = time.perf_counter()
            for _ in range(rounds):
                step()
            spent = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)
            if spent >= self.budget / 10:
                break
            rounds *= 2
        iters = int(min(20000, max(3, rounds * self.budget / max(spent, 1e-9))))
        comm.Barrier()
        t0 = time.perf_counter()
        for _ in range(iters):
            step()
        mine = (time.perf_counter() - t0) / (iters * per_step)
        worst = comm.allreduce(mine, op=MPI.MAX)
        if self.rank == 0:
            row = {"bench": name, "size": size, "seconds": worst, "iters": iters}
            print(json.dumps(row), flush=True)

    # -- point to point (ranks 0 and 1; the others wait at the barriers) ----------------------
    def latency(self, size: int) -> None:
        comm, rank = self.comm, self.rank
        buf = np.zeros(size, dtype=np.uint8)

        def step() -> None:
            if rank == 0:
                comm.Send(buf, dest=1, tag=1)
                comm.Recv(buf, source=1, tag=1)
            elif rank == 1:
                comm.Recv(buf, source=0, tag=1)
                comm.Send(buf, dest=0, tag=1)

        self.measure("latency", size, step, per_step=2)

    def bandwidth(self, size: int) -> None:
        comm, rank = self.comm, self.rank
        buf = np.zeros(size, dtype=np.uint8)  # one buffer for the whole window, as OSU does
        ack = np.zeros(1, dtype=np.uint8)

        def step() -> None:
            if rank == 0:
                MPI.Request.Waitall([comm.Isend(buf, dest=1, tag=2) for _ in range(WINDOW)])
                comm.Recv(ack, source=1, tag=3)
            elif rank == 1:
                MPI.Request.Waitall([comm.Irecv(buf, source=0, tag=2) for _ in range(WINDOW)])
                comm.Send(ack, dest=0, tag=3)

        self.measure("bw", size, step, per_step=WINDOW)

    def bibandwidth(self, size: int) -> None:
        comm, rank = self.comm, self.rank
        out, inc = np.zeros(size, dtype=np.uint8), np.zeros(size, dtype=np.uint8)

        def step() -> None:
            if rank < 2:
                peer = 1 - rank
                reqs = [comm.Irecv(inc, source=peer, tag=4) for _ in range(WINDOW)]
                reqs += [comm.Isend(out, dest=peer, tag=4) for _ in range(WINDOW)]
                MPI.Request.Waitall(reqs)

        self.measure("bibw", size, step, per_step=WINDOW)

    def object_pingpong(self, size: int) -> None:
        comm, rank = self.comm, self.rank
        obj = {"step": 1, "payload": "x" * max(0, size - 40)} if size <= 4096 else \
            np.zeros(size, dtype=np.uint8)

        def step() -> None:
            if rank == 0:
                comm.send(obj, dest=1, tag=5)
                comm.recv(source=1, tag=5)
            elif rank == 1:
                got = comm.recv(source=0, tag=5)
                comm.send(got, dest=0, tag=5)

        self.measure("latency (object)", size, step, per_step=2)

    # -- collectives: size bytes per rank (per peer for Alltoall) ----------------------------
    def collectives(self, size: int) -> None:
        comm, n = self.comm, self.size
        count = max(1, size // 8)
        send = np.ones(count)
        recv = np.empty(count)
        many = np.empty(count * n)
        send_many = np.ones(count * n)
        self.measure("Allreduce", size, lambda: comm.Allreduce(send, recv, op=MPI.SUM))
        self.measure("Reduce", size, lambda: comm.Reduce(send, recv, op=MPI.SUM, root=0))
        self.measure("Bcast", size, lambda: comm.Bcast(recv, root=0))
        self.measure("Gather", size, lambda: comm.Gather(send, many, root=0))
        self.measure("Scatter", size, lambda: comm.Scatter(send_many, recv, root=0))
        self.measure("Allgather", size, lambda: comm.Allgather(send, many))
        self.measure("Alltoall", size, lambda: comm.Alltoall(send_many, many))
        array = np.ones(count)
        self.measure("bcast (object)", size, lambda: comm.bcast(array, root=0))

    def small_objects(self) -> None:
        comm = self.comm
        self.measure("Barrier", 0, comm.Barrier)
        self.measure("allreduce (object)", 8, lambda: comm.allreduce(1.5))


def soak(comm: MPI.Intracomm, count: int) -> None:
    """``count`` small collectives and as many ring messages; resident memory must stay flat."""
    rank, n = comm.Get_rank(), comm.Get_size()
    right, left = (rank + 1) % n, (rank - 1) % n
    small, out, inc = np.ones(1), np.empty(1), np.empty(1)
    start = _rss_kib()
    t0 = time.perf_counter()
    report = max(1, count // 10)
    for i in range(count):
        comm.Allreduce(small, out, op=MPI.SUM)
        comm.Sendrecv(small, dest=right, recvbuf=inc, source=left)
        if (i + 1) % report == 0:
            rss = comm.gather(_rss_kib(), root=0)
            if rank == 0:
                print(json.dumps({"soak": i + 1, "rss_kib": rss,
                                  "seconds": time.perf_counter() - t0}), flush=True)
    end = comm.gather((start, _rss_kib()), root=0)
    if rank == 0:
        print(json.dumps({"soak_done": count, "rss_kib_start_end": end}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="OSU-style benchmarks on the mpi4py API")
    parser.add_argument("--scale", type=float, default=1.0, help="time budget multiplier")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)),
                        help="comma-separated message sizes in bytes")
    parser.add_argument("--only", default="", help="comma-separated groups: p2p,coll,obj")
    parser.add_argument("--soak", type=int, default=0,
                        help="run N small collectives + ring messages and report memory")
    args = parser.parse_args()
    comm = MPI.COMM_WORLD
    if comm.Get_size() < 2:
        raise SystemExit("_osu_worker.py needs at least 2 ranks")
    if args.soak:
        soak(comm, args.soak)
        return
    groups = set(args.only.split(",")) if args.only else {"p2p", "coll", "obj"}
    sizes = [int(s) for s in args.sizes.split(",")]
    bench = Bench(comm, args.scale)
    if "obj" in groups:
        bench.small_objects()
    for size in sizes:
        if "p2p" in groups:
            bench.latency(size)
            bench.bandwidth(size)
            bench.bibandwidth(size)
        if "obj" in groups:
            bench.object_pingpong(size)
        if "coll" in groups:
            bench.collectives(size)
    comm.Barrier()


if __name__ == "__main__":
    main()
