// Unit test of the shared-memory ring and segment (src/parcelport/shm): order, contents,
// wrap-around and gathered parts between two threads and between two processes, the size
// limits, and a full ring that refuses and then accepts. Exits non-zero on the first
// failure; every wait is bounded, so a bug fails instead of hanging.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <system_error>
#include <thread>
#include <vector>

#include "parcelport/shm/ring.hpp"
#include "parcelport/shm/segment.hpp"

using hpxpy::ConstBuffer;
using hpxpy::shm::Segment;
using hpxpy::shm::SpscRing;
using Clock = std::chrono::steady_clock;

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            std::exit(1);                                                       \
        }                                                                       \
    } while (0)

namespace {

const auto kDeadline = std::chrono::seconds(30);

// The payload of record `seq`: its size and bytes follow from `seq` alone, so the consumer
// can check both without being told.
std::size_t size_of(uint64_t seq, std::size_t max) {
    std::mt19937_64 rng(seq);
    switch (seq % 4) {
        case 0: return 0;
        case 1: return rng() % 16;
        case 2: return rng() % 300;
        default: return rng() % (max + 1);
    }
}

char byte_of(uint64_t seq, std::size_t i) { return static_cast<char>((seq * 131 + i * 7) & 0xff); }

std::vector<char> payload_of(uint64_t seq, std::size_t max) {
    std::vector<char> bytes(size_of(seq, max));
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = byte_of(seq, i);
    return bytes;
}

void produce(SpscRing ring, uint64_t count) {
    const auto deadline = Clock::now() + kDeadline;
    for (uint64_t seq = 0; seq < count; ++seq) {
        std::vector<char> bytes = payload_of(seq, ring.max_payload());
        // Three parts (the middle one possibly empty), gathered into one record.
        std::size_t a = bytes.size() / 3, b = bytes.size() / 2;
        ConstBuffer parts[3] = {{bytes.data(), a}, {bytes.data() + a, b - a},
                                {bytes.data() + b, bytes.size() - b}};
        while (!ring.try_push(static_cast<uint32_t>(1 + seq % 7), parts, 3)) {
            CHECK(Clock::now() < deadline);
            std::this_thread::yield();
        }
    }
}

void consume(SpscRing& ring, uint64_t count) {
    const auto deadline = Clock::now() + kDeadline;
    for (uint64_t seq = 0; seq < count; ++seq) {
        uint32_t kind = 0;
        const char* data = nullptr;
        std::size_t size = 0;
        while (!ring.front(kind, data, size)) {
            CHECK(Clock::now() < deadline);
            std::this_thread::yield();
        }
        CHECK(kind == 1 + seq % 7);
        CHECK(size == size_of(seq, ring.max_payload()));
        for (std::size_t i = 0; i < size; ++i) CHECK(data[i] == byte_of(seq, i));
        ring.pop();
    }
    CHECK(ring.empty());
}

void test_limits() {
    std::vector<uint64_t> memory(SpscRing::footprint(256) / 8 + 1);
    bool threw = false;
    try {
        SpscRing::create(memory.data(), 100);
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    CHECK(threw);
    SpscRing ring = SpscRing::create(memory.data(), 256);
    CHECK(ring.max_payload() == 120);
    std::vector<char> big(ring.max_payload() + 1, 'x');
    threw = false;
    try {
        ring.try_push(1, big.data(), big.size());
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    CHECK(threw);
    // A record of the largest size fits at every offset of an empty ring.
    for (int shift = 0; shift < 40; ++shift) {
        CHECK(ring.try_push(2, big.data(), 8 * (shift % 5)));  // move the offset along
        uint32_t kind;
        const char* data;
        std::size_t size;
        CHECK(ring.front(kind, data, size) && size == 8u * (shift % 5));
        ring.pop();
        CHECK(ring.try_push(3, big.data(), ring.max_payload()));
        CHECK(ring.front(kind, data, size) && kind == 3 && size == ring.max_payload());
        ring.pop();
    }
    // Full: refused with nothing written, accepted again once the consumer pops.
    int pushed = 0;
    while (ring.try_push(4, big.data(), 24)) ++pushed;
    CHECK(pushed == 256 / 32);
    uint32_t kind;
    const char* data;
    std::size_t size;
    CHECK(ring.front(kind, data, size) && kind == 4);
    ring.pop();
    CHECK(ring.try_push(5, big.data(), 24));
    for (int i = 0; i < pushed; ++i) {
        CHECK(ring.front(kind, data, size));
        ring.pop();
    }
    CHECK(kind == 5 && ring.empty());
}

void test_threads(uint64_t count) {
    const std::size_t capacity = 4096;
    std::unique_ptr<uint64_t[]> memory(new uint64_t[SpscRing::footprint(capacity) / 8 + 8]);
    SpscRing consumer = SpscRing::create(memory.get(), capacity);
    std::thread producer(produce, SpscRing::attach(memory.get()), count);
    consume(consumer, count);
    producer.join();
}

void test_processes(uint64_t count) {
    const std::size_t capacity = 1 << 16;
    Segment segment = Segment::create(SpscRing::footprint(capacity), "hpxpy-ring-test");
    SpscRing consumer = SpscRing::create(segment.data(), capacity);
    const int parent = getpid(), fd = segment.fd();
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        // What a peer does: open the creator's segment through /proc, attach, produce.
        Segment mine = Segment::open(parent, fd, SpscRing::footprint(capacity));
        produce(SpscRing::attach(mine.data()), count);
        std::_Exit(0);
    }
    consume(consumer, count);
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    // Once the creator closes its descriptor, no other process can open the segment.
    segment.close_fd();
    bool threw = false;
    try {
        Segment::open(parent, fd, SpscRing::footprint(capacity));
    } catch (const std::system_error&) {
        threw = true;
    }
    CHECK(threw);
}

}  // namespace

int main(int argc, char** argv) {
    // An optional count of records (default 100000): smaller under sanitizers.
    const uint64_t count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100000;
    test_limits();
    test_threads(count);
    test_processes(count);
    std::puts("shm ring: all checks passed");
    return 0;
}
