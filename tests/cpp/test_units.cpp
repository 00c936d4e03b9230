// Unit tests of the matching engine, the parcel handler and the collectives, over the
// in-process LoopbackParcelport: several engines in one process, one per "locality",
// each on its own thread where the test needs them to run at once. The last ones run the
// TCP parcelport over socket pairs and the shared-memory parcelport over segments of this
// process. No Python involved.
//
//     cmake -S tests/cpp -B /tmp/cpp-tests -G Ninja && cmake --build /tmp/cpp-tests
//     /tmp/cpp-tests/hpxpy_cpp_tests [name-substring]
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../../src/collectives/collectives.hpp"
#include "../../src/engine/engine.hpp"
#include "../../src/parcelport/shm/parcelport.hpp"
#include "../../src/parcelport/tcp/parcelport.hpp"
#include "../../src/runtime/runtime.hpp"
#include "loopback_parcelport.hpp"

using namespace hpxpy;
using hpxpy::testing::LoopbackFabric;
using hpxpy::testing::LoopbackParcelport;
using Clock = std::chrono::steady_clock;

namespace {

struct CheckFailed : std::runtime_error {
    using std::runtime_error::runtime_error;
};

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond))                                                                       \
            throw CheckFailed(std::string(__FILE__) + ":" + std::to_string(__LINE__) +     \
                              ": CHECK(" #cond ") failed");                                \
    } while (0)

template <typename E, typename F>
std::string expect_throw(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    }
    throw CheckFailed("expected an exception that did not come");
}

constexpr int kCtx = 4;

std::string text(const Message& m) { return std::string(m.payload->data(), m.payload->size()); }

void send_text(Engine& e, int dest, int tag, const std::string& s, int context = kCtx) {
    e.send(dest, context, tag, {{s.data(), s.size()}});
}

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// n engines, each with one loopback port (unless `ports` builds them differently).
struct Cluster {
    LoopbackFabric fabric;
    std::vector<std::unique_ptr<Engine>> engines;

    explicit Cluster(int n, int spin_us = 50, bool with_fd = true) : fabric(n) {
        for (int i = 0; i < n; ++i) {
            auto e = std::make_unique<Engine>(i, n, spin_us);
            e->handler().add(std::make_unique<LoopbackParcelport>(
                fabric, i, e->handler().port_sink(), std::set<int>{}, "loopback", with_fd));
            e->start();
            engines.push_back(std::move(e));
        }
    }
    Engine& operator[](int i) { return *engines[static_cast<std::size_t>(i)]; }
    int size() const { return static_cast<int>(engines.size()); }
};

// Runs body(rank) on one thread per rank; rethrows the first failure.
void run_ranks(int n, const std::function<void(int)>& body) {
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(n));
    std::vector<std::thread> threads;
    for (int r = 0; r < n; ++r)
        threads.emplace_back([&, r] {
            try {
                body(r);
            } catch (...) {
                errors[static_cast<std::size_t>(r)] = std::current_exception();
            }
        });
    for (auto& t : threads) t.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

// ---- matching ----

void test_matching_order() {
    Cluster c(2);
    // Unexpected messages: matched in arrival order per (context, source, tag).
    send_text(c[0], 1, 1, "a");
    send_text(c[0], 1, 2, "b");
    send_text(c[0], 1, 1, "c");
    send_text(c[0], 1, 1, "other context", kCtx + 1);
    CHECK(text(c[1].receive(kCtx, 0, 1)) == "a");
    CHECK(text(c[1].receive(kCtx, 0, 1)) == "c");
    CHECK(text(c[1].receive(kCtx, 0, 2)) == "b");
    CHECK(!c[1].iprobe(kCtx, 0, kAnyTag));
    CHECK(text(c[1].receive(kCtx + 1, 0, 1)) == "other context");
    // Posted receives: satisfied in the order they were posted.
    RecvRequestPtr r1 = c[1].post_receive(kCtx, 0, kAnyTag);
    RecvRequestPtr r2 = c[1].post_receive(kCtx, 0, kAnyTag);
    send_text(c[0], 1, 7, "x");
    send_text(c[0], 1, 8, "y");
    c[1].wait(r2);
    CHECK(r1->done);
    CHECK(text(r1->message) == "x" && r1->message.tag == 7);
    CHECK(text(r2->message) == "y" && r2->message.tag == 8);
    // A cancelled receive lets the next message through to a later one.
    RecvRequestPtr gone = c[1].post_receive(kCtx, 0, 9);
    CHECK(c[1].cancel(gone));
    send_text(c[0], 1, 9, "z");
    CHECK(text(c[1].receive(kCtx, 0, 9)) == "z");
}

void test_any_source_any_tag() {
    Cluster c(3);
    send_text(c[1], 0, 10, "from1");
    send_text(c[2], 0, 20, "from2");
    MessageInfo info = c[0].probe(kCtx, kAnySource, kAnyTag);
    CHECK(info.source == 1 || info.source == 2);
    std::set<std::string> got;
    for (int i = 0; i < 2; ++i) {
        Message m = c[0].receive(kCtx, kAnySource, kAnyTag);
        CHECK(m.tag == (m.source == 1 ? 10 : 20));
        got.insert(text(m));
    }
    CHECK((got == std::set<std::string>{"from1", "from2"}));
    // ANY_SOURCE with a tag skips other tags; ANY_TAG with a source skips other sources.
    send_text(c[2], 0, 31, "31");
    send_text(c[2], 0, 30, "30");
    send_text(c[1], 0, 31, "31 from 1");
    Message m = c[0].receive(kCtx, kAnySource, 30);
    CHECK(m.source == 2 && text(m) == "30");
    m = c[0].receive(kCtx, 1, kAnyTag);
    CHECK(text(m) == "31 from 1");
    m = c[0].receive(kCtx, kAnySource, kAnyTag);
    CHECK(m.source == 2 && text(m) == "31");
}

void test_self_and_synchronous_sends() {
    Cluster c(2);
    send_text(c[0], 0, 3, "me");
    CHECK(c[0].handler().route_name(0) == "self");
    CHECK(text(c[0].receive(kCtx, 0, 3)) == "me");
    const std::string s = "sync";
    RecvRequestPtr acked = c[0].send_sync(1, kCtx, 5, {{s.data(), s.size()}});
    CHECK(!acked->done);
    std::thread receiver([&] { CHECK(text(c[1].receive(kCtx, 0, 5)) == "sync"); });
    c[0].wait(acked);  // completes once locality 1 matched the message
    receiver.join();
    CHECK(acked->done);
}

