// sidecar.cpp: the JSON sidecar and the zones CSV (json-glib for JSON, GLib for files and time).
#include "sidecar.h"

#include <glib.h>
#include <json-glib/json-glib.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "json-text.h"
#include "one-line.h"
#ifndef VERSION
#define VERSION "unknown"
#endif

namespace heatmap {

namespace {

struct GObjectUnref {
  void operator()(gpointer p) const { g_object_unref(p); }
};
struct JsonNodeFree {
  void operator()(JsonNode *n) const { json_node_unref(n); }
};
struct DateTimeUnref {
  void operator()(GDateTime *t) const { g_date_time_unref(t); }
};

constexpr double kMaxSidecarNumber = 1e15;

double finite(double v) {
  return std::isfinite(v) ? v : 0.0;
}

void add_string_or_null(JsonBuilder *b, const char *key, const std::optional<std::string> &v) {
  json_builder_set_member_name(b, key);
  if (v) {
    json_builder_add_string_value(b, v->c_str());
  } else {
    json_builder_add_null_value(b);
  }
}

void add_double(JsonBuilder *b, const char *key, double v) {
  json_builder_set_member_name(b, key);
  json_builder_add_double_value(b, finite(v));
}

void add_int(JsonBuilder *b, const char *key, std::int64_t v) {
  json_builder_set_member_name(b, key);
  json_builder_add_int_value(b, v);
}

void add_bool(JsonBuilder *b, const char *key, bool v) {
  json_builder_set_member_name(b, key);
  json_builder_add_boolean_value(b, v);
}

void add_utc(JsonBuilder *b, const char *key, const std::optional<std::int64_t> &us) {
  add_string_or_null(b, key, us ? std::optional<std::string>(format_utc(*us)) : std::nullopt);
}

// start + seconds, or nullopt when that is not a time a sidecar can hold (years 1..9999, the
// range of parse_utc): a sidecar read from a bucket may carry any duration or offset.
std::optional<std::int64_t> shifted_utc(const std::optional<std::int64_t> &start_us,
                                        double seconds) {
  constexpr double kFirstUs = -62135596800.0 * 1e6;  // 0001-01-01T00:00:00Z
  constexpr double kEndUs = 253402300800.0 * 1e6;    // 10000-01-01T00:00:00Z
  if (!start_us || !std::isfinite(seconds))
    return std::nullopt;
  const double at = static_cast<double>(*start_us) + seconds * 1e6;
  if (!(at >= kFirstUs && at < kEndUs))
    return std::nullopt;
  return *start_us + std::llround(seconds * 1e6);
}

void add_extra(JsonBuilder *b, const std::map<std::string, std::string> &extra) {
  for (const auto &[key, text] : extra) {
    JsonNode *node = json_from_string(text.c_str(), nullptr);
    if (node == nullptr) {
      continue;
    }
    json_builder_set_member_name(b, key.c_str());
    json_builder_add_value(b, node);  // takes the node
  }
}

void add_polygon(JsonBuilder *b, const std::vector<cv::Point2d> &points) {
  json_builder_set_member_name(b, "polygon");
  json_builder_begin_array(b);
  for (const cv::Point2d &p : points) {
    json_builder_begin_array(b);
    json_builder_add_double_value(b, p.x);
    json_builder_add_double_value(b, p.y);
    json_builder_end_array(b);
  }
  json_builder_end_array(b);
}

std::string round_trip_text(JsonNode *node) {
  gchar *text = json_to_string(node, FALSE);
  std::string result(text);
  g_free(text);
  return result;
}

// A reader of one JSON object that remembers the first problem.
class Reader {
 public:
  Reader(JsonObject *object, std::string where, std::string *problem)
      : object_(object), where_(std::move(where)), problem_(problem) {}

  bool ok() const { return problem_->empty(); }

  JsonNode *member(const char *key, bool required) {
    JsonNode *node = object_ ? json_object_get_member(object_, key) : nullptr;
    if (node == nullptr && required) {
      fail(key, "is missing");
    }
    return node;
  }
  bool is_null(JsonNode *node) const { return node != nullptr && JSON_NODE_HOLDS_NULL(node); }

