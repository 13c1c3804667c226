// scene-settle.h: the scene model's passes over a classified mask that need the neighbours of a
// pixel (shadow texture; the candidates of the ghost pass), vectorised with OpenCV's universal
// intrinsics, each with a scalar twin that the tests hold them equal to.
#pragma once

#include "scene-classify.h"

#include <opencv2/core.hpp>
#include <opencv2/core/hal/intrin.hpp>

#include <cstdint>
#include <cstring>
#include <vector>

namespace heatmap {
namespace scene {

// A shadow darkens smoothly: a candidate's ratio to the scene is within kShadowSmooth of the
// mean ratio of its candidate neighbours (a soft edge is a slope, which cancels). A person's
// clothes do not follow the floor's texture, so their ratio jumps from pixel to pixel.
constexpr float kShadowSmooth = 0.05f;

// Reused buffers of settle_textured_shadows (three rows of masked ratios and of candidate flags).
struct ShadowScratch {
  std::vector<float> q, one;
  std::vector<std::uint8_t> dirty;
  int slot_row[3] = {-1, -1, -1};
};

// Shadow candidates (kShadow in `mask`, CV_8U) that darken unlike their candidate neighbours
// become kMotion: the candidate's `ratio` (CV_32F, frame / predicted luma) is off the mean ratio
// of its 8-neighbours that are candidates by more than kShadowSmooth, with at least 4 of them
// (all judged on the mask as it came in). `rows[r]` is 0 only where row r holds no candidate.
// The mask holds kBackground, kShadow and kMotion only. Simd::kNone is the scalar twin;
// otherwise the build's baseline vectors (the same bits).
void settle_textured_shadows(cv::Mat &mask, const cv::Mat &ratio,
                             const std::vector<std::uint8_t> &rows, ShadowScratch &scratch,
                             Simd simd = Simd::kBaseline);

// The ghost pass's candidates among the first n (at most 16) pixels (kMotion, streak at least
// kGhostStreak): bit i set for mask[i] and streak[i]. The rule, one pixel at a time.
inline unsigned ghost_candidates(const std::uint8_t *mask, const std::uint16_t *streak, int n) {
  unsigned bits = 0;
  for (int i = 0; i < n; ++i) {
    bits |= static_cast<unsigned>(mask[i] == kMotion && streak[i] >= kGhostStreak) << i;
  }
  return bits;
}

// ghost_candidates of 16 pixels, with vectors; the scalar twin with Simd::kNone.
inline unsigned ghost_candidates16(const std::uint8_t *mask, const std::uint16_t *streak,
                                   Simd simd = Simd::kBaseline) {
#if CV_SIMD128
  if (simd != Simd::kNone) {
    // Short streaks: what is left of the streak after taking kGhostStreak - 1 away (saturating)
    // is 0.
    const cv::v_uint16x8 below = cv::v_setall_u16(kGhostStreak - 1), none = cv::v_setzero_u16();
    const cv::v_uint8x16 brief =
        cv::v_pack_b(cv::v_load(streak) - below == none, cv::v_load(streak + 8) - below == none);
    const cv::v_uint8x16 motion = cv::v_load(mask) == cv::v_setall_u8(kMotion);
    return static_cast<unsigned>(cv::v_signmask(motion & ~brief));
  }
#endif
  (void)simd;
  return ghost_candidates(mask, streak, 16);
}

namespace detail {
// Bits 0-2 set where bytes p[0], p[1], p[2] equal `value` (p[3] is read too).
inline unsigned equal_bytes3(const std::uint8_t *p, std::uint8_t value) {
  std::uint32_t x;
  std::memcpy(&x, p, sizeof x);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  x = __builtin_bswap32(x);
#endif
  x ^= value * 0x01010101u;
  // (x & 0x7F) + 0x7F has a byte's high bit where its low bits are not all 0 (no carry crosses
  // a byte); with x's own high bit, where the byte is not 0.
  const std::uint32_t t = ~(((x & 0x7F7F7F7Fu) + 0x7F7F7F7Fu) | x) & 0x00808080u;
  return (t >> 7 | t >> 14 | t >> 21) & 7u;
}
}  // namespace detail

// Which 8-neighbours of (r, c) in `m` (CV_8U) are inside the image and equal to `value`, as bits
// in raster order: bit 0 (r-1, c-1), 1 (r-1, c), 2 (r-1, c+1), 3 (r, c-1), 4 (r, c+1),
// 5 (r+1, c-1), 6 (r+1, c), 7 (r+1, c+1).
inline unsigned neighbours_equal(const cv::Mat &m, int r, int c, std::uint8_t value = 0) {
  const int w = m.cols, h = m.rows;
  if (r > 0 && r + 1 < h && c > 0 && c + 2 < w) {
    // Bytes c-1 .. c+2 of the three rows, four at a time (c + 2 is inside the row).
    const std::uint8_t *row = m.ptr<std::uint8_t>(r) + c - 1;
    const unsigned mid = detail::equal_bytes3(row, value);
    return detail::equal_bytes3(row - m.step[0], value) | (mid & 1u) << 3 | (mid & 4u) << 2 |
           detail::equal_bytes3(row + m.step[0], value) << 5;
  }
  unsigned bits = 0;
  for (int j = 0, dy = -1; dy <= 1; ++dy) {
    for (int dx = -1; dx <= 1; ++dx) {
      if (dy == 0 && dx == 0) {
        continue;
      }
      const int rr = r + dy, x = c + dx;
      if (rr >= 0 && rr < h && x >= 0 && x < w && m.ptr<std::uint8_t>(rr)[x] == value) {
        bits |= 1u << j;
      }
      ++j;
    }
  }
  return bits;
}

// neighbours_equal for 16 pixels at once: bits[i] = neighbours_equal(m, r, c + i, value), for
// 0 < r < m.rows - 1 and 0 < c, c + 16 < m.cols; returns which bits[i] are not 0 (bit i). The
// scalar twin with Simd::kNone.
inline unsigned neighbours_equal16(const cv::Mat &m, int r, int c, std::uint8_t value,
                                   std::uint8_t bits[16], Simd simd = Simd::kBaseline) {
#if CV_SIMD128
  if (simd != Simd::kNone) {
    const std::uint8_t *up = m.ptr<std::uint8_t>(r - 1) + c, *row = m.ptr<std::uint8_t>(r) + c;
    const std::uint8_t *down = m.ptr<std::uint8_t>(r + 1) + c;
    const cv::v_uint8x16 v = cv::v_setall_u8(value);
    cv::v_uint8x16 acc = (cv::v_load(up - 1) == v) & cv::v_setall_u8(1);
    acc = acc | ((cv::v_load(up) == v) & cv::v_setall_u8(2));
    acc = acc | ((cv::v_load(up + 1) == v) & cv::v_setall_u8(4));
    acc = acc | ((cv::v_load(row - 1) == v) & cv::v_setall_u8(8));
    acc = acc | ((cv::v_load(row + 1) == v) & cv::v_setall_u8(16));
    acc = acc | ((cv::v_load(down - 1) == v) & cv::v_setall_u8(32));
    acc = acc | ((cv::v_load(down) == v) & cv::v_setall_u8(64));
    acc = acc | ((cv::v_load(down + 1) == v) & cv::v_setall_u8(128));
    cv::v_store(bits, acc);
    return static_cast<unsigned>(cv::v_signmask(acc != cv::v_setzero_u8()));
  }
#endif
  (void)simd;
  unsigned any = 0;
  for (int i = 0; i < 16; ++i) {
    bits[i] = static_cast<std::uint8_t>(neighbours_equal(m, r, c + i, value));
    any |= static_cast<unsigned>(bits[i] != 0) << i;
  }
  return any;
}

}  // namespace scene
}  // namespace heatmap
