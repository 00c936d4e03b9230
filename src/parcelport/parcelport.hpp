// The transport interface: moves framed messages between localities. TCP implements it
// today; a same-host shared-memory transport can implement it without touching the layers
// above (matching engine, collectives).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "../common.hpp"

namespace hpxpy {

// What a parcelport reports upward. Called from the parcelport's progress context.
class ParcelSink {
public:
    virtual ~ParcelSink() = default;
    virtual void deliver(Message&& message) = 0;
    virtual void peer_lost(int locality, const std::string& why) = 0;
    // The peer said goodbye and closed: nothing more will come from it.
    virtual void peer_departed(int locality) = 0;
    // A peer called Abort(exit_code): the whole job ends with that status.
    virtual void job_aborted(int locality, int exit_code) = 0;
    // Called by the progress thread when it holds no lock: a moment to send what
    // deliveries queued (acknowledgements of synchronous sends).
    virtual void progress_idle() = 0;
};

class Parcelport {
public:
    virtual ~Parcelport() = default;

    // Send one message made of `parts` (gathered, not copied) to `dest` != self; `ack`
    // (nonzero for a synchronous send) travels with it. Blocks until every byte is handed
    // to the transport; calls `interrupt` while waiting.
    virtual void send(int dest, int context, int tag, const std::vector<ConstBuffer>& parts,
                      uint32_t ack, const InterruptCheck& interrupt) = 0;

    // Non-blocking progress for a caller that is spinning on a receive: reads whatever has
    // arrived. Returns true if it delivered at least one message. Never blocks; returns
    // false at once when another thread is already making progress.
    virtual bool progress_try() = 0;

    // An application thread is waiting for a message (between these two calls the
    // background progress thread stands aside, so it does not wake on every message).
    virtual void begin_wait() = 0;
    virtual void end_wait() = 0;

    // Block until input arrives, or `arrivals` differs from `seen`, or `timeout_ms` passes,
    // reading (and delivering) what arrives. The waiting thread itself sits in poll(): one
    // wake-up per message instead of two (progress thread, then waiter). False on timeout.
    virtual bool wait_for_input(int timeout_ms, const std::atomic<uint64_t>& arrivals,
                                uint64_t seen) = 0;

    // Something was delivered by a thread other than the one blocked in wait_for_input:
    // wake it up so it looks.
    virtual void notify_poller() = 0;

    // Tell every peer we are leaving (so our EOF is not taken for a crash), stop the
    // progress thread and close the connections.
    virtual void shutdown() = 0;

    // Leave at once after a failure: tell every peer (best effort, never blocking) which
    // locality was lost (`blame`, or -1 when this process itself fails), then close.
    // `exit_code` >= 0 asks every peer to end with that status (MPI_Abort).
    virtual void abort(int blame, int exit_code) = 0;

    virtual std::string name() const = 0;
};

}  // namespace hpxpy
