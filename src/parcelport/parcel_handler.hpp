// The parcel handler: the one place between the matching engine and the transports.
//
// - Routes: when started, it picks a route for every peer once: self (a loopback copy),
//   else the first parcelport, in the order they were added (= priority), whose
//   reaches(peer) is true. A peer no parcelport reaches has no route: sends to it throw.
// - Progress: progress() runs every parcelport's non-blocking progress.
// - Waiting: all of it happens here. A thread waiting for a message (Wait) first spins for
//   a bounded time (progress, then sched_yield so a peer sharing the core can run), then
//   blocks in poll() on every parcelport's wait descriptor plus the handler's wake pipe,
//   and runs progress on what became ready: the waiting thread reads the transport itself,
//   one wake-up per message. When the only transport sleeps in memory (shared memory:
//   can_sleep), the waiter sleeps in its futex doorbell instead of poll(). One thread at a time holds the "poll token" and blocks for
//   everyone; a report made by any other thread (deliver, lost peer) kicks it through the
//   wake pipe, so no wake-up is lost. While no application thread waits, a background
//   progress thread holds the token and blocks in poll() (never spins), so unexpected
//   messages are drained and senders never stall; when an application thread starts
//   waiting, the background thread steps aside (until 10 ms after the last wait ended).
// - Heartbeats: a locality that stops (SIGSTOP, a host whose link is cut) closes no socket
//   and leaves its pid alive, so nothing else would notice it. Whichever thread runs the
//   handler (a waiter every slice, the background thread at least once a second) sends an
//   empty heartbeat, once a second, to each peer it sent nothing else to in that second,
//   and counts what arrives from each peer (any message, or the transport offering one).
//   A peer silent for HPXPY_HEARTBEAT seconds (default 6; 0 turns heartbeats off) is
//   reported lost, so every survivor that waits raises LocalityError naming it. A
//   heartbeat never blocks its thread: with a send to that peer in progress or its pipe
//   full it is skipped (the peer hears that data instead).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "parcelport.hpp"

namespace hpxpy {

// The poll token: a lock handed out in arrival order. With std::mutex a thread that
// releases the token and comes straight back for it (a second application thread waiting
// beside the program's own, e.g. the RMA service thread) takes it again before the
// woken waiter runs, and the waiter starves until the holder's 100 ms slice ends.
class FairToken {
public:
    void lock() {
        std::unique_lock<std::mutex> guard(mu_);
        const uint64_t ticket = next_++;
        cv_.wait(guard, [&] { return serving_ == ticket; });
    }
    bool try_lock() {
        std::lock_guard<std::mutex> guard(mu_);
        if (next_ != serving_) return false;
        ++next_;
        return true;
    }
    void unlock() {
        {
            std::lock_guard<std::mutex> guard(mu_);
            ++serving_;
        }
        cv_.notify_all();
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    uint64_t next_ = 0;     // the next ticket handed out
    uint64_t serving_ = 0;  // the ticket that holds the token
};

class ParcelHandler final : private ParcelSink {
public:
    // Reports from the parcelports go to `upstream` (the engine); `spin_us` is how long a
    // Wait spins before it blocks.
    ParcelHandler(int self, int size, ParcelSink& upstream, int spin_us)
        : ParcelHandler(self, size, size, upstream, spin_us) {}
    // `capacity` >= size: peers size..capacity-1 may join later (add_joined/join).
    ParcelHandler(int self, int size, int capacity, ParcelSink& upstream, int spin_us);
    ~ParcelHandler() override;
    ParcelHandler(const ParcelHandler&) = delete;
    ParcelHandler& operator=(const ParcelHandler&) = delete;

    // What parcelports report to: the handler forwards to the engine and wakes the waiter.
    ParcelSink& port_sink() { return *this; }

    // Adds a transport; those added first are preferred. Only before start().
    void add(std::unique_ptr<Parcelport> port);
    // Picks every peer's route; starts the background progress thread if there is any
    // parcelport.
    void start();
    // Processes that join a running job (spawned, or connected through a port) travel
    // over one more parcelport, added once, after start(): `port` from then on carries
    // the messages of every peer given to join(). Safe while other threads wait.
    Parcelport* joined_port() const { return joined_.load(std::memory_order_acquire); }
    void add_joined(std::unique_ptr<Parcelport> port);
    void join(int peer, Parcelport* port);

    int self() const { return self_; }
    int size() const { return size_; }
    // The parcelport carrying messages to `peer`; nullptr for self and for an unreached peer.
    Parcelport* route(int peer) const;
    // "self", the parcelport's name, or "none".
    std::string route_name(int peer) const;
    // Shared windows reaching every one of `localities` (self allowed), or null.
    SharedWindows* windows_for(const std::vector<int>& localities) const;

    // To self: a copy delivered to the engine at once. Otherwise the peer's route.
    void send(int dest, int context, int tag, const std::vector<ConstBuffer>& parts,
              uint32_t ack, const InterruptCheck& interrupt);

    // One non-blocking pass over every parcelport; true if any did work. `take_turn`: see
    // Parcelport::progress (false: skip a parcelport another thread is progressing).
    bool progress(bool take_turn = false);

    // Whether a waiter may spin now (every parcelport agrees; see Parcelport::spin_allowed).
    bool spin_allowed() const;

    // Something changed that a blocked waiter must look at (the engine calls it after
    // deliveries it made itself, and at shutdown): kick whoever sits in poll().
    void notify();

