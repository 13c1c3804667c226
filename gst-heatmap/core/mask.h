// mask.h: which pixels count, from a PNG (white = counted) or a JSON file of polygons.
#pragma once

#include "polygons.h"

#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace heatmap {

constexpr std::size_t kMaxMaskFileBytes = 64 * 1024 * 1024;
constexpr int kMaxMaskSide = 16384;

// An empty Mask counts everything. Copyable, immutable once loaded.
class Mask {
 public:
  Mask() = default;

  // Reads a mask file: a PNG (told apart by its signature) at any size, bit depth and colour
  // type, white (grey >= 128) = counted, black = ignored, alpha composited on black; or a JSON
  // document {"include": [polygons], "exclude": [polygons]} (see docs/metadata.md). Errors are
  // one line starting with the path: unreadable, not PNG nor JSON, bad polygons, or a mask
  // that leaves nothing counted.
  static bool load(const std::string &path, Mask *mask, std::string *error);
  // The same from bytes already in memory; `label` starts the error messages.
  static bool from_bytes(const std::string &bytes, const std::string &label, Mask *mask,
                         std::string *error);

  bool empty() const { return image_.empty() && !has_include_ && exclude_.empty(); }
  // CV_8UC1 of `size`: 255 = counted, 0 = ignored; an empty Mat for an empty mask.
  // A PNG is resized with area averaging and thresholded at 128.
  cv::Mat raster(cv::Size size) const;
  // SHA-256 (hex) of the file's bytes; empty for an empty mask.
  const std::string &sha256() const { return sha256_; }

 private:
  cv::Mat image_;  // CV_8UC1, the PNG as decoded
  bool has_include_ = false;
  std::vector<NamedPolygon> include_;
  std::vector<NamedPolygon> exclude_;
  std::string sha256_;
};

// Darkens and desaturates the pixels of `bgr` (CV_8UC3) where `counted` (CV_8UC1, same size) is
// 0, so that a reader sees they were excluded. Nothing happens for an empty `counted`.
void shade_masked(cv::Mat &bgr, const cv::Mat &counted);

}  // namespace heatmap
