#include "parcelport.hpp"

#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "doorbell.hpp"
#include "ring.hpp"

namespace hpxpy {

// The start of every locality's segment. Then one SenderSlot per locality, then one ring
// per locality (the ring that locality writes into; our own index is unused).
namespace shm {
struct SegmentLayout {
    static constexpr uint64_t kMagic = 0x6870787073686d31ull;  // "hpxpshm1"
    uint64_t magic;
    int32_t owner;
    int32_t localities;
    uint64_t ring_capacity;
    alignas(64) shm::Doorbell doorbell;      // the owner's threads sleep here
    alignas(64) std::atomic<uint32_t> attached;  // peers that have mapped this segment
    alignas(64) std::atomic<uint32_t> aborted;   // nonzero: the owner failed and left
    std::atomic<int32_t> abort_blame;            // the locality it blamed (-1: itself)
    std::atomic<int32_t> abort_code;             // MPI_Abort status + 1 (0: none)
    alignas(64) std::atomic<int32_t> awake;      // in the host's lowest locality only
};
}  // namespace shm
using shm::SegmentLayout;

namespace {

struct alignas(64) SenderSlot {
    std::atomic<uint32_t> waiting;  // the sender is blocked on a full ring
};

// The last part of every segment: the owner's broadcast window.
struct Window {
    alignas(64) std::atomic<uint64_t> written;      // chunks published so far
    alignas(64) std::atomic<uint32_t> finished[2];  // readers done with the chunk in half i
    alignas(64) char data[2][ShmParcelport::kWindowChunk];
};

// A meeting slot (SharedWindows::meet): control words, then two banks of cells (one per
// member each), used in turn by consecutive meetings, so a member that has left a meeting
// never writes over cells that a slower member is still reading.
struct alignas(64) SlotControl {
    std::atomic<uint32_t> key;         // the group holding the slot (0: free)
    std::atomic<uint32_t> arrived;     // members in the current meeting
    std::atomic<uint32_t> generation;  // meetings completed
};
constexpr std::size_t kCell = SharedWindows::kCellBytes;

// Every message starts with this (in its first record).
struct MessageHeader {
    int32_t context;
    int32_t tag;
    uint32_t ack;
    uint32_t reserved;
    uint64_t size;
};
static_assert(sizeof(MessageHeader) == 24, "message header must be packed");

constexpr uint32_t kWhole = 1;  // header + every byte of the message
constexpr uint32_t kFirst = 2;  // header + the first chunk
constexpr uint32_t kMore = 3;   // the next chunk
constexpr uint32_t kBye = 4;    // the sender finalized: nothing follows

constexpr std::size_t kMaxRing = std::size_t{1} << 20;
constexpr std::size_t kMinRing = std::size_t{64} << 10;
constexpr std::size_t kRingBudget = std::size_t{8} << 20;  // inbound rings per locality
constexpr int kCheckEveryMs = 20;   // peers' liveness, while waiting
constexpr int kSliceMs = 100;

// A power of two: 1 MiB per ring up to 8 peers, less beyond (64 KiB at least).
std::size_t ring_capacity_for(int localities) {
    std::size_t per = kRingBudget / static_cast<std::size_t>(std::max(1, localities - 1));
    std::size_t cap = kMinRing;
    while (cap * 2 <= per && cap < kMaxRing) cap *= 2;
    return cap;
}

std::size_t align64(std::size_t n) { return (n + 63) & ~std::size_t{63}; }

int pidfd_open(int pid) {
#ifdef SYS_pidfd_open
    return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
#else
    (void)pid;
    return -1;
#endif
}

// Walks a list of parts, handing out the next `n` bytes as slices (no copy).
class PartCursor {
public:
    explicit PartCursor(const std::vector<ConstBuffer>& parts) : parts_(parts) {}
    void take(std::size_t n, std::vector<ConstBuffer>& out) {
        while (n > 0 && index_ < parts_.size()) {
            const ConstBuffer& part = parts_[index_];
            std::size_t take = std::min(n, part.size - offset_);
            if (take) out.push_back({static_cast<const char*>(part.data) + offset_, take});
            offset_ += take;
            n -= take;
            if (offset_ == part.size) {
                ++index_;
                offset_ = 0;
            }
        }
    }

private:
    const std::vector<ConstBuffer>& parts_;
    std::size_t index_ = 0;
    std::size_t offset_ = 0;
};

}  // namespace

struct ShmParcelport::Peer {
    int id = -1;
    int pid = 0;
    int pidfd = -1;
    shm::Segment segment;        // theirs, mapped here
    SegmentLayout* layout = nullptr;    // theirs
    shm::SpscRing out;           // in their segment: we produce
    std::atomic<uint32_t>* out_waiting = nullptr;  // their slot for us
    shm::SpscRing in;            // in our segment: we consume
    std::atomic<uint32_t>* in_waiting = nullptr;   // our slot for them
    std::mutex send_mu;
    // Guarded by progress_mu_:
    bool open = true;  // still read
    bool said_bye = false;
    bool partial = false;
    MessageHeader header{};
    PayloadPtr payload;   // where the message goes, unless...
    FillTarget target;    // ...a posted receive claimed it
    std::size_t got = 0;
    // Read by senders without the lock:
    std::atomic<bool> lost{false};
    std::atomic<bool> departed{false};

