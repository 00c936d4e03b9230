"""Recording hpxpy.comm calls for ``hpxrun --trace`` and ``hpxrun --stats``.

Nothing here runs unless hpxrun asked for it (``HPXPY_TRACE`` / ``HPXPY_STATS`` in the
locality's environment): ``hpxpy.comm.MPI`` then calls :func:`install`, which replaces the
communication methods of ``Comm`` (and ``Request``'s completion) with recording wrappers.
A run without tracing keeps the plain methods, so it pays nothing, not even a flag test.

A wrapper times the call (``time.monotonic_ns``: CLOCK_MONOTONIC, one clock for every
process of a host) and records the operation, communicator, peer rank, tag and bytes. Only
the outermost hpxpy.comm call of a thread is recorded (``sendrecv`` calling ``send`` counts
once). Sends and receives carry a flow key, (source locality, destination locality,
context, tag, n): the n-th message on that (pair, context, tag). MPI matches messages of
one pair, context and tag in order, so the n-th send and the n-th receive with the same
key are the same message; the merge (``hpxpy/observe.py``) links them.

Clock offsets: at install every locality measures its offset to locality 0's clock with
ten ping-pongs on a private duplicate of COMM_WORLD, keeping the one with the shortest
round trip (offset = t0 - (t_send + t_recv) / 2, error at most half that round trip).
A locality on locality 0's host (same host name and boot id) reads the very same
CLOCK_MONOTONIC, so its offset is exactly 0 (the measured value, within its error bound
of 0, is kept in the part for reference); on another host the measured offset is used.
Drift during the run is not corrected.

At exit (before the runtime's own finalize) each locality writes its part,
``part.<locality>.json``, to the job directory hpxrun gave it (``HPXPY_OBSERVE_DIR``).
"""

from __future__ import annotations

import atexit
import json
import os
import pickle
import socket
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

ENV_TRACE = "HPXPY_TRACE"
ENV_STATS = "HPXPY_STATS"
ENV_OBSERVE_DIR = "HPXPY_OBSERVE_DIR"

# hpxpy.comm's MPI.ANY_SOURCE, ANY_TAG and PROC_NULL (install() checks them)
ANY_SOURCE, ANY_TAG, PROC_NULL = -2, -1, -1

# Operations by kind. send: (buf|obj, dest, tag); recv: (buf, source, tag, status);
# irecv: (buf, source, tag) -> Request; sendrecv: mpi4py's argument order.
SENDS = ("send", "ssend", "bsend", "isend", "ibsend", "issend",
         "Send", "Ssend", "Bsend", "Rsend", "Isend", "Ibsend", "Irsend", "Issend")
OBJECT_SENDS = ("send", "ssend", "bsend", "isend", "ibsend", "issend")
RECVS = ("recv", "Recv")
IRECVS = ("irecv", "Irecv")
SENDRECVS = ("sendrecv", "Sendrecv", "Sendrecv_replace")
PROBES = ("probe", "Probe", "mprobe", "Mprobe")
COLLECTIVES = ("barrier", "Barrier", "bcast", "Bcast", "gather", "Gather", "Gatherv",
               "scatter", "Scatter", "Scatterv", "allgather", "Allgather", "Allgatherv",
               "alltoall", "Alltoall", "Alltoallv", "Alltoallw", "reduce", "Reduce",
               "allreduce", "Allreduce", "scan", "Scan", "exscan", "Exscan",
               "Reduce_scatter", "Reduce_scatter_block",
               "Ibarrier", "Ibcast", "Igather", "Igatherv", "Iscatter", "Iscatterv",
               "Iallgather", "Iallgatherv", "Ialltoall", "Ialltoallv", "Ialltoallw",
               "Ireduce", "Iallreduce", "Iscan", "Iexscan", "Ireduce_scatter",
               "Ireduce_scatter_block", "Dup", "Split", "Create", "Create_group")
