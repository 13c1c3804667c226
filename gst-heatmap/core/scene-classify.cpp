// scene-classify.cpp: the scene model's per-pixel decision and learning, one row at a time.
// The vectorised path does, lane by lane, exactly the float operations of the scalar one (same
// order, no fused multiply-add, selects instead of branches), so both give the same bits.
//
// Compiled twice on x86-64 (gst-heatmap/core/meson.build): once for the baseline (SSE2, 4 lanes
// of float) with the dispatcher, and once with -mavx2 and HEATMAP_SCENE_CLASSIFY_AVX2 (8 lanes),
// which only defines classify_row_avx2. OpenCV's headers enable 256-bit universal intrinsics
// for code outside OpenCV only when told (the CV_AVX2 family below); CV_CPU_DISPATCH_MODE puts
// them in their own namespace (cv::hal_AVX2), apart from the baseline's inline functions.
#ifdef HEATMAP_SCENE_CLASSIFY_AVX2
#include <immintrin.h>
#define CV_CPU_DISPATCH_MODE AVX2
#define CV_SSE3 1
#define CV_SSSE3 1
#define CV_SSE4_1 1
#define CV_SSE4_2 1
#define CV_AVX 1
#define CV_AVX2 1
#endif

#include "scene-classify.h"

#include <opencv2/core/hal/intrin.hpp>

#include <algorithm>

