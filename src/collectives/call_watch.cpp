#include "call_watch.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>

#include "collectives.hpp"

namespace hpxpy {
namespace {

int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// A note on the wire: kind, tag, how many words, the words.
struct NoteHead {
    uint32_t kind;
    int32_t tag;
    uint32_t count;
};

bool share_a_word(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
    for (uint32_t w : a)
        if (std::find(b.begin(), b.end(), w) != b.end()) return true;
    return false;
}

}  // namespace

thread_local CallWatch::Scope* CallWatch::current_ = nullptr;
thread_local bool CallWatch::busy_ = false;

CallWatch::CallWatch(Engine& engine) : engine_(engine) {
    engine_.set_idle_hook([this] { on_idle(); });
}

CallWatch::~CallWatch() { engine_.set_idle_hook(nullptr); }

CallWatch::Scope::Scope(CallWatch& watch, const Group& g, int tag, uint32_t word)
    : watch_(watch), group_(g), tag_(tag), word_(word), outer_(current_) {
    watch_.record(g.context, tag, word);
    current_ = this;
    if (watch_.engine_.notes_waiting() || watch_.has_kept_.load(std::memory_order_relaxed)) {
        try {
            watch_.read_notes(this);
        } catch (...) {
            current_ = outer_;  // no destructor runs for a constructor that throws
            throw;
        }
    }
}

CallWatch::Scope::~Scope() { current_ = outer_; }

void CallWatch::record(int context, int tag, uint32_t word) {
    const uint64_t n = recorded_.fetch_add(1, std::memory_order_relaxed);
    Slot& slot = history_[n % kHistory];
    const uint64_t seq = slot.seq.load(std::memory_order_relaxed);
    slot.seq.store(seq + 1, std::memory_order_relaxed);  // odd: being written
    std::atomic_thread_fence(std::memory_order_release);
    slot.context.store(context, std::memory_order_relaxed);
    slot.tag.store(tag, std::memory_order_relaxed);
    slot.word.store(word, std::memory_order_relaxed);
    slot.seq.store(seq + 2, std::memory_order_release);
}

std::vector<CallWatch::Call> CallWatch::calls_at_point(int context, int tag) const {
    std::vector<Call> calls;
    const int point = point_of(tag);
    const uint64_t recorded = recorded_.load(std::memory_order_relaxed);
    const uint64_t first = recorded > kHistory ? recorded - kHistory : 0;
    for (uint64_t i = first; i < recorded && calls.size() < kMaxCalls; ++i) {  // oldest first
        const Slot& slot = history_[i % kHistory];
        const uint64_t before = slot.seq.load(std::memory_order_acquire);
        if (before & 1) continue;
        const int c = slot.context.load(std::memory_order_relaxed);
        const int t = slot.tag.load(std::memory_order_relaxed);
        const uint32_t w = slot.word.load(std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_acquire);
        if (slot.seq.load(std::memory_order_relaxed) != before) continue;
        if (c == context && point_of(t) == point) calls.push_back({t, w});
    }
    return calls;
}

std::vector<uint32_t> CallWatch::words_at(int context, int tag) const {
    std::vector<uint32_t> words;  // oldest first: the call's first word leads
    for (const Call& call : calls_at_point(context, tag))
        if (call.tag == tag && std::find(words.begin(), words.end(), call.word) == words.end())
            words.push_back(call.word);
    return words;
}

int CallWatch::first_difference(int context, const std::vector<Call>& theirs) const {
    std::vector<int> steps;
    for (const Call& call : theirs)
        if (std::find(steps.begin(), steps.end(), call.tag) == steps.end())
            steps.push_back(call.tag);
    std::sort(steps.begin(), steps.end());
    for (int tag : steps) {
        const std::vector<uint32_t> mine = words_at(context, tag);
        if (mine.empty()) continue;  // a step we have not reached
        std::vector<uint32_t> their_words;
        for (const Call& call : theirs)
            if (call.tag == tag) their_words.push_back(call.word);
        if (!share_a_word(mine, their_words)) return tag;
    }
    return -1;
}

void CallWatch::on_idle() {
    if (busy_) return;
    Scope* call = current_;
    if (!call && !engine_.notes_waiting() && !has_kept_.load(std::memory_order_relaxed)) return;
    busy_ = true;
    struct Clear {
        ~Clear() { busy_ = false; }
    } clear;
    if (call && !call->queried_) {
        const int64_t now = now_ns();  // (not read at the call's start: that must stay cheap)
        if (call->waiting_since_ns_ == 0) call->waiting_since_ns_ = now;
        if (now - call->waiting_since_ns_ >= int64_t{kQueryAfterMs} * 1'000'000) ask(*call);
    }
    if (engine_.notes_waiting() || has_kept_.load(std::memory_order_relaxed)) read_notes(call);
}

void CallWatch::ask(Scope& call) {
    call.queried_ = true;
    const std::vector<Call> mine = calls_at_point(call.group_.context, call.tag_);
    const Group& g = call.group_;
    for (int i = 0; i < g.size; ++i)
        if (i != g.rank) send_note(g.world(i), g.context, kQuestion, call.tag_, mine);
}

void CallWatch::send_note(int dest, int context, uint32_t kind, int tag,
                          const std::vector<Call>& calls) {
    const NoteHead head{kind, tag, static_cast<uint32_t>(calls.size())};
    std::vector<char> bytes(sizeof head + calls.size() * sizeof(Call));
    std::memcpy(bytes.data(), &head, sizeof head);
    if (!calls.empty())
        std::memcpy(bytes.data() + sizeof head, calls.data(), calls.size() * sizeof(Call));
    engine_.send(dest, context, Engine::kCallNoteTag, {{bytes.data(), bytes.size()}});
}

void CallWatch::read_notes(Scope* call) {
    struct Answer {
        int dest;
        int context;
        int tag;
        std::vector<Call> calls;
    };
    std::vector<Answer> answers;
    std::optional<Kept> against_us;  // a member's calls that differ from our current one
    {
        std::lock_guard<std::mutex> lock(mu_);
        const uint64_t now = recorded_.load(std::memory_order_relaxed);
        for (Message& note : engine_.take_notes()) {
            NoteHead head{};
            if (!note.payload || note.payload->size() < sizeof head) continue;
            std::memcpy(&head, note.payload->data(), sizeof head);
            const std::size_t count = std::min<std::size_t>(
                head.count, (note.payload->size() - sizeof head) / sizeof(Call));
            std::vector<Call> calls(count);
            if (count)
                std::memcpy(calls.data(), note.payload->data() + sizeof head,
                            count * sizeof(Call));
            kept_.push_back({head.kind, note.context, head.tag, note.source, std::move(calls),
                             now});
        }
        for (auto it = kept_.begin(); it != kept_.end();) {
            Kept& k = *it;
            if (now - k.at > kHistory) {  // long past: that call is not ours to judge
                it = kept_.erase(it);
                continue;
            }
            if (k.kind == kQuestion) {
                if (first_difference(k.context, k.calls) < 0) {
                    if (!words_at(k.context, k.tag).empty()) {  // we got there: all is well
                        it = kept_.erase(it);
                    } else {  // we have not got there yet
                        ++it;
                    }
                    continue;
                }
                answers.push_back({k.from, k.context, k.tag, calls_at_point(k.context, k.tag)});
                k.kind = kAnswer;  // now evidence against our own call there
            }
            if (call && k.context == call->group_.context &&
                point_of(k.tag) == point_of(call->tag_)) {
                against_us = std::move(k);
                it = kept_.erase(it);
                break;
            }
            ++it;
        }
        has_kept_.store(!kept_.empty(), std::memory_order_relaxed);
    }
    for (const Answer& a : answers) send_note(a.dest, a.context, kAnswer, a.tag, a.calls);
    if (!against_us || !call) return;
    const int context = call->group_.context;
    const int step = first_difference(context, against_us->calls);
    if (step < 0) return;  // never raise on doubt
    uint32_t theirs = 0;
    for (const Call& c : against_us->calls)
        if (c.tag == step) {
            theirs = c.word;
            break;
        }
    const Group& g = call->group_;
    int their_rank = -1;
    for (int i = 0; i < g.size; ++i)
        if (g.world(i) == against_us->from) their_rank = i;
    throw CollectiveError(Status::mismatch,
                          mismatch_text(g.rank, words_at(context, step).front(), their_rank,
                                        theirs) +
                              "; found while waiting (neither call sends the other anything)",
                          context);
}

}  // namespace hpxpy