OBJECT_COLLECTIVES = ("bcast", "gather", "scatter", "allgather", "alltoall", "reduce",
                      "allreduce", "scan", "exscan")

Event = Tuple[Any, ...]
Key = Tuple[int, int, int, int, int]  # (source, destination, context, tag, n)


class Recorder:
    """One locality's record: events (for the trace) and per-operation totals (stats).

    Kept cheap per call: an event is a tuple of plain values (``args`` as a flat tuple of
    name/value pairs, the communicator as the object), turned into JSON only at exit."""

    def __init__(self, locality: int, trace: bool) -> None:
        self.locality = locality
        self.trace = trace
        # (name, cat, t0, t1, tid, id(comm), args, send_key, recv_key)
        self.events: List[Event] = []
        self.stats: Dict[str, List[float]] = {}  # name -> [calls, bytes, ns]
        self.sent: Dict[Tuple[int, int, int], int] = {}  # (dest, context, tag) -> count
        self.received: Dict[Tuple[int, int, int], int] = {}  # (source, context, tag)
        self.lock = threading.Lock()
        self.local = threading.local()
        self.offset_ns = 0
        self.offset_error_ns = 0
        self.measured_offset_ns = 0  # what the ping-pongs said (0 is used on one host)
        self.started_ns = time.monotonic_ns()
        self.threads: Dict[int, str] = {}
        self.comms: Dict[int, Any] = {}  # id -> communicator, for the events' names

    def add(self, name: str, cat: str, t0: int, t1: int, nbytes: int, comm: Any,
            args: Tuple[Any, ...], send: Optional[Tuple[int, int, int]] = None,
            recv: Optional[Tuple[int, int, int]] = None, timed: bool = True) -> None:
        """Count the call; with tracing, keep its event. ``send`` is the message's
        (destination, context, tag), ``recv`` (source, context, tag): each gets its n.
        ``timed`` False: the span is not time spent in a call (a non-blocking receive from
        post to completion, which overlaps other calls), so the stats leave it out."""
        with self.lock:
            entry = self.stats.get(name)
            if entry is None:
                entry = self.stats[name] = [0, 0, 0]
            entry[0] += 1
            entry[1] += nbytes
            if timed:
                entry[2] += t1 - t0
            if not self.trace:
                return
            send_key = recv_key = None
            if send is not None:
                n = self.sent.get(send, 0)
                self.sent[send] = n + 1
                send_key = (self.locality, send[0], send[1], send[2], n)
            if recv is not None:
                n = self.received.get(recv, 0)
                self.received[recv] = n + 1
                recv_key = (recv[0], self.locality, recv[1], recv[2], n)
            tid = threading.get_native_id()
            if tid not in self.threads:
                self.threads[tid] = threading.current_thread().name
            ident = id(comm)
            if ident not in self.comms:
                self.comms[ident] = comm
            # only plain values: the collector untracks such tuples, so a long trace does
            # not make every collection slower
            self.events.append((name, cat, t0, t1, tid, ident, args, send_key, recv_key))

    def part(self) -> Dict[str, Any]:
        """This locality's part of the job's record, as written at exit."""
        names = {ident: _comm_name(comm) for ident, comm in self.comms.items()}

        def key_text(key: Optional[Key]) -> Optional[str]:
            return None if key is None else f"{key[0]}>{key[1]}:{key[2]}:{key[3]}:{key[4]}"

        events = []
        for name, cat, t0, t1, tid, comm, args, send_key, recv_key in self.events:
            fields = {"comm": names[comm]}
            fields.update(zip(args[::2], args[1::2]))
            events.append([name, cat, t0, t1, tid, fields, key_text(send_key),
                           key_text(recv_key)])
        return {
            "locality": self.locality,
            "pid": os.getpid(),
            "offset_ns": self.offset_ns,
            "offset_error_ns": self.offset_error_ns,
            "measured_offset_ns": self.measured_offset_ns,
            "host": host_identity(),
            "started_ns": self.started_ns,
            "ended_ns": time.monotonic_ns(),
            "threads": {str(k): v for k, v in self.threads.items()},
            "stats": {k: {"calls": int(v[0]), "bytes": int(v[1]), "seconds": v[2] * 1e-9}
                      for k, v in sorted(self.stats.items())},
            "events": events,
        }


