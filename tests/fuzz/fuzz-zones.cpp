// fuzz-zones.cpp: libFuzzer target for zone files and polygon lists (gst-heatmap/core/zones,
// polygons): whatever parses is within the documented limits and rasterises inside the frame.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "polygons.h"
#include "zones.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  const std::string text(reinterpret_cast<const char *>(data), size);
  std::vector<heatmap::Zone> zones;
  std::string error;
  if (!heatmap::parse_zones(text, "zones.json", &zones, &error)) {
    // One line naming the file, never empty.
    if (error.rfind("zones.json: ", 0) != 0 || error.find('\n') != std::string::npos)
      std::abort();
  } else {
    if (zones.size() > heatmap::kMaxPolygons)
      std::abort();
    std::string problem;
    for (const heatmap::Zone &z : zones) {
      if (!heatmap::valid_name(z.name, &problem) || z.points.size() < 3 ||
          z.points.size() > heatmap::kMaxPolygonPoints)
        std::abort();
      for (const cv::Point2d &p : z.points)
        if (!(p.x >= 0 && p.x <= 1 && p.y >= 0 && p.y <= 1))
          std::abort();
    }
    // Measure one frame of motion everywhere on a small odd-sized picture.
    heatmap::ZoneMeter meter(zones, 1.0, 0.05);
    cv::Mat motion(7, 11, CV_8UC1, cv::Scalar(255));
    meter.add(0.0, motion, cv::Mat());
    for (const heatmap::ZoneResult &r : meter.results(0.04))
      if (r.pixels < 0 || r.pixels > 77 || r.mean_activity < 0 || r.mean_activity > 1 ||
          r.peak < 0 || r.peak > 1)
        std::abort();
  }

  // The list parser under the options the mask uses (unnamed, may be empty).
  heatmap::PolygonListOptions options;
  options.allow_empty = true;
  bool present = false;
  std::vector<heatmap::NamedPolygon> list;
  std::string problem;
  if (heatmap::parse_polygon_list(text, "exclude", options, &present, &list, &problem)) {
    cv::Mat raster(9, 5, CV_8UC1, cv::Scalar(0));
    for (const heatmap::NamedPolygon &p : list)
      heatmap::fill_polygon(raster, p.points, 255);
    if (!present && !list.empty())
      std::abort();
  } else if (problem.empty() || problem.find('\n') != std::string::npos) {
    std::abort();
  }
  return 0;
}