  std::string string(const char *key) {
    JsonNode *n = member(key, true);
    if (n == nullptr || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING) {
      if (n != nullptr)
        fail(key, "is not a string");
      return "";
    }
    return json_node_get_string(n);
  }
  std::optional<std::string> string_or_null(const char *key, bool required) {
    JsonNode *n = member(key, required);
    if (n == nullptr || is_null(n))
      return std::nullopt;
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING) {
      fail(key, "is not a string");
      return std::nullopt;
    }
    std::string text = json_node_get_string(n);
    // json-glib turns an escaped lone surrogate ("\ud800") into bytes that are not UTF-8.
    if (!g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr)) {
      fail(key, "is not valid UTF-8");
      return std::nullopt;
    }
    return text;
  }
  std::optional<double> number_or_null(const char *key, bool required) {
    JsonNode *n = member(key, required);
    if (n == nullptr || is_null(n))
      return std::nullopt;
    if (!JSON_NODE_HOLDS_VALUE(n) || (json_node_get_value_type(n) != G_TYPE_DOUBLE &&
                                      json_node_get_value_type(n) != G_TYPE_INT64)) {
      fail(key, "is not a number");
      return std::nullopt;
    }
    // No sidecar figure comes near 1e15 (seconds, rates, shares); json-glib would also write
    // such a number as "2e+95.0", which is not JSON.
    const double v = json_node_get_double(n);
    if (!(std::fabs(v) <= kMaxSidecarNumber)) {
      fail(key, "is out of range");
      return std::nullopt;
    }
    return v;
  }
  double number(const char *key) {
    JsonNode *n = member(key, true);
    if (is_null(n))
      fail(key, "is null");
    return number_or_null(key, false).value_or(0.0);
  }
  std::optional<std::int64_t> integer_or_null(const char *key, bool required) {
    JsonNode *n = member(key, required);
    if (n == nullptr || is_null(n))
      return std::nullopt;
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64) {
      fail(key, "is not an integer");
      return std::nullopt;
    }
    return json_node_get_int(n);
  }
  std::int64_t integer(const char *key) {
    JsonNode *n = member(key, true);
    if (is_null(n))
      fail(key, "is null");
    return integer_or_null(key, false).value_or(0);
  }
  std::optional<bool> boolean_or_null(const char *key, bool required) {
    JsonNode *n = member(key, required);
    if (n == nullptr || is_null(n))
      return std::nullopt;
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN) {
      fail(key, "is not true or false");
      return std::nullopt;
    }
    return json_node_get_boolean(n) != FALSE;
  }
  bool boolean(const char *key) { return boolean_or_null(key, true).value_or(false); }
  JsonObject *object(const char *key) {
    JsonNode *n = member(key, true);
    if (n == nullptr)
      return nullptr;
    if (!JSON_NODE_HOLDS_OBJECT(n)) {
      fail(key, "is not an object");
      return nullptr;
    }
    return json_node_get_object(n);
  }
  JsonArray *array(const char *key) {
    JsonNode *n = member(key, true);
    if (n == nullptr)
      return nullptr;
    if (!JSON_NODE_HOLDS_ARRAY(n)) {
      fail(key, "is not an array");
      return nullptr;
    }
    return json_node_get_array(n);
  }
  std::optional<std::int64_t> utc_or_null(const char *key, bool required) {
    std::optional<std::string> text = string_or_null(key, required);
    if (!text)
      return std::nullopt;
    std::int64_t us = 0;
    if (!parse_utc(*text, &us)) {
      fail(key, "is not a UTC time like 2025-10-20T13:05:00Z");
      return std::nullopt;
    }
    return us;
  }
  // Keys not in `known`, as JSON text.
  std::map<std::string, std::string> extra(const std::set<std::string> &known) const {
    std::map<std::string, std::string> out;
    if (object_ == nullptr)
      return out;
    JsonObjectIter iter;
    const gchar *name;
    JsonNode *node;
    json_object_iter_init(&iter, object_);
    while (json_object_iter_next(&iter, &name, &node)) {
      if (known.count(name) != 0 || !g_utf8_validate(name, -1, nullptr))
        continue;  // (a key json-glib decoded from a lone surrogate could not be written back)
      std::string text = round_trip_text(node);
      if (g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr))
        out[name] = std::move(text);
    }
    return out;
  }
  void fail(const char *key, const char *what) {
    if (problem_->empty())
      *problem_ = where_ + key + " " + what;
  }

 private:
  JsonObject *object_;
  std::string where_;
  std::string *problem_;
};

