// s3-pending.h: the batch driver's work list (videos without a heatmap) from two listings; no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "s3-client.h"

namespace s3::pending {

// Where videos and heatmaps live in the bucket. A video key
//   <videos_prefix>2025/10/20/13/clip_2025-10-20_13-57-04.mp4
// has its heatmap at
//   <heatmaps_prefix>2025/10/20/13/clip_2025-10-20_13-57-04_heatmap.jpg   (rendered, JPEG)
//   <heatmaps_prefix>2025/10/20/13/clip_2025-10-20_13-57-04_heatmap.png   (raw counts, 16-bit)
// The JPEG is uploaded last, so its presence marks a clip as done.
struct Layout {
  std::string videos_prefix = "raw_videos/";
  std::string heatmaps_prefix = "heatmaps/";
};

constexpr std::string_view kJpegSuffix = "_heatmap.jpg";
constexpr std::string_view kPngSuffix = "_heatmap.png";

// True for keys ending in .mp4 .mov .mkv .avi .ts (any case) with a non-empty base name.
bool is_video_key(std::string_view key);

// The heatmap keys of a video key; empty when video_key is not under layout.videos_prefix or
// is not a video.
std::string jpeg_key_for(const Layout &layout, std::string_view video_key);
std::string png_key_for(const Layout &layout, std::string_view video_key);

struct Clip {
  ObjectInfo video;
  std::string jpeg_key;
  std::string png_key;
};

struct Options {
  std::size_t max_clips = 0;  // 0 = no limit
  bool force = false;         // also list videos that already have a heatmap
};

struct Plan {
  std::vector<Clip> clips;        // oldest key first, at most max_clips
  std::size_t pending_total = 0;  // clips without a heatmap before the max_clips cut
  std::size_t done = 0;           // videos that already have their JPEG (skipped unless force)
  std::size_t ignored = 0;        // objects under the videos prefix that are not videos
  std::size_t duplicates = 0;     // videos whose heatmap key an older video already claims
                                  // (clip.mp4 and clip.MOV in one folder): only the first is listed
  std::size_t unsafe_keys = 0;    // keys with a control character (tab, newline, ...): not listed,
                                  // since the driver reads the work list as tab-separated lines
};

// The set difference videos \ heatmaps, computed from one listing of each prefix: videos are
// the objects listed under layout.videos_prefix (plus any date prefix), heatmaps the ones under
// layout.heatmaps_prefix. Listings may come in any order; the result is in key order (keys are
// dated, so this is oldest first). Objects under heatmaps_prefix are never videos, even when
// that prefix lies inside videos_prefix.
Plan plan(const Layout &layout, const std::vector<ObjectInfo> &videos,
          const std::vector<ObjectInfo> &heatmaps, const Options &options);

}  // namespace s3::pending
