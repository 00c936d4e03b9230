// The transport interface. A parcelport moves framed messages to the peers it reaches;
// it knows nothing of matching or of who waits. The parcel handler (parcel_handler.hpp)
// sits between the matching engine and the parcelports: it picks a route per peer, runs
// progress over every parcelport and does all the waiting. Implemented by TCP (tcp/) and
// shared memory (shm/); an MPI transport would go in a sibling folder (mpi/).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "../common.hpp"

namespace hpxpy {

// What a parcelport reports upward (the parcel handler, which forwards to the engine).
// Called from whichever thread runs the parcelport's progress.
class ParcelSink {
public:
    virtual ~ParcelSink() = default;
    virtual void deliver(Message&& message) = 0;
    virtual void peer_lost(int locality, const std::string& why) = 0;
    // The peer said goodbye and closed: nothing more will come from it.
    virtual void peer_departed(int locality) = 0;
    // A peer called Abort(exit_code): the whole job ends with that status.
    virtual void job_aborted(int locality, int exit_code) = 0;
    // Called by the background progress thread when it holds no lock: a moment to send
    // what deliveries queued (acknowledgements of synchronous sends).
    virtual void progress_idle() = 0;
    // Flow control: whether a new message from `source` may be taken in now. False when
    // this receiver already holds its limit of unexpected data from it and no receive
    // waits for it: the parcelport then leaves it with the sender (in the ring or the
    // socket), which blocks once that is full. Lock-free; asked before every message.
    virtual bool accepting(int /*source*/) { return true; }
    // A message of `size` bytes starts arriving: if a posted receive that named its buffer
    // matches it (and it fits), the transport writes it there directly (FillTarget) and
    // calls filled(token) once every byte is in; else (no target) it makes a payload and
    // calls deliver() as for any message. Messages from one source are claimed in order.
    virtual FillTarget claim(int /*source*/, int /*context*/, int /*tag*/, uint32_t /*ack*/,
                             std::size_t /*size*/) {
        return {};
    }
    virtual void filled(void* /*token*/) {}
};

// Memory a transport shares with its peers, through which a collective moves bulk data
// once instead of hop by hop: a broadcast root writes into its window, every reader copies
// out as the chunks appear (shm provides it). Waits spin briefly, then sleep; they call
// `interrupt` every few ms (lost peers, Ctrl-C) and throw LocalityLost for a lost peer.
class SharedWindows {
public:
    virtual ~SharedWindows() = default;
    // Root: takes this locality's window (one broadcast at a time per locality; waits
    // until the readers of the previous one are done) and resets it; readers may start
    // once they are told. Then publish(), then release().
    virtual void acquire(const InterruptCheck& interrupt) = 0;
    virtual void release() = 0;
    // Root: writes `size` bytes gathered from `parts` through the window, chunk by chunk,
    // and returns once `parts` is no longer needed: when the window holds the rest, before
    // the readers (localities) have copied it (the next acquire() waits for them).
    // `announce` is called once the window holds the first chunks (or all of a small
    // message): the caller then tells the readers, who find data waiting when they wake.
    virtual void publish(const std::vector<ConstBuffer>& parts, std::size_t size,
                         const std::vector<int>& readers, const InterruptCheck& interrupt,
                         const std::function<void()>& announce) = 0;
    // Reader: copies the `size` bytes `root` publishes into `out`.
    virtual void read(int root, char* out, std::size_t size, const InterruptCheck& interrupt) = 0;

    // Meeting slots: small shared areas through which a group of localities runs its small
    // blocking collectives (a barrier, a small all_reduce) with no message at all. A group
    // holds one slot in the segment of its rank 0 for its lifetime (claim_slot, called
    // there). Each call is meet(): every member writes a cell, the last to arrive wakes
    // the others, and every member reads every member's cell.
    static constexpr std::size_t kCellBytes = 256;
    // In our own segment: a free slot, now held for `key` (nonzero), or -1 (none free).
    virtual int claim_slot(uint32_t key) = 0;
    // Writes `cell` (at most kCellBytes) as member `rank` of `members` (world ids, the
    // slot's owner first) into slot `index`, and waits until every member has. Returns
    // the members' cells, kCellBytes apart in rank order, readable until this member's
    // next meet() on the slot returns (the one after reuses the memory). One meet() per
    // member at a time, in the same order on every member.
    virtual const char* meet(int index, const std::vector<int>& members, int rank,
                             const void* cell, std::size_t size,
                             const InterruptCheck& interrupt) = 0;
};

class Parcelport {
public:
    virtual ~Parcelport() = default;

