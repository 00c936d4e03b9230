#include "engine.hpp"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HPXPY_CPU_RELAX() _mm_pause()
#else
#define HPXPY_CPU_RELAX() std::this_thread::yield()
#endif

namespace hpxpy {
namespace {
// Counts a thread as using the parcelport, so shutdown can wait until none does.
struct ActiveScope {
    std::atomic<int>& count;
    explicit ActiveScope(std::atomic<int>& c) : count(c) { ++count; }
    ~ActiveScope() { --count; }
};

// Stall-report bookkeeping, kept off the hot paths: a coarse clock read (vDSO, a few ns,
// 1-4 ms resolution) per posted receive and a cached thread id per wait.
int64_t coarse_now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

long this_thread_id() {
    static thread_local long id = static_cast<long>(::syscall(SYS_gettid));
    return id;
}
}  // namespace

std::list<PendingOp>::iterator Engine::add_blocked(PendingOp op) {
    op.thread = this_thread_id();
    op.waited = static_cast<double>(coarse_now_ns());  // the start, until pending() reads it
    std::lock_guard<std::mutex> lock(mu_);
    blocked_.push_back(std::move(op));
    return std::prev(blocked_.end());
}

void Engine::remove_blocked(std::list<PendingOp>::iterator it) {
    std::lock_guard<std::mutex> lock(mu_);
    blocked_.erase(it);
}

std::vector<PendingOp> Engine::pending() {
    const int64_t now = coarse_now_ns();
    std::vector<PendingOp> out;
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto* list : {&posted_, &filling_}) {
        for (const RecvRequestPtr& r : *list) {
            PendingOp op;
            op.kind = "receive";
            op.context = r->context;
            op.peer = r->source;
            op.tag = r->tag;
            op.size = r->body ? r->body_capacity : 0;
            op.waited = static_cast<double>(now - r->posted_ns) * 1e-9;
            op.thread = r->waiter.load(std::memory_order_relaxed);
            out.push_back(std::move(op));
        }
    }
    for (const PendingOp& b : blocked_) {
        PendingOp op = b;
        op.waited = (static_cast<double>(now) - b.waited) * 1e-9;
        out.push_back(std::move(op));
    }
    return out;
}

Engine::Engine(int self, int size, int spin_us, std::size_t unexpected_limit)
    : self_(self), size_(size), capacity_((size > 0 ? size : 1) + kJoinedPeers),
      unexpected_limit_(unexpected_limit),
      unexpected_bytes_(new std::atomic<std::size_t>[static_cast<std::size_t>(capacity_)]),
      watching_(new std::atomic<int>[static_cast<std::size_t>(capacity_)]),
      departed_(static_cast<std::size_t>(capacity_), 0),
      handler_(std::make_unique<ParcelHandler>(self, size, capacity_, *this, spin_us)) {
    for (int i = 0; i < capacity_; ++i) {
        unexpected_bytes_[static_cast<std::size_t>(i)] = 0;
        watching_[static_cast<std::size_t>(i)] = 0;
    }
}

// ---- flow control ----

void Engine::count_posted_locked(int source, int delta) {
    if (source == kAnySource)
        watching_any_.fetch_add(delta);
    else if (source >= 0 && source < capacity_)
        watching_[static_cast<std::size_t>(source)].fetch_add(delta);
}

void Engine::count_unexpected_locked(const Message& m, int sign) {
    if (m.source < 0 || m.source >= capacity_ || !m.payload) return;
    auto& bytes = unexpected_bytes_[static_cast<std::size_t>(m.source)];
    if (sign > 0)
        bytes.fetch_add(m.payload->size());
    else
        bytes.fetch_sub(m.payload->size());
}

bool Engine::accepting(int source) {
    if (source < 0 || source >= capacity_) return true;
    const auto i = static_cast<std::size_t>(source);
    return unexpected_bytes_[i].load(std::memory_order_relaxed) < unexpected_limit_ ||
           watching_any_.load(std::memory_order_relaxed) > 0 ||
           watching_[i].load(std::memory_order_relaxed) > 0;
}

struct Engine::Watch {
    Engine& engine;
    int source;
    Watch(Engine& e, int s) : engine(e), source(s) {
        std::lock_guard<std::mutex> lock(engine.mu_);
        engine.count_posted_locked(source, +1);
    }
    ~Watch() {
        std::lock_guard<std::mutex> lock(engine.mu_);
        engine.count_posted_locked(source, -1);
    }
};

