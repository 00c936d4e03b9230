// Collective algorithms over the matching engine, O(log N) rounds each:
//   all_reduce: recursive doubling (non-powers of two fold the extra localities in first);
//               every locality combines "lower ids op higher ids", so results are
//               bit-identical everywhere;
//   broadcast, scatter: binomial tree from the root; gather: binomial tree to the root;
//   barrier: dissemination;
//   exchange, gather_blocks: raw blocks straight between members' buffers (every receive
//               posted first, naming its place in the caller's buffer), one round;
//               gather_blocks of small equal blocks: binomial tree to the root;
//   allgather_blocks: Bruck's algorithm below kBruckAllgatherMax.
// Errors are collective too: a locality that finds bad input (or a mismatch with a peer)
// keeps taking part in every round, sending an error item instead of data, so every
// locality that depends on it learns the error and raises instead of hanging.
#pragma once

#include <cstddef>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "../engine/engine.hpp"
#include "call_watch.hpp"
#include "reduce_kernels.hpp"

namespace hpxpy {

// Why a collective failed; each value names the Python exception every member raises
// (the bindings export the codes, so Python and C++ share one definition).
enum class Status : uint32_t {
    ok = 0,
    value_error = 1,
    type_error = 2,
    pickling_error = 3,   // an object that pickle refuses (mpi4py raises pickle's error)
    attribute_error = 4,  // pickle's "Can't pickle local object"
    mismatch = 5,         // members called different collectives (or roots) at one point
};

// Which collective a message or meeting cell belongs to: every collective message that
// carries a header has this "call word" at byte kCallOffset, every meeting cell at byte
// 0, so a receiver that meets another collective's message or cell at the same point of
// a communicator raises a mismatch instead of reading it as its own. One 4-byte word in a
// header that was sent anyway: nothing to pay on the hot path. The raw-block collectives
// (exchange, gather_blocks) carry no header, so no word either. Members whose calls
// differ but who receive nothing from each other are found by the CallWatch
// (call_watch.hpp), which knows every collective's word.
enum class CallKind : uint32_t {
    barrier = 1,
    broadcast = 2,
    gather = 3,
    scatter = 4,
    all_reduce = 5,
    object_all_reduce = 6,  // hpxpy.comm's allreduce of objects (its messages and meetings)
    // The raw-block collectives: their messages carry no word, only the CallWatch knows it.
    gather_blocks = 7,
    allgather_blocks = 8,
    exchange = 9,
};
constexpr uint32_t kCallMagic = 0xC7;  // top byte: tells a call word from arbitrary bytes
constexpr std::size_t kCallOffset = 20;
constexpr uint32_t call_word(CallKind kind, int root = -1) {
    return kCallMagic << 24 | static_cast<uint32_t>(kind) << 16 |
           (static_cast<uint32_t>(root + 1) & 0xFFFF);
}
// "bcast(root=0)", "barrier()"; a word without the magic: "a collective whose messages
// name no call".
std::string call_name(uint32_t word);
// "rank 0 called bcast(root=0), rank 1 called gather(root=0)" (group ranks).
std::string mismatch_text(int rank_a, uint32_t a, int rank_b, uint32_t b);

constexpr int kMaxDims = 16;
constexpr int kCollectiveContext = 1;  // hpx's own collectives (hpxpy.collectives, arrays)
// Item labels beside the dtype codes (DType): bytes passed through untouched, and a
// pickled Python object (hpxpy.comm's lower-case collectives).
constexpr uint32_t kRawItem = 254;
constexpr uint32_t kObjectItem = 255;

// Describes every item a collective moves: one locality's array, or an error.
struct ItemHeader {
    uint32_t status;
    uint32_t dtype;
    uint32_t op;
    int32_t origin;  // locality the item belongs to
    uint32_t ndim;
    uint32_t call;    // call_word() of the collective that sent it (at kCallOffset)
    uint64_t nbytes;  // data (or error text) bytes after the header, padded to 16 on the wire
    int64_t shape[kMaxDims];
};
static_assert(sizeof(ItemHeader) % 16 == 0, "item data must stay 16-byte aligned");
static_assert(offsetof(ItemHeader, call) == kCallOffset, "the call word's place is fixed");

// The localities taking part in a collective, and the context their messages travel on.
struct Group {
    int context = kCollectiveContext;
    int rank = 0;  // ours, within the group
    int size = 1;
    std::vector<int> members;  // world locality of each group rank; empty: the whole job
    int world(int group_rank) const {
        return members.empty() ? group_rank : members[static_cast<std::size_t>(group_rank)];
    }
};

// A local array taking part in a collective (memory owned by the caller): one or more
// segments sent back to back as one item (an object travels as its pickle followed by
// its out-of-band buffers).
struct ArrayRef {
    uint32_t dtype = 0;
    std::vector<int64_t> shape;
    std::vector<ConstBuffer> segments;
    std::size_t nbytes = 0;  // sum of the segments
    const void* data() const { return segments.empty() ? nullptr : segments[0].data; }
};

// An error found locally before the collective started (bad dtype, bad count, ...).
struct Failure {
    Status status = Status::ok;
    std::string text;
};

// A received array: its header and where its bytes live inside a message payload.
// `owner` is null when the item is the caller's own input (no copy was made).
struct Item {
    ItemHeader header{};
    PayloadPtr owner;
    const char* data = nullptr;
};

// Where a member's raw block is received (exchange, gather_blocks), and its room.
struct RecvBlock {
    char* data = nullptr;
    std::size_t capacity = 0;
};

class CollectiveError : public std::runtime_error {
public:
    CollectiveError(Status status, const std::string& text, int context = -1)
        : std::runtime_error(text), status_(status), context_(context) {}
    Status status() const { return status_; }
    int context() const { return context_; }  // of the failed collective (-1: not known)

private:
    Status status_;
    int context_;
};

class Collectives {
public:
    explicit Collectives(Engine& engine) : engine_(engine), watch_(engine) {}

