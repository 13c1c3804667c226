// fuzz-aggregate-sidecar.cpp: libFuzzer target for heatmap-aggregate's sidecar reader
// (gst-heatmap/aggregate): rollups and the viewer's comparisons read clip and aggregate sidecars
// from the bucket, where anyone with write access can put any bytes. Either the text is read, or
// InputError says so in one line "sidecar.json: <problem>" with no control character. What is
// read is added up twice (as heatmap-aggregate does) and written as an aggregate sidecar.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <opencv2/core.hpp>

#include "fuzz-util.h"
#include "aggregate.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  namespace agg = heatmap::aggregate;
  const std::string text(reinterpret_cast<const char *>(data), size);
  agg::read_recorded(text);
  agg::Source source;
  try {
    // The fallback start a clip's name gives (2025-10-20T13:05:00Z).
    source = agg::parse_sidecar(text, "sidecar.json", 1760965500.0);
  } catch (const agg::InputError &e) {
    if (!one_clean_line(e.what(), "sidecar.json"))
      std::abort();
    return 0;
  }
  if (source.width < 1 || source.height < 1 || source.width > 16384 || source.height > 16384)
    std::abort();
  if (static_cast<long>(source.width) * source.height > 64 * 64)
    return 0;  // a large picture says nothing more about the reader, it only costs time
  const cv::Mat png(source.height, source.width, CV_16UC1, cv::Scalar(1));
  agg::Sum sum(900);
  try {
    sum.add(source, png);
    sum.add(source, png);
  } catch (const agg::InputError &e) {
    if (!one_clean_line(e.what(), "sidecar.json"))
      std::abort();
    return 0;
  }
  sum.occupancy16();
  agg::Sidecar out;
  out.kind = "day";
  out.period_id = "2025-10-20";
  out.period_start = 1760918400.0;
  out.period_end = out.period_start + 86400;
  agg::to_json(out, sum);
  return 0;
}
