#include "parcelport.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "library.hpp"

namespace hpxpy {
namespace {

using mpi::Library;

// The frame header: as TCP's (kind, context, tag, ack, size of the whole message).
struct FrameHeader {
    uint32_t kind;
    int32_t context;
    int32_t tag;
    uint32_t ack;
    uint64_t size;
};
static_assert(sizeof(FrameHeader) == 24, "frame header must be packed");

constexpr uint32_t kFrameData = 0x44585048;  // "HPXD"
constexpr uint32_t kFrameBye = 0x42585048;   // "HPXB": nothing more comes from this peer
constexpr uint32_t kFrameAbort = 0x41585048; // "HPXA": failing; tag = locality to blame
constexpr int kTagFrame = 1;
constexpr int kTagBody = 2;
constexpr int kFramesPerPass = 64;  // a bounded pass: a fast sender cannot keep us here

// Pauses between looks at MPI while nothing happens: yields for the first 50 us, then an
// eighth of the time waited so far (at least 20 us, at most `cap`). Proportional, not
// doubling: in a ping-pong each side answers only after its own pause, and pauses that
// double with the wait feed on each other up to the cap (measured: 1.2-1.5 ms per hop at
// 2 localities); an eighth of the wait settles near the message's own latency.
// 4 localities on 2 cores must not spin, so a long wait costs a few wake-ups per `cap`.
class Backoff {
public:
    explicit Backoff(std::chrono::microseconds cap) : cap_(cap) {}
    std::chrono::microseconds next() {
        const auto waited = std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::steady_clock::now() - start_);
        if (waited < std::chrono::microseconds(50)) return std::chrono::microseconds(0);
        return std::min(cap_, std::max(std::chrono::microseconds(20), waited / 8));
    }
    void reset() { start_ = std::chrono::steady_clock::now(); }

private:
    std::chrono::microseconds cap_;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

constexpr auto kAppCap = std::chrono::microseconds(1000);
constexpr auto kBackgroundCap = std::chrono::microseconds(2000);

}  // namespace

struct MpiParcelport::Peer {
    int id = -1;
    std::mutex send_mu;  // a frame and its body go out together
    // Guarded by mu_:
    std::deque<std::pair<mpi_abi::Message, std::size_t>> held;  // matched, not received
    bool receiving_body = false;
    mpi_abi::Request body = mpi_abi::REQUEST_NULL;
    FrameHeader header{};
    std::size_t inline_bytes = 0;
    PayloadPtr payload;  // the message, unless a receive claimed it...
    FillTarget target;   // ...then straight there
    PayloadPtr bounce;   // a claimed message whose body cannot go straight to the target
    bool said_bye = false;
    std::atomic<bool> lost{false};
};

MpiParcelport::MpiParcelport(int self, int size, ParcelSink& sink) : self_(self), sink_(sink) {
    Library& mpi = Library::instance();
    if (!mpi.started())
        throw std::invalid_argument("the mpi parcelport needs MPI started first");
    if (mpi.size() != size || mpi.rank() != self)
        throw std::invalid_argument("the mpi parcelport runs as MPI_COMM_WORLD's rank " +
                                    std::to_string(mpi.rank()) + " of " +
                                    std::to_string(mpi.size()) + ", not locality " +
                                    std::to_string(self) + " of " + std::to_string(size));
    for (int i = 0; i < size; ++i) {
        peers_.push_back(std::make_unique<Peer>());
        peers_.back()->id = i;
    }
    // Our own communicator: hpxpy's traffic never matches anyone else's; errors come back
    // as codes instead of aborting the process.
    mpi.check(mpi.comm_dup(mpi_abi::COMM_WORLD, &comm_), "MPI_Comm_dup");
    mpi.check(mpi.comm_set_errhandler(comm_, mpi_abi::ERRORS_RETURN), "MPI_Comm_set_errhandler");
    frame_.resize(sizeof(FrameHeader) + kEagerMax);
}

MpiParcelport::~MpiParcelport() = default;  // MPI_Finalize frees the communicator

bool MpiParcelport::reaches(int peer) const {
    return peer >= 0 && peer < static_cast<int>(peers_.size()) && peer != self_;
}

void MpiParcelport::post_locked(const void* data, std::size_t bytes, int dest, int tag,
                                Outgoing* keep, mpi_abi::Request* request) {
    Library& mpi = Library::instance();
    mpi_abi::Request r = mpi_abi::REQUEST_NULL;
    int code = mpi.isend(data, static_cast<mpi_abi::Count>(bytes), mpi_abi::BYTE, dest, tag,
                         comm_, &r);
    if (code != mpi_abi::SUCCESS) {
        try {
            mpi.check(code, "MPI_Isend");
        } catch (const std::exception& e) {
            throw LocalityLost(dest, e.what());
        }
    }
    if (keep != nullptr) {
        keep->request = r;
        keep->bytes = bytes;
        in_flight_bytes_ += bytes;
        in_flight_.push_back(std::move(*keep));
    } else {
        *request = r;
    }
}

template <class Done>
void MpiParcelport::wait_until(Done done, const InterruptCheck& interrupt) {
    Backoff backoff(kAppCap);
    auto next_check = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
    for (;;) {
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (done()) return;
            if (progress_locked()) backoff.reset();
            if (done()) return;
        }
        std::this_thread::sleep_for(backoff.next());
        if (std::chrono::steady_clock::now() > next_check) {
            next_check += std::chrono::milliseconds(100);
            if (interrupt) interrupt();
        }
    }
}