    Peer(shm::Segment seg, shm::SpscRing o, shm::SpscRing i)
        : segment(std::move(seg)), out(o), in(i) {}
};

namespace shm {

namespace {
}  // namespace
std::size_t rings_end(int localities, std::size_t capacity) {
    const auto n = static_cast<std::size_t>(localities);
    return align64(sizeof(SegmentLayout)) + n * sizeof(SenderSlot) +
           n * align64(SpscRing::footprint(capacity));
}
std::size_t slot_bytes(int localities) {
    return sizeof(SlotControl) + 2 * static_cast<std::size_t>(localities) * kCell;
}
std::size_t segment_bytes(int localities, std::size_t capacity) {
    return rings_end(localities, capacity) + sizeof(Window) +
           ShmParcelport::kSlots * slot_bytes(localities);
}

std::shared_ptr<Segment> create_locality_segment(int self, int size) {
    const std::size_t capacity = ring_capacity_for(size);
    auto segment = std::make_shared<Segment>(
        Segment::create(segment_bytes(size, capacity), "hpxpy-locality-" + std::to_string(self)));
    char* base = static_cast<char*>(segment->data());
    auto* layout = new (base) SegmentLayout;
    layout->owner = self;
    layout->localities = size;
    layout->ring_capacity = capacity;
    layout->attached.store(0);
    layout->aborted.store(0);
    layout->abort_blame.store(-1);
    layout->abort_code.store(0);
    layout->awake.store(0);
    char* slots = base + align64(sizeof(SegmentLayout));
    for (int i = 0; i < size; ++i) new (slots + i * sizeof(SenderSlot)) SenderSlot{};
    char* rings = slots + static_cast<std::size_t>(size) * sizeof(SenderSlot);
    for (int i = 0; i < size; ++i)
        if (i != self)
            SpscRing::create(rings + static_cast<std::size_t>(i) *
                                         align64(SpscRing::footprint(capacity)),
                             capacity);
    new (base + rings_end(size, capacity)) Window{};
    char* first_slot = base + rings_end(size, capacity) + sizeof(Window);
    for (int i = 0; i < ShmParcelport::kSlots; ++i)
        new (first_slot + static_cast<std::size_t>(i) * slot_bytes(size)) SlotControl{};
    std::atomic_thread_fence(std::memory_order_release);
    layout->magic = SegmentLayout::kMagic;
    return segment;
}

std::string endpoint_of(const Segment& segment) {
    return std::to_string(getpid()) + ":" + std::to_string(segment.fd()) + ":" +
           std::to_string(segment.size());
}

}  // namespace shm

namespace {
// The ring locality `writer` writes into, and its waiting flag, in a segment.
char* ring_memory(void* base, int localities, std::size_t capacity, int writer) {
    return static_cast<char*>(base) + align64(sizeof(SegmentLayout)) +
           static_cast<std::size_t>(localities) * sizeof(SenderSlot) +
           static_cast<std::size_t>(writer) * align64(shm::SpscRing::footprint(capacity));
}
Window* window_of(void* base) {
    auto* layout = static_cast<SegmentLayout*>(base);
    return reinterpret_cast<Window*>(static_cast<char*>(base) +
                                     shm::rings_end(layout->localities, layout->ring_capacity));
}
SlotControl* meeting_slot(void* base, int index) {
    auto* layout = static_cast<SegmentLayout*>(base);
    return reinterpret_cast<SlotControl*>(
        static_cast<char*>(base) + shm::rings_end(layout->localities, layout->ring_capacity) +
        sizeof(Window) + static_cast<std::size_t>(index) * shm::slot_bytes(layout->localities));
}
// Bank `bank`'s cell of member 0 in a slot.
char* slot_cells(SlotControl* slot, int localities, uint32_t bank) {
    return reinterpret_cast<char*>(slot + 1) +
           (bank & 1u) * static_cast<std::size_t>(localities) * kCell;
}
std::atomic<uint32_t>* slot_of(void* base, int writer) {
    char* slots = static_cast<char*>(base) + align64(sizeof(SegmentLayout));
    return &reinterpret_cast<SenderSlot*>(slots + static_cast<std::size_t>(writer) *
                                                      sizeof(SenderSlot))->waiting;
}
}  // namespace

ShmParcelport::ShmParcelport(int self, std::shared_ptr<shm::Segment> own,
                             const std::vector<shm::PeerEndpoint>& peers, ParcelSink& sink,
                             int spin_us)
    : self_(self), sink_(sink), spin_us_(spin_us), own_(std::move(own)) {
    own_layout_ = static_cast<SegmentLayout*>(own_->data());
    const int size = own_layout_->localities;
    if (own_layout_->magic != SegmentLayout::kMagic || own_layout_->owner != self ||
        peers.size() != static_cast<std::size_t>(size))
        throw std::invalid_argument("shm parcelport: segment and peer list do not match");
    const std::size_t capacity = own_layout_->ring_capacity;
    peers_.resize(peers.size());
    for (int i = 0; i < size; ++i) {
        const shm::PeerEndpoint& where = peers[static_cast<std::size_t>(i)];
        if (i == self || where.pid <= 0) continue;
        shm::Segment theirs = shm::Segment::open(where.pid, where.fd, where.size);
        auto* layout = static_cast<SegmentLayout*>(theirs.data());
        if (layout->magic != SegmentLayout::kMagic || layout->owner != i ||
            layout->localities != size || layout->ring_capacity != capacity)
            throw std::runtime_error("shm parcelport: the segment published by locality " +
                                     std::to_string(i) + " is not that locality's");
        auto out = shm::SpscRing::attach(ring_memory(theirs.data(), size, capacity, self));
        auto in = shm::SpscRing::attach(ring_memory(own_->data(), size, capacity, i));
        auto peer = std::make_unique<Peer>(std::move(theirs), out, in);
        peer->id = i;
        peer->pid = where.pid;
        peer->pidfd = pidfd_open(where.pid);
        peer->layout = layout;
        peer->out_waiting = slot_of(peer->segment.data(), self);
        peer->in_waiting = slot_of(own_->data(), i);
        layout->attached.fetch_add(1);
        peers_[static_cast<std::size_t>(i)] = std::move(peer);
        ++same_host_peers_;
    }
    if (same_host_peers_ == 0) own_->close_fd();
    // The host's lowest locality keeps the count of awake localities; we are one.
    SegmentLayout* leader = own_layout_;
    for (auto& peer : peers_)
        if (peer && peer->id < leader->owner) leader = peer->layout;
    awake_ = &leader->awake;
    awake_->fetch_add(1);
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    cores_ = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? std::max(1, CPU_COUNT(&cpus)) : 1;
}

void ShmParcelport::note_asleep() {
    if (asleep_here_.fetch_add(1) == 0) awake_->fetch_sub(1);
}

void ShmParcelport::note_awake() {
    if (asleep_here_.fetch_sub(1) == 1) awake_->fetch_add(1);
}

bool ShmParcelport::spin_allowed() const {
    // Up to two waiters per core take turns by yielding while nothing else wants the cores;
    // beyond that, or once a yield came back late, waiters sleep on their doorbells.
    constexpr int kWaitersPerCore = 2;
    const int awake = awake_->load(std::memory_order_relaxed);
    return awake <= cores_ || (awake <= kWaitersPerCore * cores_ && !core_recently_contended());
}

ShmParcelport::~ShmParcelport() {
    for (auto& peer : peers_)
        if (peer && peer->pidfd >= 0) close(peer->pidfd);
}

bool ShmParcelport::reaches(int peer) const {
    return peer >= 0 && static_cast<std::size_t>(peer) < peers_.size() &&
           peers_[static_cast<std::size_t>(peer)] != nullptr;
}

void ShmParcelport::throw_if_gone(const Peer& peer) const {
    if (peer.lost) throw LocalityLost(peer.id, "its process ended");
    if (peer.departed)
        throw LocalityLost(peer.id, "it finalized and left the job");
    if (closed_) throw std::runtime_error("hpxpy: the runtime has been finalized");
}

void ShmParcelport::push(Peer& peer, uint32_t kind, const ConstBuffer* parts, std::size_t count,
                         const InterruptCheck& interrupt,
                         std::chrono::steady_clock::time_point deadline) {
    if (peer.out.try_push(kind, parts, count)) {
        peer.layout->doorbell.ring_if_sleeping();
        return;
    }
    using clock = std::chrono::steady_clock;
    const auto spin_until = clock::now() + std::chrono::microseconds(spin_us_);
    auto next_interrupt = clock::now() + std::chrono::milliseconds(kSliceMs);
    bool rang_consumer = false;
    for (;;) {
        // Read our own rings: the peer may be blocked sending to us.
        progress(false);
        if (peer.out.try_push(kind, parts, count)) break;
        // (A departed peer still reads its rings until it has our goodbye.)
        if (peer.lost) throw LocalityLost(peer.id, "its process ended");
        if (closed_) throw std::runtime_error("hpxpy: the runtime has been finalized");
        const auto now = clock::now();
        if (now > deadline) throw std::runtime_error("hpxpy: shm send timed out");
        if (now >= next_interrupt) {
            if (interrupt) interrupt();
            next_interrupt = now + std::chrono::milliseconds(kSliceMs);
        }
        if (now < spin_until && spin_allowed()) {
            yield_core();
            continue;
        }
        // Sleep on our own doorbell: the consumer rings it when it frees room (it sees our
        // waiting flag), and so does anyone sending to us. Ring the consumer once first:
        // its background thread does not wake for single messages, but must drain now.
        if (!rang_consumer) {
            peer.layout->doorbell.ring();
            rang_consumer = true;
        }
        peer.out_waiting->store(1);
        const uint32_t ticket = own_layout_->doorbell.prepare();
        bool pushed = peer.out.try_push(kind, parts, count);
        if (!pushed) {
            note_asleep();
            own_layout_->doorbell.sleep(ticket, kCheckEveryMs);
            note_awake();
        }
        own_layout_->doorbell.finish();
        peer.out_waiting->store(0);
        if (pushed) break;
        std::unique_lock<std::mutex> lock(progress_mu_, std::try_to_lock);
        if (lock.owns_lock()) check_peers_locked(false);
    }
    peer.layout->doorbell.ring_if_sleeping();
}

void ShmParcelport::send(int dest, int context, int tag, const std::vector<ConstBuffer>& parts,
                         uint32_t ack, const InterruptCheck& interrupt) {
    Peer& peer = *peers_.at(static_cast<std::size_t>(dest));
    throw_if_gone(peer);
    MessageHeader header{context, tag, ack, 0, 0};
    for (const auto& part : parts) header.size += part.size;
    const auto forever = std::chrono::steady_clock::time_point::max();
    std::vector<ConstBuffer> record;
    record.reserve(parts.size() + 1);
    record.push_back({&header, sizeof header});
    std::lock_guard<std::mutex> lock(peer.send_mu);
    if (sizeof header + header.size <= peer.out.max_payload()) {
        for (const auto& part : parts)
            if (part.size) record.push_back(part);
        push(peer, kWhole, record.data(), record.size(), interrupt, forever);
        return;
    }
    // Chunks of a quarter ring: the receiver drains one while we fill the next.
    const std::size_t chunk = peer.out.capacity() / 4;
    PartCursor cursor(parts);
    cursor.take(chunk - sizeof header, record);
    push(peer, kFirst, record.data(), record.size(), interrupt, forever);
    std::size_t sent = chunk - sizeof header;
    while (sent < header.size) {
        record.clear();
        const std::size_t n = std::min<std::size_t>(chunk, header.size - sent);
        cursor.take(n, record);
        push(peer, kMore, record.data(), record.size(), interrupt, forever);
        sent += n;
    }
}

bool ShmParcelport::try_send_empty(int dest, int context) {
    Peer& peer = *peers_.at(static_cast<std::size_t>(dest));
    if (peer.lost || peer.departed || closed_) return false;
    std::unique_lock<std::mutex> lock(peer.send_mu, std::try_to_lock);
    if (!lock.owns_lock()) return false;  // a send in progress: the peer hears that
    MessageHeader header{context, 0, 0, 0, 0};
    const ConstBuffer record{&header, sizeof header};
    if (!peer.out.try_push(kWhole, &record, 1)) return false;
    peer.layout->doorbell.ring_if_sleeping();
    return true;
}

bool ShmParcelport::read_peer_locked(Peer& peer) {
    bool any = false;
    uint32_t kind;
    const char* data;
    std::size_t size;
    // At most one ring's worth per pass: a sender refilling as fast as we read must not
    // keep this pass (and whoever runs it) going forever.
    std::size_t budget = peer.in.capacity();
    while (peer.open && budget > 0 && peer.in.front(kind, data, size)) {
        budget -= std::min(budget, size + 8);
        // Flow control: a new message waits in the ring (and then the sender) while the
        // engine holds its limit of unexpected data from this peer.
        if ((kind == kWhole || kind == kFirst) && !sink_.accepting(peer.id)) return any;
        any = true;
        if (kind == kWhole || kind == kFirst) {
            if (size < sizeof(MessageHeader)) {
                peer.in.pop();
                mark_lost(peer, "protocol error (short record)");
                return any;
            }
            std::memcpy(&peer.header, data, sizeof(MessageHeader));
            peer.got = size - sizeof(MessageHeader);
            if (peer.got > peer.header.size) {
                peer.in.pop();
                mark_lost(peer, "protocol error (record larger than its message)");
                return any;
            }
            // Straight into a posted receive's buffer when one claims it.
            peer.target = sink_.claim(peer.id, peer.header.context, peer.header.tag,
                                      peer.header.ack, peer.header.size);
            if (peer.target) {
                peer.target.write(0, data + sizeof(MessageHeader), peer.got);
            } else {
                peer.payload = std::make_shared<Payload>(peer.header.size);
                std::memcpy(peer.payload->data(), data + sizeof(MessageHeader), peer.got);
            }
            peer.partial = true;
        } else if (kind == kMore && peer.partial &&
                   peer.got + size <= peer.header.size) {
            if (peer.target)
                peer.target.write(peer.got, data, size);
            else
                std::memcpy(peer.payload->data() + peer.got, data, size);
            peer.got += size;
        } else if (kind == kBye) {
            peer.in.pop();
            peer.said_bye = true;
            peer.open = false;
            peer.departed = true;
            sink_.peer_departed(peer.id);
            return any;
        } else {
            peer.in.pop();
            mark_lost(peer, "protocol error (unexpected record)");
            return any;
        }
        peer.in.pop();
        // A sender blocked on this full ring sleeps until we ring it.
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (peer.in_waiting->load(std::memory_order_relaxed))
            peer.layout->doorbell.ring_if_sleeping();
        if (peer.partial && peer.got == peer.header.size && peer.target) {
            peer.partial = false;
            void* token = peer.target.token;
            peer.target = {};
            sink_.filled(token);
        } else if (peer.partial && peer.got == peer.header.size) {
            peer.partial = false;
            Message message;
            message.source = peer.id;
            message.context = peer.header.context;
            message.tag = peer.header.tag;
            message.ack = peer.header.ack;
            message.payload = std::move(peer.payload);
            sink_.deliver(std::move(message));
        }
    }
    return any;
}

bool ShmParcelport::read_all_locked() {
    bool any = false;
    for (auto& peer : peers_)
        if (peer && peer->open) any = read_peer_locked(*peer) || any;
    return any;
}

void ShmParcelport::mark_lost(Peer& peer, const std::string& why) {
    peer.open = false;
    if (!peer.lost.exchange(true)) sink_.peer_lost(peer.id, why);
}

void ShmParcelport::check_peers_locked(bool force) {
    const auto now = std::chrono::steady_clock::now();
    if (!force && now < next_check_) return;
    next_check_ = now + std::chrono::milliseconds(kCheckEveryMs);
    // Once every peer has mapped our segment, nobody else may open it.
    if (own_->fd() >= 0 && own_layout_->attached.load() >= same_host_peers_) own_->close_fd();
    for (auto& peer : peers_) {
        if (!peer || !peer->open) continue;
        if (peer->layout->aborted.load(std::memory_order_acquire)) {
            read_peer_locked(*peer);  // what it sent before failing comes first
            if (!peer->open) continue;
            peer->open = false;
            peer->lost = true;
            const int code = peer->layout->abort_code.load();
            const int blame = peer->layout->abort_blame.load();
            if (code > 0) sink_.job_aborted(peer->id, code - 1);
            if (blame >= 0 && blame != self_)
                sink_.peer_lost(blame, "reported lost by locality " + std::to_string(peer->id));
            else
                sink_.peer_lost(peer->id, "it failed (uncaught exception or abort)");
            continue;
        }
        bool ended = false;
        if (peer->pidfd >= 0) {
            pollfd pfd{peer->pidfd, POLLIN, 0};
            ended = poll(&pfd, 1, 0) > 0;
        } else {
            ended = kill(peer->pid, 0) != 0 && errno == ESRCH;
        }
        if (ended) {
            read_peer_locked(*peer);
            if (peer->open) mark_lost(*peer, "its process ended without goodbye");
        }
    }
}

bool ShmParcelport::progress(bool take_turn) {
    std::unique_lock<std::mutex> lock(progress_mu_, std::defer_lock);
    if (take_turn)
        lock.lock();
    else if (!lock.try_lock())
        return false;
    if (closed_) return false;
    bool any = read_all_locked();
    if (!any) check_peers_locked(false);
    return any;
}

thread_local bool ShmParcelport::sleeping_in_background_ = false;

void ShmParcelport::wake() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (background_sleepers_.load(std::memory_order_relaxed) != 0)
        own_layout_->doorbell.ring();
    else
        own_layout_->doorbell.ring_if_sleeping();
}

