// Thin pybind11 layer for src/arrays: layout math and one partition class per element type
// (float64, float32, int64, int32, bool), all from the one DistributedArray<T> template.
// The Python wrappers (hpxpy/distributed.py) add the communication.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>

#include "../arrays/distributed_array.hpp"

namespace py = pybind11;
using hpxpy::arrays::DistributedArray;
using hpxpy::arrays::Layout;
using hpxpy::arrays::Policy;

namespace {

Layout make_layout(int policy, int64_t rows, int partitions, int rank) {
    return Layout(static_cast<Policy>(policy), rows, partitions, rank);
}

py::array_t<int64_t> global_indices(const Layout& layout, int r) {
    py::array_t<int64_t> out(layout.count(r));
    layout.global_indices(r, out.mutable_data());
    return out;
}

template <class T>
void bind_partition(py::module_& m, const char* name) {
    using DA = DistributedArray<T>;
    py::class_<DA>(m, name, "One locality's partition of a distributed array (owns its memory)")
        .def(py::init([](const Layout& layout, std::vector<int64_t> shape,
                         std::optional<T> value) {
                 return std::make_unique<DA>(layout, std::move(shape),
                                             value ? &*value : nullptr);
             }),
             py::arg("layout"), py::arg("shape"), py::arg("value") = py::none(),
             "Without `value` the memory is uninitialised: the caller must write all of it")
        .def_property_readonly("layout", &DA::layout)
        .def_property_readonly("shape", &DA::shape)
        .def_property_readonly("local_size", &DA::size)
        // Zero-copy, writable view; the partition object stays alive as the array's base.
        .def_property_readonly("local",
                               [](py::object self) {
                                   DA& a = self.cast<DA&>();
                                   std::vector<py::ssize_t> shape{a.local_rows()};
                                   for (std::size_t i = 1; i < a.shape().size(); ++i)
                                       shape.push_back(a.shape()[i]);
                                   return py::array(py::dtype::of<T>(), shape, {}, a.data(),
                                                    self);
                               })
        .def("copy", &DA::copy)
        .def(
            "fill",
            [](DA& a, T value) {
                py::gil_scoped_release nogil;
                a.fill(value);
            },
            py::arg("value"))
        .def("sum",
             [](const DA& a) {
                 py::gil_scoped_release nogil;
                 return a.sum();
             })
        .def("prod",
             [](const DA& a) {
                 py::gil_scoped_release nogil;
                 return a.prod();
             })
        .def(
            "extremum",
            [](const DA& a, bool want_max) {
                bool has_nan = false;
                T value;
                {
                    py::gil_scoped_release nogil;
                    value = a.extremum(want_max, has_nan);
                }
                return py::make_tuple(value, has_nan);
            },
            py::arg("want_max"), "(local min or max, whether a NaN was seen)");
}

}  // namespace

void register_arrays(py::module_& m) {
    py::class_<Layout>(m, "ArrayLayout", "Rows of a distributed array over its partitions")
        .def(py::init(&make_layout), py::arg("policy"), py::arg("rows"), py::arg("partitions"),
             py::arg("rank"))
        .def_property_readonly("policy", [](const Layout& l) { return static_cast<int>(l.policy()); })
        .def_property_readonly("rows", &Layout::rows)
        .def_property_readonly("partitions", &Layout::partitions)
        .def_property_readonly("rank", &Layout::rank)
        .def_property_readonly("stride", &Layout::stride)
        .def("count", &Layout::count, py::arg("partition"))
        .def("start", &Layout::start, py::arg("partition"))
        .def("owner", &Layout::owner, py::arg("index"))
        .def("local_index", &Layout::local_index, py::arg("index"))
        .def("global_indices", &global_indices, py::arg("partition"))
        .def("owners", [](const Layout& l, py::array_t<int64_t, py::array::c_style |
                                                                   py::array::forcecast> g) {
            py::array_t<int64_t> out(g.size());
            l.owners(g.data(), g.size(), out.mutable_data());
            return out;
        });

    bind_partition<double>(m, "PartitionF64");
    bind_partition<float>(m, "PartitionF32");
    bind_partition<int64_t>(m, "PartitionI64");
    bind_partition<int32_t>(m, "PartitionI32");
    bind_partition<bool>(m, "PartitionBool");
}
