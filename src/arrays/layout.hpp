// Where each row (index along the first axis) of a distributed array lives.
//
// n rows over p partitions, q = n / p, rem = n % p:
//   block:  partition r holds the contiguous rows [start(r), start(r) + count(r)) with
//           count(r) = q + (r < rem) and start(r) = r * q + min(r, rem) (the first rem
//           partitions get one row more: numpy.array_split's and HPX's convention);
//   cyclic: row g lives on partition g % p at local position g / p, so
//           count(r) = q + (r < rem);
//   none:   one partition (p = 1) holding every row, replicated on each locality.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace hpxpy::arrays {

enum class Policy : int { none = 0, block = 1, cyclic = 2 };

class Layout {
public:
    Layout(Policy policy, int64_t rows, int partitions, int rank);

    Policy policy() const { return policy_; }
    int64_t rows() const { return rows_; }
    int partitions() const { return partitions_; }
    int rank() const { return rank_; }

    int64_t count(int r) const;   // rows on partition r
    int64_t start(int r) const;   // first global row of partition r
    int64_t stride() const { return policy_ == Policy::cyclic ? partitions_ : 1; }
    int owner(int64_t g) const;   // partition holding global row g (0 <= g < rows)
    int64_t local_index(int64_t g) const;  // position of row g on its owner
    int64_t global_index(int r, int64_t i) const { return start(r) + i * stride(); }

    // Vectorised forms, for redistribution and for Python.
    void owners(const int64_t* g, int64_t n, int64_t* out) const;
    void global_indices(int r, int64_t* out) const;

private:
    void check_partition(int r) const;
    Policy policy_;
    int64_t rows_;
    int partitions_;
    int rank_;
    int64_t q_;    // rows / partitions
    int64_t rem_;  // rows % partitions
};

}  // namespace hpxpy::arrays
