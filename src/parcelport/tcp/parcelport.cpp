#include "parcelport.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace hpxpy {
namespace {

// Every frame on the wire: this header, then `size` payload bytes.
struct FrameHeader {
    uint32_t kind;
    int32_t context;
    int32_t tag;
    uint32_t reserved;  // data frames: the synchronous-send ack id (0: none)
    uint64_t size;
};
static_assert(sizeof(FrameHeader) == 24, "frame header must be packed");

constexpr uint32_t kFrameData = 0x44585048;  // "HPXD"
constexpr uint32_t kFrameBye = 0x42585048;   // "HPXB": clean departure, EOF follows
constexpr uint32_t kFrameAbort = 0x41585048; // "HPXA": failing; tag = the locality to blame
constexpr std::size_t kStageBytes = 64 * 1024;
constexpr std::size_t kMaxIov = 512;
constexpr int kPollSliceMs = 100;
constexpr int kMaxEvents = 64;

void set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

}  // namespace

struct TcpParcelport::Peer {
    int id = -1;
    int fd = -1;
    std::mutex send_mu;
    // Guarded by progress_mu_:
    bool open = false;       // still read
    bool paused = false;     // flow control: out of the epoll set until accepted again
    bool said_bye = false;   // the peer announced a clean departure
    std::unique_ptr<char[]> stage;  // small frames are read in bulk through here
    std::size_t beg = 0, end = 0;
    bool have_header = false;
    FrameHeader header{};
    PayloadPtr payload;  // where the message goes, unless...
    FillTarget target;   // ...a posted receive claimed it
    std::size_t got = 0;
    // Read by senders without the lock:
    std::atomic<bool> lost{false};
};

TcpParcelport::TcpParcelport(int self, std::vector<int> fds, ParcelSink& sink)
    : self_(self), sink_(sink) {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) throw std::runtime_error("hpxpy: cannot create an epoll instance");
    for (std::size_t i = 0; i < fds.size(); ++i) {
        auto peer = std::make_unique<Peer>();
        peer->id = static_cast<int>(i);
        peer->fd = fds[i];
        if (peer->fd >= 0 && peer->id != self_) {
            set_nonblocking(peer->fd);
            epoll_event ev{};
            ev.events = EPOLLIN;  // level-triggered: what one read leaves is reported again
            ev.data.u32 = static_cast<uint32_t>(i);
            if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, peer->fd, &ev) != 0)
                throw std::runtime_error("hpxpy: cannot watch the socket of locality " +
                                         std::to_string(i));
            peer->open = true;
            peer->stage.reset(new char[kStageBytes]);
        }
        peers_.push_back(std::move(peer));
    }
}

TcpParcelport::TcpParcelport(int self, int capacity, ParcelSink& sink)
    : TcpParcelport(self, std::vector<int>(static_cast<std::size_t>(capacity), -1), sink) {
    joined_ = true;
}

void TcpParcelport::attach(int id, int fd) {
    std::lock_guard<std::mutex> lock(progress_mu_);
    Peer& peer = *peers_.at(static_cast<std::size_t>(id));
    if (peer.fd >= 0 || peer.open) throw std::logic_error("hpxpy: peer slot in use");
    set_nonblocking(fd);
    if (!peer.stage) peer.stage.reset(new char[kStageBytes]);
    peer.fd = fd;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(id);
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0)
        throw std::runtime_error("hpxpy: cannot watch the socket of joined peer " +
                                 std::to_string(id));
    peer.open = true;
}

void TcpParcelport::leave(int id) {
    Peer& peer = *peers_.at(static_cast<std::size_t>(id));
    if (peer.fd < 0) return;
    if (!peer.lost) say_bye(peer);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    bool departed = false;
    for (;;) {
        {
            std::lock_guard<std::mutex> lock(progress_mu_);
            departed = peer.said_bye;
            if (!peer.open || peer.said_bye || peer.lost) break;
        }
        if (std::chrono::steady_clock::now() > deadline) break;
        pollfd pfd{peer.fd, POLLIN, 0};
        poll(&pfd, 1, 10);
        progress(true);
    }
    {
        std::lock_guard<std::mutex> sending(peer.send_mu);  // send() locks in this order
        std::lock_guard<std::mutex> lock(progress_mu_);
        if (peer.open) forget_input(peer);
        if (peer.fd >= 0) close(peer.fd);
        peer.fd = -1;
    }
    if (departed) sink_.peer_departed(id);
}

