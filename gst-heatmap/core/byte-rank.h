// byte-rank.h: exact per-pixel order statistics of a stack of 8-bit planes, many pixels at once
// (the scene model's look-ahead median and median absolute deviation on a steady camera).
#pragma once

#include <cstdint>

namespace heatmap {

// The most planes select_rank_bytes takes (its counts are held in signed bytes).
constexpr int kMaxRankPlanes = 127;

// For each column c in [0, width): med[c] = the value of rank `rank` (0-based, ascending; what
// std::nth_element puts at position `rank`) among rows[0][c] .. rows[n - 1][c]; and, when `mad`
// is not null, mad[c] = the value of rank `rank` among |rows[k][c] - med[c]| (with rank n / 2:
// the median absolute deviation). n in [1, kMaxRankPlanes], rank in [0, n).
// Every value is found bit by bit from the top: the largest t with at most `rank` values below
// it, counted in 16 (SIMD) columns at once.
void select_rank_bytes(const std::uint8_t *const *rows, int n, int rank, int width,
                       std::uint8_t *med, std::uint8_t *mad);

}  // namespace heatmap
