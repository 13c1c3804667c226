// snapshot.h: the files written at the end of each window (and at end-of-stream), off the
// streaming thread. One place: what a window hands over (Snapshot), where it goes
// (SnapshotOutput) and the writing (write_snapshot), including the side files of places.h
// (scene JPEG, zones CSV, sidecar JSON).
#pragma once

#include "heatmap-core.h"
#include "places.h"
#include "sidecar.h"

#include <opencv2/core.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace heatmap {

// Everything a window hands to the writer, taken at the window's end (on the streaming thread,
// and on the model's thread in order with the frames) so that the writer never touches the
// accumulator.
struct Snapshot {
  std::uint64_t index = 0;     // 0, 1, 2, ... per stream
  std::uint64_t start_ns = 0;  // running time of the window's start and end
  std::uint64_t end_ns = 0;
  std::int64_t start_utc_us = 0;  // wall clock of start and end, microseconds since 1970 UTC
  std::int64_t end_utc_us = 0;
  std::string utc_source;  // "reference-timestamp" (upstream's meta) or "pipeline-clock"
  std::string window;      // "cumulative", "reset" or "decay"
  bool final = false;      // written at end-of-stream (the last, possibly partial, window)
  cv::Mat counts;          // CV_16UC1 window map (heatmap::Window::map())
  cv::Mat background;      // learned scene at processing size; empty: colormap only
  // The scene as taken at the window's end; the writer makes it the background (the median of
  // the colour samples is costly: never on the streaming thread).
  Accumulator::SceneCapture scene;
  std::uint64_t frames = 0;  // processed frames the map covers
  // The model's own figures at the window's end (heatmap::Stats): since the stream started.
  unsigned lighting_events = 0;
  double camera_shift = 0.0;
  bool camera_moved = false;
  // Frames the busy model skipped in the window (live sources, the element's skip-frames), and
  // whether it could skip any (the sidecar then says how many).
  std::uint64_t frames_skipped = 0;
  bool may_skip = false;
  // The sidecar's description of the window (times, source, settings, stats, zones); the
  // writer fills in the file names.
  Sidecar sidecar;

  // width, height, max-count and motion-coverage of `counts`, frames_processed = frames, and
  // the model's figures above.
  Stats stats() const;
};

// Where a snapshot goes; locations are already resolved (patterns formatted).
struct SnapshotOutput {
  std::string jpeg_path;   // empty: no heatmap file
  std::string png_path;    // empty: no raw counts file
  std::string scene_path;  // empty: no scene JPEG (needs Snapshot::background)
  std::string csv_path;    // empty, or a sidecar without zones: no zones CSV
  std::string json_path;   // empty: no sidecar JSON
  // Shades the masked pixels and draws the zones on the heatmap; null: nothing to draw.
  std::shared_ptr<const Places> places;
  RenderSettings render;
  int quality = 90;
  bool want_jpeg = false;  // encode the JPEG even without jpeg_path (the image pad)
};

struct SnapshotResult {
  enum class Failure { kNone, kRender, kWrite };
  Failure failure = Failure::kNone;
  std::string failed_path;         // kWrite: the file that could not be written
  std::string error;               // one line, names the path
  std::vector<std::uint8_t> jpeg;  // the encoded heatmap when jpeg_path or want_jpeg
  int width = 0;                   // of the heatmap image
  int height = 0;
  std::vector<std::string> written;  // files written, in order
};

// Renders and writes the snapshot's files, in this order: counts PNG, scene JPEG, zones CSV,
// sidecar JSON and the heatmap JPEG last (a batch job takes the JPEG as "done"). Folders above
// them are created as needed. Each file is written atomically, so a reader never sees half a
// heatmap; the first failure stops the rest. Thread-safe for distinct snapshots.
SnapshotResult write_snapshot(const Snapshot &snapshot, const SnapshotOutput &output);

}  // namespace heatmap