void parse_zone(JsonNode *node, const std::string &where, ZoneResult *zone, std::string *problem) {
  if (!JSON_NODE_HOLDS_OBJECT(node)) {
    *problem = where + " is not an object";
    return;
  }
  Reader r(json_node_get_object(node), where + ".", problem);
  zone->zone.name = r.string("name");
  std::string name_problem;
  if (r.ok() && !valid_name(zone->zone.name, &name_problem)) {
    // The zone file's rules (the name goes into CSV files): a bucket's sidecar may be hostile.
    r.fail("name", "is not a valid zone name");
    return;
  }
  if (JsonArray *polygon = r.array("polygon")) {
    for (guint i = 0; i < json_array_get_length(polygon); ++i) {
      JsonNode *p = json_array_get_element(polygon, i);
      if (!JSON_NODE_HOLDS_ARRAY(p) || json_array_get_length(json_node_get_array(p)) != 2) {
        r.fail("polygon", "holds a point that is not [x, y]");
        return;
      }
      double xy[2];
      for (guint k = 0; k < 2; ++k) {
        JsonNode *c = json_array_get_element(json_node_get_array(p), k);
        if (!JSON_NODE_HOLDS_VALUE(c) || (json_node_get_value_type(c) != G_TYPE_DOUBLE &&
                                          json_node_get_value_type(c) != G_TYPE_INT64)) {
          r.fail("polygon", "holds a coordinate that is not a number");
          return;
        }
        xy[k] = json_node_get_double(c);
        if (!(xy[k] >= 0.0 && xy[k] <= 1.0)) {
          r.fail("polygon", "holds a coordinate outside 0..1");
          return;
        }
      }
      zone->zone.points.emplace_back(xy[0], xy[1]);
    }
  }
  zone->pixels = r.integer_or_null("pixels", false).value_or(0);
  zone->mean_activity = r.number("mean_activity");
  zone->active_seconds = r.number("active_seconds");
  zone->peak = r.number("peak");
  JsonArray *series = r.array("series");
  for (guint i = 0; series != nullptr && r.ok() && i < json_array_get_length(series); ++i) {
    JsonNode *n = json_array_get_element(series, i);
    const std::string at = where + ".series[" + std::to_string(i) + "]";
    if (!JSON_NODE_HOLDS_OBJECT(n)) {
      *problem = at + " is not an object";
      return;
    }
    Reader s(json_node_get_object(n), at + ".", problem);
    ZoneInterval interval;
    s.utc_or_null("time_utc", true);
    interval.offset_s = s.number("offset_s");
    interval.duration_s = s.number_or_null("duration_s", false).value_or(0.0);
    interval.frames = static_cast<std::uint64_t>(s.integer_or_null("frames", false).value_or(0));
    interval.activity = s.number("activity");
    interval.peak = s.number("peak");
    interval.active = s.boolean("active");
    zone->series.push_back(interval);
  }
}

std::string csv_field(const std::string &text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) {
    return text;
  }
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"')
      quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string number_text(double v, const char *format = "%.9g") {
  char text[64];
  std::snprintf(text, sizeof text, format, finite(v));
  return text;
}

}  // namespace

std::string format_utc(std::int64_t utc_us) {
  std::int64_t seconds = utc_us / 1000000;
  std::int64_t micros = utc_us % 1000000;
  if (micros < 0) {
    micros += 1000000;
    seconds -= 1;
  }
  std::unique_ptr<GDateTime, DateTimeUnref> t(g_date_time_new_from_unix_utc(seconds));
  if (!t) {
    return "1970-01-01T00:00:00Z";
  }
  // Four-digit years always (GLib's %Y writes year 506 as "506", which parse_utc refuses).
  int year = 0, month = 0, day = 0;
  g_date_time_get_ymd(t.get(), &year, &month, &day);
  char base[32];
  std::snprintf(base, sizeof base, "%04d-%02d-%02dT%02d:%02d:%02d", year, month, day,
                g_date_time_get_hour(t.get()), g_date_time_get_minute(t.get()),
                g_date_time_get_second(t.get()));
  std::string text(base);
  const int millis = static_cast<int>(micros / 1000);
  if (millis != 0) {
    char fraction[8];
    std::snprintf(fraction, sizeof fraction, ".%03d", millis);
    text += fraction;
  }
  return text + "Z";
}

