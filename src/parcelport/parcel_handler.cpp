#include "parcel_handler.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

namespace hpxpy {
namespace {

void set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// A parcelport without a wait descriptor is polled this often while a thread blocks.
constexpr int kNoFdSliceMs = 1;

int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// HPXPY_HEARTBEAT: seconds of silence after which a peer counts as lost (unset: 6;
// 0: never).
int heartbeat_ms_from_env() {
    const char* env = std::getenv("HPXPY_HEARTBEAT");
    if (env == nullptr || *env == '\0') return ParcelHandler::kDefaultSilenceMs;
    const double seconds = std::atof(env);
    if (seconds <= 0) return 0;
    return static_cast<int>(seconds * 1000 < ParcelHandler::kHeartbeatMs * 2
                                ? ParcelHandler::kHeartbeatMs * 2
                                : seconds * 1000);
}

}  // namespace

ParcelHandler::ParcelHandler(int self, int size, int capacity, ParcelSink& upstream,
                             int spin_us)
    : self_(self), size_(size), spin_us_(spin_us), upstream_(upstream),
      routes_(static_cast<std::size_t>(capacity > size ? capacity : (size > 0 ? size : 0)),
              nullptr),
      capacity_(static_cast<int>(routes_.size())),
      heartbeat_ms_(size > 1 ? heartbeat_ms_from_env() : 0),
      heard_(new std::atomic<uint32_t>[static_cast<std::size_t>(size > 0 ? size : 0)]()),
      said_(new std::atomic<uint32_t>[static_cast<std::size_t>(size > 0 ? size : 0)]()),
      departed_(new std::atomic<bool>[static_cast<std::size_t>(size > 0 ? size : 0)]()),
      heard_seen_(static_cast<std::size_t>(size > 0 ? size : 0), 0),
      said_seen_(static_cast<std::size_t>(size > 0 ? size : 0), 0),
      heard_at_ns_(static_cast<std::size_t>(size > 0 ? size : 0), 0) {
    if (pipe(wake_pipe_) != 0) throw std::runtime_error("hpxpy: cannot create wake pipe");
    set_nonblocking(wake_pipe_[0]);
    set_nonblocking(wake_pipe_[1]);  // a kick never blocks; one pending byte is enough
}

ParcelHandler::~ParcelHandler() {
    stop_thread();
    ports_.clear();  // parcelports close what shutdown/abort left open
    close(wake_pipe_[0]);
    close(wake_pipe_[1]);
}

void ParcelHandler::add(std::unique_ptr<Parcelport> port) {
    if (started_) throw std::logic_error("hpxpy: parcelports are added before start()");
    if (port->wait_fd() < 0) some_port_without_fd_ = true;
    ports_.push_back(std::move(port));
}

void ParcelHandler::start() {
    if (started_) return;
    for (int peer = 0; peer < size_; ++peer) {
        if (peer == self_) continue;
        for (auto& port : ports_) {
            if (port->reaches(peer)) {
                routes_[static_cast<std::size_t>(peer)] = port.get();
                break;
            }
        }
    }
    if (ports_.size() == 1 && ports_[0]->can_sleep() && ports_[0]->wait_fd() < 0)
        sleeper_ = ports_[0].get();
    const int64_t now = steady_ns();
    for (int64_t& at : heard_at_ns_) at = now;  // silence is counted from here
    next_tick_ns_ = now + int64_t{kHeartbeatMs} * 1'000'000;
    started_ = true;
    if (!ports_.empty()) thread_ = std::thread([this] { progress_loop(); });
}

void ParcelHandler::add_joined(std::unique_ptr<Parcelport> port) {
    if (!started_ || joined_owner_) throw std::logic_error("hpxpy: one joined parcelport, after start()");
    joined_owner_ = std::move(port);
    joined_.store(joined_owner_.get(), std::memory_order_release);
    // A job of one locality had no transport, hence no progress thread: start it now.
    if (!thread_.joinable()) thread_ = std::thread([this] { progress_loop(); });
    kick();  // a waiter asleep in shared memory moves to poll() and sees the new port
}

void ParcelHandler::join(int peer, Parcelport* port) {
    if (peer < size_ || peer >= capacity_) throw std::out_of_range("hpxpy: no room for a joined peer");
    routes_[static_cast<std::size_t>(peer)] = port;
}

Parcelport* ParcelHandler::route(int peer) const {
    if (peer < 0 || peer >= capacity_) return nullptr;
    return routes_[static_cast<std::size_t>(peer)];
}

SharedWindows* ParcelHandler::windows_for(const std::vector<int>& localities) const {
    Parcelport* port = nullptr;
    for (int peer : localities) {
        if (peer == self_) continue;
        Parcelport* p = route(peer);
        if (p == nullptr || (port != nullptr && p != port)) return nullptr;
        port = p;
    }
    return port ? port->windows() : nullptr;
}

std::string ParcelHandler::route_name(int peer) const {
    if (peer == self_) return "self";
    Parcelport* port = route(peer);
    return port ? port->name() : "none";
}

void ParcelHandler::send(int dest, int context, int tag, const std::vector<ConstBuffer>& parts,
                         uint32_t ack, const InterruptCheck& interrupt) {
    if (dest == self_) {  // loopback: copy into a message of our own
        deliver(Message{self_, context, tag, gather_copy(parts), ack});
        return;
    }
    Parcelport* port = route(dest);
    // Heartbeats watch the job's own localities; joined processes are watched by their
    // sockets alone.
    if (port != nullptr && heartbeat_ms_ > 0 && dest < size_)
        said_[static_cast<std::size_t>(dest)].fetch_add(1, std::memory_order_relaxed);
    if (port == nullptr) {
        if (ports_.empty() && !joined_port()) throw std::runtime_error("hpxpy: runtime is not connected");
        throw std::runtime_error("hpxpy: no transport reaches locality " +
                                 std::to_string(dest));
    }
    port->send(dest, context, tag, parts, ack, interrupt);
}

bool ParcelHandler::spin_allowed() const {
    for (const auto& port : ports_)
        if (!port->spin_allowed()) return false;
    Parcelport* joined = joined_port();
    return joined == nullptr || joined->spin_allowed();
}

bool ParcelHandler::progress(bool take_turn) {
    bool any = false;
    for (auto& port : ports_) any = port->progress(take_turn) || any;
    if (Parcelport* joined = joined_port()) any = joined->progress(take_turn) || any;
    return any;
}

void ParcelHandler::kick() {
    char c = 1;
    (void)!write(wake_pipe_[1], &c, 1);
    if (sleeper_) sleeper_->wake();
}

void ParcelHandler::notify() {
    std::thread::id poller = poller_.load();
    if (poller != std::thread::id() && poller != std::this_thread::get_id()) kick();
    for (auto& port : ports_) port->wake();
    if (Parcelport* joined = joined_port()) joined->wake();
}

// ---- reports from the parcelports ----

void ParcelHandler::deliver(Message&& message) {
    heard(message.source);
    if (message.context == kHeartbeatContext) return;  // its arrival was all it had to say
    upstream_.deliver(std::move(message));
    notify();
}

void ParcelHandler::filled(void* token) {
    upstream_.filled(token);
    notify();
}

void ParcelHandler::peer_lost(int locality, const std::string& why) {
    upstream_.peer_lost(locality, why);
    notify();
}

void ParcelHandler::peer_departed(int locality) {
    if (locality >= 0 && locality < size_) departed_[static_cast<std::size_t>(locality)] = true;
    upstream_.peer_departed(locality);
    notify();
}

void ParcelHandler::job_aborted(int locality, int exit_code) {
    upstream_.job_aborted(locality, exit_code);
}

// ---- waiting ----

ParcelHandler::Wait::Wait(ParcelHandler& handler)
    : handler_(handler),
      spin_until_(std::chrono::steady_clock::now() +
                  std::chrono::microseconds(handler.ports_.empty() && !handler.joined_port()
                                                ? 0 : handler.spin_us_)) {
    ++handler_.app_waiting_;
}

ParcelHandler::Wait::~Wait() {
    handler_.last_wait_end_ = std::chrono::steady_clock::now().time_since_epoch().count();
    --handler_.app_waiting_;
}

bool ParcelHandler::Wait::step(const std::atomic<uint64_t>& news, uint64_t seen) {
    if (std::chrono::steady_clock::now() < spin_until_ && handler_.spin_allowed()) {
        // Short spin: run the transports ourselves, no sleeping; yield when there was
        // nothing, as a peer may share our core.
        if (!handler_.progress()) yield_core();
        return true;
    }
    const bool progressed = handler_.block(kSliceMs, news, seen);
    handler_.heartbeat_tick();
    return progressed;
}

bool ParcelHandler::block(int timeout_ms, const std::atomic<uint64_t>& news, uint64_t seen) {
    std::unique_lock<FairToken> token(poll_token_, std::try_to_lock);
    if (!token.owns_lock()) {
        if (background_polling_) kick();  // it steps aside: app_waiting_ > 0
        token.lock();
    }
    // Announce ourselves before the last look, so a report racing with us kicks us.
    poller_ = std::this_thread::get_id();
    bool progressed = true;
    if (news.load() == seen && !stopping_) progressed = wait_and_progress(timeout_ms, &news, seen);
    poller_ = std::thread::id();
    return progressed;
}

bool ParcelHandler::wait_and_progress(int timeout_ms, const std::atomic<uint64_t>* news,
                                      uint64_t seen) {
    // With a joined parcelport beside it, shared memory is polled in slices like any
    // transport without a descriptor.
    if (sleeper_ == nullptr || joined_port()) return poll_and_progress(timeout_ms);
    uint32_t ticket = 0;
    if (sleeper_->prepare_sleep(ticket, news == nullptr) &&
        (news == nullptr || news->load() == seen) &&
        !stopping_ && (news != nullptr || app_waiting_ == 0))
        sleeper_->sleep(ticket, timeout_ms);
    sleeper_->finish_sleep();
    return sleeper_->progress(true);
}

bool ParcelHandler::poll_and_progress(int timeout_ms) {
    pollfd fds[16];
    Parcelport* owners[16];
    nfds_t count = 0;
    fds[count] = {wake_pipe_[0], POLLIN, 0};
    owners[count++] = nullptr;
    for (auto& port : ports_) {
        int fd = port->wait_fd();
        if (fd < 0 || count == 16) continue;
        fds[count] = {fd, POLLIN, 0};
        owners[count++] = port.get();
    }
    if (Parcelport* joined = joined_port()) {
        fds[count] = {joined->wait_fd(), POLLIN, 0};
        owners[count++] = joined;
    }
    const bool some_port_without_fd = some_port_without_fd_ || sleeper_ != nullptr;
    if (some_port_without_fd && (timeout_ms < 0 || timeout_ms > kNoFdSliceMs))
        timeout_ms = kNoFdSliceMs;
    int ready = poll(fds, count, timeout_ms);
    if (ready < 0) return false;  // EINTR: the caller looks again
    if (fds[0].revents) {
        char drain[64];
        while (read(wake_pipe_[0], drain, sizeof drain) > 0) {
        }
    }
    bool any = ready > 0;
    for (nfds_t i = 1; i < count; ++i)
        if (fds[i].revents) any = owners[i]->progress(true) || any;
    if (some_port_without_fd)
        for (auto& port : ports_)
            if (port->wait_fd() < 0) any = port->progress(false) || any;
    return any;
}

void ParcelHandler::rest(int ms) {
    std::unique_lock<std::mutex> lock(idle_mu_);
    idle_cv_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_.load(); });
}

