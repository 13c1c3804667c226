// frame.cpp: frame validation, plane access and the reduction of frames to processing size.
#include "frame.h"

#ifdef HEATMAP_HAVE_FRAME_AVX2
#include "frame-avx2.h"
#endif

#include <opencv2/core/hal/intrin.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace heatmap {

namespace {
// The largest whole-number reduction with a fast path: a 16 x 16 block's sum still fits 16 bits.
constexpr int kMaxBoxFactor = 16;
}  // namespace

cv::Size processing_size(int width, int height, double downscale, long max_input_pixels) {
  double d = std::clamp(downscale, 1e-6, 1.0);
  const double area = static_cast<double>(width) * height;
  if (max_input_pixels > 0 && area > static_cast<double>(max_input_pixels)) {
    d *= std::sqrt(static_cast<double>(max_input_pixels) / area);
  }
  // (1920 * 0.25 * sqrt(4 / 9) is 320 give or take the last bit: lround settles it.)
  return cv::Size(std::max(1, static_cast<int>(std::lround(width * d))),
                  std::max(1, static_cast<int>(std::lround(height * d))));
}

int planes_for(PixelFormat format) {
  switch (format) {
    case PixelFormat::kGray8:
      return 1;
    case PixelFormat::kI420:
    case PixelFormat::kYV12:
    case PixelFormat::kY42B:
    case PixelFormat::kY444:
      return 3;
    case PixelFormat::kNV12:
    case PixelFormat::kNV21:
      return 2;
    default:
      return 1;
  }
}

bool is_packed(PixelFormat format) {
  switch (format) {
    case PixelFormat::kBGR:
    case PixelFormat::kRGB:
    case PixelFormat::kBGRx:
    case PixelFormat::kRGBx:
    case PixelFormat::kxRGB:
    case PixelFormat::kxBGR:
      return true;
    default:
      return false;
  }
}

int packed_channels(PixelFormat format) {
  return (format == PixelFormat::kBGR || format == PixelFormat::kRGB) ? 3 : 4;
}

// Byte offsets of B, G and R inside one packed pixel.
void packed_bgr_offsets(PixelFormat format, int offsets[3]) {
  switch (format) {
    case PixelFormat::kRGB:
    case PixelFormat::kRGBx:
      offsets[0] = 2, offsets[1] = 1, offsets[2] = 0;
      break;
    case PixelFormat::kxRGB:
      offsets[0] = 3, offsets[1] = 2, offsets[2] = 1;
      break;
    case PixelFormat::kxBGR:
      offsets[0] = 1, offsets[1] = 2, offsets[2] = 3;
      break;
    default:  // BGR, BGRx
      offsets[0] = 0, offsets[1] = 1, offsets[2] = 2;
      break;
  }
}

// Chroma plane size (in chroma samples) of a planar/semi-planar YUV format.
cv::Size chroma_size(PixelFormat format, int width, int height) {
  switch (format) {
    case PixelFormat::kY42B:
      return {(width + 1) / 2, height};
    case PixelFormat::kY444:
      return {width, height};
    default:  // 4:2:0
      return {(width + 1) / 2, (height + 1) / 2};
  }
}

// A read-only cv::Mat header over caller memory; OpenCV wants a non-const pointer.
cv::Mat wrap(const Plane &plane, int rows, int cols, int type) {
  return cv::Mat(rows, cols, type, const_cast<std::uint8_t *>(plane.data), plane.stride);
}

