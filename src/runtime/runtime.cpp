#include "runtime.hpp"

#include <memory>
#include <stdexcept>
#include <unistd.h>

#include "../parcelport/mpi/library.hpp"
#include "../parcelport/mpi/parcelport.hpp"
#include "../parcelport/tcp/parcelport.hpp"

namespace hpxpy {
namespace {

void check_config(const RuntimeConfig& c) {
    if (c.size < 1 || c.self < 0 || c.self >= c.size)
        throw std::invalid_argument("locality id " + std::to_string(c.self) +
                                    " out of range for a job of " + std::to_string(c.size));
    const auto known = available_transports();
    for (const TransportConfig& t : c.transports) {
        bool ok = false;
        for (const auto& name : known) ok = ok || name == t.name;
        if (!ok) {
            std::string list;
            for (const auto& name : known) list += (list.empty() ? "" : ", ") + name;
            throw std::invalid_argument("unknown parcelport '" + t.name + "' (available: " +
                                        list + ")");
        }
        if (t.name == "tcp" && c.size > 1 && t.fds.size() != static_cast<std::size_t>(c.size))
            throw std::invalid_argument("need one socket per locality");
        if (t.name == "shm" && c.size > 1 &&
            (!t.segment || t.peers.size() != static_cast<std::size_t>(c.size)))
            throw std::invalid_argument("shm needs this locality's segment and one endpoint "
                                        "per locality");
        if (t.name == "mpi" && c.size > 1 && !mpi::Library::instance().started())
            throw std::invalid_argument("the mpi parcelport needs MPI started first "
                                        "(hpxpy._core.mpi_start)");
    }
}

std::unique_ptr<Parcelport> make_transport(const TransportConfig& t, int self, int size,
                                           ParcelSink& sink, int spin_us) {
    // check_config has rejected every other name.
    if (t.name == "shm") return std::make_unique<ShmParcelport>(self, t.segment, t.peers, sink,
                                                                spin_us);
    if (t.name == "mpi") return std::make_unique<MpiParcelport>(self, size, sink);
    return std::make_unique<TcpParcelport>(self, t.fds, sink);
}

// Checks the config; if it is wrong, closes the sockets it was given (no parcelport owns
// them yet) and throws.
void validate(const RuntimeConfig& config) {
    try {
        check_config(config);
    } catch (...) {
        if (config.size > 1)
            for (const TransportConfig& t : config.transports)
                for (int fd : t.fds)
                    if (fd >= 0) close(fd);
        throw;
    }
}

}  // namespace

std::vector<std::string> available_transports() { return {"shm", "tcp", "mpi"}; }

Runtime::Runtime(RuntimeConfig config)
    : engine_(config.self, config.size, config.spin_us), collectives_(engine_) {
    validate(config);
    ParcelHandler& handler = engine_.handler();
    if (config.size > 1) {
        std::vector<std::unique_ptr<Parcelport>> ports;
        try {
            for (const TransportConfig& t : config.transports)
                ports.push_back(make_transport(t, config.self, config.size, handler.port_sink(),
                                               config.spin_us));
        } catch (...) {
            // The transports not built yet do not own their sockets: close them.
            for (std::size_t i = ports.size(); i < config.transports.size(); ++i)
                for (int fd : config.transports[i].fds)
                    if (fd >= 0) close(fd);
            throw;
        }
        // A transport that reaches no peer (TCP when every peer shares this host) is left
        // out, so the handler waits on the others alone.
        for (auto& port : ports) {
            bool used = false;
            for (int peer = 0; peer < config.size && !used; ++peer)
                used = peer != config.self && port->reaches(peer);
            if (used) handler.add(std::move(port));
        }
    }
    engine_.start();  // routes: self, then the transports in the order given
    for (int peer = 0; peer < config.size; ++peer)
        if (handler.route_name(peer) == "none")
            throw std::invalid_argument("no transport reaches locality " +
                                        std::to_string(peer));
}

int Runtime::join(int fd) {
    std::lock_guard<std::mutex> lock(join_mu_);
    ParcelHandler& handler = engine_.handler();
    const int peer = engine_.size() + next_joined_;
    if (peer >= engine_.capacity()) {
        close(fd);
        throw std::out_of_range("hpxpy: no more than " + std::to_string(Engine::kJoinedPeers) +
                                " processes can join a locality");
    }
    if (joined_ == nullptr) {
        auto port = std::make_unique<TcpParcelport>(engine_.self(), engine_.capacity(),
                                                    handler.port_sink());
        joined_ = port.get();
        handler.add_joined(std::move(port));
    }
    joined_->attach(peer, fd);
    handler.join(peer, joined_);
    ++next_joined_;
    return peer;
}

void Runtime::leave(int peer) {
    TcpParcelport* port;
    {
        std::lock_guard<std::mutex> lock(join_mu_);
        port = joined_;
    }
    if (port != nullptr && peer >= engine_.size() && peer < engine_.capacity()) port->leave(peer);
}

}  // namespace hpxpy
