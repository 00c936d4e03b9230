// One direction between two localities of a host: a single-producer, single-consumer ring
// of framed records in shared memory. Building block of the shared-memory parcelport.
//
// The producer owns `head` (bytes it has published), the consumer owns `tail` (bytes it has
// released); each reads the other's index with acquire and publishes its own with release,
// so no lock and no system call is needed to move a record. Each side keeps a private copy
// of the other's index and re-reads the shared one only when the copy says "full" (or
// "empty"), so the two cache lines are not bounced on every record.
//
// A record is an 8-byte header {payload size, kind} and the payload, padded to 8 bytes, and
// is always contiguous: when it does not fit before the end of the data area, the producer
// writes a padding record (kind 0) to the end and starts again at offset 0. A record's
// payload is therefore at most half the capacity (max_payload), so one always fits.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "../../common.hpp"

namespace hpxpy {
namespace shm {

// Lives at the start of the ring's shared memory; the data area follows it.
struct RingControl {
    alignas(64) std::atomic<uint64_t> head;  // written by the producer only
    alignas(64) std::atomic<uint64_t> tail;  // written by the consumer only
    alignas(64) uint64_t capacity;           // bytes of data area, a power of two
    uint64_t magic;
};
// Two processes share these atomics, so they must be lock-free (address-free).
static_assert(std::atomic<uint64_t>::is_always_lock_free,
              "the shared-memory ring needs lock-free 64-bit atomics");

class SpscRing {
public:
    static constexpr uint32_t kPadding = 0;  // record kinds 1.. are the caller's
    static constexpr std::size_t kHeader = 8;
    static constexpr uint64_t kMagic = 0x6870787072696e67ull;  // "hpxpring"

    // Bytes of shared memory a ring of `capacity` data bytes needs.
    static std::size_t footprint(std::size_t capacity) {
        return sizeof(RingControl) + capacity;
    }

    // Lays out a new, empty ring in `memory` (footprint(capacity) bytes). `capacity` must
    // be a power of two of at least 64 bytes.
    static SpscRing create(void* memory, std::size_t capacity) {
        if (capacity < 64 || (capacity & (capacity - 1)) != 0)
            throw std::invalid_argument("ring capacity must be a power of two >= 64, got " +
                                        std::to_string(capacity));
        auto* control = new (memory) RingControl;
        control->head.store(0, std::memory_order_relaxed);
        control->tail.store(0, std::memory_order_relaxed);
        control->capacity = capacity;
        control->magic = kMagic;
        std::atomic_thread_fence(std::memory_order_release);
        return SpscRing(control);
    }

    // A ring that another process (or thread) created in `memory`.
    static SpscRing attach(void* memory) {
        auto* control = static_cast<RingControl*>(memory);
        std::atomic_thread_fence(std::memory_order_acquire);
        if (control->magic != kMagic)
            throw std::runtime_error("shared memory does not hold an hpxpy ring");
        return SpscRing(control);
    }

    std::size_t capacity() const { return capacity_; }
    std::size_t max_payload() const { return capacity_ / 2 - kHeader; }

    // Producer: appends one record of `kind` (>= 1) whose payload is `parts`, gathered.
    // False, with nothing written, when the ring lacks room for it now.
    bool try_push(uint32_t kind, const ConstBuffer* parts, std::size_t count) {
        std::size_t size = 0;
        for (std::size_t i = 0; i < count; ++i) size += parts[i].size;
        if (kind == kPadding || size > max_payload())
            throw std::invalid_argument("ring record: kind 0 is reserved and the payload must "
                                        "be at most " + std::to_string(max_payload()) +
                                        " bytes, got " + std::to_string(size));
        const uint64_t head = control_->head.load(std::memory_order_relaxed);
        const uint64_t pos = head & mask_;
        const uint64_t record = kHeader + round_up(size);
        const uint64_t to_end = capacity_ - pos;
        const uint64_t pad = record > to_end ? to_end : 0;
        if (!has_room(head, pad + record)) return false;
        uint64_t at = pos;
        if (pad) {
            write_header(at, static_cast<uint32_t>(pad - kHeader), kPadding);
            at = 0;
        }
        write_header(at, static_cast<uint32_t>(size), kind);
        char* out = data_ + at + kHeader;
        for (std::size_t i = 0; i < count; ++i) {
            if (parts[i].size) std::memcpy(out, parts[i].data, parts[i].size);
            out += parts[i].size;
        }
        control_->head.store(head + pad + record, std::memory_order_release);
        return true;
    }

    bool try_push(uint32_t kind, const void* data, std::size_t size) {
        ConstBuffer part{data, size};
        return try_push(kind, &part, 1);
    }

    // Consumer: the oldest record, without removing it; false when the ring is empty. The
    // payload stays valid (and unchanged) until pop().
    bool front(uint32_t& kind, const char*& payload, std::size_t& size) {
        for (;;) {
            if (tail_ == seen_head_) {
                seen_head_ = control_->head.load(std::memory_order_acquire);
                if (tail_ == seen_head_) return false;
            }
            const uint64_t pos = tail_ & mask_;
            uint32_t header[2];
            std::memcpy(header, data_ + pos, kHeader);
            if (header[1] == kPadding) {  // skip to the start of the data area
                tail_ += kHeader + header[0];
                control_->tail.store(tail_, std::memory_order_release);
                continue;
            }
            kind = header[1];
            size = header[0];
            payload = data_ + pos + kHeader;
            front_bytes_ = kHeader + round_up(size);
            return true;
        }
    }

    // Consumer: releases the record front() returned, making its room reusable.
    void pop() {
        tail_ += front_bytes_;
        front_bytes_ = 0;
        control_->tail.store(tail_, std::memory_order_release);
    }

    // Consumer: whether a record (or padding) is waiting, from the shared head.
    bool empty() const { return tail_ == control_->head.load(std::memory_order_acquire); }

private:
    explicit SpscRing(RingControl* control)
        : control_(control),
          data_(reinterpret_cast<char*>(control) + sizeof(RingControl)),
          capacity_(control->capacity),
          mask_(control->capacity - 1),
          tail_(control->tail.load(std::memory_order_acquire)),
          seen_head_(tail_),
          seen_tail_(tail_) {}

    static uint64_t round_up(uint64_t n) { return (n + 7) & ~uint64_t{7}; }

    bool has_room(uint64_t head, uint64_t bytes) {
        if (head + bytes - seen_tail_ <= capacity_) return true;
        seen_tail_ = control_->tail.load(std::memory_order_acquire);
        return head + bytes - seen_tail_ <= capacity_;
    }

    void write_header(uint64_t at, uint32_t size, uint32_t kind) {
        const uint32_t header[2] = {size, kind};
        std::memcpy(data_ + at, header, kHeader);
    }

    RingControl* control_;
    char* data_;
    uint64_t capacity_;
    uint64_t mask_;
    uint64_t tail_;          // consumer: bytes consumed (its own copy of control_->tail)
    uint64_t seen_head_;     // consumer: the producer's head as last read
    uint64_t seen_tail_;     // producer: the consumer's tail as last read
    uint64_t front_bytes_ = 0;
};

}  // namespace shm
}  // namespace hpxpy
