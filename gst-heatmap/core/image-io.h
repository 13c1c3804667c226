// image-io.h: atomic JPEG and 16-bit PNG writers (libjpeg/libpng, no OpenCV imgcodecs).
#pragma once

#include <opencv2/core.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace heatmap {

// Atomic writers: write to a temporary file beside `path`, then rename. On failure they return
// false, leave nothing behind, and set *error to a one-line message naming the path.
bool write_jpeg(const std::string &path, const cv::Mat &bgr, int quality, std::string *error);
bool write_counts_png(const std::string &path, const cv::Mat &counts, std::string *error);
// The JPEG write_jpeg() would write, in memory (for the element's image pad). On failure
// returns false with *error set to libjpeg's reason.
bool encode_jpeg(const cv::Mat &bgr, int quality, std::vector<std::uint8_t> *bytes,
                 std::string *error);
// Writes bytes to path as the writers above do (temporary file, fsync, rename).
bool write_file_atomically(const std::string &path, const std::uint8_t *bytes, std::size_t length,
                           std::string *error);

}  // namespace heatmap