void Engine::send(int dest, int context, int tag, const std::vector<ConstBuffer>& parts,
                  uint32_t ack) {
    if (dest < 0 || dest >= capacity_)
        throw std::out_of_range("destination locality " + std::to_string(dest) +
                                " out of range [0, " + std::to_string(capacity_) + ")");
    check_healthy();
    ActiveScope active(active_);
    if (closed_) throw std::runtime_error("hpxpy: the runtime has been finalized");
    // The transport calls the check only while the send is blocked (every ~100 ms): the
    // first call records the send for pending(), so an unblocked send costs nothing. The
    // check captures one pointer, so std::function keeps it inline (no allocation).
    struct Blocked {
        Engine* engine;
        int dest, context, tag;
        const std::vector<ConstBuffer>* parts;
        std::optional<std::list<PendingOp>::iterator> it;
        ~Blocked() {
            if (it) engine->remove_blocked(*it);
        }
    } blocked{this, dest, context, tag, &parts, std::nullopt};
    try {
        handler_->send(dest, context, tag, parts, ack, [b = &blocked] {
            Engine& e = *b->engine;
            if (!b->it) {
                std::size_t bytes = 0;
                for (const ConstBuffer& part : *b->parts) bytes += part.size;
                PendingOp op;
                op.kind = "send";
                op.context = b->context;
                op.peer = b->dest;
                op.tag = b->tag;
                op.size = bytes;
                b->it = e.add_blocked(std::move(op));
            }
            // A lost peer (found by heartbeats, perhaps the one we send to) ends the wait.
            e.interruption_point();
        });
    } catch (const LocalityLost&) {
        // Report the job's first loss (the root cause) rather than the peer that, failing
        // because of it, left while we were sending to it.
        std::lock_guard<std::mutex> lock(mu_);
        if (lost_locality_ >= 0) throw_lost_locked();
        throw;
    }
    if (dest == self_) {
        flush_acks();  // we may just have matched a synchronous send
    } else {
        std::size_t bytes = 0;
        for (const ConstBuffer& part : parts) bytes += part.size;
        sent_messages_.fetch_add(1, std::memory_order_relaxed);
        sent_bytes_.fetch_add(bytes, std::memory_order_relaxed);
    }
}

RecvRequestPtr Engine::send_sync(int dest, int context, int tag,
                                 const std::vector<ConstBuffer>& parts) {
    uint32_t ack = next_ack_.fetch_add(1) & 0x7FFFFFFFu;
    if (ack == 0) ack = next_ack_.fetch_add(1) & 0x7FFFFFFFu;
    RecvRequestPtr done = post_receive(kAckContext, dest, static_cast<int>(ack));
    send(dest, context, tag, parts, ack);
    return done;
}

void Engine::flush_acks() {
    std::vector<std::pair<int, uint32_t>> acks;
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (pending_acks_.empty() || closed_) return;
        acks.swap(pending_acks_);
    }
    for (const auto& [dest, ack] : acks) {
        try {
            send(dest, kAckContext, static_cast<int>(ack), {});
        } catch (const LocalityLost&) {
            // the sender is gone: nobody waits for this acknowledgement any more
        }
    }
}

void Engine::throw_lost_locked() { throw LocalityLost(lost_locality_, lost_why_); }

void Engine::check_healthy() {
    std::lock_guard<std::mutex> lock(mu_);
    if (lost_locality_ >= 0) throw_lost_locked();
    if (closed_) throw std::runtime_error("hpxpy: the runtime has been finalized");
}

void Engine::check_waitable_locked(const std::vector<int>& sources) {
    if (lost_locality_ >= 0) throw_lost_locked();
    if (closed_) throw std::runtime_error("hpxpy: the runtime has been finalized");
    for (int source : sources)
        if (source >= 0 && departed_[static_cast<std::size_t>(source)])
            throw LocalityLost(source, "it finalized and left the job while a message from "
                                       "it was still expected");
}

