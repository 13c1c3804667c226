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

void draw_zones(cv::Mat &bgr, const std::vector<Zone> &zones) {
  CV_Assert(bgr.type() == CV_8UC3);
  if (bgr.empty()) {
    return;
  }
  constexpr int kShift = 4;  // sub-pixel vertices for smooth anti-aliased outlines
  const int thickness = std::max(1, bgr.rows / 270);
  const double font_scale = std::max(0.35, bgr.rows / 700.0);
  const int font = cv::FONT_HERSHEY_SIMPLEX;
  for (const Zone &zone : zones) {
    std::vector<cv::Point> outline;
    for (const cv::Point2d &p : zone.points) {
      outline.emplace_back(cvRound((p.x * bgr.cols - 0.5) * (1 << kShift)),
                           cvRound((p.y * bgr.rows - 0.5) * (1 << kShift)));
    }
    cv::polylines(bgr, outline, true, cv::Scalar(20, 20, 20), thickness + 2, cv::LINE_AA, kShift);
    cv::polylines(bgr, outline, true, cv::Scalar(255, 255, 255), thickness, cv::LINE_AA, kShift);
    // The label sits inside the zone below its top-most vertex, kept inside the picture.
    std::string label;
    for (unsigned char c : zone.name) {
      label += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : (c >= 0xc0 ? '?' : '\0');
    }
    label.erase(std::remove(label.begin(), label.end(), '\0'), label.end());
    int baseline = 0;
    const cv::Size text = cv::getTextSize(label, font, font_scale, 1, &baseline);
    const auto top = std::min_element(zone.points.begin(), zone.points.end(),
                                      [](const cv::Point2d &a, const cv::Point2d &b) {
                                        return a.y < b.y || (a.y == b.y && a.x < b.x);
                                      });
    int x = cvRound(top->x * bgr.cols) + 3;
    int y = cvRound(top->y * bgr.rows) + text.height + 4;
    x = std::clamp(x, 0, std::max(0, bgr.cols - text.width - 2));
    y = std::clamp(y, text.height + 2, std::max(text.height + 2, bgr.rows - baseline - 2));
    cv::Mat box = bgr(cv::Rect(cv::Point(x - 2, y - text.height - 2),
                               cv::Point(x + text.width + 2, y + baseline)) &
                      cv::Rect(0, 0, bgr.cols, bgr.rows));
    box *= 0.35;
    cv::putText(bgr, label, cv::Point(x, y), font, font_scale, cv::Scalar(255, 255, 255), 1,
                cv::LINE_AA);
  }
}

}  // namespace heatmap