void ParcelHandler::progress_loop() {
    // Drains the transports while no application thread waits (it then waits itself).
    const std::thread::id me = std::this_thread::get_id();
    while (!stopping_) {
        // Stay aside while applications wait, and for a while after: a program that
        // communicates in a loop would otherwise find this thread holding the poll token
        // (and have to wake it) on every wait.
        const auto since_wait = std::chrono::steady_clock::now().time_since_epoch().count() -
                                last_wait_end_.load();
        heartbeat_tick();
        if (app_waiting_ > 0 || since_wait < kStandAsideNs) {
            rest(kStandAsideNs / 1000000);
            // Waits that end at once (messages to ourselves, or already here) run no
            // transport, yet keep this thread aside: a program busy with messages to itself
            // for seconds would read no peer's messages, not even their heartbeats, and
            // take the peers for lost. So while nobody waits, a pass that takes no poll
            // token and gives way to any thread inside a transport.
            if (app_waiting_ == 0) progress(false);
            continue;
        }
        std::unique_lock<FairToken> token(poll_token_, std::try_to_lock);
        if (!token.owns_lock()) {
            rest(10);
            continue;
        }
        background_polling_ = true;
        poller_ = me;
        // No spinning; with heartbeats it wakes once per heartbeat to send them.
        if (app_waiting_ == 0 && !stopping_)
            wait_and_progress(heartbeat_ms_ > 0 ? kHeartbeatMs : -1, nullptr, 0);
        poller_ = std::thread::id();
        background_polling_ = false;
        token.unlock();
        progress_idle();
    }
}