bool ShmParcelport::prepare_sleep(uint32_t& ticket, bool background) {
    sleeping_in_background_ = background;
    if (background) {
        background_sleepers_.fetch_add(1);
        ticket = own_layout_->doorbell.peek();
        return true;  // unread messages may wait: they do not need this thread
    }
    ticket = own_layout_->doorbell.prepare();
    for (auto& peer : peers_)
        if (peer && peer->open && !peer->in.empty() && sink_.accepting(peer->id)) return false;
    return true;
}

void ShmParcelport::sleep(uint32_t ticket, int timeout_ms) {
    const bool counted = !sleeping_in_background_;  // the background thread never counts
    if (counted) note_asleep();
    own_layout_->doorbell.sleep(ticket, timeout_ms < 0 ? 1000 : timeout_ms);
    if (counted) note_awake();
}

void ShmParcelport::finish_sleep() {
    if (sleeping_in_background_)
        background_sleepers_.fetch_sub(1);
    else
        own_layout_->doorbell.finish();
}

void ShmParcelport::shutdown() {
    // Goodbye into every live peer's ring (after everything we sent), then wait (bounded)
    // for theirs, reading meanwhile: a peer may still be sending us what it owes.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (auto& peer : peers_) {
        // A peer that said goodbye first still waits for ours.
        if (!peer || peer->lost) continue;
        try {
            std::lock_guard<std::mutex> lock(peer->send_mu);
            push(*peer, kBye, nullptr, 0, nullptr, deadline);
        } catch (const std::exception&) {
            // lost or too slow: it learns from our process ending
        }
    }
    for (;;) {
        bool waiting = false;
        {
            std::lock_guard<std::mutex> lock(progress_mu_);
            read_all_locked();
            check_peers_locked(false);
            for (auto& peer : peers_)
                if (peer && peer->open) waiting = true;
        }
        if (!waiting || std::chrono::steady_clock::now() > deadline) break;
        const uint32_t ticket = own_layout_->doorbell.prepare();
        bool idle = true;
        for (auto& peer : peers_)
            if (peer && peer->open && !peer->in.empty()) idle = false;
        if (idle) own_layout_->doorbell.sleep(ticket, 10);
        own_layout_->doorbell.finish();
    }
    closed_ = true;
    own_->close_fd();
    awake_->fetch_sub(1);  // leaving: no longer competes for the cores
}

