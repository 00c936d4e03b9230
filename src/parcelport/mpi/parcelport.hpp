// MPI parcelport: parcels travel over the MPI library loaded at run time (library.hpp), so
// a cluster's tuned MPI (InfiniBand, its shared memory) carries hpxpy's traffic. Every MPI
// call is made under one lock (MPI_THREAD_SERIALIZED), by whichever thread sends or runs
// progress; there is no thread of its own. On a duplicate of MPI_COMM_WORLD:
// - a frame (tag kTagFrame): TCP's 24-byte header, then the whole message when it is small
//   (eager, copied: send returns at once), else the parts before the last one;
// - a larger message's body (tag kTagBody) follows its frame: up to kCopyMax a copy (send
//   returns at once), above it the last part straight from the caller's memory (the sender
//   waits until MPI is done with it), or a copy of the whole message when the parts before
//   the last are too big to inline.
// The receiver matches frames with MPI_Improbe(ANY_SOURCE), receives them with MPI_Mrecv
// and posts the body's MPI_Irecv straight into the receive that claimed it (or a payload).
// Messages of one source are taken strictly in order: a frame matched while that source's
// body is still arriving, or while flow control refuses it, is held (its MPI_Message) and
// received later. MPI has no descriptor to poll: waiters sleep in this parcelport
// (can_sleep), testing MPI with growing pauses (an eighth of the wait, up to 1 ms; the background
// thread's up to 2 ms), and wake() cuts a pause short.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "../parcelport.hpp"
#include "mpi_abi.hpp"

namespace hpxpy {

class MpiParcelport final : public Parcelport {
public:
    // MPI must be started (mpi::Library::start) and `size` be MPI_COMM_WORLD's size;
    // collective over MPI_COMM_WORLD (duplicates it).
    MpiParcelport(int self, int size, ParcelSink& sink);
    ~MpiParcelport() override;

    std::string name() const override { return "mpi"; }
    bool reaches(int peer) const override;
    void send(int dest, int context, int tag, const std::vector<ConstBuffer>& parts,
              uint32_t ack, const InterruptCheck& interrupt) override;
    bool progress(bool take_turn) override;
    void wake() override;
    bool can_sleep() const override { return true; }
    bool prepare_sleep(uint32_t& ticket, bool background) override;
    void sleep(uint32_t ticket, int timeout_ms) override;
    void shutdown() override;
    void abort(int blame, int exit_code) override;

    // Messages up to this size travel in their frame (one copy on each side).
    static constexpr std::size_t kEagerMax = 16 * 1024;
    // Up to this size a larger message is copied too (its body), so the send returns at
    // once: waiting for the receiver to take each one costs more than the copy (osu bw of
    // 64 KiB messages was 6-16x slower when every body was sent from the caller's memory).
    static constexpr std::size_t kCopyMax = 256 * 1024;
    // A large message's parts before the last one go in its frame up to this size.
    static constexpr std::size_t kInlineMax = 4 * 1024;
    // Sends that returned before MPI finished with them (their copies) hold at most this.
    static constexpr std::size_t kInFlightMax = 64u << 20;

private:
    struct Peer;
    struct Outgoing {
        mpi_abi::Request request;
        std::unique_ptr<char[]> copy;
        PayloadPtr gathered;
        std::size_t bytes;
    };
    // All of these require mu_.
    bool progress_locked();
    bool test_sends_locked();
    bool advance_locked(Peer& peer);
    void receive_frame_locked(Peer& peer, mpi_abi::Message message, std::size_t count);
    void finish_body_locked(Peer& peer);
    void post_locked(const void* data, std::size_t bytes, int dest, int tag, Outgoing* keep,
                     mpi_abi::Request* request);
    // Waits (making progress, with backoff) until `done` holds; interrupt every ~100 ms.
    template <class Done>
    void wait_until(Done done, const InterruptCheck& interrupt);

    const int self_;
    ParcelSink& sink_;
    std::vector<std::unique_ptr<Peer>> peers_;
    std::mutex mu_;  // every MPI call, and the state below
    mpi_abi::Comm comm_ = nullptr;
    std::vector<Outgoing> in_flight_;
    std::size_t in_flight_bytes_ = 0;
    std::vector<char> frame_;  // receives frames
    bool closed_ = false;
    // Sleeping: wake() moves wakes_ and cuts the current pause short.
    std::atomic<uint32_t> wakes_{0};
    std::atomic<bool> background_{false};
    std::mutex sleep_mu_;
    std::condition_variable sleep_cv_;
};

}  // namespace hpxpy