void MpiParcelport::send(int dest, int context, int tag, const std::vector<ConstBuffer>& parts,
                         uint32_t ack, const InterruptCheck& interrupt) {
    Peer& peer = *peers_.at(static_cast<std::size_t>(dest));
    if (peer.lost) throw LocalityLost(dest, "it failed");
    FrameHeader header{kFrameData, context, tag, ack, 0};
    for (const auto& part : parts) header.size += part.size;
    const std::size_t last = parts.empty() ? 0 : parts.back().size;
    // What goes in the frame after the header: everything (small), the parts before the
    // last one (their body is the last part, sent from where it is), or nothing (the body
    // is a copy of the whole message).
    std::size_t inline_bytes = header.size;
    bool zero_copy = false;
    if (header.size > kEagerMax) {
        const bool split = header.size - last <= kInlineMax;
        inline_bytes = split ? header.size - last : 0;
        zero_copy = split && header.size > kCopyMax;
    }
    Outgoing frame{mpi_abi::REQUEST_NULL, std::make_unique<char[]>(sizeof header + inline_bytes),
                   nullptr, 0};
    std::memcpy(frame.copy.get(), &header, sizeof header);
    {
        std::size_t at = 0;
        for (const auto& part : parts) {
            if (at >= inline_bytes) break;
            const std::size_t n = std::min(part.size, inline_bytes - at);
            std::memcpy(frame.copy.get() + sizeof header + at, part.data, n);
            at += n;
        }
    }
    mpi_abi::Request body = mpi_abi::REQUEST_NULL;
    {
        std::lock_guard<std::mutex> sending(peer.send_mu);
        std::lock_guard<std::mutex> lock(mu_);
        if (closed_) throw LocalityLost(dest, "the mpi parcelport is closed");
        post_locked(frame.copy.get(), sizeof header + inline_bytes, dest, kTagFrame, &frame,
                    nullptr);
        if (header.size > kEagerMax) {
            if (zero_copy) {
                post_locked(parts.back().data, last, dest, kTagBody, nullptr, &body);
            } else if (inline_bytes > 0) {  // a copy of the last part
                Outgoing copy{mpi_abi::REQUEST_NULL, nullptr, gather_copy({parts.back()}), 0};
                post_locked(copy.gathered->data(), last, dest, kTagBody, &copy, nullptr);
            } else {  // a copy of the whole message
                Outgoing copy{mpi_abi::REQUEST_NULL, nullptr, gather_copy(parts), 0};
                post_locked(copy.gathered->data(), header.size, dest, kTagBody, &copy, nullptr);
            }
        }
    }
    if (body != mpi_abi::REQUEST_NULL) {
        // MPI reads the caller's memory until the body completes.
        Library& mpi = Library::instance();
        auto body_done = [&] {
            int flag = 0;
            mpi.check(mpi.test(&body, &flag, nullptr), "MPI_Test");
            return flag != 0;
        };
        try {
            wait_until(body_done, interrupt);
        } catch (...) {
            // Interrupted (Ctrl-C, a lost peer): the caller will free the memory MPI still
            // reads. Give MPI a bounded moment to finish with it before we let go.
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
            try {
                wait_until(body_done, [&] {
                    if (std::chrono::steady_clock::now() > deadline)
                        throw std::runtime_error("hpxpy: gave up waiting for MPI");
                });
            } catch (...) {
            }
            throw;
        }
    }
    // The copies in flight are bounded: a peer that does not receive stops us here.
    wait_until([&] { return in_flight_bytes_ <= kInFlightMax; }, interrupt);
}