void validate(const FrameView &frame) {
  if (frame.width <= 0 || frame.height <= 0) {
    throw std::invalid_argument("heatmap: frame size " + std::to_string(frame.width) + "x" +
                                std::to_string(frame.height) + " is not positive");
  }
  const int n = planes_for(frame.format);
  for (int i = 0; i < n; ++i) {
    std::size_t row_bytes;
    if (i == 0) {
      row_bytes = static_cast<std::size_t>(frame.width) *
                  (is_packed(frame.format) ? packed_channels(frame.format) : 1);
    } else {
      const cv::Size c = chroma_size(frame.format, frame.width, frame.height);
      const bool interleaved =
          frame.format == PixelFormat::kNV12 || frame.format == PixelFormat::kNV21;
      row_bytes = static_cast<std::size_t>(c.width) * (interleaved ? 2 : 1);
    }
    if (frame.planes[i].data == nullptr) {
      throw std::invalid_argument("heatmap: frame plane " + std::to_string(i) + " is null");
    }
    if (frame.planes[i].stride < row_bytes) {
      throw std::invalid_argument("heatmap: frame plane " + std::to_string(i) + " stride " +
                                  std::to_string(frame.planes[i].stride) + " is below the " +
                                  std::to_string(row_bytes) + " bytes of one row");
    }
  }
}

// 3x4 matrix taking (Y, U, V, 1) to (B, G, R) for cv::transform.
cv::Matx34f yuv_to_bgr_matrix(YuvMatrix matrix, bool full_range) {
  const double kr = matrix == YuvMatrix::kBt709 ? 0.2126 : 0.299;
  const double kb = matrix == YuvMatrix::kBt709 ? 0.0722 : 0.114;
  const double kg = 1.0 - kr - kb;
  const double ys = full_range ? 1.0 : 255.0 / 219.0;
  const double cs = full_range ? 1.0 : 255.0 / 224.0;
  const double y0 = full_range ? 0.0 : 16.0;
  const double rv = cs * 2.0 * (1.0 - kr);
  const double bu = cs * 2.0 * (1.0 - kb);
  const double gu = -cs * 2.0 * (1.0 - kb) * kb / kg;
  const double gv = -cs * 2.0 * (1.0 - kr) * kr / kg;
  // Row = ys*Y + a*U + b*V + offset, offset folding in the -16 and -128 biases.
  auto row = [&](double a, double b) {
    return cv::Vec4f(static_cast<float>(ys), static_cast<float>(a), static_cast<float>(b),
                     static_cast<float>(-ys * y0 - 128.0 * (a + b)));
  };
  const cv::Vec4f b = row(bu, 0.0), g = row(gu, gv), r = row(0.0, rv);
  return cv::Matx34f(b[0], b[1], b[2], b[3], g[0], g[1], g[2], g[3], r[0], r[1], r[2], r[3]);
}

