// Matching engine: MPI semantics on top of a parcelport. An arriving message completes the
// oldest posted receive it matches, else it waits in the unexpected queue; a new receive
// first takes the oldest matching unexpected message. So messages from one source on one
// context are matched in order, and receives are satisfied in the order they were posted.
// Receives match (context, source, tag) with wildcards. Messages go out and come in
// through the parcel handler, which also does the waiting (spin briefly, then block).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "../parcelport/parcel_handler.hpp"

namespace hpxpy {

// A posted receive. `done` and `message` are written under the engine's lock.
struct RecvRequest {
    int context = 0;
    int source = kAnySource;
    int tag = kAnyTag;
    std::atomic<bool> done{false};
    // Set when done: the message (its payload is null when it was written straight into
    // the receive's own buffer: then `size` bytes arrived, the first `prefix` in `head`).
    Message message;
    // A receive that names its buffer (post_receive_into): a matching message that fits
    // is written there by the transport, with no payload block and no later copy.
    char* body = nullptr;
    std::size_t body_capacity = 0;
    std::size_t prefix = 0;  // <= sizeof head
    char head[32] = {};
    std::size_t size = 0;
    bool direct = false;  // the message went straight into head + body
    // For stall reports (Engine::pending): when it was posted (coarse monotonic clock,
    // ns) and the native id of the thread waiting for it (0: nobody waits yet).
    int64_t posted_ns = 0;
    std::atomic<long> waiter{0};
};
using RecvRequestPtr = std::shared_ptr<RecvRequest>;

// What probe() sees of a waiting message without receiving it.
// Acknowledgements of synchronous sends travel on this context, the ack id as tag.
constexpr int kAckContext = 0;
// Contexts below this one belong to the core (acks, hpx's collectives); communicators take
// theirs from here on (hpxpy/comm/_contexts.py), in blocks their members agree on.
constexpr int kFirstFreeContext = 4;

// One operation a thread of this locality is blocked in (or a receive still posted), as
// Engine::pending() reports it for a stall report. `peer` is a locality (kAnySource: any).
struct PendingOp {
    std::string kind;  // "receive", "probe", "send" (a send blocked by flow control) or
                       // "meeting" (a collective in shared memory, Collectives)
    int context = 0;
    int peer = kAnySource;
    int tag = kAnyTag;
    std::size_t size = 0;  // receive: the capacity of the buffer it names (0: none named);
                           // send: the message's size
    double waited = 0;     // seconds since posted (receive) or since it started waiting
    long thread = 0;       // native id of the thread waiting in it (0: none yet)
};

struct MessageInfo {
    int source;
    int tag;
    std::size_t size;
};

class Engine final : public ParcelSink {
public:
    // `spin_us`: how long a receive polls before it blocks (0 = block at once).
    // `unexpected_limit`: bytes of unexpected messages held per source before the
    // transports stop taking more from it (unless a receive waits for that source).
    Engine(int self, int size, int spin_us, std::size_t unexpected_limit = kUnexpectedLimit);
    static constexpr std::size_t kUnexpectedLimit = std::size_t{64} << 20;

    // The transports are added to the handler (handler().add(...), reporting to
    // handler().port_sink()), then start() picks the routes and starts progress.
    ParcelHandler& handler() { return *handler_; }
    void start() { handler_->start(); }
    void set_interrupt_check(InterruptCheck check) { interrupt_ = std::move(check); }

    int self() const { return self_; }
    int size() const { return size_; }
    // Localities of the job are 0..size-1; ids from size up to capacity() name processes
    // joined later (spawned or connected through a port), in this process's numbering.
    int capacity() const { return capacity_; }
    static constexpr int kJoinedPeers = 1024;