template <typename Ready>
void Engine::wait_until(Ready ready, const std::vector<int>& sources) {
    // While we wait, the background progress thread stands aside: we run the transports.
    ParcelHandler::Wait waiting(*handler_);
    ActiveScope active(active_);
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
        if (ready()) return;
        check_waitable_locked(sources);
        const uint64_t seen = arrivals_.load();
        lock.unlock();
        // Spins first, then blocks in poll(); returns at least every 100 ms for Ctrl-C.
        bool progressed = waiting.step(arrivals_, seen);
        flush_acks();
        const bool idle = !progressed && arrivals_.load() == seen;
        if (idle && interrupt_) interrupt_();
        if (idle_hook_ && (idle || notes_waiting())) idle_hook_();
        lock.lock();
    }
}

RecvRequestPtr Engine::post_receive(int context, int source, int tag) {
    return post_receive_into(context, source, tag, 0, nullptr, 0);
}

RecvRequestPtr Engine::post_receive_into(int context, int source, int tag, std::size_t prefix,
                                         void* body, std::size_t capacity) {
    auto request = std::make_shared<RecvRequest>();
    request->context = context;
    request->source = source;
    request->tag = tag;
    request->prefix = std::min(prefix, sizeof request->head);
    request->body = static_cast<char*>(body);
    request->body_capacity = capacity;
    request->posted_ns = coarse_now_ns();
    {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto it = unexpected_.begin(); it != unexpected_.end(); ++it) {
            if (matches(*it, context, source, tag)) {
                matched_locked(*it);
                count_unexpected_locked(*it, -1);
                request->message = std::move(*it);
                unexpected_.erase(it);
                request->done = true;
                break;
            }
        }
        if (!request->done) {
            posted_.push_back(request);
            count_posted_locked(source, +1);
        }
    }
    if (request->done) flush_acks();
    return request;
}

FillTarget Engine::claim(int source, int context, int tag, uint32_t ack, std::size_t size) {
    std::lock_guard<std::mutex> lock(mu_);
    // Only the receive deliver() would pick, and only if the message fits its buffer.
    auto it = oldest_match_locked(source, context, tag);
    if (it == posted_.end()) return {};
    RecvRequest& r = **it;
    if (!r.body || size < r.prefix || size - r.prefix > r.body_capacity) return {};
    Message header;
    header.source = source;
    header.ack = ack;
    matched_locked(header);
    count_posted_locked(r.source, -1);
    r.message.source = source;
    r.message.context = context;
    r.message.tag = tag;
    r.message.ack = ack;
    r.size = size;
    r.direct = true;
    FillTarget target;
    target.head = r.head;
    target.prefix = r.prefix;
    target.body = r.body;
    target.token = &r;
    filling_.splice(filling_.end(), posted_, it);  // no other message can match it now
    return target;
}

void Engine::filled(void* token) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto it = filling_.begin(); it != filling_.end(); ++it) {
            if (it->get() == token) {
                (*it)->done = true;
                filling_.erase(it);
                break;
            }
        }
        arrivals_.fetch_add(1);
    }
}

int Engine::wait_any(const std::vector<RecvRequestPtr>& requests) {
    if (requests.empty()) return -1;
    std::vector<int> sources;
    const long me = this_thread_id();
    for (const auto& r : requests) {
        sources.push_back(r->source);
        r->waiter.store(me, std::memory_order_relaxed);  // for pending()
    }
    int index = -1;
    wait_until(
        [&] {
            for (std::size_t i = 0; i < requests.size(); ++i)
                if (requests[i]->done) {
                    index = static_cast<int>(i);
                    return true;
                }
            return false;
        },
        sources);
    return index;
}

bool Engine::test(const RecvRequestPtr& request) {
    if (request->done) return true;
    handler_->progress();
    flush_acks();
    std::lock_guard<std::mutex> lock(mu_);
    if (request->done) return true;
    check_waitable_locked({request->source});
    return false;
}

bool Engine::cancel(const RecvRequestPtr& request) {
    std::lock_guard<std::mutex> lock(mu_);
    if (request->done) return false;
    const auto before = posted_.size();
    posted_.remove(request);
    if (posted_.size() != before) count_posted_locked(request->source, -1);
    return true;
}

Message Engine::receive(int context, int source, int tag) {
    RecvRequestPtr request = post_receive(context, source, tag);
    try {
        wait(request);
    } catch (...) {
        cancel(request);  // a later message must not vanish into an abandoned receive
        throw;
    }
    return std::move(request->message);
}

