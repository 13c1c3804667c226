// stabiliser.cpp: phase correlation on small luma, and the shift back into the model's frame.
#include "stabiliser.h"

#include <opencv2/core/hal/intrin.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace heatmap {

void Stabiliser::reset() {
  ref_.release();
  ref_small_.release();
  last_ = {0.0, 0.0};
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

void Stabiliser::shrink(const cv::Mat &src, cv::Mat &dst) {
  if (src.size() == small_) {
    src.convertTo(dst, CV_32F);
  } else {
    cv::resize(src, shrunk_, small_, 0, 0, cv::INTER_AREA);
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
  cv::dft(pad_, out, cv::DFT_COMPLEX_OUTPUT);
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
}

cv::Point2d Stabiliser::estimate(const cv::Mat &luma, const cv::Mat &moving) {
  if (ref_.empty() || small_.width < 8 || small_.height < 8) {
    return {0.0, 0.0};
  }
  shrink(luma, cur_);
  spectrum(cur_, spec_);
  cv::mulSpectrums(spec_, ref_, cross_, 0, true);
  // Keep the phase only, weighting low frequencies up (noise and compression live high up).
  const int W = padded_.width, H = padded_.height;
  for (int r = 0; r < H; ++r) {
    float *c = cross_.ptr<float>(r);  // interleaved real, imaginary
    const float *weight = weight_.ptr<float>(r);
    int x = 0;
#if CV_SIMD128
    // The scalar loop's operations, four frequencies at a time.
    const cv::v_float32x4 tiny = cv::v_setall_f32(1e-6f);
    for (; x + 4 <= W; x += 4) {
      cv::v_float32x4 re, im;
      cv::v_load_deinterleave(c + 2 * x, re, im);
      const cv::v_float32x4 m = cv::v_sqrt(re * re + im * im) + tiny;
      const cv::v_float32x4 k = cv::v_load(weight + x) / m;
      cv::v_store_interleave(c + 2 * x, re * k, im * k);
    }
#endif
    for (; x < W; ++x) {
      const float m = std::sqrt(c[2 * x] * c[2 * x] + c[2 * x + 1] * c[2 * x + 1]) + 1e-6f;
      const float k = weight[x] / m;
      c[2 * x] *= k;
      c[2 * x + 1] *= k;
    }
  }
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
  bool peak_ok = true;
  // Sub-pixel: a parabola through the peak and its neighbours, on each axis.
  auto at = [&](int dx, int dy) { return surface_.ptr<float>((dy + H) % H)[(dx + W) % W]; };
  auto vertex = [](float l, float c, float r) {
    const float den = l - 2 * c + r;
    return den < 0 ? std::clamp(0.5f * (l - r) / den, -0.5f, 0.5f) : 0.f;
  };
  const cv::Point2d peak(bx + vertex(at(bx - 1, by), best, at(bx + 1, by)),
                         by + vertex(at(bx, by - 1), best, at(bx, by + 1)));
  // The peak's share of the surface's energy near it says how much to trust it.
  cv::absdiff(surface_, cv::Scalar::all(0), magnitude_);
  const double total = cv::sum(magnitude_)[0];
  const double response = total > 0 ? best * (W * H) / total / 16.0 : 0.0;
  peak_ok = peak_ok && response >= kMinResponse;

  // The verdict: zero, the peak or the last believed shift, whichever explains the frame best;
  // anything but zero only when it is clearly better than zero.
  use_.release();
  if (!moving.empty() && moving.size() == luma.size()) {
    cv::resize(moving, moving_, small_, 0, 0, cv::INTER_AREA);
    // Away from anything that moved lately, by a margin for this frame's steps.
    cv::dilate(moving_, moving_, cv::Mat(), cv::Point(-1, -1), 2);
    cv::compare(moving_(inner_), 0, use_, cv::CMP_EQ);
    if (cv::countNonZero(use_) < inner_.area() / 5) {
      use_.release();  // too crowded to tell: every pixel, truncated
    }
  }
  const double ref_mean = cv::mean(ref_small_(inner_), use_)[0];
  gain_ = ref_mean > 1.0 ? cv::mean(cur_(inner_), use_)[0] / ref_mean : 1.0;
  const double at_zero = residual({0.0, 0.0});
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
  if (peak_ok) {
    consider(peak);
  }
  consider(last_);
  if (!(at_chosen <= kMinImprovement * at_zero && at_zero - at_chosen >= kMinDrop)) {
    chosen = {0.0, 0.0};
  }
  last_ = chosen;
  return {chosen.x * scale_, chosen.y * (static_cast<double>(luma.rows) / small_.height)};
}

void Stabiliser::align(const cv::Mat &src, cv::Mat &dst, cv::Point2d d) {
  const cv::Matx23d m(1, 0, d.x, 0, 1, d.y);
  cv::warpAffine(src, dst, m, src.size(), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP,
                 cv::BORDER_REPLICATE);
}

void Stabiliser::valid_area(cv::Size size, cv::Point2d d, cv::Mat &valid) {
  valid.create(size, CV_8UC1);
  valid.setTo(0);
  // dst(x) = src(x + d) is inside when 0 <= x + d <= size - 1, with a pixel of margin for the
  // bilinear tap.
  const int x0 = std::max(0, static_cast<int>(std::ceil(-d.x)) + 1);
  const int y0 = std::max(0, static_cast<int>(std::ceil(-d.y)) + 1);
  const int x1 = std::min(size.width, size.width - static_cast<int>(std::ceil(d.x)) - 1);
  const int y1 = std::min(size.height, size.height - static_cast<int>(std::ceil(d.y)) - 1);
  if (x1 > x0 && y1 > y0) {
    valid(cv::Rect(x0, y0, x1 - x0, y1 - y0)).setTo(255);
  }
}

}  // namespace heatmap