// ---- failures ----

void test_lost_peer_raises() {
    Cluster c(3);
    std::thread killer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(150));
        c.fabric.kill(2);
    });
    auto t0 = Clock::now();
    std::string what = expect_throw<LocalityLost>([&] { c[0].receive(kCtx, 2, 0); });
    killer.join();
    CHECK(what.find("locality 2") != std::string::npos);
    CHECK(ms_since(t0) < 5000);
    // Every later wait and send fails too, on every survivor.
    expect_throw<LocalityLost>([&] { send_text(c[0], 1, 0, "late"); });
    auto deadline = Clock::now() + std::chrono::seconds(5);
    bool failed = false;
    while (!failed && Clock::now() < deadline) {
        try {
            c[1].check_healthy();
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        } catch (const LocalityLost& e) {
            failed = e.locality() == 2;
        }
    }
    CHECK(failed);  // locality 1's background progress saw it without anyone waiting
}

void test_departed_peer_raises() {
    Cluster c(2);
    c[1].shutdown(true);  // says goodbye
    std::string what = expect_throw<LocalityLost>([&] { c[0].receive(kCtx, 1, 0); });
    CHECK(what.find("finalized and left") != std::string::npos);
}

// ---- wake-ups ----

// A waiter blocked in the handler's poll() is woken by a delivery made on another thread
// (a self-send here: no transport fd becomes readable, only the wake pipe does). Without
// the kick it would only notice at the end of its 100 ms poll slice.
void test_blocked_waiter_is_woken() {
    Cluster c(2, /*spin_us=*/0);
    double total_ms = 0;
    const int rounds = 20;
    for (int i = 0; i < rounds; ++i) {
        Clock::time_point sent;
        std::thread sender([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));  // waiter blocks
            sent = Clock::now();
            send_text(c[0], 0, i, "wake");
        });
        c[0].receive(kCtx, 0, i);
        double ms = ms_since(sent);
        sender.join();
        total_ms += ms;
    }
    std::printf("    mean wake-up after a cross-thread self-send: %.2f ms\n", total_ms / rounds);
    CHECK(total_ms / rounds < 25.0);  // a lost wake-up costs ~50 ms on average
    // Messages from a peer wake it through the transport's wait_fd.
    total_ms = 0;
    for (int i = 0; i < rounds; ++i) {
        Clock::time_point sent;
        std::thread sender([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            sent = Clock::now();
            send_text(c[1], 0, i, "wake");
        });
        c[0].receive(kCtx, 1, i);
        double ms = ms_since(sent);
        sender.join();
        total_ms += ms;
    }
    std::printf("    mean wake-up after a peer's send: %.2f ms\n", total_ms / rounds);
    CHECK(total_ms / rounds < 25.0);
}

// Two application threads wait at once: one holds the poll token, the other waits for it;
// each gets its own message.
void test_two_waiters() {
    Cluster c(2, 0);
    std::string a, b;
    std::thread t1([&] { a = text(c[0].receive(kCtx, 1, 1)); });
    std::thread t2([&] { b = text(c[0].receive(kCtx, 1, 2)); });
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    send_text(c[1], 0, 2, "second");
    send_text(c[1], 0, 1, "first");
    t1.join();
    t2.join();
    CHECK(a == "first" && b == "second");
}

// A transport without a wait descriptor is polled in short slices by whoever waits.
void test_port_without_wait_fd() {
    Cluster c(2, 0, /*with_fd=*/false);
    std::thread sender([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        send_text(c[1], 0, 1, "polled");
    });
    auto t0 = Clock::now();
    CHECK(text(c[0].receive(kCtx, 1, 1)) == "polled");
    sender.join();
    CHECK(ms_since(t0) < 2000);
}

// ---- routes ----

void test_routes_by_priority() {
    LoopbackFabric fabric(4);
    Engine e(0, 4, 0);
    auto even = std::make_unique<LoopbackParcelport>(fabric, 0, e.handler().port_sink(),
                                                     std::set<int>{2}, "near");
    auto all = std::make_unique<LoopbackParcelport>(fabric, 0, e.handler().port_sink(),
                                                    std::set<int>{}, "far");
    LoopbackParcelport* near = even.get();
    LoopbackParcelport* far = all.get();
    e.handler().add(std::move(even));  // added first: preferred where it reaches
    e.handler().add(std::move(all));
    e.start();
    CHECK(e.handler().route_name(0) == "self");
    CHECK(e.handler().route_name(1) == "far");
    CHECK(e.handler().route_name(2) == "near");
    CHECK(e.handler().route_name(3) == "far");
    send_text(e, 2, 0, "to 2");
    send_text(e, 3, 0, "to 3");
    CHECK(near->sent() == 1 && far->sent() == 1);
    CHECK(fabric.take(2).size() == 1);

    LoopbackFabric fabric3(3);
    Engine partial(0, 3, 0);
    partial.handler().add(std::make_unique<LoopbackParcelport>(
        fabric3, 0, partial.handler().port_sink(), std::set<int>{1}));
    partial.start();
    CHECK(partial.handler().route_name(2) == "none");
    std::string what = expect_throw<std::runtime_error>([&] { send_text(partial, 2, 0, "x"); });
    CHECK(what.find("no transport reaches locality 2") != std::string::npos);
}

void test_runtime_rejects_bad_transports() {
    RuntimeConfig config;
    config.self = 0;
    config.size = 2;
    TransportConfig pigeon;
    pigeon.name = "carrier-pigeon";
    pigeon.fds = {-1, -1};
    config.transports.push_back(pigeon);
    std::string what = expect_throw<std::invalid_argument>([&] { Runtime r(config); });
    CHECK(what.find("unknown parcelport 'carrier-pigeon'") != std::string::npos);
    CHECK(what.find("tcp") != std::string::npos);
    config.transports.clear();
    TransportConfig mpi;  // MPI was never started in this process
    mpi.name = "mpi";
    config.transports.push_back(mpi);
    what = expect_throw<std::invalid_argument>([&] { Runtime r(config); });
    CHECK(what.find("the mpi parcelport needs MPI started first") != std::string::npos);
    config.transports.clear();
    what = expect_throw<std::invalid_argument>([&] { Runtime r(config); });
    CHECK(what.find("no transport reaches locality 1") != std::string::npos);
    RuntimeConfig one;  // a job of one needs no transport
    Runtime alone(one);
    CHECK(alone.engine().handler().route_name(0) == "self");
}

