// stabiliser.cpp: phase correlation on small luma, and the shift back into the model's frame.
#include "stabiliser.h"

#include <opencv2/core/hal/intrin.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace heatmap {

void Stabiliser::reset() {
  ref_.release();
  ref_small_.release();
  last_ = {0.0, 0.0};
  still_ = 0;
}

double Stabiliser::residual(cv::Point2d d) {
  const cv::Mat *ref = &ref_small_;
  if (d.x != 0.0 || d.y != 0.0) {
    // moved(x) = reference(x - d)
    const cv::Matx23d m(1, 0, -d.x, 0, 1, -d.y);
    cv::warpAffine(ref_small_, moved_, m, small_, cv::INTER_LINEAR | cv::WARP_INVERSE_MAP,
                   cv::BORDER_REPLICATE);
    ref = &moved_;
  }
  cv::Mat a = cur_(inner_), b = (*ref)(inner_);
  cv::scaleAdd(b, -gain_, a, diff_);
  cv::absdiff(diff_, cv::Scalar::all(0), diff_);  // |diff|, in place
  cv::min(diff_, kTruncate, diff_);
  return use_.empty() ? cv::mean(diff_)[0] : cv::mean(diff_, use_)[0];
}

// cv::resize(src, dst, size, 0, 0, INTER_AREA) for an 8-bit plane reduced by a whole factor of
// 3 or more in both directions, to the bit: OpenCV takes such reductions through its generic
// area-fast loop (int sum of each block, times the float 1 / area, rounded by saturate_cast),
// which reads pixel by pixel through an offset table; this sums rows first. (A factor of 2 has
// its own vector code in OpenCV, with another rounding: left to cv::resize.)
void area_shrink(const cv::Mat &src, cv::Mat &dst, cv::Size size, std::vector<int> &sums) {
  const int f = size.width > 0 ? src.cols / size.width : 0;
  if (src.type() != CV_8UC1 || f < 3 || size.width * f != src.cols || size.height * f != src.rows) {
    cv::resize(src, dst, size, 0, 0, cv::INTER_AREA);
    return;
  }
  dst.create(size, CV_8UC1);
  const float scale = 1.f / static_cast<float>(f * f);
  sums.resize(static_cast<std::size_t>(src.cols));
  for (int oy = 0; oy < size.height; ++oy) {
    int *acc = sums.data();
    int x = 0;
#if CV_SIMD128
    // The f rows added in 16-bit lanes (at most 16 rows of 255 fit), then widened to the sums.
    if (f <= 16) {
      for (; x + 16 <= src.cols; x += 16) {
        cv::v_uint16x8 lo, hi, l, h;
        cv::v_expand(cv::v_load(src.ptr<std::uint8_t>(oy * f) + x), lo, hi);
        for (int k = 1; k < f; ++k) {
          cv::v_expand(cv::v_load(src.ptr<std::uint8_t>(oy * f + k) + x), l, h);
          lo += l;
          hi += h;
        }
        cv::v_uint32x4 a, b;
        cv::v_expand(lo, a, b);
        cv::v_store(acc + x, cv::v_reinterpret_as_s32(a));
        cv::v_store(acc + x + 4, cv::v_reinterpret_as_s32(b));
        cv::v_expand(hi, a, b);
        cv::v_store(acc + x + 8, cv::v_reinterpret_as_s32(a));
        cv::v_store(acc + x + 12, cv::v_reinterpret_as_s32(b));
      }
    }
#endif
    for (; x < src.cols; ++x) {
      int v = 0;
      for (int k = 0; k < f; ++k) {
        v += src.ptr<std::uint8_t>(oy * f + k)[x];
      }
      acc[x] = v;
    }
    std::uint8_t *out = dst.ptr<std::uint8_t>(oy);
    int ox = 0;
#if CV_SIMD128
    // The 3x case (480 -> 160 wide, the default's), 8 outputs at a time: v_round rounds half to
    // even as cvRound does, and the packs saturate as saturate_cast does.
    if (f == 3) {
      const cv::v_float32x4 vscale = cv::v_setall_f32(scale);
      for (; ox + 8 <= size.width; ox += 8) {
        cv::v_int32x4 a, b, c, d, e, g;
        cv::v_load_deinterleave(acc + 3 * ox, a, b, c);
        cv::v_load_deinterleave(acc + 3 * ox + 12, d, e, g);
        const cv::v_int32x4 lo = cv::v_round(cv::v_cvt_f32(a + b + c) * vscale);
        const cv::v_int32x4 hi = cv::v_round(cv::v_cvt_f32(d + e + g) * vscale);
        cv::v_pack_u_store(out + ox, cv::v_pack(lo, hi));
      }
    }
#endif
    for (; ox < size.width; ++ox) {
      int sum = 0;
      for (int k = 0; k < f; ++k) {
        sum += acc[ox * f + k];
      }
      out[ox] = cv::saturate_cast<std::uint8_t>(static_cast<float>(sum) * scale);
    }
  }
}

