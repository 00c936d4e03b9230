"""hpxrun's side of ``--trace`` and ``--stats``: merge the localities' parts.

Each locality writes ``part.<i>.json`` at exit (``hpxpy/_trace.py``). :func:`merge_trace`
turns them into one Chrome/Perfetto trace-event JSON file:

- one process per locality (``pid`` = locality, named ``locality i``), one thread per
  thread that communicated (``tid`` = its native id, named by its Python name);
- a complete event (``ph: "X"``, ``ts``/``dur`` in microseconds) per call, with the
  communicator, peer, tag and bytes in ``args``; timestamps are on locality 0's clock
  (each part's measured offset added) and start at 0;
- a flow (``ph: "s"`` on the send's event, ``ph: "f"`` with ``bp: "e"`` on the matching
  receive's event, the same ``id``) for every message whose send and receive were both
  recorded: the n-th send and the n-th receive of one (source, destination, context,
  tag) are the same message (MPI's non-overtaking rule).

:func:`load_stats`, :func:`format_stats` and :func:`stats_json` give the summary (calls,
bytes and time per operation and locality, in the manner of mpiP).
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Tuple


def _load_parts(directory: str, num_localities: int) -> Tuple[List[Dict[str, Any]], List[int]]:
    parts, missing = [], []
    for i in range(num_localities):
        path = os.path.join(directory, f"part.{i}.json")
        try:
            with open(path) as f:
                parts.append(json.load(f))
        except (OSError, ValueError):
            missing.append(i)
    return parts, missing


def build_trace(parts: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The trace-event document for the localities' parts."""
    events: List[Dict[str, Any]] = []
    origin: Optional[int] = None
    for part in parts:
        for e in part["events"]:
            t = e[2] + part["offset_ns"]
            origin = t if origin is None else min(origin, t)
    origin = origin or 0
    sends: Dict[str, Tuple[int, int, float]] = {}  # key -> (pid, tid, ts)
    receives: Dict[str, Tuple[int, int, float]] = {}
    for part in parts:
        pid = part["locality"]
        events.append({"ph": "M", "name": "process_name", "pid": pid, "tid": 0,
                       "args": {"name": f"locality {pid}"}})
        events.append({"ph": "M", "name": "process_sort_index", "pid": pid, "tid": 0,
                       "args": {"sort_index": pid}})
        for tid, name in part.get("threads", {}).items():
            events.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": int(tid),
                           "args": {"name": name}})
        for name, cat, t0, t1, tid, args, send_key, recv_key in part["events"]:
            ts = (t0 + part["offset_ns"] - origin) / 1000.0
            dur = max((t1 - t0) / 1000.0, 0.001)
            events.append({"ph": "X", "name": name, "cat": cat, "ts": ts, "dur": dur,
                           "pid": pid, "tid": tid, "args": args})
            if send_key:
                sends[send_key] = (pid, tid, ts)
            if recv_key:
                receives[recv_key] = (pid, tid, ts + dur)
    flow_id = 0
    for key in sorted(sends.keys() & receives.keys()):
        flow_id += 1
        spid, stid, sts = sends[key]
        rpid, rtid, rts = receives[key]
        events.append({"ph": "s", "name": "message", "cat": "message", "id": flow_id,
                       "pid": spid, "tid": stid, "ts": sts, "args": {"key": key}})
        # bound to the receive's own slice (bp "e"), just inside its end
        events.append({"ph": "f", "bp": "e", "name": "message", "cat": "message",
                       "id": flow_id, "pid": rpid, "tid": rtid,
                       "ts": max(rts - 0.001, 0.0), "args": {"key": key}})
    return {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "producer": "hpxrun --trace",
            "clock": "CLOCK_MONOTONIC of each locality, shifted onto locality 0's",
            "offsets_ns": {str(p["locality"]): p["offset_ns"] for p in parts},
            "offset_error_ns": {str(p["locality"]): p["offset_error_ns"] for p in parts},
            "measured_offsets_ns": {str(p["locality"]): p.get("measured_offset_ns", 0)
                                    for p in parts},
            "hosts": {str(p["locality"]): p.get("host", "") for p in parts},
            "unmatched_sends": len(sends.keys() - receives.keys()),
            "unmatched_receives": len(receives.keys() - sends.keys()),
        },
    }


def merge_trace(directory: str, num_localities: int, out: str) -> Tuple[int, List[int]]:
    """Write the merged trace to ``out``; returns (events written, localities missing)."""
    parts, missing = _load_parts(directory, num_localities)
    doc = build_trace(parts)
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    os.replace(tmp, out)
    return len(doc["traceEvents"]), missing


def load_stats(directory: str, num_localities: int) -> Dict[str, Any]:
    """Per locality: operation -> {calls, bytes, seconds}; plus each locality's run time."""
    parts, missing = _load_parts(directory, num_localities)
    return {
        "localities": {
            str(p["locality"]): {
                "seconds": (p["ended_ns"] - p["started_ns"]) * 1e-9,
                "operations": p["stats"],
            } for p in parts
        },
        "missing": missing,
    }


def stats_json(stats: Dict[str, Any]) -> str:
    """The summary as one JSON line: ``{"hpxpy_stats": {...}}``."""
    return json.dumps({"hpxpy_stats": stats}, sort_keys=True)


def format_stats(stats: Dict[str, Any]) -> str:
    """The summary as a table: per locality, each operation's calls, bytes, time and share
    of the locality's run time (from hpxpy.comm's start to exit)."""
    lines = ["hpxrun stats: hpxpy.comm calls per locality (time inside the call; share of the",
             "run from the start of hpxpy.comm to exit)",
             f"{'loc':>3} {'operation':<22} {'calls':>9} {'bytes':>14} {'time s':>10} "
             f"{'mean us':>10} {'% run':>6}"]
    for loc, entry in sorted(stats["localities"].items(), key=lambda kv: int(kv[0])):
        run = entry["seconds"] or 1e-9
        total_calls = total_bytes = 0
        total_time = 0.0
        ops = sorted(entry["operations"].items(), key=lambda kv: -kv[1]["seconds"])
        for name, op in ops:
            mean = op["seconds"] / op["calls"] * 1e6 if op["calls"] else 0.0
            lines.append(f"{loc:>3} {name:<22} {op['calls']:>9} {op['bytes']:>14} "
                         f"{op['seconds']:>10.4f} {mean:>10.1f} {100 * op['seconds'] / run:>6.1f}")
            total_calls += op["calls"]
            total_bytes += op["bytes"]
            total_time += op["seconds"]
        lines.append(f"{loc:>3} {'(all)':<22} {total_calls:>9} {total_bytes:>14} "
                     f"{total_time:>10.4f} {'':>10} {100 * total_time / run:>6.1f}")
    if stats.get("missing"):
        lines.append(f"no record from localities {stats['missing']} (did they import "
                     "hpxpy.comm and exit normally?)")
    return "\n".join(lines) + "\n"