_recorder: Optional[Recorder] = None


def recorder() -> Optional[Recorder]:
    """The running recorder (None unless install() ran)."""
    return _recorder


def _nbytes(spec: Any) -> int:
    """Bytes of a buffer or a message spec ([buf, count, type] ...), 0 if unknown."""
    n = getattr(spec, "nbytes", None)
    if isinstance(n, int):
        return n
    if spec is None:
        return 0
    if isinstance(spec, (list, tuple)):
        return _nbytes(spec[0]) if spec else 0
    try:
        return memoryview(spec).nbytes
    except TypeError:
        return 0


def _obj_bytes(obj: Any) -> int:
    try:
        return len(pickle.dumps(obj, protocol=5))
    except Exception:  # noqa: BLE001 - the call itself will say what is wrong
        return 0


def _comm_name(comm: Any) -> str:
    if comm is None:
        return ""
    return getattr(comm, "_handle_name", "") or getattr(comm, "_name", "") or \
        f"context {comm._context}"


def _world(comm: Any, rank: Any) -> int:
    try:
        return int(comm._members[int(rank)])
    except (TypeError, ValueError, IndexError):
        return -1


def _wrap(cls: type, name: str, make: Callable[[Callable[..., Any], str], Callable[..., Any]]
          ) -> None:
    original = cls.__dict__.get(name)
    if original is None or getattr(original, "_hpxpy_traced", False):
        return
    wrapper = make(original, name)
    wrapper.__name__ = name
    wrapper.__qualname__ = f"{cls.__name__}.{name}"
    wrapper.__doc__ = original.__doc__
    wrapper.__wrapped__ = original  # type: ignore[attr-defined]
    wrapper._hpxpy_traced = True  # type: ignore[attr-defined]
    setattr(cls, name, wrapper)


def _status(rec: Recorder, status_cls: type) -> Any:
    """This thread's reusable Status, for receives whose caller passed none."""
    st = getattr(rec.local, "status", None)
    if st is None:
        st = rec.local.status = status_cls()
    return st


def _envelope(status: Any) -> Tuple[int, int, int]:
    """(source rank, tag, bytes) of a receive's status."""
    m = status._mem.tolist()
    return m[2], m[3], ((m[1] & 0xFFFFFFFF) >> 1 << 32) | (m[0] & 0xFFFFFFFF)


def _make_send(rec: Recorder) -> Callable[[Callable[..., Any], str], Callable[..., Any]]:
    def make(original: Callable[..., Any], name: str) -> Callable[..., Any]:
        objects = name in OBJECT_SENDS
        local, clock = rec.local, time.monotonic_ns

        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if getattr(local, "depth", 0):
                return original(self, *args, **kwargs)
            local.depth = 1
            t0 = clock()
            try:
                return original(self, *args, **kwargs)
            finally:
                t1 = clock()
                local.depth = 0
                n = len(args)
                data = args[0] if n else kwargs.get("obj" if objects else "buf")
                dest = args[1] if n > 1 else kwargs.get("dest", PROC_NULL)
                tag = args[2] if n > 2 else kwargs.get("tag", 0)
                nbytes = _obj_bytes(data) if objects else _nbytes(data)
                send = None
                if dest != PROC_NULL and self._members is not None:
                    send = (_world(self, dest), self._context, int(tag))
                rec.add(name, "p2p", t0, t1, nbytes, self,
                        ("dest", int(dest), "tag", int(tag), "bytes", nbytes), send=send)
        return wrapper
    return make