void Stabiliser::shrink(const cv::Mat &src, cv::Mat &dst) {
  if (src.size() == small_) {
    src.convertTo(dst, CV_32F);
  } else {
    area_shrink(src, shrunk_, small_, sums_);
    shrunk_.convertTo(dst, CV_32F);
  }
}

void Stabiliser::spectrum(const cv::Mat &small, cv::Mat &out) {
  pad_.create(padded_, CV_32F);
  pad_.setTo(0);
  cv::Mat roi = pad_(cv::Rect(0, 0, small_.width, small_.height));
  // Remove the mean so the window's edges do not make a peak at zero.
  const double mean = cv::mean(small)[0];
  cv::subtract(small, mean, roi);
  cv::multiply(roi, window_, roi);
  // The spectrum of a real image in OpenCV's packed CCS layout (the half that its conjugate
  // symmetry does not repeat): half the work of the full complex spectrum, and mulSpectrums
  // and the inverse transform take it as it is.
  cv::dft(pad_, out);
}

namespace {

// One frequency of the cross-power spectrum: keep its phase, at `weight`.
inline void keep_phase(float &re, float &im, float weight) {
  const float m = std::sqrt(re * re + im * im) + 1e-6f;
  const float k = weight / m;
  re *= k;
  im *= k;
}

// A real-valued frequency (DC and Nyquist of a packed column): its sign, at `weight`.
inline void keep_sign(float &re, float weight) {
  re *= weight / (std::fabs(re) + 1e-6f);
}

}  // namespace

void Stabiliser::normalise_cross() {
  // cross_ is packed (CCS): in every row r, columns 2k-1 and 2k hold frequency (r, k) for
  // 1 <= k < (W+1)/2; column 0 (and column W-1 when W is even, frequency W/2) holds the
  // frequencies (j, 0) down the rows: row 0 the real DC, rows 2j-1 and 2j the real and
  // imaginary parts of (j, 0), and when H is even the last row the real (H/2, 0).
  const int W = padded_.width, H = padded_.height;
  const int pairs_end = W % 2 == 0 ? W - 1 : W;  // columns [1, pairs_end) hold pairs
  for (int r = 0; r < H; ++r) {
    float *c = cross_.ptr<float>(r);
    const float *weight = weight_.ptr<float>(r);
    int x = 1;
#if CV_SIMD128
    // The scalar loop's operations, four frequencies at a time.
    const cv::v_float32x4 tiny = cv::v_setall_f32(1e-6f);
    for (; x + 8 <= pairs_end; x += 8) {
      cv::v_float32x4 re, im;
      cv::v_load_deinterleave(c + x, re, im);
      const int k = (x + 1) / 2;
      const cv::v_float32x4 m = cv::v_sqrt(re * re + im * im) + tiny;
      const cv::v_float32x4 w = cv::v_load(weight + k) / m;
      cv::v_store_interleave(c + x, re * w, im * w);
    }
#endif
    for (; x + 1 < pairs_end; x += 2) {
      keep_phase(c[x], c[x + 1], weight[(x + 1) / 2]);
    }
  }
  // The packed columns: frequency column 0, and W/2 when W is even.
  for (int col = 0; col < (W % 2 == 0 && W > 1 ? 2 : 1); ++col) {
    const int x = col == 0 ? 0 : W - 1;
    const int fx = col == 0 ? 0 : W / 2;
    keep_sign(cross_.ptr<float>(0)[x], weight_.ptr<float>(0)[fx]);
    int r = 1;
    for (; r + 1 < H; r += 2) {
      const int fy = (r + 1) / 2;
      keep_phase(cross_.ptr<float>(r)[x], cross_.ptr<float>(r + 1)[x], weight_.ptr<float>(fy)[fx]);
    }
    if (r < H) {  // H even: the last row is the real frequency (H/2, fx)
      keep_sign(cross_.ptr<float>(r)[x], weight_.ptr<float>(H / 2)[fx]);
    }
  }
}