// ---- collectives over the handler ----

ArrayRef f64_ref(const std::vector<double>& v) {
    ArrayRef ref;
    ref.dtype = static_cast<uint32_t>(DType::f64);
    ref.shape = {static_cast<int64_t>(v.size())};
    ref.segments.push_back({v.data(), v.size() * sizeof(double)});
    ref.nbytes = ref.segments.back().size;
    return ref;
}

std::vector<double> doubles(const Item& item, const std::vector<double>& own) {
    if (!item.owner) return own;
    std::vector<double> out(item.header.nbytes / sizeof(double));
    std::memcpy(out.data(), item.data, item.header.nbytes);
    return out;
}

void collectives_at(int n) {
    Cluster c(n);
    run_ranks(n, [&](int r) {
        Collectives coll(c[r]);
        Group g;
        g.rank = r;
        g.size = n;
        int tag = 0;
        // Small all_reduce (recursive doubling) and large (Rabenseifner's, >= 256 KiB).
        std::vector<double> small{static_cast<double>(r), 1.0};
        Item item = coll.all_reduce(g, f64_ref(small), static_cast<uint32_t>(ReduceOp::sum),
                                    tag++, Failure{});
        std::vector<double> sum = doubles(item, small);
        CHECK(sum.size() == 2 && sum[0] == n * (n - 1) / 2.0 && sum[1] == n);
        std::vector<double> large(40000);
        for (std::size_t i = 0; i < large.size(); ++i) large[i] = static_cast<double>(r) + i;
        item = coll.all_reduce(g, f64_ref(large), static_cast<uint32_t>(ReduceOp::max), tag++,
                               Failure{});
        std::vector<double> mx = doubles(item, large);
        CHECK(mx.size() == large.size());
        for (std::size_t i = 0; i < mx.size(); i += 997) CHECK(mx[i] == (n - 1) + double(i));
        // Broadcast from a root other than 0.
        const int root = n - 1;
        std::vector<double> data(1000, r == root ? 42.0 : -1.0);
        item = coll.broadcast(g, f64_ref(data), root, tag++, Failure{});
        std::vector<double> got = doubles(item, data);
        CHECK(got.size() == 1000 && got.front() == 42.0 && got.back() == 42.0);
        // Barriers, back to back.
        for (int i = 0; i < 5; ++i) coll.barrier(g, "unit", tag++);
        // An error at one locality reaches every locality of an all_reduce.
        Failure bad;
        if (r == 0) bad = {Status::value_error, "bad input at 0"};
        std::string what = expect_throw<CollectiveError>([&] {
            coll.all_reduce(g, f64_ref(small), static_cast<uint32_t>(ReduceOp::sum), tag++, bad);
        });
        CHECK(what.find("bad input at 0") != std::string::npos);
    });
}

// A group this engine is not a member of, a rank or root outside the group, a member
// that is no locality: each call throws std::invalid_argument before a message moves
// (hpxpy.comm once ran a one-group collective over an inter-communicator's remote group
// and indexed past the algorithms' arrays).
void test_collectives_reject_bad_groups() {
    Cluster c(2);
    Collectives coll(c[0]);
    std::vector<double> v{1.0};
    const auto bad = [&](Group g, int root) {
        expect_throw<std::invalid_argument>([&] {
            coll.all_reduce(g, f64_ref(v), static_cast<uint32_t>(ReduceOp::sum), 0, Failure{});
        });
        expect_throw<std::invalid_argument>([&] { coll.barrier(g, "", 0); });
        expect_throw<std::invalid_argument>(
            [&] { coll.broadcast(g, f64_ref(v), root, 0, Failure{}); });
        expect_throw<std::invalid_argument>(
            [&] { coll.gather(g, f64_ref(v), root, 0, Failure{}); });
        expect_throw<std::invalid_argument>([&] { coll.exchange(g, {}, {}, 0); });
        expect_throw<std::invalid_argument>([&] { coll.gather_blocks(g, {}, {}, root, 0); });
    };
    Group outside;  // rank -32766 (MPI.UNDEFINED) in a group of one
    outside.rank = -32766;
    outside.members = {1};
    outside.size = 1;
    bad(outside, 0);
    Group other;  // rank 0 names locality 1, not this engine
    other.members = {1, 0};
    other.size = 2;
    bad(other, 0);
    Group unknown;  // a member that is no locality of the job
    unknown.members = {0, 7};
    unknown.size = 2;
    bad(unknown, 0);
    Group fine;  // a valid group of one, but the root is outside it
    fine.members = {0};
    fine.size = 1;
    expect_throw<std::invalid_argument>(
        [&] { coll.broadcast(fine, f64_ref(v), 3, 0, Failure{}); });
    expect_throw<std::invalid_argument>([&] { coll.gather(fine, f64_ref(v), -1, 0, Failure{}); });
    Item item = coll.broadcast(fine, f64_ref(v), 0, 0, Failure{});  // and the valid call works
    (void)item;
}

// Members in different collectives that send each other nothing (rank 0 gathers from its
// children, which wait in a broadcast from rank 0): the CallWatch's notes make every one
// raise the mismatch after about half a second. A member that is only late (the same call,
// after a second) is not taken for a mismatched one.
void test_mismatch_found_while_waiting() {
    Cluster c(3);
    std::vector<std::unique_ptr<Collectives>> colls;
    for (int r = 0; r < 3; ++r) colls.push_back(std::make_unique<Collectives>(c[r]));
    std::vector<std::string> errors(3);
    const auto t0 = Clock::now();
    run_ranks(3, [&](int r) {
        Collectives& coll = *colls[static_cast<std::size_t>(r)];
        Group g;
        g.rank = r;
        g.size = 3;
        g.context = kFirstFreeContext + 1;
        std::vector<double> v{1.0};
        // First a late member in the same call: no error.
        if (r == 2) std::this_thread::sleep_for(std::chrono::milliseconds(1200));
        coll.barrier(g, "", 8);
        errors[static_cast<std::size_t>(r)] = expect_throw<CollectiveError>([&] {
            if (r == 0)
                coll.gather(g, f64_ref(v), 0, 16, Failure{});
            else
                coll.broadcast(g, f64_ref(v), 0, 16, Failure{});
        });
    });
    CHECK(ms_since(t0) < 8000);
    CHECK(errors[0].find("rank 0 called gather(root=0), rank ") != std::string::npos);
    CHECK(errors[0].find("called bcast(root=0)") != std::string::npos);
    CHECK(errors[1].find("rank 1 called bcast(root=0), rank 0 called gather(root=0)") !=
          std::string::npos);
    CHECK(errors[2].find("rank 2 called bcast(root=0), rank 0 called gather(root=0)") !=
          std::string::npos);
}

