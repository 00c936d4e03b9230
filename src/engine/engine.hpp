// Matching engine: MPI semantics on top of a parcelport. Messages from one source on one
// context are matched in arrival order; receives match (context, source, tag) with
// wildcards. Waits spin briefly (driving the parcelport themselves) and then block.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "../parcelport/parcelport.hpp"

namespace hpxpy {

class Engine final : public ParcelSink {
public:
    // `spin_us`: how long a receive polls before it blocks (0 = block at once).
    Engine(int self, int size, int spin_us);

    void attach(std::unique_ptr<Parcelport> parcelport);
    void set_interrupt_check(InterruptCheck check) { interrupt_ = std::move(check); }
    const InterruptCheck& interrupt_check() const { return interrupt_; }

    int self() const { return self_; }
    int size() const { return size_; }

    void send(int dest, int context, int tag, const std::vector<ConstBuffer>& parts);
    Message receive(int context, int source, int tag);
    std::optional<Message> try_receive(int context, int source, int tag);

    // Throws LocalityLost if any peer has been lost: the job is then broken everywhere.
    void check_healthy();
    void shutdown(bool graceful);

    // ParcelSink
    void deliver(Message&& message) override;
    void peer_lost(int locality, const std::string& why) override;
    void peer_departed(int locality) override;

private:
    std::optional<Message> take_match_locked(int context, int source, int tag);
    [[noreturn]] void throw_lost_locked();

    const int self_;
    const int size_;
    const int spin_us_;
    std::unique_ptr<Parcelport> parcelport_;
    InterruptCheck interrupt_;

    std::mutex mu_;
    std::condition_variable arrived_;
    std::deque<Message> unexpected_;  // arrival order
    std::atomic<uint64_t> arrivals_{0};
    std::vector<char> departed_;  // peers that finalized and left
    int lost_locality_ = -1;
    std::string lost_why_;
    std::atomic<bool> closed_{false};
    std::atomic<int> active_{0};  // threads inside send/receive using the parcelport
};

}  // namespace hpxpy
