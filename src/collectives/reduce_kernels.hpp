// Typed reduction kernels: dst[i] = a[i] op b[i] for each supported dtype and op.
// dst may alias a or b. Plain loops the compiler vectorises.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <type_traits>

namespace hpxpy {

enum class DType : uint32_t { f64 = 0, f32 = 1, i64 = 2, i32 = 3 };
enum class ReduceOp : uint32_t { sum = 0, prod = 1, min = 2, max = 3 };

inline const char* dtype_name(uint32_t d) {
    switch (static_cast<DType>(d)) {
        case DType::f64: return "float64";
        case DType::f32: return "float32";
        case DType::i64: return "int64";
        case DType::i32: return "int32";
    }
    return "unknown";
}

inline std::size_t dtype_size(uint32_t d) {
    switch (static_cast<DType>(d)) {
        case DType::f64: case DType::i64: return 8;
        case DType::f32: case DType::i32: return 4;
    }
    throw std::invalid_argument("unsupported dtype code");
}

inline const char* op_name(uint32_t op) {
    switch (static_cast<ReduceOp>(op)) {
        case ReduceOp::sum: return "sum";
        case ReduceOp::prod: return "prod";
        case ReduceOp::min: return "min";
        case ReduceOp::max: return "max";
    }
    return "unknown";
}

namespace detail {
// Integer sums and products wrap on overflow like numpy's; done in unsigned arithmetic,
// where wrapping is defined behaviour in C++.
template <typename T>
T add(T u, T v) {
    if constexpr (std::is_integral_v<T>) {
        using U = std::make_unsigned_t<T>;
        return static_cast<T>(static_cast<U>(u) + static_cast<U>(v));
    } else {
        return u + v;
    }
}
template <typename T>
T mul(T u, T v) {
    if constexpr (std::is_integral_v<T>) {
        using U = std::make_unsigned_t<T>;
        return static_cast<T>(static_cast<U>(u) * static_cast<U>(v));
    } else {
        return u * v;
    }
}

template <typename T, typename F>
void apply(const void* a, const void* b, void* dst, std::size_t n, F f) {
    auto* x = static_cast<const T*>(a);
    auto* y = static_cast<const T*>(b);
    auto* z = static_cast<T*>(dst);
    for (std::size_t i = 0; i < n; ++i) z[i] = f(x[i], y[i]);
}

template <typename T>
void reduce_typed(ReduceOp op, const void* a, const void* b, void* dst, std::size_t n) {
    switch (op) {
        case ReduceOp::sum: return apply<T>(a, b, dst, n, add<T>);
        case ReduceOp::prod: return apply<T>(a, b, dst, n, mul<T>);
        case ReduceOp::min: return apply<T>(a, b, dst, n, [](T u, T v) { return v < u ? v : u; });
        case ReduceOp::max: return apply<T>(a, b, dst, n, [](T u, T v) { return u < v ? v : u; });
    }
    throw std::invalid_argument("unsupported reduction op");
}
}  // namespace detail

// dst = a op b, element-wise over `count` elements of `dtype`.
inline void reduce(uint32_t dtype, uint32_t op, const void* a, const void* b, void* dst,
                   std::size_t count) {
    auto o = static_cast<ReduceOp>(op);
    switch (static_cast<DType>(dtype)) {
        case DType::f64: return detail::reduce_typed<double>(o, a, b, dst, count);
        case DType::f32: return detail::reduce_typed<float>(o, a, b, dst, count);
        case DType::i64: return detail::reduce_typed<int64_t>(o, a, b, dst, count);
        case DType::i32: return detail::reduce_typed<int32_t>(o, a, b, dst, count);
    }
    throw std::invalid_argument("unsupported dtype code");
}

}  // namespace hpxpy
