// Types shared by every layer of the core: owned payloads, messages, errors, waits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <vector>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>

namespace hpxpy {

// Giving the core away while a wait spins (sched_yield). A yield that comes back late
// means something that does not yield (another program, a peer computing) held the core;
// spinning then only delays it, so for a while after, a waiter among more localities than
// cores sleeps at once instead (`core_recently_contended`). When every locality of the
// host is inside hpxpy, yields come back in a few microseconds and waiters take turns on
// the cores without a system call to wake them (measured in docs/architecture.md).
void yield_core();
bool core_recently_contended();

// Large message blocks are recycled: a fresh multi-megabyte block costs a page fault per
// 4 KiB on first touch (measured: 8 MiB all_reduce at 2 localities, 10-11 ms -> 6 ms when
// blocks are reused). Small blocks go straight to malloc.
class BlockPool {
public:
    static BlockPool& instance();
    char* take(std::size_t size, std::size_t& capacity);
    void give(char* block, std::size_t capacity);

private:
    static constexpr std::size_t kMinPooled = 64 * 1024;
    static constexpr std::size_t kMaxCachedBytes = 64u << 20;
    static constexpr std::size_t kMaxCachedBlocks = 8;
    struct Block {
        char* data;
        std::size_t capacity;
    };
    std::mutex mu_;
    std::vector<Block> free_;
    std::size_t cached_bytes_ = 0;
};

// A heap block holding one received message. Left uninitialised on purpose: the socket
// read fills it, and Python views it as a numpy array without copying.
class Payload {
public:
    explicit Payload(std::size_t size)
        : data_(BlockPool::instance().take(size, capacity_)), size_(size) {}
    ~Payload() { BlockPool::instance().give(data_, capacity_); }
    Payload(const Payload&) = delete;
    Payload& operator=(const Payload&) = delete;
    char* data() { return data_; }
    const char* data() const { return data_; }
    std::size_t size() const { return size_; }

private:
    std::size_t capacity_ = 0;
    char* data_;
    std::size_t size_;
};
using PayloadPtr = std::shared_ptr<Payload>;

struct Message {
    int source = -1;
    int context = 0;
    int tag = 0;
    PayloadPtr payload;
    uint32_t ack = 0;  // nonzero: a synchronous send, acknowledged once matched
};

// A piece of memory to send; not owned (the caller keeps it alive until send returns).
struct ConstBuffer {
    const void* data;
    std::size_t size;
};

// The parts, back to back, in a payload of their own (a message to self, a loopback copy).
PayloadPtr gather_copy(const std::vector<ConstBuffer>& parts);

// Where a transport writes a message that a posted receive has claimed (no payload block,
// no later copy): its first `prefix` bytes into `head` (a protocol header), the rest into
// `body`, the receiver's own buffer. `token` names the claim (null: no claim).
struct FillTarget {
    char* head = nullptr;
    std::size_t prefix = 0;
    char* body = nullptr;
    void* token = nullptr;
    explicit operator bool() const { return token != nullptr; }
    // Writes message bytes [offset, offset + n).
    void write(std::size_t offset, const char* data, std::size_t n) const;
};

// Wildcards for receive matching, as MPI's ANY_SOURCE / ANY_TAG.
constexpr int kAnySource = -1;
constexpr int kAnyTag = -1;

// A peer process vanished (EOF without goodbye, reset, keepalive timeout).
class LocalityLost : public std::runtime_error {
public:
    LocalityLost(int locality, const std::string& why)
        : std::runtime_error("locality " + std::to_string(locality) + " was lost: " + why),
          locality_(locality) {}
    int locality() const { return locality_; }

private:
    int locality_;
};

// Called every ~100 ms by blocked waits; may throw to abandon the wait (Ctrl-C).
using InterruptCheck = std::function<void()>;

}  // namespace hpxpy
