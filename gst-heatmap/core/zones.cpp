// zones.cpp: zone files and per-interval zone activity.
#include "zones.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace heatmap {

bool parse_zones(const std::string &text, const std::string &label, std::vector<Zone> *zones,
                 std::string *error) {
  PolygonListOptions options;
  options.names_required = true;
  options.unique_names = true;
  bool present = false;
  std::string problem;
  if (!parse_polygon_list(text, "zones", options, &present, zones, &problem)) {
    *error = label + ": " + problem;
    return false;
  }
  if (!present) {
    *error = label +
             ": no \"zones\" array (expected {\"zones\": [{\"name\": ..., \"polygon\": "
             "[[x,y],...]}]})";
    return false;
  }
  return true;
}

bool load_zones(const std::string &path, std::vector<Zone> *zones, std::string *error,
                std::string *sha256) {
  std::string text, problem;
  if (!read_small_file(path, kMaxZoneFileBytes, &text, &problem)) {
    *error = path + ": " + problem;
    return false;
  }
  if (!parse_zones(text, path, zones, error)) {
    return false;
  }
  if (sha256 != nullptr) {
    *sha256 = sha256_hex(text);
  }
  return true;
}

ZoneMeter::ZoneMeter(std::vector<Zone> zones, double interval_s, double threshold)
    : zones_(std::move(zones)), interval_s_(interval_s), threshold_(threshold) {
  if (!(interval_s_ > 0) || !std::isfinite(interval_s_)) {
    throw std::invalid_argument("zone interval must be positive");
  }
  sums_.resize(zones_.size());
}

void ZoneMeter::reset() {
  for (auto &series : sums_) {
    series.clear();
  }
  rasters_.clear();
  size_ = cv::Size();
}

void ZoneMeter::rasterise(cv::Size size, const cv::Mat &counted) {
  size_ = size;
  rasters_.clear();
  cv::Mat full(size, CV_8UC1);
  for (const Zone &zone : zones_) {
    full.setTo(0);
    fill_polygon(full, zone.points, 255);
    if (!counted.empty()) {
      if (counted.size() != size || counted.type() != CV_8UC1) {
        throw std::invalid_argument("zone meter: mask size differs from the motion's");
      }
      full.setTo(0, counted == 0);
    }
    Raster raster;
    raster.box = cv::boundingRect(full);
    raster.inside = full(raster.box).clone();
    raster.pixels = raster.box.empty() ? 0 : cv::countNonZero(raster.inside);
    rasters_.push_back(std::move(raster));
  }
}

void ZoneMeter::add(double offset_s, const cv::Mat &motion, const cv::Mat &counted) {
  if (motion.type() != CV_8UC1) {
    throw std::invalid_argument("zone meter: motion must be CV_8UC1");
  }
  if (zones_.empty()) {
    return;
  }
  if (rasters_.empty() || motion.size() != size_) {
    rasterise(motion.size(), counted);
  }
  const double slot = std::floor(std::max(0.0, offset_s) / interval_s_);
  // A stream of absurd length (or timestamps) must not allocate without bound.
  const std::size_t index = static_cast<std::size_t>(std::min(slot, 1e7));
  for (std::size_t z = 0; z < zones_.size(); ++z) {
    std::vector<Sum> &series = sums_[z];
    if (series.size() <= index) {
      series.resize(index + 1);
    }
    const Raster &raster = rasters_[z];
    double fraction = 0;
    if (raster.pixels > 0) {
      cv::bitwise_and(motion(raster.box), raster.inside, scratch_);
      fraction =
          static_cast<double>(cv::countNonZero(scratch_)) / static_cast<double>(raster.pixels);
    }
    Sum &sum = series[index];
    sum.frames += 1;
    sum.activity_sum += fraction;
    sum.peak = std::max(sum.peak, fraction);
  }
}

std::vector<ZoneResult> ZoneMeter::results(double end_offset_s) const {
  std::vector<ZoneResult> results;
  std::size_t intervals = 0;
  for (const auto &series : sums_) {
    intervals = std::max(intervals, series.size());
  }
  if (end_offset_s > 0) {
    // The interval holding the end (an end exactly on a boundary closes the one before).
    const double last = std::ceil(end_offset_s / interval_s_);
    intervals = std::max(intervals, static_cast<std::size_t>(std::min(last, 1e7)));
  }
  for (std::size_t z = 0; z < zones_.size(); ++z) {
    ZoneResult result;
    result.zone = zones_[z];
    result.pixels = z < rasters_.size() ? rasters_[z].pixels : 0;
    std::uint64_t frames = 0;
    double activity_sum = 0;
    for (std::size_t i = 0; i < intervals; ++i) {
      ZoneInterval interval;
      interval.offset_s = static_cast<double>(i) * interval_s_;
      interval.duration_s = interval_s_;
      if (i + 1 == intervals && end_offset_s > interval.offset_s) {
        interval.duration_s = std::min(interval_s_, end_offset_s - interval.offset_s);
      }
      if (i < sums_[z].size()) {
        const Sum &sum = sums_[z][i];
        interval.frames = sum.frames;
        interval.activity = sum.frames ? sum.activity_sum / static_cast<double>(sum.frames) : 0;
        interval.peak = sum.peak;
        frames += sum.frames;
        activity_sum += sum.activity_sum;
      }
      interval.active = interval.activity > 0 && interval.activity >= threshold_;
      if (interval.active) {
        result.active_seconds += interval.duration_s;
      }
      result.peak = std::max(result.peak, interval.peak);
      result.series.push_back(interval);
    }
    result.mean_activity = frames ? activity_sum / static_cast<double>(frames) : 0;
    results.push_back(std::move(result));
  }
  return results;
}

}  // namespace heatmap
