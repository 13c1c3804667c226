// aggregate.cpp: sums of clip heatmaps and aggregates, and the sidecar JSON in and out.
#include "aggregate.h"

#include <glib.h>
#include <json-glib/json-glib.h>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include "image-io.h"
#include "json-text.h"
#include "one-line.h"
#include "rollups.h"

namespace heatmap::aggregate {
namespace {

using s3::rollups::iso8601;
using s3::rollups::parse_iso8601;

constexpr std::size_t kMaxJsonDepth = 64;

// json-glib parses recursively: refuse absurd nesting before handing it the text.
bool nesting_ok(const std::string &json) {
  std::size_t depth = 0;
  bool in_string = false, escaped = false;
  for (char c : json) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth)
        return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

struct ParserDeleter {
  void operator()(JsonParser *p) const { g_object_unref(p); }
};

// A parsed document whose root must be an object.
class Doc {
 public:
  Doc(const std::string &json, const std::string &name) : name_(name) {
    if (!nesting_ok(json))
      throw InputError(name + ": sidecar JSON is nested too deeply");
    parser_.reset(json_parser_new_immutable());
    GError *error = nullptr;
    if (!json_parser_load_from_data(parser_.get(), json.data(), static_cast<gssize>(json.size()),
                                    &error)) {
      // json-glib quotes the offending token, raw newlines included: keep the error one line.
      std::string why = one_line(error != nullptr ? error->message : "unknown error", 200);
      g_clear_error(&error);
      throw InputError(name + ": sidecar is not valid JSON (" + why + ")");
    }
    JsonNode *root = json_parser_get_root(parser_.get());
    if (root == nullptr || !JSON_NODE_HOLDS_OBJECT(root))
      throw InputError(name + ": sidecar JSON is not an object");
    root_ = json_node_get_object(root);
  }
  JsonObject *root() const { return root_; }

