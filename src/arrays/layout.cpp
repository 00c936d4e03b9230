#include "layout.hpp"

#include <algorithm>

namespace hpxpy::arrays {

Layout::Layout(Policy policy, int64_t rows, int partitions, int rank)
    : policy_(policy), rows_(rows), partitions_(partitions), rank_(rank) {
    if (policy != Policy::none && policy != Policy::block && policy != Policy::cyclic)
        throw std::invalid_argument("unknown distribution policy " +
                                    std::to_string(static_cast<int>(policy)));
    if (rows < 0) throw std::invalid_argument("negative row count " + std::to_string(rows));
    if (policy == Policy::none) partitions_ = 1, rank_ = 0;  // one replicated partition
    if (partitions_ < 1)
        throw std::invalid_argument("need at least one partition, got " +
                                    std::to_string(partitions_));
    check_partition(rank_);
    q_ = rows_ / partitions_;
    rem_ = rows_ % partitions_;
}

void Layout::check_partition(int r) const {
    if (r < 0 || r >= partitions_)
        throw std::out_of_range("partition " + std::to_string(r) + " out of range for " +
                                std::to_string(partitions_) + " partitions");
}

int64_t Layout::count(int r) const {
    check_partition(r);
    return q_ + (r < rem_ ? 1 : 0);
}

int64_t Layout::start(int r) const {
    check_partition(r);
    if (policy_ == Policy::cyclic) return r;
    return r * q_ + std::min<int64_t>(r, rem_);
}

int Layout::owner(int64_t g) const {
    if (g < 0 || g >= rows_)
        throw std::out_of_range("index " + std::to_string(g) + " out of range for " +
                                std::to_string(rows_) + " rows");
    if (policy_ == Policy::cyclic) return static_cast<int>(g % partitions_);
    const int64_t big = rem_ * (q_ + 1);  // rows held by the partitions with one extra
    if (g < big) return static_cast<int>(g / (q_ + 1));
    return static_cast<int>(rem_ + (g - big) / q_);  // q_ > 0 here since g < rows_
}

int64_t Layout::local_index(int64_t g) const {
    const int r = owner(g);
    if (policy_ == Policy::cyclic) return g / partitions_;
    return g - start(r);
}

void Layout::owners(const int64_t* g, int64_t n, int64_t* out) const {
    for (int64_t i = 0; i < n; ++i) out[i] = owner(g[i]);
}

void Layout::global_indices(int r, int64_t* out) const {
    const int64_t n = count(r), s = start(r), step = stride();
    for (int64_t i = 0; i < n; ++i) out[i] = s + i * step;
}

}  // namespace hpxpy::arrays
