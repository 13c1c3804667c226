// sidecar.h: the heatmap's JSON sidecar (format version 1, docs/metadata.md) and the zones CSV:
// build, serialise, write atomically, parse.
#pragma once

#include "zones.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace heatmap {

constexpr const char *kSidecarFormat = "gst-heatmap.heatmap";
constexpr int kSidecarVersion = 1;

struct SidecarSettings {
  std::string method = "mog2";
  double downscale = 0.25;
  std::optional<std::int64_t> max_input_pixels;  // 0: no limit; absent in older sidecars
  std::int64_t history = 500;
  double var_threshold = 16.0;
  std::int64_t frame_step = 1;
  bool detect_shadows = true;
  bool keep_shadows = false;
  double learning_rate = -1.0;
  std::int64_t open_kernel = 3;
  std::optional<std::string> mask;  // base name of the mask file
  std::optional<std::string> mask_sha256;
  std::optional<double> mask_coverage;  // fraction of pixels counted
  std::optional<std::string> zones;     // base name of the zones file
  std::optional<std::string> zones_sha256;
  std::optional<std::string> window;  // live: cumulative | reset | decay
};

struct SidecarStats {
  std::int64_t max_count = 0;
  double motion_coverage = 0;
  std::optional<std::int64_t> lighting_events;
  std::optional<double> camera_shift;
  std::optional<bool> camera_moved;
  std::optional<std::int64_t> frames_skipped;  // live: frames the busy model had no time for
};

struct SidecarFiles {
  std::optional<std::string> jpeg, png, scene, csv;  // base names
};

struct Sidecar {
  std::string kind = "clip";  // clip | window
  std::optional<std::string> source;
  std::optional<std::int64_t> start_utc_us;  // microseconds since the Unix epoch, UTC
  std::optional<std::string> start_utc_source;
  std::optional<std::int64_t> window_index;
  double duration_s = 0;
  std::uint64_t frames_seen = 0;
  std::uint64_t frames_processed = 0;
  std::optional<double> fps;
  int width = 0;
  int height = 0;
  SidecarSettings settings;
  SidecarStats stats;
  double zone_interval_s = 1.0;
  double zone_threshold = 0.01;
  std::vector<ZoneResult> zones;
  SidecarFiles files;
  // Keys this code does not know, as JSON text, kept so that a parse + write keeps them:
  // top level, inside "settings" and inside "stats".
  std::map<std::string, std::string> extra, settings_extra, stats_extra;
};

// The sidecar as JSON text (pretty-printed, UTF-8, ends with a newline). end_utc and every
// interval's time_utc are derived from start_utc_us.
std::string sidecar_to_json(const Sidecar &sidecar);
// Writes sidecar_to_json() atomically (temporary file beside it, fsync, rename). On failure
// returns false with a one-line *error naming the path.
bool write_sidecar(const std::string &path, const Sidecar &sidecar, std::string *error);
// Parses a version 1 sidecar. Returns false with a one-line *error ("<label>: <problem>") for
// non-JSON, another format or version, or a missing or mistyped key that the schema requires.
bool parse_sidecar(const std::string &text, const std::string &label, Sidecar *sidecar,
                   std::string *error);

// The zones' series as CSV (docs/metadata.md): header
// time_utc,zone,activity,peak,active,offset_s,duration_s,frames then one row per interval and
// zone, in time order; RFC 4180 quoting, CRLF line ends.
std::string zones_csv(const Sidecar &sidecar);
bool write_zones_csv(const std::string &path, const Sidecar &sidecar, std::string *error);

// Atomic write of a small text file (used for the JSON and the CSV).
bool write_text_atomically(const std::string &path, const std::string &text, std::string *error);

// "2025-10-20T13:05:00Z", with milliseconds ("...:00.250Z") when they are not zero.
std::string format_utc(std::int64_t utc_us);
// Parses the form above (any number of fraction digits, 'Z' required); false when malformed.
bool parse_utc(const std::string &text, std::int64_t *utc_us);

// The start of a clip from its file name: the last path or URI component (query removed)
// starting with clip_YYYY-MM-DD_HH-MM-SS (a real date and time, read as UTC). nullopt otherwise.
std::optional<std::int64_t> clip_start_from_name(const std::string &path_or_uri);

// A source URI or path fit for the sidecar: user:password@ removed from URIs, and the query
// string and fragment dropped (they may hold signatures).
std::string sanitize_source(const std::string &uri);

// The last component of a path ("a/b/c.png" -> "c.png").
std::string base_name(const std::string &path);

}  // namespace heatmap