def _received(comm: Any, status: Any) -> Tuple[Tuple[Any, ...], Optional[Tuple[int, int, int]],
                                                int]:
    """(event args, (source locality, context, tag) or None, bytes) of a receive."""
    src, tag, nbytes = _envelope(status)
    recv = None
    if src not in (ANY_SOURCE, PROC_NULL) and tag != ANY_TAG and comm._members is not None:
        recv = (_world(comm, src), comm._context, tag)
    return ("source", src, "tag", tag, "bytes", nbytes), recv, nbytes


def _make_recv(rec: Recorder, status_cls: type) -> Callable[[Callable[..., Any], str],
                                                            Callable[..., Any]]:
    def make(original: Callable[..., Any], name: str) -> Callable[..., Any]:
        local, clock = rec.local, time.monotonic_ns

        def wrapper(self: Any, buf: Any = None, source: int = ANY_SOURCE,
                    tag: int = ANY_TAG, status: Any = None) -> Any:
            if getattr(local, "depth", 0):
                return original(self, buf, source, tag, status)
            st = status if status is not None else _status(rec, status_cls)
            local.depth = 1
            t0 = clock()
            try:
                return original(self, buf, source, tag, st)
            finally:
                t1 = clock()
                local.depth = 0
                args, recv, nbytes = _received(self, st)
                rec.add(name, "p2p", t0, t1, nbytes, self, args, recv=recv)
        return wrapper
    return make


def _make_sendrecv(rec: Recorder, status_cls: type) -> Callable[[Callable[..., Any], str],
                                                                Callable[..., Any]]:
    def make(original: Callable[..., Any], name: str) -> Callable[..., Any]:
        replace = name == "Sendrecv_replace"
        objects = name == "sendrecv"
        status_at = 5 if replace else 6  # the status's position in the arguments
        local, clock = rec.local, time.monotonic_ns

        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if getattr(local, "depth", 0):
                return original(self, *args, **kwargs)
            n = len(args)
            status = args[status_at] if n > status_at else kwargs.get("status")
            st = status if status is not None else _status(rec, status_cls)
            if n > status_at:
                args = args[:status_at] + (st,) + args[status_at + 1:]
            else:
                kwargs["status"] = st
            local.depth = 1
            t0 = clock()
            try:
                return original(self, *args, **kwargs)
            finally:
                t1 = clock()
                local.depth = 0
                data = args[0] if n else kwargs.get(
                    "sendobj" if objects else ("buf" if replace else "sendbuf"))
                dest = args[1] if n > 1 else kwargs.get("dest", PROC_NULL)
                sendtag = args[2] if n > 2 else kwargs.get("sendtag", 0)
                sent = 0 if dest == PROC_NULL else (_obj_bytes(data) if objects
                                                    else _nbytes(data))
                send = None
                if dest != PROC_NULL and self._members is not None:
                    send = (_world(self, dest), self._context, int(sendtag))
                src, rtag, got = _envelope(st)
                recv = None
                if src not in (ANY_SOURCE, PROC_NULL) and rtag != ANY_TAG:
                    recv = (_world(self, src), self._context, rtag)
                rec.add(name, "p2p", t0, t1, sent + got, self,
                        ("dest", int(dest), "sendtag", int(sendtag), "source", src,
                         "recvtag", rtag, "bytes_sent", sent, "bytes_received", got),
                        send=send, recv=recv)
        return wrapper
    return make


_posted: Dict[int, Tuple[Any, Any, str, int]] = {}  # id(request) -> (request, comm, op, t0)


def _make_irecv(rec: Recorder) -> Callable[[Callable[..., Any], str], Callable[..., Any]]:
    def make(original: Callable[..., Any], name: str) -> Callable[..., Any]:
        local, clock = rec.local, time.monotonic_ns

        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if getattr(local, "depth", 0):
                return original(self, *args, **kwargs)
            t0 = clock()
            request = original(self, *args, **kwargs)
            with rec.lock:
                _posted[id(request)] = (request, self, name, t0)
            return request
        return wrapper
    return make