bool MpiParcelport::test_sends_locked() {
    Library& mpi = Library::instance();
    bool any = false;
    for (std::size_t i = 0; i < in_flight_.size();) {
        int flag = 0;
        mpi.check(mpi.test(&in_flight_[i].request, &flag, nullptr), "MPI_Test");
        if (!flag) {
            ++i;
            continue;
        }
        in_flight_bytes_ -= in_flight_[i].bytes;
        in_flight_[i] = std::move(in_flight_.back());
        in_flight_.pop_back();
        any = true;
    }
    return any;
}

void MpiParcelport::receive_frame_locked(Peer& peer, mpi_abi::Message message,
                                         std::size_t count) {
    Library& mpi = Library::instance();
    if (frame_.size() < count) frame_.resize(count);
    mpi.check(mpi.mrecv(frame_.data(), static_cast<mpi_abi::Count>(count), mpi_abi::BYTE,
                        &message, nullptr),
              "MPI_Mrecv");
    if (count < sizeof(FrameHeader)) {
        peer.lost = true;
        sink_.peer_lost(peer.id, "protocol error (short frame)");
        return;
    }
    FrameHeader header;
    std::memcpy(&header, frame_.data(), sizeof header);
    const char* data = frame_.data() + sizeof header;
    const std::size_t inline_bytes = count - sizeof header;
    if (header.kind == kFrameBye) {
        peer.said_bye = true;
        sink_.peer_departed(peer.id);
        return;
    }
    if (header.kind == kFrameAbort) {
        // Blame the locality it names, so every survivor reports the root cause.
        peer.lost = true;
        const int blame = header.tag;
        if (header.size > 0) sink_.job_aborted(peer.id, static_cast<int>(header.size - 1));
        if (blame >= 0 && blame != self_)
            sink_.peer_lost(blame, "reported lost by locality " + std::to_string(peer.id));
        else
            sink_.peer_lost(peer.id, "it failed (uncaught exception or abort)");
        return;
    }
    if (header.kind != kFrameData || inline_bytes > header.size) {
        peer.lost = true;
        sink_.peer_lost(peer.id, "protocol error (corrupt frame header)");
        return;
    }
    FillTarget target = sink_.claim(peer.id, header.context, header.tag, header.ack, header.size);
    if (inline_bytes == header.size) {  // the whole message
        if (target) {
            target.write(0, data, inline_bytes);
            sink_.filled(target.token);
            return;
        }
        Message msg{peer.id, header.context, header.tag,
                    std::make_shared<Payload>(header.size), header.ack};
        std::memcpy(msg.payload->data(), data, inline_bytes);
        sink_.deliver(std::move(msg));
        return;
    }
    // A body follows: receive it straight into its final place.
    const std::size_t body_bytes = header.size - inline_bytes;
    char* place;
    if (target) {
        target.write(0, data, inline_bytes);
        if (target.prefix <= inline_bytes) {
            place = target.body + (inline_bytes - target.prefix);
        } else {
            peer.bounce = std::make_shared<Payload>(body_bytes);
            place = peer.bounce->data();
        }
    } else {
        peer.payload = std::make_shared<Payload>(header.size);
        std::memcpy(peer.payload->data(), data, inline_bytes);
        place = peer.payload->data() + inline_bytes;
    }
    peer.header = header;
    peer.inline_bytes = inline_bytes;
    peer.target = target;
    peer.receiving_body = true;
    int code = mpi.irecv(place, static_cast<mpi_abi::Count>(body_bytes), mpi_abi::BYTE, peer.id,
                         kTagBody, comm_, &peer.body);
    mpi.check(code, "MPI_Irecv");
}