// What the CallWatch adds to every collective's start (printed, never asserted: timing
// on a shared machine is noise): recording the call and marking the thread.
void test_call_watch_cost() {
    Cluster c(1);
    CallWatch watch(c[0]);
    Group g;
    constexpr int kCalls = 200000;
    const auto t0 = Clock::now();
    for (int i = 0; i < kCalls; ++i) CallWatch::Scope call(watch, g, i * 8, 0xC7010000u);
    std::printf("    CallWatch::Scope: %.1f ns per collective\n", ms_since(t0) * 1e6 / kCalls);
}

void test_collectives_4() { collectives_at(4); }
void test_collectives_3() { collectives_at(3); }

// ---- the TCP parcelport itself, over socket pairs (no network, no bootstrap) ----

struct TcpCluster {
    std::vector<std::unique_ptr<Engine>> engines;
    explicit TcpCluster(int n) {
        std::vector<std::vector<int>> fds(static_cast<std::size_t>(n),
                                          std::vector<int>(static_cast<std::size_t>(n), -1));
        for (int i = 0; i < n; ++i)
            for (int j = i + 1; j < n; ++j) {
                int sv[2];
                if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
                    throw std::runtime_error("socketpair");
                fds[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)] = sv[0];
                fds[static_cast<std::size_t>(j)][static_cast<std::size_t>(i)] = sv[1];
            }
        for (int i = 0; i < n; ++i) {
            auto e = std::make_unique<Engine>(i, n, 50);
            e->handler().add(std::make_unique<TcpParcelport>(
                i, fds[static_cast<std::size_t>(i)], e->handler().port_sink()));
            e->start();
            engines.push_back(std::move(e));
        }
    }
    Engine& operator[](int i) { return *engines[static_cast<std::size_t>(i)]; }
};

void test_tcp_messages_and_routes() {
    TcpCluster c(3);
    CHECK(c[0].handler().route_name(1) == "tcp" && c[0].handler().route_name(0) == "self");
    send_text(c[0], 1, 1, "a");
    send_text(c[0], 1, 1, "b");
    send_text(c[2], 1, 1, "c");
    CHECK(text(c[1].receive(kCtx, 0, 1)) == "a");
    CHECK(text(c[1].receive(kCtx, 0, 1)) == "b");
    CHECK(text(c[1].receive(kCtx, kAnySource, kAnyTag)) == "c");
    // Gathered parts arrive as one message.
    const std::string p1 = "gat", p2 = "hered";
    c[2].send(0, kCtx, 3, {{p1.data(), p1.size()}, {p2.data(), p2.size()}});
    CHECK(text(c[0].receive(kCtx, 2, 3)) == "gathered");
    run_ranks(3, [&](int r) { c[r].shutdown(true); });
}

// Both sides send 8 MiB to each other at once: each sender finds the socket full and must
// read what the other sends meanwhile, or both would wait forever.
void test_tcp_large_exchange() {
    TcpCluster c(2);
    const std::size_t n = 8u << 20;
    run_ranks(2, [&](int r) {
        std::vector<char> out(n, static_cast<char>('A' + r));
        c[r].send(1 - r, kCtx, 0, {{out.data(), out.size()}});
        Message m = c[r].receive(kCtx, 1 - r, 0);
        CHECK(m.payload->size() == n);
        CHECK(m.payload->data()[0] == 'A' + (1 - r) && m.payload->data()[n - 1] == 'A' + (1 - r));
    });
    run_ranks(2, [&](int r) { c[r].shutdown(true); });
}

void test_tcp_failure_and_goodbye() {
    TcpCluster c(3);
    // Locality 2 fails: its abort frame makes the others raise for it.
    std::thread failing([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        c[2].shutdown(false);
    });
    std::string what = expect_throw<LocalityLost>([&] { c[0].receive(kCtx, 2, 0); });
    failing.join();
    CHECK(what.find("locality 2") != std::string::npos);
    // Goodbyes: after a barrier-like exchange both leave at once, each seeing the other's
    // goodbye (no loss reported, no 5 s wait for a missing goodbye).
    TcpCluster d(2);
    auto t0 = Clock::now();
    run_ranks(2, [&](int r) { d[r].shutdown(true); });
    CHECK(ms_since(t0) < 4000);
}

// ---- the shared-memory parcelport, between engines of this process ----

struct ShmCluster {
    std::vector<std::unique_ptr<Engine>> engines;
    explicit ShmCluster(int n, int spin_us = 50, std::size_t limit = Engine::kUnexpectedLimit) {
        std::vector<std::shared_ptr<shm::Segment>> segments;
        std::vector<shm::PeerEndpoint> where;
        for (int i = 0; i < n; ++i) {
            segments.push_back(shm::create_locality_segment(i, n));
            where.push_back({static_cast<int>(getpid()), segments.back()->fd(),
                             segments.back()->size()});
        }
        for (int i = 0; i < n; ++i) {
            auto e = std::make_unique<Engine>(i, n, spin_us, limit);
            e->handler().add(std::make_unique<ShmParcelport>(
                i, segments[static_cast<std::size_t>(i)], where, e->handler().port_sink(),
                spin_us));
            e->start();
            engines.push_back(std::move(e));
        }
    }
    Engine& operator[](int i) { return *engines[static_cast<std::size_t>(i)]; }
};

void test_shm_messages_in_order() {
    ShmCluster c(3);
    CHECK(c[0].handler().route_name(1) == "shm" && c[0].handler().route_name(0) == "self");
    for (int i = 0; i < 1000; ++i) send_text(c[0], 1, 1, std::to_string(i));
    send_text(c[2], 1, 2, "c");
    for (int i = 0; i < 1000; ++i) CHECK(text(c[1].receive(kCtx, 0, 1)) == std::to_string(i));
    CHECK(text(c[1].receive(kCtx, kAnySource, 2)) == "c");
    const std::string p1 = "gat", p2 = "hered";
    c[2].send(0, kCtx, 3, {{p1.data(), p1.size()}, {p2.data(), p2.size()}});
    CHECK(text(c[0].receive(kCtx, 2, 3)) == "gathered");
    run_ranks(3, [&](int r) { c[r].shutdown(true); });
}

