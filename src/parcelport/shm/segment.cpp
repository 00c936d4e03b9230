#include "segment.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace hpxpy {
namespace shm {

namespace {

[[noreturn]] void fail(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

void* map(int fd, std::size_t size, const std::string& what) {
    void* data = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (data == MAP_FAILED) fail("mmap of " + what);
    return data;
}

}  // namespace

Segment Segment::create(std::size_t size, const std::string& label) {
    // memfd_create through syscall(): older C libraries lack the wrapper.
    int fd = static_cast<int>(syscall(SYS_memfd_create, label.c_str(), MFD_CLOEXEC));
    if (fd < 0) fail("memfd_create");
    if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
        int saved = errno;
        ::close(fd);
        errno = saved;
        fail("ftruncate of a shared-memory segment of " + std::to_string(size) + " bytes");
    }
    try {
        return Segment(map(fd, size, "a new shared-memory segment"), size, fd);
    } catch (...) {
        ::close(fd);
        throw;
    }
}

Segment Segment::open(int pid, int fd, std::size_t size) {
    const std::string path = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
    int local = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (local < 0) fail("open " + path);
    struct stat info {};
    if (fstat(local, &info) != 0 || static_cast<std::size_t>(info.st_size) < size) {
        ::close(local);
        errno = EINVAL;
        fail(path + " is smaller than the " + std::to_string(size) + " bytes expected");
    }
    void* data = nullptr;
    try {
        data = map(local, size, path);
    } catch (...) {
        ::close(local);
        throw;
    }
    ::close(local);  // the mapping keeps the memory
    return Segment(data, size, -1);
}

Segment::Segment(Segment&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      fd_(std::exchange(other.fd_, -1)) {}

Segment& Segment::operator=(Segment&& other) noexcept {
    if (this != &other) {
        release();
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

Segment::~Segment() { release(); }

void Segment::close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

void Segment::release() {
    if (data_) munmap(data_, size_);
    data_ = nullptr;
    close_fd();
}

}  // namespace shm
}  // namespace hpxpy