    void send(int dest, int context, int tag, const std::vector<ConstBuffer>& parts,
              uint32_t ack = 0);
    // Messages (and their bytes) this locality has handed to a transport for another
    // locality since start: what a collective costs in messages, counted rather than timed
    // (tests/test_scale.py, benchmarks/scale.py). Shared-memory meetings and the window
    // broadcast's chunks are not messages and are not counted.
    // `received`: messages from other localities that a receive here has matched (a root's
    // gather costs it receives, not sends); counted at the match, so a call's count holds
    // exactly its own messages, even those that arrived before it started.
    struct Traffic {
        uint64_t messages;
        uint64_t bytes;
        uint64_t received;
    };
    Traffic traffic() const {
        return {sent_messages_.load(std::memory_order_relaxed),
                sent_bytes_.load(std::memory_order_relaxed),
                received_messages_.load(std::memory_order_relaxed)};
    }
    // A synchronous send: returns the receive that completes once the destination has
    // matched the message (the engine there acknowledges it at match time).
    RecvRequestPtr send_sync(int dest, int context, int tag,
                             const std::vector<ConstBuffer>& parts);

    RecvRequestPtr post_receive(int context, int source, int tag);
    // As post_receive, naming where a matching message goes: its first `prefix` bytes
    // (at most 32) into the request's head, the rest into `body` (the caller keeps it
    // alive until the request is done or has failed). A message already waiting, or one
    // that does not fit, completes the request with a payload as usual.
    RecvRequestPtr post_receive_into(int context, int source, int tag, std::size_t prefix,
                                     void* body, std::size_t capacity);
    // Blocks until one of `requests` is done; returns its index. Waits for nothing and
    // returns -1 if `requests` is empty.
    int wait_any(const std::vector<RecvRequestPtr>& requests);
    void wait(const RecvRequestPtr& request) { wait_any({request}); }
    // Makes progress once, without blocking; true if the request is done.
    bool test(const RecvRequestPtr& request);
    // Withdraws a receive not matched yet; false if it was already matched.
    bool cancel(const RecvRequestPtr& request);
    Message receive(int context, int source, int tag);

    // Looks at the oldest unexpected message matching, without receiving it.
    std::optional<MessageInfo> iprobe(int context, int source, int tag);
    MessageInfo probe(int context, int source, int tag);

    // Throws LocalityLost if any peer has been lost: the job is then broken everywhere.
    void check_healthy();
    // For waits outside the engine (collectives in shared memory): check_healthy(), then
    // the interrupt check (Ctrl-C).
    void interruption_point() {
        handler_->heartbeat_tick();  // whatever we wait in, the peers keep hearing from us
        check_healthy();
        if (interrupt_) interrupt_();
    }
    // Collective call notes (CallWatch, src/collectives/call_watch.hpp) travel with this
    // tag, which no receive uses: deliver() sets them aside for take_notes() instead of
    // matching them. The idle hook runs where a thread waits and may leave its wait by
    // throwing: whenever a wait in the engine returns with nothing new (or notes came), and
    // at run_idle_hook() (meetings). Not in a blocked send or a window's copy, which must
    // not stop halfway. Set once, before any wait.
    static constexpr int kCallNoteTag = -0x43414C4C;
    void set_idle_hook(std::function<void()> hook) { idle_hook_ = std::move(hook); }
    void run_idle_hook() {
        if (idle_hook_) idle_hook_();
    }
    bool notes_waiting() const { return notes_waiting_.load(std::memory_order_relaxed); }
    std::vector<Message> take_notes();
    void shutdown(bool graceful);
    // What this locality is waiting for: every posted receive not matched yet, every probe
    // in progress and every send blocked (for at least ~100 ms) by flow control. Cheap
    // enough for a report; off every hot path (see the bookkeeping in engine.cpp).
    std::vector<PendingOp> pending();
    // Unexpected messages still waiting on contexts in [first_context, ...) whose context
    // is `residue` modulo 4 (communicators' collective contexts): (context, source, tag, the
    // message's first `head` bytes). For finalize, which reports collective messages
    // nobody received (one member called a collective the others did not).
    struct Leftover {
        int context;
        int source;
        int tag;
        std::string head;
    };
    std::vector<Leftover> leftovers(int first_context, int residue, std::size_t head);
    // Lists a wait outside the engine (a probe, a blocked send, a collective's meeting in
    // shared memory) for pending() until it is removed; the caller's thread waits in it.
    std::list<PendingOp>::iterator add_blocked(PendingOp op);
    void remove_blocked(std::list<PendingOp>::iterator it);
    // Ends this process and asks every peer to end with `exit_code` (MPI_Abort).
    [[noreturn]] void abort_job(int exit_code);
    // What to do when a peer aborts the job: by default, exit with its code at once.
    void set_abort_handler(std::function<void(int, int)> handler) {
        abort_handler_ = std::move(handler);
    }