std::optional<MessageInfo> Engine::iprobe(int context, int source, int tag) {
    {
        Watch watch(*this, source);  // the message looked for may be past the limit
        handler_->progress();
    }
    flush_acks();
    std::lock_guard<std::mutex> lock(mu_);
    for (const Message& m : unexpected_)
        if (matches(m, context, source, tag))
            return MessageInfo{m.source, m.tag, m.payload->size()};
    check_waitable_locked({source});
    return std::nullopt;
}

MessageInfo Engine::probe(int context, int source, int tag) {
    Watch watch(*this, source);
    PendingOp op;
    op.kind = "probe";
    op.context = context;
    op.peer = source;
    op.tag = tag;
    struct Listed {
        Engine& engine;
        std::list<PendingOp>::iterator it;
        ~Listed() { engine.remove_blocked(it); }
    } listed{*this, add_blocked(std::move(op))};
    std::optional<MessageInfo> info;
    wait_until(
        [&] {
            for (const Message& m : unexpected_)
                if (matches(m, context, source, tag)) {
                    info = MessageInfo{m.source, m.tag, m.payload->size()};
                    return true;
                }
            return false;
        },
        {source});
    return *info;
}

void Engine::deliver(Message&& message) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (message.tag == kCallNoteTag) {  // for the CallWatch, not for matching
            notes_.push_back(std::move(message));
            notes_waiting_.store(true, std::memory_order_relaxed);
            arrivals_.fetch_add(1);
            return;
        }
        auto it = oldest_match_locked(message.source, message.context, message.tag);
        if (it != posted_.end()) {
            matched_locked(message);
            count_posted_locked((*it)->source, -1);
            (*it)->message = std::move(message);
            (*it)->done = true;
            posted_.erase(it);
        } else {
            count_unexpected_locked(message, +1);
            unexpected_.push_back(std::move(message));
        }
        arrivals_.fetch_add(1);
    }
}

std::vector<Message> Engine::take_notes() {
    std::lock_guard<std::mutex> lock(mu_);
    notes_waiting_.store(false, std::memory_order_relaxed);
    std::vector<Message> notes;
    notes.swap(notes_);
    return notes;
}

void Engine::peer_lost(int locality, const std::string& why) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (closed_ || lost_locality_ >= 0) return;
        lost_locality_ = locality;
        lost_why_ = why;
        arrivals_.fetch_add(1);  // counts as news for anyone waiting
    }
}

void Engine::job_aborted(int locality, int exit_code) {
    if (abort_handler_) abort_handler_(locality, exit_code);
    std::_Exit(exit_code);
}

void Engine::abort_job(int exit_code) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        closed_ = true;
    }
    handler_->abort(exit_code);
    std::_Exit(exit_code);
}

void Engine::peer_departed(int locality) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        departed_[static_cast<std::size_t>(locality)] = 1;
        arrivals_.fetch_add(1);
    }
}

void Engine::shutdown(bool graceful) {
    int blame;
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (closed_) return;
        closed_ = true;  // from here, EOFs are expected and lost peers are not news
        blame = lost_locality_;
    }
    // Threads still waiting (an async operation, when a failure ends the job) see closed_
    // within one poll slice; the handler and its parcelports outlive them (they are only
    // destroyed with the engine).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (active_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
        handler_->notify();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    handler_->shutdown(graceful, blame);
    std::lock_guard<std::mutex> lock(mu_);
    for (const Message& m : unexpected_) count_unexpected_locked(m, -1);
    for (const RecvRequestPtr& r : posted_) count_posted_locked(r->source, -1);
    unexpected_.clear();
    posted_.clear();
    filling_.clear();
}

std::vector<Engine::Leftover> Engine::leftovers(int first_context, int residue,
                                                std::size_t head) {
    std::vector<Leftover> out;
    std::lock_guard<std::mutex> lock(mu_);
    for (const Message& m : unexpected_) {
        if (m.context < first_context || m.context % 4 != residue) continue;
        const std::size_t n = m.payload ? std::min(head, m.payload->size()) : 0;
        out.push_back({m.context, m.source, m.tag, std::string(n ? m.payload->data() : "", n)});
    }
    return out;
}

}  // namespace hpxpy
