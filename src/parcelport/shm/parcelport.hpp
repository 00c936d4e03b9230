// Shared-memory parcelport: carries messages between the localities of one host.
//
// Every locality owns one segment (a memfd, see segment.hpp) holding a doorbell and one
// inbound ring per peer (ring.hpp: single producer = that peer, single consumer = us).
// Every locality maps every same-host peer's segment, so a send is a copy into the
// destination's ring for us, and a receive a copy out of our own rings: no system call on
// either side while both are busy.
//
// - Records: a message that fits one record goes whole (header + data); a larger one is
//   cut into chunks of a quarter ring, so the receiver copies one chunk out while the
//   sender copies the next in (pipelined). A goodbye record ends a peer's stream.
// - Waiting (the handler's sleep hooks, doorbell.hpp): a waiter announces itself on its own
//   doorbell, looks once more, and sleeps in a futex; a sender rings the destination's
//   doorbell only when someone there sleeps. A sender whose ring is full marks itself
//   waiting in the destination's segment and sleeps on its own doorbell; the consumer
//   rings it after freeing room. Neither side ever spins beyond the handler's spin budget.
// - Failures: a peer's process end is seen through a pidfd (polled while waiting), its
//   abort through a flag in its segment; what it sent before is delivered first.
// - Nothing outlives the job: segments have no name, and each owner closes the descriptor
//   peers open it by as soon as all of them have mapped it.
// - After the rings: the broadcast window (SharedWindows) and the meeting slots of the
//   groups whose rank 0 this locality is (small blocking collectives without messages).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../parcelport.hpp"
#include "segment.hpp"

namespace hpxpy {
namespace shm {

struct SegmentLayout;  // the head of a locality's segment (parcelport.cpp)

// Where a peer's segment can be opened; pid 0: the peer is not on this host.
struct PeerEndpoint {
    int pid = 0;
    int fd = -1;
    std::size_t size = 0;
};

// A new segment for locality `self` of a job of `size`, laid out (doorbell, rings) and
// ready for peers to open. The bootstrap publishes its endpoint before the parcelport
// exists.
std::shared_ptr<Segment> create_locality_segment(int self, int size);
// "pid:fd:size", as the rendezvous table carries it.
std::string endpoint_of(const Segment& segment);

}  // namespace shm

class ShmParcelport final : public Parcelport, private SharedWindows {
public:
    // `own` is this locality's segment (from create_locality_segment); `peers[i]` where
    // locality i's segment is (pid 0: not reached). Opens and maps every peer's segment;
    // throws std::system_error / std::runtime_error if one cannot be opened or is not one.
    // `spin_us` bounds how long a sender facing a full ring spins before it sleeps.
    ShmParcelport(int self, std::shared_ptr<shm::Segment> own,
                  const std::vector<shm::PeerEndpoint>& peers, ParcelSink& sink, int spin_us);
    ~ShmParcelport() override;

    std::string name() const override { return "shm"; }
    bool reaches(int peer) const override;
    void send(int dest, int context, int tag, const std::vector<ConstBuffer>& parts,
              uint32_t ack, const InterruptCheck& interrupt) override;
    bool try_send_empty(int dest, int context) override;
    bool progress(bool take_turn) override;
    void wake() override;
    bool can_sleep() const override { return true; }
    bool prepare_sleep(uint32_t& ticket, bool background) override;
    void sleep(uint32_t ticket, int timeout_ms) override;
    void finish_sleep() override;
    void shutdown() override;
    void abort(int blame, int exit_code) override;
    SharedWindows* windows() override { return this; }
    bool spin_allowed() const override;

    static constexpr std::size_t kWindowChunk = std::size_t{1} << 20;  // two per window
    static constexpr int kSlots = 128;  // meeting slots per segment

private:
    // SharedWindows: each segment ends with a window of two chunks (double buffering).
    void acquire(const InterruptCheck& interrupt) override;
    void release() override;
    void publish(const std::vector<ConstBuffer>& parts, std::size_t size,
                 const std::vector<int>& readers, const InterruptCheck& interrupt,
                 const std::function<void()>& announce) override;
    void read(int root, char* out, std::size_t size, const InterruptCheck& interrupt) override;
    int claim_slot(uint32_t key) override;
    const char* meet(int index, const std::vector<int>& members, int rank, const void* cell,
                     std::size_t size, const InterruptCheck& interrupt) override;
    shm::SegmentLayout* layout_of(int locality) const;
    // Waits for the readers of the last broadcast to finish (window_mu_ held).
    void finish_pending_locked(const InterruptCheck& interrupt);
    // Spins (the spin budget), then sleeps on our doorbell in short slices, until `ready`;
    // checks that `peers` live and calls `interrupt` every slice.
    template <typename Ready>
    void wait_window(Ready ready, const std::vector<int>& peers, const InterruptCheck& interrupt);

    struct Peer;
    // Pushes one record into `peer`'s ring for us, waiting for room (reading our own rings
    // meanwhile, so two localities sending to each other never deadlock).
    void push(Peer& peer, uint32_t kind, const ConstBuffer* parts, std::size_t count,
              const InterruptCheck& interrupt, std::chrono::steady_clock::time_point deadline);
    // Requires progress_mu_.
    bool read_all_locked();
    bool read_peer_locked(Peer& peer);
    void check_peers_locked(bool force);
    void mark_lost(Peer& peer, const std::string& why);
    void throw_if_gone(const Peer& peer) const;

    const int self_;
    ParcelSink& sink_;
    const int spin_us_;
    std::shared_ptr<shm::Segment> own_;
    shm::SegmentLayout* own_layout_ = nullptr;
    std::vector<std::unique_ptr<Peer>> peers_;  // per locality; null for self / unreached
    std::size_t same_host_peers_ = 0;
    std::mutex progress_mu_;  // one consumer of our rings at a time
    std::chrono::steady_clock::time_point next_check_{};
    std::atomic<bool> closed_{false};
    std::mutex window_mu_;  // one broadcast through our window at a time
    // The last broadcast's readers may still be copying its final chunks (window_mu_).
    std::vector<int> pending_readers_;
    std::size_t pending_chunks_ = 0;
    // The handler's background thread sleeps without announcing itself on the doorbell
    // (senders do not ring for it); wake() and starved senders still do.
    std::atomic<int> background_sleepers_{0};
    // Localities of this host not asleep in hpxpy, counted in the segment of the host's
    // lowest locality (every one maps it); spinning is allowed while it is <= cores_.
    std::atomic<int32_t>* awake_ = nullptr;
    int cores_ = 1;
    std::atomic<int> asleep_here_{0};  // our application threads asleep in a futex
    void note_asleep();
    void note_awake();
    thread_local static bool sleeping_in_background_;
};

}  // namespace hpxpy