    // The element-wise reduction of `value` over all localities. `value` is only read; the
    // result lives in a received payload (null owner in a job of one: it is `value`).
    // `meet`: a blocking call (every member's is; non-blocking calls run beside blocking
    // ones and never meet). Among the localities of one host it goes through the group's
    // meeting slot when it has one and every member's data fits a cell: no message at all.
    // `into` (value.nbytes writable bytes, or null): a large reduction works there instead
    // of in a copy of `value` (it may be `value` itself), and the result's data is `into`
    // with a null owner; wherever the result is, the caller finds it at the Item's data.
    Item all_reduce(const Group& g, const ArrayRef& value, uint32_t op, int tag,
                    const Failure& failure, bool meet = false, char* into = nullptr);
    // `value` is read on the root only. The root gets back an Item with a null owner.
    // `into` (optional, non-roots): where the data may be written directly when it fits
    // `into_capacity` bytes; the Item then has a null owner and `data` == `into`.
    Item broadcast(const Group& g, const ArrayRef& value, int root, int tag, const Failure& failure,
                   char* into = nullptr, std::size_t into_capacity = 0);
    // Root: one Item per locality, in locality order (its own with a null owner).
    std::vector<Item> gather(const Group& g, const ArrayRef& value, int root, int tag, const Failure& failure);
    // `values` (one per locality) is read on the root only.
    Item scatter(const Group& g, const std::vector<ArrayRef>& values, int root, int tag,
                 const Failure& failure);
    void barrier(const Group& g, const std::string& name, int tag, bool meet = false);

    // A blocking call's meeting with the caller's own cell format (hpxpy.comm's object
    // allreduce): writes `size` bytes and fills `cells` with every member's, in rank order.
    // False when the group does not meet (nothing happened). A member whose bytes exceed
    // kMeetBytes is marked `fits` false in every member's result: then all of them take
    // their message algorithm.
    static constexpr std::size_t kMeetBytes = SharedWindows::kCellBytes - 16;
    struct MetCell {
        bool fits = false;
        std::string bytes;
    };
    bool meet(const Group& g, int tag, const void* data, std::size_t size,
              std::vector<MetCell>& cells);