void ShmParcelport::abort(int blame, int exit_code) {
    // Tell every peer through our own segment (they look when woken or every few ms),
    // then ring them all. Never blocks.
    own_layout_->abort_blame.store(blame);
    own_layout_->abort_code.store(exit_code + 1);
    own_layout_->aborted.store(1, std::memory_order_release);
    for (auto& peer : peers_)
        if (peer) peer->layout->doorbell.ring();
    closed_ = true;
    own_->close_fd();
}

// ---- shared windows (broadcast) ----
//
// The root writes chunk k into half k % 2 of its window once every reader has finished
// chunk k - 2 there, then publishes `written` = k + 1 and rings the readers; a reader copies
// chunk k out once `written` > k, counts itself in that half's `finished` and rings the root.

void ShmParcelport::acquire(const InterruptCheck& interrupt) {
    window_mu_.lock();
    Window* w = window_of(own_->data());
    try {
        finish_pending_locked(interrupt);
    } catch (...) {
        window_mu_.unlock();
        throw;
    }
    w->written.store(0);
    w->finished[0].store(0);
    w->finished[1].store(0);
}

void ShmParcelport::release() { window_mu_.unlock(); }

template <typename Ready>
void ShmParcelport::wait_window(Ready ready, const std::vector<int>& peers,
                                const InterruptCheck& interrupt) {
    using clock = std::chrono::steady_clock;
    const auto spin_until = clock::now() + std::chrono::microseconds(spin_us_);
    // The interrupt check may take the GIL: every slice, not every wake-up.
    auto next_interrupt = clock::now() + std::chrono::milliseconds(kSliceMs);
    while (!ready()) {
        progress(false);  // keep our rings moving: a peer may be sending to us meanwhile
        if (clock::now() < spin_until && spin_allowed()) {
            yield_core();
            continue;
        }
        const uint32_t ticket = own_layout_->doorbell.prepare();
        if (!ready()) {
            note_asleep();
            own_layout_->doorbell.sleep(ticket, kCheckEveryMs);
            note_awake();
        }
        own_layout_->doorbell.finish();
        {
            std::unique_lock<std::mutex> lock(progress_mu_, std::try_to_lock);
            if (lock.owns_lock()) check_peers_locked(false);
        }
        for (int peer : peers) {
            Peer* p = peers_[static_cast<std::size_t>(peer)].get();
            if (p && p->lost) {
                // The caller's check names the job's first loss (the root cause, which
                // this peer may only have reported); else this peer.
                if (interrupt) interrupt();
                throw LocalityLost(peer, "its process ended");
            }
        }
        if (interrupt && clock::now() >= next_interrupt) {
            interrupt();
            next_interrupt = clock::now() + std::chrono::milliseconds(kSliceMs);
        }
    }
}

