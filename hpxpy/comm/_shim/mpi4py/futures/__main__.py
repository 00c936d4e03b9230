"""``python -m mpi4py.futures prog.py [arg] ...`` (or ``-m mod``, ``-c cmd``, ``-``).

Every rank of ``COMM_WORLD`` runs this: rank 0 runs the program, ranks 1..N-1 serve the
tasks of every ``MPIPoolExecutor`` it creates, until it ends.
"""

import os
import sys

from ..run import run_command_line, set_abort_status
from ._core import SharedPoolCtx


class _UsageExit(SystemExit):
    pass


def _usage(error: str = "") -> None:
    python = os.path.basename(sys.executable)
    program = __spec__.parent if __spec__ else "mpi4py.futures"
    text = (f"usage: {python} -m {program} <pyfile> [arg] ...\n"
            f"   or: {python} -m {program} -m <module> [arg] ...\n"
            f"   or: {python} -m {program} -c <string> [arg] ...")
    if error:
        print(error, file=sys.stderr)
    print(text, file=sys.stderr if error else sys.stdout)
    raise _UsageExit(1 if error else 0)


def _check(args: list) -> None:
    if not args:
        _usage("No path specified for execution")
    elif args[0] == "-":
        return
    elif args[0] in ("-h", "--help"):
        _usage()
    elif args[0] in ("-m", "-c"):
        if len(args) < 2:
            _usage(f"Argument expected for option: {args[0]}")
    elif args[0].startswith("-"):
        _usage(f"Unknown option: {args[0]}")
    elif not os.path.exists(args[0]):
        _usage(f"Path does not exist: {args[0]}")


def main() -> None:
    """Run the program on rank 0 with the other ranks as its workers."""
    try:
        with SharedPoolCtx() as context:
            if context is not None:
                _check(sys.argv[1:])
                run_command_line()
    except _UsageExit:
        raise
    except (SystemExit, KeyboardInterrupt) as exc:
        set_abort_status(exc)
        raise
    except BaseException:
        set_abort_status(1)
        raise


if __name__ == "__main__":
    main()
