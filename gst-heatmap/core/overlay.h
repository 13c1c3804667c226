// overlay.h: a heat layer cached in a video frame's own pixel layout, blended onto frames in place.
#pragma once

#include "frame.h"

#include <opencv2/core.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace heatmap {

// One writable plane of a frame.
struct MutablePlane {
  std::uint8_t *data = nullptr;
  std::size_t stride = 0;
};

// The heat, prepared once per refresh for one frame layout (format, size, YUV matrix and
// range), so that drawing it on a frame is one multiply-add per byte where there is heat and
// nothing elsewhere: bytes of pixels without heat, and the padding byte of xRGB-style formats,
// are never written, so they stay bit-identical.
class OverlayLayer {
 public:
  // `heat` is the colour image (CV_8UC3 BGR) and `weight` the per-pixel opacity (CV_32FC1,
  // 0..1) at processing size, e.g. from heat_layer(); they are scaled to width x height
  // (bilinear) and converted to the format. Throws std::invalid_argument on bad input.
  OverlayLayer(const cv::Mat &heat, const cv::Mat &weight, PixelFormat format, int width,
               int height, YuvMatrix matrix = YuvMatrix::kBt601, bool full_range = false);

  bool fits(PixelFormat format, int width, int height) const {
    return format == format_ && width == width_ && height == height_;
  }
  // Blends the layer onto a frame of the layout it was built for (planes in memory order, as
  // FrameView). The caller checks fits() first.
  void blend(const MutablePlane planes[3]) const;
  // Fraction of the frame's bytes the blend touches (for logs and tests).
  double coverage() const;

 private:
  struct PlaneLayer {
    cv::Mat value;   // CV_8UC1, the plane's bytes (rows x row bytes)
    cv::Mat weight;  // CV_16UC1, 0..256 per byte; 0 = leave the byte alone
    // The row's runs of heat: row r's runs are spans[row_start[r] .. row_start[r + 1]), each
    // a [first, last) pair holding every non-zero weight between them; runs closer than a few
    // vectors are joined (blending a zero weight leaves the byte exactly as it was).
    std::vector<std::pair<int, int>> spans;
    std::vector<int> row_start;
  };
  PixelFormat format_;
  int width_;
  int height_;
  std::vector<PlaneLayer> planes_;
};

}  // namespace heatmap