namespace {

#ifdef HEATMAP_HAVE_FRAME_AVX2
bool has_avx2() {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  return avx2;
}
#endif

#if CV_SIMD128
// Bytes [x, x + 16) of the rows r[0..f) widened to 16 bits and added column by column (at most
// 16 * 255 each).
inline void column_sums16(const std::uint8_t *const *r, int f, int x, cv::v_uint16x8 &lo,
                          cv::v_uint16x8 &hi) {
  cv::v_uint16x8 c, d;
  cv::v_expand(cv::v_load(r[0] + x), lo, hi);
  for (int k = 1; k < f; ++k) {
    cv::v_expand(cv::v_load(r[k] + x), c, d);
    lo += c;
    hi += d;
  }
}

// The same sums with neighbouring columns added by a multiply-add with 1 (pmaddwd: pairs into 32
// bits, packed back to 16; at most 16 * 510): 8 pair sums of bytes [x, x + 16).
inline cv::v_int16x8 paired_column_sums16(const std::uint8_t *const *r, int f, int x) {
  const cv::v_int16x8 one = cv::v_setall_s16(1);
  cv::v_uint16x8 lo, hi;
  column_sums16(r, f, x, lo, hi);
  return cv::v_pack(cv::v_dotprod(cv::v_reinterpret_as_s16(lo), one),
                    cv::v_dotprod(cv::v_reinterpret_as_s16(hi), one));
}
#endif

// Box means of f x f blocks (f = 2 or 4) of the rows r[0..f), outputs [0, width).
void box_row_2_or_4(const std::uint8_t *const r[4], int f, std::uint8_t *out, int width) {
  const unsigned half = static_cast<unsigned>(f * f / 2);
  const int shift = f == 4 ? 4 : 2;
  int ox = 0;
#ifdef HEATMAP_HAVE_FRAME_AVX2
  if (has_avx2()) {
    ox = detail::box_downscale_row_avx2(r, f, out, width);
  }
#endif
#if CV_SIMD128
  // One pass, 16 outputs at a time: the f rows' column pairs (paired_column_sums16), paired
  // again for f = 4, rounded and shifted as the scalar tail does.
  if (f == 4) {
    // 64 input columns -> 16 outputs; a block's sums are at most 16 * 255, which 16 bits
    // hold as signed.
    const cv::v_int16x8 one = cv::v_setall_s16(1);
    auto quads = [&](int x) {
      return cv::v_dotprod(paired_column_sums16(r, f, x), one);  // 4 block sums
    };
    for (; ox + 16 <= width; ox += 16) {
      const int x = ox * 4;
      const cv::v_int16x8 s0 = cv::v_pack(quads(x), quads(x + 16));
      const cv::v_int16x8 s1 = cv::v_pack(quads(x + 32), quads(x + 48));
      cv::v_store(out + ox, cv::v_rshr_pack_u<4>(s0, s1));
    }
  } else {
    // 32 input columns -> 16 outputs (8 block sums from each 16).
    for (; ox + 16 <= width; ox += 16) {
      const int x = ox * 2;
      cv::v_store(out + ox, cv::v_rshr_pack_u<2>(paired_column_sums16(r, f, x),
                                                 paired_column_sums16(r, f, x + 16)));
    }
  }
#endif
  for (; ox < width; ++ox) {
    unsigned v = 0;
    for (int k = 0; k < f; ++k) {
      for (int j = 0; j < f; ++j) {
        v += r[k][ox * f + j];
      }
    }
    out[ox] = static_cast<std::uint8_t>((v + half) >> shift);
  }
}

// out[i] = in[i * k] + ... + in[i * k + k - 1] for i < n (out may be in: it is written behind
// what is read). The sums of a block of at most 16 x 16 bytes fit 16 bits.
void add_neighbours(const std::uint16_t *in, int k, int n, std::uint16_t *out) {
  int i = 0;
#if CV_SIMD128
  cv::v_uint16x8 a, b, c, d;
  if (k == 2) {
    for (; i + 8 <= n; i += 8) {
      cv::v_load_deinterleave(in + i * 2, a, b);
      cv::v_store(out + i, a + b);
    }
  } else if (k == 3) {
    for (; i + 8 <= n; i += 8) {
      cv::v_load_deinterleave(in + i * 3, a, b, c);
      cv::v_store(out + i, a + b + c);
    }
  } else if (k == 4) {
    for (; i + 8 <= n; i += 8) {
      cv::v_load_deinterleave(in + i * 4, a, b, c, d);
      cv::v_store(out + i, (a + b) + (c + d));
    }
  }
#endif
  for (; i < n; ++i) {
    unsigned sum = 0;
    for (int j = 0; j < k; ++j) {
      sum += in[i * k + j];
    }
    out[i] = static_cast<std::uint16_t>(sum);
  }
}

// s[x] = r[0][x] + ... + r[f - 1][x] for x < n.
void add_rows(const std::uint8_t *const *r, int f, int n, std::uint16_t *s) {
  int x = 0;
#ifdef HEATMAP_HAVE_FRAME_AVX2
  if (has_avx2()) {
    x = detail::column_sums_avx2(r, f, n, s);
  }
#endif
#if CV_SIMD128
  for (; x + 16 <= n; x += 16) {
    cv::v_uint16x8 lo, hi;
    column_sums16(r, f, x, lo, hi);
    cv::v_store(s + x, lo);
    cv::v_store(s + x + 8, hi);
  }
#endif
  for (; x < n; ++x) {
    unsigned sum = 0;
    for (int k = 0; k < f; ++k) {
      sum += r[k][x];
    }
    s[x] = static_cast<std::uint16_t>(sum);
  }
}

// s[j] = the sum over k < f of r[k][2j] + r[k][2j + 1], for j < n / 2 (n even): the column sums
// of f rows with neighbouring columns already paired, half as many values to add up after.
void add_pair_rows(const std::uint8_t *const *r, int f, int n, std::uint16_t *s) {
  int x = 0;
#ifdef HEATMAP_HAVE_FRAME_AVX2
  if (has_avx2()) {
    x = detail::pair_sums_avx2(r, f, n, s);
  }
#endif
#if CV_SIMD128
  for (; x + 16 <= n; x += 16) {
    cv::v_store(s + x / 2, cv::v_reinterpret_as_u16(paired_column_sums16(r, f, x)));
  }
#endif
  for (; x + 1 < n; x += 2) {
    unsigned sum = 0;
    for (int k = 0; k < f; ++k) {
      sum += r[k][x] + r[k][x + 1];
    }
    s[x / 2] = static_cast<std::uint16_t>(sum);
  }
}

// From sums s of f rows with `left` neighbouring sums still to add per output (width * left of
// them; overwritten), the width means of f x f blocks, rounded as cv::resize(INTER_AREA) rounds
// for a whole-number reduction: the block sum times the float 1 / (f * f), to nearest even.
// Neighbours are added in steps of 4, 3 and 2 (vectors), then of what is left (5, 7, ...: one
// sum at a time).
void block_means(std::uint16_t *s, int left, int f, int width, std::uint8_t *out) {
  for (int k : {4, 3, 2}) {
    while (left % k == 0) {
      left /= k;
      add_neighbours(s, k, width * left, s);
    }
  }
  if (left > 1) {
    add_neighbours(s, left, width, s);
  }
  const float scale = 1.f / static_cast<float>(f * f);
  int ox = 0;
#if CV_SIMD128
  const cv::v_float32x4 vscale = cv::v_setall_f32(scale);
  auto means = [&](const cv::v_uint16x8 &v) {
    cv::v_uint32x4 a, b;
    cv::v_expand(v, a, b);
    return cv::v_pack(cv::v_round(cv::v_cvt_f32(cv::v_reinterpret_as_s32(a)) * vscale),
                      cv::v_round(cv::v_cvt_f32(cv::v_reinterpret_as_s32(b)) * vscale));
  };
  for (; ox + 16 <= width; ox += 16) {
    cv::v_store(out + ox, cv::v_pack_u(means(cv::v_load(s + ox)), means(cv::v_load(s + ox + 8))));
  }
#endif
  for (; ox < width; ++ox) {
    out[ox] = cv::saturate_cast<std::uint8_t>(static_cast<int>(s[ox]) * scale);
  }
}

// The whole factor f (2 to kMaxBoxFactor) by which `src` reduces to exactly `size`; 0: none.
int whole_factor(cv::Size src, cv::Size size) {
  for (int k = 2; k <= kMaxBoxFactor; ++k) {
    if (size.width * k == src.width && size.height * k == src.height) {
      return k;
    }
  }
  return 0;
}

// Box-filter downscale of one 8-bit plane by a whole factor f (2 to 16) in both directions,
// when the output is exactly the input / f: the same filter as INTER_AREA (mean of each f x f
// block, rounded), several times faster than cv::resize (1080p -> 480x270: about 4x; -> 320x180
// about 5x), which matters because it runs on the streaming thread for every frame.
bool box_downscale(const cv::Mat &src, cv::Mat &dst, cv::Size size) {
  if (src.type() != CV_8UC1 || size.width < 1 || size.height < 1) {
    return false;
  }
  const int f = whole_factor(src.size(), size);
  if (f == 0) {
    return false;
  }
  dst.create(size, CV_8UC1);
  const std::uint8_t *r[kMaxBoxFactor];
  thread_local std::vector<std::uint16_t> sums;
  sums.resize(static_cast<std::size_t>(src.cols));
  for (int oy = 0; oy < size.height; ++oy) {
    for (int k = 0; k < f; ++k) {
      r[k] = src.ptr<std::uint8_t>(oy * f + k);
    }
    std::uint8_t *out = dst.ptr<std::uint8_t>(oy);
    if (f == 2 || f == 4) {
      box_row_2_or_4(r, f, out, size.width);
    } else if (f % 2 == 0) {
      add_pair_rows(r, f, src.cols, sums.data());
      block_means(sums.data(), f / 2, f, size.width, out);
    } else {
      add_rows(r, f, src.cols, sums.data());
      block_means(sums.data(), f, f, size.width, out);
    }
  }
  return true;
}

// The same for an interleaved two-channel plane (NV12's UV) by a whole factor from 3 to 16,
// straight into two planes; the same bytes as cv::resize(INTER_AREA) and cv::split. (2x is
// left to OpenCV, whose own fast path rounds halves up.)
bool box_downscale_pairs(const cv::Mat &src, cv::Mat &first, cv::Mat &second, cv::Size size) {
  if (src.type() != CV_8UC2 || size.width < 1 || size.height < 1) {
    return false;
  }
  const int f = whole_factor(src.size(), size);
  if (f < 3) {
    return false;
  }
  first.create(size, CV_8UC1);
  second.create(size, CV_8UC1);
  const std::uint8_t *r[kMaxBoxFactor];
  const int n = src.cols;  // per channel
  thread_local std::vector<std::uint16_t> sums;
  sums.resize(static_cast<std::size_t>(n) * 4);
  std::uint16_t *both = sums.data(), *a = both + 2 * n, *b = a + n;
  for (int oy = 0; oy < size.height; ++oy) {
    for (int k = 0; k < f; ++k) {
      r[k] = src.ptr<std::uint8_t>(oy * f + k);
    }
    add_rows(r, f, 2 * n, both);
    int x = 0;
#if CV_SIMD128
    for (; x + 8 <= n; x += 8) {
      cv::v_uint16x8 p, q;
      cv::v_load_deinterleave(both + 2 * x, p, q);
      cv::v_store(a + x, p);
      cv::v_store(b + x, q);
    }
#endif
    for (; x < n; ++x) {
      a[x] = both[2 * x];
      b[x] = both[2 * x + 1];
    }
    block_means(a, f, f, size.width, first.ptr<std::uint8_t>(oy));
    block_means(b, f, f, size.width, second.ptr<std::uint8_t>(oy));
  }
  return true;
}

}  // namespace

