// s3-pending.cpp: the batch driver's work list (videos without a heatmap) from two listings.
#include "s3-pending.h"

#include <algorithm>
#include <array>
#include <unordered_set>

namespace s3::pending {
namespace {

constexpr std::array<std::string_view, 5> kVideoExtensions = {".mp4", ".mov", ".mkv", ".avi",
                                                              ".ts"};

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with_nocase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size())
    return false;
  std::string_view tail = s.substr(s.size() - suffix.size());
  for (std::size_t i = 0; i < suffix.size(); ++i) {
    char c = tail[i];
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
    if (c != suffix[i])
      return false;
  }
  return true;
}

// Length of the extension of a video key (".mp4" = 4), 0 if it is not a video.
std::size_t video_extension_length(std::string_view key) {
  std::size_t slash = key.rfind('/');
  std::string_view name = slash == std::string_view::npos ? key : key.substr(slash + 1);
  for (std::string_view ext : kVideoExtensions) {
    // "clip.mp4" qualifies; ".mp4" alone (a hidden file with no name) does not.
    if (name.size() > ext.size() && ends_with_nocase(name, ext))
      return ext.size();
  }
  return 0;
}

std::string heatmap_key_for(const Layout &layout, std::string_view video_key,
                            std::string_view suffix) {
  if (!starts_with(video_key, layout.videos_prefix))
    return {};
  std::size_t ext = video_extension_length(video_key);
  if (ext == 0)
    return {};
  std::string_view stem = video_key.substr(layout.videos_prefix.size());
  stem.remove_suffix(ext);
  std::string key = layout.heatmaps_prefix;
  key.append(stem);
  key.append(suffix);
  return key;
}

bool has_control_character(std::string_view key) {
  return std::any_of(key.begin(), key.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

}  // namespace

bool is_video_key(std::string_view key) {
  return video_extension_length(key) > 0;
}

std::string jpeg_key_for(const Layout &layout, std::string_view video_key) {
  return heatmap_key_for(layout, video_key, kJpegSuffix);
}

std::string png_key_for(const Layout &layout, std::string_view video_key) {
  return heatmap_key_for(layout, video_key, kPngSuffix);
}

Plan plan(const Layout &layout, const std::vector<ObjectInfo> &videos,
          const std::vector<ObjectInfo> &heatmaps, const Options &options) {
  Plan result;

  // Only the JPEG marks a clip as done: a PNG alone is what an interrupted upload leaves.
  std::unordered_set<std::string> done_keys;
  for (const ObjectInfo &object : heatmaps) {
    if (ends_with_nocase(object.key, kJpegSuffix) &&
        starts_with(object.key, layout.heatmaps_prefix))
      done_keys.insert(object.key);
  }

  std::vector<const ObjectInfo *> sorted;
  sorted.reserve(videos.size());
  for (const ObjectInfo &object : videos)
    sorted.push_back(&object);
  std::sort(sorted.begin(), sorted.end(),
            [](const ObjectInfo *a, const ObjectInfo *b) { return a->key < b->key; });

  bool heatmaps_inside_videos =
      !layout.heatmaps_prefix.empty() && starts_with(layout.heatmaps_prefix, layout.videos_prefix);
  std::unordered_set<std::string> claimed;
  std::string previous_key;
  bool first = true;
  for (const ObjectInfo *object : sorted) {
    // The same key twice (overlapping listings) counts once.
    if (!first && object->key == previous_key)
      continue;
    first = false;
    previous_key = object->key;

    if (!starts_with(object->key, layout.videos_prefix))
      continue;  // not ours at all
    if (heatmaps_inside_videos && starts_with(object->key, layout.heatmaps_prefix))
      continue;
    std::string jpeg = jpeg_key_for(layout, object->key);
    if (jpeg.empty()) {
      ++result.ignored;
      continue;
    }
    if (has_control_character(object->key)) {
      ++result.unsafe_keys;
      continue;
    }
    if (!claimed.insert(jpeg).second) {
      ++result.duplicates;
      continue;
    }
    if (done_keys.count(jpeg) != 0) {
      ++result.done;
      if (!options.force)
        continue;
    }
    ++result.pending_total;
    if (options.max_clips == 0 || result.clips.size() < options.max_clips) {
      result.clips.push_back(Clip{*object, std::move(jpeg), png_key_for(layout, object->key)});
    }
  }
  return result;
}

}  // namespace s3::pending
