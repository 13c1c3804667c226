// scene-settle.cpp: shadow texture and ghost candidates over a classified mask (see
// scene-settle.h), vectorised, with their scalar twins.
#include "scene-settle.h"

#include <opencv2/core/hal/intrin.hpp>

#include <algorithm>
#include <cmath>

namespace heatmap {
namespace scene {

namespace {

// The scalar rule: whether a candidate at (r, c) darkens unlike its candidate neighbours (kShadow,
// or 254 when already judged in this pass).
bool textured(const cv::Mat &mask, const cv::Mat &ratio, int r, int c) {
  const int w = mask.cols, h = mask.rows;
  float sum = 0.f;
  int n = 0;
  for (int dy = -1; dy <= 1; ++dy) {
    const int rr = r + dy;
    if (rr < 0 || rr >= h) {
      continue;
    }
    const std::uint8_t *m = mask.ptr<std::uint8_t>(rr);
    const float *q = ratio.ptr<float>(rr);
    for (int dx = -1; dx <= 1; ++dx) {
      const int cc = c + dx;
      if (cc < 0 || cc >= w || (m[cc] != kShadow && m[cc] != 254)) {
        continue;
      }
      if (dx != 0 || dy != 0) {
        sum += q[cc];
        ++n;
      }
    }
  }
  return n >= 4 && std::fabs(ratio.ptr<float>(r)[c] - sum / n) > kShadowSmooth;
}

void settle_textured_scalar(cv::Mat &mask, const cv::Mat &ratio,
                            const std::vector<std::uint8_t> &rows) {
  const int w = mask.cols, h = mask.rows;
  for (int r = 0; r < h; ++r) {
    if (!rows[r]) {
      continue;
    }
    std::uint8_t *out = mask.ptr<std::uint8_t>(r);
    for (int c = 0; c < w; ++c) {
      if (out[c] == kShadow && textured(mask, ratio, r, c)) {
        out[c] = 254;  // textured like an object: motion (254 until the pass ends)
      }
    }
  }
  for (int r = 0; r < h; ++r) {
    std::uint8_t *out = mask.ptr<std::uint8_t>(r);
    for (int c = 0; rows[r] && c < w; ++c) {
      out[c] = out[c] == 254 ? kMotion : out[c];
    }
  }
}

#if CV_SIMD128
// Padding of the row buffers: one column either side of the row, and what a 4-lane load at the
// last column reads past it.
constexpr int kPad = 1 + 4;

// Row `r` of the mask as buffers from column -1: its ratios where it holds candidates (else 0),
// and 1 where it does (else 0). dirty[b]: whether the buffers' 16 columns from 16 b hold
// anything but 0 (kept by the caller per buffer; all 0 to start).
void fill_row(const cv::Mat &mask, const cv::Mat &ratio, int r, float *q, float *one,
              std::uint8_t *dirty) {
  const int w = mask.cols;
  const std::uint8_t *m = mask.ptr<std::uint8_t>(r);
  const float *a = ratio.ptr<float>(r);
  int c = 0;
  const cv::v_uint8x16 shadow = cv::v_setall_u8(kShadow);
  const cv::v_float32x4 ones = cv::v_setall_f32(1.f), zero = cv::v_setzero_f32();
  for (; c + 16 <= w; c += 16) {
    const cv::v_uint8x16 is = cv::v_load(m + c) == shadow;
    std::uint8_t &d = dirty[c / 16];
    if (!cv::v_check_any(is)) {
      if (d) {
        for (int j = 0; j < 16; j += 4) {
          cv::v_store(q + 1 + c + j, zero);
          cv::v_store(one + 1 + c + j, zero);
        }
        d = 0;
      }
      continue;
    }
    d = 1;
    // A set byte (-1) widened with its sign: all-ones lanes.
    cv::v_int16x8 lo16, hi16;
    cv::v_expand(cv::v_reinterpret_as_s8(is), lo16, hi16);
    cv::v_int32x4 e0, e1, e2, e3;
    cv::v_expand(lo16, e0, e1);
    cv::v_expand(hi16, e2, e3);
    const cv::v_float32x4 s0 = cv::v_reinterpret_as_f32(e0), s1 = cv::v_reinterpret_as_f32(e1);
    const cv::v_float32x4 s2 = cv::v_reinterpret_as_f32(e2), s3 = cv::v_reinterpret_as_f32(e3);
    cv::v_store(q + 1 + c, cv::v_load(a + c) & s0);
    cv::v_store(q + 5 + c, cv::v_load(a + c + 4) & s1);
    cv::v_store(q + 9 + c, cv::v_load(a + c + 8) & s2);
    cv::v_store(q + 13 + c, cv::v_load(a + c + 12) & s3);
    cv::v_store(one + 1 + c, ones & s0);
    cv::v_store(one + 5 + c, ones & s1);
    cv::v_store(one + 9 + c, ones & s2);
    cv::v_store(one + 13 + c, ones & s3);
  }
  for (; c < w; ++c) {
    const bool is = m[c] == kShadow;
    q[1 + c] = is ? a[c] : 0.f;
    one[1 + c] = is ? 1.f : 0.f;
  }
}

// The same decisions, four candidates at a time from row buffers (judged on the mask as it came
// in: a candidate judged textured counted as a neighbour in the scalar rule as well, as 254).
// The sums are taken in the scalar rule's order; a neighbour that is no candidate adds 0, which
// leaves a float sum as it was, and the count is a sum of ones (exact).
void settle_textured_vector(cv::Mat &mask, const cv::Mat &ratio,
                            const std::vector<std::uint8_t> &rows, ShadowScratch &s) {
  const int w = mask.cols, h = mask.rows;
  const std::size_t stride = static_cast<std::size_t>(w) + 2 * kPad;
  // Slots 0-2: rows (by row % 3); slot 3: a row of no candidates.
  const std::size_t blocks = static_cast<std::size_t>(w) / 16 + 1;
  if (s.q.size() != 4 * stride) {
    s.q.assign(4 * stride, 0.f);
    s.one.assign(4 * stride, 0.f);
    s.dirty.assign(3 * blocks, 0);
  }
  std::fill(std::begin(s.slot_row), std::end(s.slot_row), -1);
  auto slot = [&](int r, const float *&q, const float *&one) {
    std::size_t at = 3 * stride;
    if (r >= 0 && r < h && rows[r]) {
      const int k = r % 3;
      at = k * stride;
      if (s.slot_row[k] != r) {
        fill_row(mask, ratio, r, s.q.data() + at, s.one.data() + at, s.dirty.data() + k * blocks);
        s.slot_row[k] = r;
      }
    }
    q = s.q.data() + at + 1;
    one = s.one.data() + at + 1;
  };
  const cv::v_float32x4 zero = cv::v_setzero_f32(), four = cv::v_setall_f32(4.f);
  const cv::v_float32x4 smooth = cv::v_setall_f32(kShadowSmooth);
  for (int r = 0; r < h; ++r) {
    if (!rows[r]) {
      continue;
    }
    // Row r + 1 is taken before row r's marks (they are in row r only), row r - 1 was taken
    // before its own.
    const float *q[3], *one[3];
    slot(r - 1, q[0], one[0]);
    slot(r, q[1], one[1]);
    slot(r + 1, q[2], one[2]);
    std::uint8_t *out = mask.ptr<std::uint8_t>(r);
    // Candidates 16 at a time (from the mask; past the last 16, from the row buffer): bit i for
    // column c + i.
    unsigned groups = 0;
    for (int c = 0; c < w; c += 4) {
      if ((c & 15) == 0) {
        if (c + 16 <= w) {
          groups = static_cast<unsigned>(
              cv::v_signmask(cv::v_load(out + c) == cv::v_setall_u8(kShadow)));
        } else {
          groups = 0;
          for (int i = 0; c + i < w; ++i) {
            groups |= static_cast<unsigned>(one[1][c + i] > 0.f) << i;
          }
        }
        if (groups == 0) {
          c += 12;
          continue;
        }
      }
      const unsigned group = (groups >> (c & 15)) & 15u;
      if (group == 0) {
        continue;
      }
      const cv::v_float32x4 centre = cv::v_load(one[1] + c) > zero;
      const float *q0 = q[0] + c, *q1 = q[1] + c, *q2 = q[2] + c;
      const float *o0 = one[0] + c, *o1 = one[1] + c, *o2 = one[2] + c;
      cv::v_float32x4 sum = zero + cv::v_load(q0 - 1);
      sum = sum + cv::v_load(q0);
      sum = sum + cv::v_load(q0 + 1);
      sum = sum + cv::v_load(q1 - 1);
      sum = sum + cv::v_load(q1 + 1);
      sum = sum + cv::v_load(q2 - 1);
      sum = sum + cv::v_load(q2);
      sum = sum + cv::v_load(q2 + 1);
      const cv::v_float32x4 n = cv::v_load(o0 - 1) + cv::v_load(o0) + cv::v_load(o0 + 1) +
                                cv::v_load(o1 - 1) + cv::v_load(o1 + 1) + cv::v_load(o2 - 1) +
                                cv::v_load(o2) + cv::v_load(o2 + 1);
      const cv::v_float32x4 off = cv::v_abs(cv::v_load(q[1] + c) - sum / n);
      const int bits = cv::v_signmask(centre & (n >= four) & (off > smooth));
      // (Columns past the row hold no candidate: no bit there.)
      for (int i = 0; bits != 0 && i < 4; ++i) {
        if (bits & (1 << i)) {
          out[c + i] = kMotion;
        }
      }
    }
  }
}
#endif

}  // namespace

void settle_textured_shadows(cv::Mat &mask, const cv::Mat &ratio,
                             const std::vector<std::uint8_t> &rows, ShadowScratch &scratch,
                             Simd simd) {
  CV_Assert(mask.type() == CV_8UC1 && ratio.type() == CV_32FC1 && mask.size() == ratio.size() &&
            rows.size() == static_cast<std::size_t>(mask.rows));
#if CV_SIMD128
  if (simd != Simd::kNone) {
    settle_textured_vector(mask, ratio, rows, scratch);
    return;
  }
#endif
  (void)simd;
  (void)scratch;
  settle_textured_scalar(mask, ratio, rows);
}

}  // namespace scene
}  // namespace heatmap