 private:
  std::string name_;
  std::unique_ptr<JsonParser, ParserDeleter> parser_;
  JsonObject *root_ = nullptr;
};

JsonNode *member(JsonObject *o, const char *key) {
  return o != nullptr && json_object_has_member(o, key) ? json_object_get_member(o, key) : nullptr;
}

bool is_null(JsonNode *n) {
  return n == nullptr || JSON_NODE_HOLDS_NULL(n);
}

bool is_number(JsonNode *n) {
  if (n == nullptr || !JSON_NODE_HOLDS_VALUE(n))
    return false;
  GType t = json_node_get_value_type(n);
  return t == G_TYPE_INT64 || t == G_TYPE_DOUBLE;
}

// A number member; `fallback` when absent or null; InputError when of another type.
double number(JsonObject *o, const char *key, double fallback, const std::string &name) {
  JsonNode *n = member(o, key);
  if (is_null(n))
    return fallback;
  if (!is_number(n))
    throw InputError(name + ": sidecar field '" + key + "' is not a number");
  double v = json_node_get_double(n);
  if (!std::isfinite(v))
    throw InputError(name + ": sidecar field '" + key + "' is not finite");
  return v;
}

std::optional<std::string> string_member(JsonObject *o, const char *key, const std::string &name) {
  JsonNode *n = member(o, key);
  if (is_null(n))
    return std::nullopt;
  if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
    throw InputError(name + ": sidecar field '" + key + "' is not a string");
  return std::string(json_node_get_string(n));
}

bool bool_member(JsonObject *o, const char *key) {
  JsonNode *n = member(o, key);
  return n != nullptr && JSON_NODE_HOLDS_VALUE(n) &&
         json_node_get_value_type(n) == G_TYPE_BOOLEAN && json_node_get_boolean(n);
}

JsonObject *object_member(JsonObject *o, const char *key, const std::string &name) {
  JsonNode *n = member(o, key);
  if (is_null(n))
    return nullptr;
  if (!JSON_NODE_HOLDS_OBJECT(n))
    throw InputError(name + ": sidecar field '" + key + "' is not an object");
  return json_node_get_object(n);
}

JsonArray *array_member(JsonObject *o, const char *key, const std::string &name) {
  JsonNode *n = member(o, key);
  if (is_null(n))
    return nullptr;
  if (!JSON_NODE_HOLDS_ARRAY(n))
    throw InputError(name + ": sidecar field '" + key + "' is not an array");
  return json_node_get_array(n);
}

// Calls f(JsonObject*) for each object element of an array; other elements are an error.
template <typename F>
void each_object(JsonArray *a, const char *what, const std::string &name, F f) {
  if (a == nullptr)
    return;
  guint n = json_array_get_length(a);
  for (guint i = 0; i < n; ++i) {
    JsonNode *e = json_array_get_element(a, i);
    if (!JSON_NODE_HOLDS_OBJECT(e))
      throw InputError(name + ": an element of '" + what + "' is not an object");
    f(json_node_get_object(e));
  }
}

// A count (frames, clips): a whole number in 0..2^53; 0 when absent. A bucket's sidecar may say
// 1e300, which no integer type holds.
std::uint64_t count(JsonObject *o, const char *key, const std::string &name) {
  double v = number(o, key, 0, name);
  if (v < 0 || v > 9007199254740992.0 || v != std::floor(v))
    throw InputError(name + ": sidecar field '" + std::string(key) + "' is not a count");
  return static_cast<std::uint64_t>(v);
}

int dimension(JsonObject *o, const char *key, const std::string &name) {
  double v = number(o, key, 0, name);
  if (v < 1 || v > 16384 || v != std::floor(v))
    throw InputError(name + ": sidecar field '" + std::string(key) +
                     "' is missing or not a size in 1..16384");
  return static_cast<int>(v);
}

std::vector<std::pair<double, double>> parse_polygon(JsonObject *z, const std::string &name) {
  std::vector<std::pair<double, double>> out;
  JsonArray *a = array_member(z, "polygon", name);
  if (a == nullptr)
    return out;
  guint n = json_array_get_length(a);
  for (guint i = 0; i < n && i < 1024; ++i) {
    JsonNode *e = json_array_get_element(a, i);
    if (!JSON_NODE_HOLDS_ARRAY(e) || json_array_get_length(json_node_get_array(e)) != 2)
      throw InputError(name + ": a zone polygon point is not [x, y]");
    JsonArray *pt = json_node_get_array(e);
    JsonNode *x = json_array_get_element(pt, 0), *y = json_array_get_element(pt, 1);
    if (!is_number(x) || !is_number(y))
      throw InputError(name + ": a zone polygon point is not [x, y]");
    out.emplace_back(json_node_get_double(x), json_node_get_double(y));
  }
  return out;
}

std::optional<ObjectRef> parse_ref(JsonObject *o, const char *key, const std::string &name) {
  JsonObject *r = object_member(o, key, name);
  if (r == nullptr)
    return std::nullopt;
  ObjectRef ref;
  ref.key = string_member(r, "key", name).value_or("");
  ref.etag = string_member(r, "etag", name).value_or("");
  if (ref.key.empty())
    return std::nullopt;
  return ref;
}

// A number for an error message: "%g" keeps 1e300 to five characters where to_string gives 301.
std::string short_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

double time_member(JsonObject *o, const char *key, const std::string &name) {
  std::optional<std::string> text = string_member(o, key, name);
  if (!text)
    return NAN;
  std::optional<double> t = parse_iso8601(*text);
  if (!t)
    throw InputError(name + ": sidecar field '" + key + "' is not an ISO 8601 UTC time");
  return *t;
}

void check_format(JsonObject *root, const char *format, const std::string &name) {
  std::optional<std::string> f = string_member(root, "format", name);
  if (!f || *f != format)
    throw InputError(name + ": not a " + format + " sidecar (format '" +
                     one_line(f.value_or("none"), 80) + "')");
  double version = number(root, "version", 0, name);
  if (version != 1) {
    // (%g, not a cast to int: the version is any JSON number, 1e300 included.)
    char text[32];
    std::snprintf(text, sizeof text, "%g", version);
    throw InputError(name + ": sidecar version " + text +
                     " is not supported (this tool reads version 1)");
  }
}

std::int64_t hour_start(double t) {
  return static_cast<std::int64_t>(std::floor(t / 3600)) * 3600;
}

// JSON output helpers.
struct BuilderDeleter {
  void operator()(JsonBuilder *b) const { g_object_unref(b); }
};

class Out {
 public:
  Out() : b_(json_builder_new()) {}
  JsonBuilder *b() { return b_.get(); }
  Out &key(const char *k) {
    json_builder_set_member_name(b_.get(), k);
    return *this;
  }
  void str(const std::string &v) { json_builder_add_string_value(b_.get(), v.c_str()); }
  void num(double v) {
    // Rounded to 9 significant digits: stable text, far below any meaningful difference.
    if (v != 0 && std::isfinite(v)) {
      double mag = std::pow(10.0, 8 - static_cast<int>(std::floor(std::log10(std::fabs(v)))));
      v = std::round(v * mag) / mag;
    }
    json_builder_add_double_value(b_.get(), v);
  }
  void integer(std::int64_t v) { json_builder_add_int_value(b_.get(), v); }
  void boolean(bool v) { json_builder_add_boolean_value(b_.get(), v); }
  void null() { json_builder_add_null_value(b_.get()); }
  void begin_object() { json_builder_begin_object(b_.get()); }
  void end_object() { json_builder_end_object(b_.get()); }
  void begin_array() { json_builder_begin_array(b_.get()); }
  void end_array() { json_builder_end_array(b_.get()); }
  void ref(const std::optional<ObjectRef> &r) {
    if (!r) {
      null();
      return;
    }
    begin_object();
    key("key").str(r->key);
    key("etag").str(r->etag);
    end_object();
  }
  std::string text() {
    JsonNode *root = json_builder_get_root(b_.get());
    std::string out = heatmap::json_text(root, true);
    json_node_unref(root);
    return out + "\n";
  }

