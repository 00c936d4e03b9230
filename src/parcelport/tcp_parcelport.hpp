// TCP parcelport: one authenticated stream per peer (set up by the Python bootstrap and
// handed over as file descriptors), a progress thread that blocks in poll(), and
// caller-driven progress for waiters that are still in their short spin.
#pragma once

#include <atomic>
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
              const InterruptCheck& interrupt) override;
    bool progress_try() override;
    void shutdown() override;
    void abort(int blame) override;
    std::string name() const override { return "tcp"; }

private:
    struct Peer;
    void progress_loop();
    // Reads everything available on one peer; requires progress_mu_.
    void read_available(Peer& peer);
    void mark_lost(Peer& peer, const std::string& why);
    void stop_and_close();

    int self_;
    ParcelSink& sink_;
    std::vector<std::unique_ptr<Peer>> peers_;
    std::mutex progress_mu_;  // one reader of the sockets at a time
    int wake_pipe_[2] = {-1, -1};
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace hpxpy
