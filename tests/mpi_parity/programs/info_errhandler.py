from mpi4py import MPI

import json

# Info objects (Create/Set/Get/Get_nkeys/Get_nthkey/Delete/Dup and the dict-like methods),
# MPI.buffer.allocate, and the communicator's error handler (ERRORS_RETURN, so errors raise
# MPI.Exception). Alloc_mem memory as a numpy array: memory_alloc.py.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()

info = MPI.Info.Create()
info.Set("alpha", "1")
info.Set("beta", f"rank{rank}")
dup = info.Dup()
dup.Delete("alpha")
info_out = [info.Get("beta"), info.Get("missing"), info.Get_nkeys(),
            sorted(info.Get_nthkey(i) for i in range(info.Get_nkeys())), dup.Get_nkeys(),
            sorted(info.keys()), info.get("alpha"), len(info)]
created = MPI.Info.Create({"k": "v"})
info_out.append(dict(created.items()))
for i in (info, dup, created):
    i.Free()

b = MPI.buffer.allocate(16, clear=True)
eh = comm.Get_errhandler()
handler = [eh == MPI.ERRORS_RETURN, eh == MPI.ERRORS_ARE_FATAL]
eh.Free()
comm.Set_errhandler(MPI.ERRORS_RETURN)
print(json.dumps({"rank": rank, "info": info_out,
                  "buffer": [len(b), bytes(b) == bytes(16)], "errhandler": handler}),
      flush=True)
