// One C++ call per MPI call: hpxpy.comm's common cases (a C-contiguous numpy array or a
// bytes-like object of a predefined type, plain ranks and tags, a predefined op) go from
// Python straight to the engine or the collectives, send from the caller's memory and
// receive, reduce or broadcast into it. Anything else (derived datatypes, message specs
// in lists, PROC_NULL, numpy integers as ranks, a bad argument of any kind) makes a
// method return FALLBACK before it has done anything, and hpxpy.comm takes its general
// path, which raises exactly the errors mpi4py raises. The wire formats are the general
// path's, so ranks taking different paths still talk to each other.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <cstring>

#include "../runtime/runtime.hpp"

namespace py = pybind11;
using namespace hpxpy;

Runtime* live_runtime();  // module.cpp: the running runtime, or null

// The cells of a meeting as core.meet returns them: bytearrays in rank order, None for one
// whose bytes did not fit (shared with module.cpp's `meet`).
py::object met_cells_list(const std::vector<Collectives::MetCell>& cells) {
    py::list out;
    for (const auto& cell : cells) {
        if (!cell.fits) {
            out.append(py::none());
            continue;
        }
        out.append(py::reinterpret_steal<py::object>(PyByteArray_FromStringAndSize(
            cell.bytes.data(), static_cast<Py_ssize_t>(cell.bytes.size()))));
    }
    return std::move(out);
}

namespace {

// What hpxpy.comm hands over once (configure()): its Status class, the truncation error's
// factory, the pickle helpers and its constants, so both sides share one definition.
struct Config {
    PyObject* fallback = nullptr;     // _core.FALLBACK: "not handled, take the general path"
    PyObject* status_type = nullptr;  // hpxpy.comm.Status
    PyObject* truncation = nullptr;   // _failures.truncation(nbytes, room) -> exception
    PyObject* in_place = nullptr;     // MPI.IN_PLACE
    PyObject* dumps = nullptr;        // _pickle.dumps(obj) -> segments
    PyObject* loads = nullptr;        // _pickle.loads(payload, offset) -> obj
    PyObject* pickle_dumps = nullptr;  // pickle.dumps
    PyObject* pickle_loads = nullptr;  // pickle.loads
    PyObject* ndarray = nullptr;       // numpy.ndarray
    PyObject* array = nullptr;         // array.array
    PyObject* mem_name = nullptr;      // "_mem"
    PyObject* core_code_name = nullptr;  // "_core_code"
    int any_source = -2, any_tag = -1;
    long tag_max = 0x7FFFFFFF;
    bool ready = false;
};
Config g;

// The p2p message header of hpxpy.comm (_p2p.HEADER: kind, then zeros), 16 bytes.
constexpr uint32_t kKindObj = 1, kKindBuf = 2;
constexpr std::size_t kHeaderSize = 16;
alignas(16) const unsigned char kBufHeader[kHeaderSize] = {kKindBuf};
alignas(16) const unsigned char kObjHeader[kHeaderSize] = {kKindObj};
constexpr uint32_t kPickleMagic = 0x504B3548;  // _pickle._MAGIC

// A Py_buffer held for one call (also stops a bytearray from resizing meanwhile).
struct View {
    Py_buffer b{};
    bool held = false;
    char kind = 0;  // the predefined type, as a buffer format character ('q' reads 'l')
    View() = default;
    View(const View&) = delete;
    View& operator=(const View&) = delete;
    ~View() {
        if (held) PyBuffer_Release(&b);
    }
    char* data() const { return static_cast<char*>(b.buf); }
    std::size_t size() const { return static_cast<std::size_t>(b.len); }
};

// The formats whose datatype the general path infers as a predefined one with the same
// item size; 'q'/'Q' are the same numpy type (and MPI datatype) as 'l'/'L' here.
char plain_kind(const char* fmt) {
    if (fmt == nullptr) return 'B';
    if (fmt[0] == '\0' || fmt[1] != '\0') return 0;
    switch (fmt[0]) {
        case 'q': return sizeof(long) == 8 ? 'l' : 0;
        case 'Q': return sizeof(long) == 8 ? 'L' : 0;
        case '?': case 'b': case 'B': case 'h': case 'H': case 'i': case 'I':
        case 'l': case 'L': case 'e': case 'f': case 'd': case 'g':
            return fmt[0];
        default: return 0;
    }
}

// numpy.ndarray once numpy is loaded, else null: hpxpy imports numpy only when it needs it
// (hpxpy/_numpy.py), and until someone has, no object can be an array.
PyObject* ndarray_type() {
    if (g.ndarray == nullptr) {
        static PyObject* name = PyUnicode_InternFromString("numpy");
        PyObject* numpy = PyImport_GetModule(name);
        if (numpy != nullptr) {
            g.ndarray = PyObject_GetAttrString(numpy, "ndarray");  // kept for the process
            Py_DECREF(numpy);
        }
        if (g.ndarray == nullptr) PyErr_Clear();
    }
    return g.ndarray;
}

// Takes the memory of a plain buffer; false (error cleared) for anything else.
bool acquire(PyObject* obj, bool writable, View& v) {
    PyTypeObject* t = Py_TYPE(obj);
    if (t != &PyBytes_Type && t != &PyByteArray_Type && t != &PyMemoryView_Type &&
        reinterpret_cast<PyObject*>(t) != g.array &&
        reinterpret_cast<PyObject*>(t) != ndarray_type())
        return false;
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, &v.b, flags) != 0) {
        PyErr_Clear();
        return false;
    }
    v.held = true;
    v.kind = plain_kind(v.b.format);
    return v.kind != 0;
}