void ShmParcelport::publish(const std::vector<ConstBuffer>& parts, std::size_t size,
                            const std::vector<int>& readers, const InterruptCheck& interrupt,
                            const std::function<void()>& announce) {
    Window* w = window_of(own_->data());
    const auto count = static_cast<uint32_t>(readers.size());
    PartCursor cursor(parts);
    std::vector<ConstBuffer> slices;
    const std::size_t chunks = (size + kWindowChunk - 1) / kWindowChunk;
    if (chunks == 0) announce();
    for (std::size_t k = 0; k < chunks; ++k) {
        const std::size_t half = k % 2;
        if (k >= 2)
            wait_window([&] { return w->finished[half].load() >= count; }, readers, interrupt);
        w->finished[half].store(0);
        slices.clear();
        const std::size_t n = std::min(kWindowChunk, size - k * kWindowChunk);
        cursor.take(n, slices);
        char* at = w->data[half];
        for (const ConstBuffer& part : slices) {
            std::memcpy(at, part.data, part.size);
            at += part.size;
        }
        w->written.store(k + 1, std::memory_order_release);
        if (k + 1 == std::min<std::size_t>(chunks, 2)) announce();
        for (int reader : readers)
            if (Peer* p = peers_[static_cast<std::size_t>(reader)].get())
                p->layout->doorbell.ring_if_sleeping();
    }
    // The window holds the last chunks: the caller's buffer is free now, and the next
    // broadcast from here waits for these readers first.
    pending_readers_ = readers;
    pending_chunks_ = chunks;
}

