// Thin pybind11 layer: converts arguments, releases the GIL around every blocking call,
// and maps core errors to Python exceptions. No algorithm lives here.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>

#include "../collectives/collectives.hpp"
#include "../engine/engine.hpp"
#include "../parcelport/tcp_parcelport.hpp"

namespace py = pybind11;
using namespace hpxpy;

namespace {

PyObject* g_locality_error = nullptr;  // hpxpy._core.LocalityError

class Runtime {
public:
    Runtime(int self, int size, std::vector<int> fds, int spin_us)
        : engine_(self, size, spin_us), collectives_(engine_) {
        if (size < 1 || self < 0 || self >= size)
            throw std::invalid_argument("locality id " + std::to_string(self) +
                                        " out of range for a job of " + std::to_string(size));
        if (size > 1) {
            if (fds.size() != static_cast<std::size_t>(size))
                throw std::invalid_argument("need one socket per locality");
            engine_.attach(std::make_unique<TcpParcelport>(self, std::move(fds), engine_));
        }
        // Blocked waits call this every ~100 ms: lets Ctrl-C (SIGINT) through.
        engine_.set_interrupt_check([] {
            py::gil_scoped_acquire gil;
            if (PyErr_CheckSignals() != 0) throw py::error_already_set();
        });
    }

    Engine& engine() { return engine_; }
    Collectives& collectives() { return collectives_; }

private:
    Engine engine_;
    Collectives collectives_;
};

Failure to_failure(int status, const std::string& text) {
    return {static_cast<Status>(status), text};
}

ArrayRef to_ref(const py::object& obj, uint32_t dtype) {
    ArrayRef ref;
    if (obj.is_none()) return ref;
    auto arr = py::reinterpret_borrow<py::array>(obj);
    ref.dtype = dtype;
    for (py::ssize_t i = 0; i < arr.ndim(); ++i) ref.shape.push_back(arr.shape(i));
    ref.data = arr.mutable_data();
    ref.nbytes = static_cast<std::size_t>(arr.nbytes());
    return ref;
}

// (dtype, shape, payload, offset, nbytes) for Python to view without copying; None for
// an item that is the caller's own input.
py::object item_to_python(const Item& item) {
    if (!item.owner) return py::none();
    py::tuple shape(item.header.ndim);
    for (uint32_t i = 0; i < item.header.ndim; ++i) shape[i] = item.header.shape[i];
    auto offset = static_cast<std::size_t>(item.data - item.owner->data());
    return py::make_tuple(item.header.dtype, shape, item.owner, offset, item.header.nbytes);
}

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "hpxpy's C++ runtime core: parcelport, matching engine, collectives";

    static py::exception<LocalityLost> locality_error(m, "LocalityError", PyExc_RuntimeError);
    g_locality_error = locality_error.ptr();
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const LocalityLost& e) {
            py::object err = py::reinterpret_borrow<py::object>(g_locality_error)(e.what());
            err.attr("locality") = e.locality();
            PyErr_SetObject(g_locality_error, err.ptr());
        } catch (const CollectiveError& e) {
            PyErr_SetString(e.status() == Status::type_error ? PyExc_TypeError : PyExc_ValueError,
                            e.what());
        }
    });

    py::class_<Payload, PayloadPtr>(m, "Payload", py::buffer_protocol(),
                                    "Bytes of one received message (viewed by numpy, not copied)")
        .def_buffer([](Payload& p) {
            return py::buffer_info(p.data(), 1, py::format_descriptor<uint8_t>::format(), 1,
                                   {static_cast<py::ssize_t>(p.size())}, {1});
        })
        .def("__len__", &Payload::size);

    py::class_<Runtime>(m, "Runtime")
        .def(py::init<int, int, std::vector<int>, int>(), py::arg("locality_id"),
             py::arg("num_localities"), py::arg("fds"), py::arg("spin_us"))
        .def_property_readonly("locality_id", [](Runtime& r) { return r.engine().self(); })
        .def_property_readonly("num_localities", [](Runtime& r) { return r.engine().size(); })
        .def("check_healthy", [](Runtime& r) { r.engine().check_healthy(); })
        .def(
            "shutdown",
            [](Runtime& r, bool graceful) {
                py::gil_scoped_release nogil;
                r.engine().shutdown(graceful);
            },
            py::arg("graceful") = true)
        .def("all_reduce",
             [](Runtime& r, py::object value, uint32_t dtype, uint32_t op, int tag, int status,
                const std::string& text) {
                 ArrayRef ref = to_ref(value, dtype);
                 Failure failure = to_failure(status, text);
                 Item item;
                 {
                     py::gil_scoped_release nogil;
                     item = r.collectives().all_reduce(ref, op, tag, failure);
                 }
                 return item_to_python(item);
             })
        .def("broadcast",
             [](Runtime& r, py::object value, uint32_t dtype, int root, int tag, int status,
                const std::string& text) {
                 ArrayRef ref = to_ref(value, dtype);
                 Failure failure = to_failure(status, text);
                 Item item;
                 {
                     py::gil_scoped_release nogil;
                     item = r.collectives().broadcast(ref, root, tag, failure);
                 }
                 return item_to_python(item);
             })
        .def("gather",
             [](Runtime& r, py::object value, uint32_t dtype, int root, int tag, int status,
                const std::string& text) -> py::object {
                 ArrayRef ref = to_ref(value, dtype);
                 Failure failure = to_failure(status, text);
                 std::vector<Item> items;
                 {
                     py::gil_scoped_release nogil;
                     items = r.collectives().gather(ref, root, tag, failure);
                 }
                 if (items.empty()) return py::none();
                 py::list out;
                 for (const Item& item : items) out.append(item_to_python(item));
                 return std::move(out);
             })
        .def("scatter",
             [](Runtime& r, py::list values, py::list dtypes, int root, int tag, int status,
                const std::string& text) {
                 std::vector<ArrayRef> refs;
                 for (std::size_t i = 0; i < values.size(); ++i)
                     refs.push_back(to_ref(values[i], dtypes[i].cast<uint32_t>()));
                 Failure failure = to_failure(status, text);
                 Item item;
                 {
                     py::gil_scoped_release nogil;
                     item = r.collectives().scatter(refs, root, tag, failure);
                 }
                 return item_to_python(item);
             })
        .def("barrier", [](Runtime& r, const std::string& name, int tag) {
            py::gil_scoped_release nogil;
            r.collectives().barrier(name, tag);
        });
}
