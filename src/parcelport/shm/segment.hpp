// Shared memory between the localities of one host. A segment is a memfd: anonymous, with
// no name in /dev/shm, so nothing is left behind however the processes end (even all of
// them killed with SIGKILL). Its creator maps it and publishes (pid, fd); a peer of the same
// user opens it through /proc/<pid>/fd/<fd> while the creator lives, and maps it too.
#pragma once

#include <cstddef>
#include <string>

namespace hpxpy {
namespace shm {

class Segment {
public:
    // A new zero-filled segment of `size` bytes, mapped here; `fd()` stays open so that
    // peers can open it.
    static Segment create(std::size_t size, const std::string& label);
    // The segment another process created, mapped here (the opened descriptor is closed
    // once mapped). Throws std::system_error naming the path when it cannot be opened.
    static Segment open(int pid, int fd, std::size_t size);

    Segment(Segment&& other) noexcept;
    Segment& operator=(Segment&& other) noexcept;
    Segment(const Segment&) = delete;
    Segment& operator=(const Segment&) = delete;
    ~Segment();

    void* data() const { return data_; }
    std::size_t size() const { return size_; }
    int fd() const { return fd_; }  // -1 for a segment opened from a peer
    // Closes the descriptor peers open the segment through (the mapping stays): once every
    // peer has attached, no other process can reach the memory any more.
    void close_fd();

private:
    Segment(void* data, std::size_t size, int fd) : data_(data), size_(size), fd_(fd) {}
    void release();

    void* data_ = nullptr;
    std::size_t size_ = 0;
    int fd_ = -1;
};

}  // namespace shm
}  // namespace hpxpy