void Stabiliser::set_reference(const cv::Mat &luma) {
  const int w = std::min(kWidth, luma.cols);
  scale_ = static_cast<double>(luma.cols) / w;
  small_ = cv::Size(w, std::max(1, static_cast<int>(std::lround(luma.rows / scale_))));
  padded_ = cv::Size(cv::getOptimalDFTSize(small_.width), cv::getOptimalDFTSize(small_.height));
  if (small_.width < 8 || small_.height < 8) {
    ref_.release();  // too small to measure a shift (estimate() says 0); OpenCV's window needs 2+
    return;
  }
  if (window_.size() != small_) {
    cv::createHanningWindow(window_, small_, CV_32F);
  }
  if (weight_.size() != padded_) {
    // Low frequencies weighted up, a Gaussian over the (wrapped) frequency.
    const int W = padded_.width, H = padded_.height;
    weight_.create(padded_, CV_32F);
    for (int r = 0; r < H; ++r) {
      float *w = weight_.ptr<float>(r);
      const float fy = static_cast<float>(std::min(r, H - r)) / H;
      for (int x = 0; x < W; ++x) {
        const float fx = static_cast<float>(std::min(x, W - x)) / W;
        w[x] = std::exp(-(fx * fx + fy * fy) / (2 * 0.15f * 0.15f));
      }
    }
  }
  shrink(luma, ref_small_);
  spectrum(ref_small_, ref_);
  const int radius = std::max(3, small_.width / 10);
  inner_ = cv::Rect(radius, radius, small_.width - 2 * radius, small_.height - 2 * radius);
  if (inner_.width < 4 || inner_.height < 4) {
    inner_ = cv::Rect(0, 0, small_.width, small_.height);
  }
  last_ = {0.0, 0.0};
  still_ = 0;
}

cv::Point2d Stabiliser::estimate(const cv::Mat &luma, const cv::Mat &moving) {
  if (ref_.empty() || small_.width < 8 || small_.height < 8) {
    return {0.0, 0.0};
  }
  shrink(luma, cur_);
  // Where the verdict is measured: away from anything that moved lately, by a margin for this
  // frame's steps.
  use_.release();
  if (!moving.empty() && moving.size() == luma.size()) {
    area_shrink(moving, moving_, small_, sums_);
    cv::dilate(moving_, moving_, cv::Mat(), cv::Point(-1, -1), 2);
    cv::compare(moving_(inner_), 0, use_, cv::CMP_EQ);
    if (cv::countNonZero(use_) < inner_.area() / 5) {
      use_.release();  // too crowded to tell: every pixel, truncated
    }
  }
  const double ref_mean = cv::mean(ref_small_(inner_), use_)[0];
  gain_ = ref_mean > 1.0 ? cv::mean(cur_(inner_), use_)[0] / ref_mean : 1.0;
  const double at_zero = residual({0.0, 0.0});
  // A camera that has stayed put (no shift believed for kStillFrames) is searched on every
  // kSearchEvery-th frame only, and on any frame whose residual at zero rose by kMinDrop since
  // the last one: a knock that a shift could explain by kMinDrop raises it by about as much.
  const bool search =
      still_ < kStillFrames || still_ % kSearchEvery == 0 || at_zero > last_zero_ + kMinDrop;
  last_zero_ = at_zero;
  cv::Point2d chosen(0.0, 0.0);
  double at_chosen = at_zero;
  auto consider = [&](cv::Point2d d) {
    if (std::hypot(d.x, d.y) < 1e-3) {
      return;
    }
    const double r = residual(d);
    if (r < at_chosen) {
      chosen = d, at_chosen = r;
    }
  };
  if (search) {
    const cv::Point2d peak = find_peak();
    if (peak.x == peak.x) {  // NaN: no trustworthy peak
      consider(peak);
    }
  }
  // The verdict: zero, the peak or the last believed shift, whichever explains the frame best;
  // anything but zero only when it is clearly better than zero.
  consider(last_);
  if (!(at_chosen <= kMinImprovement * at_zero && at_zero - at_chosen >= kMinDrop)) {
    chosen = {0.0, 0.0};
  }
  last_ = chosen;
  still_ = chosen.x == 0.0 && chosen.y == 0.0 ? still_ + 1 : 0;
  return {chosen.x * scale_, chosen.y * (static_cast<double>(luma.rows) / small_.height)};
}

