"""``python -m mpi4py [options] prog.py | -m mod | -c cmd | - [arg] ...`` on hpxpy.

Runs the program as ``__main__``; an exception that escapes it ends the whole job with a
non-zero status (``MPI.COMM_WORLD.Abort``), so the other processes do not wait forever.
Options: ``-rc key=value,...`` (sets ``mpi4py.rc``), ``--version``, ``--prefix``,
``--mpi-std-version``, ``--mpi-lib-version``, ``--mpi-library``, ``-h``/``--help``.
"""

from __future__ import annotations

import atexit
import os
import runpy
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

__all__ = ["run_command_line", "set_abort_status", "main"]

_PACKAGE: str = (__spec__.parent if __spec__ else None) or "mpi4py"  # this package


def _run_source(source: str, filename: str, argv0: str) -> None:
    sys.argv[0] = argv0
    module = type(sys)("__main__")
    module.__dict__.update({"__name__": "__main__", "__file__": None, "__cached__": None,
                            "__loader__": None, "__spec__": None, "__package__": None})
    del module.__dict__["__file__"]
    main = sys.modules["__main__"]
    sys.modules["__main__"] = module
    try:
        exec(compile(source, filename, "exec", 0, True), module.__dict__)
    finally:
        sys.modules["__main__"] = main


def run_command_line(args: Optional[Sequence[str]] = None) -> None:
    """Run ``[pyfile | -m mod | -c cmd | -] [arg] ...`` (default: ``sys.argv[1:]``) as
    ``__main__``, with ``sys.argv`` as that program sees it."""
    sys.argv[:] = list(args) if args is not None else sys.argv[1:]
    if sys.argv[0] == "-":
        _run_source(sys.stdin.read(), "<stdin>", "-")
    elif sys.argv[0] == "-c":
        source = sys.argv.pop(1)
        _run_source(source, "<string>", "-c")
    elif sys.argv[0] == "-m":
        del sys.argv[0]
        runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
    else:
        if not getattr(sys.flags, "isolated", 0):
            sys.path[0] = os.path.realpath(os.path.dirname(sys.argv[0]))
        runpy.run_path(sys.argv[0], run_name="__main__")


_abort_status = 0


def _abort_at_exit() -> None:
    mpi = sys.modules.get(f"{_PACKAGE}.MPI")
    if mpi is not None and _abort_status:
        mpi.COMM_WORLD.Abort(_abort_status)


def set_abort_status(status: Any) -> None:
    """End the job with ``status`` at exit (``MPI.COMM_WORLD.Abort``) if it is non-zero
    and MPI was used. ``status`` may be an int, a ``SystemExit`` (its code) or a
    ``KeyboardInterrupt`` (128 + SIGINT); anything else non-None counts as 1."""
    global _abort_status
    if isinstance(status, SystemExit):
        status = status.code
    elif isinstance(status, KeyboardInterrupt):
        import signal

        status = 128 + signal.SIGINT
    if not isinstance(status, int):
        status = 0 if status is None else 1
    if status and not _abort_status:
        atexit.register(_abort_at_exit)  # runs before hpxpy's own exit handler
    _abort_status = status


def _usage(error: Optional[str] = None) -> None:
    python = os.path.basename(sys.executable)
    program = _PACKAGE
    forms = (f"usage: {python} -m {program} [options] <pyfile> [arg] ...\n"
             f"   or: {python} -m {program} [options] -m <mod> [arg] ...\n"
             f"   or: {python} -m {program} [options] -c <cmd> [arg] ...\n"
             f"   or: {python} -m {program} [options] - [arg] ...")
    if error:
        print(error, file=sys.stderr)
        print(forms, file=sys.stderr)
        print(f"Try `{python} -m {program} -h` for more information.", file=sys.stderr)
        sys.exit(1)
    print(forms)
    print("options:\n"
          "  --prefix             show install path and exit\n"
          "  --version            show version number and exit\n"
          "  --mpi-library        show MPI library path and exit\n"
          "  --mpi-std-version    show MPI standard version and exit\n"
          "  --mpi-lib-version    show MPI library version and exit\n"
          "  -h|--help            show this help message and exit\n"
          "  -rc <key=value,...>  set 'mpi4py.rc.key=value'")
    sys.exit(0)


def _mpi() -> Any:
    import importlib

    package = importlib.import_module(_PACKAGE)
    package.rc.initialize = package.rc.finalize = False
    return importlib.import_module(package.__name__ + ".MPI")


def _info_option(name: str) -> None:
    """Print what an informational option asks for, and exit."""
    import importlib

    package = importlib.import_module(_PACKAGE)
    if name == "prefix":
        print(os.path.dirname(package.__file__ or ""))
    elif name == "version":
        print(package.__version__)
    elif name == "mpi-library":
        from hpxpy import _core

        print(_core.__file__)
    elif name == "mpi-std-version":
        mpi = _mpi()
        print(f"MPI {mpi.VERSION}.{mpi.SUBVERSION}")
    elif name == "mpi-lib-version":
        print(_mpi().Get_library_version())
    sys.exit(0)


def _parse(args: List[str]) -> Tuple[Dict[str, Any], List[str]]:
    from ast import literal_eval

    rc: Dict[str, Any] = {}
    while args and args[0].startswith("-") and args[0] not in ("-m", "-c", "-"):
        option = args.pop(0)
        name = option.lstrip("-")
        if name in ("h", "help"):
            _usage()
        if name in ("prefix", "version", "mpi-library", "mpi-std-version", "mpi-lib-version"):
            _info_option(name)
        if name.startswith("rc="):
            args.insert(0, name[3:])
            name = "rc"
        if name != "rc":
            _usage(f"Unknown option: {option}")
        if not args or args[0].startswith("-"):
            _usage(f"Argument expected for option: {option}")
        for entry in args.pop(0).split(","):
            key, _, value = entry.partition("=")
            if not key or not value:
                _usage(f"Cannot parse rc option: {entry}")
            try:
                rc[key] = literal_eval(value)
            except (ValueError, SyntaxError):
                rc[key] = value
    if not args:
        _usage("No path specified for execution")
    if args[0] in ("-m", "-c") and len(args) < 2:
        _usage(f"Argument expected for option: {args[0]}")
    return rc, args


def main() -> None:
    """``python -m mpi4py``: parse the options, then run the program."""
    rc, args = _parse(sys.argv[1:])
    if rc:
        import importlib

        importlib.import_module(_PACKAGE).rc(**rc)
    try:
        run_command_line(args)
    except (SystemExit, KeyboardInterrupt) as exc:
        set_abort_status(exc)
        raise
    except BaseException:
        set_abort_status(1)
        raise


if __name__ == "__main__":
    main()