namespace heatmap {
namespace scene {

namespace {

// The frame's constants, derived once per row.
struct Derived {
  float g, g2, ig, b, du, dv, k, k_learn, a, afg, min_vy, min_vc, max_v;
  int absorb;
  bool shadows;
  explicit Derived(const ClassifyParams &p)
      : g(p.gain),
        g2(p.gain * p.gain),
        ig(1.0f / p.gain),
        b(p.offset),
        du(p.du),
        dv(p.dv),
        k(p.threshold),
        k_learn(kSpreadShare * p.threshold),
        a(p.rate),
        afg(p.fg_rate),
        min_vy(kMinSigmaY * kMinSigmaY),
        min_vc(kMinSigmaC * kMinSigmaC),
        max_v(kMaxSigma * kMaxSigma),
        absorb(p.absorb),
        shadows(p.shadows) {}
};

// Whether the brightest of R, G and B (BT.601 from Y and centred U, V) is near the top.
inline bool saturated(float y, float u, float v) {
  const float r = y + 1.402f * v, g = y - 0.344f * u - 0.714f * v, b = y + 1.772f * u;
  return std::max({r, g, b}) >= kSaturated;
}

template <bool kColour>
inline void pixel(const ClassifyRow &row, const Derived &d, int c, ClassifyTally &t) {
  if (row.valid != nullptr && row.valid[c] == 0) {
    row.mask[c] = kBackground;
    row.ratio[c] = 1.f;
    return;
  }
  const bool counted = row.counted == nullptr || row.counted[c] != 0;
  t.inside += counted;
  const float fy = row.y[c];
  const float py = d.g * row.my[c] + d.b;
  const float ry = std::min(fy, kClip) - std::min(py, kClip);
  row.ratio[c] = py > 1.f ? fy / py : 1.f;
  const float var_y = d.g2 * row.vy[c];
  // One Mahalanobis distance over luma and chroma (as MOG2 does over its channels): a person a
  // little different in brightness and a little in colour is still seen.
  float dist = ry * ry / var_y;
  float eu = 0.f, ev = 0.f, pu = 0.f, pv = 0.f, fu = 0.f, fv = 0.f;
  bool clipped = fy >= kClip || py >= kClip;
  if (kColour) {
    fu = row.u[c] - 128.f;
    fv = row.v[c] - 128.f;
    pu = d.g * (row.mu[c] - 128.f) + d.du;
    pv = d.g * (row.mv[c] - 128.f) + d.dv;
    eu = fu - pu;
    ev = fv - pv;
    // A colour channel at the sensor's top (seen or predicted) bends the chroma: brighter
    // lights on a pale floor must not read as a change of colour.
    clipped = clipped || saturated(fy, fu, fv) || saturated(std::min(py, 255.f), pu, pv);
    if (!clipped) {
      dist += (eu * eu + ev * ev) / (d.g2 * row.vc[c]);
    }
  }
  bool fg = dist > d.k;
  bool settling = false;
  if (row.fresh[c] > 0) {
    --row.fresh[c];
    settling = fg && dist <= kFreshSlack * d.k;
    fg = fg && !settling;
  }
  std::uint8_t label = fg ? kMotion : kBackground;
  if (fg && d.shadows && ry < 0 && py > 0) {
    const float ratio = fy / py;
    if (ratio >= kShadowLow && ratio <= kShadowHigh) {
      bool same_colour = true;
      if (kColour) {
        const float su = fu - ratio * pu, sv = fv - ratio * pv;
        same_colour = su * su + sv * sv <= kShadowShare * d.k * d.g2 * row.vc[c] * ratio * ratio;
      }
      if (same_colour) {
        label = kShadow;
        ++t.candidates;
      }
    }
  }
  row.mask[c] = label;
  t.moving += counted && label == kMotion;
  // Learn the scene in its own lighting (the frame divided by the gain). Something foreground
  // for longer than `absorb` frames (a ghost, a parked object) joins the scene within a few
  // frames, as a new MOG2 mode would; a person pausing for a couple of seconds still counts.
  std::uint16_t &st = row.streak[c];
  st = fg ? static_cast<std::uint16_t>(std::min<int>(st + 1, 0xFFFF)) : 0;
  t.lasting += fg && st >= kGhostStreak;
  const float w = settling ? kFreshRate : !fg ? d.a : st > d.absorb ? kAbsorbRate : d.afg;
  row.my[c] += w * ((fy - d.b) * d.ig - row.my[c]);
  // The spreads learn only from what lies well inside them (see kSpreadShare).
  const bool spread = !fg && dist <= d.k_learn;
  if (spread) {
    row.vy[c] =
        std::clamp(row.vy[c] + d.a * (ry * ry * d.ig * d.ig - row.vy[c]), d.min_vy, d.max_v);
  }
  if (kColour) {
    row.mu[c] += w * ((fu - d.du) * d.ig + 128.f - row.mu[c]);
    row.mv[c] += w * ((fv - d.dv) * d.ig + 128.f - row.mv[c]);
    if (spread && !clipped) {
      row.vc[c] =
          std::clamp(row.vc[c] + d.a * (0.5f * (eu * eu + ev * ev) * d.ig * d.ig - row.vc[c]),
                     d.min_vc, d.max_v);
    }
  }
}

#if CV_SIMD

using cv::v_float32;
using cv::v_int32;
using cv::v_uint16;
using cv::v_uint32;
using cv::v_uint8;

constexpr int kLanes8 = v_uint8::nlanes;
constexpr int kLanes32 = v_float32::nlanes;

// The four groups of 32-bit lanes of an 8-bit vector, as floats.
inline void widen(const v_uint8 &a, v_float32 out[4]) {
  v_uint16 a0, a1;
  cv::v_expand(a, a0, a1);
  v_uint32 b[4];
  cv::v_expand(a0, b[0], b[1]);
  cv::v_expand(a1, b[2], b[3]);
  for (int j = 0; j < 4; ++j) {
    out[j] = cv::v_cvt_f32(cv::v_reinterpret_as_s32(b[j]));
  }
}

// The four groups of an 8-bit mask (0 or 0xFF per lane) as 32-bit masks (all bits set or none).
inline void widen_mask(const v_uint8 &m, v_float32 out[4]) {
  cv::v_int16 a0, a1;
  cv::v_expand(cv::v_reinterpret_as_s8(m), a0, a1);
  v_int32 b[4];
  cv::v_expand(a0, b[0], b[1]);
  cv::v_expand(a1, b[2], b[3]);
  for (int j = 0; j < 4; ++j) {
    out[j] = cv::v_reinterpret_as_f32(b[j]);
  }
}

inline v_float32 vsaturated(const v_float32 &y, const v_float32 &u, const v_float32 &v) {
  const v_float32 r = y + cv::vx_setall_f32(1.402f) * v;
  const v_float32 g = y - cv::vx_setall_f32(0.344f) * u - cv::vx_setall_f32(0.714f) * v;
  const v_float32 b = y + cv::vx_setall_f32(1.772f) * u;
  return cv::v_max(cv::v_max(r, g), b) >= cv::vx_setall_f32(kSaturated);
}

inline v_uint32 as_u32(const v_float32 &m) {
  return cv::v_reinterpret_as_u32(m);
}

// a & ~b, lane by lane.
template <typename V>
inline V andnot(const V &a, const V &b) {
  return a & ~b;
}

// Pixels [x, x + kLanes8) of the row; returns the lanes' tallies added into the counters.
template <bool kColour>
inline void block(const ClassifyRow &row, const Derived &d, int x, v_uint32 &inside,
                  v_uint32 &moving, v_uint32 &candidates, v_uint32 &lasting) {
  const v_uint8 zero8 = cv::vx_setzero_u8();
  const v_uint8 valid8 =
      row.valid != nullptr ? cv::vx_load(row.valid + x) != zero8 : cv::vx_setall_u8(0xFF);
  const v_uint8 counted8 =
      row.counted != nullptr ? cv::vx_load(row.counted + x) != zero8 : cv::vx_setall_u8(0xFF);
  const v_uint8 fresh8 = cv::vx_load(row.fresh + x);
  v_float32 fy4[4], fu4[4], fv4[4], valid4[4], counted4[4], fresh4[4];
  widen(cv::vx_load(row.y + x), fy4);
  if (kColour) {
    widen(cv::vx_load(row.u + x), fu4);
    widen(cv::vx_load(row.v + x), fv4);
  }
  widen_mask(valid8, valid4);
  widen_mask(counted8, counted4);
  widen_mask(fresh8 != zero8, fresh4);
  v_uint16 st16[2] = {cv::vx_load(row.streak + x), cv::vx_load(row.streak + x + kLanes8 / 2)};
  v_uint32 st32[4];
  cv::v_expand(st16[0], st32[0], st32[1]);
  cv::v_expand(st16[1], st32[2], st32[3]);

  const v_float32 one = cv::vx_setall_f32(1.f), zero = cv::vx_setzero_f32();
  const v_float32 c128 = cv::vx_setall_f32(128.f), c255 = cv::vx_setall_f32(255.f);
  const v_float32 clip = cv::vx_setall_f32(kClip);
  const v_float32 g = cv::vx_setall_f32(d.g), g2 = cv::vx_setall_f32(d.g2);
  const v_float32 ig = cv::vx_setall_f32(d.ig), b = cv::vx_setall_f32(d.b);
  const v_float32 du = cv::vx_setall_f32(d.du), dv = cv::vx_setall_f32(d.dv);
  const v_float32 k = cv::vx_setall_f32(d.k), k_learn = cv::vx_setall_f32(d.k_learn);
  const v_float32 slack = cv::vx_setall_f32(kFreshSlack * d.k);
  const v_float32 a = cv::vx_setall_f32(d.a), afg = cv::vx_setall_f32(d.afg);
  const v_float32 fresh_rate = cv::vx_setall_f32(kFreshRate);
  const v_float32 absorb_rate = cv::vx_setall_f32(kAbsorbRate);
  const v_float32 min_vy = cv::vx_setall_f32(d.min_vy), min_vc = cv::vx_setall_f32(d.min_vc);
  const v_float32 max_v = cv::vx_setall_f32(d.max_v);
  const v_float32 half = cv::vx_setall_f32(0.5f);
  const v_float32 low = cv::vx_setall_f32(kShadowLow), high = cv::vx_setall_f32(kShadowHigh);
  const v_float32 share = cv::vx_setall_f32(kShadowShare);
  const v_float32 shadows = d.shadows ? cv::v_reinterpret_as_f32(cv::vx_setall_s32(-1)) : zero;
  const v_uint32 one32 = cv::vx_setall_u32(1), max16 = cv::vx_setall_u32(0xFFFF);
  const v_int32 absorb = cv::vx_setall_s32(d.absorb);
  const v_int32 ghost_streak = cv::vx_setall_s32(kGhostStreak);
  const v_uint32 motion = cv::vx_setall_u32(kMotion), shadow = cv::vx_setall_u32(kShadow);

  v_uint32 label32[4], st_out[4];
  for (int j = 0; j < 4; ++j) {
    const int at = x + j * kLanes32;
    const v_float32 valid = valid4[j];
    const v_float32 fy = fy4[j];
    const v_float32 my = cv::vx_load(row.my + at), vy = cv::vx_load(row.vy + at);
    const v_float32 py = g * my + b;
    const v_float32 ry = cv::v_min(fy, clip) - cv::v_min(py, clip);
    const v_float32 q = fy / py;
    cv::v_store(row.ratio + at, cv::v_select(valid & (py > one), q, one));
    const v_float32 var_y = g2 * vy;
    v_float32 dist = ry * ry / var_y;
    v_float32 clipped = (fy >= clip) | (py >= clip);
    v_float32 fu, fv, pu, pv, eu, ev, mu, mv, vc;
    if (kColour) {
      fu = fu4[j] - c128;
      fv = fv4[j] - c128;
      mu = cv::vx_load(row.mu + at);
      mv = cv::vx_load(row.mv + at);
      vc = cv::vx_load(row.vc + at);
      pu = g * (mu - c128) + du;
      pv = g * (mv - c128) + dv;
      eu = fu - pu;
      ev = fv - pv;
      clipped = clipped | vsaturated(fy, fu, fv) | vsaturated(cv::v_min(py, c255), pu, pv);
      dist = cv::v_select(clipped, dist, dist + (eu * eu + ev * ev) / (g2 * vc));
    }
    v_float32 fg = dist > k;
    const v_float32 settling = fresh4[j] & fg & (dist <= slack);
    fg = andnot(fg, settling);
    v_float32 is_shadow = fg & shadows & (ry < zero) & (py > zero) & (q >= low) & (q <= high);
    if (kColour) {
      const v_float32 su = fu - q * pu, sv = fv - q * pv;
      is_shadow = is_shadow & (su * su + sv * sv <= share * k * g2 * vc * q * q);
    }
    const v_uint32 fgu = as_u32(fg & valid), shu = as_u32(is_shadow & valid);
    label32[j] = cv::v_select(shu, shadow, motion & fgu);
    inside += as_u32(valid & counted4[j]) & one32;
    moving += as_u32(counted4[j]) & andnot(fgu, shu) & one32;
    candidates += shu & one32;
    // Streaks, kept where the pixel is outside the frame.
    const v_uint32 st_new = cv::v_min(st32[j] + one32, max16) & as_u32(fg);
    st_out[j] = cv::v_select(as_u32(valid), st_new, st32[j]);
    const v_int32 st_s = cv::v_reinterpret_as_s32(st_new);
    lasting += fgu & cv::v_reinterpret_as_u32(st_s >= ghost_streak) & one32;
    // Learning rate: settling, background, absorbed, or foreground.
    const v_float32 absorbed = cv::v_reinterpret_as_f32(st_s > absorb);
    const v_float32 w = cv::v_select(settling, fresh_rate,
                                     cv::v_select(fg, cv::v_select(absorbed, absorb_rate, afg), a));
    const v_float32 bg = andnot(valid, fg) & (dist <= k_learn);  // valid, learns its spread
    cv::v_store(row.my + at, cv::v_select(valid, my + w * ((fy - b) * ig - my), my));
    const v_float32 vy_new = cv::v_min(cv::v_max(vy + a * (ry * ry * ig * ig - vy), min_vy), max_v);
    cv::v_store(row.vy + at, cv::v_select(bg, vy_new, vy));
    if (kColour) {
      cv::v_store(row.mu + at, cv::v_select(valid, mu + w * ((fu - du) * ig + c128 - mu), mu));
      cv::v_store(row.mv + at, cv::v_select(valid, mv + w * ((fv - dv) * ig + c128 - mv), mv));
      const v_float32 vc_new =
          cv::v_min(cv::v_max(vc + a * (half * (eu * eu + ev * ev) * ig * ig - vc), min_vc), max_v);
      cv::v_store(row.vc + at, cv::v_select(andnot(bg, clipped), vc_new, vc));
    }
  }
  const v_uint8 labels =
      cv::v_pack(cv::v_pack(label32[0], label32[1]), cv::v_pack(label32[2], label32[3]));
  cv::v_store(row.mask + x, labels);
  cv::v_store(row.streak + x, cv::v_pack(st_out[0], st_out[1]));
  cv::v_store(row.streak + x + kLanes8 / 2, cv::v_pack(st_out[2], st_out[3]));
  // Settling frames run down inside the frame (saturating: 0 stays 0).
  cv::v_store(row.fresh + x, fresh8 - (valid8 & cv::vx_setall_u8(1)));
}

#endif

template <bool kColour>
void classify(const ClassifyRow &row, const ClassifyParams &p, int width, ClassifyTally &t,
              bool vectorised) {
  const Derived d(p);
  int x = 0;
#if CV_SIMD
  if (vectorised) {
    v_uint32 inside = cv::vx_setzero_u32(), moving = inside, candidates = inside, lasting = inside;
    for (; x + kLanes8 <= width; x += kLanes8) {
      block<kColour>(row, d, x, inside, moving, candidates, lasting);
    }
    t.inside += cv::v_reduce_sum(inside);
    t.moving += cv::v_reduce_sum(moving);
    t.candidates += cv::v_reduce_sum(candidates);
    t.lasting += cv::v_reduce_sum(lasting);
  }
#else
  (void)vectorised;
#endif
  for (; x < width; ++x) {
    pixel<kColour>(row, d, x, t);
  }
}

}  // namespace

namespace detail {

#ifdef HEATMAP_SCENE_CLASSIFY_AVX2
#define HEATMAP_CLASSIFY_KERNEL classify_row_avx2
#else
#define HEATMAP_CLASSIFY_KERNEL classify_row_baseline
#endif

void HEATMAP_CLASSIFY_KERNEL(const ClassifyRow &row, const ClassifyParams &p, int width,
                             ClassifyTally &tally, bool vectorised);
void HEATMAP_CLASSIFY_KERNEL(const ClassifyRow &row, const ClassifyParams &p, int width,
                             ClassifyTally &tally, bool vectorised) {
  if (row.u != nullptr && row.v != nullptr && row.mu != nullptr) {
    classify<true>(row, p, width, tally, vectorised);
  } else {
    classify<false>(row, p, width, tally, vectorised);
  }
  cv::vx_cleanup();
}

#ifdef HEATMAP_HAVE_CLASSIFY_AVX2
void classify_row_avx2(const ClassifyRow &row, const ClassifyParams &p, int width,
                       ClassifyTally &tally, bool vectorised);
#endif

}  // namespace detail

#ifndef HEATMAP_SCENE_CLASSIFY_AVX2
bool classify_has_avx2() {
#ifdef HEATMAP_HAVE_CLASSIFY_AVX2
  static const bool avx2 = __builtin_cpu_supports("avx2");
  return avx2;
#else
  return false;
#endif
}

void classify_row(const ClassifyRow &row, const ClassifyParams &p, int width, ClassifyTally &tally,
                  Simd simd) {
#ifdef HEATMAP_HAVE_CLASSIFY_AVX2
  if (simd == Simd::kWidest && classify_has_avx2()) {
    detail::classify_row_avx2(row, p, width, tally, true);
    return;
  }
#endif
  detail::classify_row_baseline(row, p, width, tally, simd != Simd::kNone);
}
#endif

}  // namespace scene
}  // namespace heatmap
