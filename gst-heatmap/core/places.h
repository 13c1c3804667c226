// places.h: what the element needs for masks, zones and the sidecar, in one GObject-free piece:
// loading the files (one-line errors), the zone meter fed from the accumulator's motion, the
// decoration of the heatmap image and the side files (scene, CSV, JSON) written in order.
#pragma once

#include "accumulator.h"
#include "mask.h"
#include "sidecar.h"
#include "zones.h"

#include <opencv2/core.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace heatmap {

struct PlacesSettings {
  std::string mask_path;   // empty: no mask
  std::string zones_path;  // empty: no zones
  double zone_interval_s = 1.0;
  double zone_threshold = 0.01;
  bool draw_zones = false;
};

// One stream's masks and zones. load() on the caller's thread before streaming; attach() hooks
// the zone meter to an accumulator, whose worker then feeds it.
class Places {
 public:
  // Reads the mask and zones files; on failure returns false with a one-line *error that
  // starts with the file's path, and the previous state is kept.
  bool load(const PlacesSettings &settings, std::string *error);
  const PlacesSettings &settings() const { return settings_; }
  const Mask &mask() const { return mask_; }
  bool has_zones() const { return !zones_.empty(); }

  // Gives the accumulator the mask and, with zones, a motion observer whose tags are stream
  // times in nanoseconds (negative: unknown, counted at the origin).
  void attach(Accumulator &accumulator);
  // Starts the zone series afresh with offset 0 at `origin_ns` (a new clip or window). Call
  // only while the accumulator has no frame queued (after a query or a reset).
  void restart(std::int64_t origin_ns);
  // The zone results up to `end_s` seconds after the origin. Same threading rule as restart().
  std::vector<ZoneResult> zone_results(double end_s) const;

  // Fills the sidecar's settings for the mask and zones (names, SHA-256, mask coverage at
  // `size`) and the zone settings.
  void describe(Sidecar *sidecar, cv::Size size) const;
  // Shades the masked pixels and, with draw-zones, outlines the zones on the rendered heatmap.
  void decorate(cv::Mat &bgr) const;

 private:
  PlacesSettings settings_;
  Mask mask_;
  std::vector<Zone> zones_;
  std::string zones_sha256_;
  // Touched by the accumulator's worker (observer) and by the caller between frames.
  struct Meter {
    std::unique_ptr<ZoneMeter> meter;
    std::int64_t origin_ns = 0;
    cv::Size size;
    cv::Mat counted;
  };
  std::shared_ptr<Meter> meter_ = std::make_shared<Meter>();
};

// Where the side files go; empty paths are skipped.
struct SideFiles {
  std::string scene_path;
  std::string csv_path;  // written only when the sidecar has zones
  std::string json_path;
};

struct SideFilesResult {
  bool ok = true;
  std::string failed_path;
  std::string error;  // one line, names the path
  std::vector<std::string> written;
};

// Fills sidecar->files.scene/csv with the base names of what will be written, then writes, in
// this order and each atomically (folders created as needed): the scene JPEG (`scene`, processing
// size), the zones CSV and the sidecar JSON. The first failure stops the rest.
SideFilesResult write_side_files(const SideFiles &files, const cv::Mat &scene, int quality,
                                 Sidecar *sidecar);

}  // namespace heatmap
