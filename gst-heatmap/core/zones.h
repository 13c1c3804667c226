// zones.h: named zones (polygons in normalised coordinates) and their activity over time.
#pragma once

#include "polygons.h"

#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace heatmap {

using Zone = NamedPolygon;

// Zone files are small; anything larger is refused before parsing.
constexpr std::size_t kMaxZoneFileBytes = 1024 * 1024;

// Parses a zones document {"zones": [{"name": "entrance", "polygon": [[x,y],...]}, ...]}.
// On failure returns false with *error = "<label>: <problem>" (one line; see docs/metadata.md
// for what is rejected).
bool parse_zones(const std::string &text, const std::string &label, std::vector<Zone> *zones,
                 std::string *error);
// Reads and parses a zones file; errors start with the path. *sha256 (optional) gets the
// SHA-256 of the file's bytes.
bool load_zones(const std::string &path, std::vector<Zone> *zones, std::string *error,
                std::string *sha256 = nullptr);

// One interval of a zone's series.
struct ZoneInterval {
  double offset_s = 0;       // start, seconds from the start of the clip or window
  double duration_s = 0;     // the interval length, shorter for the last one
  std::uint64_t frames = 0;  // processed frames in it
  double activity = 0;       // mean over those frames of the fraction of the zone's pixels moving
  double peak = 0;           // largest such fraction
  bool active = false;       // activity > 0 and activity >= threshold
};

struct ZoneResult {
  Zone zone;
  std::int64_t pixels = 0;   // counted (unmasked) processing pixels inside the zone
  double mean_activity = 0;  // mean over all processed frames
  double active_seconds = 0;
  double peak = 0;
  std::vector<ZoneInterval> series;
};

// Measures, frame by frame, the fraction of each zone's pixels that moved, and sums it up per
// interval of `interval_s` seconds. Not thread-safe.
class ZoneMeter {
 public:
  ZoneMeter(std::vector<Zone> zones, double interval_s, double threshold);

  const std::vector<Zone> &zones() const { return zones_; }
  double interval() const { return interval_s_; }
  double threshold() const { return threshold_; }

  // Forgets the series and the zone rasters (a new clip or window, perhaps a new mask).
  void reset();
  // One processed frame at `offset_s` seconds from the start (frames may repeat an offset but
  // must not go back in time more than an interval; earlier ones join the first interval).
  // `motion`: CV_8UC1 at processing size, non-zero = counted motion; `counted`: CV_8UC1 of the
  // same size, non-zero = pixel not masked, or empty for no mask. The zones are rasterised at
  // the first frame after a reset and again when the size changes; `counted` is read then.
  void add(double offset_s, const cv::Mat &motion, const cv::Mat &counted);
  // The series up to `end_offset_s` (the end of the last frame; intervals with no frame up to
  // there are included with frames = 0) and the totals.
  std::vector<ZoneResult> results(double end_offset_s) const;

 private:
  struct Raster {
    cv::Rect box;
    cv::Mat inside;  // CV_8UC1 over box: 255 = counted pixel inside the zone
    std::int64_t pixels = 0;
  };
  struct Sum {
    std::uint64_t frames = 0;
    double activity_sum = 0;
    double peak = 0;
  };
  void rasterise(cv::Size size, const cv::Mat &counted);

  std::vector<Zone> zones_;
  double interval_s_;
  double threshold_;
  cv::Size size_;
  std::vector<Raster> rasters_;
  std::vector<std::vector<Sum>> sums_;  // [zone][interval]
  cv::Mat scratch_;
};

// Outlines each zone on `bgr` (CV_8UC3, any size) and writes its name beside it, legible on
// light and dark scenes (light line on a dark border, label on a dark box). Names are drawn
// with OpenCV's Hershey font: characters outside ASCII show as '?'.
void draw_zones(cv::Mat &bgr, const std::vector<Zone> &zones);

}  // namespace heatmap