def _make_complete(rec: Recorder) -> Callable[[Callable[..., Any], str], Callable[..., Any]]:
    """Request._compute: a posted receive completes (its event spans post to completion)."""
    def make(original: Callable[..., Any], name: str) -> Callable[..., Any]:
        def wrapper(self: Any) -> Any:
            result = original(self)
            if _posted:
                with rec.lock:
                    posted = _posted.pop(id(self), None)
                if posted is not None and posted[0] is self and self._status is not None:
                    _, comm, op, t0 = posted
                    args, recv, nbytes = _received(comm, self._status)
                    rec.add(op, "p2p", t0, time.monotonic_ns(), nbytes, comm, args, recv=recv,
                            timed=False)
            return result
        return wrapper
    return make


def _make_generic(rec: Recorder, cat: str) -> Callable[[Callable[..., Any], str],
                                                       Callable[..., Any]]:
    def make(original: Callable[..., Any], name: str) -> Callable[..., Any]:
        objects = name in OBJECT_COLLECTIVES
        sized = cat == "collective" and name not in (
            "barrier", "Barrier", "Ibarrier", "Dup", "Split", "Create", "Create_group")
        local, clock = rec.local, time.monotonic_ns

        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if getattr(local, "depth", 0):
                return original(self, *args, **kwargs)
            local.depth = 1
            t0 = clock()
            try:
                return original(self, *args, **kwargs)
            finally:
                t1 = clock()
                local.depth = 0
                nbytes = 0
                if sized:
                    first = args[0] if args else next(iter(kwargs.values()), None)
                    nbytes = _obj_bytes(first) if objects else _nbytes(first)
                rec.add(name, cat, t0, t1, nbytes, self, ("bytes", nbytes))
        return wrapper
    return make


WAITS = ("Wait", "wait")
CLASS_WAITS = ("Waitall", "waitall", "Waitany", "waitany", "Waitsome", "waitsome")


def _make_wait(rec: Recorder) -> Callable[[Callable[..., Any], str], Callable[..., Any]]:
    """Request.Wait and friends: time blocked waiting for requests (no communicator)."""
    def make(original: Callable[..., Any], name: str) -> Callable[..., Any]:
        local, clock = rec.local, time.monotonic_ns

        def wrapper(first: Any, *args: Any, **kwargs: Any) -> Any:
            if getattr(local, "depth", 0):
                return original(first, *args, **kwargs)
            local.depth = 1
            t0 = clock()
            try:
                return original(first, *args, **kwargs)
            finally:
                t1 = clock()
                local.depth = 0
                rec.add(name, "wait", t0, t1, 0, None, ())
        return wrapper
    return make


def _wrap_classmethod(cls: type, name: str,
                      make: Callable[[Callable[..., Any], str], Callable[..., Any]]) -> None:
    method = cls.__dict__.get(name)
    if not isinstance(method, classmethod) or getattr(method.__func__, "_hpxpy_traced", False):
        return
    wrapper = make(method.__func__, name)
    wrapper.__name__ = name
    wrapper.__doc__ = method.__func__.__doc__
    wrapper._hpxpy_traced = True  # type: ignore[attr-defined]
    setattr(cls, name, classmethod(wrapper))


ENV_SEPARATE_HOSTS = "HPXPY_TRACE_SEPARATE_HOSTS"  # "1": treat every locality as remote


def host_identity() -> str:
    """Equal exactly for processes that read the same CLOCK_MONOTONIC: host name and boot.

    With ``HPXPY_TRACE_SEPARATE_HOSTS=1`` every locality claims a host of its own, so the
    measured offsets are applied as they would be across hosts (to check the ping-pong
    on one machine, where the true offset is 0)."""
    if os.environ.get(ENV_SEPARATE_HOSTS) == "1":
        return f"separate-{os.environ.get('HPXPY_LOCALITY_ID', '0')}"
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip()
    except OSError:
        boot = "?"
    return f"{socket.gethostname()}/{boot}"


