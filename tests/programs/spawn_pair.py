"""Parent side: spawn 2 children, exchange messages, disconnect; or (argv[1] == "kill")
have child 1 SIGKILLed and report how the parents' next wait ends; or ("killparent") the
parents die (SIGKILL) while the children wait for them. Children run this file
too (they find their parent through MPI.Comm.Get_parent())."""

import json
import os
import sys
import time

from hpxpy.comm import MPI

parent = MPI.Comm.Get_parent()
mode = sys.argv[1] if len(sys.argv) > 1 else "exchange"
if parent != MPI.COMM_NULL:  # a child
    rank = MPI.COMM_WORLD.Get_rank()
    print("CHILD " + json.dumps({"rank": rank, "pid": os.getpid(),
                                 "size": MPI.COMM_WORLD.Get_size(),
                                 "parents": parent.Get_remote_size()}), flush=True)
    if mode == "killparent":
        parent.recv(source=0, tag=99)  # raises once the parents are gone
    if mode == "kill":
        if rank == 1:
            # Die once the parents are past Spawn and waiting (a child lost during Spawn
            # makes Spawn itself raise: another test's case).
            parent.recv(source=0, tag=98)
            os.kill(os.getpid(), 9)
        parent.recv(source=0, tag=99)  # raises once the parents are gone
    got = parent.recv(source=0, tag=7)
    parent.send({"rank": rank, "got": got}, dest=0, tag=8)
    parent.Barrier()
    parent.Disconnect()
    sys.exit(0)

world = MPI.COMM_WORLD
child = world.Spawn(sys.executable, [__file__, mode], maxprocs=2)
assert child.Get_remote_size() == 2 and child.Get_size() == world.Get_size()
if mode == "killparent":
    time.sleep(1)  # the children are up (joined) and wait in a receive
    os.kill(os.getpid(), 9)
if mode == "kill":
    if world.Get_rank() == 0:
        child.send("die now", dest=1, tag=98)
    t0 = time.time()
    try:
        child.recv(source=1, tag=99)
    except Exception as err:  # LocalityError: the killed child
        print("RAISED " + json.dumps({"rank": world.Get_rank(), "type": type(err).__name__,
                                      "after": time.time() - t0}), flush=True)
    sys.exit(3)
if world.Get_rank() == 0:
    for i in range(2):
        child.send(f"hello {i}", dest=i, tag=7)
    replies = sorted((child.recv(source=i, tag=8) for i in range(2)), key=lambda r: r["rank"])
    print("REPLIES " + json.dumps(replies), flush=True)
child.Barrier()
child.Disconnect()
assert child == MPI.COMM_NULL
print("DONE " + json.dumps({"rank": world.Get_rank()}), flush=True)
