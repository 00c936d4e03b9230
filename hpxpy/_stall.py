"""Stall reports: what every thread of this locality is doing and what it waits for.

A report is the Python stack of every thread (file:line in function) and the operations
the locality is blocked in, as the matching engine lists them (``_core.Runtime.pending``:
posted receives, probes, sends held back by flow control), each named by communicator,
kind, peer rank in that communicator, tag, size and how long it has waited.

It is written on SIGQUIT (``kill -QUIT``, Ctrl-\\ to ``hpxrun``, which forwards it to every
locality, and ``hpxrun --timeout`` before it stops a job). A dedicated watcher thread
writes it, not the main thread: Python's C-level signal handler writes a byte to the
wake-up fd (``signal.set_wakeup_fd``) from whichever thread the kernel picked, and the
watcher, blocked reading the other end, wakes at once. So a report comes out whether the
main thread waits in C++ (GIL released), runs pure Python (the watcher gets the GIL at the
next switch interval) or never returns to the interpreter, as long as it does not hold the
GIL. When the program has its own wake-up fd, the Python-level handler (run by the main
thread at its next check, at most ~100 ms into a C++ wait) wakes the watcher instead.

Every line of the report starts with ``[i] `` (the locality) unless ``hpxrun
--tag-output`` already tags it (``HPXPY_TAG_OUTPUT=1``); it ends with ``END_MARKER``, which
``hpxrun`` watches for before it stops a timed-out job.
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import sys
import threading
import time
import traceback
from typing import Any, Dict, List, Tuple

END_MARKER = "-- end of hpxpy report --"
ENV_OBSERVE_DIR = "HPXPY_OBSERVE_DIR"  # set by hpxrun: where localities say they are ready
ENV_TAG_OUTPUT = "HPXPY_TAG_OUTPUT"  # "1": hpxrun tags every line itself

_ANY = -1  # the engine's ANY_SOURCE and ANY_TAG
_CONTEXT_ACK = 0
_CONTEXT_HPX = 1
_P2P, _COLLECTIVE, _SPARE = 0, 1, 2  # offsets in a communicator's block (comm/_contexts.py)
_P2P_HEADER = 16  # hpxpy.comm's point-to-point header (comm/_p2p.py), before the data

_started = time.monotonic()
_lock = threading.Lock()
_state: Dict[str, Any] = {"installed": False, "pipe": None}


def _locality() -> Tuple[int, int]:
    env = os.environ
    try:
        return int(env.get("HPXPY_LOCALITY_ID", "0")), int(env.get("HPXPY_NUM_LOCALITIES", "1"))
    except ValueError:
        return 0, 1


def _communicators() -> Dict[int, Any]:
    """Every live communicator of this process by its first context (found through the
    garbage collector, so creating a communicator costs nothing extra)."""
    handle_mod = sys.modules.get("hpxpy.comm._handle")
    if handle_mod is None:
        return {}
    handle_cls = handle_mod._Handle
    found: Dict[int, Any] = {}
    for obj in gc.get_objects():
        if not isinstance(obj, handle_cls):
            continue
        comm: Any = obj
        if comm._members is None:
            continue
        ctx = comm._context
        # prefer a named handle (COMM_WORLD) over an anonymous reference to it
        named = bool(getattr(comm, "_handle_name", None))
        if ctx not in found or (named and not _comm_name(found[ctx], ctx).startswith("COMM")):
            found[ctx] = comm
    return found


def _comm_name(comm: Any, context: int) -> str:
    handle = getattr(comm, "_handle_name", "")
    if handle:
        return handle
    name = getattr(comm, "_name", "")
    return name if name else f"communicator with context {context}"


def _rank_text(comm: Any, peer: int) -> str:
    if peer == _ANY:
        return "ANY_SOURCE"
    index = getattr(comm, "_index", None) or {}
    rank = index.get(peer)
    return f"rank {rank}" if rank is not None else f"locality {peer} (not a member)"


def describe(op: Dict[str, Any], comms: Dict[int, Any]) -> str:
    """One pending operation of the engine (``_core.Runtime.pending``) in a communicator's
    terms: kind, communicator, peer rank, tag, size, time waited."""
    ctx, peer, tag, size = op["context"], op["peer"], op["tag"], op["size"]
    kind = op["kind"]
    waited = f"waiting {op['waited']:.1f} s"
    direction = "from" if kind in ("receive", "probe") else "to"
    if ctx == _CONTEXT_ACK:
        return (f"synchronous send: waiting for locality {peer} to match it "
                f"(acknowledgement {tag}), {waited}")
    if ctx == _CONTEXT_HPX:
        who = "ANY_SOURCE" if peer == _ANY else f"locality {peer}"
        return f"hpxpy runtime collective {kind} {direction} {who}, tag {tag}, {waited}"
    base = None
    for offset in (_P2P, _COLLECTIVE, _SPARE):
        if ctx - offset in comms:
            base = ctx - offset
            break
    if base is None:
        who = "ANY_SOURCE" if peer == _ANY else f"locality {peer}"
        return (f"{kind} on context {ctx} (no live communicator) {direction} {who}, "
                f"tag {'ANY_TAG' if tag == _ANY else tag}, {waited}")
    comm = comms[base]
    name = _comm_name(comm, base)
    if kind == "meeting":  # a blocking Barrier/Allreduce in shared memory: no peer named
        return (f"collective on {name} in shared memory, waiting for every rank to arrive "
                f"(collective #{tag >> 3}), {waited}")
    who = _rank_text(comm, peer)
    if ctx - base == _P2P:
        what = {"receive": "receive", "probe": "probe",
                "send": "send blocked by flow control"}.get(kind, kind)
        tag_text = "ANY_TAG" if tag == _ANY else str(tag)
    else:
        what = {"receive": "collective-internal receive", "probe": "collective-internal probe",
                "send": "collective-internal send blocked by flow control"}.get(kind, kind)
        if ctx - base == _SPARE:
            what += " (Create_group agreement)"
        tag_text = "ANY_TAG" if tag == _ANY else f"{tag} (collective #{tag >> 3}, step {tag & 7})"
    if ctx - base != _P2P:
        size_text = ""  # the collective's own messages: the stack names the collective
    elif kind == "receive":
        size_text = f"buffer of {size} bytes" if size else "any size (object or general path)"
    elif kind == "send":
        size_text = f"{max(size - _P2P_HEADER, 0)} bytes"
    else:
        size_text = ""
    parts = [f"{what} on {name} {direction} {who}", f"tag {tag_text}"]
    if size_text:
        parts.append(size_text)
    parts.append(waited)
    return ", ".join(parts)


def _pending() -> List[Dict[str, Any]]:
    runtime_mod = sys.modules.get("hpxpy._runtime")
    core = getattr(getattr(runtime_mod, "_state", None), "core", None)
    if core is None:
        return []
    try:
        return list(core.pending())
    except Exception:  # noqa: BLE001 - a report must not fail on a closing runtime
        return []


def report(reason: str = "SIGQUIT") -> str:
    """The report's text: every thread's stack (innermost last) with what it waits for,
    then receives posted that no thread waits for yet."""
    me, n = _locality()
    pending = _pending()
    comms = _communicators() if pending else {}
    by_thread: Dict[int, List[str]] = {}
    for op in pending:
        by_thread.setdefault(op["thread"], []).append(describe(op, comms))
    lines = [f"hpxpy report ({reason}): locality {me} of {n}, pid {os.getpid()} on "
             f"{socket.gethostname()}, {time.monotonic() - _started:.1f} s after start"]
    frames = sys._current_frames()
    watcher = threading.get_ident()
    threads = {t.ident: t for t in threading.enumerate()}
    main = threading.main_thread().ident
    for ident, frame in sorted(frames.items(), key=lambda kv: kv[0] != main):  # main first
        if ident == watcher:
            continue
        thread = threads.get(ident)
        name = thread.name if thread is not None else "unknown"
        native = getattr(thread, "native_id", None) if thread is not None else None
        lines.append(f"thread {name} (native id {native}):")
        for fs in traceback.extract_stack(frame):
            lines.append(f"  {fs.filename}:{fs.lineno} in {fs.name}")
            if fs.line:
                lines.append(f"      {fs.line.strip()}")
        for text in by_thread.pop(native, []) if native is not None else []:
            lines.append(f"  blocked in: {text}")
    for tid, texts in by_thread.items():
        owner = "posted, no thread waiting for it yet" if tid == 0 else f"thread {tid}"
        for text in texts:
            lines.append(f"pending ({owner}): {text}")
    if not pending:
        lines.append("no pending communication")
    lines.append(f"{END_MARKER} (locality {me})")
    if os.environ.get(ENV_TAG_OUTPUT) != "1":
        lines = [f"[{me}] {line}" for line in lines]
    return "\n".join(lines) + "\n"


def write_report(reason: str = "SIGQUIT") -> None:
    """Write a report to file descriptor 2 (not ``sys.stderr``: it may be replaced)."""
    try:
        text = report(reason)
    except Exception as exc:  # noqa: BLE001 - say why rather than die in a watcher
        me, _ = _locality()
        text = f"[{me}] hpxpy report failed: {exc!r}\n[{me}] {END_MARKER} (locality {me})\n"
    data = text.encode(errors="replace")
    with _lock:
        while data:
            try:
                written = os.write(2, data)
            except InterruptedError:
                continue
            except OSError:
                return
            data = data[written:]


def _watch(read_fd: int) -> None:
    quit_byte = int(signal.SIGQUIT)
    while True:
        try:
            chunk = os.read(read_fd, 256)
        except InterruptedError:
            continue
        except OSError:
            return
        if not chunk:
            return
        time.sleep(0.01)  # several signals at once: one report
        try:
            os.set_blocking(read_fd, False)
            while True:
                more = os.read(read_fd, 256)
                if not more:
                    break
                chunk += more
        except (BlockingIOError, OSError):
            pass
        finally:
            os.set_blocking(read_fd, True)
        # the wake-up fd carries every handled signal's number (SIGINT too): only SIGQUIT
        if quit_byte in chunk:
            write_report()


def _on_sigquit(signum: int, frame: Any) -> None:
    """Python-level handler (main thread): the watcher was already woken through the
    wake-up fd while that is ours; if the program has set its own since, wake it here."""
    pipe = _state["pipe"]
    if pipe is None:
        return
    try:
        current = signal.set_wakeup_fd(-1)
        signal.set_wakeup_fd(current, warn_on_full_buffer=current != pipe[1])
    except (ValueError, OSError):
        current = -1
    if current != pipe[1]:
        try:
            os.write(pipe[1], bytes([int(signal.SIGQUIT)]))
        except OSError:
            pass


def install() -> bool:
    """Start the watcher and take SIGQUIT (unless the program handles it already). Returns
    True if reports are on. Idempotent; only from the main thread (signals)."""
    if _state["installed"]:
        return True
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGQUIT"):
        return False
    try:
        if signal.getsignal(signal.SIGQUIT) not in (signal.SIG_DFL, None):
            return False  # the program's own handler wins
    except (ValueError, OSError):
        return False
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    _state["pipe"] = (read_fd, write_fd)
    try:
        old = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        if old != -1:
            signal.set_wakeup_fd(old)  # the program's own; the handler wakes us
    except (ValueError, OSError):
        pass
    signal.signal(signal.SIGQUIT, _on_sigquit)
    threading.Thread(target=_watch, args=(read_fd,), name="hpxpy-stall-report",
                     daemon=True).start()
    _state["installed"] = True
    _announce()
    return True


def _announce() -> None:
    """Tell hpxrun this locality can report (a file in its job directory)."""
    directory = os.environ.get(ENV_OBSERVE_DIR)
    if not directory:
        return
    me, _ = _locality()
    try:
        with open(os.path.join(directory, f"ready.{me}"), "w") as f:
            f.write(str(os.getpid()))
    except OSError:
        pass


def ready_localities(directory: str, num_localities: int) -> List[int]:
    """The localities that announced in ``directory`` that they write reports (hpxrun)."""
    return [i for i in range(num_localities)
            if os.path.exists(os.path.join(directory, f"ready.{i}"))]
