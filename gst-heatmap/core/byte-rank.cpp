// byte-rank.cpp: see byte-rank.h. The value of rank k among n bytes is the largest t with at most
// k of them below t; it is built from the top bit down (8 rounds of n compares), which needs no
// sorting, works for any n and gives the same answer in every SIMD lane as in the scalar code.
#include "byte-rank.h"

#include <opencv2/core/hal/intrin.hpp>

#include <algorithm>
#include <array>
#include <cstdlib>

namespace heatmap {

namespace {

std::uint8_t select_scalar(const std::uint8_t *x, int n, int rank) {
  unsigned m = 0;
  for (unsigned bit = 128; bit != 0; bit >>= 1) {
    const unsigned t = m | bit;
    int below = 0;
    for (int k = 0; k < n; ++k) {
      below += x[k] < t;
    }
    if (below <= rank) {
      m = t;
    }
  }
  return static_cast<std::uint8_t>(m);
}

#if CV_SIMD128
constexpr int kLanes = 16;

// The top bit flipped: signed byte compares then order the values as unsigned bytes.
inline cv::v_int8x16 flipped(const cv::v_uint8x16 &x) {
  return cv::v_reinterpret_as_s8(x ^ cv::v_setall_u8(0x80));
}

// select_scalar in 16 lanes, on values held flipped.
inline cv::v_uint8x16 select16(const cv::v_int8x16 *xf, int n, int rank) {
  const cv::v_int8x16 most = cv::v_setall_s8(static_cast<schar>(rank));
  cv::v_uint8x16 m = cv::v_setzero_u8();
  for (unsigned bit = 128; bit != 0; bit >>= 1) {
    const cv::v_uint8x16 t = m | cv::v_setall_u8(static_cast<uchar>(bit));
    const cv::v_int8x16 tf = flipped(t);
    cv::v_int8x16 below = cv::v_setzero_s8();
#pragma GCC unroll 8
    for (int k = 0; k < n; ++k) {
      below = cv::v_sub_wrap(below, tf > xf[k]);  // a true compare is -1: one more below t
    }
    m = cv::v_select(cv::v_reinterpret_as_u8(below > most), m, t);
  }
  return m;
}
#endif

}  // namespace

void select_rank_bytes(const std::uint8_t *const *rows, int n, int rank, int width,
                       std::uint8_t *med, std::uint8_t *mad) {
  if (n < 1 || n > kMaxRankPlanes || rank < 0 || rank >= n) {
    std::abort();  // a caller's bug: no answer would be right
  }
  int c = 0;
#if CV_SIMD128
  if (width >= kLanes) {
    std::array<cv::v_int8x16, kMaxRankPlanes> xf;
    for (int c0 = 0; c0 < width; c0 += kLanes) {
      // The last block may overlap the one before it: those columns are written twice, alike.
      const int at = std::min(c0, width - kLanes);
      for (int k = 0; k < n; ++k) {
        xf[k] = flipped(cv::v_load(rows[k] + at));
      }
      const cv::v_uint8x16 m = select16(xf.data(), n, rank);
      cv::v_store(med + at, m);
      if (mad != nullptr) {
        for (int k = 0; k < n; ++k) {
          xf[k] = flipped(cv::v_absdiff(cv::v_load(rows[k] + at), m));
        }
        cv::v_store(mad + at, select16(xf.data(), n, rank));
      }
    }
    c = width;
  }
#endif
  std::array<std::uint8_t, kMaxRankPlanes> x;
  for (; c < width; ++c) {
    for (int k = 0; k < n; ++k) {
      x[k] = rows[k][c];
    }
    med[c] = select_scalar(x.data(), n, rank);
    if (mad != nullptr) {
      for (int k = 0; k < n; ++k) {
        x[k] = static_cast<std::uint8_t>(std::abs(x[k] - med[c]));
      }
      mad[c] = select_scalar(x.data(), n, rank);
    }
  }
}

}  // namespace heatmap
