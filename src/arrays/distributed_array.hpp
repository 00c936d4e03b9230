// One locality's partition of a distributed array: the memory it owns, its layout, and the
// local kernels (fill, sum, prod, min, max). Communication is not done here: the Python
// layer combines local results with the core collectives over the array's communicator.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

#include <sys/mman.h>

#include "layout.hpp"

namespace hpxpy::arrays {

struct FreeAligned {
    void operator()(void* p) const { std::free(p); }
};

// Accumulator of sum/prod: double for floating types (numpy's float32 sum is less exact
// than this), int64 for integers and bool (numpy sums int32 and bool into int64).
template <class T>
using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

template <class T>
class DistributedArray {
public:
    // Memory is left uninitialised unless `value` is given: the callers that pass none
    // overwrite every element at once (copies, results of element-wise operations).
    DistributedArray(const Layout& layout, std::vector<int64_t> shape, const T* value)
        : layout_(layout), shape_(std::move(shape)) {
        if (shape_.empty()) throw std::invalid_argument("a distributed array needs a first axis");
        if (shape_[0] != layout_.rows())
            throw std::invalid_argument("shape and layout disagree on the number of rows");
        row_size_ = 1;
        for (std::size_t i = 1; i < shape_.size(); ++i) {
            if (shape_[i] < 0) throw std::invalid_argument("negative dimension");
            row_size_ *= shape_[i];
        }
        size_ = layout_.count(layout_.rank()) * row_size_;
        data_.reset(static_cast<T*>(allocate(static_cast<std::size_t>(size_) * sizeof(T))));
        if (value != nullptr) fill(*value);
    }

    const Layout& layout() const { return layout_; }
    const std::vector<int64_t>& shape() const { return shape_; }
    int64_t local_rows() const { return layout_.count(layout_.rank()); }
    int64_t row_size() const { return row_size_; }
    int64_t size() const { return size_; }  // local elements
    T* data() { return data_.get(); }
    const T* data() const { return data_.get(); }

    std::unique_ptr<DistributedArray> copy() const {
        auto out = std::make_unique<DistributedArray>(layout_, shape_, nullptr);
        std::memcpy(out->data(), data(), static_cast<std::size_t>(size_) * sizeof(T));
        return out;
    }

    void fill(T value) { std::fill(data(), data() + size_, value); }

    Acc<T> sum() const {
        if constexpr (std::is_floating_point_v<T>) return pairwise_sum(data(), size_);
        else {
            // Unsigned arithmetic: integer overflow wraps, as in numpy, without UB.
            uint64_t acc[4] = {0, 0, 0, 0};
            int64_t i = 0;
            for (; i + 4 <= size_; i += 4)
                for (int k = 0; k < 4; ++k) acc[k] += static_cast<uint64_t>(as_int(data()[i + k]));
            for (; i < size_; ++i) acc[0] += static_cast<uint64_t>(as_int(data()[i]));
            return static_cast<int64_t>(acc[0] + acc[1] + acc[2] + acc[3]);
        }
    }

    Acc<T> prod() const {
        if constexpr (std::is_floating_point_v<T>) {
            double acc[4] = {1, 1, 1, 1};
            int64_t i = 0;
            for (; i + 4 <= size_; i += 4)
                for (int k = 0; k < 4; ++k) acc[k] *= data()[i + k];
            for (; i < size_; ++i) acc[0] *= data()[i];
            return (acc[0] * acc[1]) * (acc[2] * acc[3]);
        } else {
            uint64_t acc = 1;
            for (int64_t i = 0; i < size_; ++i) acc *= static_cast<uint64_t>(as_int(data()[i]));
            return static_cast<int64_t>(acc);
        }
    }

    // Local minimum or maximum; an empty partition gives the operation's identity.
    // `has_nan` reports a NaN (numpy's min/max propagate it).
    T extremum(bool want_max, bool& has_nan) const {
        has_nan = false;
        T best = want_max ? lowest() : highest();
        const T* d = data();
        if (want_max) {
            for (int64_t i = 0; i < size_; ++i) best = d[i] > best ? d[i] : best;
        } else {
            for (int64_t i = 0; i < size_; ++i) best = d[i] < best ? d[i] : best;
        }
        if constexpr (std::is_floating_point_v<T>) {
            for (int64_t i = 0; i < size_ && !has_nan; ++i) has_nan = std::isnan(d[i]);
        }
        return best;
    }

private:
    // Never null, even when empty. Large partitions are 2 MiB aligned and asked to use
    // transparent huge pages (as numpy does for its large arrays): first touch then costs
    // one fault per 2 MiB instead of one per 4 KiB.
    static void* allocate(std::size_t bytes) {
        constexpr std::size_t kHuge = 2u << 20;
        const std::size_t align = bytes >= 2 * kHuge ? kHuge : 64;
        bytes = std::max<std::size_t>((bytes + align - 1) / align * align, align);
        void* p = std::aligned_alloc(align, bytes);
        if (p == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
        if (align == kHuge) madvise(p, bytes, MADV_HUGEPAGE);  // advice only: errors ignored
#endif
        return p;
    }
    static int64_t as_int(T v) { return static_cast<int64_t>(v); }
    static T lowest() {
        if constexpr (std::is_floating_point_v<T>) return -std::numeric_limits<T>::infinity();
        else return std::numeric_limits<T>::lowest();
    }
    static T highest() {
        if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::infinity();
        else return std::numeric_limits<T>::max();
    }
    // Pairwise summation over blocks of 128 with 8 running sums: error grows like log n,
    // as numpy's, and the independent sums keep the loop memory-bound.
    static double pairwise_sum(const T* d, int64_t n) {
        if (n <= 128) {
            double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            int64_t i = 0;
            for (; i + 8 <= n; i += 8)
                for (int k = 0; k < 8; ++k) acc[k] += d[i + k];
            double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
                       ((acc[4] + acc[5]) + (acc[6] + acc[7]));
            for (; i < n; ++i) s += d[i];
            return s;
        }
        const int64_t half = n / 2 / 8 * 8;
        return pairwise_sum(d, half) + pairwise_sum(d + half, n - half);
    }

    Layout layout_;
    std::vector<int64_t> shape_;
    int64_t row_size_ = 1;
    int64_t size_ = 0;
    std::unique_ptr<T, FreeAligned> data_;
};

}  // namespace hpxpy::arrays