    // ParcelSink
    void deliver(Message&& message) override;
    void peer_lost(int locality, const std::string& why) override;
    void peer_departed(int locality) override;
    void progress_idle() override { flush_acks(); }
    bool accepting(int source) override;
    FillTarget claim(int source, int context, int tag, uint32_t ack, std::size_t size) override;
    void filled(void* token) override;
    void job_aborted(int locality, int exit_code) override;

private:
    static bool matches(const Message& m, int context, int source, int tag) {
        return m.context == context && (source == kAnySource || m.source == source) &&
               (tag == kAnyTag || m.tag == tag);
    }
    // The oldest posted receive that a message (source, context, tag) matches (mu_ held):
    // the one deliver() completes and claim() lets a transport write into.
    std::list<RecvRequestPtr>::iterator oldest_match_locked(int source, int context, int tag) {
        auto it = posted_.begin();
        while (it != posted_.end() && !(context == (*it)->context &&
                                        ((*it)->source == kAnySource || (*it)->source == source) &&
                                        ((*it)->tag == kAnyTag || (*it)->tag == tag)))
            ++it;
        return it;
    }
    // Blocks until `ready()` (checked under mu_) holds; `sources` are the localities the
    // wait depends on (kAnySource: any), used to fail when one of them has left.
    template <typename Ready>
    void wait_until(Ready ready, const std::vector<int>& sources);
    void check_waitable_locked(const std::vector<int>& sources);
    // Queues the acknowledgement of a matched synchronous send (mu_ held)...
    void matched_locked(const Message& m) {
        if (m.ack) pending_acks_.push_back({m.source, m.ack});
        if (m.source != self_) received_messages_.fetch_add(1, std::memory_order_relaxed);
    }
    // ...and sends the queued ones; only where no lock is held.
    void flush_acks();
    [[noreturn]] void throw_lost_locked();

    const int self_;
    const int size_;
    const int capacity_;  // size_ + kJoinedPeers: the per-peer tables' length
    InterruptCheck interrupt_;
    std::function<void()> idle_hook_;
    std::vector<Message> notes_;  // under mu_
    std::atomic<bool> notes_waiting_{false};
    std::function<void(int, int)> abort_handler_;

    // Flow control counters (written under mu_, read lock-free by accepting()).
    void count_posted_locked(int source, int delta);
    void count_unexpected_locked(const Message& m, int sign);
    // Counts a wait that must see every message of `source` (probe) while it lasts.
    struct Watch;

    std::mutex mu_;
    std::deque<Message> unexpected_;   // arrival order
    std::list<RecvRequestPtr> posted_;  // post order
    std::list<RecvRequestPtr> filling_;  // claimed by a transport, being written
    std::list<PendingOp> blocked_;  // probes in progress and sends blocked (pending())
    const std::size_t unexpected_limit_;
    std::unique_ptr<std::atomic<std::size_t>[]> unexpected_bytes_;  // per source
    std::unique_ptr<std::atomic<int>[]> watching_;                  // per source
    std::atomic<int> watching_any_{0};  // receives/probes for ANY_SOURCE
    std::atomic<uint64_t> arrivals_{0};
    std::vector<std::pair<int, uint32_t>> pending_acks_;  // (locality, ack id)
    std::atomic<uint32_t> next_ack_{1};
    std::vector<char> departed_;  // peers that finalized and left
    int lost_locality_ = -1;
    std::string lost_why_;
    std::atomic<bool> closed_{false};
    std::atomic<uint64_t> sent_messages_{0};  // traffic(): two relaxed adds per send
    std::atomic<uint64_t> sent_bytes_{0};
    std::atomic<uint64_t> received_messages_{0};  // traffic(): one relaxed add per match
    std::atomic<int> active_{0};  // threads inside send/receive using the handler
    // Last: destroyed first, so its progress thread stops before the state it reports to.
    std::unique_ptr<ParcelHandler> handler_;
};

}  // namespace hpxpy
