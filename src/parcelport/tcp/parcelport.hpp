// TCP parcelport: one authenticated stream per peer (set up by the Python bootstrap and
// handed over as file descriptors). Every open socket is registered with one epoll
// instance, whose descriptor is this parcelport's wait_fd(): the parcel handler polls it
// with its other transports and calls progress() when it is readable. Framing, bulk reads
// through a staging buffer, zero-copy gathered sends and goodbye/abort frames stay here;
// who waits is the handler's business.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "../parcelport.hpp"

namespace hpxpy {

class TcpParcelport final : public Parcelport {
public:
    // fds[i] is the connected socket to locality i (-1 for self and for peers this
    // parcelport does not reach). Takes ownership of the sockets.
    TcpParcelport(int self, std::vector<int> fds, ParcelSink& sink);
    // The parcelport of processes that join later: `capacity` peer slots, none connected;
    // attach() connects one. Its peers number localities differently (their own job's
    // ids), so an abort from one blames that peer itself.
    TcpParcelport(int self, int capacity, ParcelSink& sink);
    ~TcpParcelport() override;

    // Starts reading a connected, authenticated socket as peer `peer` (a free slot).
    void attach(int peer, int fd);
    // A clean departure from one peer only (MPI_Comm_disconnect): goodbye, wait (bounded)
    // for its goodbye, close. Waits for that peer fail from then on.
    void leave(int peer);

    std::string name() const override { return "tcp"; }
    bool reaches(int peer) const override;
    void send(int dest, int context, int tag, const std::vector<ConstBuffer>& parts,
              uint32_t ack, const InterruptCheck& interrupt) override;
    bool try_send_empty(int dest, int context) override;
    bool progress(bool take_turn) override;
    int wait_fd() const override { return epoll_fd_; }
    void shutdown() override;
    void abort(int blame, int exit_code) override;

private:
    struct Peer;
    // Reads everything available on the ready sockets; requires progress_mu_.
    bool read_ready_locked();
    // Flow control: reads again from the paused peers the engine accepts from now.
    bool resume_paused_locked();
    // Reads everything available on one peer; requires progress_mu_.
    void read_available(Peer& peer);
    // The peer's input is finished (lost or departed): stop watching its socket.
    void forget_input(Peer& peer);
    void mark_lost(Peer& peer, const std::string& why);
    void close_all();
    // Sends a goodbye frame (bounded: 2 s for room in the socket).
    void say_bye(Peer& peer);

    int self_;
    ParcelSink& sink_;
    std::vector<std::unique_ptr<Peer>> peers_;
    std::mutex progress_mu_;  // one reader of the sockets at a time
    int paused_ = 0;          // peers left unread by flow control (progress_mu_)
    int epoll_fd_ = -1;       // every open socket, for input
    bool joined_ = false;     // peers of other jobs: their blame ids mean nothing here
};

}  // namespace hpxpy
