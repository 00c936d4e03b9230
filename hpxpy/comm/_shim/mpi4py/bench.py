"""``python -m mpi4py.bench <command> [args]``: small benchmarks, as mpi4py's.

Commands: ``helloworld`` (each rank greets, in rank order), ``ringtest`` (time a message
around the ring of ranks) and ``pingpong`` (latency and bandwidth between ranks 0 and 1
over a range of sizes; ``-p``/``-o`` use pickled objects, ``-o`` through ``util.pkl5``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

__all__ = ["helloworld", "ringtest", "pingpong", "main"]

_commands: Dict[str, Callable[..., Any]] = {}


def _command(fn: Callable[..., Any]) -> Callable[..., Any]:
    _commands[fn.__name__] = fn
    return fn


def _parser(command: str = "", usage: Optional[str] = None) -> argparse.ArgumentParser:
    program = f"{os.path.basename(sys.executable)} -m {__spec__.name if __spec__ else 'bench'}"
    return argparse.ArgumentParser(prog=f"{program} {command}".strip(), usage=usage)


def _quiet(parser: argparse.ArgumentParser, verbose: bool) -> None:
    parser.add_argument("-q", "--quiet", action="store_false", dest="verbose",
                        default=verbose, help="quiet output")


def _mpi() -> Any:
    from . import MPI

    return MPI


@_command
def helloworld(comm: Any, args: Optional[Sequence[str]] = None, verbose: bool = True) -> str:
    """Every rank says hello, in rank order (a token passes along the ranks)."""
    parser = _parser("helloworld")
    _quiet(parser, verbose)
    options = parser.parse_args(args)
    mpi = _mpi()
    size, rank = comm.Get_size(), comm.Get_rank()
    width = len(str(size - 1))
    message = (f"Hello, World! I am process {rank:{width}d} of {size} on "
               f"{mpi.Get_processor_name()}.\n")
    comm.Barrier()
    if rank > 0:
        comm.Recv([None, "B"], rank - 1)
    if options.verbose:
        sys.stdout.write(message)
        sys.stdout.flush()
    if rank < size - 1:
        comm.Send([None, "B"], rank + 1)
    comm.Barrier()
    return message


@_command
def ringtest(comm: Any, args: Optional[Sequence[str]] = None, verbose: bool = True) -> float:
    """Seconds for ``loop`` trips of a ``size``-byte message around the ring."""
    parser = _parser("ringtest")
    _quiet(parser, verbose)
    parser.add_argument("-n", "--size", type=int, default=1, help="message size")
    parser.add_argument("-s", "--skip", type=int, default=0,
                        help="number of warm-up iterations")
    parser.add_argument("-l", "--loop", type=int, default=1, help="number of iterations")
    options = parser.parse_args(args)
    mpi = _mpi()
    size, rank = comm.Get_size(), comm.Get_rank()
    left, right = (rank - 1) % size, (rank + 1) % size
    outgoing = bytearray([42]) * options.size
    incoming = bytearray(options.size)
    comm.Barrier()
    start = mpi.Wtime()
    for i in range(options.skip + options.loop):
        if i == options.skip:
            start = mpi.Wtime()
        if size == 1:
            comm.Sendrecv(outgoing, right, 0, incoming, left, 0)
        elif rank == 0:
            comm.Send(outgoing, right, 0)
            comm.Recv(incoming, left, 0)
        else:
            comm.Recv(incoming, left, 0)
            comm.Send(incoming, right, 0)
    elapsed = mpi.Wtime() - start
    if rank == 0 and incoming != outgoing:
        print("ringtest: the message came back changed", file=sys.stderr)
        comm.Abort(2)
    if options.verbose and rank == 0:
        sys.stdout.write(f"time for {options.loop} loops = {elapsed:g} seconds "
                         f"({size} processes, {options.size} bytes)\n")
        sys.stdout.flush()
    return elapsed


@_command
def pingpong(comm: Any, args: Optional[Sequence[str]] = None,
             verbose: bool = True) -> List[Tuple[int, float, float]]:
    """(bytes, mean one-way time, its standard deviation) for sizes 2**k between the
    minimum and maximum, ranks 0 and 1 (one rank: to itself)."""
    parser = _parser("pingpong")
    _quiet(parser, verbose)
    add = parser.add_argument
    add("-m", "--min-size", type=int, default=1, help="minimum message size")
    add("-n", "--max-size", type=int, default=1 << 30, help="maximum message size")
    add("-s", "--skip", type=int, default=100, help="number of warm-up iterations")
    add("-l", "--loop", type=int, default=10000, help="number of iterations")
    add("-a", "--array", choices=["numpy", "cupy", "numba", "none"], default="numpy",
        help="use NumPy arrays (cupy and numba: not on hpxpy)")
    add("-p", "--pickle", action="store_true", help="use pickle-based send and receive")
    add("--protocol", type=int, default=None, help="pickle protocol version")
    add("-o", "--outband", action="store_true",
        help="use out-of-band pickle-based send and receive")
    add("--threshold", type=int, default=None,
        help="size threshold for out-of-band pickle buffers")
    add("--skip-large", type=int, default=10)
    add("--loop-large", type=int, default=1000)
    add("--large-size", type=int, default=1 << 14)
    add("--skip-huge", type=int, default=1)
    add("--loop-huge", type=int, default=10)
    add("--huge-size", type=int, default=1 << 20)
    add("--no-header", action="store_false", dest="print_header", default=True)
    add("--no-stats", action="store_false", dest="print_stats", default=True)
    options = parser.parse_args(args)
    mpi = _mpi()
    from .util import pkl5

    use_pickle = options.pickle or options.outband
    if options.outband:
        comm = pkl5.Intracomm(comm)
        if options.threshold is not None:
            pkl5.pickle.THRESHOLD = options.threshold
    if use_pickle and options.protocol is not None:
        mpi.pickle.PROTOCOL = options.protocol
    if options.array in ("cupy", "numba"):
        parser.error(f"--array {options.array}: hpxpy moves host memory only")
    numpy: Any = None
    if options.array == "numpy":
        import numpy

    def allocate(nbytes: int) -> Any:
        return numpy.empty(nbytes, "B") if numpy is not None else bytearray(nbytes)

    if use_pickle:
        send, recv, sendrecv = comm.send, comm.recv, comm.sendrecv
    else:
        send, recv, sendrecv = comm.Send, comm.Recv, comm.Sendrecv
    rank, size = comm.Get_rank(), comm.Get_size()
    skip, loop = options.skip, options.loop
    results = []
    for k in range(33):
        nbytes = 1 << k
        if not options.min_size <= nbytes <= options.max_size:
            continue
        if nbytes > options.large_size:
            skip, loop = min(skip, options.skip_large), min(loop, options.loop_large)
        if nbytes > options.huge_size:
            skip, loop = min(skip, options.skip_huge), min(loop, options.loop_huge)
        if use_pickle:
            s_msg: Any = allocate(nbytes)
            r_msg: Any = None
        else:
            s_msg = [allocate(nbytes), nbytes, mpi.BYTE]
            r_msg = [allocate(nbytes), nbytes, mpi.BYTE]
        times = []
        comm.Barrier()
        for i in range(skip + loop):
            start = mpi.Wtime()
            if size == 1:
                sendrecv(s_msg, 0, 0, r_msg, 0, 0)
                sendrecv(s_msg, 0, 0, r_msg, 0, 0)
            elif rank == 0:
                send(s_msg, 1, 0)
                recv(r_msg, 1, 0)
            elif rank == 1:
                recv(r_msg, 0, 0)
                send(s_msg, 0, 0)
            if i >= skip:
                times.append((mpi.Wtime() - start) / 2)
        mean = statistics.mean(times) if times else float("nan")
        stdev = statistics.stdev(times) if len(times) > 1 else 0.0
        results.append((nbytes, mean, stdev))
        if options.verbose and rank == 0:
            if options.print_header:
                options.print_header = False
                print("# MPI PingPong Test")
                header = "# Size [B]  Bandwidth [MB/s]"
                if options.print_stats:
                    header += " | Time Mean [s] \u00b1 StdDev [s]  Samples"
                print(header, flush=True)
            line = f"{nbytes:10d}{nbytes / mean / 1e6:18.2f}"
            if options.print_stats:
                line += f" | {mean:.7e} \u00b1 {stdev:.4e} {loop:8d}"
            print(line, flush=True)
    return results


def main(args: Optional[Sequence[str]] = None) -> None:
    """``python -m mpi4py.bench [options] <command> [args]``."""
    parser = _parser(usage="%(prog)s [options] <command> [args]")
    parser.add_argument("--threads", action="store_true", dest="threads", default=None,
                        help="initialize MPI with thread support")
    parser.add_argument("--no-threads", action="store_false", dest="threads", default=None,
                        help="initialize MPI without thread support")
    parser.add_argument("--thread-level", dest="thread_level", default=None,
                        metavar="LEVEL",
                        choices="single funneled serialized multiple".split(),
                        help="initialize MPI with required thread level")
    parser.add_argument("command", metavar="<command>", help="benchmark command to run")
    parser.add_argument("args", nargs=argparse.REMAINDER, metavar="[args]",
                        help="arguments for benchmark command")
    options = parser.parse_args(args)
    from . import rc

    if options.threads is not None:
        rc.threads = options.threads
    if options.thread_level is not None:
        rc.thread_level = options.thread_level
    comm = _mpi().COMM_WORLD
    command = _commands.get(options.command)
    if command is None:
        if comm.Get_rank() == 0:
            parser.error(f"unknown command {options.command!r}")
        parser.exit(2)
    command(comm, options.args)
    parser.exit()


if __name__ == "__main__":
    main()
