// The few parts of the MPI-5 standard ABI (the "ABI" chapter of MPI 5.0: libmpi_abi.so)
// that the MPI parcelport uses, written from the standard's tables. MPI is never a build
// dependency: the library is opened at run time (library.cpp) and these handle values and
// layouts are fixed by the standard, so one build works with every implementation that
// ships the standard ABI (MPICH 4.3+: the `mpich` wheel's lib/libmpi_abi.so.1).
#pragma once

#include <cstdint>

namespace hpxpy::mpi_abi {

// Handles are pointers to incomplete structs; predefined ones are small integers.
struct Comm_;
struct Datatype_;
struct Request_;
struct Message_;
struct Errhandler_;
using Comm = Comm_*;
using Datatype = Datatype_*;
using Request = Request_*;
using Message = Message_*;
using Errhandler = Errhandler_*;
using Count = int64_t;  // MPI_Count: MPI_Offset, 64 bits

const Comm COMM_WORLD = reinterpret_cast<Comm>(uintptr_t{0x101});
const Datatype BYTE = reinterpret_cast<Datatype>(uintptr_t{0x247});
const Request REQUEST_NULL = reinterpret_cast<Request>(uintptr_t{0x180});
const Message MESSAGE_NULL = reinterpret_cast<Message>(uintptr_t{0x128});
const Errhandler ERRORS_RETURN = reinterpret_cast<Errhandler>(uintptr_t{0x143});

constexpr int SUCCESS = 0;
constexpr int ANY_SOURCE = -1;
constexpr int THREAD_SERIALIZED = 2048;
constexpr int THREAD_MULTIPLE = 4096;

// MPI_Status: three public fields, then five ints the implementation owns.
struct Status {
    int source;
    int tag;
    int error;
    int internal[5];
};
static_assert(sizeof(Status) == 32, "the standard ABI's MPI_Status is 8 ints");

// Signatures of the functions looked up with dlsym (the standard's C bindings).
using Init_thread_fn = int (*)(int*, char***, int, int*);
using Initialized_fn = int (*)(int*);
using Finalized_fn = int (*)(int*);
using Finalize_fn = int (*)();
using Abort_fn = int (*)(Comm, int);
using Abi_get_version_fn = int (*)(int*, int*);
using Get_library_version_fn = int (*)(char*, int*);
using Comm_rank_fn = int (*)(Comm, int*);
using Comm_size_fn = int (*)(Comm, int*);
using Comm_dup_fn = int (*)(Comm, Comm*);
using Comm_set_errhandler_fn = int (*)(Comm, Errhandler);
using Error_string_fn = int (*)(int, char*, int*);
using Isend_c_fn = int (*)(const void*, Count, Datatype, int, int, Comm, Request*);
using Irecv_c_fn = int (*)(void*, Count, Datatype, int, int, Comm, Request*);
using Improbe_fn = int (*)(int, int, Comm, int*, Message*, Status*);
using Iprobe_fn = int (*)(int, int, Comm, int*, Status*);
using Mrecv_c_fn = int (*)(void*, Count, Datatype, Message*, Status*);
using Get_count_c_fn = int (*)(const Status*, Datatype, Count*);
using Test_fn = int (*)(Request*, int*, Status*);

constexpr int kMaxErrorString = 512;     // MPI_MAX_ERROR_STRING
constexpr int kMaxLibraryVersion = 8192; // MPI_MAX_LIBRARY_VERSION_STRING

}  // namespace hpxpy::mpi_abi
