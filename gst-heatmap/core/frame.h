// frame.h: views over caller-owned video frames and their reduction to processing size.
#pragma once

#include <opencv2/core.hpp>

#include <cstddef>
#include <cstdint>

namespace heatmap {

// Pixel layouts the accumulator reads directly, without a full-resolution colour conversion.
enum class PixelFormat {
  kGray8,  // 1 plane
  kI420,   // 3 planes: Y, U, V (chroma subsampled 2x2)
  kYV12,   // 3 planes: Y, V, U
  kNV12,   // 2 planes: Y, interleaved UV (2x2)
  kNV21,   // 2 planes: Y, interleaved VU (2x2)
  kY42B,   // 3 planes, chroma subsampled 2x1
  kY444,   // 3 planes, no subsampling
  kBGR,    // packed 3 bytes
  kRGB,
  kBGRx,  // packed 4 bytes (also BGRA)
  kRGBx,  // packed 4 bytes (also RGBA)
  kxRGB,  // packed 4 bytes (also ARGB)
  kxBGR,  // packed 4 bytes (also ABGR)
};

// How YUV maps to RGB when a colour background image is needed.
enum class YuvMatrix { kBt601, kBt709 };

// One plane of a frame: pointer to the first byte and bytes per row.
struct Plane {
  const std::uint8_t *data = nullptr;
  std::size_t stride = 0;
};

struct FrameView {
  PixelFormat format = PixelFormat::kGray8;
  int width = 0;  // full-resolution size
  int height = 0;
  Plane planes[3];
  YuvMatrix matrix = YuvMatrix::kBt601;
  bool full_range = false;  // YUV: 0..255 (JPEG) instead of 16..235
};

// Planes a format has (packed formats: 1).
int planes_for(PixelFormat format);
bool is_packed(PixelFormat format);
// Bytes per pixel of a packed format (3 or 4).
int packed_channels(PixelFormat format);
// Byte offsets of B, G and R inside one packed pixel.
void packed_bgr_offsets(PixelFormat format, int offsets[3]);
// Chroma plane size (in chroma samples) of a planar/semi-planar YUV format.
cv::Size chroma_size(PixelFormat format, int width, int height);
// A read-only cv::Mat header over caller memory; OpenCV wants a non-const pointer.
cv::Mat wrap(const Plane &plane, int rows, int cols, int type);
// Throws std::invalid_argument naming what is wrong with a view (size, null plane, stride).
void validate(const FrameView &frame);
// 3x4 matrix taking (Y, U, V, 1) to (B, G, R) for cv::transform.
cv::Matx34f yuv_to_bgr_matrix(YuvMatrix matrix, bool full_range);

// The default of Settings::max_input_pixels (the element's max-input-pixels): 1280x720's area.
constexpr long kDefaultMaxInputPixels = 1280L * 720L;

// The processing size of a width x height picture: round(size * downscale), at least 1 pixel a
// side, downscale in (0, 1] (clamped there). A picture of more than max_input_pixels (> 0) is
// first taken, in effect, to that area with its aspect kept: the downscale applies to
// round(size * sqrt(max_input_pixels / area)). At the defaults (0.25, 1280x720's area) 1080p,
// 1440p and 4K are all processed at 320x180 (1/6, 1/8, 1/12), the size 720p gets: motion is
// decided on people a few processing pixels wide whatever the camera, so a large picture costs
// the model no more than a 720p one. 0: no limit.
cv::Size processing_size(int width, int height, double downscale, long max_input_pixels);

// Downscales one 8-bit plane to `size` as cv::resize(INTER_AREA) does (mean over each source
// area), with faster paths for exact whole-number reductions (2x to 16x). The accumulator's
// luma downscale, public for benchmarks and tests.
void downscale_plane(const cv::Mat &src, cv::Mat &dst, cv::Size size);

// Reduces full-resolution frames to processing size, keeping its working buffers between
// frames. One per stream; not thread-safe.
class FrameScaler {
 public:
  // Makes `grey` at `size` (and, for packed sources, keeps the small packed frame for colour()).
  void luma(const FrameView &f, cv::Size size, cv::Mat &grey);
  // Makes `bgr`, the frame at `size` in colour; needs luma() on the same frame first.
  void colour(const FrameView &f, cv::Size size, const cv::Mat &grey, cv::Mat &bgr);
  // Makes `u` and `v`, the chroma planes at `size` (CV_8U, 128 = grey), straight from the
  // subsampled planes (a 2x box for 4:2:0 at the default downscale) or, for packed sources,
  // from the small packed frame; needs luma() on the same frame first. Grey sources give
  // empty planes.
  void chroma(const FrameView &f, cv::Size size, cv::Mat &u, cv::Mat &v);

 private:
  cv::Mat packed_;     // processing-size packed RGB frame (packed sources only)
  cv::Mat chroma_[2];  // processing-size chroma planes (or one interleaved plane)
  cv::Mat yuv_;        // processing-size Y, U, V interleaved
};

}  // namespace heatmap