void ParcelHandler::heartbeat_tick() {
    if (heartbeat_ms_ <= 0 || !started_ || stopping_ || closed_) return;
    const int64_t now = steady_ns();  // a tick never waits, so one reading serves
    if (now < next_tick_ns_.load(std::memory_order_relaxed)) return;
    std::unique_lock<std::mutex> lock(tick_mu_, std::try_to_lock);
    if (!lock.owns_lock() || now < next_tick_ns_.load()) return;
    // Ticks late by seconds: this process itself was not running (stopped, a paused VM),
    // so the peers' silence meanwhile says nothing about them. Count it from now.
    const bool we_were_away = now - next_tick_ns_.load() > int64_t{kHeartbeatMs} * 2'000'000;
    next_tick_ns_ = now + int64_t{kHeartbeatMs} * 1'000'000;
    const int64_t silence_ns = int64_t{heartbeat_ms_} * 1'000'000;
    const std::string why = "nothing came from it for " + std::to_string(heartbeat_ms_ / 1000) +
                            " s, not even a heartbeat: it is stopped or frozen, or its host "
                            "cannot be reached (HPXPY_HEARTBEAT sets the limit)";
    for (int peer = 0; peer < size_; ++peer) {
        const auto p = static_cast<std::size_t>(peer);
        if (peer == self_ || routes_[p] == nullptr || departed_[p]) continue;
        const uint32_t heard_count = heard_[p].load(std::memory_order_relaxed);
        if (heard_count != heard_seen_[p] || we_were_away) {
            heard_seen_[p] = heard_count;
            heard_at_ns_[p] = now;
        } else if (now - heard_at_ns_[p] > silence_ns) {
            peer_lost(peer, why);
            return;  // the first loss is the job's
        }
        // Never blocks: a heartbeat that finds a send in progress or a full pipe is
        // skipped, as the peer hears that data when it reads.
        if (said_[p].load(std::memory_order_relaxed) == said_seen_[p]) {
            Parcelport* port = route(peer);
            try {
                if (port != nullptr) port->try_send_empty(peer, kHeartbeatContext);
            } catch (const std::exception&) {
                return;  // lost or closing: the transport reports it
            }
        }
        said_seen_[p] = said_[p].load(std::memory_order_relaxed);
    }
}

void ParcelHandler::stop_thread() {
    stopping_ = true;
    kick();
    {
        std::lock_guard<std::mutex> lock(idle_mu_);
    }
    idle_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void ParcelHandler::shutdown(bool graceful, int blame) {
    if (closed_.exchange(true)) return;
    stop_thread();
    for (auto& port : ports_) {
        if (graceful)
            port->shutdown();
        else
            port->abort(blame, -1);
    }
    if (Parcelport* joined = joined_port()) {
        if (graceful)
            joined->shutdown();
        else
            joined->abort(blame, -1);
    }
}

void ParcelHandler::abort(int exit_code) {
    closed_ = true;
    for (auto& port : ports_) port->abort(-1, exit_code);
    if (Parcelport* joined = joined_port()) joined->abort(-1, exit_code);
}

}  // namespace hpxpy
