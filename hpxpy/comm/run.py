"""Run an unmodified mpi4py program on hpxpy: ``python -m hpxpy.comm.run prog.py args``.

Puts hpxpy's mpi4py stand-in first on the module path for this program only, then runs
it as ``__main__`` (``-m module`` and ``-c code`` work too).
"""

from __future__ import annotations

import os
import runpy
import sys

SHIM_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_shim")


def main(argv: list) -> int:
    if not argv:
        print("usage: python -m hpxpy.comm.run prog.py [args] | -m module | -c code",
              file=sys.stderr)
        return 2
    sys.path.insert(0, SHIM_DIR)
    for name in [m for m in sys.modules if m == "mpi4py" or m.startswith("mpi4py.")]:
        del sys.modules[name]
    if argv[0] == "-m":
        sys.argv = argv[1:]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    elif argv[0] == "-c":
        sys.argv = ["-c", *argv[2:]]
        exec(compile(argv[1], "<string>", "exec"), {"__name__": "__main__"})
    else:
        sys.argv = argv
        sys.path.insert(1, os.path.dirname(os.path.abspath(argv[0])))
        runpy.run_path(argv[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
