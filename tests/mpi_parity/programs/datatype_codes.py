from mpi4py import MPI

import json

# Datatype.tocode(): the typecode (struct/numpy character code) mpi4py gives each
# predefined datatype; programs use it to build numpy arrays matching a datatype.
comm = MPI.COMM_WORLD
rank = comm.Get_rank()

names = ["CHAR", "SHORT", "INT", "LONG", "LONG_LONG", "FLOAT", "DOUBLE", "BYTE", "SIGNED_CHAR",
         "UNSIGNED_CHAR", "UNSIGNED", "UNSIGNED_LONG", "INT8_T", "INT16_T", "INT32_T",
         "INT64_T", "UINT8_T", "UINT32_T", "UINT64_T", "C_BOOL", "C_FLOAT_COMPLEX",
         "C_DOUBLE_COMPLEX", "AINT", "OFFSET", "COUNT"]
print(json.dumps({"rank": rank, "codes": {n: getattr(MPI, n).tocode() for n in names}}),
      flush=True)
