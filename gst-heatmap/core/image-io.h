// image-io.h: atomic JPEG and 16-bit PNG writers (libjpeg/libpng, no OpenCV imgcodecs).
#pragma once

#include <opencv2/core.hpp>

#include <string>

namespace heatmap {

// Atomic writers: write to a temporary file beside `path`, then rename. On failure they return
// false, leave nothing behind, and set *error to a one-line message naming the path.
bool write_jpeg(const std::string &path, const cv::Mat &bgr, int quality, std::string *error);
bool write_counts_png(const std::string &path, const cv::Mat &counts, std::string *error);

}  // namespace heatmap
