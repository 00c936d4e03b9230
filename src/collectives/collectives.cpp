#include "collectives.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace hpxpy {
namespace {

constexpr std::size_t kAlign = 16;
// From this size on, all_reduce uses reduce-scatter + allgather.
constexpr std::size_t kLargeAllReduceBytes = 256 * 1024;
alignas(16) const char kZeros[kAlign] = {};

std::size_t padded(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// A measured threshold, overridable for tuning and comparisons by an environment variable.
std::size_t bytes_from_env(const char* name, std::size_t fallback) {
    const char* env = std::getenv(name);
    return env ? static_cast<std::size_t>(std::strtoull(env, nullptr, 10)) : fallback;
}

// Largest power of two <= n (n >= 1).
int floor_pow2(int n) {
    int p = 1;
    while (p * 2 <= n) p *= 2;
    return p;
}

// Binomial tree over relative ranks (0 = root): the parent and the children of `vr`,
// children listed from the largest subtree down.
int tree_parent(int vr) { return vr & (vr - 1); }
std::vector<int> tree_children(int vr, int n) {
    int low = vr ? (vr & -vr) : 1;
    if (!vr)
        while (low < n) low <<= 1;
    std::vector<int> kids;
    for (int m = low >> 1; m >= 1; m >>= 1)
        if (vr + m < n) kids.push_back(vr + m);
    return kids;
}
// Relative ranks covered by the subtree rooted at child `c` of a binomial tree.
int subtree_end(int c, int n) {
    int low = c & -c;
    return std::min(c + low, n);
}

std::string describe(const ItemHeader& h) {
    std::ostringstream out;
    out << "shape (";
    for (uint32_t i = 0; i < h.ndim; ++i) out << (i ? ", " : "") << h.shape[i];
    out << (h.ndim == 1 ? ",) dtype " : ") dtype ") << dtype_name(h.dtype);
    return out.str();
}

// The call word a collective message carries at kCallOffset (0: too short for one).
uint32_t call_in(const PayloadPtr& payload) {
    uint32_t word = 0;
    if (payload && payload->size() >= kCallOffset + sizeof word)
        std::memcpy(&word, payload->data() + kCallOffset, sizeof word);
    return word;
}

// The group rank of a world locality (error paths only: a linear search).
int rank_in(const Group& g, int world) {
    for (int i = 0; i < g.size; ++i)
        if (g.world(i) == world) return i;
    return -1;
}

// One outgoing item: header, then data segments (or error text), then padding.
struct OutItem {
    ItemHeader header{};
    std::string text;
    std::vector<ConstBuffer> segments;

    OutItem(const ArrayRef& a, int origin, uint32_t op, const Failure& f, uint32_t call) {
        header.origin = origin;
        header.op = op;
        header.call = call;
        if (f.status != Status::ok) {
            set_error(f);
            return;
        }
        header.dtype = a.dtype;
        header.ndim = static_cast<uint32_t>(a.shape.size());
        for (std::size_t i = 0; i < a.shape.size() && i < kMaxDims; ++i) header.shape[i] = a.shape[i];
        header.nbytes = a.nbytes;
        segments = a.segments;
    }
    void set_error(const Failure& f) {
        header.status = static_cast<uint32_t>(f.status);
        text = f.text;
        header.nbytes = text.size();
        segments.clear();
    }
    void append_to(std::vector<ConstBuffer>& parts) const {
        parts.push_back({&header, sizeof header});
        if (header.status != 0)
            parts.push_back({text.data(), text.size()});
        else
            parts.insert(parts.end(), segments.begin(), segments.end());
        parts.push_back({kZeros, padded(header.nbytes) - header.nbytes});
    }
};

// Walks the items packed in a payload.
std::vector<Item> parse_items(const PayloadPtr& payload) {
    std::vector<Item> items;
    std::size_t off = 0;
    while (off + sizeof(ItemHeader) <= payload->size()) {
        Item item;
        std::memcpy(&item.header, payload->data() + off, sizeof(ItemHeader));
        item.owner = payload;
        item.data = payload->data() + off + sizeof(ItemHeader);
        off += sizeof(ItemHeader) + padded(item.header.nbytes);
        if (off > payload->size() + kAlign) throw std::runtime_error("hpxpy: corrupt collective message");
        items.push_back(std::move(item));
    }
    return items;
}

Failure failure_of(const Item& item) {
    return {static_cast<Status>(item.header.status),
            std::string(item.data, static_cast<std::size_t>(item.header.nbytes))};
}

[[noreturn]] void raise(const Failure& f, const Group& g) {
    throw CollectiveError(f.status, f.text, g.context);
}

// The bytes of a finished raw-block receive, written into `block` unless they did not fit.
std::size_t settle_block(const RecvRequest& req, const RecvBlock& block) {
    if (req.direct) return req.size;
    const PayloadPtr& payload = req.message.payload;
    const std::size_t n = payload ? payload->size() : 0;
    if (n && n <= block.capacity) std::memcpy(block.data, payload->data(), n);
    return n;
}

// Withdraws the receives not matched yet (a failed raw-block collective must not leave
// receives naming the caller's buffer behind).
void withdraw(Engine& engine, const std::vector<RecvRequestPtr>& requests) {
    for (const RecvRequestPtr& req : requests)
        if (req && !req->done) engine.cancel(req);
}

}  // namespace

namespace {
// The interrupt check of a meeting's wait: the engine's interruption point, and, once the
// wait has lasted a slice (the check's first call, ~100 ms), a listing for stall reports
// (Engine::pending), removed when the meeting ends. A short meeting costs nothing here.
class MeetingWait {
public:
    MeetingWait(Engine& engine, const Group& g, int tag) : engine_(engine) {
        op_.kind = "meeting";
        op_.context = g.context;
        op_.tag = tag;
    }
    MeetingWait(const MeetingWait&) = delete;
    MeetingWait& operator=(const MeetingWait&) = delete;
    ~MeetingWait() {
        if (listed_) engine_.remove_blocked(it_);
    }
    InterruptCheck check() {
        return [this] {
            if (!listed_) {
                it_ = engine_.add_blocked(op_);
                listed_ = true;
            }
            engine_.interruption_point();
            engine_.run_idle_hook();  // the CallWatch: a mismatched call leaves its meeting
        };
    }

private:
    Engine& engine_;
    PendingOp op_;
    bool listed_ = false;
    std::list<PendingOp>::iterator it_;
};
}  // namespace

// What a member writes into its meeting cell for an all_reduce; its data follows.
struct ReduceCell {
    uint32_t call;  // first in every meeting cell: which collective wrote it
    uint32_t status;
    uint32_t dtype;
    uint32_t op;
    uint64_t nbytes;  // data or error text bytes
    uint32_t fits;    // 0: the data (or error text) is larger than a cell holds
    uint32_t reserved;
};
static_assert(offsetof(ReduceCell, call) == 0, "the call word leads every meeting cell");

// Every member reads the same cells: if their call words differ, every member raises the
// same mismatch (rank 0's call against the first rank whose call differs).
void check_meeting_calls(const char* cells, const Group& g) {
    auto word = [&](int i) {
        uint32_t w;
        std::memcpy(&w, cells + static_cast<std::size_t>(i) * SharedWindows::kCellBytes, sizeof w);
        return w;
    };
    for (int i = 1; i < g.size; ++i)
        if (word(i) != word(0))
            throw CollectiveError(Status::mismatch, mismatch_text(0, word(0), i, word(i)), g.context);
}
constexpr std::size_t kCellData = SharedWindows::kCellBytes - sizeof(ReduceCell);

void Collectives::check_group(const Group& g, int root) const {
    const auto fail = [](const std::string& what) {
        throw std::invalid_argument("hpxpy collective: " + what);
    };
    if (g.size < 1) fail("a group needs at least one member, got size " + std::to_string(g.size));
    if (!g.members.empty() && g.members.size() != static_cast<std::size_t>(g.size))
        fail("the group lists " + std::to_string(g.members.size()) + " members but has size " +
             std::to_string(g.size));
    if (g.rank < 0 || g.rank >= g.size)
        fail("this locality's rank " + std::to_string(g.rank) + " is not in the group [0, " +
             std::to_string(g.size) + ") (is it a member?)");
    if (root != kNoRoot && (root < 0 || root >= g.size))
        fail("root " + std::to_string(root) + " out of range [0, " + std::to_string(g.size) + ")");
    for (int i = 0; i < g.size; ++i) {
        const int w = g.world(i);
        if (w < 0 || w >= engine_.size())
            fail("member " + std::to_string(i) + " is locality " + std::to_string(w) +
                 ", out of range [0, " + std::to_string(engine_.size()) + ")");
    }
    if (g.world(g.rank) != engine_.self())
        fail("member " + std::to_string(g.rank) + " of the group is locality " +
             std::to_string(g.world(g.rank)) + ", not this one (" +
             std::to_string(engine_.self()) + ")");
}

namespace {
bool meetings_enabled() {
    // HPXPY_MEETINGS=0 turns meetings off (to compare against the message algorithms).
    static const bool enabled = [] {
        const char* env = std::getenv("HPXPY_MEETINGS");
        return env == nullptr || std::string(env) != "0";
    }();
    return enabled;
}
}  // namespace

const Collectives::Meeting* Collectives::decided_meeting(const Group& g) {
    if (!meetings_enabled() || g.size < 2 || g.context < kFirstFreeContext) return nullptr;
    std::lock_guard<std::mutex> lock(meetings_mu_);
    auto it = meetings_.find(g.context);
    return it != meetings_.end() && it->second.slot >= 0 ? &it->second : nullptr;
}

const Collectives::Meeting* Collectives::meeting_for(const Group& g, int tag) {
    if (!meetings_enabled() || g.size < 2 || g.context < kFirstFreeContext) return nullptr;
    {
        std::lock_guard<std::mutex> lock(meetings_mu_);
        auto it = meetings_.find(g.context);
        if (it != meetings_.end()) return it->second.slot >= 0 ? &it->second : nullptr;
    }
    Meeting m;
    for (int i = 0; i < g.size; ++i) m.members.push_back(g.world(i));
    m.windows = windows_of(g);
    int32_t slot = -1;
    const int decision_tag = tag | 7;  // a step no other message of this call uses
    if (g.rank == 0) {
        if (m.windows) slot = m.windows->claim_slot(static_cast<uint32_t>(g.context));
        for (int i = 1; i < g.size; ++i)
            engine_.send(g.world(i), g.context, decision_tag, {{&slot, sizeof slot}});
    } else {
        Message msg = engine_.receive(g.context, g.world(0), decision_tag);
        if (msg.payload->size() == sizeof slot) std::memcpy(&slot, msg.payload->data(), sizeof slot);
        if (slot >= 0 && !m.windows)
            throw std::runtime_error("hpxpy: rank 0 of a group holds a meeting slot that "
                                     "this locality cannot reach");
    }
    m.slot = slot;
    std::lock_guard<std::mutex> lock(meetings_mu_);
    auto& stored = meetings_[g.context] = std::move(m);
    return stored.slot >= 0 ? &stored : nullptr;
}

bool Collectives::all_reduce_meeting(const Meeting& m, const Group& g, int tag,
                                     const ArrayRef& value, uint32_t op, const Failure& failure,
                                     Item& result) {
    alignas(16) char cell[SharedWindows::kCellBytes];
    ReduceCell head{};
    head.call = call_word(CallKind::all_reduce);
    head.status = static_cast<uint32_t>(failure.status);
    head.op = op;
    std::size_t size = 0;
    if (failure.status != Status::ok) {
        size = std::min(failure.text.size(), kCellData);
        std::memcpy(cell + sizeof head, failure.text.data(), size);
        head.fits = 1;
    } else {
        head.dtype = value.dtype;
        head.fits = value.nbytes <= kCellData;
        if (head.fits) {
            char* at = cell + sizeof head;
            for (const ConstBuffer& part : value.segments) {
                std::memcpy(at, part.data, part.size);
                at += part.size;
            }
            size = value.nbytes;
        }
    }
    head.nbytes = size;
    std::memcpy(cell, &head, sizeof head);
    MeetingWait wait(engine_, g, tag);
    const char* cells = m.windows->meet(m.slot, m.members, g.rank, cell, sizeof head + size,
                                        wait.check());
    auto cell_of = [&](int i) {
        ReduceCell h;
        std::memcpy(&h, cells + static_cast<std::size_t>(i) * SharedWindows::kCellBytes, sizeof h);
        return h;
    };
    auto data_of = [&](int i) {
        return cells + static_cast<std::size_t>(i) * SharedWindows::kCellBytes + sizeof(ReduceCell);
    };
    // Every member reads the same cells, so every member decides the same way.
    check_meeting_calls(cells, g);
    for (int i = 0; i < g.size; ++i) {
        ReduceCell h = cell_of(i);
        if (h.status != 0)
            raise({static_cast<Status>(h.status), std::string(data_of(i), h.nbytes)}, g);
    }
    for (int i = 0; i < g.size; ++i)
        if (!cell_of(i).fits) return false;
    const ReduceCell first = cell_of(0);
    for (int i = 1; i < g.size; ++i) {
        ReduceCell h = cell_of(i);
        if (h.dtype != first.dtype || h.op != first.op || h.nbytes != first.nbytes) {
            std::ostringstream text;
            text << "all_reduce: arguments differ between localities: locality 0 passed "
                 << first.nbytes << " bytes of " << dtype_name(first.dtype) << " op '"
                 << op_name(first.op) << "', locality " << i << " passed " << h.nbytes
                 << " bytes of " << dtype_name(h.dtype) << " op '" << op_name(h.op)
                 << "'; every locality must pass the same shape, dtype and op";
            raise({h.dtype != first.dtype ? Status::type_error : Status::value_error, text.str()},
                  g);
        }
    }
    // Folded in rank order (lower ranks on the left), the same on every member.
    const std::size_t nbytes = first.nbytes;
    const std::size_t count = nbytes / std::max<std::size_t>(1, dtype_size(first.dtype));
    auto payload = std::make_shared<Payload>(std::max<std::size_t>(nbytes, 1));
    char* acc = payload->data();
    std::memcpy(acc, data_of(0), nbytes);
    for (int i = 1; i < g.size; ++i) reduce(first.dtype, op, acc, data_of(i), acc, count);
    result.header = OutItem(value, g.rank, op, failure, head.call).header;
    result.owner = std::move(payload);
    result.data = acc;
    return true;
}

bool Collectives::blocks_meeting(const Meeting& m, const Group& g, int tag, uint32_t word,
                                 ConstBuffer mine,
                                 const std::function<void(int, const char*, std::size_t)>& take) {
    // The cell: the call word, 4 spare bytes, the block's length (~0: too large), the block.
    constexpr std::size_t kHead = 16;
    constexpr std::size_t kBlockMax = SharedWindows::kCellBytes - kHead;
    alignas(16) char cell[SharedWindows::kCellBytes];
    const uint32_t head[2] = {word, 0};
    std::memcpy(cell, head, sizeof head);
    const bool fits = mine.size <= kBlockMax;
    const uint64_t length = fits ? mine.size : ~uint64_t{0};
    std::memcpy(cell + 8, &length, sizeof length);
    if (fits && mine.size) std::memcpy(cell + kHead, mine.data, mine.size);
    MeetingWait wait(engine_, g, tag);
    const char* all = m.windows->meet(m.slot, m.members, g.rank, cell,
                                      kHead + (fits ? mine.size : 0), wait.check());
    check_meeting_calls(all, g);  // (the gather's word holds its root: roots must agree)
    const auto length_of = [&](int i) {
        uint64_t len = 0;
        std::memcpy(&len, all + static_cast<std::size_t>(i) * SharedWindows::kCellBytes + 8,
                    sizeof len);
        return len;
    };
    for (int i = 0; i < g.size; ++i)
        if (length_of(i) > kBlockMax) return false;
    for (int i = 0; i < g.size; ++i)
        if (i != g.rank)
            take(i, all + static_cast<std::size_t>(i) * SharedWindows::kCellBytes + kHead,
                 static_cast<std::size_t>(length_of(i)));
    return true;
}

bool Collectives::meet(const Group& g, int tag, const void* data, std::size_t size,
                       std::vector<MetCell>& cells) {
    check_group(g);
    CallWatch::Scope call(watch_, g, tag, call_word(CallKind::object_all_reduce));
    const Meeting* m = meeting_for(g, tag);
    if (!m) return false;
    // The cell: the call word, 4 spare bytes, the length, the bytes.
    constexpr std::size_t kHead = 16;
    alignas(16) char cell[SharedWindows::kCellBytes];
    const uint32_t head[2] = {call_word(CallKind::object_all_reduce), 0};
    std::memcpy(cell, head, sizeof head);
    const uint64_t length = size <= kMeetBytes ? size : ~uint64_t{0};  // ~0: does not fit
    std::memcpy(cell + 8, &length, sizeof length);
    const std::size_t kept = size <= kMeetBytes ? size : 0;
    if (kept) std::memcpy(cell + kHead, data, kept);
    MeetingWait wait(engine_, g, tag);
    const char* all = m->windows->meet(m->slot, m->members, g.rank, cell, kHead + kept,
                                       wait.check());
    check_meeting_calls(all, g);
    cells.assign(static_cast<std::size_t>(g.size), MetCell{});
    for (std::size_t i = 0; i < cells.size(); ++i) {
        const char* theirs = all + i * SharedWindows::kCellBytes;
        uint64_t len = 0;
        std::memcpy(&len, theirs + 8, sizeof len);
        cells[i].fits = len <= kMeetBytes;
        if (cells[i].fits) cells[i].bytes.assign(theirs + kHead, static_cast<std::size_t>(len));
    }
    return true;
}

Item Collectives::all_reduce(const Group& g, const ArrayRef& value, uint32_t op, int tag,
                             const Failure& failure, bool meet, char* into) {
    check_group(g);
    CallWatch::Scope call(watch_, g, tag, call_word(CallKind::all_reduce));
    const int n = g.size, r = g.rank;
    if (meet && n > 1) {
        if (const Meeting* m = meeting_for(g, tag)) {
            Item result;
            if (all_reduce_meeting(*m, g, tag, value, op, failure, result)) return result;
        }
    }
    const uint32_t word = call_word(CallKind::all_reduce);
    OutItem mine(value, r, op, failure, word);
    Failure state = failure;
    const std::size_t esize = failure.status == Status::ok ? dtype_size(value.dtype) : 1;
    const std::size_t count = failure.status == Status::ok ? value.nbytes / esize : 0;
    // The running result: our input at first, then the payload each step reduced into
    // (the partner's bytes are combined in place, so the input is never copied).
    Item acc;
    acc.header = mine.header;
    const char* acc_data = static_cast<const char*>(value.data());

    // Sends elements [first, first + len) of the running result (or our error).
    auto send_range = [&](int dest, std::size_t first, std::size_t len) {
        ArrayRef part = value;
        part.segments = {{acc_data + first * esize, len * esize}};
        part.nbytes = len * esize;
        OutItem out(part, r, op, state, word);
        std::vector<ConstBuffer> parts;
        out.append_to(parts);
        engine_.send(g.world(dest), g.context, tag, parts);
    };
    // A partner's message: its data if usable, else null (its error, or a mismatch with
    // ours, is now our state).
    auto receive_usable = [&](int src, Message& msg) -> const char* {
        msg = engine_.receive(g.context, g.world(src), tag);
        const uint32_t theirs = call_in(msg.payload);
        if (theirs != word) {  // another collective's message: nothing in it is ours to read
            if (state.status == Status::ok) state = {Status::mismatch, mismatch_text(r, word, src, theirs)};
            return nullptr;
        }
        Item item = parse_items(msg.payload).at(0);
        const ItemHeader& h = item.header;
        if (h.status != 0) {
            if (state.status == Status::ok) state = failure_of(item);
            return nullptr;
        }
        if (state.status != Status::ok) return nullptr;
        const ItemHeader& me = mine.header;
        bool same_shape = h.ndim == me.ndim &&
                          std::memcmp(h.shape, me.shape, sizeof(int64_t) * h.ndim) == 0;
        if (h.dtype != me.dtype || !same_shape || h.op != me.op) {
            std::ostringstream text;
            text << "all_reduce: arguments differ between localities: locality " << r
                 << " passed " << describe(me) << " op '" << op_name(me.op) << "', locality "
                 << src << " passed " << describe(h) << " op '" << op_name(h.op)
                 << "'; every locality must pass the same shape, dtype and op";
            state = {h.dtype != me.dtype ? Status::type_error : Status::value_error, text.str()};
            return nullptr;
        }
        return item.data;
    };
    // Folds a partner's whole contribution in (lower ids always on the left), in place in
    // the partner's payload, which becomes the running result.
    auto receive_combine = [&](int src) {
        Message msg;
        const char* theirs_c = receive_usable(src, msg);
        if (!theirs_c) return;
        char* theirs = const_cast<char*>(theirs_c);  // our own copy of their bytes
        if (src < r)
            reduce(mine.header.dtype, op, theirs, acc_data, theirs, count);
        else
            reduce(mine.header.dtype, op, acc_data, theirs, theirs, count);
        acc_data = theirs;
        acc.owner = msg.payload;
    };
    // Where the running result may be written: a received payload of ours, or `into`.
    auto writable = [&]() -> char* {
        if (acc.owner) return acc.owner->data() + (acc_data - acc.owner->data());
        return into != nullptr && acc_data == into ? into : nullptr;
    };
    auto receive_result = [&](int src) {
        Message msg;
        if (const char* data = receive_usable(src, msg)) {
            acc_data = data;
            acc.owner = msg.payload;
        }
    };

    const int p2 = floor_pow2(n), extra = n - p2;
    if (r >= p2) {  // fold into a partner below p2, get the result back at the end
        send_range(r - p2, 0, count);
        receive_result(r - p2);
    } else {
        if (r < extra) receive_combine(r + p2);
        // Large arrays: reduce-scatter by recursive halving, then allgather by recursive
        // doubling (Rabenseifner): each locality reduces and sends ~1/p2 of the data per
        // step instead of all of it. Every element is reduced by one locality only, so
        // the result stays bit-identical everywhere. Both algorithms talk to partners
        // r^1, r^2, ... in the first phase; errors (including shapes that differ, and so
        // could pick different algorithms) are known everywhere after it, and then every
        // locality runs the second phase with error items: no one waits for a message
        // that does not come.
        const bool large = count >= static_cast<std::size_t>(p2) && p2 > 1 &&
                           count * esize >= kLargeAllReduceBytes;
        std::vector<std::pair<std::size_t, std::size_t>> ranges;  // before each split
        std::size_t lo = 0, hi = count;
        if (large) {
            // Somewhere writable to reduce into: the caller's `into`, else our own copy
            // (blocks are recycled by the pool).
            if (!acc.owner && into) {
                if (into != acc_data) std::memcpy(into, acc_data, count * esize);
                acc_data = into;
            } else if (!acc.owner) {
                auto copy = std::make_shared<Payload>(count * esize);
                std::memcpy(copy->data(), acc_data, count * esize);
                acc.owner = copy;
                acc_data = copy->data();
            }
            char* work = writable();
            for (int mask = 1; mask < p2; mask <<= 1) {
                int partner = r ^ mask;
                std::size_t mid = lo + (hi - lo) / 2;
                ranges.push_back({lo, hi});
                bool keep_low = (r & mask) == 0;
                if (keep_low) send_range(partner, mid, hi - mid);
                else send_range(partner, lo, mid - lo);
                if (!keep_low) lo = mid;
                else hi = mid;
                Message msg;
                if (const char* theirs = receive_usable(partner, msg)) {
                    char* dst = work + lo * esize;
                    if (partner < r)
                        reduce(mine.header.dtype, op, theirs, dst, dst, hi - lo);
                    else
                        reduce(mine.header.dtype, op, dst, theirs, dst, hi - lo);
                }
            }
        } else {
            for (int mask = 1; mask < p2; mask <<= 1) {
                int partner = r ^ mask;
                send_range(partner, 0, count);
                receive_combine(partner);
            }
        }
        // A mismatch is known to every member taking part after the first phase too, but
        // its peer runs another collective: no one would send the second phase's messages.
        if ((large || state.status != Status::ok) && state.status != Status::mismatch) {
            char* work = writable();
            for (int mask = p2 >> 1; mask >= 1; mask >>= 1) {
                int partner = r ^ mask;
                auto [plo, phi] = ranges.empty() ? std::make_pair(lo, hi) : ranges.back();
                if (!ranges.empty()) ranges.pop_back();
                send_range(partner, lo, hi - lo);
                // The partner holds the other half of the range we split at this step.
                std::size_t olo = lo == plo ? hi : plo, ohi = lo == plo ? phi : lo;
                Message msg;
                const char* theirs = receive_usable(partner, msg);
                if (theirs && work) std::memcpy(work + olo * esize, theirs, (ohi - olo) * esize);
                lo = plo;
                hi = phi;
            }
        }
        if (r < extra) send_range(r + p2, 0, count);
    }
    if (state.status != Status::ok) raise(state, g);
    acc.data = acc_data;
    if (!acc.owner && acc_data != into) acc.data = nullptr;  // one locality: the input itself
    return acc;
}

SharedWindows* Collectives::windows_of(const Group& g) {
    std::vector<int> members(static_cast<std::size_t>(g.size));
    for (int i = 0; i < g.size; ++i) members[static_cast<std::size_t>(i)] = g.world(i);
    return engine_.handler().windows_for(members);
}

std::size_t Collectives::window_broadcast_min() {
    // Measured thresholds (docs/architecture.md, "Collectives"); overridable for tuning.
    static const std::size_t bytes = bytes_from_env("HPXPY_BCAST_WINDOW_MIN",
                                                    kWindowBroadcastMin);
    return bytes;
}

Item Collectives::broadcast(const Group& g, const ArrayRef& value, int root, int tag,
                            const Failure& failure, char* into, std::size_t into_capacity) {
    check_group(g, root);
    CallWatch::Scope call(watch_, g, tag, call_word(CallKind::broadcast, root));
    const int n = g.size, r = g.rank;
    const int vr = (r - root + n) % n;
    std::vector<ConstBuffer> parts;
    Item result;
    Failure state;
    const uint32_t word = call_word(CallKind::broadcast, root);
    OutItem own(value, r, 0, failure, word);
    if (vr == 0) {
        // Large, on one host: through the root's shared window, written once and copied
        // out by every reader at once. Each reader learns which way from the one message
        // it receives: this header (marked) from the root, or the tree's from its parent.
        SharedWindows* windows = nullptr;
        if (n > 1 && failure.status == Status::ok && value.nbytes >= window_broadcast_min())
            windows = windows_of(g);
        if (windows) {
            std::vector<int> readers;
            for (int i = 0; i < n; ++i)
                if (i != r) readers.push_back(g.world(i));
            windows->acquire([this] { engine_.interruption_point(); });
            try {
                ItemHeader marked = own.header;
                marked.op = kViaWindow;
                windows->publish(own.segments, own.header.nbytes, readers,
                                 [this] { engine_.interruption_point(); }, [&] {
                                     for (int reader : readers)
                                         engine_.send(reader, g.context, tag,
                                                      {{&marked, sizeof marked}});
                                 });
            } catch (...) {
                windows->release();
                throw;
            }
            windows->release();
            return result;
        }
        own.append_to(parts);
        state = failure;
    } else {
        Message msg = engine_.receive(g.context, kAnySource, tag);
        const uint32_t theirs = call_in(msg.payload);
        if (theirs != word) {  // another collective's message: tell our subtree, then raise
            state = {Status::mismatch, mismatch_text(r, word, rank_in(g, msg.source), theirs)};
            OutItem error(ArrayRef{}, r, 0, state, word);
            error.append_to(parts);
            for (int child : tree_children(vr, n))
                engine_.send(g.world((child + root) % n), g.context, tag, parts);
            raise(state, g);
        }
        ItemHeader first;
        std::memcpy(&first, msg.payload->data(), sizeof first);
        if (first.op == kViaWindow) {
            first.op = 0;
            SharedWindows* windows = windows_of(g);
            if (!windows) throw std::runtime_error("hpxpy: broadcast through a shared window "
                                                   "that this locality cannot reach");
            auto interrupt = [this] { engine_.interruption_point(); };
            if (into && first.nbytes <= into_capacity) {  // straight into the caller's buffer
                windows->read(msg.source, into, first.nbytes, interrupt);
                result.header = first;
                result.data = into;
                return result;
            }
            auto payload = std::make_shared<Payload>(sizeof(ItemHeader) + padded(first.nbytes));
            std::memcpy(payload->data(), &first, sizeof first);
            windows->read(msg.source, payload->data() + sizeof(ItemHeader), first.nbytes,
                          interrupt);
            return parse_items(payload).at(0);
        }
        parts.push_back({msg.payload->data(), msg.payload->size()});  // forward as received
        result = parse_items(msg.payload).at(0);
        if (result.header.status != 0) state = failure_of(result);
    }
    for (int child : tree_children(vr, n))
        engine_.send(g.world((child + root) % n), g.context, tag, parts);
    if (state.status != Status::ok) raise(state, g);
    return result;
}

std::vector<Item> Collectives::gather(const Group& g, const ArrayRef& value, int root,
                                      int tag, const Failure& failure) {
    check_group(g, root);
    CallWatch::Scope call(watch_, g, tag, call_word(CallKind::gather, root));
    const int n = g.size, r = g.rank;
    const int vr = (r - root + n) % n;
    const uint32_t word = call_word(CallKind::gather, root);
    OutItem own(value, r, 0, failure, word);
    std::vector<ConstBuffer> parts;
    own.append_to(parts);
    std::vector<Message> received;
    Failure mismatch;  // a child's message of another collective
    auto kids = tree_children(vr, n);
    for (auto it = kids.rbegin(); it != kids.rend(); ++it) {  // ascending: items stay in vr order
        const int child = (*it + root) % n;
        Message msg = engine_.receive(g.context, g.world(child), tag);
        const uint32_t theirs = call_in(msg.payload);
        if (theirs != word) {
            if (mismatch.status == Status::ok)
                mismatch = {Status::mismatch, mismatch_text(r, word, child, theirs)};
            continue;
        }
        received.push_back(std::move(msg));
        parts.push_back({received.back().payload->data(), received.back().payload->size()});
    }
    if (mismatch.status != Status::ok) {  // our parent gets the error instead of our subtree
        received.clear();
        parts.clear();
        own.set_error(mismatch);
        own.append_to(parts);
    }
    if (vr != 0) engine_.send(g.world((tree_parent(vr) + root) % n), g.context, tag, parts);

    std::vector<Item> items(static_cast<std::size_t>(vr == 0 ? n : 0));
    Failure state = mismatch.status != Status::ok ? mismatch : failure;
    if (vr == 0) {
        Item self_item;
        self_item.header = own.header;
        items[static_cast<std::size_t>(r)] = self_item;
    }
    for (const Message& msg : received) {
        for (Item& item : parse_items(msg.payload)) {
            if (item.header.status != 0 && state.status == Status::ok) state = failure_of(item);
            if (vr == 0 && item.header.origin >= 0 && item.header.origin < n)
                items[static_cast<std::size_t>(item.header.origin)] = std::move(item);
        }
    }
    if (state.status != Status::ok) raise(state, g);
    return items;
}

Item Collectives::scatter(const Group& g, const std::vector<ArrayRef>& values, int root, int tag,
                          const Failure& failure) {
    check_group(g, root);
    CallWatch::Scope call(watch_, g, tag, call_word(CallKind::scatter, root));
    const int n = g.size, r = g.rank;
    const int vr = (r - root + n) % n;
    Failure state = failure;
    Item result;
    const uint32_t word = call_word(CallKind::scatter, root);
    auto kids = tree_children(vr, n);
    if (vr == 0) {
        if (state.status == Status::ok && values.size() != static_cast<std::size_t>(n))
            state = {Status::value_error, "scatter: the root passed " +
                                              std::to_string(values.size()) +
                                              " values, expected one per locality (" +
                                              std::to_string(n) + ")"};
        std::vector<OutItem> out;
        out.reserve(static_cast<std::size_t>(n));
        for (int v = 0; v < n; ++v) {
            int origin = (v + root) % n;
            if (state.status == Status::ok)
                out.emplace_back(values[static_cast<std::size_t>(origin)], origin, 0, state, word);
            else
                out.emplace_back(ArrayRef{}, origin, 0, state, word);
        }
        for (int child : kids) {
            std::vector<ConstBuffer> parts;
            int last = state.status == Status::ok ? subtree_end(child, n) : child + 1;
            for (int v = child; v < last; ++v) out[static_cast<std::size_t>(v)].append_to(parts);
            engine_.send(g.world((child + root) % n), g.context, tag, parts);
        }
        if (state.status != Status::ok) raise(state, g);
        result.header = out[0].header;  // the root keeps its own value
        return result;
    }
    const int parent = (tree_parent(vr) + root) % n;
    Message msg = engine_.receive(g.context, g.world(parent), tag);
    const uint32_t theirs = call_in(msg.payload);
    if (theirs != word) {  // another collective's message: tell our subtree, then raise
        state = {Status::mismatch, mismatch_text(r, word, parent, theirs)};
        std::vector<ConstBuffer> parts;
        OutItem error(ArrayRef{}, r, 0, state, word);
        error.append_to(parts);
        for (int child : kids) engine_.send(g.world((child + root) % n), g.context, tag, parts);
        raise(state, g);
    }
    std::vector<Item> items = parse_items(msg.payload);
    result = items.at(0);
    // Items are packed in relative-rank order starting at our own: forward sub-ranges.
    for (int child : kids) {
        std::size_t first = static_cast<std::size_t>(child - vr);
        std::size_t last = static_cast<std::size_t>(subtree_end(child, n) - vr);
        std::vector<ConstBuffer> parts;
        if (result.header.status != 0) {
            parts.push_back({msg.payload->data(), msg.payload->size()});  // pass the error on
        } else {
            const char* begin = items.at(first).data - sizeof(ItemHeader);
            const char* end = last < items.size() ? items[last].data - sizeof(ItemHeader)
                                                  : msg.payload->data() + msg.payload->size();
            parts.push_back({begin, static_cast<std::size_t>(end - begin)});
        }
        engine_.send(g.world((child + root) % n), g.context, tag, parts);
    }
    if (result.header.status != 0) raise(failure_of(result), g);
    return result;
}

namespace {
// The trailer that ends every message of the tree gather (gather_blocks_tree) and of
// Bruck's all to all (alltoall_bruck), after the blocks and the list of odd ones: those
// whose size differs from the sender's block, so that a member whose block size differs
// reaches the receivers with its own byte count.
constexpr uint32_t kTreeGatherMagic = 0x47544852;  // "GTHR"
struct TreeGatherTail {
    uint64_t block;  // the sender's block size: every member's in the message but the odd ones
    uint32_t odd;    // TreeGatherOdd entries before this trailer
    uint32_t magic;
};
struct TreeGatherOdd {
    int32_t member;  // relative rank (gather), position (all to all)
    uint32_t reserved;  // all to all: 1 when the block's bytes never came (only its size)
    uint64_t bytes;
};
static_assert(sizeof(TreeGatherTail) == 16 && sizeof(TreeGatherOdd) == 16, "wire layout");

// The blocks of relative ranks [first, first + sizes.size()) in one tree message: their
// byte counts and where each starts. A message that is no tree message (a member that took
// the direct algorithm) counts as `first`'s block, the whole message.
void read_subtree(const Message& msg, int first, std::vector<std::size_t>& sizes,
                  std::vector<const char*>& starts, std::size_t& data_bytes) {
    const char* base = msg.payload ? msg.payload->data() : nullptr;
    const std::size_t size = msg.payload ? msg.payload->size() : 0;
    const std::size_t count = sizes.size();
    const auto as_one_block = [&] {
        std::fill(sizes.begin(), sizes.end(), 0);
        std::fill(starts.begin(), starts.end(), base);
        sizes[0] = size;
        data_bytes = size;
    };
    TreeGatherTail tail{};
    if (size < sizeof tail) return as_one_block();
    std::memcpy(&tail, base + size - sizeof tail, sizeof tail);
    if (tail.magic != kTreeGatherMagic || tail.odd > count ||
        size < sizeof tail + tail.odd * sizeof(TreeGatherOdd))
        return as_one_block();
    data_bytes = size - sizeof tail - tail.odd * sizeof(TreeGatherOdd);
    std::fill(sizes.begin(), sizes.end(), static_cast<std::size_t>(tail.block));
    for (uint32_t i = 0; i < tail.odd; ++i) {
        TreeGatherOdd odd;
        std::memcpy(&odd, base + data_bytes + i * sizeof odd, sizeof odd);
        const int64_t k = static_cast<int64_t>(odd.member) - first;
        if (k < 0 || k >= static_cast<int64_t>(count)) return as_one_block();
        sizes[static_cast<std::size_t>(k)] = static_cast<std::size_t>(odd.bytes);
    }
    std::size_t offset = 0;
    for (std::size_t k = 0; k < count; ++k) {
        if (sizes[k] > data_bytes - offset) return as_one_block();
        starts[k] = base + offset;
        offset += sizes[k];
    }
    if (offset != data_bytes) return as_one_block();
}
}  // namespace

std::size_t Collectives::bruck_alltoall_max() {
    static const std::size_t bytes = bytes_from_env("HPXPY_BRUCK_ALLTOALL_MAX",
                                                    kBruckAlltoallMax);
    return bytes;
}

std::vector<std::size_t> Collectives::alltoall_bruck(const Group& g,
                                                     const std::vector<ConstBuffer>& sends,
                                                     const std::vector<RecvBlock>& recvs,
                                                     int tag) {
    const int n = g.size, r = g.rank;
    const auto at = [](int i) { return static_cast<std::size_t>(i); };
    const std::size_t block = sends[at(r)].size;
    // Position i: the block for member r + i, then (after the rounds) the one from r - i.
    // Each points into the caller's send buffer or into a message received here (kept
    // alive in `held`): nothing is copied until the end. A null pointer with a size: a
    // block whose bytes never came (a member that took the direct exchange).
    std::vector<const char*> where(at(n));
    std::vector<std::size_t> sizes(at(n));
    for (int i = 0; i < n; ++i) {
        const ConstBuffer& s = sends[at((r + i) % n)];
        where[at(i)] = static_cast<const char*>(s.data);
        sizes[at(i)] = s.size;
    }
    std::vector<PayloadPtr> held;
    std::vector<int> moving;
    std::vector<ConstBuffer> parts;
    std::vector<TreeGatherOdd> odd;
    for (int k = 1; k < n; k <<= 1) {
        moving.clear();
        for (int i = 1; i < n; ++i)
            if (i & k) moving.push_back(i);
        const int to = (r + k) % n, from = (r - k + n) % n;
        // The blocks at the moving positions, back to back, then the odd ones and the tail.
        parts.clear();
        odd.clear();
        for (int i : moving) {
            if (where[at(i)] && sizes[at(i)]) parts.push_back({where[at(i)], sizes[at(i)]});
            if (sizes[at(i)] != block || !where[at(i)])
                odd.push_back({i, where[at(i)] ? 0u : 1u, static_cast<uint64_t>(sizes[at(i)])});
        }
        const TreeGatherTail tail{block, static_cast<uint32_t>(odd.size()), kTreeGatherMagic};
        if (!odd.empty()) parts.push_back({odd.data(), odd.size() * sizeof(TreeGatherOdd)});
        parts.push_back({&tail, sizeof tail});
        const RecvRequestPtr req = engine_.post_receive(g.context, g.world(from), tag);
        try {
            engine_.send(g.world(to), g.context, tag, parts);
            engine_.wait(req);
        } catch (...) {
            withdraw(engine_, {req});
            throw;
        }
        // What came: the same positions, sized by the sender's trailer.
        PayloadPtr payload = std::move(req->message.payload);
        const char* base = payload ? payload->data() : nullptr;
        const std::size_t size = payload ? payload->size() : 0;
        TreeGatherTail theirs{};
        bool ok = size >= sizeof theirs;
        if (ok) std::memcpy(&theirs, base + size - sizeof theirs, sizeof theirs);
        ok = ok && theirs.magic == kTreeGatherMagic && theirs.odd <= moving.size() &&
             size >= sizeof theirs + theirs.odd * sizeof(TreeGatherOdd);
        std::vector<std::size_t> in_sizes(moving.size(), static_cast<std::size_t>(theirs.block));
        std::vector<char> missing(moving.size(), 0);
        std::size_t data_bytes = 0;
        if (ok) {
            data_bytes = size - sizeof theirs - theirs.odd * sizeof(TreeGatherOdd);
            for (uint32_t j = 0; j < theirs.odd && ok; ++j) {
                TreeGatherOdd o;
                std::memcpy(&o, base + data_bytes + j * sizeof o, sizeof o);
                auto it = std::lower_bound(moving.begin(), moving.end(), o.member);
                ok = it != moving.end() && *it == o.member;
                if (!ok) break;
                const auto m = static_cast<std::size_t>(it - moving.begin());
                in_sizes[m] = static_cast<std::size_t>(o.bytes);
                missing[m] = o.reserved != 0;
            }
            std::size_t total = 0;
            for (std::size_t m = 0; m < moving.size(); ++m)
                if (!missing[m]) total += in_sizes[m];
            ok = ok && total == data_bytes;
        }
        if (!ok) {  // no Bruck message (a member that sent directly): its size, no bytes
            std::fill(in_sizes.begin(), in_sizes.end(), size);
            std::fill(missing.begin(), missing.end(), 1);
        }
        std::size_t offset = 0;
        for (std::size_t m = 0; m < moving.size(); ++m) {
            const auto i = at(moving[m]);
            sizes[i] = in_sizes[m];
            where[i] = missing[m] ? nullptr : base + offset;
            if (!missing[m]) offset += in_sizes[m];
        }
        if (payload) held.push_back(std::move(payload));
    }
    // Position i holds member r - i's block for us.
    std::vector<std::size_t> got(at(n), 0);
    for (int i = 1; i < n; ++i) {
        const int member = (r - i + n) % n;
        const RecvBlock& place = recvs[at(member)];
        got[at(member)] = sizes[at(i)];
        if (where[at(i)] && sizes[at(i)] && sizes[at(i)] <= place.capacity)
            std::memcpy(place.data, where[at(i)], sizes[at(i)]);
    }
    return got;
}

std::vector<std::size_t> Collectives::exchange(const Group& g,
                                               const std::vector<ConstBuffer>& sends,
                                               const std::vector<RecvBlock>& recvs, int tag,
                                               bool equal, bool meet) {
    check_group(g);
    CallWatch::Scope call(watch_, g, tag, call_word(CallKind::exchange));
    const int n = g.size, r = g.rank;
    const auto at = [](int i) { return static_cast<std::size_t>(i); };
    if (meet && equal && n > 1) {
        if (const Meeting* m = decided_meeting(g)) {
            // Our cell holds all our blocks, back to back; each member copies out its own.
            alignas(16) char all[SharedWindows::kCellBytes];
            std::size_t total = 0;
            for (const ConstBuffer& part : sends) total += part.size;
            if (total <= sizeof all) {
                char* at_byte = all;
                for (const ConstBuffer& part : sends) {
                    if (part.size) std::memcpy(at_byte, part.data, part.size);
                    at_byte += part.size;
                }
            }
            std::vector<std::size_t> got(at(n), 0);
            const auto take = [&](int i, const char* data, std::size_t bytes) {
                const std::size_t block = bytes / at(n);
                got[at(i)] = block;
                if (block <= recvs[at(i)].capacity)
                    std::memcpy(recvs[at(i)].data, data + at(r) * block, block);
            };
            // (too large a total is sent as a block too large for a cell: nobody meets)
            const ConstBuffer mine{all, total <= sizeof all ? total : ~std::size_t{0}};
            if (blocks_meeting(*m, g, tag, call_word(CallKind::exchange), mine, take))
                return got;
        }
    }
    // Every member decides alike from n and its own block size.
    const std::size_t bruck_max = bruck_alltoall_max();
    if (equal && n > 2 && bruck_max > 0 && sends.at(at(r)).size <= bruck_max)
        return alltoall_bruck(g, sends, recvs, tag);
    std::vector<std::size_t> got(at(n), 0);
    std::vector<RecvRequestPtr> requests(at(n));
    try {
        for (int shift = 1; shift < n; ++shift) {
            const int src = (r - shift + n) % n;
            requests[at(src)] = engine_.post_receive_into(
                g.context, g.world(src), tag, 0, recvs[at(src)].data, recvs[at(src)].capacity);
        }
        // Shifted order: at each step the members send to different destinations.
        for (int shift = 1; shift < n; ++shift) {
            const int dest = (r + shift) % n;
            engine_.send(g.world(dest), g.context, tag, {sends[at(dest)]});
        }
        for (int shift = 1; shift < n; ++shift) {
            const int src = (r - shift + n) % n;
            engine_.wait(requests[at(src)]);
            got[at(src)] = settle_block(*requests[at(src)], recvs[at(src)]);
        }
    } catch (...) {
        withdraw(engine_, requests);
        throw;
    }
    return got;
}

std::vector<std::size_t> Collectives::allgather_blocks(const Group& g, char* all,
                                                       std::size_t block, int tag, bool meet) {
    check_group(g);
    CallWatch::Scope call(watch_, g, tag, call_word(CallKind::allgather_blocks));
    const int n = g.size, r = g.rank;
    const auto place = [&](int member) { return all + static_cast<std::size_t>(member) * block; };
    if (meet && n > 1) {
        if (const Meeting* m = decided_meeting(g)) {
            std::vector<std::size_t> got(static_cast<std::size_t>(n), block);
            // A block of another size is reported as the message algorithms report it
            // (above `block`: not copied, the caller raises the truncation error).
            const auto take = [&](int i, const char* data, std::size_t bytes) {
                got[static_cast<std::size_t>(i)] = bytes;
                if (bytes <= block) std::memcpy(place(i), data, bytes);
            };
            if (blocks_meeting(*m, g, tag, call_word(CallKind::allgather_blocks),
                               {place(r), block}, take))
                return got;
        }
    }
    if (static_cast<std::size_t>(n) * block >= kBruckAllgatherMax) {
        // Large: one round of direct sends (exchange) moves the same bytes without
        // Bruck's rounds one after another, nor its copies out of scratch.
        std::vector<RecvBlock> places;
        for (int j = 0; j < n; ++j) places.push_back({place(j), block});
        return exchange(g, std::vector<ConstBuffer>(static_cast<std::size_t>(n), {place(r), block}),
                        places, tag);
    }
    std::vector<std::size_t> got(static_cast<std::size_t>(n), block);
    std::vector<char> scratch;
    for (int d = 1; d < n; d *= 2) {
        const int count = std::min(d, n - d);  // blocks that travel in this round
        const int from = (r + d) % n, to = (r - d + n) % n;
        const std::size_t bytes = static_cast<std::size_t>(count) * block;
        // We receive the blocks of members from .. from + count - 1 (mod n): where the range
        // wraps past the buffer's end it lands in scratch and is copied in two pieces.
        const int before_wrap = std::min(count, n - from);
        if (before_wrap < count) scratch.resize(bytes);
        char* into = before_wrap < count ? scratch.data() : place(from);
        const RecvRequestPtr req =
            engine_.post_receive_into(g.context, g.world(from), tag, 0, into, bytes);
        try {
            // We send ours, r .. r + count - 1 (mod n): two parts where that wraps.
            const int run = std::min(count, n - r);
            std::vector<ConstBuffer> parts{{place(r), static_cast<std::size_t>(run) * block}};
            if (run < count)
                parts.push_back({place(0), static_cast<std::size_t>(count - run) * block});
            engine_.send(g.world(to), g.context, tag, parts);
            engine_.wait(req);
        } catch (...) {
            withdraw(engine_, {req});
            throw;
        }
        const std::size_t arrived = settle_block(*req, {into, bytes});
        if (arrived != bytes) {
            // Members disagree on the block size: report the message's size (above `block`
            // the caller raises the truncation error) and go on, so that nobody hangs.
            got[static_cast<std::size_t>(from)] = arrived;
            continue;
        }
        if (before_wrap < count) {
            const std::size_t head = static_cast<std::size_t>(before_wrap) * block;
            std::memcpy(place(from), scratch.data(), head);
            std::memcpy(place(0), scratch.data() + head, bytes - head);
        }
    }
    return got;
}

std::size_t Collectives::tree_gather_max() {
    static const std::size_t bytes = bytes_from_env("HPXPY_GATHER_TREE_MAX",
                                                    kTreeGatherMax);
    return bytes;
}

std::vector<std::size_t> Collectives::gather_blocks_tree(const Group& g, ConstBuffer block,
                                                         const std::vector<RecvBlock>& recvs,
                                                         int root, int tag) {
    const int n = g.size, r = g.rank;
    const int vr = (r - root + n) % n;
    const int end = vr == 0 ? n : subtree_end(vr, n);  // our subtree: [vr, end)
    const auto at = [](int i) { return static_cast<std::size_t>(i); };
    std::vector<int> kids = tree_children(vr, n);
    std::reverse(kids.begin(), kids.end());  // ascending: blocks stay in relative-rank order
    // Every member of our subtree: its bytes and where they are (ours first).
    std::vector<std::size_t> sizes(at(end - vr), 0);
    std::vector<const char*> starts(at(end - vr), nullptr);
    sizes[0] = block.size;
    starts[0] = static_cast<const char*>(block.data);
    std::vector<Message> received;
    std::vector<ConstBuffer> parts;
    if (vr != 0 && block.size) parts.push_back(block);
    received.reserve(kids.size());
    for (int child : kids) {
        received.push_back(engine_.receive(g.context, g.world((child + root) % n), tag));
        std::vector<std::size_t> their_sizes(at(subtree_end(child, n) - child));
        std::vector<const char*> their_starts(their_sizes.size());
        std::size_t data_bytes = 0;
        read_subtree(received.back(), child, their_sizes, their_starts, data_bytes);
        std::copy(their_sizes.begin(), their_sizes.end(), sizes.begin() + (child - vr));
        std::copy(their_starts.begin(), their_starts.end(), starts.begin() + (child - vr));
        if (data_bytes) parts.push_back({received.back().payload->data(), data_bytes});
    }
    if (vr != 0) {
        // Our own block and the subtrees' data as they came, then the odd sizes and the tail.
        std::vector<TreeGatherOdd> odd;
        for (int k = 1; k < end - vr; ++k)
            if (sizes[at(k)] != block.size)
                odd.push_back({vr + k, 0, static_cast<uint64_t>(sizes[at(k)])});
        const TreeGatherTail tail{block.size, static_cast<uint32_t>(odd.size()),
                                  kTreeGatherMagic};
        if (!odd.empty()) parts.push_back({odd.data(), odd.size() * sizeof(TreeGatherOdd)});
        parts.push_back({&tail, sizeof tail});
        engine_.send(g.world((tree_parent(vr) + root) % n), g.context, tag, parts);
        return {};
    }
    // The root: every block into its place (one that does not fit is reported, not written).
    std::vector<std::size_t> got(at(n), 0);
    for (int k = 1; k < n; ++k) {
        const int member = (k + root) % n;
        const RecvBlock& place = recvs[at(member)];
        got[at(member)] = sizes[at(k)];
        if (sizes[at(k)] && sizes[at(k)] <= place.capacity)
            std::memcpy(place.data, starts[at(k)], sizes[at(k)]);
    }
    return got;
}

std::vector<std::size_t> Collectives::gather_blocks(const Group& g, ConstBuffer block,
                                                    const std::vector<RecvBlock>& recvs,
                                                    int root, int tag, bool equal,
                                                    bool meet) {
    check_group(g, root);
    CallWatch::Scope call(watch_, g, tag, call_word(CallKind::gather_blocks, root));
    const int n = g.size, r = g.rank;
    const auto at = [](int i) { return static_cast<std::size_t>(i); };
    if (meet && equal && n > 1) {
        if (const Meeting* m = decided_meeting(g)) {
            std::vector<std::size_t> got(at(n), 0);
            const auto take = [&](int i, const char* data, std::size_t bytes) {
                if (r != root) return;
                got[at(i)] = bytes;
                if (bytes <= recvs[at(i)].capacity) std::memcpy(recvs[at(i)].data, data, bytes);
            };
            if (blocks_meeting(*m, g, tag, call_word(CallKind::gather_blocks, root), block,
                               take))
                return r == root ? got : std::vector<std::size_t>{};
        }
    }
    if (equal && n > 2) {
        // Every member decides alike from n and the block it knows (the root: its room).
        const std::size_t mine = r == root ? recvs.at(at(root)).capacity : block.size;
        if (tree_gather_max() > 0 && mine <= tree_gather_max())
            return gather_blocks_tree(g, block, recvs, root, tag);
    }
    if (r != root) {
        engine_.send(g.world(root), g.context, tag, {block});
        return {};
    }
    std::vector<std::size_t> got(at(n), 0);
    std::vector<RecvRequestPtr> requests(at(n));
    try {
        for (int i = 0; i < n; ++i)
            if (i != r)
                requests[at(i)] = engine_.post_receive_into(g.context, g.world(i), tag, 0,
                                                            recvs[at(i)].data,
                                                            recvs[at(i)].capacity);
        for (int i = 0; i < n; ++i) {
            if (i == r) continue;
            engine_.wait(requests[at(i)]);
            got[at(i)] = settle_block(*requests[at(i)], recvs[at(i)]);
        }
    } catch (...) {
        withdraw(engine_, requests);
        throw;
    }
    return got;
}

void Collectives::barrier(const Group& g, const std::string& name, int tag, bool meet) {
    check_group(g);
    CallWatch::Scope call(watch_, g, tag, call_word(CallKind::barrier));
    const int n = g.size, r = g.rank;
    Failure state;
    if (meet && n > 1) {
        if (const Meeting* m = meeting_for(g, tag)) {
            // The cell holds the call word, the name's length and (the start of) the name.
            constexpr std::size_t kHead = 8;
            alignas(16) char cell[SharedWindows::kCellBytes];
            const uint32_t word = call_word(CallKind::barrier);
            const auto len = static_cast<uint32_t>(name.size());
            const std::size_t kept = std::min<std::size_t>(len, sizeof cell - kHead);
            std::memcpy(cell, &word, sizeof word);
            std::memcpy(cell + 4, &len, sizeof len);
            std::memcpy(cell + kHead, name.data(), kept);
            MeetingWait wait(engine_, g, tag);
            const char* cells = m->windows->meet(m->slot, m->members, r, cell, kHead + kept,
                                                 wait.check());
            check_meeting_calls(cells, g);
            for (int i = 0; i < n; ++i) {
                const char* theirs = cells + static_cast<std::size_t>(i) * SharedWindows::kCellBytes;
                uint32_t their_len = 0;
                std::memcpy(&their_len, theirs + 4, sizeof their_len);
                if (their_len == len && std::memcmp(theirs + kHead, name.data(), kept) == 0)
                    continue;
                std::string their_name(theirs + kHead,
                                       std::min<std::size_t>(their_len, sizeof cell - kHead));
                raise({Status::value_error,
                       "barrier: names differ between localities: locality " + std::to_string(r) +
                           " waits on '" + name + "', locality " + std::to_string(i) + " on '" +
                           their_name + "'"},
                      g);
            }
            return;
        }
    }
    const uint32_t word = call_word(CallKind::barrier);
    bool mismatched = false;
    for (int k = 1; k < n; k <<= 1) {
        ArrayRef token;
        token.segments = {{name.data(), name.size()}};
        token.nbytes = name.size();
        OutItem item(token, r, 0, state, word);
        std::vector<ConstBuffer> parts;
        item.append_to(parts);
        engine_.send(g.world((r + k) % n), g.context, tag, parts);
        // After a mismatch the rest of the rounds only send (the error, to the barrier's
        // members that wait for us): a peer in another collective may never send to us.
        if (mismatched) continue;
        int src = (r - k + n) % n;
        Message msg = engine_.receive(g.context, g.world(src), tag);
        const uint32_t theirs = call_in(msg.payload);
        if (theirs != word) {  // another collective's message: an error from here on
            if (state.status == Status::ok)
                state = {Status::mismatch, mismatch_text(r, word, src, theirs)};
            mismatched = true;
            continue;
        }
        Item got = parse_items(msg.payload).at(0);
        if (state.status != Status::ok) continue;
        if (got.header.status != 0) {
            state = failure_of(got);
        } else if (std::string(got.data, got.header.nbytes) != name) {
            state = {Status::value_error,
                     "barrier: names differ between localities: locality " + std::to_string(r) +
                         " waits on '" + name + "', locality " + std::to_string(src) +
                         " on '" + std::string(got.data, got.header.nbytes) + "'"};
        }
    }
    if (state.status != Status::ok) raise(state, g);
}

std::string call_name(uint32_t word) {
    if ((word >> 24) != kCallMagic) return "a collective whose messages name no call";
    // mpi4py's names: the buffer all_reduce is Allreduce, the objects' one allreduce
    // (broadcast, gather, scatter and barrier serve both forms).
    static const char* const names[] = {"?",         "barrier",   "bcast",     "gather",
                                        "scatter",   "Allreduce", "allreduce", "Gather",
                                        "Allgather", "Alltoall"};
    const uint32_t kind = (word >> 16) & 0xFF;
    std::string out = kind < sizeof names / sizeof names[0] ? names[kind] : "?";
    const int root = static_cast<int>(word & 0xFFFF) - 1;
    out += root >= 0 ? "(root=" + std::to_string(root) + ")" : "()";
    return out;
}

std::string mismatch_text(int rank_a, uint32_t a, int rank_b, uint32_t b) {
    return "rank " + std::to_string(rank_a) + " called " + call_name(a) + ", rank " +
           std::to_string(rank_b) + " called " + call_name(b);
}

}  // namespace hpxpy
