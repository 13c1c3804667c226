// image-io.h: atomic JPEG and 16-bit PNG writers, and the decoders for images read back
// (libjpeg/libpng, no OpenCV imgcodecs). The PNG decoders never read text, ICC profiles or
// private chunks: libpng would allocate a text chunk's claimed size before reading it.
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

// True if the bytes start with the 8-byte PNG signature.
bool is_png(const std::uint8_t *bytes, std::size_t length);

// Decoders for images read back from a bucket (rollups). An image wider or taller than
// max_side, or of more than max_pixels, is refused from its header, before any pixel is
// decoded. On failure they return false with *error set to a one-line reason.
// A JPEG (colour or grey) into 8-bit BGR.
bool decode_jpeg(const std::uint8_t *bytes, std::size_t length, std::size_t max_pixels,
                 cv::Mat *bgr, std::string *error);
// A grey 8- or 16-bit PNG (a counts PNG) into CV_16UC1; 8-bit samples keep their values.
bool decode_grey_png(const std::uint8_t *bytes, std::size_t length, std::size_t max_pixels,
                     cv::Mat *counts, std::string *error);
// Any PNG (grey, colour, palette, any depth, alpha) into 8-bit grey as libpng's simplified API
// makes it (colour weighed in linear light, alpha composited on black); refused from its header
// if wider or taller than max_side. Only the picture's chunks reach libpng (see
// picture_chunks_only in image-io.cpp).
bool decode_png_to_grey(const std::uint8_t *bytes, std::size_t length, int max_side, cv::Mat *grey,
                        std::string *error);
constexpr int kMaxDecodedSide = 65535;

}  // namespace heatmap
