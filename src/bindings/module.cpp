// Thin pybind11 layer: converts arguments, releases the GIL around every blocking call,
// and maps core errors to Python exceptions. No algorithm lives here.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <tuple>

#include "../parcelport/mpi/library.hpp"
#include "../runtime/runtime.hpp"

namespace py = pybind11;
using namespace hpxpy;

void register_arrays(py::module_& m);    // src/bindings/arrays.cpp
void register_fastpath(py::module_& m);  // src/bindings/fastpath.cpp
py::object met_cells_list(const std::vector<hpxpy::Collectives::MetCell>& cells);  // fastpath.cpp

namespace {
Runtime* g_live = nullptr;  // the running runtime (fastpath.cpp's calls need no lookup)

// Forgets the runtime as the live one when Python drops it.
struct RuntimeDeleter {
    void operator()(Runtime* r) const {
        if (g_live == r) g_live = nullptr;
        delete r;
    }
};
using RuntimeHolder = std::unique_ptr<Runtime, RuntimeDeleter>;
}  // namespace

Runtime* live_runtime() { return g_live; }

namespace {
struct HostMemory {
    py::object owner;  // keeps the memory alive
    std::uintptr_t address = 0;
    py::ssize_t size = 0;
    bool readonly = false;
    bool device = false;
};
}  // namespace