bool parse_utc(const std::string &text, std::int64_t *utc_us) {
  // YYYY-MM-DDTHH:MM:SS[.f+]Z, checked strictly before GLib reads it.
  static const char kShape[] = "dddd-dd-ddTdd:dd:dd";
  if (text.size() < 20 || text.back() != 'Z')
    return false;
  for (std::size_t i = 0; i < sizeof kShape - 1; ++i) {
    const char want = kShape[i];
    if (want == 'd' ? !g_ascii_isdigit(text[i]) : text[i] != want)
      return false;
  }
  std::size_t i = sizeof kShape - 1;
  if (text[i] == '.') {
    ++i;
    const std::size_t digits_start = i;
    while (i < text.size() && g_ascii_isdigit(text[i]))
      ++i;
    if (i == digits_start)
      return false;
  }
  if (i != text.size() - 1)
    return false;
  std::unique_ptr<GDateTime, DateTimeUnref> t(g_date_time_new_from_iso8601(text.c_str(), nullptr));
  if (!t)
    return false;
  *utc_us = g_date_time_to_unix(t.get()) * 1000000 + g_date_time_get_microsecond(t.get());
  return true;
}

std::optional<std::int64_t> clip_start_from_name(const std::string &path_or_uri) {
  std::string name = path_or_uri.substr(0, path_or_uri.find_first_of("?#"));
  name = base_name(name);
  // clip_YYYY-MM-DD_HH-MM-SS
  static const char kShape[] = "clip_dddd-dd-dd_dd-dd-dd";
  if (name.size() < sizeof kShape - 1)
    return std::nullopt;
  for (std::size_t i = 0; i < sizeof kShape - 1; ++i) {
    const char want = kShape[i];
    if (want == 'd' ? !g_ascii_isdigit(name[i]) : name[i] != want)
      return std::nullopt;
  }
  // What follows the stamp is a suffix or extension, never more digits.
  if (name.size() > sizeof kShape - 1 && g_ascii_isdigit(name[sizeof kShape - 1])) {
    return std::nullopt;
  }
  auto number = [&](std::size_t at, std::size_t n) { return std::stoi(name.substr(at, n)); };
  const int year = number(5, 4), month = number(10, 2), day = number(13, 2);
  const int hour = number(16, 2), minute = number(19, 2), second = number(22, 2);
  if (year < 1000 || month < 1 || month > 12 || day < 1 ||
      day >
          g_date_get_days_in_month(static_cast<GDateMonth>(month), static_cast<GDateYear>(year)) ||
      hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  std::unique_ptr<GDateTime, DateTimeUnref> t(
      g_date_time_new_utc(year, month, day, hour, minute, second));
  if (!t)
    return std::nullopt;
  return g_date_time_to_unix(t.get()) * 1000000;
}

std::string sanitize_source(const std::string &uri) {
  std::string clean = uri.substr(0, uri.find_first_of("?#"));
  const std::size_t scheme_end = clean.find("://");
  if (scheme_end != std::string::npos) {
    const std::size_t authority = scheme_end + 3;
    const std::size_t path = clean.find('/', authority);
    const std::size_t at = clean.rfind('@', path == std::string::npos ? clean.size() : path);
    if (at != std::string::npos && at >= authority) {
      clean.erase(authority, at + 1 - authority);
    }
  }
  return clean;
}

std::string base_name(const std::string &path) {
  const std::size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string sidecar_to_json(const Sidecar &s) {
  std::unique_ptr<JsonBuilder, GObjectUnref> builder(json_builder_new());
  JsonBuilder *b = builder.get();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "format");
  json_builder_add_string_value(b, kSidecarFormat);
  add_int(b, "version", kSidecarVersion);
  json_builder_set_member_name(b, "kind");
  json_builder_add_string_value(b, s.kind.c_str());
  json_builder_set_member_name(b, "generator");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "name");
  json_builder_add_string_value(b, "gst-heatmap");
  json_builder_set_member_name(b, "version");
  json_builder_add_string_value(b, VERSION);
  json_builder_end_object(b);
  add_string_or_null(b, "source", s.source);
  add_utc(b, "start_utc", s.start_utc_us);
  add_utc(b, "end_utc", shifted_utc(s.start_utc_us, finite(s.duration_s)));
  add_string_or_null(b, "start_utc_source", s.start_utc_source);
  json_builder_set_member_name(b, "window_index");
  if (s.window_index) {
    json_builder_add_int_value(b, *s.window_index);
  } else {
    json_builder_add_null_value(b);
  }
  add_double(b, "duration_s", s.duration_s);
  add_int(b, "frames_seen", static_cast<std::int64_t>(s.frames_seen));
  add_int(b, "frames_processed", static_cast<std::int64_t>(s.frames_processed));
  json_builder_set_member_name(b, "fps");
  if (s.fps && std::isfinite(*s.fps)) {
    json_builder_add_double_value(b, *s.fps);
  } else {
    json_builder_add_null_value(b);
  }
  add_int(b, "width", s.width);
  add_int(b, "height", s.height);

  const SidecarSettings &c = s.settings;
  json_builder_set_member_name(b, "settings");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "method");
  json_builder_add_string_value(b, c.method.c_str());
  add_double(b, "downscale", c.downscale);
  if (c.max_input_pixels) {
    add_int(b, "max_input_pixels", *c.max_input_pixels);
  }
  add_int(b, "history", c.history);
  add_double(b, "var_threshold", c.var_threshold);
  add_int(b, "frame_step", c.frame_step);
  add_bool(b, "detect_shadows", c.detect_shadows);
  add_bool(b, "keep_shadows", c.keep_shadows);
  add_double(b, "learning_rate", c.learning_rate);
  add_int(b, "open_kernel", c.open_kernel);
  add_string_or_null(b, "mask", c.mask);
  add_string_or_null(b, "mask_sha256", c.mask_sha256);
  add_double(b, "mask_coverage", c.mask_coverage.value_or(1.0));
  add_string_or_null(b, "zones", c.zones);
  add_string_or_null(b, "zones_sha256", c.zones_sha256);
  if (c.window) {
    json_builder_set_member_name(b, "window");
    json_builder_add_string_value(b, c.window->c_str());
  }
  add_extra(b, s.settings_extra);
  json_builder_end_object(b);

  json_builder_set_member_name(b, "stats");
  json_builder_begin_object(b);
  add_int(b, "max_count", s.stats.max_count);
  add_double(b, "motion_coverage", s.stats.motion_coverage);
  if (s.stats.lighting_events)
    add_int(b, "lighting_events", *s.stats.lighting_events);
  if (s.stats.camera_shift)
    add_double(b, "camera_shift", *s.stats.camera_shift);
  if (s.stats.camera_moved)
    add_bool(b, "camera_moved", *s.stats.camera_moved);
  if (s.stats.frames_skipped)
    add_int(b, "frames_skipped", *s.stats.frames_skipped);
  add_extra(b, s.stats_extra);
  json_builder_end_object(b);

  add_double(b, "zone_interval_s", s.zone_interval_s);
  add_double(b, "zone_threshold", s.zone_threshold);
  json_builder_set_member_name(b, "zones");
  json_builder_begin_array(b);
  for (const ZoneResult &z : s.zones) {
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, z.zone.name.c_str());
    add_polygon(b, z.zone.points);
    add_int(b, "pixels", z.pixels);
    add_double(b, "mean_activity", z.mean_activity);
    add_double(b, "active_seconds", z.active_seconds);
    add_double(b, "peak", z.peak);
    json_builder_set_member_name(b, "series");
    json_builder_begin_array(b);
    for (const ZoneInterval &i : z.series) {
      json_builder_begin_object(b);
      add_utc(b, "time_utc", shifted_utc(s.start_utc_us, i.offset_s));
      add_double(b, "offset_s", i.offset_s);
      add_double(b, "duration_s", i.duration_s);
      add_int(b, "frames", static_cast<std::int64_t>(i.frames));
      add_double(b, "activity", i.activity);
      add_double(b, "peak", i.peak);
      add_bool(b, "active", i.active);
      json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);

  json_builder_set_member_name(b, "files");
  json_builder_begin_object(b);
  add_string_or_null(b, "jpeg", s.files.jpeg);
  add_string_or_null(b, "png", s.files.png);
  add_string_or_null(b, "scene", s.files.scene);
  add_string_or_null(b, "csv", s.files.csv);
  json_builder_end_object(b);
  add_extra(b, s.extra);
  json_builder_end_object(b);

  std::unique_ptr<JsonNode, JsonNodeFree> root(json_builder_get_root(b));
  return json_text(root.get(), true) + "\n";
}