    // One thread's wait for a message. While any Wait exists the background progress
    // thread stands aside.
    class Wait {
    public:
        explicit Wait(ParcelHandler& handler);
        ~Wait();
        Wait(const Wait&) = delete;
        Wait& operator=(const Wait&) = delete;
        // Makes progress until `news` differs from `seen` or about 100 ms pass: within the
        // spin budget one non-blocking pass, after it a blocking poll(). False when
        // nothing happened (a timed-out slice: the caller checks for Ctrl-C).
        bool step(const std::atomic<uint64_t>& news, uint64_t seen);

    private:
        ParcelHandler& handler_;
        std::chrono::steady_clock::time_point spin_until_;
    };

    // Stops the background thread, then every parcelport says goodbye and closes
    // (graceful) or aborts telling peers that `blame` was lost. Once.
    void shutdown(bool graceful, int blame);
    // Leaves at once: every parcelport aborts with `exit_code` (MPI_Abort).
    void abort(int exit_code);

    static constexpr int kSliceMs = 100;  // blocked waits return this often (Ctrl-C)
    // Heartbeats travel on this context (below the engine's first free one; the engine
    // never sees them). Sent every kHeartbeatMs to a peer that got nothing else.
    static constexpr int kHeartbeatContext = 2;
    static constexpr int kHeartbeatMs = 1000;
    // Silence after which a peer is lost unless HPXPY_HEARTBEAT says otherwise: survivors
    // raise within 10 s, with room for a peer descheduled for seconds on a busy machine.
    static constexpr int kDefaultSilenceMs = 6000;
    // Sends the heartbeats due and reports peers silent too long; at most once per
    // kHeartbeatMs, by one thread at a time (others return at once). Never blocks. Every
    // wait calls it, so heartbeats go out whatever this locality's threads wait in.
    void heartbeat_tick();

private:
    // ParcelSink, for the parcelports: forward upward, then wake the waiter.
    void deliver(Message&& message) override;
    void peer_lost(int locality, const std::string& why) override;
    void peer_departed(int locality) override;
    void job_aborted(int locality, int exit_code) override;
    void progress_idle() override { upstream_.progress_idle(); }
    bool accepting(int source) override {
        heard(source);  // it has a message for us: alive, even if we cannot take it yet
        return upstream_.accepting(source);
    }
    FillTarget claim(int source, int context, int tag, uint32_t ack, std::size_t size) override {
        heard(source);
        return upstream_.claim(source, context, tag, ack, size);
    }
    void filled(void* token) override;

    // Heartbeats (see the top of this file).
    void heard(int source) {
        if (source >= 0 && source < size_ && heartbeat_ms_ > 0)
            heard_[static_cast<std::size_t>(source)].fetch_add(1, std::memory_order_relaxed);
    }
    bool block(int timeout_ms, const std::atomic<uint64_t>& news, uint64_t seen);
    // Waits (up to timeout_ms, -1: long) for something to do, then progresses it: in the
    // sleeping transport if that is the only one, else poll() on the wake pipe and every
    // wait descriptor. `news`/`seen`: the waiter's own news, looked at once more after the
    // sleep is announced (nullptr: none). Needs the poll token.
    bool wait_and_progress(int timeout_ms, const std::atomic<uint64_t>* news, uint64_t seen);
    bool poll_and_progress(int timeout_ms);
    void progress_loop();
    void kick();
    void rest(int ms);
    void stop_thread();

    const int self_;
    const int size_;
    const int spin_us_;
    ParcelSink& upstream_;
    std::vector<std::unique_ptr<Parcelport>> ports_;  // priority order
    std::vector<Parcelport*> routes_;                 // per peer; nullptr: self / none
    const int capacity_;                              // routes_.size()
    std::unique_ptr<Parcelport> joined_owner_;        // the joined peers' parcelport
    std::atomic<Parcelport*> joined_{nullptr};        // published once it is ready
    bool started_ = false;
    bool some_port_without_fd_ = false;
    Parcelport* sleeper_ = nullptr;  // the only transport, when it sleeps in memory

    int wake_pipe_[2] = {-1, -1};  // written to wake whoever is blocked in poll()
    FairToken poll_token_;         // whoever holds it blocks in poll() for everyone
    std::atomic<std::thread::id> poller_{};
    std::atomic<bool> background_polling_{false};
    std::atomic<int> app_waiting_{0};
    std::atomic<std::chrono::steady_clock::rep> last_wait_end_{0};
    static constexpr std::chrono::steady_clock::rep kStandAsideNs = 10'000'000;
    std::mutex idle_mu_;  // the background thread rests here while applications wait
    std::condition_variable idle_cv_;
    const int heartbeat_ms_;  // silence after which a peer is lost; 0: no heartbeats
    std::unique_ptr<std::atomic<uint32_t>[]> heard_;  // per peer: messages seen from it
    std::unique_ptr<std::atomic<uint32_t>[]> said_;   // per peer: messages sent to it
    std::unique_ptr<std::atomic<bool>[]> departed_;   // per peer: said goodbye (no heartbeats)
    std::atomic<int64_t> next_tick_ns_{0};
    std::mutex tick_mu_;  // one ticking thread; guards the three vectors below
    std::vector<uint32_t> heard_seen_, said_seen_;  // the counts at the last tick
    std::vector<int64_t> heard_at_ns_;              // when heard_ last moved
    std::atomic<bool> stopping_{false};
    std::atomic<bool> closed_{false};
    std::thread thread_;
};

}  // namespace hpxpy