TcpParcelport::~TcpParcelport() {
    close_all();
    close(epoll_fd_);
}

bool TcpParcelport::reaches(int peer) const {
    if (peer < 0 || static_cast<std::size_t>(peer) >= peers_.size() || peer == self_)
        return false;
    return peers_[static_cast<std::size_t>(peer)]->fd >= 0;
}

void TcpParcelport::forget_input(Peer& peer) {
    peer.open = false;
    if (peer.paused) {
        peer.paused = false;
        --paused_;
    }
    if (peer.fd >= 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, peer.fd, nullptr);
}

void TcpParcelport::mark_lost(Peer& peer, const std::string& why) {
    forget_input(peer);
    if (!peer.lost.exchange(true)) sink_.peer_lost(peer.id, why);
}

void TcpParcelport::read_available(Peer& peer) {
    // A bounded pass (epoll reports the rest again): a sender refilling the socket as fast
    // as we read must not keep whoever runs this pass here forever.
    std::size_t budget = 4 * kStageBytes;
    while (peer.open) {
        ssize_t n;
        if (!peer.have_header && !sink_.accepting(peer.id)) {
            // Flow control: leave the next message in the socket (its sender blocks once
            // the socket buffers fill) until the engine takes from this peer again.
            if (!peer.paused) {
                epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, peer.fd, nullptr);
                peer.paused = true;
                ++paused_;
            }
            return;
        }
        if (!peer.have_header) {
            if (peer.end - peer.beg >= sizeof(FrameHeader)) {
                std::memcpy(&peer.header, peer.stage.get() + peer.beg, sizeof(FrameHeader));
                peer.beg += sizeof(FrameHeader);
                if (peer.header.kind == kFrameBye) {
                    peer.said_bye = true;
                    continue;
                }
                if (peer.header.kind == kFrameAbort) {
                    // The peer leaves because of a failure: blame the locality it names,
                    // so every survivor reports the root cause, not the first casualty.
                    int blame = peer.header.tag;
                    forget_input(peer);
                    peer.lost = true;
                    if (peer.header.size > 0)
                        sink_.job_aborted(peer.id, static_cast<int>(peer.header.size - 1));
                    if (blame >= 0 && blame != self_ && !joined_)
                        sink_.peer_lost(blame, "reported lost by locality " +
                                                   std::to_string(peer.id));
                    else
                        sink_.peer_lost(peer.id, "it failed (uncaught exception or abort)");
                    return;
                }
                if (peer.header.kind != kFrameData) {
                    mark_lost(peer, "protocol error (corrupt frame header)");
                    return;
                }
                peer.target = sink_.claim(peer.id, peer.header.context, peer.header.tag,
                                          peer.header.reserved, peer.header.size);
                if (!peer.target) peer.payload = std::make_shared<Payload>(peer.header.size);
                peer.got = 0;
                peer.have_header = true;
                continue;
            }
            // Keep the partial header, make room, read more.
            std::memmove(peer.stage.get(), peer.stage.get() + peer.beg, peer.end - peer.beg);
            peer.end -= peer.beg;
            peer.beg = 0;
            if (budget == 0) return;  // the socket stays readable: epoll reports it again
            n = recv(peer.fd, peer.stage.get() + peer.end, kStageBytes - peer.end, MSG_DONTWAIT);
            if (n > 0) peer.end += static_cast<std::size_t>(n);
        } else {
            std::size_t need = peer.header.size - peer.got;
            if (need == 0 && peer.target) {
                void* token = peer.target.token;
                peer.target = {};
                peer.have_header = false;
                sink_.filled(token);
                continue;
            }
            if (need == 0) {
                Message msg;
                msg.source = peer.id;
                msg.context = peer.header.context;
                msg.tag = peer.header.tag;
                msg.ack = peer.header.reserved;
                msg.payload = std::move(peer.payload);
                peer.have_header = false;
                sink_.deliver(std::move(msg));
                continue;
            }
            std::size_t avail = peer.end - peer.beg;
            if (avail) {
                std::size_t take = std::min(avail, need);
                if (peer.target)
                    peer.target.write(peer.got, peer.stage.get() + peer.beg, take);
                else
                    std::memcpy(peer.payload->data() + peer.got, peer.stage.get() + peer.beg,
                                take);
                peer.got += take;
                peer.beg += take;
                continue;
            }
            peer.beg = peer.end = 0;
            char* home = nullptr;  // large payload: straight into its final home
            if (need >= kStageBytes / 2) {
                if (!peer.target)
                    home = peer.payload->data() + peer.got;
                else if (peer.got >= peer.target.prefix)
                    home = peer.target.body + (peer.got - peer.target.prefix);
            }
            if (budget == 0) return;
            if (home) {
                n = recv(peer.fd, home, need, MSG_DONTWAIT);
                if (n > 0) peer.got += static_cast<std::size_t>(n);
            } else {
                n = recv(peer.fd, peer.stage.get(), kStageBytes, MSG_DONTWAIT);
                if (n > 0) peer.end = static_cast<std::size_t>(n);
            }
        }
        if (n > 0) {
            budget -= std::min(budget, static_cast<std::size_t>(n));
            continue;
        }
        if (n == 0) {
            if (peer.said_bye && !peer.have_header) {
                forget_input(peer);  // clean departure
                sink_.peer_departed(peer.id);
            } else {
                mark_lost(peer, "connection closed without goodbye");
            }
            return;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        mark_lost(peer, std::strerror(errno));
        return;
    }
}

