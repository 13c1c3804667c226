// aggregate.h: adding clip heatmaps (counts PNG + sidecar) and aggregates up into occupancy
// maps with coverage and zone totals; the sidecar JSON in and out. No I/O, no GStreamer.
#pragma once

// The arithmetic (docs/aggregation.md has the long form):
//   A clip i has counts c_i(x) (processed frames in which pixel x moved), f_i processed frames
//   and a duration s_i seconds, so each processed frame stands for dt_i = s_i / f_i seconds.
//   occupancy(x) = sum_i c_i(x) dt_i / sum_i f_i dt_i
//   i.e. the share of observed time in which x moved. When every clip has the same dt (same
//   fps and frame-step) this is exactly sum c / sum f; clips at 12.5 fps and 25 fps each weigh
//   by the time they cover, not by their number of frames.
//   An aggregate stores round(65535 * occupancy) in its 16-bit PNG (65535 = moving 100% of the
//   observed time) with its observed seconds S_j in its sidecar; aggregates of aggregates use
//   occupancy(x) = sum_j v_j(x) S_j / (65535 sum_j S_j).
//   Clip weights are kept relative to the first clip's dt, so clips alike add as integers;
//   aggregates weigh by their seconds (integers for whole-second clips). The result is one
//   division of the sums, rounded half up: exact whenever the sums are.

#include <opencv2/core.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace heatmap::aggregate {

constexpr double kFullScale = 65535.0;  // PNG value of an occupancy of 1 (100% of the time)
constexpr const char *kFormat = "gst-heatmap.aggregate";
constexpr int kVersion = 1;

// A bad input: the message names the source and what is wrong with it (one line).
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One zone-activity sample (clip series) or bin (aggregate series).
struct ZoneSample {
  double start = 0;           // seconds since the epoch (UTC)
  double seconds = 0;         // observed seconds it covers
  double activity = 0;        // mean activity over those seconds
  double peak = 0;            // highest activity in them
  double active_seconds = 0;  // seconds in which the zone counted as active
};

struct Zone {
  std::string name;
  std::vector<std::pair<double, double>> polygon;  // as the first source gave it
  double observed_seconds = 0;
  double mean_activity = 0;  // time-weighted mean
  double active_seconds = 0;
  double peak = 0;
  std::vector<ZoneSample> series;  // in time order
};

// Seconds of footage per hour of the period (and how many clips gave them).
struct HourCoverage {
  double seconds = 0;
  std::uint64_t clips = 0;
};

struct ObjectRef {
  std::string key;
  std::string etag;
  bool operator==(const ObjectRef &o) const { return key == o.key && etag == o.etag; }
};

// What a clip sidecar or an aggregate sidecar says, normalised.
struct Source {
  std::string name;       // for messages: the key or path of its PNG
  std::string period_id;  // aggregates: their period ("2025-10-20"); clips: empty
  bool is_aggregate = false;
  int width = 0, height = 0;
  std::uint64_t frames = 0;  // frames processed
  double seconds = 0;        // seconds observed
  std::uint64_t clips = 0;   // 1 for a clip
  double start = 0;          // clip: start time (UTC seconds); aggregate: period start
  std::map<std::int64_t, HourCoverage> coverage;  // by hour start (UTC seconds)
  std::vector<Zone> zones;
  // Aggregates: the scene image they were drawn over. Clips: files.scene, a name relative to
  // the sidecar's folder (etag empty).
  std::optional<ObjectRef> scene;
  std::string png_md5;  // aggregates: MD5 (hex) of their PNG
  std::string png_key;  // aggregates: their PNG's key as written (files.png)
};

// Parses a clip sidecar (format "gst-heatmap.heatmap", version 1). start_fallback is used when
// start_utc is null (the time from the clip's name; NaN = unknown). Throws InputError naming
// `name` for bad JSON, a wrong format/version, missing or nonsensical frames/duration/size.
Source parse_clip_sidecar(const std::string &json, const std::string &name, double start_fallback);
// Parses an aggregate sidecar written by to_json(). Throws InputError.
Source parse_aggregate_sidecar(const std::string &json, const std::string &name);
// Either of the two, by its "format".
Source parse_sidecar(const std::string &json, const std::string &name, double start_fallback);

// A running sum of sources of one size.
class Sum {
 public:
  // Zone series of the result are binned to bin_seconds (60 for an hour, 900 a day, 3600 a
  // week or month); 0 keeps the samples as they come.
  explicit Sum(double bin_seconds = 0) : bin_seconds_(bin_seconds) {}

