from mpi4py import MPI

import json
import threading

# Attribute caching (keyvals with copy and delete callbacks on Dup, Free, Delete_attr),
# predefined attributes, error handlers called through Call_errhandler, error classes and
# codes a program adds, integer handles, subclassing, generalized requests and sessions.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
log = []

# -- attributes ---------------------------------------------------------------------------
plus_one = MPI.Comm.Create_keyval(
    copy_fn=lambda obj, key, value: value + 1,
    delete_fn=lambda obj, key, value: log.append(("deleted", value)))
same = MPI.Comm.Create_keyval(copy_fn=True)
never = MPI.Comm.Create_keyval()
skip = MPI.Comm.Create_keyval(copy_fn=lambda obj, key, value: NotImplemented)
base = comm.Dup()
base.Set_attr(plus_one, 10 * rank)
base.Set_attr(same, [rank])
base.Set_attr(never, "x")
base.Set_attr(skip, "y")
child = base.Dup()
attrs = [child.Get_attr(plus_one), child.Get_attr(same), child.Get_attr(never),
         child.Get_attr(skip), child.Get_attr(same) is base.Get_attr(same)]
child.Free()                      # deletes the copied attribute: value 10*rank+1
base.Set_attr(plus_one, -1)       # overwrite: the old value's delete callback
base.Delete_attr(plus_one)        # value -1
attrs.append(base.Get_attr(plus_one))
base.Free()
for key in (plus_one, same, never, skip):
    attrs.append(MPI.Comm.Free_keyval(key) == MPI.KEYVAL_INVALID)

dt_key = MPI.Datatype.Create_keyval(copy_fn=lambda obj, key, value: value * 2)
dtype = MPI.INT.Dup()
dtype.Set_attr(dt_key, 21)
dtype2 = dtype.Dup()
attrs.append(dtype2.Get_attr(dt_key))
dtype.Free()
dtype2.Free()
MPI.Datatype.Free_keyval(dt_key)

predefined = {
    "tag_ub": comm.Get_attr(MPI.TAG_UB) >= 32767,
    "wtime_is_global": comm.Get_attr(MPI.WTIME_IS_GLOBAL) in (True, False, None),
    "appnum": comm.Get_attr(MPI.APPNUM) in (0, None),
}

# -- error classes, codes, strings --------------------------------------------------------
errclass = MPI.Add_error_class()
errcode = MPI.Add_error_code(errclass)
MPI.Add_error_string(errcode, "my error code")
errors = [errclass > MPI.ERR_LASTCODE, MPI.Get_error_class(errcode) == errclass,
          MPI.Get_error_string(errcode), MPI.Get_error_string(errclass),
          comm.Get_attr(MPI.LASTUSEDCODE) >= errclass,
          MPI.Exception(errcode).Get_error_class() == errclass,
          MPI.Get_error_class(MPI.ERR_RANK) == MPI.ERR_RANK]

# -- error handlers -----------------------------------------------------------------------
calls = []
eh = MPI.Comm.Create_errhandler(lambda c, code: calls.append((c == work, code)))
work = comm.Dup()
work.Set_errhandler(eh)
work.Call_errhandler(MPI.ERR_OTHER)
work.Call_errhandler(errcode)
got = work.Get_errhandler()
handlers = [got == eh, got != MPI.ERRORS_RETURN, calls == [(True, MPI.ERR_OTHER),
                                                           (True, errcode)]]
got.Free()
work.Set_errhandler(MPI.ERRORS_RETURN)
eh.Free()
handlers.append(eh == MPI.ERRHANDLER_NULL)
work.Call_errhandler(MPI.ERR_OTHER)  # ERRORS_RETURN: nothing happens
work.Free()

# -- handles and subclasses ---------------------------------------------------------------
group = comm.Get_group()
info = MPI.Info.Create({"k": "v"})
objects = [comm, MPI.COMM_SELF, MPI.INT, MPI.SUM, group, info, MPI.ERRORS_RETURN,
           MPI.GROUP_EMPTY]
handles = [type(o).fromhandle(o.handle) == o for o in objects]
handles += [type(o).f2py(o.py2f()) == o for o in objects]
group.Free()
info.Free()


class MyComm(MPI.Intracomm):
    def __new__(cls, comm=None):
        return super().__new__(cls, comm)


mine = MyComm(comm.Dup())
mine_dup = mine.Dup()
subclass = [type(mine).__name__, type(mine_dup).__name__, mine_dup.allreduce(1)]
mine_dup.Free()
mine.Free()

# -- generalized requests -----------------------------------------------------------------


def query(status, source):
    status.Set_source(source)
    status.Set_tag(7)
    log.append("query")


greq = MPI.Grequest.Start(query, lambda source: log.append("free"),
                          lambda completed, source: log.append(("cancel", completed)),
                          args=(rank,))
pending = greq.Test()
worker = threading.Thread(target=greq.Complete)
worker.start()
status = MPI.Status()
greq.Wait(status)
worker.join()
grequest = [pending, status.Get_source() == rank, status.Get_tag(), bool(greq)]

# -- sessions -----------------------------------------------------------------------------
session = MPI.Session.Init()
names = [session.Get_nth_pset(i) for i in range(session.Get_num_psets())]
pset_info = session.Get_pset_info("mpi://WORLD")
world_size = pset_info.Get("mpi_size")
pset_info.Free()
world_group = session.Create_group("mpi://WORLD")
self_group = session.Create_group("mpi://SELF")
from_group = MPI.Intracomm.Create_from_group(world_group, "org.hpxpy.parity")
sessions = ["mpi://WORLD" in names, "mpi://SELF" in names, world_size == str(size),
            world_group.Get_rank() == rank, self_group.Get_size(),
            from_group.Get_size() == size, from_group.allreduce(rank)]
from_group.Free()
world_group.Free()
self_group.Free()
session.Finalize()

print(json.dumps({"rank": rank, "attrs": attrs, "predefined": predefined, "log": log,
                  "errors": errors, "handlers": handlers, "handles": handles,
                  "subclass": subclass, "grequest": grequest, "sessions": sessions}),
      flush=True)
