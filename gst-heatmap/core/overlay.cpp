// overlay.cpp: building the cached heat layer per pixel layout, and the in-place blend.
#include "overlay.h"

#include <opencv2/core/hal/intrin.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace heatmap {

namespace {

struct PackedLayout {
  int bytes;    // per pixel
  int b, g, r;  // byte offsets of the colour channels; any other byte is left alone
};

bool packed_layout(PixelFormat format, PackedLayout *out) {
  switch (format) {
    case PixelFormat::kBGR:
      *out = {3, 0, 1, 2};
      return true;
    case PixelFormat::kRGB:
      *out = {3, 2, 1, 0};
      return true;
    case PixelFormat::kBGRx:
      *out = {4, 0, 1, 2};
      return true;
    case PixelFormat::kRGBx:
      *out = {4, 2, 1, 0};
      return true;
    case PixelFormat::kxRGB:
      *out = {4, 3, 2, 1};
      return true;
    case PixelFormat::kxBGR:
      *out = {4, 1, 2, 3};
      return true;
    default:
      return false;
  }
}

// Y'CbCr of a BGR float image (0..255) as 8-bit planes in the frame's matrix and range.
void bgr_to_ycbcr(const cv::Mat &bgr, YuvMatrix matrix, bool full_range, cv::Mat *y, cv::Mat *cb,
                  cv::Mat *cr) {
  const double kr = matrix == YuvMatrix::kBt709 ? 0.2126 : 0.299;
  const double kb = matrix == YuvMatrix::kBt709 ? 0.0722 : 0.114;
  const double kg = 1.0 - kr - kb;
  const double y_scale = full_range ? 1.0 : 219.0 / 255.0;
  const double y_off = full_range ? 0.0 : 16.0;
  const double c_scale = full_range ? 1.0 : 224.0 / 255.0;
  // Rows of the 3x4 transform applied to (B, G, R, 1).
  const cv::Matx34f m(
      static_cast<float>(kb * y_scale), static_cast<float>(kg * y_scale),
      static_cast<float>(kr * y_scale), static_cast<float>(y_off),
      static_cast<float>(0.5 * c_scale), static_cast<float>(-kg / (2 * (1 - kb)) * c_scale),
      static_cast<float>(-kr / (2 * (1 - kb)) * c_scale), 128.f,
      static_cast<float>(-kb / (2 * (1 - kr)) * c_scale),
      static_cast<float>(-kg / (2 * (1 - kr)) * c_scale), static_cast<float>(0.5 * c_scale), 128.f);
  cv::Mat ycc;
  cv::transform(bgr, ycc, m);
  cv::Mat parts[3];
  cv::split(ycc, parts);
  parts[0].convertTo(*y, CV_8U);
  parts[1].convertTo(*cb, CV_8U);
  parts[2].convertTo(*cr, CV_8U);
}

// Opacity 0..1 as 0..256 per byte (exact 0 where there is no heat, 256 where it is opaque).
cv::Mat weight_bytes(const cv::Mat &weight) {
  cv::Mat w;
  weight.convertTo(w, CV_16U, 256.0);  // rounds and saturates; 0 stays 0, 1 becomes 256
  cv::min(w, 256, w);
  return w;
}

// Bilinear scaling from the processing size to a plane's size. All-zero neighbourhoods stay
// exactly 0, so pixels far from heat keep a zero weight.
cv::Mat scaled(const cv::Mat &src, cv::Size size) {
  cv::Mat out;
  if (src.size() == size)
    out = src.clone();
  else
    cv::resize(src, out, size, 0, 0, cv::INTER_LINEAR);
  return out;
}

// Interleaves single-channel planes byte by byte into one plane (NV12's UV, packed RGB).
cv::Mat interleave(const std::vector<cv::Mat> &parts) {
  cv::Mat out;
  cv::merge(parts, out);
  return out.reshape(1, out.rows);
}

// dst = (dst * (256 - a) + v * a + 128) >> 8 over [x, last): a == 0 gives dst exactly. Every
// intermediate fits 16 bits (at most 255 * 256 + 128), so the vector path computes exactly what
// the scalar tail does.
void blend_span(std::uint8_t *dst, const std::uint8_t *v, const std::uint16_t *w, int x, int last) {
#if CV_SIMD
  const int lanes = cv::v_uint8::nlanes;
  const cv::v_uint16 full = cv::vx_setall_u16(256), half = cv::vx_setall_u16(128);
  for (; x + lanes <= last; x += lanes) {
    cv::v_uint16 d0, d1, v0, v1;
    cv::v_expand(cv::vx_load(dst + x), d0, d1);
    cv::v_expand(cv::vx_load(v + x), v0, v1);
    const cv::v_uint16 a0 = cv::vx_load(w + x), a1 = cv::vx_load(w + x + lanes / 2);
    const cv::v_uint16 r0 = cv::v_mul_wrap(d0, full - a0) + cv::v_mul_wrap(v0, a0) + half;
    const cv::v_uint16 r1 = cv::v_mul_wrap(d1, full - a1) + cv::v_mul_wrap(v1, a1) + half;
    cv::v_store(dst + x, cv::v_pack(r0 >> 8, r1 >> 8));
  }
#endif
  for (; x < last; ++x) {
    const int a = w[x];
    dst[x] = static_cast<std::uint8_t>((dst[x] * (256 - a) + v[x] * a + 128) >> 8);
  }
}

}  // namespace

