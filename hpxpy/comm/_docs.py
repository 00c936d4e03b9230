"""mpi4py's docstring layout on the ``MPI`` namespace: the signature line first.

mpi4py's functions, methods and properties (compiled by Cython with embedded signatures)
start their docstrings with their signature, ``Get_rank(self) -> int``, then a blank line,
then the text whose first line is a one-sentence summary; tools and mpi4py's ``test_doc``
read it that way. hpxpy's docstrings are plain text: this adds each callable's signature
line, taken from its real signature, and puts the summary paragraph on one line, once per
object when the namespace loads.
"""

from __future__ import annotations

import re
import types
from typing import Any, Callable, Dict, Optional, Set

_MODULE_ALIAS = re.compile(r"\b(?:_T|[A-Z])\.")
_NO_DEFAULT = object()
_CO_VARARGS, _CO_VARKEYWORDS = 0x04, 0x08  # code flags (inspect's, without importing it)
_done: Set[int] = set()  # ids of the functions, properties and classes already laid out
_constant_names: Dict[int, str] = {}  # id -> MPI name of the namespace's constant objects


def _annotation(annotation: Any) -> str:
    text = annotation if isinstance(annotation, str) else getattr(
        annotation, "__qualname__", repr(annotation))
    # hpxpy's module aliases (``_T.Buffer``, ``O.Op``, ``D.Datatype``) dropped, as mpi4py's names
    return _MODULE_ALIAS.sub("", text)


def _signature_line(function: Callable[..., Any], name: str) -> Optional[str]:
    """``name(params) -> result`` for ``function``, read from its code object (what
    ``inspect.signature`` reads, without its cost: this runs for every callable at import)."""
    code = getattr(function, "__code__", None)
    if code is None:
        return None
    annotations = getattr(function, "__annotations__", {}) or {}
    defaults = function.__defaults__ or ()
    kwdefaults = function.__kwdefaults__ or {}
    names = code.co_varnames
    positional = code.co_argcount
    posonly = code.co_posonlyargcount
    keyword_only = code.co_kwonlyargcount
    first_default = positional - len(defaults)

    def param(arg: str, prefix: str = "", default: Any = _NO_DEFAULT) -> str:
        text = prefix + arg
        if arg in annotations:
            text += f": {_annotation(annotations[arg])}"
        if default is not _NO_DEFAULT:
            shown = _constant_names.get(id(default)) or repr(default)  # INFO_NULL, BYTE ...
            text += (" = " if arg in annotations else "=") + shown
        return text

    params = []
    for index in range(positional):
        default = defaults[index - first_default] if index >= first_default else _NO_DEFAULT
        params.append(param(names[index], default=default))
        if posonly and index == posonly - 1:
            params.append("/")
    at = positional + keyword_only
    if code.co_flags & _CO_VARARGS:
        params.append(param(names[at], "*"))
        at += 1
    elif keyword_only:
        params.append("*")
    for index in range(positional, positional + keyword_only):
        arg = names[index]
        params.append(param(arg, default=kwdefaults.get(arg, _NO_DEFAULT)))
    if code.co_flags & _CO_VARKEYWORDS:
        params.append(param(names[at], "**"))
    line = f"{name}({', '.join(params)})"
    if "return" in annotations:
        line += f" -> {_annotation(annotations['return'])}"
    return line


def _cleandoc(doc: str) -> str:
    """The docstring without its indentation and surrounding blank lines."""
    lines = doc.expandtabs().split("\n")
    rest = [line for line in lines[1:] if line.strip()]
    margin = min((len(line) - len(line.lstrip()) for line in rest), default=0)
    lines = [lines[0].strip()] + [line[margin:].rstrip() for line in lines[1:]]
    return "\n".join(lines).strip("\n")


def _text(doc: str) -> str:
    """The docstring without indentation, its first paragraph (the summary) on one line."""
    summary, blank, rest = _cleandoc(doc).partition("\n\n")
    summary = " ".join(line.strip() for line in summary.splitlines())
    return f"{summary}{blank}{rest}"


def _lay_out_function(function: Any, name: str) -> None:
    if id(function) in _done or not getattr(function, "__doc__", None):
        return
    _done.add(id(function))
    line = _signature_line(function, name)
    if line is not None:
        function.__doc__ = f"{line}\n\n{_text(function.__doc__)}"


def _lay_out_property(prop: property, name: str) -> None:
    if id(prop) in _done or not prop.__doc__:
        return
    _done.add(id(prop))
    line = name
    result = (getattr(prop.fget, "__annotations__", None) or {}).get("return")
    if result is not None:
        line += f": {_annotation(result)}"
    prop.__doc__ = f"{line}\n\n{_text(prop.__doc__)}"


def _lay_out_class(cls: type) -> None:
    if id(cls) in _done or not cls.__module__.startswith("hpxpy."):
        return
    _done.add(id(cls))
    if cls.__doc__:
        cls.__doc__ = _text(cls.__doc__)
    for name, value in vars(cls).items():
        if isinstance(value, (classmethod, staticmethod)):
            value = value.__func__
        if isinstance(value, property):
            _lay_out_property(value, name)
        elif isinstance(value, types.FunctionType):
            _lay_out_function(value, name)
        elif isinstance(value, type):
            _lay_out_class(value)


def name_constants(namespace: Dict[str, Any]) -> None:
    """Show defaults that are the namespace's constant objects by name (``INFO_NULL``)."""
    for name, value in namespace.items():
        if name.isupper() and not isinstance(value, (int, float, str, type(None))):
            _constant_names.setdefault(id(value), name)


def embed_signatures(*objects: Any) -> None:
    """Lay out the docstrings of hpxpy's functions and classes among ``objects``."""
    for value in objects:
        if isinstance(value, type):
            _lay_out_class(value)
        elif isinstance(value, types.FunctionType) and value.__module__.startswith("hpxpy."):
            _lay_out_function(value, value.__name__)
