// Types shared by every layer of the core: owned payloads, messages, errors, waits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>

namespace hpxpy {

// A heap block holding one received message. Left uninitialised on purpose: the socket
// read fills it, and Python views it as a numpy array without copying.
class Payload {
public:
    explicit Payload(std::size_t size)
        : data_(static_cast<char*>(std::malloc(size ? size : 1))), size_(size) {
        if (!data_) throw std::bad_alloc();
    }
    ~Payload() { std::free(data_); }
    Payload(const Payload&) = delete;
    Payload& operator=(const Payload&) = delete;
    char* data() { return data_; }
    const char* data() const { return data_; }
    std::size_t size() const { return size_; }

private:
    char* data_;
    std::size_t size_;
};
using PayloadPtr = std::shared_ptr<Payload>;

struct Message {
    int source = -1;
    int context = 0;
    int tag = 0;
    PayloadPtr payload;
};

// A piece of memory to send; not owned (the caller keeps it alive until send returns).
struct ConstBuffer {
    const void* data;
    std::size_t size;
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
