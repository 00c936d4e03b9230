// A fake transport for the unit tests, and the worked example of docs/architecture.md's
// "Adding a transport": it moves messages between engines living in one process.
//
// A LoopbackFabric holds one inbox per locality. LoopbackParcelport(i).send(dest, ...)
// copies the parts into a message and appends it to dest's inbox, then writes one byte to
// dest's pipe: the read end of that pipe is dest's wait_fd(), so the parcel handler's
// poll() wakes up exactly when progress() has something to deliver. progress() drains the
// pipe, then delivers the inbox in order. A test can make a locality vanish
// (fabric.kill(i)): every other port then reports it lost; a port's shutdown() says
// goodbye, so the others report it departed.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "../../src/parcelport/parcelport.hpp"

namespace hpxpy::testing {

class LoopbackFabric {
public:
    explicit LoopbackFabric(int size) : boxes_(static_cast<std::size_t>(size)) {
        for (auto& box : boxes_) {
            if (pipe(box.pipe) != 0) throw std::runtime_error("pipe");
            for (int fd : box.pipe) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
        }
    }
    ~LoopbackFabric() {
        for (auto& box : boxes_)
            for (int fd : box.pipe) close(fd);
    }
    LoopbackFabric(const LoopbackFabric&) = delete;
    LoopbackFabric& operator=(const LoopbackFabric&) = delete;

    int size() const { return static_cast<int>(boxes_.size()); }

    // What travels: a message, or news about a locality (lost / said goodbye).
    struct Event {
        enum Kind { data, lost, bye } kind = data;
        Message message;
        int locality = -1;
    };

    void post(int dest, Event event) {
        Box& box = boxes_.at(static_cast<std::size_t>(dest));
        {
            std::lock_guard<std::mutex> lock(box.mu);
            box.events.push_back(std::move(event));
        }
        char c = 1;
        (void)!write(box.pipe[1], &c, 1);  // after the push: a reader that drained sees it
    }

    // Takes everything queued for `locality` (after draining its pipe).
    std::deque<Event> take(int locality) {
        Box& box = boxes_.at(static_cast<std::size_t>(locality));
        char drain[64];
        while (read(box.pipe[0], drain, sizeof drain) > 0) {
        }
        std::deque<Event> out;
        std::lock_guard<std::mutex> lock(box.mu);
        out.swap(box.events);
        return out;
    }

    int wait_fd(int locality) const { return boxes_.at(static_cast<std::size_t>(locality)).pipe[0]; }

    // Locality `who` vanishes: everybody else hears that it was lost.
    void kill(int who) {
        {
            std::lock_guard<std::mutex> lock(mu_);
            dead_.insert(who);
        }
        for (int i = 0; i < size(); ++i)
            if (i != who) post(i, Event{Event::lost, Message{}, who});
    }
    bool dead(int who) const {
        std::lock_guard<std::mutex> lock(mu_);
        return dead_.count(who) != 0;
    }

private:
    struct Box {
        std::mutex mu;
        std::deque<Event> events;
        int pipe[2] = {-1, -1};
    };
    std::vector<Box> boxes_;
    mutable std::mutex mu_;
    std::set<int> dead_;
};

class LoopbackParcelport final : public Parcelport {
public:
    // `reached`: the peers this port serves (empty: all of them).
    LoopbackParcelport(LoopbackFabric& fabric, int self, ParcelSink& sink,
                       std::set<int> reached = {}, std::string name = "loopback",
                       bool with_fd = true)
        : fabric_(fabric), self_(self), sink_(sink), reached_(std::move(reached)),
          name_(std::move(name)), with_fd_(with_fd) {}

    std::string name() const override { return name_; }

    bool reaches(int peer) const override {
        return peer != self_ && peer >= 0 && peer < fabric_.size() &&
               (reached_.empty() || reached_.count(peer) != 0);
    }

    void send(int dest, int context, int tag, const std::vector<ConstBuffer>& parts,
              uint32_t ack, const InterruptCheck&) override {
        if (fabric_.dead(dest)) throw LocalityLost(dest, "connection lost");
        Message msg{self_, context, tag, gather_copy(parts), ack};
        ++sent_;
        fabric_.post(dest, LoopbackFabric::Event{LoopbackFabric::Event::data, std::move(msg), -1});
    }

    bool progress(bool take_turn) override {
        std::unique_lock<std::mutex> lock(progress_mu_, std::defer_lock);
        if (take_turn)
            lock.lock();
        else if (!lock.try_lock())
            return false;  // someone else is delivering
        std::deque<LoopbackFabric::Event> events = fabric_.take(self_);
        for (auto& e : events) {
            if (e.kind == LoopbackFabric::Event::data)
                sink_.deliver(std::move(e.message));
            else if (e.kind == LoopbackFabric::Event::lost)
                sink_.peer_lost(e.locality, "killed by the test");
            else
                sink_.peer_departed(e.locality);
        }
        return !events.empty();
    }

    int wait_fd() const override { return with_fd_ ? fabric_.wait_fd(self_) : -1; }

    void shutdown() override {
        for (int i = 0; i < fabric_.size(); ++i)
            if (i != self_) fabric_.post(i, LoopbackFabric::Event{LoopbackFabric::Event::bye, Message{}, self_});
    }
    void abort(int, int) override {}

    int sent() const { return sent_; }

private:
    LoopbackFabric& fabric_;
    int self_;
    ParcelSink& sink_;
    std::set<int> reached_;
    std::string name_;
    bool with_fd_;
    std::mutex progress_mu_;
    std::atomic<int> sent_{0};
};

}  // namespace hpxpy::testing