bool write_text_atomically(const std::string &path, const std::string &text, std::string *error) {
  GError *err = nullptr;
  if (!g_file_set_contents_full(path.c_str(), text.data(), static_cast<gssize>(text.size()),
                                static_cast<GFileSetContentsFlags>(G_FILE_SET_CONTENTS_CONSISTENT |
                                                                   G_FILE_SET_CONTENTS_DURABLE),
                                0666, &err)) {
    *error = "cannot write \"" + path + "\": " + (err ? err->message : "unknown error");
    g_clear_error(&err);
    return false;
  }
  return true;
}

bool write_sidecar(const std::string &path, const Sidecar &sidecar, std::string *error) {
  return write_text_atomically(path, sidecar_to_json(sidecar), error);
}

bool parse_sidecar(const std::string &text, const std::string &label, Sidecar *out,
                   std::string *error) {
  std::unique_ptr<JsonParser, GObjectUnref> parser(json_parser_new_immutable());
  GError *err = nullptr;
  if (!json_parser_load_from_data(parser.get(), text.data(), static_cast<gssize>(text.size()),
                                  &err)) {
    *error = label + ": not valid JSON: " + one_line(err ? err->message : "parse error", 200);
    g_clear_error(&err);
    return false;
  }
  JsonNode *root = json_parser_get_root(parser.get());
  if (root == nullptr || !JSON_NODE_HOLDS_OBJECT(root)) {
    *error = label + ": the top level is not a JSON object";
    return false;
  }
  std::string problem;
  Reader r(json_node_get_object(root), "", &problem);
  Sidecar s;
  if (r.string("format") != kSidecarFormat && r.ok()) {
    *error = label + ": not a gst-heatmap sidecar (format is not \"" + kSidecarFormat + "\")";
    return false;
  }
  const std::int64_t version = r.integer("version");
  if (r.ok() && version != kSidecarVersion) {
    *error = label + ": sidecar format version " + std::to_string(version) +
             " is not supported (this reader knows version 1)";
    return false;
  }
  s.kind = r.string("kind");
  if (r.ok() && s.kind != "clip" && s.kind != "window")
    r.fail("kind", "is not clip or window");
  s.source = r.string_or_null("source", true);
  s.start_utc_us = r.utc_or_null("start_utc", true);
  r.utc_or_null("end_utc", false);
  s.start_utc_source = r.string_or_null("start_utc_source", true);
  s.window_index = r.integer_or_null("window_index", false);
  s.duration_s = r.number("duration_s");
  const std::int64_t seen = r.integer("frames_seen"), processed = r.integer("frames_processed");
  if (seen < 0 || processed < 0)
    r.fail("frames_processed", "is negative");
  s.frames_seen = static_cast<std::uint64_t>(seen);
  s.frames_processed = static_cast<std::uint64_t>(processed);
  s.fps = r.number_or_null("fps", true);
  const std::int64_t width = r.integer("width"), height = r.integer("height");
  if (r.ok() && (width < 1 || height < 1 || width > 65535 || height > 65535)) {
    r.fail("width", "or height is out of range");
  }
  s.width = static_cast<int>(width);
  s.height = static_cast<int>(height);

  Reader c(r.object("settings"), "settings.", &problem);
  SidecarSettings &settings = s.settings;
  settings.method = c.string("method");
  settings.downscale = c.number("downscale");
  settings.max_input_pixels = c.integer_or_null("max_input_pixels", false);
  if (settings.max_input_pixels && *settings.max_input_pixels < 0)
    c.fail("max_input_pixels", "is negative");
  settings.history = c.integer("history");
  settings.var_threshold = c.number("var_threshold");
  settings.frame_step = c.integer("frame_step");
  settings.detect_shadows = c.boolean("detect_shadows");
  settings.keep_shadows = c.boolean("keep_shadows");
  settings.learning_rate = c.number("learning_rate");
  settings.open_kernel = c.integer("open_kernel");
  settings.mask = c.string_or_null("mask", true);
  settings.mask_sha256 = c.string_or_null("mask_sha256", true);
  settings.mask_coverage = c.number_or_null("mask_coverage", false);
  settings.zones = c.string_or_null("zones", false);
  settings.zones_sha256 = c.string_or_null("zones_sha256", false);
  settings.window = c.string_or_null("window", false);
  s.settings_extra =
      c.extra({"method", "downscale", "max_input_pixels", "history", "var_threshold", "frame_step",
               "detect_shadows", "keep_shadows", "learning_rate", "open_kernel", "mask",
               "mask_sha256", "mask_coverage", "zones", "zones_sha256", "window"});

  Reader st(r.object("stats"), "stats.", &problem);
  s.stats.max_count = st.integer("max_count");
  s.stats.motion_coverage = st.number("motion_coverage");
  s.stats.lighting_events = st.integer_or_null("lighting_events", false);
  s.stats.camera_shift = st.number_or_null("camera_shift", false);
  s.stats.camera_moved = st.boolean_or_null("camera_moved", false);
  s.stats.frames_skipped = st.integer_or_null("frames_skipped", false);
  s.stats_extra = st.extra({"max_count", "motion_coverage", "lighting_events", "camera_shift",
                            "camera_moved", "frames_skipped"});

  s.zone_interval_s = r.number("zone_interval_s");
  s.zone_threshold = r.number("zone_threshold");
  if (JsonArray *zones = r.array("zones")) {
    for (guint i = 0; r.ok() && i < json_array_get_length(zones); ++i) {
      ZoneResult zone;
      parse_zone(json_array_get_element(zones, i), "zones[" + std::to_string(i) + "]", &zone,
                 &problem);
      s.zones.push_back(std::move(zone));
    }
  }
  Reader f(r.object("files"), "files.", &problem);
  s.files.jpeg = f.string_or_null("jpeg", true);
  s.files.png = f.string_or_null("png", true);
  s.files.scene = f.string_or_null("scene", false);
  s.files.csv = f.string_or_null("csv", false);
  s.extra = r.extra({"format",       "version",         "kind",           "generator",
                     "source",       "start_utc",       "end_utc",        "start_utc_source",
                     "window_index", "duration_s",      "frames_seen",    "frames_processed",
                     "fps",          "width",           "height",         "settings",
                     "stats",        "zone_interval_s", "zone_threshold", "zones",
                     "files"});
  if (!problem.empty()) {
    *error = label + ": " + problem;
    return false;
  }
  *out = std::move(s);
  return true;
}

std::string zones_csv(const Sidecar &s) {
  std::string csv = "time_utc,zone,activity,peak,active,offset_s,duration_s,frames\r\n";
  std::size_t intervals = 0;
  for (const ZoneResult &z : s.zones)
    intervals = std::max(intervals, z.series.size());
  for (std::size_t i = 0; i < intervals; ++i) {
    for (const ZoneResult &z : s.zones) {
      if (i >= z.series.size())
        continue;
      const ZoneInterval &iv = z.series[i];
      if (s.start_utc_us)
        csv += format_utc(*s.start_utc_us + std::llround(iv.offset_s * 1e6));
      csv += ',' + csv_field(z.zone.name) + ',' + number_text(iv.activity) + ',' +
             number_text(iv.peak) + ',' + (iv.active ? "1" : "0") + ',' +
             number_text(iv.offset_s, "%.10g") + ',' + number_text(iv.duration_s, "%.9g") + ',' +
             std::to_string(iv.frames) + "\r\n";
    }
  }
  return csv;
}

bool write_zones_csv(const std::string &path, const Sidecar &sidecar, std::string *error) {
  return write_text_atomically(path, zones_csv(sidecar), error);
}

}  // namespace heatmap
