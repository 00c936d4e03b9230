from mpi4py import MPI

import json

import numpy as np

# Derived datatypes: a matrix column (vector), an indexed selection, a 2x2 subarray of a
# 4x4 block, a resized vector used with a count, and a struct; each sent to the right
# neighbour and received into a contiguous buffer.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
right, left = (rank + 1) % size, (rank - 1) % size

m = (np.arange(16, dtype=np.float64) + 100 * rank).reshape(4, 4)
column = MPI.DOUBLE.Create_vector(4, 1, 4).Commit()
indexed = MPI.DOUBLE.Create_indexed([1, 2], [0, 5]).Commit()
sub = MPI.DOUBLE.Create_subarray([4, 4], [2, 2], [1, 1]).Commit()
every_other = MPI.DOUBLE.Create_resized(0, 16).Commit()   # one double, extent two
rec = np.dtype([("a", "i4"), ("b", "f8")], align=True)
struct = MPI.Datatype.Create_struct([1, 1], [0, 8], [MPI.INT, MPI.DOUBLE]).Commit()

results = {}
for label, dtype, count, n_out in (("column", column, 1, 4), ("indexed", indexed, 1, 3),
                                   ("subarray", sub, 1, 4), ("resized", every_other, 3, 3)):
    got = np.zeros(n_out)
    req = comm.Isend([m, count, dtype], dest=right, tag=1)
    comm.Recv([got, n_out, MPI.DOUBLE], source=left, tag=1)
    req.Wait()
    results[label] = got.tolist()
# Receiving into a derived type: the column of a zero matrix.
target = np.zeros((4, 4))
req = comm.Isend(np.arange(4.0) + rank, dest=right, tag=2)
comm.Recv([target, 1, column], source=left, tag=2)
req.Wait()
results["into_column"] = target.tolist()
recs = np.zeros(2, dtype=rec)
recs["a"], recs["b"] = [rank, -rank], [rank + 0.5, 2.5]
got = np.zeros(2, dtype=rec)
req = comm.Isend([recs, 2, struct], dest=right, tag=3)
comm.Recv([got, 2, struct], source=left, tag=3)
req.Wait()
results["struct"] = [[int(x["a"]), float(x["b"])] for x in got]
results["sizes"] = [[t.Get_size(), t.Get_extent()[1]] for t in (column, indexed, sub,
                                                                 every_other, struct)]
for t in (column, indexed, sub, every_other, struct):
    t.Free()
print(json.dumps({"rank": rank, **results}), flush=True)
