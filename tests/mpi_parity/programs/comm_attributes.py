from mpi4py import MPI

import json

# Communicator queries: names, Compare (IDENT/CONGRUENT/UNEQUAL), Is_intra/Is_inter,
# topology, COMM_SELF, Split_type(SHARED) on one host, Clone, and the world's attributes.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()

dup = comm.Dup()
dup.Set_name("my-dup")
clone = comm.Clone()
shared = comm.Split_type(MPI.COMM_TYPE_SHARED, key=rank)
self_ = MPI.COMM_SELF
out = {
    "names": [comm.Get_name(), dup.Get_name(), self_.Get_name()],
    "compare": [MPI.Comm.Compare(comm, comm) == MPI.IDENT,
                MPI.Comm.Compare(comm, dup) == MPI.CONGRUENT,
                MPI.Comm.Compare(comm, self_) == (MPI.CONGRUENT if size == 1 else MPI.UNEQUAL)],
    "intra": [comm.Is_intra(), comm.Is_inter()],
    "topology": comm.Get_topology() == MPI.UNDEFINED,
    "self": [self_.Get_rank(), self_.Get_size(), self_.allreduce(rank + 1),
             self_.bcast("me"), self_.allgather(rank)],
    "shared": [shared.Get_size(), shared.Get_rank()],
    "clone": [clone.Get_size(), clone.allreduce(1)],
    "rank_props": [comm.rank == rank, comm.size == size],
    "processor": MPI.Get_processor_name() == comm.bcast(MPI.Get_processor_name()),
    "initialized": [MPI.Is_initialized(), MPI.Is_finalized()],
    "thread": MPI.Query_thread() in (MPI.THREAD_SINGLE, MPI.THREAD_FUNNELED,
                                     MPI.THREAD_SERIALIZED, MPI.THREAD_MULTIPLE),
}
for c in (dup, clone, shared):
    c.Free()
print(json.dumps({"rank": rank, **out}), flush=True)
