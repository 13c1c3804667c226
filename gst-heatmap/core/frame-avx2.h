// frame-avx2.h: the box downscale's AVX2 inner loop (frame-avx2.cpp), for frame.cpp only.
#pragma once

#include <cstdint>

namespace heatmap {
namespace detail {

// Box means of f x f blocks (f = 2 or 4) of rows[0..f) for outputs [0, n), n the largest
// multiple of 32 not above `width`; returns n (0 for another f). Call only on a CPU with AVX2.
int box_downscale_row_avx2(const std::uint8_t *const rows[4], int f, std::uint8_t *out, int width);

}  // namespace detail
}  // namespace heatmap