bool TcpParcelport::resume_paused_locked() {
    bool any = false;
    for (auto& peer : peers_) {
        if (!peer->paused || !peer->open || !sink_.accepting(peer->id)) continue;
        peer->paused = false;
        --paused_;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u32 = static_cast<uint32_t>(peer->id);
        epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, peer->fd, &ev);
        read_available(*peer);  // what the stage already holds
        any = true;
    }
    return any;
}

bool TcpParcelport::read_ready_locked() {
    bool resumed = paused_ > 0 && resume_paused_locked();
    epoll_event events[kMaxEvents];
    int n = epoll_wait(epoll_fd_, events, kMaxEvents, 0);
    for (int i = 0; i < n; ++i) {
        Peer& peer = *peers_[events[i].data.u32];
        if (peer.open && !peer.paused) read_available(peer);
    }
    return n > 0 || resumed;
}

bool TcpParcelport::progress(bool take_turn) {
    std::unique_lock<std::mutex> lock(progress_mu_, std::defer_lock);
    if (take_turn)
        lock.lock();  // held only for non-blocking reads: a short wait
    else if (!lock.try_lock())
        return false;
    return read_ready_locked();
}

void TcpParcelport::send(int dest, int context, int tag, const std::vector<ConstBuffer>& parts,
                         uint32_t ack, const InterruptCheck& interrupt) {
    Peer& peer = *peers_.at(static_cast<std::size_t>(dest));
    if (peer.lost) throw LocalityLost(dest, "connection lost");
    FrameHeader header{kFrameData, context, tag, ack, 0};
    std::vector<iovec> iov;
    iov.reserve(parts.size() + 1);
    iov.push_back({&header, sizeof header});
    for (const auto& part : parts) {
        header.size += part.size;
        if (part.size) iov.push_back({const_cast<void*>(part.data), part.size});
    }
    std::lock_guard<std::mutex> lock(peer.send_mu);
    std::size_t first = 0;
    while (first < iov.size()) {
        msghdr msg{};
        msg.msg_iov = &iov[first];
        msg.msg_iovlen = std::min(iov.size() - first, kMaxIov);
        ssize_t n = sendmsg(peer.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                throw LocalityLost(dest, std::string("send failed: ") + std::strerror(errno));
            // Socket buffer full until the peer reads. Meanwhile read what comes to us: the
            // peer may be sending to us at the same time, and blocked until we read.
            pollfd pfds[2] = {{peer.fd, POLLOUT, 0}, {epoll_fd_, POLLIN, 0}};
            int ready = poll(pfds, 2, kPollSliceMs);
            if (ready > 0 && pfds[1].revents) {
                std::lock_guard<std::mutex> reading(progress_mu_);
                read_ready_locked();
            }
            if (ready <= 0) {
                if (peer.lost) throw LocalityLost(dest, "connection lost");
                if (interrupt) interrupt();
            }
            continue;
        }
        auto left = static_cast<std::size_t>(n);
        while (first < iov.size() && left >= iov[first].iov_len) left -= iov[first++].iov_len;
        if (left) {
            iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
            iov[first].iov_len -= left;
        }
    }
}

