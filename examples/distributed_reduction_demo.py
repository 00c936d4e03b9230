"""SPMD reduction: every locality computes a partial result, all_reduce combines them.

    hpxrun -n 4 python examples/distributed_reduction_demo.py

Each locality integrates 4/(1+x^2) over its own slice of [0, 1]; the sum over localities
is pi. Then a gather and a broadcast show where the data really lives.
"""

import os

import numpy as np

import hpxpy as hpx


def main() -> None:
    with hpx.runtime():
        me, n = hpx.locality_id(), hpx.num_localities()
        steps = 10_000_000
        # Midpoint rule on this locality's share of the steps (cyclic split).
        x = (np.arange(me, steps, n, dtype=np.float64) + 0.5) / steps
        partial = np.array([np.sum(4.0 / (1.0 + x * x)) / steps])
        pi = hpx.all_reduce(partial, op="sum")[0]

        pids = hpx.gather(np.array([os.getpid()]), root=0)
        worst = hpx.all_reduce(np.array([abs(pi - np.pi)]), op=hpx.ReduceOp.max)[0]
        if me == 0:
            print(f"{n} localities, processes {[int(p[0]) for p in pids]}")
            print(f"pi ~= {pi:.12f} (error {worst:.2e}), identical on every locality")
        token = hpx.broadcast(np.array([42.0 + me]) if me == 0 else None, root=0)
        hpx.barrier()
        print(f"locality {me}/{n} on {hpx.get_locality_name()}: pi={pi:.12f} token={token[0]}",
              flush=True)


if __name__ == "__main__":
    main()