namespace {

PyObject* g_locality_error = nullptr;  // hpxpy._core.LocalityError
PyObject* g_pickling_error = nullptr;  // pickle.PicklingError
// hpxpy's collective mismatch error (set from Python: _set_mismatch_error), built with the
// message and the failed collective's context so it can name the communicator.
PyObject* g_mismatch_error = nullptr;

PyObject* exception_of(Status status) {
    switch (status) {
        case Status::type_error: return PyExc_TypeError;
        case Status::pickling_error: return g_pickling_error;
        case Status::attribute_error: return PyExc_AttributeError;
        default: return PyExc_ValueError;
    }
}

// The core runtime (src/runtime/) plus what only Python needs: Ctrl-C checks under the
// GIL and a message when a peer aborts the job.
// `parcelport`: the transports to run, in priority order, comma-separated ("shm,tcp").
RuntimeHolder make_runtime(int self, int size, std::vector<int> fds, int spin_us,
                           const std::string& parcelport,
                           std::shared_ptr<shm::Segment> shm_segment,
                           const std::vector<std::tuple<int, int, std::size_t>>& shm_peers) {
    RuntimeConfig config;
    config.self = self;
    config.size = size;
    config.spin_us = spin_us;
    std::size_t start = 0;
    while (size > 1 && start <= parcelport.size()) {
        std::size_t comma = parcelport.find(',', start);
        if (comma == std::string::npos) comma = parcelport.size();
        TransportConfig t;
        t.name = parcelport.substr(start, comma - start);
        if (t.name == "tcp") t.fds = fds;
        if (t.name == "shm") {
            t.segment = shm_segment;
            for (const auto& [pid, fd, bytes] : shm_peers) t.peers.push_back({pid, fd, bytes});
        }
        config.transports.push_back(std::move(t));
        start = comma + 1;
    }
    RuntimeHolder runtime(new Runtime(std::move(config)));
    // A peer called Abort: say so, then end with its status (as MPI_Abort does).
    runtime->engine().set_abort_handler([self](int locality, int code) {
        std::fprintf(stderr, "hpxpy: locality %d aborted the job with status %d; "
                             "locality %d exits\n", locality, code, self);
        std::fflush(stderr);
    });
    // Blocked waits call this every ~100 ms: lets Ctrl-C (SIGINT) through.
    runtime->engine().set_interrupt_check([] {
        py::gil_scoped_acquire gil;
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    });
    g_live = runtime.get();
    return runtime;
}

Failure to_failure(int status, const std::string& text) {
    return {static_cast<Status>(status), text};
}

// Keeps the Python buffers of one call alive (and locked) until the call returns.
using Views = std::vector<std::unique_ptr<py::buffer_info>>;

ConstBuffer view_of(const py::handle& obj, Views& views) {
    views.push_back(std::make_unique<py::buffer_info>(py::reinterpret_borrow<py::buffer>(obj).request()));
    const py::buffer_info& info = *views.back();
    return {info.ptr, static_cast<std::size_t>(info.size * info.itemsize)};
}

std::vector<ConstBuffer> parts_of(const py::list& buffers, Views& views) {
    std::vector<ConstBuffer> parts;
    for (const py::handle& b : buffers) parts.push_back(view_of(b, views));
    return parts;
}

// The places of a raw-block collective's blocks in one writable buffer (`offsets` and
// `capacities` in bytes, one per member).
std::vector<RecvBlock> blocks_of(const py::handle& buffer, const std::vector<std::size_t>& offsets,
                                 const std::vector<std::size_t>& capacities, Views& views) {
    if (offsets.size() != capacities.size())
        throw py::value_error("offsets and capacities differ in length");
    std::vector<RecvBlock> blocks(offsets.size());
    if (offsets.empty()) return blocks;
    views.push_back(std::make_unique<py::buffer_info>(
        py::reinterpret_borrow<py::buffer>(buffer).request(true)));
    const py::buffer_info& info = *views.back();
    const auto size = static_cast<std::size_t>(info.size * info.itemsize);
    for (std::size_t i = 0; i < offsets.size(); ++i) {
        if (offsets[i] > size || capacities[i] > size - offsets[i])
            throw py::value_error("a block lies outside the receive buffer");
        blocks[i] = {static_cast<char*>(info.ptr) + offsets[i], capacities[i]};
    }
    return blocks;
}

// None (nothing), a C-contiguous numpy array (one segment, its shape), or a list of
// buffer objects sent back to back (shape: the total byte count).
ArrayRef to_ref(const py::handle& obj, uint32_t dtype, Views& views) {
    ArrayRef ref;
    if (obj.is_none()) return ref;
    ref.dtype = dtype;
    if (py::isinstance<py::list>(obj) || py::isinstance<py::tuple>(obj)) {
        for (const py::handle& part : obj) {
            ref.segments.push_back(view_of(part, views));
            ref.nbytes += ref.segments.back().size;
        }
        ref.shape = {static_cast<int64_t>(ref.nbytes)};
        return ref;
    }
    auto arr = py::reinterpret_borrow<py::array>(obj);
    for (py::ssize_t i = 0; i < arr.ndim(); ++i) ref.shape.push_back(arr.shape(i));
    ref.segments.push_back({arr.data(), static_cast<std::size_t>(arr.nbytes())});
    ref.nbytes = ref.segments.back().size;
    return ref;
}

// Results go to Python as struct sequences: named fields (item.payload, item.offset) that
// still unpack like the tuples they are, at the cost of a tuple.
PyTypeObject* g_item_type = nullptr;          // _core.Item
PyTypeObject* g_message_type = nullptr;       // _core.Message
PyTypeObject* g_message_info_type = nullptr;  // _core.MessageInfo

PyStructSequence_Field g_item_fields[] = {
    {"dtype", "dtype code (DTYPE_CODES) or item label (ITEM_RAW, ITEM_OBJECT)"},
    {"shape", "the sender's array shape (raw items: the byte count)"},
    {"payload", "the received message (buffer protocol; keep it to keep the bytes)"},
    {"offset", "where this item's bytes start in the payload"},
    {"nbytes", "how many bytes the item has"},
    {nullptr, nullptr}};
PyStructSequence_Desc g_item_desc = {
    "hpxpy._core.Item", "One locality's data in a collective's result, viewed in place",
    g_item_fields, 5};

PyStructSequence_Field g_message_fields[] = {
    {"source", "the sending locality"},
    {"tag", "the message's tag"},
    {"payload", "the message's bytes (buffer protocol)"},
    {nullptr, nullptr}};
PyStructSequence_Desc g_message_desc = {"hpxpy._core.Message", "A received message",
                                        g_message_fields, 3};

PyStructSequence_Field g_message_info_fields[] = {
    {"source", "the sending locality"},
    {"tag", "the message's tag"},
    {"size", "the message's size in bytes"},
    {nullptr, nullptr}};
PyStructSequence_Desc g_message_info_desc = {
    "hpxpy._core.MessageInfo", "A waiting message, seen by probe without receiving it",
    g_message_info_fields, 3};

PyTypeObject* new_struct_type(PyStructSequence_Desc* desc) {
    PyTypeObject* type = PyStructSequence_NewType(desc);
    if (type == nullptr) throw py::error_already_set();
    return type;
}

py::object make_struct(PyTypeObject* type, std::initializer_list<py::object> fields) {
    PyObject* obj = PyStructSequence_New(type);
    if (obj == nullptr) throw py::error_already_set();
    Py_ssize_t i = 0;
    for (const py::object& field : fields)
        PyStructSequence_SetItem(obj, i++, field.inc_ref().ptr());  // steals the reference
    return py::reinterpret_steal<py::object>(obj);
}

// An Item for Python to view without copying; None for an item that is the caller's own
// input.
py::object item_to_python(const Item& item) {
    if (!item.owner) return py::none();
    py::tuple shape(item.header.ndim);
    for (uint32_t i = 0; i < item.header.ndim; ++i) shape[i] = item.header.shape[i];
    auto offset = static_cast<std::size_t>(item.data - item.owner->data());
    return make_struct(g_item_type, {py::int_(item.header.dtype), shape, py::cast(item.owner),
                                     py::int_(offset), py::int_(item.header.nbytes)});
}

// A buffer the core may write into: writable and C-contiguous, else BufferError.
py::buffer_info writable_contiguous(const py::buffer& buffer) {
    py::buffer_info info = buffer.request(true);
    py::ssize_t expected = info.itemsize;
    for (py::ssize_t i = info.ndim - 1; i >= 0; --i) {
        const auto d = static_cast<std::size_t>(i);
        if (info.shape[d] != 1 && info.strides[d] != expected) {
            PyErr_SetString(PyExc_BufferError, "receive buffer must be C-contiguous");
            throw py::error_already_set();
        }
        expected *= info.shape[d];
    }
    return info;
}

// Base of MPI.BOTTOM, MPI.IN_PLACE and MPI.BUFFER_AUTOMATIC (hpxpy/comm/_constants.py): as
// mpi4py's, they export an empty buffer that belongs to no object (memoryview(c).obj is
// None), which Python classes cannot do, and pybind11's buffers always name their owner.
int empty_buffer_get(PyObject*, Py_buffer* view, int flags) {
    return PyBuffer_FillInfo(view, nullptr, nullptr, 0, 0, flags);
}

PyObject* make_empty_buffer_type() {
    static PyType_Slot slots[] = {
        {Py_bf_getbuffer, reinterpret_cast<void*>(&empty_buffer_get)},
        {Py_tp_doc, const_cast<char*>("An empty buffer that belongs to no object")},
        {0, nullptr}};
    static PyType_Spec spec = {"hpxpy._core.EmptyBuffer", sizeof(PyObject), 0,
                               Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, slots};
    return PyType_FromSpec(&spec);
}

py::object message_to_python(Message& m) {
    return make_struct(g_message_type, {py::int_(m.source), py::int_(m.tag),
                                        py::cast(m.payload)});
}

py::object message_info_to_python(const MessageInfo& info) {
    return make_struct(g_message_info_type, {py::int_(info.source), py::int_(info.tag),
                                             py::int_(info.size)});
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "hpxpy's C++ runtime core: parcelport, matching engine, collectives";

    static py::exception<LocalityLost> locality_error(m, "LocalityError", PyExc_RuntimeError);
    g_locality_error = locality_error.ptr();
    g_pickling_error = py::object(py::module_::import("pickle").attr("PicklingError")).release().ptr();
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const LocalityLost& e) {
            py::object err = py::reinterpret_borrow<py::object>(g_locality_error)(e.what());
            err.attr("locality") = e.locality();
            PyErr_SetObject(g_locality_error, err.ptr());
        } catch (const CollectiveError& e) {
            if (e.status() == Status::mismatch && g_mismatch_error) {
                PyObject* err = PyObject_CallFunction(g_mismatch_error, "si", e.what(), e.context());
                if (err) {  // else the constructor's own error is set
                    PyErr_SetObject(g_mismatch_error, err);
                    Py_DECREF(err);
                }
                return;
            }
            PyErr_SetString(exception_of(e.status()), e.what());
        }
    });

    py::class_<Payload, PayloadPtr>(m, "Payload", py::buffer_protocol(),
                                    "Bytes of one received message (viewed by numpy, not copied)")
        .def_buffer([](Payload& p) {
            return py::buffer_info(p.data(), 1, py::format_descriptor<uint8_t>::format(), 1,
                                   {static_cast<py::ssize_t>(p.size())}, {1});
        })
        .def("__len__", &Payload::size);

    // MPI.buffer's base: Python classes can only export the buffer protocol from 3.12 on,
    // and mpi4py code does np.frombuffer(MPI.Alloc_mem(n)).
    py::class_<HostMemory>(m, "HostMemory", py::buffer_protocol(),
                           "Bytes at an address, kept alive by their owner")
        .def(py::init<>())
        .def("_bind", [](HostMemory& h, py::object owner, std::uintptr_t address,
                         py::ssize_t size, bool readonly, bool device) {
            h.owner = std::move(owner);
            h.address = address;
            h.size = size;
            h.readonly = readonly;
            h.device = device;
        })
        .def_buffer([](HostMemory& h) {
            if (h.device) throw py::buffer_error("buffer: device memory cannot be accessed "
                                                 "from the host");
            static char empty = 0;  // a valid pointer for zero bytes
            void* ptr = h.address ? reinterpret_cast<void*>(h.address) : &empty;
            return py::buffer_info(ptr, 1, py::format_descriptor<uint8_t>::format(), 1,
                                   {h.size}, {1}, h.readonly);
        });

    PyObject* empty_buffer = make_empty_buffer_type();
    if (empty_buffer == nullptr) throw py::error_already_set();
    m.attr("EmptyBuffer") = py::reinterpret_steal<py::object>(empty_buffer);

    py::class_<Group>(m, "Group", "Localities taking part in a collective, and their context")
        .def(py::init([](int context, int rank, std::vector<int> members, int size) {
                 Group g;
                 g.context = context;
                 g.rank = rank;
                 g.members = std::move(members);
                 g.size = g.members.empty() ? size : static_cast<int>(g.members.size());
                 return g;
             }),
             py::arg("context"), py::arg("rank"), py::arg("members"), py::arg("size") = 0)
        .def_readonly("context", &Group::context)
        .def_readonly("rank", &Group::rank)
        .def_readonly("size", &Group::size);

    py::class_<RecvRequest, RecvRequestPtr>(m, "RecvRequest", "A posted receive")
        .def_property_readonly("done", [](const RecvRequest& r) { return r.done.load(); })
        .def_property_readonly("source", [](const RecvRequest& r) { return r.message.source; })
        .def_property_readonly("tag", [](const RecvRequest& r) { return r.message.tag; })
        .def_property_readonly("payload", [](const RecvRequest& r) { return r.message.payload; })
        .def_property_readonly("direct", [](const RecvRequest& r) { return r.direct; },
                               "The message went straight into the buffer posted with it")
        .def_property_readonly("size", [](const RecvRequest& r) {
            return r.direct ? r.size : (r.message.payload ? r.message.payload->size() : 0);
        })
        .def_property_readonly("head", [](const RecvRequest& r) {
            return py::bytes(r.head, r.direct ? r.prefix : 0);
        });

    m.attr("STATUS_VALUE_ERROR") = static_cast<uint32_t>(Status::value_error);
    m.attr("STATUS_TYPE_ERROR") = static_cast<uint32_t>(Status::type_error);
    m.attr("STATUS_PICKLING_ERROR") = static_cast<uint32_t>(Status::pickling_error);
    m.attr("STATUS_ATTRIBUTE_ERROR") = static_cast<uint32_t>(Status::attribute_error);
    m.attr("STATUS_MISMATCH") = static_cast<uint32_t>(Status::mismatch);
    // Collective mismatches: where a message's call word lies, hpxpy.comm's object
    // allreduce's word, and the names and texts every member's error uses.
    m.attr("CALL_OFFSET") = kCallOffset;
    m.attr("CALL_OBJECT_ALLREDUCE") = call_word(CallKind::object_all_reduce);
    m.def("call_name", &call_name, py::arg("word"),
          "The collective a call word names, e.g. 'bcast(root=0)'");
    m.def("mismatch_text", &mismatch_text, py::arg("rank_a"), py::arg("word_a"),
          py::arg("rank_b"), py::arg("word_b"),
          "'rank A called X, rank B called Y': a collective mismatch between two members");
    m.def(
        "_set_mismatch_error",
        [](py::object cls) {
            Py_XDECREF(g_mismatch_error);
            g_mismatch_error = cls.release().ptr();
        },
        py::arg("cls"), "The exception class a collective mismatch raises: cls(text, context)");
    g_item_type = new_struct_type(&g_item_desc);
    g_message_type = new_struct_type(&g_message_desc);
    g_message_info_type = new_struct_type(&g_message_info_desc);
    m.add_object("Item", py::reinterpret_borrow<py::object>(reinterpret_cast<PyObject*>(g_item_type)));
    m.add_object("Message",
                 py::reinterpret_borrow<py::object>(reinterpret_cast<PyObject*>(g_message_type)));
    m.add_object("MessageInfo", py::reinterpret_borrow<py::object>(
                                    reinterpret_cast<PyObject*>(g_message_info_type)));

    // The codes the collectives take, defined once (reduce_kernels.hpp, collectives.hpp)
    // and read by every Python layer through hpxpy/_items.py.
    py::dict dtypes, ops;
    for (DType d : {DType::f64, DType::f32, DType::i64, DType::i32})
        dtypes[dtype_name(static_cast<uint32_t>(d))] = static_cast<uint32_t>(d);
    for (ReduceOp op : {ReduceOp::sum, ReduceOp::prod, ReduceOp::min, ReduceOp::max})
        ops[op_name(static_cast<uint32_t>(op))] = static_cast<uint32_t>(op);
    m.attr("DTYPE_CODES") = dtypes;
    m.attr("OP_CODES") = ops;
    m.attr("ITEM_RAW") = kRawItem;
    m.attr("ITEM_OBJECT") = kObjectItem;
    m.attr("CONTEXT_ACK") = kAckContext;
    m.attr("CONTEXT_COLLECTIVE") = kCollectiveContext;
    m.attr("CONTEXT_FIRST_FREE") = kFirstFreeContext;
    m.attr("ANY_SOURCE") = kAnySource;
    m.attr("ANY_TAG") = kAnyTag;
    register_arrays(m);
    register_fastpath(m);

    m.def("parcelports", &available_transports,
          "Names of the transports this build can run, in default priority order");

    // The MPI library of the mpi parcelport, opened at run time (src/parcelport/mpi/).
    m.def(
        "mpi_start",
        [](const std::string& path) {
            mpi::Library& library = mpi::Library::instance();
            {
                py::gil_scoped_release nogil;  // MPI_Init talks to the launcher
                library.start(path);
            }
            return py::make_tuple(library.rank(), library.size(), library.version());
        },
        py::arg("path"),
        "Open the MPI library at `path` (the MPI-5 standard ABI) and initialise MPI; "
        "returns (rank, size, library version) of MPI_COMM_WORLD. RuntimeError says what "
        "was wrong.");
    m.def("mpi_started", [] { return mpi::Library::instance().started(); },
          "Whether this process started MPI (mpi_start)");
    m.def(
        "mpi_finalize",
        [] {
            py::gil_scoped_release nogil;
            mpi::Library::instance().finalize();
        },
        "MPI_Finalize, once (nothing if MPI was never started)");

    py::class_<shm::Segment, std::shared_ptr<shm::Segment>>(
        m, "ShmSegment", "This locality's shared-memory segment, made before the rendezvous")
        .def(py::init(&shm::create_locality_segment), py::arg("locality_id"),
             py::arg("num_localities"))
        .def_property_readonly("endpoint", &shm::endpoint_of,
                               "'pid:fd:size': where same-host peers open it");

    py::class_<Runtime, RuntimeHolder>(m, "Runtime")
        .def(py::init(&make_runtime), py::arg("locality_id"), py::arg("num_localities"),
             py::arg("fds"), py::arg("spin_us"), py::arg("parcelport") = "tcp",
             py::arg("shm_segment") = nullptr,
             py::arg("shm_peers") = std::vector<std::tuple<int, int, std::size_t>>{})
        .def("route", [](Runtime& r, int peer) { return r.engine().handler().route_name(peer); },
             py::arg("locality"),
             "How messages to a locality travel: 'self', a parcelport's name, or 'none'")
        .def_property_readonly("locality_id", [](Runtime& r) { return r.engine().self(); })
        .def_property_readonly("num_localities", [](Runtime& r) { return r.engine().size(); })
        .def("check_healthy", [](Runtime& r) { r.engine().check_healthy(); })
        .def(
            "traffic",
            [](Runtime& r) {
                const Engine::Traffic t = r.engine().traffic();
                return py::make_tuple(t.messages, t.bytes, t.received);
            },
            "(messages, bytes) this locality has sent to other localities since start, and "
            "the messages it has received from them")
        .def(
            "join",
            [](Runtime& r, int fd) {
                py::gil_scoped_release nogil;
                return r.join(fd);
            },
            py::arg("fd"),
            "A process of another job joins through an authenticated TCP socket (taken "
            "over); returns the locality id it has here (num_localities and up)")
        .def(
            "leave",
            [](Runtime& r, int peer) {
                py::gil_scoped_release nogil;
                r.leave(peer);
            },
            py::arg("locality"),
            "Disconnect from a joined process: goodbye both ways (bounded), then close")
        .def(
            "leftovers",
            [](Runtime& r, int first_context, int residue, std::size_t head) {
                std::vector<Engine::Leftover> found;
                {
                    py::gil_scoped_release nogil;
                    found = r.engine().leftovers(first_context, residue, head);
                }
                py::list out;
                for (const auto& m : found)
                    out.append(py::make_tuple(m.context, m.source, m.tag, py::bytes(m.head)));
                return out;
            },
            py::arg("first_context"), py::arg("residue"), py::arg("head"),
            "Unexpected messages still waiting on contexts >= first_context that are "
            "residue modulo 4: (context, source locality, tag, first head bytes) each")
        .def(
            "pending",
            [](Runtime& r) {
                std::vector<PendingOp> ops;
                {
                    py::gil_scoped_release nogil;
                    ops = r.engine().pending();
                }
                py::list out;
                for (const PendingOp& op : ops) {
                    py::dict d;
                    d["kind"] = op.kind;
                    d["context"] = op.context;
                    d["peer"] = op.peer;
                    d["tag"] = op.tag;
                    d["size"] = op.size;
                    d["waited"] = op.waited;
                    d["thread"] = op.thread;
                    out.append(d);
                }
                return out;
            },
            "What this locality waits for (for stall reports): a dict per posted receive, "
            "probe in progress and send blocked by flow control, with kind, context, peer "
            "(a locality, ANY_SOURCE), tag, size (capacity or bytes), waited (s), thread "
            "(native id of the waiting thread, 0 if none)")
        .def(
            "abort",
            [](Runtime& r, int exit_code) {
                if (g_live == &r) g_live = nullptr;
                py::gil_scoped_release nogil;
                r.engine().abort_job(exit_code);
            },
            py::arg("exit_code"), "End the whole job with exit_code (MPI_Abort); never returns")
        .def(
            "shutdown",
            [](Runtime& r, bool graceful) {
                if (g_live == &r) g_live = nullptr;  // finalized: the fast paths fall back
                py::gil_scoped_release nogil;
                r.engine().shutdown(graceful);
            },
            py::arg("graceful") = true)
        .def("all_reduce",
             [](Runtime& r, const Group& g, py::object value, uint32_t dtype, uint32_t op,
                int tag, int status, const std::string& text, bool meet) {
                 Views views;
                 ArrayRef ref = to_ref(value, dtype, views);
                 Failure failure = to_failure(status, text);
                 Item item;
                 {
                     py::gil_scoped_release nogil;
                     item = r.collectives().all_reduce(g, ref, op, tag, failure, meet);
                 }
                 return item_to_python(item);
             },
             py::arg("group"), py::arg("value"), py::arg("dtype"), py::arg("op"), py::arg("tag"),
             py::arg("status"), py::arg("text"), py::arg("meet") = false,
             "meet: a blocking call of a communicator (may go through its meeting slot; "
             "every member must pass the same)")
        .def("broadcast",
             [](Runtime& r, const Group& g, py::object value, uint32_t dtype, int root, int tag,
                int status, const std::string& text) {
                 Views views;
                 ArrayRef ref = to_ref(value, dtype, views);
                 Failure failure = to_failure(status, text);
                 Item item;
                 {
                     py::gil_scoped_release nogil;
                     item = r.collectives().broadcast(g, ref, root, tag, failure);
                 }
                 return item_to_python(item);
             })
        .def("gather",
             [](Runtime& r, const Group& g, py::object value, uint32_t dtype, int root, int tag,
                int status, const std::string& text) -> py::object {
                 Views views;
                 ArrayRef ref = to_ref(value, dtype, views);
                 Failure failure = to_failure(status, text);
                 std::vector<Item> items;
                 {
                     py::gil_scoped_release nogil;
                     items = r.collectives().gather(g, ref, root, tag, failure);
                 }
                 if (items.empty()) return py::none();
                 py::list out;
                 for (const Item& item : items) out.append(item_to_python(item));
                 return std::move(out);
             })
        .def("scatter",
             [](Runtime& r, const Group& g, py::list values, py::list dtypes, int root, int tag,
                int status, const std::string& text) {
                 Views views;
                 std::vector<ArrayRef> refs;
                 for (std::size_t i = 0; i < values.size(); ++i)
                     refs.push_back(to_ref(values[i], dtypes[i].cast<uint32_t>(), views));
                 Failure failure = to_failure(status, text);
                 Item item;
                 {
                     py::gil_scoped_release nogil;
                     item = r.collectives().scatter(g, refs, root, tag, failure);
                 }
                 return item_to_python(item);
             })
        .def("exchange",
             [](Runtime& r, const Group& g, const py::list& sends, const py::handle& recv,
                const std::vector<std::size_t>& offsets,
                const std::vector<std::size_t>& capacities, int tag, bool equal, bool meet) {
                 Views views;
                 std::vector<ConstBuffer> parts = parts_of(sends, views);
                 std::vector<RecvBlock> blocks = blocks_of(recv, offsets, capacities, views);
                 const auto n = static_cast<std::size_t>(g.size);
                 if (parts.size() != n || blocks.size() != n)
                     throw py::value_error("exchange: one block per member expected");
                 py::gil_scoped_release nogil;
                 return r.collectives().exchange(g, parts, blocks, tag, equal, meet);
             },
             py::arg("group"), py::arg("sends"), py::arg("recv"), py::arg("offsets"),
             py::arg("capacities"), py::arg("tag"), py::arg("equal") = false,
             py::arg("meet") = false,
             "All to all of raw blocks: sends[j] to member j, member j's block into recv at "
             "offsets[j]; returns the bytes each member sent (more than its capacity: "
             "dropped). `equal` (Alltoall): small blocks take Bruck's algorithm, or one "
             "meeting (`meet`: a blocking call, one host)")
        .def(
            "allgather_blocks",
            [](Runtime& r, const Group& g, const py::buffer& recv, std::size_t block, int tag,
               bool meet) {
                const py::buffer_info info = recv.request(true);
                const auto n = static_cast<std::size_t>(g.size);
                if (static_cast<std::size_t>(info.size * info.itemsize) < n * block)
                    throw py::value_error("allgather_blocks: the buffer holds fewer than " +
                                          std::to_string(n) + " blocks");
                char* all = static_cast<char*>(info.ptr);
                py::gil_scoped_release nogil;
                return r.collectives().allgather_blocks(g, all, block, tag, meet);
            },
            py::arg("group"), py::arg("recv"), py::arg("block"), py::arg("tag"),
            py::arg("meet") = false,
            "All gather of equal raw blocks in place (member j's at j * block, ours already "
            "there) in ceil(log2 n) rounds, or one meeting (`meet`: a blocking call, small "
            "blocks, one host); returns what exchange returns")
        .def("meet",
             [](Runtime& r, const Group& g, int tag, const py::bytes& data) -> py::object {
                 std::string bytes = data;
                 std::vector<Collectives::MetCell> cells;
                 bool met;
                 {
                     py::gil_scoped_release nogil;
                     met = r.collectives().meet(g, tag, bytes.data(), bytes.size(), cells);
                 }
                 if (!met) return py::none();
                 return met_cells_list(cells);
             },
             py::arg("group"), py::arg("tag"), py::arg("data"),
             "A blocking call's meeting (shared memory, one host): every member's bytes in "
             "rank order (None for a member whose bytes did not fit: take the message "
             "algorithm), or None when the group does not meet")
        .def("gather_blocks",
             [](Runtime& r, const Group& g, const py::handle& block, const py::handle& recv,
                const std::vector<std::size_t>& offsets,
                const std::vector<std::size_t>& capacities, int root, int tag, bool equal,
                bool meet) {
                 Views views;
                 ConstBuffer mine = view_of(block, views);
                 std::vector<RecvBlock> blocks;
                 if (g.rank == root) {
                     blocks = blocks_of(recv, offsets, capacities, views);
                     if (blocks.size() != static_cast<std::size_t>(g.size))
                         throw py::value_error("gather_blocks: one block per member expected");
                 }
                 py::gil_scoped_release nogil;
                 return r.collectives().gather_blocks(g, mine, blocks, root, tag, equal, meet);
             },
             py::arg("group"), py::arg("block"), py::arg("recv"), py::arg("offsets"),
             py::arg("capacities"), py::arg("root"), py::arg("tag"), py::arg("equal") = false,
             py::arg("meet") = false,
             "Every member's raw block to the root, member j's into recv at offsets[j]; "
             "returns the bytes each sent on the root (an empty list elsewhere). `equal` "
             "(Gather, not Gatherv): small blocks take a binomial tree")
        .def("barrier",
             [](Runtime& r, const Group& g, const std::string& name, int tag, bool meet) {
                 py::gil_scoped_release nogil;
                 r.collectives().barrier(g, name, tag, meet);
             },
             py::arg("group"), py::arg("name"), py::arg("tag"), py::arg("meet") = false)
        // Point to point: the matching engine, for hpxpy.comm.
        .def(
            "send",
            [](Runtime& r, int dest, int context, int tag, py::list buffers) {
                Views views;
                std::vector<ConstBuffer> parts = parts_of(buffers, views);
                py::gil_scoped_release nogil;
                r.engine().send(dest, context, tag, parts);
            },
            "Send the buffers, back to back, as one message (no copy on the way out)")
        .def(
            "send_sync",
            [](Runtime& r, int dest, int context, int tag, py::list buffers) {
                Views views;
                std::vector<ConstBuffer> parts = parts_of(buffers, views);
                py::gil_scoped_release nogil;
                return r.engine().send_sync(dest, context, tag, parts);
            },
            "Send; the returned receive completes once the destination has matched it")
        .def("post_receive",
             [](Runtime& r, int context, int source, int tag) {
                 return r.engine().post_receive(context, source, tag);
             })
        .def(
            "post_receive_into",
            [](Runtime& r, int context, int source, int tag, std::size_t prefix,
               py::buffer buffer) {
                py::buffer_info info = writable_contiguous(buffer);
                return r.engine().post_receive_into(context, source, tag, prefix, info.ptr,
                                                    static_cast<std::size_t>(info.size *
                                                                             info.itemsize));
            },
            "A receive that names its buffer: a matching message that fits is written there "
            "(its first `prefix` bytes into the request's head). The caller keeps the buffer "
            "alive until the request is done")
        .def("wait",
             [](Runtime& r, const RecvRequestPtr& req) {
                 py::gil_scoped_release nogil;
                 r.engine().wait(req);
             })
        .def("wait_any",
             [](Runtime& r, const std::vector<RecvRequestPtr>& reqs) {
                 py::gil_scoped_release nogil;
                 return r.engine().wait_any(reqs);
             })
        .def("test", [](Runtime& r, const RecvRequestPtr& req) { return r.engine().test(req); })
        .def("cancel",
             [](Runtime& r, const RecvRequestPtr& req) { return r.engine().cancel(req); })
        .def("receive",
             [](Runtime& r, int context, int source, int tag) {
                 Message m;
                 {
                     py::gil_scoped_release nogil;
                     m = r.engine().receive(context, source, tag);
                 }
                 return message_to_python(m);
             })
        .def("iprobe",
             [](Runtime& r, int context, int source, int tag) -> py::object {
                 auto info = r.engine().iprobe(context, source, tag);
                 if (!info) return py::none();
                 return message_info_to_python(*info);
             })
        .def("probe", [](Runtime& r, int context, int source, int tag) {
            MessageInfo info;
            {
                py::gil_scoped_release nogil;
                info = r.engine().probe(context, source, tag);
            }
            return message_info_to_python(info);
        });
}
