from mpi4py import MPI

import json

import numpy as np

# Pack/Unpack of predefined and derived datatypes, native and external32: the packed bytes
# (in hex) and the sizes every rank computes, the type-map data Unpack puts back, and a
# packed message sent as MPI.PACKED and unpacked by the next rank. (Implementations differ
# in external32 of C long: MPICH, and hpxpy, write 4 bytes, Open MPI 8, so LONG is compared
# packed natively only; and of long double: MPICH, and hpxpy, write an IEEE quad, Open MPI
# the x87 bytes swapped, so long double is not compared.)
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
out = {"rank": rank}


def pack(datatype, data, external):
    buf = bytearray(256)
    if external:
        end = datatype.Pack_external("external32", data, buf, 0)
    else:
        end = datatype.Pack(data, buf, 0, comm)
    return bytes(buf[:end])


ints = np.arange(8, dtype="i") + 10 * rank
vector = MPI.INT.Create_vector(3, 1, 2).Commit()  # elements 0, 2, 4 of 5 (extent 5 ints)
subarray = MPI.DOUBLE.Create_subarray([3, 3], [2, 2], [1, 0]).Commit()
cases = {
    "INT": (MPI.INT, ints),
    "DOUBLE": (MPI.DOUBLE, np.array([1.5, -0.25 * rank])),
    "C_BOOL": (MPI.C_BOOL, np.array([True, False])),
    "SHORT": (MPI.SHORT, np.array([1, -2, 300], dtype="h")),
    "C_DOUBLE_COMPLEX": (MPI.C_DOUBLE_COMPLEX, np.array([1 + 2j])),
    "vector": (vector, np.arange(10, dtype="i") + rank),
    "subarray": (subarray, np.arange(9, dtype="d") + rank),
}
for name, (datatype, data) in cases.items():
    native = pack(datatype, data, False)
    external = pack(datatype, data, True)
    back = np.zeros_like(data)
    datatype.Unpack(native, 0, back, comm)
    back32 = np.zeros_like(data)
    datatype.Unpack_external("external32", external, 0, back32)
    out[name] = {"native": native.hex(), "external32": external.hex(),
                 "size": datatype.Pack_size(2, comm),
                 "size32": datatype.Pack_external_size("external32", 2),
                 "unpacked": [repr(x) for x in back.tolist()],
                 "unpacked32": [repr(x) for x in back32.tolist()]}
# A struct of several element types, packed natively (MPICH 5.0 cannot pack it in
# external32: it aborts).
struct = MPI.Datatype.Create_struct([1, 2, 1], [0, 8, 24], [MPI.INT, MPI.DOUBLE, MPI.SHORT])
struct.Commit()
record = np.zeros(2, dtype=np.dtype({"names": ["a", "b", "c"], "formats": ["i4", ("f8", 2), "i2"],
                                     "offsets": [0, 8, 24], "itemsize": struct.extent}))
record["a"], record["b"], record["c"] = [7, -rank], [[2.0, 0.5], [rank, 4]], [5, -6]
packed = pack(struct, record, False)
back = np.zeros_like(record)
struct.Unpack(packed, 0, back, comm)
out["struct"] = {"native": packed.hex(), "extent": struct.extent,
                 "unpacked": [repr(x) for x in back.tolist()]}
struct.Free()
native_long = np.array([-2, 3 + rank], dtype="l")
out["LONG"] = pack(MPI.LONG, native_long, False).hex()

# Two types packed one after the other, sent as PACKED, unpacked in turn by the next rank.
buf = bytearray(MPI.INT.Pack_size(8, comm) + vector.Pack_size(2, comm))
position = MPI.INT.Pack(ints[:3], buf, 0, comm)
position = vector.Pack(np.arange(10, dtype="i") * (rank + 1), buf, position, comm)
received = bytearray(len(buf))
comm.Sendrecv([buf, position, MPI.PACKED], (rank + 1) % size, 0,
              [received, MPI.PACKED], (rank - 1) % size, 0)
first, second = np.zeros(3, "i"), np.full(10, -1, "i")
position = MPI.INT.Unpack(received, 0, first, comm)
position = vector.Unpack(received, position, second, comm)
out["sent"] = {"first": first.tolist(), "second": second.tolist(), "position": position}
vector.Free()
subarray.Free()
print(json.dumps(out), flush=True)
