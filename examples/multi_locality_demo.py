"""Launch from Python: running this file plainly starts it again as 4 localities.

    python examples/multi_locality_demo.py          # relaunches itself, 4 localities
    hpxrun -n 2 python examples/multi_locality_demo.py

Shows @spmd_main, futures (then / await) and scatter/gather round trips.
"""

import asyncio

import numpy as np

import hpxpy as hpx
from hpxpy.launcher import is_multi_locality_mode, spmd_main


@spmd_main(num_localities=4)
def main() -> None:
    with hpx.runtime():
        me, n = hpx.locality_id(), hpx.num_localities()
        # Root hands every locality a block of work, each squares its block, root collects.
        blocks = np.arange(n * 3, dtype=np.int64).reshape(n, 3) if me == 0 else None
        mine = hpx.scatter(blocks, root=0)
        squares = hpx.gather(mine * mine, root=0)

        # Futures: start a reduction, chain a continuation, await another.
        total = hpx.all_reduce_async(mine).then(lambda f: int(f.get().sum()))

        async def ring_token() -> float:
            value = await hpx.broadcast_async(np.array([3.5]) if me == n - 1 else None,
                                              root=n - 1)
            return float(value[0])

        token = asyncio.run(ring_token())
        if me == 0:
            print(f"multi-locality mode: {is_multi_locality_mode()}, {n} localities")
            print("squares gathered on 0:", [s.tolist() for s in squares])
        print(f"locality {me}: block {mine.tolist()}, total {total.get()}, token {token}",
              flush=True)


if __name__ == "__main__":
    main()
