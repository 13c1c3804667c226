// places.cpp: masks, zones and side files for the element (see places.h).
#include "places.h"

#include "image-io.h"
#include "location-pattern.h"

#include <opencv2/imgproc.hpp>

namespace heatmap {

bool Places::load(const PlacesSettings &settings, std::string *error) {
  Mask mask;
  if (!settings.mask_path.empty() && !Mask::load(settings.mask_path, &mask, error)) {
    return false;
  }
  std::vector<Zone> zones;
  std::string sha;
  if (!settings.zones_path.empty() && !load_zones(settings.zones_path, &zones, error, &sha)) {
    return false;
  }
  settings_ = settings;
  mask_ = std::move(mask);
  zones_ = std::move(zones);
  zones_sha256_ = sha;
  meter_ = std::make_shared<Meter>();
  if (!zones_.empty()) {
    meter_->meter =
        std::make_unique<ZoneMeter>(zones_, settings.zone_interval_s, settings.zone_threshold);
  }
  return true;
}

void Places::attach(Accumulator &accumulator) {
  accumulator.set_mask(mask_);
  if (!meter_->meter) {
    accumulator.set_motion_observer(nullptr);
    return;
  }
  std::shared_ptr<Meter> meter = meter_;
  const Mask mask = mask_;
  accumulator.set_motion_observer([meter, mask](std::int64_t tag, const cv::Mat &motion) {
    if (motion.size() != meter->size) {
      meter->size = motion.size();
      meter->counted = mask.raster(meter->size);
    }
    const double offset_s = tag < 0 ? 0.0 : static_cast<double>(tag - meter->origin_ns) / 1e9;
    meter->meter->add(offset_s, motion, meter->counted);
  });
}

void Places::restart(std::int64_t origin_ns) {
  meter_->origin_ns = origin_ns;
  if (meter_->meter) {
    meter_->meter->reset();
  }
}

std::vector<ZoneResult> Places::zone_results(double end_s) const {
  return meter_->meter ? meter_->meter->results(end_s) : std::vector<ZoneResult>();
}

void Places::describe(Sidecar *sidecar, cv::Size size) const {
  SidecarSettings &s = sidecar->settings;
  if (!settings_.mask_path.empty()) {
    s.mask = base_name(settings_.mask_path);
    s.mask_sha256 = mask_.sha256();
    const cv::Mat raster = mask_.raster(size);
    s.mask_coverage =
        raster.empty() ? 1.0 : static_cast<double>(cv::countNonZero(raster)) / raster.total();
  }
  if (!settings_.zones_path.empty()) {
    s.zones = base_name(settings_.zones_path);
    s.zones_sha256 = zones_sha256_;
  }
  sidecar->zone_interval_s = settings_.zone_interval_s;
  sidecar->zone_threshold = settings_.zone_threshold;
}

void Places::decorate(cv::Mat &bgr) const {
  if (bgr.empty()) {
    return;
  }
  if (bgr.type() == CV_8UC1) {
    cv::cvtColor(bgr, bgr, cv::COLOR_GRAY2BGR);
  }
  shade_masked(bgr, mask_.raster(bgr.size()));
  if (settings_.draw_zones) {
    draw_zones(bgr, zones_);
  }
}

SideFilesResult write_side_files(const SideFiles &files, const cv::Mat &scene, int quality,
                                 Sidecar *sidecar) {
  SideFilesResult result;
  const bool scene_wanted = !files.scene_path.empty() && !scene.empty();
  const bool csv_wanted = !files.csv_path.empty() && !sidecar->zones.empty();
  sidecar->files.scene =
      scene_wanted ? std::optional<std::string>(base_name(files.scene_path)) : std::nullopt;
  sidecar->files.csv =
      csv_wanted ? std::optional<std::string>(base_name(files.csv_path)) : std::nullopt;
  auto failed = [&](const std::string &path, const std::string &error) {
    result.ok = false;
    result.failed_path = path;
    result.error = error;
    return result;
  };
  std::string error;
  for (const std::string *path : {&files.scene_path, &files.csv_path, &files.json_path}) {
    const bool wanted = path == &files.scene_path ? scene_wanted
                        : path == &files.csv_path ? csv_wanted
                                                  : !path->empty();
    if (wanted && !make_parent_dirs(*path, &error)) {
      return failed(*path, error);
    }
  }
  if (scene_wanted) {
    cv::Mat bgr = scene;
    if (bgr.type() == CV_8UC1) {
      cv::cvtColor(scene, bgr, cv::COLOR_GRAY2BGR);
    }
    if (!write_jpeg(files.scene_path, bgr, quality, &error)) {
      return failed(files.scene_path, error);
    }
    result.written.push_back(files.scene_path);
  }
  if (csv_wanted) {
    if (!write_zones_csv(files.csv_path, *sidecar, &error)) {
      return failed(files.csv_path, error);
    }
    result.written.push_back(files.csv_path);
  }
  if (!files.json_path.empty()) {
    if (!write_sidecar(files.json_path, *sidecar, &error)) {
      return failed(files.json_path, error);
    }
    result.written.push_back(files.json_path);
  }
  return result;
}

}  // namespace heatmap
