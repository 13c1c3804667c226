// fuzz-mask.cpp: libFuzzer target for mask files, PNG or JSON polygons (gst-heatmap/core/mask):
// a mask that loads rasterises to 0/255 at any processing size; a refusal is one line.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <opencv2/core.hpp>

#include "mask.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char *>(data), size);
  heatmap::Mask mask;
  std::string error;
  if (!heatmap::Mask::from_bytes(bytes, "mask", &mask, &error)) {
    if (error.rfind("mask: ", 0) != 0 || error.find('\n') != std::string::npos)
      std::abort();
    return 0;
  }
  for (const cv::Size size : {cv::Size(1, 1), cv::Size(13, 7), cv::Size(64, 36)}) {
    cv::Mat r = mask.raster(size);
    if (mask.empty()) {
      if (!r.empty())
        std::abort();
      continue;
    }
    if (r.type() != CV_8UC1 || r.size() != size)
      std::abort();
    if (cv::countNonZero(r) != cv::countNonZero(r == 255))
      std::abort();
  }
  return 0;
}