cv::Point2d Stabiliser::find_peak() {
  ++searches_;
  spectrum(cur_, spec_);
  cv::mulSpectrums(spec_, ref_, cross_, 0, true);
  // Keep the phase only, weighting low frequencies up (noise and compression live high up).
  normalise_cross();
  const int W = padded_.width, H = padded_.height;
  cv::dft(cross_, surface_, cv::DFT_INVERSE | cv::DFT_REAL_OUTPUT | cv::DFT_SCALE);
  // Peak within kMaxShift of zero (the surface wraps around).
  const int radius = std::max(3, small_.width / 10);
  float best = -1e30f;
  int bx = 0, by = 0;
  for (int dy = -radius; dy <= radius; ++dy) {
    const float *row = surface_.ptr<float>((dy + H) % H);
    for (int dx = -radius; dx <= radius; ++dx) {
      const float v = row[(dx + W) % W];
      if (v > best) {
        best = v, bx = dx, by = dy;
      }
    }
  }
  // Sub-pixel: a parabola through the peak and its neighbours, on each axis.
  auto at = [&](int dx, int dy) { return surface_.ptr<float>((dy + H) % H)[(dx + W) % W]; };
  auto vertex = [](float l, float c, float r) {
    const float den = l - 2 * c + r;
    return den < 0 ? std::clamp(0.5f * (l - r) / den, -0.5f, 0.5f) : 0.f;
  };
  const cv::Point2d peak(bx + vertex(at(bx - 1, by), best, at(bx + 1, by)),
                         by + vertex(at(bx, by - 1), best, at(bx, by + 1)));
  // The peak's share of the surface's energy near it says how much to trust it.
  const double total = cv::norm(surface_, cv::NORM_L1);
  const double response = total > 0 ? best * (W * H) / total / 16.0 : 0.0;
  if (!(response >= kMinResponse)) {
    return {std::nan(""), std::nan("")};
  }
  return peak;
}

void Stabiliser::align(const cv::Mat &src, cv::Mat &dst, cv::Point2d d) {
  const cv::Matx23d m(1, 0, d.x, 0, 1, d.y);
  cv::warpAffine(src, dst, m, src.size(), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP,
                 cv::BORDER_REPLICATE);
}

void Stabiliser::valid_area(cv::Size size, cv::Point2d d, cv::Mat &valid) {
  valid.create(size, CV_8UC1);
  valid.setTo(0);
  // dst(x) = src(x + d) is inside when 0 <= x + d <= size - 1: the bilinear taps there are
  // pixels of the frame (at x + d = size - 1 the second tap has weight 0). A column or row
  // more would be given up for nothing: after a knock that stays, a strip along two edges of
  // the scene for the rest of the stream, with the people who walk in or out there.
  const int x0 = std::max(0, static_cast<int>(std::ceil(-d.x)));
  const int y0 = std::max(0, static_cast<int>(std::ceil(-d.y)));
  const int x1 = std::min(size.width, static_cast<int>(std::floor(size.width - 1 - d.x)) + 1);
  const int y1 = std::min(size.height, static_cast<int>(std::floor(size.height - 1 - d.y)) + 1);
  if (x1 > x0 && y1 > y0) {
    valid(cv::Rect(x0, y0, x1 - x0, y1 - y0)).setTo(255);
  }
}

}  // namespace heatmap