// 8 MiB each way at once, chunked through 1 MiB rings: each sender finds the ring full and
// must drain its own meanwhile. Receivers sleeping (spin 0) are woken by the doorbell.
void test_shm_large_exchange() {
    for (int spin : {0, 50}) {
        ShmCluster c(2, spin);
        const std::size_t n = (8u << 20) + 13;
        run_ranks(2, [&](int r) {
            std::vector<char> out(n);
            for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>(i * 7 + r);
            c[r].send(1 - r, kCtx, 0, {{out.data(), out.size()}});
            Message m = c[r].receive(kCtx, 1 - r, 0);
            CHECK(m.payload->size() == n);
            bool same = true;
            for (std::size_t i = 0; i < n; i += 4093)
                same = same && m.payload->data()[i] == static_cast<char>(i * 7 + (1 - r));
            CHECK(same);
        });
        run_ranks(2, [&](int r) { c[r].shutdown(true); });
    }
}

// Flow control: a receiver holding its limit of unexpected data takes no more from that
// sender (whose send blocks) until a receive asks for it.
void test_shm_flow_control() {
    ShmCluster c(2, 0, /*limit=*/1u << 20);
    std::atomic<int> sent{0};
    std::thread sender([&] {
        std::vector<char> block(64 << 10, 'x');
        for (int i = 0; i < 200; ++i) {  // 12.5 MiB: far beyond limit + ring
            c[0].send(1, kCtx, i, {{block.data(), block.size()}});
            ++sent;
        }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    c[1].iprobe(kCtx, 0, 999);  // progress once: takes in up to the limit only
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const int stalled_at = sent.load();
    bool sizes_ok = true;
    for (int i = 0; i < 200; ++i) sizes_ok = sizes_ok && c[1].receive(kCtx, 0, i).payload->size() == 64u << 10;
    sender.join();
    std::printf("    sender stalled after %d of 200 messages\n", stalled_at);
    CHECK(stalled_at < 200 && sizes_ok);
    CHECK(sent.load() == 200);
    run_ranks(2, [&](int r) { c[r].shutdown(true); });
}

// A receive that names its buffer gets a matching message written straight into it
// (header part into the request's head); one that does not fit, or was already waiting,
// comes as a payload.
template <typename Cluster>
void direct_receives(Cluster& c) {
    const std::size_t n = (3u << 20) + 5;  // several shm chunks, TCP's direct read
    std::vector<char> out(n), into(n, 0);
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>(i * 13);
    const char head[16] = "0123456789abcde";
    std::thread receiver([&] {
        RecvRequestPtr r = c[1].post_receive_into(kCtx, 0, 5, sizeof head, into.data(), n);
        c[1].wait(r);
        CHECK(r->direct && r->size == n + sizeof head && r->message.source == 0);
        CHECK(std::memcmp(r->head, head, sizeof head) == 0 && into == out);
        std::vector<char> small(10);
        r = c[1].post_receive_into(kCtx, 0, 6, sizeof head, small.data(), small.size());
        c[1].wait(r);  // 3 MiB into 10 bytes: a payload, for the caller's truncation error
        CHECK(!r->direct && r->message.payload && r->message.payload->size() == n + 16);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the receive post
    c[0].send(1, kCtx, 5, {{head, sizeof head}, {out.data(), out.size()}});
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    c[0].send(1, kCtx, 6, {{head, sizeof head}, {out.data(), out.size()}});
    receiver.join();
    // Ping-pong of 1 MiB: each side's reads stop mid-stream (bounded passes) and must
    // resume from what the transport already buffered.
    run_ranks(2, [&](int r) {
        std::vector<char> buf(1u << 20, static_cast<char>(r));
        char h[16] = {};
        for (int i = 0; i < 20; ++i) {
            if ((i % 2) == r) {
                c[r].send(1 - r, kCtx, 7, {{h, sizeof h}, {buf.data(), buf.size()}});
            } else {
                RecvRequestPtr q = c[r].post_receive_into(kCtx, 1 - r, 7, sizeof h, buf.data(),
                                                          buf.size());
                c[r].wait(q);
                CHECK(q->size == buf.size() + sizeof h);
            }
        }
    });
    run_ranks(2, [&](int r) { c[r].shutdown(true); });
}

void test_shm_direct_receive() {
    ShmCluster c(2, 0);
    direct_receives(c);
}

void test_tcp_direct_receive() {
    TcpCluster c(2);
    direct_receives(c);
}

// Large broadcasts among shm localities go through the root's shared window (written
// once, copied out by every reader, in chunks); small ones through the tree. Every root,
// sizes on both sides of the window's chunking, back to back (the next broadcast from a
// root waits for the readers of its last).
void shm_broadcasts_at(int n) {
    ShmCluster c(n, 0);
    run_ranks(n, [&](int r) {
        Collectives coll(c[r]);
        Group g;
        g.rank = r;
        g.size = n;
        int tag = 0;
        for (std::size_t count : {std::size_t{100}, std::size_t{200000}, std::size_t{700001}}) {
            for (int root = 0; root < n; ++root) {
                std::vector<double> data(count, -1.0);
                if (r == root)
                    for (std::size_t i = 0; i < count; ++i) data[i] = root * 1e7 + double(i);
                Item item = coll.broadcast(g, f64_ref(data), root, tag++, Failure{});
                if (r == root) continue;
                std::vector<double> got = doubles(item, data);
                bool same = got.size() == count;
                for (std::size_t i = 0; same && i < count; i += 101)
                    same = got[i] == root * 1e7 + double(i);
                CHECK(same && got.back() == root * 1e7 + double(count - 1));
            }
        }
    });
    run_ranks(n, [&](int r) { c[r].shutdown(true); });
}

void test_shm_broadcast_2() { shm_broadcasts_at(2); }
void test_shm_broadcast_4() { shm_broadcasts_at(4); }

// Raw-block collectives (exchange, gather_blocks): every block lands in its place, of
// sizes below and above a ring's record; a block larger than its room is reported, not
// written; back-to-back calls on one tag order themselves by source.
template <typename Cluster>
void raw_blocks_at(Cluster& c, int n) {
    run_ranks(n, [&](int r) {
        Collectives coll(c[r]);
        Group g;
        g.rank = r;
        g.size = n;
        const auto at = [](int i) { return static_cast<std::size_t>(i); };
        int tag = 100;
        for (std::size_t bytes : {std::size_t{0}, std::size_t{24}, std::size_t{700001}}) {
            std::vector<std::vector<char>> out(at(n));
            std::vector<ConstBuffer> sends;
            std::vector<char> in(bytes * at(n), '?');
            std::vector<RecvBlock> places;
            for (int j = 0; j < n; ++j) {
                out[at(j)].assign(bytes, static_cast<char>('a' + r * n + j));
                sends.push_back({out[at(j)].data(), bytes});
                places.push_back({in.data() + at(j) * bytes, bytes});
            }
            std::vector<std::size_t> got = coll.exchange(g, sends, places, tag++);
            for (int j = 0; j < n; ++j) {
                if (j == r) continue;
                CHECK(got[at(j)] == bytes);
                CHECK(bytes == 0 || (in[at(j) * bytes] == static_cast<char>('a' + j * n + r) &&
                                     in[at(j) * bytes + bytes - 1] == in[at(j) * bytes]));
            }
            for (int root = 0; root < n; ++root) {
                std::fill(in.begin(), in.end(), '?');
                got = coll.gather_blocks(g, sends[0], r == root ? places : std::vector<RecvBlock>{},
                                         root, tag++);
                CHECK(got.size() == (r == root ? at(n) : 0));
                for (int j = 0; j < n && r == root; ++j)
                    CHECK(j == r || bytes == 0 || in[at(j) * bytes] == static_cast<char>('a' + j * n));
            }
        }
        // Member 0 sends 8 bytes more than there is room for: counted, not written.
        std::vector<char> big(40, 'x'), room(32 * at(n), '?');
        std::vector<ConstBuffer> sends(at(n), {big.data(), r == 0 ? 40u : 32u});
        std::vector<RecvBlock> places;
        for (int j = 0; j < n; ++j) places.push_back({room.data() + 32 * at(j), 32});
        std::vector<std::size_t> got = coll.exchange(g, sends, places, tag++);
        if (r != 0) CHECK(got[0] == 40 && room[0] == '?');
    });
    run_ranks(n, [&](int r) { c[r].shutdown(true); });
}

void test_shm_raw_blocks() {
    ShmCluster c(3, 0);
    raw_blocks_at(c, 3);
}

void test_tcp_raw_blocks() {
    TcpCluster c(4);
    raw_blocks_at(c, 4);
}

// gather_blocks of equal small blocks: the binomial tree, at several sizes and every root.
// Every block lands in its place; the root receives ⌈log2 n⌉ messages, not n - 1; a member
// whose block is larger than the root's room is reported with its own byte count (the
// caller raises the truncation error) and not written, a smaller one is written as the
// direct algorithm writes it, and nobody hangs. HPXPY_GATHER_TREE_MAX is not set here, so
// blocks of a few bytes take the tree and 700001-byte ones the direct sends.
void tree_gather_at(int n) {
    Cluster c(n);
    const auto at = [](int i) { return static_cast<std::size_t>(i); };
    int rounds = 0;
    while ((1 << rounds) < n) ++rounds;
    run_ranks(n, [&](int r) {
        Collectives coll(c[r]);
        Group g;
        g.rank = r;
        g.size = n;
        int tag = 100;
        for (std::size_t bytes : {std::size_t{0}, std::size_t{8}, std::size_t{100},
                                  std::size_t{700001}}) {
            std::vector<char> mine(bytes, static_cast<char>('a' + r));
            std::vector<char> in(bytes * at(n) + 1, '?');
            std::vector<RecvBlock> places;
            for (int j = 0; j < n; ++j) places.push_back({in.data() + at(j) * bytes, bytes});
            for (int root = 0; root < n; ++root) {
                std::fill(in.begin(), in.end(), '?');
                const uint64_t before = c[r].traffic().received;
                std::vector<std::size_t> got = coll.gather_blocks(
                    g, {mine.data(), bytes}, r == root ? places : std::vector<RecvBlock>{},
                    root, tag++, /*equal=*/true);
                const uint64_t received = c[r].traffic().received - before;
                CHECK(got.size() == (r == root ? at(n) : 0));
                if (r != root) continue;
                if (bytes < 1000 && n > 2)
                    CHECK(received == static_cast<uint64_t>(std::min(rounds, n - 1)));
                else
                    CHECK(received == static_cast<uint64_t>(n - 1));
                for (int j = 0; j < n; ++j) {
                    if (j == r) continue;
                    CHECK(got[at(j)] == bytes);
                    for (std::size_t b = 0; b < bytes; b += bytes / 7 + 1)
                        CHECK(in[at(j) * bytes + b] == static_cast<char>('a' + j));
                }
                CHECK(in[at(r) * bytes] == '?' && in.back() == '?');  // ours is the caller's
            }
        }
        // Member `odd` sends `odd_bytes` where the others send 16: reported, not written when
        // it does not fit, written when it does; every other block still lands in place.
        for (int odd = 0; odd < n; ++odd) {
            for (std::size_t odd_bytes : {std::size_t{24}, std::size_t{5}}) {
                const int root = (odd + 1) % n;
                if (n < 2) break;
                const std::size_t bytes = r == odd ? odd_bytes : 16;
                std::vector<char> mine(bytes, static_cast<char>('A' + r));
                std::vector<char> in(16 * at(n), '?');
                std::vector<RecvBlock> places;
                for (int j = 0; j < n; ++j) places.push_back({in.data() + at(j) * 16, 16});
                std::vector<std::size_t> got = coll.gather_blocks(
                    g, {mine.data(), bytes}, r == root ? places : std::vector<RecvBlock>{},
                    root, tag++, /*equal=*/true);
                if (r != root) continue;
                for (int j = 0; j < n; ++j) {
                    if (j == r) continue;
                    const std::size_t want = j == odd ? odd_bytes : 16;
                    CHECK(got[at(j)] == want);
                    const char first = in[at(j) * 16], last = in[at(j) * 16 + 15];
                    if (want > 16) {
                        CHECK(first == '?');
                    } else {
                        CHECK(first == static_cast<char>('A' + j));
                        CHECK(last == (want == 16 ? static_cast<char>('A' + j) : '?'));
                    }
                }
            }
        }
    });
}

// exchange of equal small blocks (Alltoall): Bruck's algorithm, ⌈log2 n⌉ messages sent
// and received per member; above kBruckAlltoallMax the direct exchange. A member whose
// blocks are larger than the others' is reported to every receiver with its own byte
// count and not written; a smaller one is written; nobody hangs.
void bruck_alltoall_at(int n) {
    Cluster c(n);
    const auto at = [](int i) { return static_cast<std::size_t>(i); };
    int rounds = 0;
    while ((1 << rounds) < n) ++rounds;
    run_ranks(n, [&](int r) {
        Collectives coll(c[r]);
        Group g;
        g.rank = r;
        g.size = n;
        int tag = 100;
        const auto mark = [&](int from, int to, std::size_t b) {
            return static_cast<char>('!' + (from * 7 + to * 3 + static_cast<int>(b)) % 90);
        };
        for (std::size_t bytes : {std::size_t{0}, std::size_t{8}, std::size_t{100},
                                  std::size_t{256}, std::size_t{3000}}) {
            std::vector<char> out(bytes * at(n)), in(bytes * at(n) + 1, '?');
            std::vector<ConstBuffer> sends;
            std::vector<RecvBlock> places;
            for (int j = 0; j < n; ++j) {
                for (std::size_t b = 0; b < bytes; ++b) out[at(j) * bytes + b] = mark(r, j, b);
                sends.push_back({out.data() + at(j) * bytes, bytes});
                places.push_back({in.data() + at(j) * bytes, bytes});
            }
            const Engine::Traffic before = c[r].traffic();
            std::vector<std::size_t> got = coll.exchange(g, sends, places, tag++, true);
            const Engine::Traffic after = c[r].traffic();
            const uint64_t want = bytes <= 256 && n > 2 ? static_cast<uint64_t>(rounds)
                                                        : static_cast<uint64_t>(n - 1);
            CHECK(after.messages - before.messages == want);
            CHECK(after.received - before.received == want);
            CHECK(got.size() == at(n));
            for (int j = 0; j < n; ++j) {
                if (j == r) continue;
                CHECK(got[at(j)] == bytes);
                for (std::size_t b = 0; b < bytes; ++b)
                    CHECK(in[at(j) * bytes + b] == mark(j, r, b));
            }
            CHECK(in.back() == '?' && (bytes == 0 || in[at(r) * bytes] == '?'));
        }
        // Member `odd` sends blocks of `odd_bytes` where the others send 16.
        for (int odd = 0; odd < n && n > 1; ++odd) {
            for (std::size_t odd_bytes : {std::size_t{24}, std::size_t{5}}) {
                const std::size_t bytes = r == odd ? odd_bytes : 16;
                std::vector<char> out(bytes * at(n), static_cast<char>('A' + r));
                std::vector<char> in(16 * at(n), '?');
                std::vector<ConstBuffer> sends;
                std::vector<RecvBlock> places;
                for (int j = 0; j < n; ++j) {
                    sends.push_back({out.data() + at(j) * bytes, bytes});
                    places.push_back({in.data() + at(j) * 16, 16});
                }
                std::vector<std::size_t> got = coll.exchange(g, sends, places, tag++, true);
                if (r == odd) continue;  // (what the odd member receives: not specified)
                for (int j = 0; j < n; ++j) {
                    if (j == r) continue;
                    const std::size_t want = j == odd ? odd_bytes : 16;
                    CHECK(got[at(j)] == want);
                    const char first = in[at(j) * 16], last = in[at(j) * 16 + 15];
                    if (want > 16) {
                        CHECK(first == '?');
                    } else {
                        CHECK(first == static_cast<char>('A' + j));
                        CHECK(last == (want == 16 ? static_cast<char>('A' + j) : '?'));
                    }
                }
            }
        }
    });
}

void test_tree_gather_1() { tree_gather_at(1); }
void test_tree_gather_2() { tree_gather_at(2); }
void test_tree_gather_3() { tree_gather_at(3); }
void test_tree_gather_5() { tree_gather_at(5); }
void test_tree_gather_8() { tree_gather_at(8); }
void test_bruck_alltoall_1() { bruck_alltoall_at(1); }
void test_bruck_alltoall_2() { bruck_alltoall_at(2); }
void test_bruck_alltoall_3() { bruck_alltoall_at(3); }
void test_bruck_alltoall_5() { bruck_alltoall_at(5); }
void test_bruck_alltoall_8() { bruck_alltoall_at(8); }

// Small blocking collectives of a communicator's group (context >= kFirstFreeContext) meet
// in a slot of rank 0's segment: barriers and all_reduce back to back, data too large for a
// cell (every member falls back to messages together), a mismatch raising everywhere, a
// second group with another slot, and a group whose rank 0 is not locality 0.
void test_shm_meetings() {
    const int n = 3;
    ShmCluster c(n, 0);
    run_ranks(n, [&](int r) {
        Collectives coll(c[r]);
        Group g;
        g.context = kFirstFreeContext + 1;
        g.rank = r;
        g.size = n;
        int tag = 0;
        for (int i = 0; i < 50; ++i) {
            coll.barrier(g, "", tag, true);
            tag += 8;
            std::vector<double> v{static_cast<double>(r + i), 1.0};
            Item item = coll.all_reduce(g, f64_ref(v), static_cast<uint32_t>(ReduceOp::sum), tag,
                                        Failure{}, true);
            tag += 8;
            std::vector<double> sum = doubles(item, v);
            CHECK(sum.size() == 2 && sum[0] == 3.0 * i + 3.0 && sum[1] == 3.0);
        }
        std::vector<double> big(100, static_cast<double>(r));  // 800 bytes: not one cell
        Item item = coll.all_reduce(g, f64_ref(big), static_cast<uint32_t>(ReduceOp::max), tag,
                                    Failure{}, true);
        tag += 8;
        CHECK(doubles(item, big).at(99) == n - 1);
        std::vector<double> odd(r == 1 ? 2 : 1, 1.0);
        std::string what = expect_throw<CollectiveError>([&] {
            coll.all_reduce(g, f64_ref(odd), static_cast<uint32_t>(ReduceOp::sum), tag,
                            Failure{}, true);
        });
        tag += 8;
        CHECK(what.find("differ") != std::string::npos);
        // Members 2 and 0 (in that rank order): the slot is in locality 2's segment.
        if (r != 1) {
            Group h;
            h.context = kFirstFreeContext + 5;
            h.members = {2, 0};
            h.rank = r == 2 ? 0 : 1;
            h.size = 2;
            for (int i = 0; i < 20; ++i) {
                std::vector<double> v{static_cast<double>(r)};
                item = coll.all_reduce(h, f64_ref(v), static_cast<uint32_t>(ReduceOp::max),
                                       8 * i, Failure{}, true);
                CHECK(doubles(item, v).at(0) == 2.0);
                coll.barrier(h, "", 8 * i + 8 * 20, true);
            }
        }
        coll.barrier(g, "", tag, true);
    });
    run_ranks(n, [&](int r) { c[r].shutdown(true); });
}

void test_shm_failure_and_goodbye() {
    ShmCluster c(3, 0);
    std::thread failing([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        c[2].shutdown(false);  // abort: flags its segment, rings everyone
    });
    std::string what = expect_throw<LocalityLost>([&] { c[0].receive(kCtx, 2, 0); });
    failing.join();
    CHECK(what.find("locality 2") != std::string::npos);
    ShmCluster d(2, 0);
    auto t0 = Clock::now();
    run_ranks(2, [&](int r) { d[r].shutdown(true); });
    CHECK(ms_since(t0) < 4000);
}

// ---- what a locality waits for (stall reports) ----

void test_pending_lists_waits() {
    Cluster c(2);
    CHECK(c[1].pending().empty());
    char buffer[64];
    RecvRequestPtr r = c[1].post_receive_into(kCtx, 0, 5, 0, buffer, sizeof buffer);
    std::vector<PendingOp> ops = c[1].pending();
    CHECK(ops.size() == 1);
    CHECK(ops[0].kind == "receive" && ops[0].context == kCtx && ops[0].peer == 0 &&
          ops[0].tag == 5 && ops[0].size == sizeof buffer && ops[0].thread == 0);
    std::atomic<long> waiter{0}, prober{0};
    std::thread wait_thread([&] {
        waiter = static_cast<long>(::syscall(SYS_gettid));
        c[1].wait(r);
    });
    std::thread probe_thread([&] {
        prober = static_cast<long>(::syscall(SYS_gettid));
        c[1].probe(kCtx, kAnySource, 6);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ops = c[1].pending();
    CHECK(ops.size() == 2);
    for (const PendingOp& op : ops) {
        if (op.kind == "receive") {
            CHECK(op.thread == waiter.load() && op.waited > 0.02);
        } else {
            CHECK(op.kind == "probe" && op.peer == kAnySource && op.tag == 6 &&
                  op.thread == prober.load());
        }
    }
    send_text(c[0], 1, 5, "done");
    send_text(c[0], 1, 6, "probed");
    wait_thread.join();
    probe_thread.join();
    ops = c[1].pending();
    CHECK(ops.empty());
    c[1].receive(kCtx, 0, 6);
}

struct Test {
    const char* name;
    void (*fn)();
};

const Test kTests[] = {
    {"matching_order", test_matching_order},
    {"any_source_any_tag", test_any_source_any_tag},
    {"self_and_synchronous_sends", test_self_and_synchronous_sends},
    {"lost_peer_raises", test_lost_peer_raises},
    {"departed_peer_raises", test_departed_peer_raises},
    {"blocked_waiter_is_woken", test_blocked_waiter_is_woken},
    {"two_waiters", test_two_waiters},
    {"port_without_wait_fd", test_port_without_wait_fd},
    {"routes_by_priority", test_routes_by_priority},
    {"runtime_rejects_bad_transports", test_runtime_rejects_bad_transports},
    {"collectives_reject_bad_groups", test_collectives_reject_bad_groups},
    {"collectives_4", test_collectives_4},
    {"mismatch_found_while_waiting", test_mismatch_found_while_waiting},
    {"call_watch_cost", test_call_watch_cost},
    {"collectives_3", test_collectives_3},
    {"tcp_messages_and_routes", test_tcp_messages_and_routes},
    {"tcp_large_exchange", test_tcp_large_exchange},
    {"tcp_failure_and_goodbye", test_tcp_failure_and_goodbye},
    {"shm_messages_in_order", test_shm_messages_in_order},
    {"shm_large_exchange", test_shm_large_exchange},
    {"shm_flow_control", test_shm_flow_control},
    {"shm_failure_and_goodbye", test_shm_failure_and_goodbye},
    {"shm_direct_receive", test_shm_direct_receive},
    {"shm_broadcast_2", test_shm_broadcast_2},
    {"shm_broadcast_4", test_shm_broadcast_4},
    {"tcp_direct_receive", test_tcp_direct_receive},
    {"shm_raw_blocks", test_shm_raw_blocks},
    {"shm_meetings", test_shm_meetings},
    {"tcp_raw_blocks", test_tcp_raw_blocks},
    {"pending_lists_waits", test_pending_lists_waits},
    {"tree_gather_1", test_tree_gather_1},
    {"tree_gather_2", test_tree_gather_2},
    {"tree_gather_3", test_tree_gather_3},
    {"tree_gather_5", test_tree_gather_5},
    {"tree_gather_8", test_tree_gather_8},
    {"bruck_alltoall_1", test_bruck_alltoall_1},
    {"bruck_alltoall_2", test_bruck_alltoall_2},
    {"bruck_alltoall_3", test_bruck_alltoall_3},
    {"bruck_alltoall_5", test_bruck_alltoall_5},
    {"bruck_alltoall_8", test_bruck_alltoall_8},
};

}  // namespace

int main(int argc, char** argv) {
    alarm(120);  // a hung test ends the run (SIGALRM) instead of blocking CI
    const char* filter = argc > 1 ? argv[1] : "";
    int failed = 0, ran = 0;
    for (const Test& t : kTests) {
        if (std::strstr(t.name, filter) == nullptr) continue;
        ++ran;
        auto t0 = Clock::now();
        try {
            t.fn();
            std::printf("PASS %s (%.0f ms)\n", t.name, ms_since(t0));
        } catch (const std::exception& e) {
            ++failed;
            std::printf("FAIL %s: %s\n", t.name, e.what());
        }
        std::fflush(stdout);
    }
    std::printf("%d passed, %d failed\n", ran - failed, failed);
    return failed == 0 && ran > 0 ? 0 : 1;
}