// The layer is built at the processing size (colour conversion, opacity) and only then scaled,
// once per plane, to that plane's own size (chroma planes at chroma resolution), in 8 and 16
// bits: no full-resolution float image, so a refresh of a 1080p layer costs a few milliseconds
// on the builder thread instead of a few hundred.
OverlayLayer::OverlayLayer(const cv::Mat &heat, const cv::Mat &weight, PixelFormat format,
                           int width, int height, YuvMatrix matrix, bool full_range)
    : format_(format), width_(width), height_(height) {
  if (heat.empty() || heat.type() != CV_8UC3 || weight.type() != CV_32FC1 ||
      weight.size() != heat.size())
    throw std::invalid_argument(
        "heatmap: an overlay layer needs a CV_8UC3 heat image and a CV_32FC1 weight of its size");
  if (width <= 0 || height <= 0)
    throw std::invalid_argument("heatmap: an overlay layer needs a frame size");
  const cv::Size full(width, height);
  const cv::Mat w = weight_bytes(weight);

  PackedLayout packed;
  if (packed_layout(format, &packed)) {
    std::vector<cv::Mat> bgr(3);
    cv::split(scaled(heat, full), bgr);
    const cv::Mat wb = scaled(w, full);
    const cv::Mat zero8 = cv::Mat::zeros(full, CV_8U);
    const cv::Mat zero16 = cv::Mat::zeros(full, CV_16U);
    std::vector<cv::Mat> values(packed.bytes, zero8), weights(packed.bytes, zero16);
    values[packed.b] = bgr[0];
    values[packed.g] = bgr[1];
    values[packed.r] = bgr[2];
    weights[packed.b] = weights[packed.g] = weights[packed.r] = wb;
    planes_.push_back({interleave(values), interleave(weights), {}, {}});
  } else if (format == PixelFormat::kGray8) {
    cv::Mat grey;
    cv::cvtColor(heat, grey, cv::COLOR_BGR2GRAY);
    planes_.push_back({scaled(grey, full), scaled(w, full), {}, {}});
  } else {
    cv::Mat colour_f, y, cb, cr;
    heat.convertTo(colour_f, CV_32F);
    bgr_to_ycbcr(colour_f, matrix, full_range, &y, &cb, &cr);
    planes_.push_back({scaled(y, full), scaled(w, full), {}, {}});
    cv::Size chroma((width + 1) / 2, (height + 1) / 2);
    if (format == PixelFormat::kY42B)
      chroma = cv::Size((width + 1) / 2, height);
    else if (format == PixelFormat::kY444)
      chroma = full;
    const cv::Mat cb_s = scaled(cb, chroma), cr_s = scaled(cr, chroma);
    const cv::Mat wb = scaled(w, chroma);
    switch (format) {
      case PixelFormat::kI420:
      case PixelFormat::kY42B:
      case PixelFormat::kY444:
        planes_.push_back({cb_s, wb, {}, {}});
        planes_.push_back({cr_s, wb, {}, {}});
        break;
      case PixelFormat::kYV12:
        planes_.push_back({cr_s, wb, {}, {}});
        planes_.push_back({cb_s, wb, {}, {}});
        break;
      case PixelFormat::kNV12:
        planes_.push_back({interleave({cb_s, cr_s}), interleave({wb, wb}), {}, {}});
        break;
      case PixelFormat::kNV21:
        planes_.push_back({interleave({cr_s, cb_s}), interleave({wb, wb}), {}, {}});
        break;
      default:
        throw std::invalid_argument("heatmap: no overlay for this pixel format");
    }
  }

  // Scattered heat (a crowd) leaves cold gaps inside a row; only the hot runs are blended.
  constexpr int kJoinGap = 64;  // bytes: shorter gaps cost less to blend than to step over
  for (PlaneLayer &p : planes_) {
    p.row_start.assign(static_cast<std::size_t>(p.weight.rows) + 1, 0);
    for (int r = 0; r < p.weight.rows; ++r) {
      p.row_start[r] = static_cast<int>(p.spans.size());
      const std::uint16_t *wr = p.weight.ptr<std::uint16_t>(r);
      const int cols = p.weight.cols;
      int x = 0;
      while (x < cols) {
        while (x < cols && wr[x] == 0)
          ++x;
        if (x == cols)
          break;
        const int first = x;
        int last = x;
        while (x < cols) {
          if (wr[x] != 0) {
            last = ++x;
          } else if (x - last < kJoinGap) {
            ++x;
          } else {
            break;
          }
        }
        p.spans.emplace_back(first, last);
        x = std::max(x, last);
      }
    }
    p.row_start[p.weight.rows] = static_cast<int>(p.spans.size());
  }
}

void OverlayLayer::blend(const MutablePlane planes[3]) const {
  for (std::size_t i = 0; i < planes_.size(); ++i) {
    const PlaneLayer &p = planes_[i];
    for (int r = 0; r < p.value.rows; ++r) {
      for (int k = p.row_start[r]; k < p.row_start[r + 1]; ++k) {
        blend_span(planes[i].data + static_cast<std::size_t>(r) * planes[i].stride,
                   p.value.ptr<std::uint8_t>(r), p.weight.ptr<std::uint16_t>(r), p.spans[k].first,
                   p.spans[k].second);
      }
    }
  }
}

double OverlayLayer::coverage() const {
  double touched = 0, total = 0;
  for (const PlaneLayer &p : planes_) {
    touched += cv::countNonZero(p.weight);
    total += static_cast<double>(p.weight.total());
  }
  return total > 0 ? touched / total : 0.0;
}

}  // namespace heatmap
