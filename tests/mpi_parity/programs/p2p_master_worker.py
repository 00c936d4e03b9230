from mpi4py import MPI

import json

# Master-worker: the master hands out tasks to whoever asks (ANY_SOURCE, ANY_TAG) and reads
# the sender and tag from a Status. Which worker does what depends on timing, so each rank
# reports only what does not: the master the sorted results, the workers how they ended.
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
READY, RESULT, TASK, STOP = 1, 2, 3, 4
tasks = list(range(1, 30))

if rank == 0:
    results, sources_ok, tags_seen = {}, True, set()
    if size == 1:
        results = {t: t * t for t in tasks}
    else:
        pending, stopped = list(tasks), 0
        status = MPI.Status()
        while stopped < size - 1:
            msg = comm.recv(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=status)
            src, tag = status.Get_source(), status.Get_tag()
            sources_ok &= 1 <= src < size and status.source == src
            tags_seen.add(tag)
            if tag == RESULT:
                results[msg[0]] = msg[1]
            if pending:
                comm.send(pending.pop(0), dest=src, tag=TASK)
            else:
                comm.send(None, dest=src, tag=STOP)
                stopped += 1
    print(json.dumps({"rank": rank, "results": sorted(results.items()),
                      "sources_ok": sources_ok, "tags": sorted(tags_seen)}), flush=True)
else:
    comm.send(None, dest=0, tag=READY)
    status = MPI.Status()
    while True:
        task = comm.recv(source=0, tag=MPI.ANY_TAG, status=status)
        if status.Get_tag() == STOP:
            break
        comm.send((task, task * task), dest=0, tag=RESULT)
    print(json.dumps({"rank": rank, "stopped_by": status.Get_tag(), "task": task}), flush=True)
