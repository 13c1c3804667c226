// fuzz-image-decode.cpp: libFuzzer target for the JPEG and counts-PNG decoders
// (gst-heatmap/core/image-io), which read scene pictures and counts back from a bucket for the
// rollups, and the any-PNG-to-grey decoder masks use: a decoded image is whole and within
// the pixel limit; a refusal is one line and leaves no image.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <opencv2/core.hpp>

#include "fuzz-util.h"
#include "image-io.h"

namespace {

constexpr std::size_t kMaxPixels = 1 << 20;  // keeps each input fast; the check is the same

void check(bool ok, const cv::Mat &out, const std::string &error, int type) {
  if (ok) {
    if (out.empty() || out.type() != type || out.total() > kMaxPixels || !out.isContinuous())
      std::abort();
  } else if (!out.empty() || !one_clean_line("image: " + error, "image")) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  cv::Mat out;
  std::string error;
  check(heatmap::decode_jpeg(data, size, kMaxPixels, &out, &error), out, error, CV_8UC3);
  error.clear();
  check(heatmap::decode_grey_png(data, size, kMaxPixels, &out, &error), out, error, CV_16UC1);
  error.clear();
  check(heatmap::decode_png_to_grey(data, size, 1024, &out, &error), out, error, CV_8UC1);
  return 0;
}