void ShmParcelport::finish_pending_locked(const InterruptCheck& interrupt) {
    if (pending_chunks_ == 0) return;
    Window* w = window_of(own_->data());
    const auto count = static_cast<uint32_t>(pending_readers_.size());
    const std::size_t chunks = pending_chunks_;
    for (std::size_t k = chunks > 2 ? chunks - 2 : 0; k < chunks; ++k)
        wait_window([&] { return w->finished[k % 2].load() >= count; }, pending_readers_,
                    interrupt);
    pending_chunks_ = 0;
    pending_readers_.clear();
}

void ShmParcelport::read(int root, char* out, std::size_t size, const InterruptCheck& interrupt) {
    Peer& from = *peers_.at(static_cast<std::size_t>(root));
    Window* w = window_of(from.segment.data());
    const std::size_t chunks = (size + kWindowChunk - 1) / kWindowChunk;
    for (std::size_t k = 0; k < chunks; ++k) {
        wait_window([&] { return w->written.load(std::memory_order_acquire) > k; }, {root},
                    interrupt);
        const std::size_t n = std::min(kWindowChunk, size - k * kWindowChunk);
        std::memcpy(out + k * kWindowChunk, w->data[k % 2], n);
        w->finished[k % 2].fetch_add(1);
        from.layout->doorbell.ring_if_sleeping();
    }
}