bool TcpParcelport::try_send_empty(int dest, int context) {
    Peer& peer = *peers_.at(static_cast<std::size_t>(dest));
    if (peer.lost) return false;
    std::unique_lock<std::mutex> lock(peer.send_mu, std::try_to_lock);
    if (!lock.owns_lock()) return false;  // a send in progress: the peer hears that
    // Writable means far more room than one header, so this does not end half written.
    pollfd pfd{peer.fd, POLLOUT, 0};
    if (poll(&pfd, 1, 0) <= 0 || !(pfd.revents & POLLOUT)) return false;
    const FrameHeader header{kFrameData, context, 0, 0, 0};
    const char* p = reinterpret_cast<const char*>(&header);
    std::size_t left = sizeof header;
    // A frame once begun must be finished, or the stream is corrupt.
    while (left) {
        ssize_t n = ::send(peer.fd, p, left, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            p += n;
            left -= static_cast<std::size_t>(n);
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (left == sizeof header) return false;
            poll(&pfd, 1, kPollSliceMs);
        } else {
            return false;  // the reader reports the broken connection
        }
    }
    return true;
}

void TcpParcelport::say_bye(Peer& peer) {
    FrameHeader bye{kFrameBye, 0, 0, 0, 0};
    std::lock_guard<std::mutex> lock(peer.send_mu);
    const char* p = reinterpret_cast<const char*>(&bye);
    std::size_t left = sizeof bye;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (left && std::chrono::steady_clock::now() < deadline) {
        ssize_t n = ::send(peer.fd, p, left, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            p += n;
            left -= static_cast<std::size_t>(n);
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            pollfd pfd{peer.fd, POLLOUT, 0};
            poll(&pfd, 1, 10);
        } else {
            break;
        }
    }
}

void TcpParcelport::shutdown() {
    // Goodbye to every live peer, then wait (bounded) for theirs so no socket is closed
    // with unread data (which would reset the connection under a peer still reading).
    for (auto& peer : peers_) {
        if (peer->fd < 0 || peer->lost) continue;
        say_bye(*peer);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
        bool waiting = false;
        {
            std::lock_guard<std::mutex> lock(progress_mu_);
            for (auto& peer : peers_)
                if (peer->open && !peer->said_bye && !peer->lost) waiting = true;
        }
        if (!waiting || std::chrono::steady_clock::now() > deadline) break;
        // The handler's progress thread has stopped: read the goodbyes ourselves.
        pollfd pfd{epoll_fd_, POLLIN, 0};
        if (poll(&pfd, 1, 10) > 0) {
            std::lock_guard<std::mutex> lock(progress_mu_);
            read_ready_locked();
        }
    }
    close_all();
}

void TcpParcelport::abort(int blame, int exit_code) {
    // size carries exit_code + 1 (0: no exit code, just a failure).
    FrameHeader frame{kFrameAbort, 0, joined_ ? -1 : blame, 0,
                      static_cast<uint64_t>(exit_code + 1)};
    for (auto& peer : peers_) {
        if (peer->fd < 0 || peer->lost) continue;
        // try_lock: a sender may be stuck mid-frame; then that peer learns from the EOF.
        std::unique_lock<std::mutex> lock(peer->send_mu, std::try_to_lock);
        if (lock.owns_lock())
            (void)!::send(peer->fd, &frame, sizeof frame, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    close_all();
}

void TcpParcelport::close_all() {
    // Closing a socket also takes it out of the epoll set.
    std::lock_guard<std::mutex> lock(progress_mu_);
    for (auto& peer : peers_) {
        if (peer->fd >= 0) close(peer->fd);
        peer->fd = -1;
        peer->open = false;
    }
}

}  // namespace hpxpy
