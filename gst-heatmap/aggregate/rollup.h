// rollup.h: hour, day, ISO week and month heatmaps in a bucket (S3 or file://), recomputed
// only when their sources changed; also aggregates of any prefix and comparisons of two.
#pragma once

// Each rollup is built from the level below (hours from the clips of their folder, days from
// hours, weeks and months from days), so no rollup reads more than a few dozen objects: an hour
// lists its folder and reads its clips' PNG + JSON; a day lists 24 hour stems, a month up to 31
// day stems, and each reads those PNG + JSON pairs and one scene. Outputs go up PNG, JPEG, then
// the JSON sidecar last: its `sources` (keys + ETags) are what a rerun compares to decide that
// nothing changed, so a run cut short between the uploads is redone by the next one.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "aggregate.h"
#include "picture.h"
#include "rollups.h"
#include "s3-client.h"

namespace heatmap::aggregate {

using s3::rollups::Period;

struct Layout {
  std::string videos_prefix = "raw_videos/";
  std::string heatmaps_prefix = "heatmaps/";
};

struct Options {
  RenderOptions render;
  bool resample = false;  // mixed resolutions: scale to the newest source's size, not fail
  bool force = false;     // rewrite even when the sources did not change
  bool dry_run = false;   // read and decide, write nothing
  std::string name;       // camera/prefix for the title; default: bucket + heatmaps prefix
  int jpeg_quality = 90;
  std::function<void(const std::string &)> log;  // one line per rollup (optional)
};

// Requests made to the bucket, for the summary and the benchmark.
struct Requests {
  std::size_t lists = 0, gets = 0, puts = 0;
  Requests &operator+=(const Requests &o) {
    lists += o.lists;
    gets += o.gets;
    puts += o.puts;
    return *this;
  }
};

struct RollupResult {
  Period period;
  enum class Status { kWritten, kUnchanged, kEmpty, kFailed } status = Status::kFailed;
  std::string message;  // kFailed: why; otherwise a short description
  std::size_t sources = 0;
  Requests requests;
  double seconds = 0;  // wall time spent on it
};

struct RollupStats {
  std::size_t written = 0, unchanged = 0, empty = 0, failed = 0;
  Requests requests;
  std::vector<RollupResult> results;
  std::string summary() const;  // "rollups: written 4, unchanged 0, empty 0, failed 0"
};

// The periods to update after these clips (video or clip output keys) changed, children first.
std::vector<Period> periods_touched_by(const std::vector<std::string> &clip_keys,
                                       const Layout &layout, const s3::rollups::Kinds &kinds = {});

// Brings the rollups of these periods up to date, in the given order (use
// periods_touched_by's order: a day must come after its hours). A failing period is reported
// and the others go on. Throws s3::Error only for failures that doom every request (no
// bucket, bad credentials).
RollupStats update_rollups(s3::Bucket &bucket, const Layout &layout,
                           const std::vector<Period> &periods, const Options &options);

// Every period with clips under the heatmaps prefix (one listing of it), children first.
std::vector<Period> all_periods(s3::Bucket &bucket, const Layout &layout,
                                const s3::rollups::Kinds &kinds = {});

// Aggregates every finished clip (JPEG, PNG and JSON present) under `prefix` of the bucket
// into out_stem.{jpg,png,json} on the local disk. Returns the number of clips; throws
// InputError for mixed resolutions without resample, or when there is no clip.
std::size_t aggregate_prefix(s3::Bucket &bucket, const std::string &prefix,
                             const std::string &out_stem, const Options &options);

// One side of a comparison: an aggregate or a clip heatmap, loaded from a URL or local path of its
// .json, .png or stem, with its occupancy (CV_32FC1, fraction of time) and its scene (BGR, empty
// when it has none). Throws InputError / s3::Error.
struct LoadedMap {
  std::string ref;  // as the caller named it
  Source source;
  cv::Mat occupancy;
  cv::Mat scene;
};
LoadedMap load_map(const std::string &url_or_path, const s3::Config &config);

// compare() on two maps already loaded (the viewer also draws A and B at one scale).
void compare(LoadedMap a, LoadedMap b, const std::string &out_stem, const Options &options);

// Compares two aggregates (or clip heatmaps), each a URL or path of its .json, .png or stem:
// writes out_stem.jpg (diverging map over B's scene, or A's) and out_stem.json (per-zone and
// overall deltas B - A). Throws InputError / s3::Error.
void compare(const std::string &a, const std::string &b, const std::string &out_stem,
             const s3::Config &config, const Options &options);

}  // namespace heatmap::aggregate
