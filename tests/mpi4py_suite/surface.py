"""How much of mpi4py's ``MPI`` module hpxpy's has: a report against mpi4py's own stub.

    python -m tests.mpi4py_suite.surface            # summary and the missing names
    python -m tests.mpi4py_suite.surface --all      # also every NotImplementedError name

Reads ``MPI.pyi`` (the typed list of every name of ``mpi4py.MPI``) from mpi4py's source
archive, fetched and cached as the suite's test modules are (``HPXPY_MPI4PY_TESTS`` names
the cache), and looks each module-level name and class member up on ``hpxpy.comm.MPI``:
present, missing (AttributeError), or present but raising NotImplementedError (a name the
module's ``__getattr__`` refuses, or a function whose body only raises it).
"""

from __future__ import annotations

import argparse
import ast
import inspect
import os
import tarfile
import tempfile
import textwrap
from pathlib import Path
from typing import Any, Dict, List, Tuple

from .__main__ import SDIST, VERSION, _download_sdist

PYI_MEMBER = f"mpi4py-{VERSION}/src/mpi4py/MPI.pyi"


def fetch_mpi_pyi() -> Path:
    """mpi4py's ``MPI.pyi``, fetched on first use into the suite's cache folder."""
    root = Path(os.environ.get("HPXPY_MPI4PY_TESTS",
                               Path.home() / ".cache" / "hpxpy" / f"mpi4py-{VERSION}"))
    target = root / "src" / "mpi4py" / "MPI.pyi"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        sdist = Path(tmp) / SDIST
        _download_sdist(sdist)
        with tarfile.open(sdist) as tar:
            member = tar.getmember(PYI_MEMBER)
            member.name = "MPI.pyi"
            tar.extract(member, tmp)
        (Path(tmp) / "MPI.pyi").replace(target)
    return target


def stub_names(pyi: Path) -> Tuple[List[str], Dict[str, List[str]]]:
    """(module-level names, {class: its members}) that MPI.pyi declares (private names
    other than mpi4py's documented ``_sizeof``-style helpers are left out)."""
    tree = ast.parse(pyi.read_text())
    names: List[str] = []
    members: Dict[str, List[str]] = {}

    def targets(node: ast.stmt) -> List[str]:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return [node.name]
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            return [node.target.id]
        if isinstance(node, ast.Assign):
            return [t.id for t in node.targets if isinstance(t, ast.Name)]
        return []

    for node in tree.body:
        for name in targets(node):
            if name.startswith("__") or name in names:
                continue
            names.append(name)
        if isinstance(node, ast.ClassDef):
            found: List[str] = []
            for item in node.body:
                for name in targets(item):
                    if (not name.startswith("_") or name in ("__init__",)) and name not in found:
                        found.append(name)
            members[node.name] = [n for n in found if n != "__init__"]
    names = [n for n in names if not (n.startswith("_") and n not in
                                      ("_sizeof", "_addressof", "_handleof", "_typecode",
                                       "_typedict", "_typedict_c", "_typedict_f",
                                       "_comm_lock", "_comm_lock_table", "_get_alias",
                                       "_lock_table"))]
    names = [n for n in names if not n.isidentifier() or not n.startswith("_T")]
    return names, members


def _raises_not_implemented(value: Any) -> bool:
    """A function (or property getter) whose body, past its docstring, is a raise of
    NotImplementedError."""
    func = value.fget if isinstance(value, property) else value
    func = getattr(func, "__func__", func)
    if not inspect.isfunction(func):
        return False
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return False
    body = tree.body[0].body if tree.body and hasattr(tree.body[0], "body") else []
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if not body or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    exc = body[0].exc
    call = exc.func if isinstance(exc, ast.Call) else exc
    return isinstance(call, ast.Name) and call.id == "NotImplementedError"


def classify(owner: Any, name: str) -> str:
    """'ok', 'missing' or 'notimpl' for ``owner.name``."""
    try:
        value = inspect.getattr_static(owner, name) if inspect.isclass(owner) \
            else getattr(owner, name)
    except NotImplementedError:
        return "notimpl"
    except AttributeError:
        return "missing"
    return "notimpl" if _raises_not_implemented(value) else "ok"


def report(show_all: bool = False) -> Dict[str, Any]:
    from hpxpy.comm import MPI

    names, members = stub_names(fetch_mpi_pyi())
    result: Dict[str, Any] = {"names": {}, "members": {}}
    for name in names:
        result["names"][name] = classify(MPI, name)
    for cls_name, member_names in members.items():
        try:
            cls = getattr(MPI, cls_name)
        except (AttributeError, NotImplementedError):
            continue  # the class itself is counted among the names
        for member in member_names:
            result["members"][f"{cls_name}.{member}"] = classify(cls, member)
    return result


def _summary(kind: str, table: Dict[str, str]) -> str:
    total = len(table)
    ok = sum(v == "ok" for v in table.values())
    notimpl = sum(v == "notimpl" for v in table.values())
    missing = total - ok - notimpl
    return (f"{kind}: {total} in mpi4py {VERSION}'s MPI.pyi; hpxpy has {ok + notimpl} "
            f"({ok} working, {notimpl} raising NotImplementedError), {missing} missing")


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--all", action="store_true",
                        help="also list the names that raise NotImplementedError")
    args = parser.parse_args(argv)
    result = report(args.all)
    for kind, key in (("module-level names", "names"), ("class members", "members")):
        table = result[key]
        print(_summary(kind, table))
        missing = [n for n, v in table.items() if v == "missing"]
        if missing:
            print("  missing: " + ", ".join(missing))
        if args.all:
            notimpl = [n for n, v in table.items() if v == "notimpl"]
            if notimpl:
                print("  NotImplementedError: " + ", ".join(notimpl))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