void MpiParcelport::finish_body_locked(Peer& peer) {
    peer.receiving_body = false;
    if (peer.target) {
        if (peer.bounce)
            peer.target.write(peer.inline_bytes, peer.bounce->data(), peer.bounce->size());
        peer.bounce.reset();
        void* token = peer.target.token;
        peer.target = {};
        sink_.filled(token);
        return;
    }
    Message msg{peer.id, peer.header.context, peer.header.tag, std::move(peer.payload),
                peer.header.ack};
    sink_.deliver(std::move(msg));
}

bool MpiParcelport::advance_locked(Peer& peer) {
    Library& mpi = Library::instance();
    bool any = false;
    for (;;) {
        if (peer.receiving_body) {
            int flag = 0;
            mpi.check(mpi.test(&peer.body, &flag, nullptr), "MPI_Test");
            if (!flag) return any;
            finish_body_locked(peer);
            any = true;
        }
        if (peer.held.empty() || peer.lost || !sink_.accepting(peer.id)) return any;
        auto [message, count] = peer.held.front();
        peer.held.pop_front();
        receive_frame_locked(peer, message, count);
        any = true;
    }
}

bool MpiParcelport::progress_locked() {
    if (closed_) return false;
    Library& mpi = Library::instance();
    bool any = test_sends_locked();
    for (auto& peer : peers_)
        if (peer->receiving_body || !peer->held.empty()) any = advance_locked(*peer) || any;
    for (int i = 0; i < kFramesPerPass; ++i) {
        int flag = 0;
        mpi_abi::Message message = mpi_abi::MESSAGE_NULL;
        mpi_abi::Status status{};
        mpi.check(mpi.improbe(mpi_abi::ANY_SOURCE, kTagFrame, comm_, &flag, &message, &status),
                  "MPI_Improbe");
        if (!flag) break;
        any = true;
        mpi_abi::Count count = 0;
        mpi.check(mpi.get_count(&status, mpi_abi::BYTE, &count), "MPI_Get_count");
        if (status.source < 0 || status.source >= static_cast<int>(peers_.size()))
            throw std::runtime_error("hpxpy: MPI delivered a frame from unknown rank " +
                                     std::to_string(status.source));
        Peer& peer = *peers_[static_cast<std::size_t>(status.source)];
        // In order per source: behind a body still arriving, behind held frames, or held
        // itself while flow control refuses this source.
        peer.held.emplace_back(message, static_cast<std::size_t>(count));
        advance_locked(peer);
    }
    return any;
}

bool MpiParcelport::progress(bool take_turn) {
    std::unique_lock<std::mutex> lock(mu_, std::defer_lock);
    if (take_turn)
        lock.lock();
    else if (!lock.try_lock())
        return false;
    return progress_locked();
}

void MpiParcelport::wake() {
    wakes_.fetch_add(1);
    {
        std::lock_guard<std::mutex> lock(sleep_mu_);
    }
    sleep_cv_.notify_all();
}

