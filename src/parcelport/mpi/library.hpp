// The MPI library, opened at run time (dlopen + dlsym of the standard ABI's symbols, see
// mpi_abi.hpp). One per process: MPI can be initialised and finalised once. Python starts
// it before the runtime (hpxpy._runtime: rank and size come from MPI_COMM_WORLD), the MPI
// parcelport uses it, and it is finalised after the parcelport's goodbyes.
#pragma once

#include <mutex>
#include <string>

#include "mpi_abi.hpp"

namespace hpxpy::mpi {

class Library {
public:
    static Library& instance();

    // Opens `path` and initialises MPI (MPI_THREAD_SERIALIZED at least: every call is made
    // under the parcelport's one lock). Throws std::runtime_error saying what was wrong
    // (no such library, not the standard ABI, MPI_Init failed). Idempotent.
    void start(const std::string& path);
    bool started() const { return started_; }
    int rank() const { return rank_; }
    int size() const { return size_; }
    // The library's own MPI_Get_library_version text (first line).
    const std::string& version() const { return version_; }
    // MPI_Finalize, once (no-op if never started or already done).
    void finalize();
    // MPI_Abort on MPI_COMM_WORLD: the launcher ends every process of the job.
    [[noreturn]] void abort(int exit_code);
    // Throws std::runtime_error("hpxpy: MPI <what> failed: <the library's message>").
    void check(int code, const char* what) const;

    // The functions (valid once started).
    mpi_abi::Isend_c_fn isend = nullptr;
    mpi_abi::Irecv_c_fn irecv = nullptr;
    mpi_abi::Improbe_fn improbe = nullptr;
    mpi_abi::Iprobe_fn iprobe = nullptr;
    mpi_abi::Mrecv_c_fn mrecv = nullptr;
    mpi_abi::Get_count_c_fn get_count = nullptr;
    mpi_abi::Test_fn test = nullptr;
    mpi_abi::Comm_dup_fn comm_dup = nullptr;
    mpi_abi::Comm_set_errhandler_fn comm_set_errhandler = nullptr;

private:
    Library() = default;
    void* symbol(const char* name);

    std::mutex mu_;
    void* handle_ = nullptr;
    std::string path_;
    bool started_ = false;
    bool finalized_ = false;
    int rank_ = 0;
    int size_ = 1;
    std::string version_;
    mpi_abi::Finalize_fn finalize_ = nullptr;
    mpi_abi::Finalized_fn finalized_fn_ = nullptr;
    mpi_abi::Abort_fn abort_ = nullptr;
    mpi_abi::Error_string_fn error_string_ = nullptr;
};

}  // namespace hpxpy::mpi
