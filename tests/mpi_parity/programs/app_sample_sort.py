from mpi4py import MPI

import json

import numpy as np

# Parallel sample sort: each rank draws its own keys, the ranks agree on splitters from a
# gathered sample, exchange keys with Alltoall (counts) and Alltoallv (keys), and sort locally.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()

rng = np.random.default_rng(1234 + rank)
keys = rng.integers(0, 1_000_000, size=5000 + 100 * rank, dtype=np.int64)
sample = np.sort(rng.choice(keys, size=8 * size, replace=False))
samples = np.zeros(8 * size * size, dtype=np.int64)
comm.Allgather(sample, samples)
samples.sort()
splitters = samples[8 * size::8 * size][: size - 1]
dest = np.searchsorted(splitters, keys, side="right")
order = np.argsort(dest, kind="stable")
send = keys[order]
send_counts = np.bincount(dest, minlength=size).astype(np.int64)
recv_counts = np.zeros(size, dtype=np.int64)
comm.Alltoall(send_counts, recv_counts)
recv = np.zeros(int(recv_counts.sum()), dtype=np.int64)
sdispl = np.concatenate([[0], np.cumsum(send_counts)[:-1]])
rdispl = np.concatenate([[0], np.cumsum(recv_counts)[:-1]])
comm.Alltoallv([send, send_counts, sdispl, MPI.INT64_T], [recv, recv_counts, rdispl, MPI.INT64_T])
recv.sort()
# Globally sorted: my last key <= my right neighbour's first key.
edges = comm.allgather([int(recv[0]), int(recv[-1])] if recv.size else None)
edges = [e for e in edges if e]
ordered = all(a[1] <= b[0] for a, b in zip(edges, edges[1:]))
total = comm.allreduce(int(recv.size))
checksum = comm.allreduce(int(recv.sum() % 1_000_003))
print(json.dumps({"rank": rank, "count": int(recv.size), "first": int(recv[0]),
                  "last": int(recv[-1]), "ordered": ordered, "total": total,
                  "checksum": checksum, "splitters": splitters.tolist()}), flush=True)
