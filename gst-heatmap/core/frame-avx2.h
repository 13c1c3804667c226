// frame-avx2.h: the box downscale's AVX2 inner loop (frame-avx2.cpp), for frame.cpp only.
#pragma once

#include <cstdint>

namespace heatmap {
namespace detail {

// Box means of f x f blocks (f = 2 or 4) of rows[0..f) for outputs [0, n), n the largest
// multiple of 32 not above `width`; returns n (0 for another f). Call only on a CPU with AVX2.
int box_downscale_row_avx2(const std::uint8_t *const rows[4], int f, std::uint8_t *out, int width);

// Column-pair sums of f rows (f <= 16): out[j] = sum over k < f of rows[k][2j] + rows[k][2j + 1],
// for the first n bytes of the rows rounded down to a multiple of 32; returns how many bytes that
// is. Call only on a CPU with AVX2.
int pair_sums_avx2(const std::uint8_t *const *rows, int f, int n, std::uint16_t *out);

// Column sums of f rows (f <= 16): out[x] = sum over k < f of rows[k][x], for the first n bytes
// rounded down to a multiple of 32; returns how many bytes that is. Only on a CPU with AVX2.
int column_sums_avx2(const std::uint8_t *const *rows, int f, int n, std::uint16_t *out);

}  // namespace detail
}  // namespace heatmap
