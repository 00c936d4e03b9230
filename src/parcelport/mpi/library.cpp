#include "library.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <stdexcept>

namespace hpxpy::mpi {

Library& Library::instance() {
    static Library* library = new Library();  // never destroyed: MPI outlives static teardown
    return *library;
}

void* Library::symbol(const char* name) {
    void* p = dlsym(handle_, name);
    if (p == nullptr)
        throw std::runtime_error("hpxpy: " + path_ + " has no " + name +
                                 ": not an MPI library with the MPI-5 standard ABI "
                                 "(libmpi_abi.so)");
    return p;
}

void Library::check(int code, const char* what) const {
    if (code == mpi_abi::SUCCESS) return;
    std::string text = "error code " + std::to_string(code);
    if (error_string_ != nullptr) {
        char buffer[mpi_abi::kMaxErrorString + 1] = {};
        int length = 0;
        if (error_string_(code, buffer, &length) == mpi_abi::SUCCESS && length > 0)
            text = std::string(buffer, static_cast<std::size_t>(length));
    }
    throw std::runtime_error(std::string("hpxpy: MPI ") + what + " failed: " + text);
}

void Library::start(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_) {
        if (path != path_)
            throw std::runtime_error("hpxpy: MPI is already running from " + path_);
        return;
    }
    if (finalized_) throw std::runtime_error("hpxpy: MPI was finalized; it cannot restart");
    path_ = path;
    // RTLD_GLOBAL: the library's own plugins (network providers) resolve MPI symbols.
    handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (handle_ == nullptr) {
        const char* why = dlerror();
        throw std::runtime_error("hpxpy: cannot load the MPI library " + path + ": " +
                                 (why ? why : "unknown error"));
    }
    try {
        auto abi_version = reinterpret_cast<mpi_abi::Abi_get_version_fn>(
            symbol("MPI_Abi_get_version"));
        auto init_thread = reinterpret_cast<mpi_abi::Init_thread_fn>(symbol("MPI_Init_thread"));
        auto initialized = reinterpret_cast<mpi_abi::Initialized_fn>(symbol("MPI_Initialized"));
        auto comm_rank = reinterpret_cast<mpi_abi::Comm_rank_fn>(symbol("MPI_Comm_rank"));
        auto comm_size = reinterpret_cast<mpi_abi::Comm_size_fn>(symbol("MPI_Comm_size"));
        auto library_version = reinterpret_cast<mpi_abi::Get_library_version_fn>(
            symbol("MPI_Get_library_version"));
        finalize_ = reinterpret_cast<mpi_abi::Finalize_fn>(symbol("MPI_Finalize"));
        finalized_fn_ = reinterpret_cast<mpi_abi::Finalized_fn>(symbol("MPI_Finalized"));
        abort_ = reinterpret_cast<mpi_abi::Abort_fn>(symbol("MPI_Abort"));
        error_string_ = reinterpret_cast<mpi_abi::Error_string_fn>(symbol("MPI_Error_string"));
        isend = reinterpret_cast<mpi_abi::Isend_c_fn>(symbol("MPI_Isend_c"));
        irecv = reinterpret_cast<mpi_abi::Irecv_c_fn>(symbol("MPI_Irecv_c"));
        improbe = reinterpret_cast<mpi_abi::Improbe_fn>(symbol("MPI_Improbe"));
        iprobe = reinterpret_cast<mpi_abi::Iprobe_fn>(symbol("MPI_Iprobe"));
        mrecv = reinterpret_cast<mpi_abi::Mrecv_c_fn>(symbol("MPI_Mrecv_c"));
        get_count = reinterpret_cast<mpi_abi::Get_count_c_fn>(symbol("MPI_Get_count_c"));
        test = reinterpret_cast<mpi_abi::Test_fn>(symbol("MPI_Test"));
        comm_dup = reinterpret_cast<mpi_abi::Comm_dup_fn>(symbol("MPI_Comm_dup"));
        comm_set_errhandler = reinterpret_cast<mpi_abi::Comm_set_errhandler_fn>(
            symbol("MPI_Comm_set_errhandler"));

        int major = 0, minor = 0;
        if (abi_version(&major, &minor) != mpi_abi::SUCCESS || major != 1)
            throw std::runtime_error("hpxpy: " + path + " implements MPI ABI version " +
                                     std::to_string(major) + "." + std::to_string(minor) +
                                     "; hpxpy speaks version 1");
        int already = 0;
        initialized(&already);
        if (already)
            throw std::runtime_error("hpxpy: MPI was already initialised in this process "
                                     "by someone else");
        int provided = 0;
        check(init_thread(nullptr, nullptr, mpi_abi::THREAD_SERIALIZED, &provided),
              "MPI_Init_thread");
        started_ = true;
        if (provided < mpi_abi::THREAD_SERIALIZED)
            throw std::runtime_error("hpxpy: the MPI library provides thread level " +
                                     std::to_string(provided) +
                                     "; the MPI parcelport needs MPI_THREAD_SERIALIZED");
        check(comm_rank(mpi_abi::COMM_WORLD, &rank_), "MPI_Comm_rank");
        check(comm_size(mpi_abi::COMM_WORLD, &size_), "MPI_Comm_size");
        char text[mpi_abi::kMaxLibraryVersion + 1] = {};
        int length = 0;
        if (library_version(text, &length) == mpi_abi::SUCCESS) {
            version_.assign(text, static_cast<std::size_t>(length));
            version_ = version_.substr(0, version_.find('\n'));
        }
    } catch (...) {
        if (!started_) {
            dlclose(handle_);
            handle_ = nullptr;
        }
        throw;
    }
}

void Library::finalize() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_ || finalized_) return;
    finalized_ = true;
    int done = 0;
    finalized_fn_(&done);
    if (!done) finalize_();
}

void Library::abort(int exit_code) {
    if (started_ && !finalized_) abort_(mpi_abi::COMM_WORLD, exit_code);
    std::_Exit(exit_code);
}

}  // namespace hpxpy::mpi
