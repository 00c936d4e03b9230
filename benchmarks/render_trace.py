"""Render an ``hpxrun --trace`` file as a timeline PNG with matplotlib.

One lane per locality (its calls as bars, coloured by operation), and an arrow from each
send to its matching receive (the trace's flow events). A whole run of thousands of
messages is a smear, so by default a window of a few iterations in the middle of the run
is drawn; ``--start``/``--window`` (microseconds) choose another.

    python benchmarks/render_trace.py jacobi.json docs/jacobi_timeline.png
    python benchmarks/render_trace.py jacobi.json out.png --start 50000 --window 3000

Needs matplotlib (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, List, Optional, Tuple


def _window(slices: List[Dict[str, Any]], start: Optional[float],
            window: Optional[float], count: int) -> Tuple[float, float]:
    """[t0, t1) in microseconds: the given one, or ``count`` calls of the busiest lane
    around the middle of the run."""
    if start is not None and window is not None:
        return start, start + window
    lanes: Dict[int, List[Dict[str, Any]]] = {}
    for e in slices:
        lanes.setdefault(e["pid"], []).append(e)
    busiest = max(lanes.values(), key=len)
    busiest.sort(key=lambda e: e["ts"])
    mid = len(busiest) // 2
    first = busiest[max(mid - count // 2, 0)]
    last = busiest[min(mid + count // 2, len(busiest) - 1)]
    t0 = first["ts"] if start is None else start
    t1 = last["ts"] + last["dur"] if window is None else t0 + window
    return t0, t1


def render(trace: Dict[str, Any], out: str, start: Optional[float] = None,
           window: Optional[float] = None, count: int = 12, title: str = "") -> None:
    """Draw the trace's window into ``out`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    events = trace["traceEvents"]
    slices = [e for e in events if e["ph"] == "X"]
    flows_s = {e["id"]: e for e in events if e["ph"] == "s"}
    flows_f = {e["id"]: e for e in events if e["ph"] == "f"}
    t0, t1 = _window(slices, start, window, count)
    localities = sorted({e["pid"] for e in slices})
    names = sorted({e["name"] for e in slices})
    palette = plt.get_cmap("tab10")
    colour = {name: palette(i % 10) for i, name in enumerate(names)}
    fig, ax = plt.subplots(figsize=(12, 1.2 + 0.9 * len(localities)), dpi=120)
    lane_height = 0.5
    for e in slices:
        a, b = e["ts"], e["ts"] + e["dur"]
        if b < t0 or a > t1:
            continue
        ax.broken_barh([((a - t0) / 1000.0, (b - a) / 1000.0)],
                       (e["pid"] - lane_height / 2, lane_height),
                       facecolors=colour[e["name"]], edgecolor="black", linewidth=0.3)
    shown = 0
    for fid, s in flows_s.items():
        f = flows_f.get(fid)
        if f is None or not (t0 <= s["ts"] <= t1 or t0 <= f["ts"] <= t1):
            continue
        shown += 1
        ax.annotate("", xy=((f["ts"] - t0) / 1000.0, f["pid"]),
                    xytext=((s["ts"] - t0) / 1000.0, s["pid"]),
                    arrowprops={"arrowstyle": "->", "color": "0.25", "lw": 0.7,
                                "shrinkA": 0, "shrinkB": 0})
    ax.set_yticks(localities)
    ax.set_yticklabels([f"locality {i}" for i in localities])
    ax.set_ylim(max(localities) + 0.6, min(localities) - 0.6)
    ax.set_xlim(0, (t1 - t0) / 1000.0)
    ax.set_xlabel(f"ms from {t0 / 1000.0:.3f} ms into the run (locality 0's clock)")
    used = [n for n in names if any(e["name"] == n and e["ts"] <= t1 and
                                    e["ts"] + e["dur"] >= t0 for e in slices)]
    ax.legend(handles=[Patch(facecolor=colour[n], edgecolor="black", label=n) for n in used]
              + [Patch(facecolor="white", edgecolor="0.25", label=f"-> message ({shown})")],
              loc="upper right", fontsize=8, framealpha=0.9)
    ax.set_title(title or "hpxrun --trace timeline")
    ax.grid(axis="x", linestyle=":", linewidth=0.5)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trace", help="trace-event JSON from hpxrun --trace")
    parser.add_argument("out", help="PNG to write")
    parser.add_argument("--start", type=float, default=None, help="window start (us)")
    parser.add_argument("--window", type=float, default=None, help="window length (us)")
    parser.add_argument("--count", type=int, default=12,
                        help="calls of the busiest lane in the default window (default 12)")
    parser.add_argument("--title", default="", help="plot title")
    ns = parser.parse_args(argv)
    with open(ns.trace) as f:
        trace = json.load(f)
    render(trace, ns.out, ns.start, ns.window, ns.count, ns.title)
    print(f"wrote {ns.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