    // Raw-byte collectives: blocks travel with no item header, and a posted receive names
    // its block so the transport writes it in place. No error travels with them: their
    // callers check every argument locally before they start. Entries for our own rank
    // are left to the caller (it places its own block). Both return the bytes each member
    // sent; a count above its block's capacity did not fit and was dropped (the caller
    // raises the truncation error).
    //
    // All to all: sends[j] goes to member j; member j's block arrives in recvs[j].
    // `meet` (a blocking Alltoall: `equal` too): when every member's blocks together fit a
    // meeting cell, one meeting among the localities of one host (allgather_blocks').
    // `equal` (Alltoall, not Alltoallv nor Allgatherv: every block has the size of ours,
    // sends[rank]): blocks of at most kBruckAlltoallMax bytes take Bruck's algorithm, in
    // ⌈log2 n⌉ rounds of one message each: the blocks are rotated so that position i holds
    // the one for member r + i; in the round with bit k every member sends the blocks at
    // the positions with bit k set to member r + k and receives the same positions from
    // r - k; at the end position i holds member r - i's block for us. Each message ends
    // in the same trailer as the tree gather's (the sender's block size, then the blocks
    // whose size differs from it, by position): a member whose block size differs reaches
    // every receiver with its own byte count, as the direct exchange reports it.
    std::vector<std::size_t> exchange(const Group& g, const std::vector<ConstBuffer>& sends,
                                      const std::vector<RecvBlock>& recvs, int tag,
                                      bool equal = false, bool meet = false);
    // MPICH's limit for Bruck (MPIR_CVAR_ALLTOALL_SHORT_MSG_SIZE). Measured here (as for
    // kTreeGatherMax, Bruck forced against direct), Bruck/direct: 8 B 1.24 (N=4) 0.88 (N=8);
    // 256 B 1.44, 2.37; 4 KiB 0.97, 0.88: no gain to be seen on 2 oversubscribed cores,
    // where every round waits for its partner to be scheduled, and the noise is as large
    // (the same direct exchange measured 2.2-2.7x apart in another run); the gain is in
    // messages, ⌈log2 N⌉ per member instead of N - 1, which counts between hosts.
    // HPXPY_BRUCK_ALLTOALL_MAX overrides it (0: never Bruck), for comparisons.
    static constexpr std::size_t kBruckAlltoallMax = 256;
    // All gather of equal blocks in ⌈log2 n⌉ rounds (Bruck's algorithm), in place: `all`
    // holds n blocks of `block` bytes, member j's at j * block, ours already there. In the
    // round with distance d each member sends the blocks it holds (its own and the d - 1
    // after it, as many as the receiver lacks) to member r - d and receives the next ones
    // from r + d. Returns what exchange returns: per member, the bytes the message that
    // brought its block carried, per block (a count above `block` did not fit).
    // From this many bytes in all (n * block) on, allgather_blocks sends directly
    // (exchange: N-1 messages in one round), as MPICH leaves recursive doubling at 512 KiB:
    // at 1 MiB per block and 4 localities Bruck measured 13-21 ms against 9.5-14 ms.
    // `meet` (a blocking call, as for all_reduce): among the localities of one host, blocks
    // that fit a meeting cell go through the group's meeting slot (one meeting, no message).
    std::vector<std::size_t> allgather_blocks(const Group& g, char* all, std::size_t block,
                                              int tag, bool meet = false);
    static constexpr std::size_t kBruckAllgatherMax = 512 * 1024;
    // Every member's `block` to the root, member j's into recvs[j] (read on the root only;
    // elsewhere the result is empty). `equal` (Gather, not Gatherv: every member's block
    // has the root's room, recvs[root].capacity): blocks of at most kTreeGatherMax bytes
    // (the block each member knows: its own, the root its room) take a binomial tree to
    // the root, ⌈log2 n⌉ rounds, the root receiving ⌈log2 n⌉ messages instead of n - 1.
    // Each member receives its children's subtrees (ascending), sends its own block and
    // theirs, back to back in relative-rank order, to its parent as one gathered send; the
    // root copies every block out into its place. Each tree message ends in a 16-byte
    // trailer (the sender's block size, the count of members whose block differs from it,
    // a magic word), preceded by those members' (relative rank, bytes): a member whose
    // block size differs reaches the root with its own byte count, so the root reports it
    // as the direct algorithm does (the caller raises the truncation error) and nobody
    // hangs. Members that disagree across the threshold itself take different algorithms
    // (as allgather_blocks' members do across kBruckAllgatherMax).
    // `meet` (a blocking Gather: `equal` too): as allgather_blocks' (measured at 4
    // localities on 2 cores, 8 B blocks: the tree 52 us, the meeting 13 us; Open MPI 4.6).
    std::vector<std::size_t> gather_blocks(const Group& g, ConstBuffer block,
                                           const std::vector<RecvBlock>& recvs, int root,
                                           int tag, bool equal = false, bool meet = false);
    // Measured (benchmarks/raw_blocks.py: tree forced against direct, alternating jobs, the
    // slowest rank's µs per call, load 10-12 on the shared 2-core machine), tree/direct:
    // 8 B 1.16 (N=4) 0.22 (N=8); 256 B 0.75, 0.88; 4 KiB 1.04, 1.32; 32 KiB 0.97, 1.02. The
    // unchanged Scatter ranged 0.33-1.51 in the same run, so only the trend counts: the
    // tree wins up to a few hundred bytes and no longer at 4 KiB, hence 1 KiB. (Open MPI
    // also leaves its binomial gather for large blocks; MPICH keeps it at every size.)
    // HPXPY_GATHER_TREE_MAX overrides it (0: never the tree), for comparisons.
    static constexpr std::size_t kTreeGatherMax = 1024;