    // Short lowercase name ("tcp"), as HPXPY_PARCELPORT spells it.
    virtual std::string name() const = 0;

    // Whether this parcelport can carry messages to `peer` (never asked for self). The
    // handler asks once per peer, in priority order, when it is started.
    virtual bool reaches(int peer) const = 0;

    // Send one message made of `parts` (gathered, not copied) to `dest`; `ack` (nonzero
    // for a synchronous send) travels with it. Blocks until every byte is handed to the
    // transport, making progress meanwhile if the transport needs the peer to read first;
    // calls `interrupt` about every 100 ms while blocked. Throws LocalityLost.
    virtual void send(int dest, int context, int tag, const std::vector<ConstBuffer>& parts,
                      uint32_t ack, const InterruptCheck& interrupt) = 0;

    // Sends an empty message on `context` only if that needs no waiting: no other send to
    // `dest` in progress and room in the ring or socket. For heartbeats, which must never
    // block the thread that sends them (a peer whose pipe is full hears us anyway: it
    // finds our data when it reads). Returns whether it was sent.
    virtual bool try_send_empty(int dest, int context) {
        send(dest, context, 0, {}, 0, nullptr);
        return true;
    }

    // Non-blocking progress: reads whatever has arrived and reports it to the sink.
    // Returns true if it did any work. Never waits for I/O. When another thread is already
    // making progress on this parcelport: with `take_turn` false (a spinning caller) it
    // returns false at once; with `take_turn` true (a caller whose poll() just reported
    // wait_fd() readable) it waits for that thread to finish, then looks, so the caller
    // does not spin on a descriptor that stays readable until the other thread is done.
    virtual bool progress(bool take_turn) = 0;

    // A file descriptor that poll() reports readable when progress() has work, or -1 when
    // this parcelport has none (the handler then polls it in short slices). Fixed for the
    // parcelport's lifetime.
    virtual int wait_fd() const { return -1; }

    // Make a thread blocked inside this parcelport (not in the handler's poll) look again.
    // Transports whose waits all go through wait_fd() need nothing here.
    virtual void wake() {}

    // Transports woken through memory rather than a descriptor (shared memory: a futex
    // doorbell) let the handler sleep inside them when they are its only transport:
    // prepare_sleep() announces the sleeper and returns false when work is already there;
    // between it and sleep(), wake() or an arriving message makes sleep() return at once
    // (the handler checks its own news in that gap); finish_sleep() always follows.
    // A `background` sleeper (the handler's progress thread) is not woken by every
    // arriving message, only by wake() and by a sender that needs room: an idle process
    // costs its senders nothing, and unread messages wait in the transport meanwhile.
    virtual bool can_sleep() const { return false; }
    virtual bool prepare_sleep(uint32_t& ticket, bool /*background*/) {
        ticket = 0;
        return false;
    }
    virtual void sleep(uint32_t /*ticket*/, int /*timeout_ms*/) {}
    virtual void finish_sleep() {}

    // Shared memory with the peers this parcelport reaches, for collectives; or none.
    virtual SharedWindows* windows() { return nullptr; }

    // Whether a waiter may spin now. Shared memory says no while more localities of the
    // host are awake than it has cores (a spinner would take the core a peer needs).
    virtual bool spin_allowed() const { return true; }

    // Tell every peer we are leaving (so our departure is not taken for a crash), wait
    // (bounded) for their goodbyes, and close. Called once, after the handler's
    // background progress thread has stopped: it makes its own progress meanwhile.
    virtual void shutdown() = 0;

    // Leave at once after a failure: tell every peer (best effort, never blocking) which
    // locality was lost (`blame`, or -1 when this process itself fails), then close.
    // `exit_code` >= 0 asks every peer to end with that status (MPI_Abort).
    virtual void abort(int blame, int exit_code) = 0;
};

}  // namespace hpxpy