def _measure_offset(comm: Any, rounds: int = 10) -> Tuple[int, int, int]:
    """(offset to locality 0's clock, its error bound, the offset measured), in ns;
    collective over ``comm``. A locality on locality 0's host (same host name and boot)
    reads the same CLOCK_MONOTONIC: its offset is exactly 0, whatever was measured."""
    import numpy as np

    me, n = comm.Get_rank(), comm.Get_size()
    if n == 1:
        return 0, 0, 0
    same_host = comm.bcast(host_identity(), root=0) == host_identity()
    buf = np.zeros(1, dtype=np.int64)
    if me == 0:
        for peer in range(1, n):
            for _ in range(rounds):
                comm.Recv(buf, source=peer, tag=1)
                buf[0] = time.monotonic_ns()
                comm.Send(buf, dest=peer, tag=2)
        return 0, 0, 0
    best: Optional[Tuple[int, int]] = None
    for _ in range(rounds):
        t1 = time.monotonic_ns()
        buf[0] = t1
        comm.Send(buf, dest=0, tag=1)
        comm.Recv(buf, source=0, tag=2)
        t3 = time.monotonic_ns()
        rtt = t3 - t1
        offset = int(buf[0]) - (t1 + t3) // 2
        if best is None or rtt < best[1]:
            best = (offset, rtt)
    assert best is not None
    if same_host:
        return 0, 0, best[0]
    return best[0], best[1] // 2, best[0]


def install(comm_cls: type, request_cls: type, status_cls: type, world: Any) -> Recorder:
    """Measure the clock offset (collective over ``world``), then put the recording
    wrappers on ``comm_cls`` and ``request_cls``; write the part at exit."""
    global _recorder
    if _recorder is not None:
        return _recorder
    from hpxpy.comm import _constants

    assert (_constants.ANY_SOURCE, _constants.ANY_TAG, _constants.PROC_NULL) == (
        ANY_SOURCE, ANY_TAG, PROC_NULL)
    private = world.Dup()
    offset, error, measured = _measure_offset(private)
    private.Free()
    rec = Recorder(world.Get_rank(), bool(os.environ.get(ENV_TRACE)))
    rec.offset_ns, rec.offset_error_ns, rec.measured_offset_ns = offset, error, measured
    send, recv = _make_send(rec), _make_recv(rec, status_cls)
    for name in SENDS:
        _wrap(comm_cls, name, send)
    for name in RECVS:
        _wrap(comm_cls, name, recv)
    for name in SENDRECVS:
        _wrap(comm_cls, name, _make_sendrecv(rec, status_cls))
    for name in IRECVS:
        _wrap(comm_cls, name, _make_irecv(rec))
    for name in PROBES:
        _wrap(comm_cls, name, _make_generic(rec, "p2p"))
    for name in COLLECTIVES:
        _wrap(comm_cls, name, _make_generic(rec, "collective"))
    _wrap(request_cls, "_compute", _make_complete(rec))
    for name in WAITS:
        _wrap(request_cls, name, _make_wait(rec))
    for name in CLASS_WAITS:
        _wrap_classmethod(request_cls, name, _make_wait(rec))
    _recorder = rec
    atexit.register(_write_part)
    return rec


def _write_part() -> None:
    rec, directory = _recorder, os.environ.get(ENV_OBSERVE_DIR)
    if rec is None or not directory:
        return
    path = os.path.join(directory, f"part.{rec.locality}.json")
    try:
        with open(path + ".tmp", "w") as f:
            json.dump(rec.part(), f, separators=(",", ":"))
        os.replace(path + ".tmp", path)
    except OSError:
        pass
