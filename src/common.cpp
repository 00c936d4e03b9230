#include "common.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

namespace hpxpy {

namespace {
// A yield to a peer that also waits returns in 1-5 us here; one to a busy program lasts a
// scheduler slice (a millisecond or more). Thresholds of 0.5 and 2 ms measured alike; 0.2 ms
// took ordinary preemption for contention.
constexpr int64_t kLongYieldNs = 1000 * 1000;
constexpr int64_t kContendedForNs = 100 * 1000 * 1000;
std::atomic<int64_t> contended_until_ns{0};

int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}
}  // namespace

void yield_core() {
    const int64_t before = steady_ns();
    std::this_thread::yield();
    const int64_t after = steady_ns();
    if (after - before > kLongYieldNs)
        contended_until_ns.store(after + kContendedForNs, std::memory_order_relaxed);
}

bool core_recently_contended() {
    return steady_ns() < contended_until_ns.load(std::memory_order_relaxed);
}

BlockPool& BlockPool::instance() {
    static BlockPool* pool = new BlockPool();  // never destroyed: payloads may outlive statics
    return *pool;
}

char* BlockPool::take(std::size_t size, std::size_t& capacity) {
    if (size >= kMinPooled) {
        std::lock_guard<std::mutex> lock(mu_);
        // Best fit among blocks no more than twice the size asked for.
        std::size_t best = free_.size();
        for (std::size_t i = 0; i < free_.size(); ++i) {
            const Block& b = free_[i];
            if (b.capacity >= size && b.capacity <= 2 * size &&
                (best == free_.size() || b.capacity < free_[best].capacity))
                best = i;
        }
        if (best != free_.size()) {
            Block b = free_[best];
            free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(best));
            cached_bytes_ -= b.capacity;
            capacity = b.capacity;
            return b.data;
        }
    }
    char* data = static_cast<char*>(std::malloc(size ? size : 1));
    if (!data) throw std::bad_alloc();
    capacity = size;
    return data;
}

void BlockPool::give(char* block, std::size_t capacity) {
    if (capacity >= kMinPooled) {
        std::lock_guard<std::mutex> lock(mu_);
        if (free_.size() < kMaxCachedBlocks && cached_bytes_ + capacity <= kMaxCachedBytes) {
            free_.push_back({block, capacity});
            cached_bytes_ += capacity;
            return;
        }
    }
    std::free(block);
}

PayloadPtr gather_copy(const std::vector<ConstBuffer>& parts) {
    std::size_t total = 0;
    for (const auto& part : parts) total += part.size;
    auto payload = std::make_shared<Payload>(total);
    char* out = payload->data();
    for (const auto& part : parts) {
        if (part.size) std::memcpy(out, part.data, part.size);
        out += part.size;
    }
    return payload;
}

void FillTarget::write(std::size_t offset, const char* data, std::size_t n) const {
    if (offset < prefix) {
        const std::size_t h = std::min(n, prefix - offset);
        std::memcpy(head + offset, data, h);
        offset += h;
        data += h;
        n -= h;
    }
    if (n) std::memcpy(body + (offset - prefix), data, n);
}

}  // namespace hpxpy