void downscale_plane(const cv::Mat &src, cv::Mat &dst, cv::Size size) {
  if (!box_downscale(src, dst, size)) {
    cv::resize(src, dst, size, 0, 0, cv::INTER_AREA);
  }
}

// Makes `grey` at processing size (and for packed_ sources `packed_`).
void FrameScaler::luma(const FrameView &f, cv::Size size, cv::Mat &grey) {
  if (is_packed(f.format)) {
    const int cn = packed_channels(f.format);
    cv::resize(wrap(f.planes[0], f.height, f.width, CV_8UC(cn)), packed_, size, 0, 0,
               cv::INTER_AREA);
    int off[3];
    packed_bgr_offsets(f.format, off);
    // BT.601 luma weights, as cv::cvtColor(COLOR_BGR2GRAY) uses.
    cv::Matx<float, 1, 4> w(0.f, 0.f, 0.f, 0.f);
    w(0, off[0]) = 0.114f;
    w(0, off[1]) = 0.587f;
    w(0, off[2]) = 0.299f;
    cv::transform(packed_, grey, cv::Mat(w).colRange(0, cn));
  } else {
    downscale_plane(wrap(f.planes[0], f.height, f.width, CV_8UC1), grey, size);
  }
}

void FrameScaler::colour(const FrameView &f, cv::Size size, const cv::Mat &grey, cv::Mat &bgr) {
  bgr.create(size, CV_8UC3);
  if (is_packed(f.format)) {
    int off[3];
    packed_bgr_offsets(f.format, off);
    const int pairs[] = {off[0], 0, off[1], 1, off[2], 2};
    cv::mixChannels(&packed_, 1, &bgr, 1, pairs, 3);
    return;
  }
  const cv::Size c = chroma_size(f.format, f.width, f.height);
  yuv_.create(size, CV_8UC3);
  if (f.format == PixelFormat::kNV12 || f.format == PixelFormat::kNV21) {
    cv::resize(wrap(f.planes[1], c.height, c.width, CV_8UC2), chroma_[0], size, 0, 0,
               cv::INTER_AREA);
    const bool vu = f.format == PixelFormat::kNV21;
    const cv::Mat src[] = {grey, chroma_[0]};
    const int pairs[] = {0, 0, 1, vu ? 2 : 1, 2, vu ? 1 : 2};
    cv::mixChannels(src, 2, &yuv_, 1, pairs, 3);
  } else {
    const bool vu = f.format == PixelFormat::kYV12;
    downscale_plane(wrap(f.planes[vu ? 2 : 1], c.height, c.width, CV_8UC1), chroma_[0], size);
    downscale_plane(wrap(f.planes[vu ? 1 : 2], c.height, c.width, CV_8UC1), chroma_[1], size);
    const cv::Mat src[] = {grey, chroma_[0], chroma_[1]};
    cv::merge(src, 3, yuv_);
  }
  cv::transform(yuv_, bgr, yuv_to_bgr_matrix(f.matrix, f.full_range));
}

