// Collective mismatches that no message shows. Members of a communicator that called
// different collectives at one point may each wait for a message the others never send
// (rank 0 in gather waits for its children, which wait in bcast for rank 0); the call
// words in item headers and meeting cells (collectives.hpp) only help a member that
// receives something.
//
// So every collective records (context, tag, call word) in a short history as it starts,
// and the thread running it knows its call. A call that has waited kQueryAfterMs asks every
// other member once, with a note: "at this point I called these" (a small message
// with kCallNoteTag, which the engine sets aside instead of matching). A member compares
// the note with its own history at (context, tag):
//   - it made no call there yet: it keeps the note and compares when it gets there;
//   - one of its calls there has one of the note's words: nothing is wrong (a slow member
//     is never taken for a mismatched one: only calls known on both sides are compared);
//   - its calls there all differ: it answers with its words, and whichever of its threads
//     runs that call raises the mismatch; the asker raises when the answer comes.
// Notes are read where a thread waits anyway (Engine's idle hook) and when a collective
// starts (one relaxed load when none came), so a member busy computing answers at its
// next collective.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <vector>

#include "../engine/engine.hpp"

namespace hpxpy {

struct Group;

class CallWatch {
public:
    explicit CallWatch(Engine& engine);
    ~CallWatch();
    CallWatch(const CallWatch&) = delete;
    CallWatch& operator=(const CallWatch&) = delete;

    // How long a collective waits before it asks the others what they called.
    static constexpr int kQueryAfterMs = 500;
    // How many collective calls (of this process) the history keeps, and how long (in
    // calls) an unanswerable note is kept.
    static constexpr std::size_t kHistory = 256;

    // Marks the calling thread as running collective `word` at (g.context, tag) for its
    // lifetime and records the call. Throws CollectiveError (mismatch) at once when a note
    // that already came shows another call at this point.
    class Scope {
    public:
        Scope(CallWatch& watch, const Group& g, int tag, uint32_t word);
        ~Scope();
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;

    private:
        friend class CallWatch;
        CallWatch& watch_;
        const Group& group_;
        int tag_;
        uint32_t word_;
        int64_t waiting_since_ns_ = 0;  // set at the first idle hook (0: not waited yet)
        bool queried_ = false;
        Scope* outer_;
    };

    // From the engine's waits: asks, once the current call has waited long enough, and
    // reads the notes that came. Throws for the current call when it is mismatched.
    void on_idle();

private:
    // One call of the history, written without a lock (a collective's start must stay
    // cheap): `seq` is odd while the slot is being written, so a reader that sees it
    // change or odd skips the slot (it never compares a torn record).
    struct Slot {
        std::atomic<uint64_t> seq{0};
        std::atomic<int> context{-1};
        std::atomic<int> tag{0};
        std::atomic<uint32_t> word{0};
    };
    // A collective call at one step of a point: hpxpy's tags are seq * 8 + step, and a
    // call of hpxpy.comm may run several core collectives, one per step (allgather of
    // objects: gather, then bcast). Members compare the steps both have reached.
    struct Call {
        int tag;
        uint32_t word;
    };
    static int point_of(int tag) { return tag & ~7; }
    // A note kept: a question not answerable yet (kind kQuestion), or a member's answer
    // that its calls differ from ours there (kAnswer), for the thread running that call.
    struct Kept {
        uint32_t kind;
        int context;
        int tag;
        int from;  // the member's locality
        std::vector<Call> calls;  // the member's calls at the point's steps
        uint64_t at;  // recorded_ when it was kept (it ages out kHistory calls later)
    };
    static constexpr uint32_t kQuestion = 1;
    static constexpr uint32_t kAnswer = 2;
    static constexpr std::size_t kMaxCalls = 16;

    void record(int context, int tag, uint32_t word);
    std::vector<uint32_t> words_at(int context, int tag) const;
    // Our calls at every step of the point of (context, tag), oldest first.
    std::vector<Call> calls_at_point(int context, int tag) const;
    // The first step at which both lists have calls and none of the words agree (-1: none).
    int first_difference(int context, const std::vector<Call>& theirs) const;
    void ask(Scope& call);
    void read_notes(Scope* call);
    void send_note(int dest, int context, uint32_t kind, int tag,
                   const std::vector<Call>& calls);

    Engine& engine_;
    std::array<Slot, kHistory> history_{};
    std::atomic<uint64_t> recorded_{0};  // calls recorded so far
    std::mutex mu_;                      // kept_
    std::deque<Kept> kept_;
    std::atomic<bool> has_kept_{false};
    static thread_local Scope* current_;
    static thread_local bool busy_;  // in on_idle already (a note's send may wait)
};

}  // namespace hpxpy