// The C++ all_reduce's dtype code of a plain buffer (DType), or -1.
int core_dtype(const View& v) {
    switch (v.kind) {
        case 'd': return static_cast<int>(DType::f64);
        case 'f': return static_cast<int>(DType::f32);
        case 'i': case 'l':
            if (v.b.itemsize == 8) return static_cast<int>(DType::i64);
            if (v.b.itemsize == 4) return static_cast<int>(DType::i32);
            return -1;
        default: return -1;
    }
}

bool exact_int(PyObject* o, long& out) {
    if (!PyLong_CheckExact(o)) return false;
    int overflow = 0;
    long value = PyLong_AsLongAndOverflow(o, &overflow);
    if (overflow != 0 || (value == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return false;
    }
    out = value;
    return true;
}

// Status._fill(source, tag, nbytes): MPICH's layout, five C ints (count low word, count
// high bits << 1 | cancelled, source, tag, error).
void fill_status(PyObject* status, int source, int tag, std::size_t nbytes) {
    if (status == Py_None) return;
    py::object mem = py::reinterpret_steal<py::object>(PyObject_GetAttr(status, g.mem_name));
    if (!mem) throw py::error_already_set();
    Py_buffer b;
    if (PyObject_GetBuffer(mem.ptr(), &b, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) != 0)
        throw py::error_already_set();
    if (b.len >= static_cast<Py_ssize_t>(5 * sizeof(int))) {
        int fields[5];
        auto n = static_cast<uint64_t>(nbytes);
        fields[0] = static_cast<int>(static_cast<uint32_t>(n & 0xFFFFFFFFu));
        fields[1] = static_cast<int>(static_cast<uint32_t>((n >> 32) << 1));
        fields[2] = source;
        fields[3] = tag;
        fields[4] = 0;  // MPI.SUCCESS
        std::memcpy(b.buf, fields, sizeof(fields));
    }
    PyBuffer_Release(&b);
}

// `sender`: the rank whose block of a collective did not fit (-1: a point-to-point message).
[[noreturn]] void raise_truncation(std::size_t nbytes, std::size_t room, int sender = -1) {
    py::object make = py::reinterpret_borrow<py::object>(g.truncation);
    py::object exc = sender < 0 ? make(nbytes, room) : make(nbytes, room, sender);
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
    throw py::error_already_set();
}

// Two buffers that share no byte.
bool apart(const View& a, const View& b) {
    return a.data() + a.size() <= b.data() || b.data() + b.size() <= a.data();
}

// The same predefined type on both sides (the general path's checks otherwise).
bool same_kind(const View& a, const View& b) {
    return a.kind == b.kind && a.b.itemsize == b.b.itemsize;
}

py::object fallback() { return py::reinterpret_borrow<py::object>(g.fallback); }

// Waits for a posted receive with the GIL released; withdraws it if the wait fails, so
// a later message does not vanish into an abandoned receive.
void wait_released(Engine& engine, const RecvRequestPtr& req) {
    if (req->done) return;
    try {
        py::gil_scoped_release nogil;
        engine.wait(req);
    } catch (...) {
        engine.cancel(req);
        throw;
    }
}

// An object allreduce the fast path met for but leaves to the general path to finish:
// the call's tag and the cells (None: the group does not meet).
struct UnmetMeeting {
    int tag;
    py::object cells;
};

// One locality's view of a communicator: what the fast methods need, in C++.
class CommPath {
public:
    CommPath() = default;  // a null communicator's: every method falls back
    CommPath(int context, int rank, std::vector<int> members)
        : null_(false), context_(context), rank_(rank), members_(std::move(members)) {
        int top = 0;
        for (int w : members_) top = std::max(top, w + 1);
        rank_of_.assign(static_cast<std::size_t>(top), -1);
        for (std::size_t i = 0; i < members_.size(); ++i)
            rank_of_[static_cast<std::size_t>(members_[i])] = static_cast<int>(i);
        group_.context = context + 1;
        group_.rank = rank;
        group_.members = members_;
        group_.size = static_cast<int>(members_.size());
    }

    // The next collective's sequence number: equal on every member by program order.
    uint64_t next_seq() { return seq_++; }

    // Send (mode 0), Ssend (1: returns once matched) or Issend (2: returns the
    // acknowledgement's receive) of a plain buffer.
    py::object send(py::handle buf, py::handle dest, py::handle tag, int mode) {
        Runtime* rt = live_runtime();
        long d = 0, t = 0;
        if (!rt || !g.ready || null_ || !rank_ok(dest, d) || !send_tag_ok(tag, t))
            return fallback();
        View v;
        if (!acquire(buf.ptr(), false, v)) return fallback();
        std::vector<ConstBuffer> parts{{kBufHeader, kHeaderSize}, {v.data(), v.size()}};
        return post(*rt, d, t, parts, mode);
    }

    // send/ssend/issend of a Python object (pickled in band when it has no out-of-band
    // buffers; otherwise the general path's segments).
    py::object send_obj(py::handle obj, py::handle dest, py::handle tag, int mode) {
        Runtime* rt = live_runtime();
        long d = 0, t = 0;
        if (!rt || !g.ready || null_ || !rank_ok(dest, d) || !send_tag_ok(tag, t))
            return fallback();
        Segments segs;
        if (!pickle_segments(obj, segs)) return fallback();
        std::vector<ConstBuffer> parts{{kObjHeader, kHeaderSize}};
        for (const auto& view : segs.views) parts.push_back({view->data(), view->size()});
        return post(*rt, d, t, parts, mode);
    }

    // Recv into a plain buffer. `fill_on_truncate`: as Recv, record the status before
    // raising the truncation error (a request's Wait does not).
    py::object recv(py::handle buf, py::handle source, py::handle tag, py::handle status,
                    bool fill_on_truncate) {
        Runtime* rt = live_runtime();
        long s = 0, t = 0;
        if (!rt || !g.ready || null_ || !source_ok(source, s) || !recv_tag_ok(tag, t) ||
            !status_ok(status))
            return fallback();
        View v;
        if (!acquire(buf.ptr(), true, v)) return fallback();
        Engine& engine = rt->engine();
        // Named buffer: the transport writes a message that fits straight into it.
        RecvRequestPtr req = engine.post_receive_into(context_, world_source(s),
                                                      static_cast<int>(t), kHeaderSize,
                                                      v.data(), v.size());
        wait_released(engine, req);
        finish(req, v, status.ptr(), fill_on_truncate);
        return py::none();
    }

    // The receive side of Irecv: the posted receive (finish_recv completes it), or FALLBACK.
    py::object post_recv(py::handle buf, py::handle source, py::handle tag) {
        Runtime* rt = live_runtime();
        long s = 0, t = 0;
        if (!rt || !g.ready || null_ || !source_ok(source, s) || !recv_tag_ok(tag, t))
            return fallback();
        View v;
        if (!acquire(buf.ptr(), true, v)) return fallback();
        // The Request keeps `buf` until it completes, so the transport may write into it.
        return py::cast(rt->engine().post_receive_into(context_, world_source(s),
                                                       static_cast<int>(t), kHeaderSize,
                                                       v.data(), v.size()));
    }

    // Copies a matched receive's message into `buf` and fills `status` (Request.finish).
    void finish_recv(const RecvRequestPtr& req, py::handle buf, py::handle status) {
        View v;
        if (!acquire(buf.ptr(), true, v))  // cannot happen for a buffer post_recv took
            throw py::buffer_error("the receive buffer is no longer writable and contiguous");
        finish(req, v, status.ptr(), false);
    }

    // Sendrecv of plain buffers: the receive is posted first, as the general path does.
    py::object sendrecv(py::handle sendbuf, py::handle dest, py::handle sendtag,
                        py::handle recvbuf, py::handle source, py::handle recvtag,
                        py::handle status) {
        Runtime* rt = live_runtime();
        long d = 0, st = 0, s = 0, rt_tag = 0;
        if (!rt || !g.ready || null_ || !rank_ok(dest, d) || !send_tag_ok(sendtag, st) ||
            !source_ok(source, s) || !recv_tag_ok(recvtag, rt_tag) || !status_ok(status))
            return fallback();
        View out, in;
        if (!acquire(sendbuf.ptr(), false, out) || !acquire(recvbuf.ptr(), true, in))
            return fallback();
        Engine& engine = rt->engine();
        // Written in place unless the two buffers overlap (MPI forbids it; the copy keeps
        // such a program's old behaviour).
        const char* o = static_cast<const char*>(out.data());
        const char* i = static_cast<const char*>(in.data());
        const bool apart = o + out.size() <= i || i + in.size() <= o;
        RecvRequestPtr req =
            apart ? engine.post_receive_into(context_, world_source(s), static_cast<int>(rt_tag),
                                             kHeaderSize, in.data(), in.size())
                  : engine.post_receive(context_, world_source(s), static_cast<int>(rt_tag));
        try {
            std::vector<ConstBuffer> parts{{kBufHeader, kHeaderSize}, {out.data(), out.size()}};
            py::gil_scoped_release nogil;
            engine.send(members_[static_cast<std::size_t>(d)], context_, static_cast<int>(st),
                        parts);
        } catch (...) {
            engine.cancel(req);
            throw;
        }
        wait_released(engine, req);
        finish(req, in, status.ptr(), false);
        return py::none();
    }

    // Object receive: the object, or FALLBACK.
    py::object recv_obj(py::handle source, py::handle tag, py::handle status) {
        Runtime* rt = live_runtime();
        long s = 0, t = 0;
        if (!rt || !g.ready || null_ || !source_ok(source, s) || !recv_tag_ok(tag, t) ||
            !status_ok(status))
            return fallback();
        Engine& engine = rt->engine();
        RecvRequestPtr req = engine.post_receive(context_, world_source(s), static_cast<int>(t));
        wait_released(engine, req);
        const Message& m = req->message;
        const std::size_t nbytes = m.payload->size() - kHeaderSize;
        fill_status(status.ptr(), rank_of(m.source), m.tag, nbytes);
        return unpickle(m.payload, kHeaderSize);
    }

    // Allreduce (`all`) or Reduce to `root` of plain buffers of a core dtype, core op.
    py::object reduce(py::handle sendbuf, py::handle recvbuf, py::handle op, py::handle root,
                      bool all) {
        Runtime* rt = live_runtime();
        long r = -1;
        if (!rt || !g.ready || null_ || (!all && !rank_ok(root, r))) return fallback();
        const bool receives = all || r == rank_;
        long code = 0;
        py::object core_code = py::reinterpret_steal<py::object>(
            PyObject_GetAttr(op.ptr(), g.core_code_name));
        if (!core_code) {
            PyErr_Clear();
            return fallback();
        }
        if (!exact_int(core_code.ptr(), code)) return fallback();
        View in, out;
        const bool in_place = sendbuf.ptr() == g.in_place || sendbuf.is_none();
        if (receives && !acquire(recvbuf.ptr(), true, in)) return fallback();
        if (in_place) {
            if (!receives) return fallback();
        } else if (!acquire(sendbuf.ptr(), false, out) ||
                   (receives && (out.kind != in.kind || out.b.itemsize != in.b.itemsize ||
                                 out.size() != in.size()))) {
            return fallback();
        }
        const View& value = in_place ? in : out;
        const int dtype = core_dtype(value);
        if (dtype < 0) return fallback();
        ArrayRef ref;
        ref.dtype = static_cast<uint32_t>(dtype);
        ref.shape = {static_cast<int64_t>(value.size() / static_cast<std::size_t>(value.b.itemsize))};
        ref.segments = {{value.data(), value.size()}};
        ref.nbytes = value.size();
        const int tag = collective_tag(next_seq());
        Item item;
        {
            py::gil_scoped_release nogil;
            // A large reduction works in the receive buffer itself (no copy out after).
            item = rt->collectives().all_reduce(group_, ref, static_cast<uint32_t>(code), tag,
                                                Failure{}, /*meet=*/true,
                                                receives ? in.data() : nullptr);
        }
        if (receives) {
            const char* result = item.data ? item.data : value.data();
            if (result != in.data()) std::memcpy(in.data(), result, in.size());
        }
        return py::none();
    }

    // Bcast of a plain buffer (the root's into every rank's).
    py::object bcast(py::handle buf, py::handle root) {
        Runtime* rt = live_runtime();
        long r = 0;
        if (!rt || !g.ready || null_ || !rank_ok(root, r)) return fallback();
        const bool is_root = r == rank_;
        View v;
        if (!acquire(buf.ptr(), !is_root, v)) return fallback();
        ArrayRef ref;
        if (is_root) {
            ref.dtype = kRawItem;
            ref.segments = {{v.data(), v.size()}};
            ref.nbytes = v.size();
            ref.shape = {static_cast<int64_t>(v.size())};
        }
        const int tag = collective_tag(next_seq());
        Item item;
        {
            py::gil_scoped_release nogil;
            item = rt->collectives().broadcast(group_, ref, static_cast<int>(r), tag, Failure{},
                                               is_root ? nullptr : static_cast<char*>(v.data()),
                                               v.size());
        }
        if (item.owner) {  // (null: the root, or written in place)
            const auto got = static_cast<std::size_t>(item.header.nbytes);
            if (got > v.size()) raise_truncation(got, v.size());
            std::memcpy(v.data(), item.data, got);
        }
        return py::none();
    }

    // Gather (`all`: Allgather) of equal blocks of plain buffers into the root's (every
    // rank's) receive buffer, in rank order; IN_PLACE where the receiving rank's block
    // already sits in its place.
    py::object gather(py::handle sendbuf, py::handle recvbuf, py::handle root, bool all) {
        Runtime* rt = live_runtime();
        long r = -1;
        if (!rt || !g.ready || null_ || (!all && !rank_ok(root, r))) return fallback();
        const bool receives = all || r == rank_;
        const bool in_place = sendbuf.ptr() == g.in_place || sendbuf.is_none();
        View in, out;
        if (receives && !acquire(recvbuf.ptr(), true, in)) return fallback();
        if (in_place ? !receives : !acquire(sendbuf.ptr(), false, out)) return fallback();
        const auto n = static_cast<std::size_t>(size());
        const auto me = static_cast<std::size_t>(rank_);
        std::size_t block = out.size();
        if (receives) {
            if (in.size() % n != 0) return fallback();
            block = in.size() / n;
            if (!in_place && (!same_kind(in, out) || out.size() != block || !apart(in, out)))
                return fallback();
        }
        char* own = in_place ? in.data() + me * block : out.data();
        std::vector<RecvBlock> places;
        if (receives) {
            for (std::size_t i = 0; i < n; ++i) places.push_back({in.data() + i * block, block});
            if (!in_place) std::memcpy(places[me].data, own, block);
        }
        const int tag = collective_tag(next_seq());
        std::vector<std::size_t> got;
        {
            py::gil_scoped_release nogil;
            Collectives& c = rt->collectives();
            // ⌈log2 n⌉ rounds: Allgather (Bruck), small Gather (binomial tree), as the
            // general path's equal-block forms do (the two meet on the wire).
            got = all ? c.allgather_blocks(group_, in.data(), block, tag, /*meet=*/true)
                      : c.gather_blocks(group_, {own, block}, places, static_cast<int>(r), tag,
                                        /*equal=*/true, /*meet=*/true);
        }
        check_blocks(got, block);
        return py::none();
    }

    // Scatter of equal blocks of the root's plain buffer (IN_PLACE: the root's block
    // stays in the send buffer).
    py::object scatter(py::handle sendbuf, py::handle recvbuf, py::handle root) {
        Runtime* rt = live_runtime();
        long r = 0;
        if (!rt || !g.ready || null_ || !rank_ok(root, r)) return fallback();
        const bool is_root = r == rank_;
        const bool in_place = recvbuf.ptr() == g.in_place || recvbuf.is_none();
        View in, out;
        if (in_place ? !is_root : !acquire(recvbuf.ptr(), true, in)) return fallback();
        const auto n = static_cast<std::size_t>(size());
        std::vector<ArrayRef> blocks;
        if (is_root) {
            if (!acquire(sendbuf.ptr(), false, out) || out.size() % n != 0) return fallback();
            const std::size_t block = out.size() / n;
            if (!in_place && (!same_kind(in, out) || in.size() != block || !apart(in, out)))
                return fallback();
            for (std::size_t i = 0; i < n; ++i) {
                ArrayRef ref;
                ref.dtype = kRawItem;
                ref.shape = {static_cast<int64_t>(block)};
                ref.segments = {{out.data() + i * block, block}};
                ref.nbytes = block;
                blocks.push_back(std::move(ref));
            }
        }
        const int tag = collective_tag(next_seq());
        Item item;
        {
            py::gil_scoped_release nogil;
            item = rt->collectives().scatter(group_, blocks, static_cast<int>(r), tag, Failure{});
        }
        if (in_place) return py::none();
        if (is_root) {
            std::memcpy(in.data(), blocks[static_cast<std::size_t>(rank_)].data(), in.size());
        } else {
            const auto got = static_cast<std::size_t>(item.header.nbytes);
            if (got > in.size()) raise_truncation(got, in.size(), static_cast<int>(r));
            std::memcpy(in.data(), item.data, got);
        }
        return py::none();
    }

    // Alltoall of equal blocks of plain buffers: block j of ours goes to rank j, rank
    // j's block for us into block j.
    py::object alltoall(py::handle sendbuf, py::handle recvbuf) {
        Runtime* rt = live_runtime();
        if (!rt || !g.ready || null_) return fallback();
        View in, out;
        if (!acquire(sendbuf.ptr(), false, out) || !acquire(recvbuf.ptr(), true, in) ||
            !same_kind(in, out) || in.size() != out.size() || !apart(in, out))
            return fallback();
        const auto n = static_cast<std::size_t>(size());
        if (in.size() % n != 0) return fallback();
        const std::size_t block = in.size() / n;
        std::vector<ConstBuffer> sends;
        std::vector<RecvBlock> places;
        for (std::size_t i = 0; i < n; ++i) {
            sends.push_back({out.data() + i * block, block});
            places.push_back({in.data() + i * block, block});
        }
        const auto me = static_cast<std::size_t>(rank_);
        std::memcpy(places[me].data, sends[me].data, block);
        const int tag = collective_tag(next_seq());
        std::vector<std::size_t> got;
        {
            py::gil_scoped_release nogil;
            got = rt->collectives().exchange(group_, sends, places, tag, /*equal=*/true,
                                             /*meet=*/true);
        }
        check_blocks(got, block);
        return py::none();
    }

    py::object barrier() {
        Runtime* rt = live_runtime();
        if (!rt || !g.ready || null_) return fallback();
        const int tag = collective_tag(next_seq());
        py::gil_scoped_release nogil;
        rt->collectives().barrier(group_, "", tag, /*meet=*/true);
        return py::none();
    }

    // Object bcast: the root's object on every rank (the root too gets a copy).
    py::object bcast_obj(py::handle obj, py::handle root) {
        Runtime* rt = live_runtime();
        long r = 0;
        if (!rt || !g.ready || null_ || !rank_ok(root, r)) return fallback();
        Segments segs;
        ArrayRef ref;
        if (r == rank_) {
            if (!pickle_segments(obj, segs)) return fallback();  // the general path raises
            ref.dtype = kObjectItem;
            for (const auto& view : segs.views) {
                ref.segments.push_back({view->data(), view->size()});
                ref.nbytes += view->size();
            }
            ref.shape = {static_cast<int64_t>(ref.nbytes)};
        }
        const int tag = collective_tag(next_seq());
        Item item;
        {
            py::gil_scoped_release nogil;
            item = rt->collectives().broadcast(group_, ref, static_cast<int>(r), tag, Failure{});
        }
        if (item.owner)
            return unpickle(item.owner, static_cast<std::size_t>(item.data - item.owner->data()));
        // The root: a copy of its own object, read back from what it sent.
        auto joined = std::make_shared<Payload>(ref.nbytes);
        std::size_t at = 0;
        for (const ConstBuffer& part : ref.segments) {
            std::memcpy(joined->data() + at, part.data, part.size);
            at += part.size;
        }
        return unpickle(joined, 0);
    }

    // Object allreduce with a predefined op (the general path's _objcoll.allreduce, its
    // wire format and its fold order): pickle, one meeting, unpickle every cell and fold,
    // in this one call. What only the general path does (the group does not meet, a
    // member's pickle did not fit a cell or holds buffers, a member reports an error)
    // comes back as an UnmetMeeting for _objcoll.finish_allreduce, after the meeting.
    py::object allreduce_obj(py::handle obj, py::handle op) {
        Runtime* rt = live_runtime();
        if (!rt || !g.ready || null_ || size() < 2) return fallback();
        py::object fold = predefined_function(op);
        if (!fold) return fallback();
        Segments segs;
        if (!pickle_segments(obj, segs)) return fallback();  // the general path raises
        // The cell: _objcoll._RD_HEAD (status 0, the call word at byte 20), the pickle.
        alignas(16) char blob[Collectives::kMeetBytes];
        constexpr std::size_t kRdHead = 32;
        std::size_t total = kRdHead;
        for (const auto& view : segs.views) total += view->size();
        if (total > sizeof blob) return fallback();  // the general path sends "too big"
        std::memset(blob, 0, kRdHead);
        const uint32_t word = call_word(CallKind::object_all_reduce);
        std::memcpy(blob + kCallOffset, &word, sizeof word);
        std::size_t at = kRdHead;
        for (const auto& view : segs.views) {
            std::memcpy(blob + at, view->data(), view->size());
            at += view->size();
        }
        const int tag = collective_tag(next_seq());
        std::vector<Collectives::MetCell> cells;
        bool met;
        {
            py::gil_scoped_release nogil;
            met = rt->collectives().meet(group_, tag, blob, total, cells);
        }
        if (!met) return py::cast(UnmetMeeting{tag, py::none()});
        std::vector<py::object> values;
        for (const auto& cell : cells) {
            py::object value = cell.fits ? plain_unpickle(cell.bytes, kRdHead) : py::object();
            if (!value) return py::cast(UnmetMeeting{tag, met_cells_list(cells)});
            values.push_back(std::move(value));
        }
        // _objcoll._tree_fold: the first 2 * rem pairwise, then a balanced tree.
        std::size_t p2 = 1;
        while (p2 * 2 <= values.size()) p2 *= 2;
        const std::size_t rem = values.size() - p2;
        auto combine = [&](const py::object& a, const py::object& b) {
            PyObject* out = PyObject_CallFunctionObjArgs(fold.ptr(), a.ptr(), b.ptr(), nullptr);
            if (out == nullptr) throw py::error_already_set();
            return py::reinterpret_steal<py::object>(out);
        };
        std::vector<py::object> level;
        for (std::size_t i = 0; i < rem; ++i)
            level.push_back(combine(values[2 * i], values[2 * i + 1]));
        for (std::size_t i = 2 * rem; i < values.size(); ++i) level.push_back(values[i]);
        while (level.size() > 1) {
            std::vector<py::object> next;
            for (std::size_t j = 0; j + 1 < level.size(); j += 2)
                next.push_back(combine(level[j], level[j + 1]));
            level = std::move(next);
        }
        return level[0];
    }

    int rank() const { return rank_; }
    int context() const { return context_; }

private:
    // A pickled object as the general path's segments (_pickle.dumps), kept alive here.
    struct Segments {
        py::object head;  // in-band: the 16-byte _pickle header + the pickle, one bytes
        py::object list;  // otherwise: _pickle.dumps(obj)
        std::vector<std::unique_ptr<View>> views;
    };

    // False (error cleared) if pickling fails: the general path raises it its way.
    bool pickle_segments(py::handle obj, Segments& segs) {
        PyObject* list = PyObject_CallOneArg(g.dumps, obj.ptr());
        if (list == nullptr) {
            PyErr_Clear();
            return false;
        }
        segs.list = py::reinterpret_steal<py::object>(list);
        for (const py::handle part : segs.list) {
            auto view = std::make_unique<View>();
            if (PyObject_GetBuffer(part.ptr(), &view->b, PyBUF_C_CONTIGUOUS) != 0)
                throw py::error_already_set();
            view->held = true;
            segs.views.push_back(std::move(view));
        }
        return true;
    }

    // A predefined op's own function (Op._obj; _user None), or null (not one).
    static py::object predefined_function(py::handle op) {
        static PyObject* user_name = PyUnicode_InternFromString("_user");
        static PyObject* obj_name = PyUnicode_InternFromString("_obj");
        PyObject* user = PyObject_GetAttr(op.ptr(), user_name);
        if (user == nullptr) {
            PyErr_Clear();
            return py::object();
        }
        const bool predefined = user == Py_None;
        Py_DECREF(user);
        if (!predefined) return py::object();
        PyObject* fn = PyObject_GetAttr(op.ptr(), obj_name);
        if (fn == nullptr) PyErr_Clear();
        if (fn == Py_None || (fn != nullptr && !PyCallable_Check(fn))) Py_CLEAR(fn);
        return py::reinterpret_steal<py::object>(fn);
    }

    // The value of a meeting cell whose status is 0 and whose pickle (after `offset`)
    // holds no out-of-band buffer; null otherwise (the general path reads it).
    static py::object plain_unpickle(const std::string& cell, std::size_t offset) {
        uint32_t status = 0, magic = 0, count = 0;
        uint64_t size = 0;
        if (cell.size() < offset + 16) return py::object();
        std::memcpy(&status, cell.data(), 4);
        std::memcpy(&magic, cell.data() + offset, 4);
        std::memcpy(&count, cell.data() + offset + 4, 4);
        std::memcpy(&size, cell.data() + offset + 8, 8);
        if (status != 0 || magic != kPickleMagic || count != 0 || offset + 16 + size > cell.size())
            return py::object();
        return call_pickle_loads(cell.data() + offset + 16, static_cast<std::size_t>(size));
    }

    // The object in a received payload from `offset` (the general path's rules: an
    // object message is unpickled, an empty buffer message is None, other bytes are
    // unpickled as they are, as mpi4py does).
    py::object unpickle(const PayloadPtr& payload, std::size_t offset) {
        const char* data = payload->data();
        uint32_t kind = 0;
        if (offset == kHeaderSize) std::memcpy(&kind, data, sizeof(kind));
        const std::size_t nbytes = payload->size() - offset;
        if (offset == kHeaderSize && kind != kKindObj) {
            if (nbytes == 0) return py::none();
            return call_pickle_loads(data + offset, nbytes);
        }
        // _pickle's layout: <IIQ magic, buffer count, pickle length>, padded to 16.
        uint32_t magic = 0, count = 0;
        uint64_t size = 0;
        if (nbytes >= 16) {
            std::memcpy(&magic, data + offset, 4);
            std::memcpy(&count, data + offset + 4, 4);
            std::memcpy(&size, data + offset + 8, 8);
        }
        if (magic == kPickleMagic && count == 0 && 16 + size <= nbytes)
            return call_pickle_loads(data + offset + 16, static_cast<std::size_t>(size));
        // Out-of-band buffers view the payload: the general loader keeps it alive.
        return py::reinterpret_borrow<py::object>(g.loads)(py::cast(payload), offset);
    }

    static py::object call_pickle_loads(const char* data, std::size_t size) {
        // pickle copies everything out of an in-band pickle, so a view of our memory is
        // enough for the call; it is released before the payload can go.
        py::object view = py::reinterpret_steal<py::object>(PyMemoryView_FromMemory(
            const_cast<char*>(data), static_cast<Py_ssize_t>(size), PyBUF_READ));
        if (!view) throw py::error_already_set();
        PyObject* obj = PyObject_CallOneArg(g.pickle_loads, view.ptr());
        // Releasing calls into Python: keep the unpickling error (if any) aside meanwhile.
        PyObject *type = nullptr, *value = nullptr, *trace = nullptr;
        PyErr_Fetch(&type, &value, &trace);
        PyObject* released = PyObject_CallMethod(view.ptr(), "release", nullptr);
        if (released == nullptr) PyErr_Clear();  // an export still open: cannot happen here
        Py_XDECREF(released);
        PyErr_Restore(type, value, trace);
        if (obj == nullptr) throw py::error_already_set();
        return py::reinterpret_steal<py::object>(obj);
    }

    py::object post(Runtime& rt, long dest, long tag, const std::vector<ConstBuffer>& parts,
                    int mode) {
        Engine& engine = rt.engine();
        const int world = members_[static_cast<std::size_t>(dest)];
        RecvRequestPtr ack;
        {
            py::gil_scoped_release nogil;
            if (mode == 0) {
                engine.send(world, context_, static_cast<int>(tag), parts);
            } else {
                ack = engine.send_sync(world, context_, static_cast<int>(tag), parts);
                if (mode == 1) engine.wait(ack);
            }
        }
        if (mode == 2) return py::cast(ack);
        return py::none();
    }

    // A completed receive of a plain buffer: written in place already (direct), or copied
    // from its payload now.
    void finish(const RecvRequestPtr& req, View& v, PyObject* status, bool fill_on_truncate) {
        if (req->direct)
            fill_status(status, rank_of(req->message.source), req->message.tag,
                        req->size - kHeaderSize);
        else
            complete(req->message, v, status, fill_on_truncate);
    }

    // A received buffer message into `v` (truncation raises MPI.ERR_TRUNCATE).
    void complete(const Message& m, View& v, PyObject* status, bool fill_on_truncate) {
        const std::size_t nbytes = m.payload->size() - kHeaderSize;
        const int source = rank_of(m.source);
        if (nbytes > v.size()) {
            if (fill_on_truncate) fill_status(status, source, m.tag, v.size());
            raise_truncation(nbytes, v.size());
        }
        if (nbytes >= (1u << 16)) {
            py::gil_scoped_release nogil;
            std::memcpy(v.data(), m.payload->data() + kHeaderSize, nbytes);
        } else if (nbytes) {
            std::memcpy(v.data(), m.payload->data() + kHeaderSize, nbytes);
        }
        fill_status(status, source, m.tag, nbytes);
    }

    // The truncation error for the first block (of another rank) that did not fit.
    void check_blocks(const std::vector<std::size_t>& got, std::size_t room) const {
        for (std::size_t i = 0; i < got.size(); ++i)
            if (static_cast<int>(i) != rank_ && got[i] > room)
                raise_truncation(got[i], room, static_cast<int>(i));
    }

    int size() const { return static_cast<int>(members_.size()); }
    int rank_of(int world) const {
        return world >= 0 && static_cast<std::size_t>(world) < rank_of_.size() &&
                       rank_of_[static_cast<std::size_t>(world)] >= 0
                   ? rank_of_[static_cast<std::size_t>(world)]
                   : world;
    }
    int world_source(long s) const {
        return s == g.any_source ? kAnySource : members_[static_cast<std::size_t>(s)];
    }
    static int collective_tag(uint64_t seq) {
        return static_cast<int>((seq * 8) & 0x7FFFFFFFu);
    }
    bool rank_ok(py::handle o, long& out) const {
        return exact_int(o.ptr(), out) && out >= 0 && out < size();
    }
    bool source_ok(py::handle o, long& out) const {
        return exact_int(o.ptr(), out) && (out == g.any_source || (out >= 0 && out < size()));
    }
    static bool send_tag_ok(py::handle o, long& out) {
        return exact_int(o.ptr(), out) && out >= 0 && out <= g.tag_max;
    }
    static bool recv_tag_ok(py::handle o, long& out) {
        return exact_int(o.ptr(), out) &&
               (out == g.any_tag || (out >= 0 && out <= g.tag_max));
    }
    static bool status_ok(py::handle status) {
        return status.is_none() ||
               reinterpret_cast<PyObject*>(Py_TYPE(status.ptr())) == g.status_type;
    }

    bool null_ = true;
    int context_ = 0;  // point to point; the collectives use context_ + 1 (group_)
    int rank_ = -1;
    std::vector<int> members_;
    std::vector<int> rank_of_;  // world rank -> rank (-1: not a member)
    Group group_;
    uint64_t seq_ = 0;
};

PyObject* keep(py::handle obj) { return obj.inc_ref().ptr(); }

}  // namespace

