// lighting.cpp: robust (median) estimate of the global gain and white-balance offsets.
#include "lighting.h"

#include <opencv2/core/hal/intrin.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cmath>
#include <vector>

namespace heatmap {

namespace {

// Grid points of the gain and white-balance offsets. The median of 2,000 ratios is stable to
// far better than a level: a frame's noise of 1-2 % per pixel gives the median a standard error
// of about 0.04 % (8,000 points, before session 13: 0.02 %, at four times the cost, the largest
// part of the lighting estimate at 480x270).
constexpr int kSamples = 2000;
constexpr int kMinSamples = 200;
// The channel gains and the luma offset are fitted on a coarser grid: they take several medians
// each, and the median of 2,000 samples moves far less than the 2 % white-balance step.
constexpr int kFitSamples = 2000;
// The darker and the brighter half of the scene's samples must differ by this much (levels)
// for a gain and an offset to be told apart.
constexpr double kMinSpread = 20.0;
// An offset must bring the median absolute residual under this share of the gain-only one.
constexpr double kOffsetGain = 0.7;

// The median: the element nth_element would put at size/2. A histogram over the values' range
// narrows it to one bin and nth_element runs on that bin alone: the same value (any binning
// that keeps the values' order does), a few times faster on a frame's thousands of samples.
// The range and the bins are found with vectors (float arithmetic: monotonic too).
double median(std::vector<float> &v, std::vector<float> &bin_values,
              std::vector<std::uint16_t> &bins) {
  const std::size_t n = v.size(), k = n / 2;
  const float *x = v.data();
  float lo = x[0], hi = x[0];
  std::size_t i = 0;
#if CV_SIMD128
  if (n >= 4) {
    cv::v_float32x4 vlo = cv::v_load(x), vhi = vlo;
    for (; i + 4 <= n; i += 4) {
      const cv::v_float32x4 a = cv::v_load(x + i);
      vlo = cv::v_min(vlo, a);
      vhi = cv::v_max(vhi, a);
    }
    lo = cv::v_reduce_min(vlo);
    hi = cv::v_reduce_max(vhi);
  }
#endif
  for (; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  if (!(hi > lo)) {
    return lo;
  }
  constexpr int kBins = 1024;
  const float scale = static_cast<float>(kBins) / (hi - lo);
  if (!std::isfinite(scale)) {  // a range too narrow to divide: sort it all
    const auto mid = v.begin() + static_cast<std::ptrdiff_t>(k);
    std::nth_element(v.begin(), mid, v.end());
    return *mid;
  }
  const float top = static_cast<float>(kBins - 1);
  bins.resize(n);
  std::uint16_t *b = bins.data();
  i = 0;
#if CV_SIMD128
  {
    const cv::v_float32x4 vlo = cv::v_setall_f32(lo), vscale = cv::v_setall_f32(scale),
                          vtop = cv::v_setall_f32(top);
    for (; i + 8 <= n; i += 8) {
      const cv::v_int32x4 b0 = cv::v_trunc(cv::v_min((cv::v_load(x + i) - vlo) * vscale, vtop));
      const cv::v_int32x4 b1 = cv::v_trunc(cv::v_min((cv::v_load(x + i + 4) - vlo) * vscale, vtop));
      cv::v_store(b + i, cv::v_reinterpret_as_u16(cv::v_pack(b0, b1)));
    }
  }
#endif
  for (; i < n; ++i) {
    b[i] = static_cast<std::uint16_t>(std::min((x[i] - lo) * scale, top));
  }
  std::array<std::uint32_t, kBins> count{};
  for (i = 0; i < n; ++i) {
    ++count[b[i]];
  }
  std::size_t before = 0;
  int bin = 0;
  while (before + count[bin] <= k) {
    before += count[bin++];
  }
  bin_values.clear();
  for (i = 0; i < n; ++i) {
    if (b[i] == bin) {
      bin_values.push_back(x[i]);
    }
  }
  const auto mid = bin_values.begin() + static_cast<std::ptrdiff_t>(k - before);
  std::nth_element(bin_values.begin(), mid, bin_values.end());
  return *mid;
}

// Calls fn(row, col) at the points of a regular grid of about `samples` points over a frame of
// y's size, row by row, skipping those `use` (when given) leaves out.
template <typename Fn>
void for_each_sample(const cv::Mat &y, const cv::Mat &use, int samples, Fn fn) {
  const int step = std::max(1, static_cast<int>(std::sqrt(y.total() / double(samples))));
  for (int r = step / 2; r < y.rows; r += step) {
    const std::uint8_t *pu = use.empty() ? nullptr : use.ptr<std::uint8_t>(r);
    for (int c = step / 2; c < y.cols; c += step) {
      if (pu == nullptr || pu[c] != 0) {
        fn(r, c);
      }
    }
  }
}

// How many points for_each_sample visits at most (every one, when `use` leaves none out).
std::size_t sample_count(const cv::Mat &y, int samples) {
  const int step = std::max(1, static_cast<int>(std::sqrt(y.total() / double(samples))));
  const std::size_t rows = y.rows > step / 2 ? (y.rows - step / 2 + step - 1) / step : 0;
  const std::size_t cols = y.cols > step / 2 ? (y.cols - step / 2 + step - 1) / step : 0;
  return rows * cols;
}

// Neither too dark nor saturated: a level whose change tells the lighting.
inline bool usable_level(float x) {
  return x >= 20.f && x <= 230.f;
}

}  // namespace

Photometric estimate_photometric(const cv::Mat &y, const cv::Mat &u, const cv::Mat &v,
                                 const cv::Mat &my, const cv::Mat &mu, const cv::Mat &mv,
                                 const cv::Mat &use, PhotometricScratch *scratch, double offset) {
  Photometric p;
  const float b = static_cast<float>(offset);
  PhotometricScratch local;
  PhotometricScratch &s = scratch != nullptr ? *scratch : local;
  std::vector<float> &ratio = s.ratio;
  ratio.clear();
  // One pass over the grid: the luma ratios, and the chroma of every sample with usable luma
  // (the white-balance offsets need the gain, so they are made from these afterwards).
  const bool colour = !u.empty() && !v.empty();
  // Written by index into buffers sized for the whole grid (push_back's capacity checks cost
  // as much as the sampling), then cut to what was taken.
  const std::size_t most = sample_count(y, kSamples);
  ratio.resize(most);
  s.u.resize(colour ? most : 0);
  s.mu.resize(s.u.size());
  s.v.resize(s.u.size());
  s.mv.resize(s.u.size());
  std::size_t taken = 0, chroma = 0;
  for_each_sample(y, use, kSamples, [&](int r, int c) {
    const float fy = y.ptr<std::uint8_t>(r)[c];
    if (!usable_level(fy)) {
      return;
    }
    const float my_c = my.ptr<float>(r)[c];
    if (usable_level(my_c)) {
      ratio[taken++] = (fy - b) / my_c;
    }
    if (colour) {
      s.u[chroma] = u.ptr<std::uint8_t>(r)[c] - 128.f;
      s.mu[chroma] = mu.ptr<float>(r)[c] - 128.f;
      s.v[chroma] = v.ptr<std::uint8_t>(r)[c] - 128.f;
      s.mv[chroma] = mv.ptr<float>(r)[c] - 128.f;
      ++chroma;
    }
  });
  ratio.resize(taken);
  s.u.resize(chroma);
  if (ratio.size() < kMinSamples) {
    return p;
  }
  p.gain = median(ratio, s.bin, s.bins);
  if (!colour) {
    return p;
  }
  std::vector<float> &eu = s.eu, &ev = s.ev;
  const std::size_t n = s.u.size();
  eu.resize(n);
  ev.resize(n);
  const float g = static_cast<float>(p.gain);
  for (std::size_t i = 0; i < n; ++i) {
    eu[i] = s.u[i] - g * s.mu[i];
    ev[i] = s.v[i] - g * s.mv[i];
  }
  if (eu.size() >= kMinSamples) {
    p.du = median(eu, s.bin, s.bins);
    p.dv = median(ev, s.bin, s.bins);
  }
  return p;
}

namespace {

// BT.601 (the constants the scene model's saturation test uses), on centred chroma.
inline void to_rgb(float y, float u, float v, float out[3]) {
  out[0] = y + 1.402f * v;
  out[1] = y - 0.344f * u - 0.714f * v;
  out[2] = y + 1.772f * u;
}

}  // namespace

ChannelGains estimate_channel_gains(const cv::Mat &y, const cv::Mat &u, const cv::Mat &v,
                                    const cv::Mat &my, const cv::Mat &mu, const cv::Mat &mv,
                                    const cv::Mat &use, PhotometricScratch *scratch) {
  ChannelGains gains;
  if (u.empty() || v.empty() || mu.empty() || mv.empty()) {
    return gains;
  }
  PhotometricScratch local;
  PhotometricScratch &s = scratch != nullptr ? *scratch : local;
  std::vector<float> *ratios[3] = {&s.ratio, &s.eu, &s.ev};
  // Written by index into buffers sized for the grid, then cut to what was taken.
  const std::size_t most = sample_count(y, kFitSamples);
  for (std::vector<float> *r : ratios) {
    r->resize(most);
  }
  std::size_t taken = 0;
  for_each_sample(y, use, kFitSamples, [&](int r, int c) {
    float f[3], m[3];
    to_rgb(y.ptr<std::uint8_t>(r)[c], u.ptr<std::uint8_t>(r)[c] - 128.f,
           v.ptr<std::uint8_t>(r)[c] - 128.f, f);
    to_rgb(my.ptr<float>(r)[c], mu.ptr<float>(r)[c] - 128.f, mv.ptr<float>(r)[c] - 128.f, m);
    for (int ch = 0; ch < 3; ++ch) {
      if (!(f[ch] > 20.f && f[ch] < 230.f && m[ch] > 20.f && m[ch] < 230.f)) {
        return;
      }
    }
    for (int ch = 0; ch < 3; ++ch) {
      (*ratios[ch])[taken] = f[ch] / m[ch];
    }
    ++taken;
  });
  for (std::vector<float> *r : ratios) {
    r->resize(taken);
  }
  if (s.ratio.size() < kMinSamples) {
    return gains;
  }
  gains.r = median(s.ratio, s.bin, s.bins);
  gains.g = median(s.eu, s.bin, s.bins);
  gains.b = median(s.ev, s.bin, s.bins);
  return gains;
}

double estimate_luma_offset(const cv::Mat &y, const cv::Mat &my, const cv::Mat &use,
                            PhotometricScratch *scratch) {
  PhotometricScratch local;
  PhotometricScratch &s = scratch != nullptr ? *scratch : local;
  std::vector<float> &f = s.ratio, &m = s.eu, &half = s.ev;
  const std::size_t most = sample_count(y, kFitSamples);
  f.resize(most);
  m.resize(most);
  std::size_t taken = 0;
  for_each_sample(y, use, kFitSamples, [&](int r, int c) {
    const float fy = y.ptr<std::uint8_t>(r)[c], my_c = my.ptr<float>(r)[c];
    if (usable_level(fy) && usable_level(my_c)) {
      f[taken] = fy;
      m[taken] = my_c;
      ++taken;
    }
  });
  f.resize(taken);
  m.resize(taken);
  if (f.size() < kMinSamples) {
    return 0.0;
  }
  half = m;
  const double split = median(half, s.bin, s.bins);
  double med[2][2];  // [darker, brighter half][frame, scene]
  for (int h = 0; h < 2; ++h) {
    for (int which = 0; which < 2; ++which) {
      half.resize(f.size());
      std::size_t n = 0;
      for (std::size_t i = 0; i < f.size(); ++i) {
        if ((m[i] >= split) == (h == 1)) {
          half[n++] = which == 0 ? f[i] : m[i];
        }
      }
      half.resize(n);
      if (half.size() < kMinSamples / 4) {
        return 0.0;
      }
      med[h][which] = median(half, s.bin, s.bins);
    }
  }
  if (med[1][1] - med[0][1] < kMinSpread) {
    return 0.0;
  }
  const double gain = (med[1][0] - med[0][0]) / (med[1][1] - med[0][1]);
  half.resize(f.size());
  for (std::size_t i = 0; i < f.size(); ++i) {
    half[i] = static_cast<float>(f[i] - gain * m[i]);
  }
  const double offset = median(half, s.bin, s.bins);
  // Believed only when it explains the frame clearly better than a gain alone (the median
  // absolute residual of each): a few busy pixels in one half (a screen, people) tilt the
  // two-point fit, and a tilted fit's offset is no offset at all.
  auto residual = [&](double g, double b) {
    half.resize(f.size());
    for (std::size_t i = 0; i < f.size(); ++i) {
      half[i] = static_cast<float>(std::fabs(f[i] - g * m[i] - b));
    }
    return median(half, s.bin, s.bins);
  };
  half.resize(f.size());
  for (std::size_t i = 0; i < f.size(); ++i) {
    half[i] = f[i] / m[i];
  }
  const double gain_only = median(half, s.bin, s.bins);
  return residual(gain, offset) < kOffsetGain * residual(gain_only, 0.0) ? offset : 0.0;
}

cv::Matx33f white_balance_correction(const ChannelGains &gains, double gain) {
  const cv::Matx33d to_rgb_m(1.0, 0.0, 1.402, 1.0, -0.344, -0.714, 1.0, 1.772, 0.0);
  const cv::Matx33d inverse_gains(1.0 / gains.r, 0.0, 0.0, 0.0, 1.0 / gains.g, 0.0, 0.0, 0.0,
                                  1.0 / gains.b);
  const cv::Matx33d k = gain * (to_rgb_m.inv() * inverse_gains * to_rgb_m);
  return cv::Matx33f(k);
}

cv::Matx33f lighting_to_scene(const cv::Mat &y, const cv::Mat &u, const cv::Mat &v,
                              const cv::Mat &my, const cv::Mat &mu, const cv::Mat &mv,
                              const cv::Mat &use, PhotometricScratch *scratch) {
  const ChannelGains k = estimate_channel_gains(y, u, v, my, mu, mv, use, scratch);
  if (k.r != 1.0 || k.g != 1.0 || k.b != 1.0) {
    return white_balance_correction(k, 1.0);
  }
  const double g =
      estimate_photometric(y, cv::Mat(), cv::Mat(), my, cv::Mat(), cv::Mat(), use, scratch).gain;
  return cv::Matx33f::eye() * static_cast<float>(1.0 / g);
}

}  // namespace heatmap
