// TCP parcelport: one authenticated stream per peer (set up by the Python bootstrap and
// handed over as file descriptors). Progress is made by whoever waits: an application
// thread spinning briefly (progress_try) or blocked in poll() (wait_for_input), and, when
// no application thread waits, a background progress thread blocked in poll() so that
// unexpected messages are still drained and senders never stall.
#pragma once

#include <poll.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "parcelport.hpp"

namespace hpxpy {

class TcpParcelport final : public Parcelport {
public:
    // fds[i] is the connected socket to locality i (-1 for self).
    TcpParcelport(int self, std::vector<int> fds, ParcelSink& sink);
    ~TcpParcelport() override;

    void send(int dest, int context, int tag, const std::vector<ConstBuffer>& parts,
              uint32_t ack, const InterruptCheck& interrupt) override;
    bool progress_try() override;
    void begin_wait() override { ++app_waiting_; }
    void end_wait() override { --app_waiting_; }
    bool wait_for_input(int timeout_ms, const std::atomic<uint64_t>& arrivals,
                        uint64_t seen) override;
    void notify_poller() override;
    void shutdown() override;
    void abort(int blame, int exit_code) override;
    std::string name() const override { return "tcp"; }

private:
    struct Peer;
    void progress_loop();
    // Reads everything available on one peer; requires progress_mu_.
    void read_available(Peer& peer);
    void mark_lost(Peer& peer, const std::string& why);
    void stop_and_close();
    // poll() on `first` (the wake pipe, or a socket we wait to write to) and on every open
    // peer's input; reads what arrived. Needs poll_token_. True if anything was ready.
    bool poll_and_read(pollfd first, int timeout_ms);
    // A sender blocked on a full socket: waits until `dest` is writable, reading incoming
    // data meanwhile if no one else is. False after a 100 ms slice with nothing to do.
    bool wait_writable(Peer& dest);
    void kick();
    void rest(int ms);

    int self_;
    ParcelSink& sink_;
    std::vector<std::unique_ptr<Peer>> peers_;
    std::mutex progress_mu_;  // one reader of the sockets at a time
    int wake_pipe_[2] = {-1, -1};  // written to wake whoever is blocked in poll()
    std::mutex poll_token_;         // whoever holds it blocks in poll() for everyone
    std::atomic<std::thread::id> poller_{};
    std::atomic<bool> background_polling_{false};
    std::atomic<int> app_waiting_{0};
    std::mutex idle_mu_;  // the background thread rests here while applications wait
    std::condition_variable idle_cv_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace hpxpy
