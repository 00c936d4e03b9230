// The composition root of the core: decides which transports a locality runs and which
// peers each of them serves, builds them, and wires engine, parcel handler and collectives.
// The Python bindings only convert arguments into a RuntimeConfig.
#pragma once

#include <string>
#include <vector>

#include <memory>

#include "../collectives/collectives.hpp"
#include "../engine/engine.hpp"
#include "../parcelport/shm/parcelport.hpp"
#include "../parcelport/tcp/parcelport.hpp"

#include <mutex>

namespace hpxpy {

// One transport this locality offers, with what the bootstrap connected for it.
struct TransportConfig {
    std::string name;      // "shm" or "tcp"
    std::vector<int> fds;  // tcp: the connected socket per locality (-1: self / none)
    std::shared_ptr<shm::Segment> segment;  // shm: this locality's own segment
    std::vector<shm::PeerEndpoint> peers;   // shm: each locality's segment (pid 0: none)
};

struct RuntimeConfig {
    int self = 0;
    int size = 1;
    int spin_us = 50;
    // In priority order: for each peer the first transport that reaches it carries its
    // messages. Empty for a job of one locality.
    std::vector<TransportConfig> transports;
};

// Names of the transports this build can run, in default priority order.
std::vector<std::string> available_transports();

class Runtime {
public:
    // Throws std::invalid_argument for a bad id/size, an unknown transport or a
    // multi-locality job in which some peer is reached by no transport.
    explicit Runtime(RuntimeConfig config);
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    Engine& engine() { return engine_; }
    Collectives& collectives() { return collectives_; }

    // A process of another job (spawned by or connected to this one) joins: `fd` is an
    // authenticated TCP socket to it. Returns the locality id it gets here (size and up,
    // in joining order; never reused). Throws std::out_of_range when no id is left.
    int join(int fd);
    // Disconnect from a joined process: goodbye both ways, then its socket is closed.
    void leave(int peer);

private:
    Engine engine_;
    Collectives collectives_;
    std::mutex join_mu_;
    TcpParcelport* joined_ = nullptr;  // owned by the handler once added
    int next_joined_ = 0;
};

}  // namespace hpxpy