    // From this size on, a broadcast among localities of one shared-memory host goes
    // through the root's shared window (HPXPY_BCAST_WINDOW_MIN overrides it).
    static constexpr std::size_t kWindowBroadcastMin = 1024 * 1024;

private:
    // Every entry point first checks the group it was given (and the root): a rank, root
    // or member outside the group would index past its arrays. Throws
    // std::invalid_argument (ValueError in Python) instead.
    static constexpr int kNoRoot = std::numeric_limits<int>::min();  // -1 is a bad root too
    void check_group(const Group& g, int root = kNoRoot) const;
    // Marks a broadcast header whose data follows through the root's shared window.
    static constexpr uint32_t kViaWindow = 0x57494e44;  // "WIND"
    SharedWindows* windows_of(const Group& g);
    static std::size_t window_broadcast_min();
    static std::size_t tree_gather_max();  // kTreeGatherMax, or HPXPY_GATHER_TREE_MAX
    static std::size_t bruck_alltoall_max();  // kBruckAlltoallMax, or HPXPY_BRUCK_ALLTOALL_MAX
    std::vector<std::size_t> alltoall_bruck(const Group& g, const std::vector<ConstBuffer>& sends,
                                            const std::vector<RecvBlock>& recvs, int tag);
    std::vector<std::size_t> gather_blocks_tree(const Group& g, ConstBuffer block,
                                                const std::vector<RecvBlock>& recvs, int root,
                                                int tag);

    // A group's meeting slot (SharedWindows::meet), decided on the group's first blocking
    // call that may meet: its rank 0 claims a slot in its own segment and tells the others
    // (one small message each). Only communicators' groups (a context identifies one) of
    // one host meet; every member learns the same answer.
    struct Meeting {
        SharedWindows* windows = nullptr;
        int slot = -1;
        std::vector<int> members;  // world ids in rank order (the slot's owner first)
    };
    const Meeting* meeting_for(const Group& g, int tag);
    // The group's meeting if it is already decided (no message): the raw-block collectives
    // meet only then. Their blocks carry no call word, so a decision message they sent
    // could be taken by a member in another collective as its own, hiding the mismatch;
    // members run the same collectives in the same order, so all of them know the
    // decision at the same call (the group's first blocking Barrier or Allreduce).
    const Meeting* decided_meeting(const Group& g);
    // all_reduce through the meeting slot; false (nothing consumed) when a member's data
    // does not fit a cell: every member then takes the message algorithm.
    bool all_reduce_meeting(const Meeting& m, const Group& g, int tag, const ArrayRef& value,
                            uint32_t op, const Failure& failure, Item& result);
    // Every member's raw block through the meeting slot: `take(member, data, bytes)` for
    // each other member, in rank order. False (nothing consumed) when a member's block
    // does not fit a cell: every member then takes its message algorithm.
    bool blocks_meeting(const Meeting& m, const Group& g, int tag, uint32_t word,
                        ConstBuffer mine,
                        const std::function<void(int, const char*, std::size_t)>& take);

    Engine& engine_;
    CallWatch watch_;  // every entry point opens a CallWatch::Scope with its call word
    std::mutex meetings_mu_;
    std::map<int, Meeting> meetings_;  // by context
};

}  // namespace hpxpy