 private:
  std::unique_ptr<JsonBuilder, BuilderDeleter> b_;
};

}  // namespace

Source parse_clip_sidecar(const std::string &json, const std::string &name, double start_fallback) {
  Doc doc(json, name);
  JsonObject *root = doc.root();
  check_format(root, "gst-heatmap.heatmap", name);
  Source s;
  s.name = name;
  s.width = dimension(root, "width", name);
  s.height = dimension(root, "height", name);
  double frames = number(root, "frames_processed", 0, name);
  if (frames < 1 || frames > 1e12 || frames != std::floor(frames))
    throw InputError(name + ": sidecar says no frames were processed (frames_processed '" +
                     short_number(frames) + "')");
  s.frames = static_cast<std::uint64_t>(frames);
  double duration = number(root, "duration_s", 0, name);
  if (!(duration > 0)) {
    // Without a duration: each processed frame covers frame_step / fps seconds.
    double fps = number(root, "fps", 0, name);
    double step = number(object_member(root, "settings", name), "frame_step", 1, name);
    if (!(fps > 0) || !(step >= 1))
      throw InputError(name + ": sidecar has neither a duration_s nor an fps to weigh it by");
    duration = s.frames * step / fps;
  }
  if (duration > 31 * 86400.0)
    throw InputError(name + ": sidecar duration_s is over a month");
  s.seconds = duration;
  s.clips = 1;
  double start = time_member(root, "start_utc", name);
  s.start = std::isnan(start) ? start_fallback : start;
  if (!std::isnan(s.start)) {
    HourCoverage &c = s.coverage[hour_start(s.start)];
    c.seconds = s.seconds;
    c.clips = 1;
  }
  double interval = number(root, "zone_interval_s", 1.0, name);
  if (!(interval > 0))
    interval = 1.0;
  each_object(array_member(root, "zones", name), "zones", name, [&](JsonObject *z) {
    Zone zone;
    zone.name = string_member(z, "name", name).value_or("");
    if (zone.name.empty())
      throw InputError(name + ": a zone has no name");
    zone.polygon = parse_polygon(z, name);
    zone.observed_seconds = s.seconds;
    zone.mean_activity = number(z, "mean_activity", 0, name);
    zone.active_seconds = number(z, "active_seconds", 0, name);
    zone.peak = number(z, "peak", 0, name);
    each_object(array_member(z, "series", name), "series", name, [&](JsonObject *p) {
      ZoneSample sample;
      double t = time_member(p, "time_utc", name);
      if (std::isnan(t)) {
        // An offset is from the clip's start; one outside the clip is not a sample of it (and
        // an unbounded one would put the sample outside any representable time).
        double offset = number(p, "offset_s", NAN, name);
        if (!std::isnan(offset) && !(offset >= -1 && offset <= s.seconds + 1))
          throw InputError(name + ": a zone sample's offset_s " + short_number(offset) +
                           " lies outside the clip (0.." + short_number(s.seconds) + " s)");
        t = s.start + offset;
      }
      if (std::isnan(t))
        return;  // a sample of unknown time cannot go into a time series
      sample.start = t;
      sample.seconds = interval;
      sample.activity = number(p, "activity", 0, name);
      sample.peak = number(p, "peak", sample.activity, name);
      sample.active_seconds = bool_member(p, "active") ? interval : 0;
      zone.series.push_back(sample);
    });
    s.zones.push_back(std::move(zone));
  });
  std::optional<std::string> scene =
      string_member(object_member(root, "files", name), "scene", name);
  if (scene && !scene->empty() && scene->find('/') == std::string::npos)
    s.scene = ObjectRef{*scene, ""};
  return s;
}

Source parse_aggregate_sidecar(const std::string &json, const std::string &name) {
  Doc doc(json, name);
  JsonObject *root = doc.root();
  check_format(root, kFormat, name);
  Source s;
  s.name = name;
  s.is_aggregate = true;
  s.width = dimension(root, "width", name);
  s.height = dimension(root, "height", name);
  s.frames = count(root, "frames_processed", name);
  s.seconds = number(root, "seconds_observed", 0, name);
  if (!(s.seconds > 0))
    throw InputError(name + ": aggregate sidecar has no observed seconds");
  s.clips = count(root, "clips", name);
  JsonObject *period = object_member(root, "period", name);
  s.start = time_member(period, "start_utc", name);
  s.period_id = string_member(period, "id", name).value_or("");
  JsonObject *coverage = object_member(root, "coverage", name);
  each_object(array_member(coverage, "hours", name), "coverage.hours", name, [&](JsonObject *h) {
    double t = time_member(h, "hour_utc", name);
    if (std::isnan(t))
      throw InputError(name + ": a coverage hour has no hour_utc");
    HourCoverage &c = s.coverage[hour_start(t)];
    c.seconds += number(h, "seconds", 0, name);
    c.clips += count(h, "clips", name);
  });
  each_object(array_member(root, "zones", name), "zones", name, [&](JsonObject *z) {
    Zone zone;
    zone.name = string_member(z, "name", name).value_or("");
    if (zone.name.empty())
      throw InputError(name + ": a zone has no name");
    zone.polygon = parse_polygon(z, name);
    zone.observed_seconds = number(z, "observed_seconds", 0, name);
    zone.mean_activity = number(z, "mean_activity", 0, name);
    zone.active_seconds = number(z, "active_seconds", 0, name);
    zone.peak = number(z, "peak", 0, name);
    each_object(array_member(z, "series", name), "series", name, [&](JsonObject *p) {
      ZoneSample sample;
      sample.start = time_member(p, "time_utc", name);
      if (std::isnan(sample.start))
        return;
      sample.seconds = number(p, "seconds", 0, name);
      sample.activity = number(p, "activity", 0, name);
      sample.peak = number(p, "peak", 0, name);
      sample.active_seconds = number(p, "active_seconds", 0, name);
      zone.series.push_back(sample);
    });
    s.zones.push_back(std::move(zone));
  });
  s.scene = parse_ref(root, "scene", name);
  s.png_md5 = string_member(object_member(root, "files", name), "png_md5", name).value_or("");
  s.png_key = string_member(object_member(root, "files", name), "png", name).value_or("");
  return s;
}

Source parse_sidecar(const std::string &json, const std::string &name, double start_fallback) {
  Doc doc(json, name);
  std::optional<std::string> f = string_member(doc.root(), "format", name);
  if (f && *f == kFormat)
    return parse_aggregate_sidecar(json, name);
  return parse_clip_sidecar(json, name, start_fallback);
}

void Sum::add(const Source &source, const cv::Mat &png, std::optional<cv::Size> resample_to) {
  if (png.empty() || png.type() != CV_16UC1)
    throw InputError(source.name + ": not a 16-bit grey PNG");
  if (png.cols != source.width || png.rows != source.height) {
    throw InputError(source.name + ": the PNG is " + std::to_string(png.cols) + "x" +
                     std::to_string(png.rows) + " but its sidecar says " +
                     std::to_string(source.width) + "x" + std::to_string(source.height));
  }
  cv::Mat values;
  png.convertTo(values, CV_64F);
  if (resample_to && values.size() != *resample_to)
    cv::resize(values, values, *resample_to, 0, 0, cv::INTER_AREA);
  if (num_.empty()) {
    num_ = cv::Mat::zeros(values.size(), CV_64FC1);
    first_name_ = source.name;
  } else if (values.size() != num_.size()) {
    throw InputError("mixed resolutions: " + first_name_ + " is " + std::to_string(num_.cols) +
                     "x" + std::to_string(num_.rows) + " but " + source.name + " is " +
                     std::to_string(values.cols) + "x" + std::to_string(values.rows) +
                     " (a camera change, or heatmaps from before max-input-pixels? --resample "
                     "scales every source to the newest one's size)");
  }
  // Clips: counts weighted by the seconds one processed frame stands for, relative to the first
  // clip's (so clips alike add as integers), over the frames weighted alike; the result is
  // scaled to 65535. Aggregates: values weighted by their observed seconds, over the seconds.
  if (sources_ > 0 && source.is_aggregate != aggregates_)
    throw InputError(source.name + ": clip heatmaps and aggregates cannot be added together");
  aggregates_ = source.is_aggregate;
  double weight = 0, units = 0;
  if (source.is_aggregate) {
    weight = source.seconds;
    units = 1;
  } else {
    double dt = source.seconds / static_cast<double>(source.frames);
    if (ref_weight_ == 0)
      ref_weight_ = dt;
    weight = dt == ref_weight_ ? 1.0 : dt / ref_weight_;
    units = static_cast<double>(source.frames);
  }
  if (!(weight > 0))
    throw InputError(source.name + ": no observed time");
  if (weight == 1.0)
    num_ += values;
  else
    cv::scaleAdd(values, weight, num_, num_);
  den_ += units * weight;
  ++sources_;
  frames_ += source.frames;
  clips_ += source.clips;
  seconds_ += source.seconds;
  for (const auto &[hour, c] : source.coverage) {
    coverage_[hour].seconds += c.seconds;
    coverage_[hour].clips += c.clips;
  }
  for (const Zone &z : source.zones) {
    auto [it, fresh] = zones_.try_emplace(z.name);
    Zone &acc = it->second;
    if (fresh) {
      acc.name = z.name;
      acc.polygon = z.polygon;
    }
    // mean_activity holds the time-weighted sum until zones() divides it.
    acc.mean_activity += z.mean_activity * z.observed_seconds;
    acc.observed_seconds += z.observed_seconds;
    acc.active_seconds += z.active_seconds;
    acc.peak = std::max(acc.peak, z.peak);
    auto &bins = bins_[z.name];
    for (const ZoneSample &sample : z.series) {
      double start =
          bin_seconds_ > 0 ? std::floor(sample.start / bin_seconds_) * bin_seconds_ : sample.start;
      ZoneSample &b = bins[static_cast<std::int64_t>(std::llround(start * 1000))];
      b.start = start;
      b.activity += sample.activity * sample.seconds;
      b.seconds += sample.seconds;
      b.peak = std::max(b.peak, sample.peak);
      b.active_seconds += sample.active_seconds;
    }
  }
}

std::vector<Zone> Sum::zones() const {
  std::vector<Zone> out;
  for (const auto &[name, z] : zones_) {
    Zone zone = z;
    zone.mean_activity = z.observed_seconds > 0 ? z.mean_activity / z.observed_seconds : 0;
    auto it = bins_.find(name);
    if (it != bins_.end()) {
      for (const auto &[start, b] : it->second) {
        ZoneSample s = b;
        s.activity = b.seconds > 0 ? b.activity / b.seconds : 0;
        zone.series.push_back(s);
      }
    }
    out.push_back(std::move(zone));
  }
  return out;
}

cv::Mat Sum::occupancy16() const {
  cv::Mat out(num_.size(), CV_16UC1);
  for (int y = 0; y < num_.rows; ++y) {
    const double *n = num_.ptr<double>(y);
    std::uint16_t *o = out.ptr<std::uint16_t>(y);
    for (int x = 0; x < num_.cols; ++x) {
      // Integer sums stay exact: one correctly rounded division, then round half up.
      double v = std::floor((aggregates_ ? n[x] : kFullScale * n[x]) / den_ + 0.5);
      o[x] = static_cast<std::uint16_t>(std::clamp(v, 0.0, kFullScale));
    }
  }
  return out;
}

cv::Mat Sum::occupancy() const {
  cv::Mat out;
  num_.convertTo(out, CV_32F, (aggregates_ ? 1.0 / kFullScale : 1.0) / den_);
  return out;
}

cv::Mat occupancy_of(const Source &source, const cv::Mat &png) {
  Sum sum;
  sum.add(source, png);
  return sum.occupancy();
}

std::string to_json(const Sidecar &sc, const Sum &sum) {
  Out o;
  o.begin_object();
  o.key("format").str(kFormat);
  o.key("version").integer(kVersion);
  o.key("kind").str(sc.kind);
  o.key("period");
  o.begin_object();
  o.key("kind").str(sc.kind);
  o.key("id").str(sc.period_id);
  if (sc.period_end > sc.period_start) {
    o.key("start_utc").str(iso8601(static_cast<std::int64_t>(sc.period_start)));
    o.key("end_utc").str(iso8601(static_cast<std::int64_t>(sc.period_end)));
  } else {
    o.key("start_utc").null();
    o.key("end_utc").null();
  }
  o.end_object();
  o.key("title").str(sc.title);
  o.key("source_prefix").str(sc.source_prefix);
  o.key("width").integer(sum.size().width);
  o.key("height").integer(sum.size().height);
  o.key("png_scale");
  o.begin_object();
  o.key("full_scale").integer(static_cast<std::int64_t>(kFullScale));
  o.key("meaning").str("value / 65535 = share of the observed time in which the pixel moved");
  o.end_object();
  o.key("clips").integer(static_cast<std::int64_t>(sum.clips()));
  o.key("frames_processed").integer(static_cast<std::int64_t>(sum.frames()));
  o.key("seconds_observed").num(sum.seconds());
  cv::Mat occ = sum.occupancy();
  double max_occ = 0;
  cv::minMaxLoc(occ, nullptr, &max_occ);
  o.key("max_occupancy").num(max_occ);
  o.key("mean_occupancy").num(cv::mean(occ)[0]);
  o.key("scale");
  o.begin_object();
  o.key("png_full_scale").integer(static_cast<std::int64_t>(kFullScale));
  o.key("mode").str(sc.scale_mode);
  o.key("top").num(sc.scale_top);
  o.end_object();

  // Coverage: every hour of the period, observed or not (a prefix: the observed ones).
  o.key("coverage");
  o.begin_object();
  std::int64_t first = static_cast<std::int64_t>(sc.period_start);
  std::int64_t last = static_cast<std::int64_t>(sc.period_end);
  std::size_t hours_in_period = sc.period_end > sc.period_start ? (last - first) / 3600 : 0;
  std::size_t observed = 0;
  for (const auto &[h, c] : sum.coverage())
    observed += c.seconds > 0 && (hours_in_period == 0 || (h >= first && h < last));
  o.key("hours_in_period").integer(static_cast<std::int64_t>(hours_in_period));
  o.key("hours_observed").integer(static_cast<std::int64_t>(observed));
  o.key("seconds_observed").num(sum.seconds());
  o.key("hours");
  o.begin_array();
  for (const auto &[h, c] : sum.coverage()) {
    o.begin_object();
    o.key("hour_utc").str(iso8601(h));
    o.key("seconds").num(c.seconds);
    o.key("clips").integer(static_cast<std::int64_t>(c.clips));
    o.end_object();
  }
  o.end_array();
  o.key("unobserved_hours");
  o.begin_array();
  for (std::int64_t h = first; hours_in_period > 0 && h < last; h += 3600) {
    auto it = sum.coverage().find(h);
    if (it == sum.coverage().end() || it->second.seconds <= 0)
      o.str(iso8601(h));
  }
  o.end_array();
  o.end_object();

  o.key("zones");
  o.begin_array();
  for (const Zone &z : sum.zones()) {
    o.begin_object();
    o.key("name").str(z.name);
    o.key("polygon");
    o.begin_array();
    for (const auto &[x, y] : z.polygon) {
      o.begin_array();
      o.num(x);
      o.num(y);
      o.end_array();
    }
    o.end_array();
    o.key("observed_seconds").num(z.observed_seconds);
    o.key("mean_activity").num(z.mean_activity);
    o.key("active_seconds").num(z.active_seconds);
    o.key("peak").num(z.peak);
    o.key("series");
    o.begin_array();
    for (const ZoneSample &s : z.series) {
      o.begin_object();
      o.key("time_utc").str(iso8601(static_cast<std::int64_t>(std::floor(s.start))));
      o.key("seconds").num(s.seconds);
      o.key("activity").num(s.activity);
      o.key("peak").num(s.peak);
      o.key("active_seconds").num(s.active_seconds);
      o.end_object();
    }
    o.end_array();
    o.end_object();
  }
  o.end_array();

  o.key("sources");
  o.begin_array();
  for (const Sidecar::Input &in : sc.inputs) {
    o.begin_object();
    o.key("label").str(in.label);
    o.key("png").ref(in.png);
    o.key("json").ref(in.json);
    o.key("seconds").num(in.seconds);
    o.key("frames").integer(static_cast<std::int64_t>(in.frames));
    if (in.resampled)
      o.key("resampled").boolean(true);
    o.end_object();
  }
  o.end_array();
  o.key("skipped");
  o.begin_array();
  for (const auto &[name, why] : sc.skipped) {
    o.begin_object();
    o.key("name").str(name);
    o.key("reason").str(why);
    o.end_object();
  }
  o.end_array();
  o.key("scene").ref(sc.scene);
  o.key("render").str(sc.render_fingerprint);
  o.key("files");
  o.begin_object();
  o.key("png").str(sc.png_key);
  o.key("png_md5").str(sc.png_md5);
  o.key("jpeg").str(sc.jpeg_key);
  if (sc.scene)
    o.key("scene").str(sc.scene->key);
  else
    o.key("scene").null();
  o.end_object();
  o.end_object();
  return o.text();
}

std::optional<Recorded> read_recorded(const std::string &json) {
  try {
    Doc doc(json, "existing sidecar");
    JsonObject *root = doc.root();
    check_format(root, kFormat, "existing sidecar");
    Recorded r;
    const std::string name = "existing sidecar";
    each_object(array_member(root, "sources", name), "sources", name, [&](JsonObject *s) {
      r.inputs.emplace_back(parse_ref(s, "png", name).value_or(ObjectRef{}),
                            parse_ref(s, "json", name).value_or(ObjectRef{}));
    });
    r.scene = parse_ref(root, "scene", name);
    r.render_fingerprint = string_member(root, "render", name).value_or("");
    return r;
  } catch (const InputError &) {
    return std::nullopt;
  }
}

std::string comparison_to_json(const Comparison &c) {
  Out o;
  auto side = [&](const char *key, const std::string &ref, const Source &s, double mean) {
    o.key(key);
    o.begin_object();
    o.key("source").str(ref);
    o.key("period").str(s.period_id);
    o.key("clips").integer(static_cast<std::int64_t>(s.clips));
    o.key("seconds_observed").num(s.seconds);
    o.key("mean_occupancy").num(mean);
    o.end_object();
  };
  o.begin_object();
  o.key("format").str("gst-heatmap.compare");
  o.key("version").integer(kVersion);
  o.key("difference").str("b - a");
  side("a", c.a_ref, *c.a, c.a_mean);
  side("b", c.b_ref, *c.b, c.b_mean);
  o.key("mean_occupancy_delta").num(c.b_mean - c.a_mean);
  o.key("max_increase").num(c.max_increase);
  o.key("max_decrease").num(c.max_decrease);
  o.key("resampled").boolean(c.resampled);
  o.key("scale");
  o.begin_object();
  o.key("mode").str(c.scale_mode);
  o.key("top").num(c.top);
  o.end_object();
  std::map<std::string, std::pair<const Zone *, const Zone *>> zones;
  for (const Zone &z : c.a->zones)
    zones[z.name].first = &z;
  for (const Zone &z : c.b->zones)
    zones[z.name].second = &z;
  auto share = [](const Zone *z) {
    return z->observed_seconds > 0 ? z->active_seconds / z->observed_seconds : 0.0;
  };
  o.key("zones");
  o.begin_array();
  for (const auto &[name, pair] : zones) {
    const Zone *za = pair.first, *zb = pair.second;
    o.begin_object();
    o.key("name").str(name);
    auto value = [&](const char *key, const Zone *z, double v) {
      o.key(key);
      if (z != nullptr)
        o.num(v);
      else
        o.null();
    };
    value("a_mean_activity", za, za ? za->mean_activity : 0);
    value("b_mean_activity", zb, zb ? zb->mean_activity : 0);
    value("a_active_share", za, za ? share(za) : 0);
    value("b_active_share", zb, zb ? share(zb) : 0);
    const Zone *both = za != nullptr && zb != nullptr ? za : nullptr;
    value("delta_mean_activity", both, both ? zb->mean_activity - za->mean_activity : 0);
    value("delta_active_share", both, both ? share(zb) - share(za) : 0);
    value("delta_peak", both, both ? zb->peak - za->peak : 0);
    o.end_object();
  }
  o.end_array();
  o.end_object();
  return o.text();
}

std::string md5_hex(const std::string &bytes) {
  gchar *s = g_compute_checksum_for_data(
      G_CHECKSUM_MD5, reinterpret_cast<const guchar *>(bytes.data()), bytes.size());
  std::string out = s;
  g_free(s);
  return out;
}

cv::Mat decode_png16(const std::string &bytes, const std::string &name, std::size_t max_pixels) {
  cv::Mat img;
  std::string why;
  if (!decode_grey_png(reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size(),
                       max_pixels, &img, &why))
    throw InputError(name + ": " + why);
  return img;
}

// A scene picture is at processing size; this is eight times a 4K frame at full size.
constexpr std::size_t kMaxScenePixels = 8192 * 8192;

cv::Mat decode_scene(const std::string &bytes, std::string *error) {
  cv::Mat img;
  if (!decode_jpeg(reinterpret_cast<const std::uint8_t *>(bytes.data()), bytes.size(),
                   kMaxScenePixels, &img, error))
    img.release();
  return img;
}

}  // namespace heatmap::aggregate