  // Adds a source with its PNG (CV_16UC1): counts for a clip, occupancy values for an
  // aggregate. The PNG must be source.width x source.height; with resample_to set, it is
  // first scaled to that size (area average). Throws InputError on a size mismatch.
  void add(const Source &source, const cv::Mat &png, std::optional<cv::Size> resample_to = {});

  bool empty() const { return sources_ == 0; }
  cv::Size size() const { return num_.size(); }
  std::size_t sources() const { return sources_; }
  std::uint64_t frames() const { return frames_; }
  double seconds() const { return seconds_; }
  std::uint64_t clips() const { return clips_; }
  const std::map<std::int64_t, HourCoverage> &coverage() const { return coverage_; }
  std::vector<Zone> zones() const;

  // round(65535 * occupancy), CV_16UC1.
  cv::Mat occupancy16() const;
  // Occupancy as a fraction, CV_32FC1.
  cv::Mat occupancy() const;

 private:
  double bin_seconds_;
  cv::Mat num_;            // CV_64FC1: sum of values * relative weight
  double den_ = 0;         // sum of units * relative weight
  double ref_weight_ = 0;  // clips: the first clip's seconds per processed frame
  bool aggregates_ = false;
  std::string first_name_;
  std::size_t sources_ = 0;
  std::uint64_t frames_ = 0, clips_ = 0;
  double seconds_ = 0;
  std::map<std::int64_t, HourCoverage> coverage_;
  std::map<std::string, Zone> zones_;
  std::map<std::string, std::map<std::int64_t, ZoneSample>> bins_;
};

// Occupancy (fraction) of a single source and its PNG.
cv::Mat occupancy_of(const Source &source, const cv::Mat &png);

// The aggregate sidecar, written beside the PNG and JPEG.
struct Sidecar {
  std::string kind;  // "hour", "day", "week", "month", or "prefix"
  std::string period_id;
  double period_start = 0, period_end = 0;  // UTC seconds; both 0 for a prefix
  std::string title;
  std::string source_prefix;  // what was aggregated (bucket URL + prefix, no credentials)
  struct Input {
    std::string label;  // clip stem or period id
    ObjectRef png, json;
    double seconds = 0;
    std::uint64_t frames = 0;
    bool resampled = false;
  };
  std::vector<Input> inputs;
  std::vector<std::pair<std::string, std::string>> skipped;  // name, why
  std::optional<ObjectRef> scene;
  std::string render_fingerprint;  // scale, colormap, ... : a change re-renders
  std::string scale_mode;          // "auto" or "fixed"
  double scale_top = 0;            // occupancy at the top of the colour bar
  std::string png_md5;
  std::string png_key, jpeg_key;
};

// The JSON text of an aggregate sidecar (stable: the same inputs give the same bytes).
std::string to_json(const Sidecar &sidecar, const Sum &sum);

// Reads what an existing aggregate sidecar says about its inputs, to decide whether a rerun has
// anything to do. nullopt when json is not a sidecar of this format and version.
struct Recorded {
  std::vector<std::pair<ObjectRef, ObjectRef>> inputs;  // png, json
  std::optional<ObjectRef> scene;
  std::string render_fingerprint;
};
std::optional<Recorded> read_recorded(const std::string &json);

// The JSON of a comparison of two sources: overall and per-zone deltas, B - A (zones matched
// by name; a zone on one side only gets null deltas).
struct Comparison {
  std::string a_ref, b_ref;  // as the user named them
  const Source *a = nullptr, *b = nullptr;
  double a_mean = 0, b_mean = 0;  // mean occupancy over the map
  double max_increase = 0;        // largest B - A (>= 0)
  double max_decrease = 0;        // most negative B - A (<= 0)
  std::string scale_mode;
  double top = 0;
  bool resampled = false;
};
std::string comparison_to_json(const Comparison &c);

// MD5 of bytes as lower-case hex.
std::string md5_hex(const std::string &bytes);

// Decodes a 16-bit grey PNG (or 8-bit, widened) after checking its header: at most
// max_pixels. Throws InputError naming `name`.
cv::Mat decode_png16(const std::string &bytes, const std::string &name,
                     std::size_t max_pixels = 8192 * 8192);
// Decodes a JPEG scene image to BGR; empty Mat (and *error set) when it cannot.
cv::Mat decode_scene(const std::string &bytes, std::string *error);

}  // namespace heatmap::aggregate