void FrameScaler::chroma(const FrameView &f, cv::Size size, cv::Mat &u, cv::Mat &v) {
  if (f.format == PixelFormat::kGray8) {
    u.release();
    v.release();
    return;
  }
  if (is_packed(f.format)) {
    const int cn = packed_channels(f.format);
    int off[3];
    packed_bgr_offsets(f.format, off);
    // BT.601 full-range differences: U = 128 + 0.564 (B - Y), V = 128 + 0.713 (R - Y).
    const float kb = 0.114f, kg = 0.587f, kr = 0.299f;
    // Affine rows (one weight per packed byte, then the offset) for cv::transform.
    cv::Mat wu = cv::Mat::zeros(1, cn + 1, CV_32F), wv = cv::Mat::zeros(1, cn + 1, CV_32F);
    wu.at<float>(off[0]) = 0.564f * (1.f - kb);
    wu.at<float>(off[1]) = -0.564f * kg;
    wu.at<float>(off[2]) = -0.564f * kr;
    wv.at<float>(off[0]) = -0.713f * kb;
    wv.at<float>(off[1]) = -0.713f * kg;
    wv.at<float>(off[2]) = 0.713f * (1.f - kr);
    wu.at<float>(cn) = wv.at<float>(cn) = 128.f;
    cv::transform(packed_, u, wu);
    cv::transform(packed_, v, wv);
    return;
  }
  const cv::Size c = chroma_size(f.format, f.width, f.height);
  if (f.format == PixelFormat::kNV12 || f.format == PixelFormat::kNV21) {
    const bool vu = f.format == PixelFormat::kNV21;
    const cv::Mat interleaved = wrap(f.planes[1], c.height, c.width, CV_8UC2);
    if (box_downscale_pairs(interleaved, vu ? v : u, vu ? u : v, size)) {
      return;
    }
    cv::resize(interleaved, chroma_[0], size, 0, 0, cv::INTER_AREA);
    cv::Mat uv[2];
    cv::split(chroma_[0], uv);
    u = uv[vu ? 1 : 0];
    v = uv[vu ? 0 : 1];
    return;
  }
  const bool vu = f.format == PixelFormat::kYV12;
  downscale_plane(wrap(f.planes[vu ? 2 : 1], c.height, c.width, CV_8UC1), u, size);
  downscale_plane(wrap(f.planes[vu ? 1 : 2], c.height, c.width, CV_8UC1), v, size);
}

}  // namespace heatmap