int ShmParcelport::claim_slot(uint32_t key) {
    for (int i = 0; i < kSlots; ++i) {
        uint32_t free_key = 0;
        if (meeting_slot(own_->data(), i)->key.compare_exchange_strong(free_key, key))
            return i;
    }
    return -1;
}

SegmentLayout* ShmParcelport::layout_of(int locality) const {
    if (locality == self_) return own_layout_;
    const Peer* p = peers_.at(static_cast<std::size_t>(locality)).get();
    if (!p) throw std::runtime_error("shm: locality " + std::to_string(locality) +
                                     " is not on this host");
    return p->layout;
}

const char* ShmParcelport::meet(int index, const std::vector<int>& members, int rank,
                                const void* cell, std::size_t size,
                                const InterruptCheck& interrupt) {
    if (size > kCell) throw std::invalid_argument("shm: a meeting cell holds 256 bytes");
    SegmentLayout* owner = layout_of(members.at(0));
    SlotControl* slot = meeting_slot(owner, index);
    const int localities = own_layout_->localities;
    // Our previous meeting has completed (we saw its generation), so this is the current one.
    const uint32_t generation = slot->generation.load(std::memory_order_acquire);
    char* cells = slot_cells(slot, localities, generation);
    if (size) std::memcpy(cells + static_cast<std::size_t>(rank) * kCell, cell, size);
    const auto n = static_cast<uint32_t>(members.size());
    if (slot->arrived.fetch_add(1, std::memory_order_acq_rel) + 1 == n) {
        // Last: reset for the next meeting before anyone can see this one end.
        slot->arrived.store(0, std::memory_order_relaxed);
        slot->generation.store(generation + 1, std::memory_order_release);
        for (int m : members)
            if (m != self_) layout_of(m)->doorbell.ring_if_sleeping();
        return cells;
    }
    // (wait_window's liveness check skips our own entry: we have no Peer for ourselves.)
    wait_window([&] { return slot->generation.load(std::memory_order_acquire) != generation; },
                members, interrupt);
    return cells;
}

}  // namespace hpxpy