void register_fastpath(py::module_& m) {
    // A private type: its one instance cannot come back from pickle as itself.
    struct FallbackTag {};
    py::class_<FallbackTag>(m, "_Fallback");
    g.fallback = keep(py::cast(FallbackTag{}));
    m.attr("FALLBACK") = py::reinterpret_borrow<py::object>(g.fallback);

    m.def(
        "configure_fastpath",
        [](py::handle status_type, py::handle truncation, py::handle in_place, py::handle dumps,
           py::handle loads, int any_source, int any_tag, long tag_max) {
            g.status_type = keep(status_type);
            g.truncation = keep(truncation);
            g.in_place = keep(in_place);
            g.dumps = keep(dumps);
            g.loads = keep(loads);
            py::module_ pickle = py::module_::import("pickle");
            g.pickle_dumps = keep(pickle.attr("dumps"));
            g.pickle_loads = keep(pickle.attr("loads"));
            g.array = keep(py::module_::import("array").attr("array"));
            g.mem_name = keep(py::str("_mem"));
            g.core_code_name = keep(py::str("_core_code"));
            g.any_source = any_source;
            g.any_tag = any_tag;
            g.tag_max = tag_max;
            g.ready = true;
        },
        "hpxpy.comm hands over what the fast paths share with it (once, at import)");

    py::class_<CommPath>(m, "CommPath",
                         "A communicator's fast paths: one C++ call per MPI call in the common "
                         "case; every method returns FALLBACK when the general path must run")
        .def(py::init<>())
        .def(py::init<int, int, std::vector<int>>(), py::arg("context"), py::arg("rank"),
             py::arg("members"))
        .def("next_seq", &CommPath::next_seq)
        .def("send", &CommPath::send)
        .def("send_obj", &CommPath::send_obj)
        .def("recv", &CommPath::recv)
        .def("post_recv", &CommPath::post_recv)
        .def("finish_recv", &CommPath::finish_recv)
        .def("sendrecv", &CommPath::sendrecv)
        .def("recv_obj", &CommPath::recv_obj)
        .def("reduce", &CommPath::reduce)
        .def("bcast", &CommPath::bcast)
        .def("gather", &CommPath::gather)
        .def("scatter", &CommPath::scatter)
        .def("alltoall", &CommPath::alltoall)
        .def("barrier", &CommPath::barrier)
        .def("bcast_obj", &CommPath::bcast_obj)
        .def("allreduce_obj", &CommPath::allreduce_obj);
    py::class_<UnmetMeeting>(m, "UnmetMeeting",
                             "An object allreduce's meeting for the general path to finish")
        .def_readonly("tag", &UnmetMeeting::tag)
        .def_readonly("cells", &UnmetMeeting::cells);
}
