// test-s3-pending.cpp: unit tests of the batch work list (key mapping, filter, set difference).
#include <glib.h>

#include <string>
#include <vector>

#include "s3-pending.h"

using s3::ObjectInfo;
namespace pending = s3::pending;

namespace {

std::vector<ObjectInfo> objects(std::initializer_list<const char *> keys,
                                std::uint64_t size = 100) {
  std::vector<ObjectInfo> out;
  for (const char *key : keys) {
    ObjectInfo info;
    info.key = key;
    info.size = size;
    info.etag = "etag";
    out.push_back(info);
  }
  return out;
}

std::vector<std::string> video_keys(const pending::Plan &plan) {
  std::vector<std::string> keys;
  for (const auto &clip : plan.clips)
    keys.push_back(clip.video.key);
  return keys;
}

// g_assert_cmpstr keeps the pointer past the statement, so temporaries go through a named copy.
void assert_str(const std::string &actual, const char *expected) {
  g_assert_cmpstr(actual.c_str(), ==, expected);
}

void assert_keys(const std::vector<std::string> &actual,
                 std::initializer_list<const char *> expected) {
  g_assert_cmpuint(actual.size(), ==, expected.size());
  std::size_t i = 0;
  for (const char *key : expected)
    g_assert_cmpstr(actual[i++].c_str(), ==, key);
}

void test_key_mapping_matches_the_documented_example() {
  pending::Layout layout;
  const char *video = "raw_videos/2025/10/20/13/clip_2025-10-20_13-57-04.mp4";
  assert_str(pending::jpeg_key_for(layout, video),
             "heatmaps/2025/10/20/13/clip_2025-10-20_13-57-04_heatmap.jpg");
  assert_str(pending::png_key_for(layout, video),
             "heatmaps/2025/10/20/13/clip_2025-10-20_13-57-04_heatmap.png");
}

void test_key_mapping_custom_prefixes_and_odd_names() {
  pending::Layout layout{"cam 1/in/", "out/maps/"};
  assert_str(pending::jpeg_key_for(layout, "cam 1/in/a b+c=d~e%f.MOV"),
             "out/maps/a b+c=d~e%f_heatmap.jpg");
  // Only the last extension goes; dots elsewhere stay.
  assert_str(pending::png_key_for(layout, "cam 1/in/v1.2/x.y.mkv"),
             "out/maps/v1.2/x.y_heatmap.png");
  assert_str(pending::jpeg_key_for(layout, "cam 1/in/ünïcødé.ts"), "out/maps/ünïcødé_heatmap.jpg");
  // Not under the videos prefix, or not a video: no heatmap key.
  g_assert_true(pending::jpeg_key_for(layout, "other/x.mp4").empty());
  g_assert_true(pending::jpeg_key_for(layout, "cam 1/in/notes.txt").empty());
  // Empty videos prefix: the whole key maps.
  pending::Layout flat{"", "heatmaps/"};
  assert_str(pending::jpeg_key_for(flat, "x.avi"), "heatmaps/x_heatmap.jpg");
}

void test_video_extension_filter_is_case_insensitive() {
  for (const char *key : {"a.mp4", "a.MP4", "d/a.Mov", "a.mkv", "a.AVI", "a.ts", "a.Ts"})
    g_assert_true(pending::is_video_key(key));
  for (const char *key : {"a.mp3", "a.mp4.txt", "a.jpg", "a", "mp4", "d/.mp4", "a.tsx", "a.m4v",
                          "a.mpeg", "d.mp4/", "a_mp4", ""})
    g_assert_false(pending::is_video_key(key));
}

void test_set_difference_order_and_counts() {
  pending::Layout layout;
  // Deliberately unordered, with a non-video, a done clip, and a clip with only its PNG.
  auto videos = objects({
      "raw_videos/2025/10/21/09/clip_2025-10-21_09-00-00.mp4",
      "raw_videos/2025/10/20/13/clip_2025-10-20_13-57-04.mp4",
      "raw_videos/2025/10/20/13/readme.txt",
      "raw_videos/2025/10/20/12/clip_2025-10-20_12-00-00.MOV",
      "raw_videos/2025/10/20/14/clip_2025-10-20_14-00-00.mkv",
  });
  auto heatmaps = objects({
      "heatmaps/2025/10/20/13/clip_2025-10-20_13-57-04_heatmap.jpg",
      "heatmaps/2025/10/20/13/clip_2025-10-20_13-57-04_heatmap.png",
      "heatmaps/2025/10/20/14/clip_2025-10-20_14-00-00_heatmap.png",  // upload interrupted
  });
  pending::Plan plan = pending::plan(layout, videos, heatmaps, {});
  assert_keys(video_keys(plan), {
                                    "raw_videos/2025/10/20/12/clip_2025-10-20_12-00-00.MOV",
                                    "raw_videos/2025/10/20/14/clip_2025-10-20_14-00-00.mkv",
                                    "raw_videos/2025/10/21/09/clip_2025-10-21_09-00-00.mp4",
                                });
  g_assert_cmpuint(plan.pending_total, ==, 3);
  g_assert_cmpuint(plan.done, ==, 1);
  g_assert_cmpuint(plan.ignored, ==, 1);
  g_assert_cmpstr(plan.clips[0].jpeg_key.c_str(), ==,
                  "heatmaps/2025/10/20/12/clip_2025-10-20_12-00-00_heatmap.jpg");
  g_assert_cmpstr(plan.clips[0].png_key.c_str(), ==,
                  "heatmaps/2025/10/20/12/clip_2025-10-20_12-00-00_heatmap.png");
  g_assert_cmpuint(plan.clips[0].video.size, ==, 100);
}

void test_max_keeps_the_oldest_and_counts_the_rest() {
  pending::Layout layout;
  auto videos =
      objects({"raw_videos/c.mp4", "raw_videos/a.mp4", "raw_videos/d.mp4", "raw_videos/b.mp4"});
  pending::Options options;
  options.max_clips = 2;
  pending::Plan plan = pending::plan(layout, videos, {}, options);
  assert_keys(video_keys(plan), {"raw_videos/a.mp4", "raw_videos/b.mp4"});
  g_assert_cmpuint(plan.pending_total, ==, 4);
}

void test_force_lists_done_clips_too() {
  pending::Layout layout;
  auto videos = objects({"raw_videos/a.mp4", "raw_videos/b.mp4"});
  auto heatmaps = objects({"heatmaps/a_heatmap.jpg"});
  pending::Plan normal = pending::plan(layout, videos, heatmaps, {});
  assert_keys(video_keys(normal), {"raw_videos/b.mp4"});
  pending::Options force;
  force.force = true;
  pending::Plan forced = pending::plan(layout, videos, heatmaps, force);
  assert_keys(video_keys(forced), {"raw_videos/a.mp4", "raw_videos/b.mp4"});
  g_assert_cmpuint(forced.done, ==, 1);
  g_assert_cmpuint(forced.pending_total, ==, 2);
}

void test_zero_byte_videos_are_listed_with_their_size() {
  // The driver reports them as failed (and they stay pending): they must not vanish silently.
  pending::Layout layout;
  auto videos = objects({"raw_videos/empty.mp4"}, 0);
  pending::Plan plan = pending::plan(layout, videos, {}, {});
  assert_keys(video_keys(plan), {"raw_videos/empty.mp4"});
  g_assert_cmpuint(plan.clips[0].video.size, ==, 0);
}

void test_duplicates_unsafe_keys_and_heatmaps_inside_videos() {
  // Heatmaps stored under the videos prefix are never taken for videos.
  pending::Layout layout{"media/", "media/heatmaps/"};
  auto videos = objects({
      "media/x.mp4",
      "media/x.MOV",              // same heatmap key as x.mp4: the older key wins
      "media/heatmaps/trap.mp4",  // inside the heatmaps prefix
      "media/bad\tname.mp4",      // would break the tab-separated work list
      "media/x.mp4",              // listed twice
      "elsewhere/y.mp4",          // not under the videos prefix
  });
  pending::Plan plan = pending::plan(layout, videos, {}, {});
  assert_keys(video_keys(plan), {"media/x.MOV"});
  g_assert_cmpuint(plan.duplicates, ==, 1);
  g_assert_cmpuint(plan.unsafe_keys, ==, 1);
  g_assert_cmpuint(plan.pending_total, ==, 1);
  g_assert_cmpstr(plan.clips[0].jpeg_key.c_str(), ==, "media/heatmaps/x_heatmap.jpg");
}

void test_heatmaps_outside_their_prefix_do_not_count() {
  pending::Layout layout;
  auto videos = objects({"raw_videos/a.mp4"});
  auto heatmaps = objects({"elsewhere/heatmaps/a_heatmap.jpg", "heatmaps/a_heatmap.jpeg"});
  pending::Plan plan = pending::plan(layout, videos, heatmaps, {});
  assert_keys(video_keys(plan), {"raw_videos/a.mp4"});
  g_assert_cmpuint(plan.done, ==, 0);
}

void test_large_listing_is_a_set_difference() {
  // 5,000 videos, every third one done: the plan is exactly the others, in order.
  pending::Layout layout;
  std::vector<ObjectInfo> videos, heatmaps;
  for (int i = 4999; i >= 0; --i) {
    char name[64];
    g_snprintf(name, sizeof name, "%05d/clip.mp4", i);
    ObjectInfo v;
    v.key = std::string("raw_videos/") + name;
    videos.push_back(v);
    if (i % 3 == 0) {
      ObjectInfo h;
      h.key = "heatmaps/" + std::string(name, 5) + "/clip_heatmap.jpg";
      heatmaps.push_back(h);
    }
  }
  pending::Plan plan = pending::plan(layout, videos, heatmaps, {});
  g_assert_cmpuint(plan.done, ==, 1667);
  g_assert_cmpuint(plan.clips.size(), ==, 3333);
  g_assert_cmpstr(plan.clips.front().video.key.c_str(), ==, "raw_videos/00001/clip.mp4");
  g_assert_cmpstr(plan.clips.back().video.key.c_str(), ==, "raw_videos/04999/clip.mp4");
  for (std::size_t i = 1; i < plan.clips.size(); ++i)
    g_assert_true(plan.clips[i - 1].video.key < plan.clips[i].video.key);
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/s3-pending/key-mapping/documented-example",
                  test_key_mapping_matches_the_documented_example);
  g_test_add_func("/s3-pending/key-mapping/custom-prefixes-odd-names",
                  test_key_mapping_custom_prefixes_and_odd_names);
  g_test_add_func("/s3-pending/filter/case-insensitive-extensions",
                  test_video_extension_filter_is_case_insensitive);
  g_test_add_func("/s3-pending/plan/set-difference-order-counts",
                  test_set_difference_order_and_counts);
  g_test_add_func("/s3-pending/plan/max-keeps-oldest",
                  test_max_keeps_the_oldest_and_counts_the_rest);
  g_test_add_func("/s3-pending/plan/force", test_force_lists_done_clips_too);
  g_test_add_func("/s3-pending/plan/zero-byte-listed",
                  test_zero_byte_videos_are_listed_with_their_size);
  g_test_add_func("/s3-pending/plan/duplicates-unsafe-nested",
                  test_duplicates_unsafe_keys_and_heatmaps_inside_videos);
  g_test_add_func("/s3-pending/plan/heatmaps-outside-prefix",
                  test_heatmaps_outside_their_prefix_do_not_count);
  g_test_add_func("/s3-pending/plan/large-listing", test_large_listing_is_a_set_difference);
  return g_test_run();
}
