from mpi4py import MPI

import json
import time

# Wtime is monotonic and measures real time; Wtick is a positive resolution.
comm = MPI.COMM_WORLD
rank = comm.Get_rank()

samples = [MPI.Wtime() for _ in range(1000)]
monotonic = all(b >= a for a, b in zip(samples, samples[1:]))
t0 = MPI.Wtime()
time.sleep(0.05)
elapsed = MPI.Wtime() - t0
comm.Barrier()
print(json.dumps({"rank": rank, "monotonic": monotonic,
                  "sleep_measured": 0.045 <= elapsed < 5.0, "tick": 0 < MPI.Wtick() < 0.01,
                  "float": isinstance(t0, float)}), flush=True)