bool MpiParcelport::prepare_sleep(uint32_t& ticket, bool background) {
    ticket = wakes_.load();
    background_ = background;
    return true;  // sleep() itself looks at MPI first
}

void MpiParcelport::sleep(uint32_t ticket, int timeout_ms) {
    // MPI offers nothing to block on: look, then pause (growing), until something came,
    // wake() was called, or the slice is over.
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::milliseconds(timeout_ms < 0 ? 1000 : timeout_ms);
    Backoff backoff(background_ ? kBackgroundCap : kAppCap);
    for (;;) {
        if (wakes_.load() != ticket) return;
        {
            std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
            if (lock.owns_lock() && progress_locked()) return;
        }
        const auto pause = backoff.next();
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) return;
        std::unique_lock<std::mutex> lock(sleep_mu_);
        if (pause.count() == 0) {
            lock.unlock();
            std::this_thread::yield();
            continue;
        }
        sleep_cv_.wait_for(lock, std::min<std::chrono::steady_clock::duration>(pause, deadline - now),
                           [&] { return wakes_.load() != ticket; });
    }
}

void MpiParcelport::shutdown() {
    // Goodbye to every peer (after everything we sent), then wait (bounded) for theirs and
    // for MPI to finish our sends. MPI_Finalize follows (hpxpy._runtime).
    {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& peer : peers_) {
            if (peer->id == self_ || peer->lost) continue;
            FrameHeader bye{kFrameBye, 0, 0, 0, 0};
            Outgoing frame{mpi_abi::REQUEST_NULL, std::make_unique<char[]>(sizeof bye), nullptr,
                           0};
            std::memcpy(frame.copy.get(), &bye, sizeof bye);
            try {
                post_locked(frame.copy.get(), sizeof bye, peer->id, kTagFrame, &frame, nullptr);
            } catch (const LocalityLost&) {
                peer->lost = true;
            }
        }
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    Backoff backoff(kAppCap);
    for (;;) {
        {
            std::lock_guard<std::mutex> lock(mu_);
            progress_locked();
            bool waiting = !in_flight_.empty();
            for (auto& peer : peers_)
                if (peer->id != self_ && !peer->said_bye && !peer->lost) waiting = true;
            if (!waiting || std::chrono::steady_clock::now() > deadline) {
                closed_ = true;
                return;
            }
        }
        std::this_thread::sleep_for(backoff.next());
    }
}

void MpiParcelport::abort(int blame, int exit_code) {
    // Tell every peer (best effort: a sender may hold the lock mid-wait; then that peer
    // learns from the launcher, which ends the job), push the frames out briefly, leave.
    std::unique_lock<std::mutex> lock(mu_, std::defer_lock);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
    while (!lock.try_lock() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (lock.owns_lock() && !closed_) {
        FrameHeader frame{kFrameAbort, 0, blame, 0, static_cast<uint64_t>(exit_code + 1)};
        for (auto& peer : peers_) {
            if (peer->id == self_ || peer->lost) continue;
            Outgoing out{mpi_abi::REQUEST_NULL, std::make_unique<char[]>(sizeof frame), nullptr,
                         0};
            std::memcpy(out.copy.get(), &frame, sizeof frame);
            try {
                post_locked(out.copy.get(), sizeof frame, peer->id, kTagFrame, &out, nullptr);
            } catch (const LocalityLost&) {
            }
        }
        try {
            while (!in_flight_.empty() && std::chrono::steady_clock::now() < deadline) {
                test_sends_locked();
                std::this_thread::sleep_for(std::chrono::microseconds(100));
            }
        } catch (const std::exception&) {
        }
        closed_ = true;
    }
    if (lock.owns_lock()) lock.unlock();
    // MPI_Abort: the launcher ends every process of the job with this status.
    if (exit_code >= 0) Library::instance().abort(exit_code);
}

}  // namespace hpxpy
