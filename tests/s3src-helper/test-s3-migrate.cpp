// test-s3-migrate.cpp: unit tests of the migration core: names, mapping, plans, and the executor
// on a real local-folder bucket (file://), including a real copy failure.
#include <glib.h>
#include <sys/xattr.h>
#include <glib/gstdio.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "s3-client.h"
#include "s3-migrate.h"

using s3::ObjectInfo;
namespace mig = s3::migrate;

namespace {

const char *const kMd5A = "0cc175b9c0f1b6a831c399e269772661";
const char *const kMd5B = "92eb5ffee6ae2fec3ad71c777531578f";

void assert_str(const std::string &actual, const char *expected) {
  g_assert_cmpstr(actual.c_str(), ==, expected);
}

bool parses(const char *name, mig::Area area = mig::Area::kVideos) {
  return mig::parse_clip_name(name, area).has_value();
}

ObjectInfo object(const char *key, std::uint64_t size = 10, const char *etag = kMd5A) {
  ObjectInfo info;
  info.key = key;
  info.size = size;
  info.etag = etag;
  return info;
}

mig::Layout default_layout() {
  return mig::Layout{}.normalized();
}

const mig::Item *find_item(const mig::Plan &plan, const char *key) {
  for (const mig::Item &item : plan.items) {
    if (item.key == key) {
      return &item;
    }
  }
  return nullptr;
}

// --- names ---

void test_parse_documented_names() {
  auto t = mig::parse_clip_name("clip_2025-10-20_13-57-04.mp4", mig::Area::kVideos);
  g_assert_true(t.has_value());
  g_assert_cmpint(t->year, ==, 2025);
  g_assert_cmpint(t->month, ==, 10);
  g_assert_cmpint(t->day, ==, 20);
  g_assert_cmpint(t->hour, ==, 13);
  g_assert_cmpint(t->minute, ==, 57);
  g_assert_cmpint(t->second, ==, 4);
  auto h = mig::parse_clip_name("clip_2025-10-20_13-57-04_heatmap.jpg", mig::Area::kHeatmaps);
  g_assert_true(h.has_value());
  g_assert_cmpint(h->hour, ==, 13);
  g_assert_true(parses("clip_2025-10-20_13-57-04_heatmap.png", mig::Area::kHeatmaps));
}

void test_parse_any_extension() {
  for (const char *name : {"clip_2025-10-20_13-57-04.MP4", "clip_2025-10-20_13-57-04.mkv",
                           "clip_2025-10-20_13-57-04.ts", "clip_2025-10-20_13-57-04.tar.gz",
                           "clip_2025-10-20_13-57-04.h264", "clip_2025-10-20_13-57-04.X"}) {
    g_assert_true(parses(name));
  }
  for (const char *name : {"clip_2025-10-20_13-57-04", "clip_2025-10-20_13-57-04.",
                           "clip_2025-10-20_13-57-04..mp4", "clip_2025-10-20_13-57-04.mp4.",
                           "clip_2025-10-20_13-57-04.mp 4", "clip_2025-10-20_13-57-04.mp4~",
                           "clip_2025-10-20_13-57-04 .mp4", "clip_2025-10-20_13-57-04x.mp4",
                           "clip_2025-10-20_13-57-04-1.mp4", "clip_2025-10-20_13-57-04.mp4/"}) {
    g_assert_false(parses(name));
  }
}

void test_parse_case_and_shape() {
  g_assert_false(parses("CLIP_2025-10-20_13-57-04.mp4"));
  g_assert_false(parses("Clip_2025-10-20_13-57-04.mp4"));
  g_assert_false(parses("clip-2025-10-20_13-57-04.mp4"));
  g_assert_false(parses("clip_2025-10-20-13-57-04.mp4"));
  g_assert_false(parses("clip_2025_10_20_13_57_04.mp4"));
  g_assert_false(parses("clip_25-10-20_13-57-04.mp4"));
  g_assert_false(parses("clip_2025-1-20_13-57-04.mp4"));
  g_assert_false(parses("clip_2025-10-20_13-57-4.mp4"));
  g_assert_false(parses("clip_2025-+1-20_13-57-04.mp4"));
  g_assert_false(parses("clip_2025-10-20_ 3-57-04.mp4"));
  g_assert_false(parses("xclip_2025-10-20_13-57-04.mp4"));
  g_assert_false(parses(""));
  g_assert_false(parses("clip_"));
}

void test_parse_rejects_impossible_dates() {
  g_assert_false(parses("clip_2025-13-01_00-00-00.mp4"));
  g_assert_false(parses("clip_2025-00-10_00-00-00.mp4"));
  g_assert_false(parses("clip_2025-01-00_00-00-00.mp4"));
  g_assert_false(parses("clip_2025-01-32_00-00-00.mp4"));
  g_assert_false(parses("clip_2025-04-31_00-00-00.mp4"));
  g_assert_true(parses("clip_2025-04-30_00-00-00.mp4"));
  g_assert_false(parses("clip_2025-02-29_00-00-00.mp4"));  // 2025 is not a leap year
  g_assert_true(parses("clip_2024-02-29_00-00-00.mp4"));
  g_assert_false(parses("clip_1900-02-29_00-00-00.mp4"));  // divisible by 100, not by 400
  g_assert_true(parses("clip_2000-02-29_00-00-00.mp4"));
  g_assert_false(parses("clip_2025-10-20_24-00-00.mp4"));
  g_assert_true(parses("clip_2025-10-20_23-59-59.mp4"));
  g_assert_false(parses("clip_2025-10-20_13-60-00.mp4"));
  g_assert_false(parses("clip_2025-10-20_13-00-60.mp4"));
  g_assert_false(parses("clip_0000-10-20_13-00-00.mp4"));
  g_assert_true(parses("clip_2025-12-31_00-00-00.mp4"));
}

void test_parse_heatmap_suffix_belongs_to_its_area() {
  // A heatmap name is not a video name and the other way round.
  g_assert_false(parses("clip_2025-10-20_13-57-04_heatmap.jpg", mig::Area::kVideos));
  g_assert_false(parses("clip_2025-10-20_13-57-04.mp4", mig::Area::kHeatmaps));
  g_assert_false(parses("clip_2025-10-20_13-57-04_HEATMAP.jpg", mig::Area::kHeatmaps));
  g_assert_false(parses("clip_2025-10-20_13-57-04_heatmap", mig::Area::kHeatmaps));
  g_assert_false(parses("clip_2025-10-20_13-57-04_heatmapx.jpg", mig::Area::kHeatmaps));
  g_assert_false(parses("clip_2025-10-20_13-57-04_heatmap_heatmap.jpg", mig::Area::kHeatmaps));
  g_assert_true(parses("clip_2025-10-20_13-57-04_heatmap.JPG", mig::Area::kHeatmaps));
}

// --- mapping ---

void test_dated_folder_pads() {
  assert_str(mig::dated_folder(mig::ClipTime{2025, 1, 2, 3, 4, 5}), "2025/01/02/03/");
  assert_str(mig::dated_folder(mig::ClipTime{2025, 12, 31, 23, 59, 59}), "2025/12/31/23/");
}

void test_classify_documented_example() {
  mig::KeyClass kc = mig::classify_key("raw_videos/clip_2025-10-20_13-57-04.mp4", "raw_videos/",
                                       mig::Area::kVideos);
  g_assert_true(kc.kind == mig::KeyClass::Kind::kFlat);
  assert_str(kc.dated_key, "raw_videos/2025/10/20/13/clip_2025-10-20_13-57-04.mp4");
  kc = mig::classify_key("heatmaps/clip_2025-10-20_13-57-04_heatmap.jpg", "heatmaps/",
                         mig::Area::kHeatmaps);
  g_assert_true(kc.kind == mig::KeyClass::Kind::kFlat);
  assert_str(kc.dated_key, "heatmaps/2025/10/20/13/clip_2025-10-20_13-57-04_heatmap.jpg");
}

void test_classify_dated_nested_and_others() {
  using Kind = mig::KeyClass::Kind;
  const char *p = "raw_videos/";
  auto kind = [&](const char *key) { return mig::classify_key(key, p, mig::Area::kVideos).kind; };
  g_assert_true(kind("raw_videos/2025/10/20/13/clip_2025-10-20_13-57-04.mp4") == Kind::kDated);
  // A dated folder that does not match the name's time is not "in place".
  g_assert_true(kind("raw_videos/2025/10/20/14/clip_2025-10-20_13-57-04.mp4") == Kind::kLeftAlone);
  g_assert_true(kind("raw_videos/2025/10/20/clip_2025-10-20_13-57-04.mp4") == Kind::kLeftAlone);
  // Nested flat clips keep their folders: moving them could collide with a same-named clip.
  g_assert_true(kind("raw_videos/cam1/clip_2025-10-20_13-57-04.mp4") == Kind::kLeftAlone);
  g_assert_true(kind("raw_videos/") == Kind::kLeftAlone);
  g_assert_true(kind("raw_videos/notes.txt") == Kind::kLeftAlone);
  g_assert_true(kind("raw_videos/2025/10/20/13/notes.txt") == Kind::kLeftAlone);
  g_assert_true(kind("other/clip_2025-10-20_13-57-04.mp4") == Kind::kLeftAlone);
  g_assert_true(kind("raw_videos//clip_2025-10-20_13-57-04.mp4") == Kind::kLeftAlone);
  mig::KeyClass kc =
      mig::classify_key("raw_videos/cam1/clip_2025-10-20_13-57-04.mp4", p, mig::Area::kVideos);
  g_assert_nonnull(strstr(kc.reason.c_str(), "raw_videos/2025/10/20/13/"));
}

void test_layout_normalizes_and_rejects_overlap() {
  mig::Layout layout;
  layout.videos_prefix = "cam/videos";
  layout.heatmaps_prefix = "cam/maps";
  mig::Layout n = layout.normalized();
  assert_str(n.videos_prefix, "cam/videos/");
  assert_str(n.heatmaps_prefix, "cam/maps/");
  layout.videos_prefix = "";
  layout.heatmaps_prefix = "heatmaps";
  n = layout.normalized();
  assert_str(n.videos_prefix, "");
  assert_str(n.heatmaps_prefix, "heatmaps/");
  for (auto prefixes : std::vector<std::pair<const char *, const char *>>{{"media/", "media/"},
                                                                          {"media", "media/"},
                                                                          {"", ""},
                                                                          {"media/", "media/2025/"},
                                                                          {"2025/", ""}}) {
    mig::Layout bad;
    bad.videos_prefix = prefixes.first;
    bad.heatmaps_prefix = prefixes.second;
    bool threw = false;
    try {
      bad.normalized();
    } catch (const s3::Error &e) {
      threw = e.kind() == s3::ErrorKind::kInvalidArgument;
    }
    g_assert_true(threw);
  }
}

void test_plan_nested_prefixes() {
  // Videos at the bucket root, heatmaps in a folder: each key belongs to one area only.
  mig::Layout layout;
  layout.videos_prefix = "";
  layout = layout.normalized();
  std::vector<ObjectInfo> all = {object("clip_2025-10-20_13-57-04.mp4"), object("notes.txt"),
                                 object("heatmaps/clip_2025-10-20_13-57-04_heatmap.jpg"),
                                 object("heatmaps/readme.txt")};
  std::vector<ObjectInfo> heatmaps(all.begin() + 2, all.end());
  mig::Plan plan = mig::make_plan(layout, all, heatmaps);
  g_assert_cmpuint(plan.items.size(), ==, 4);
  const mig::Item *video = find_item(plan, "clip_2025-10-20_13-57-04.mp4");
  g_assert_true(video->action == mig::Action::kCopy);
  assert_str(video->dest_key, "2025/10/20/13/clip_2025-10-20_13-57-04.mp4");
  const mig::Item *map = find_item(plan, "heatmaps/clip_2025-10-20_13-57-04_heatmap.jpg");
  g_assert_true(map->action == mig::Action::kCopy);
  g_assert_true(map->area == mig::Area::kHeatmaps);
  g_assert_true(find_item(plan, "heatmaps/readme.txt")->area == mig::Area::kHeatmaps);
  g_assert_true(find_item(plan, "notes.txt")->action == mig::Action::kLeftAlone);
}

// --- planning ---

void test_compare_info() {
  g_assert_true(mig::compare_info(object("a", 10, kMd5A), object("b", 10, kMd5A)) ==
                mig::Match::kSame);
  g_assert_true(mig::compare_info(object("a", 10, kMd5A), object("b", 11, kMd5A)) ==
                mig::Match::kDifferent);
  // Same size, other ETag: encryption can do that to equal bytes, so the content decides.
  g_assert_true(mig::compare_info(object("a", 10, kMd5A), object("b", 10, kMd5B)) ==
                mig::Match::kNeedsContent);
  g_assert_true(mig::compare_info(object("a", 10, "0cc175b9c0f1b6a831c399e269772661-2"),
                                  object("b", 10, "0cc175b9c0f1b6a831c399e269772661-2")) ==
                mig::Match::kNeedsContent);
  g_assert_true(mig::compare_info(object("a", 10, "0cc175b9c0f1b6a831c399e269772661-2"),
                                  object("b", 10, kMd5A)) == mig::Match::kNeedsContent);
  g_assert_true(mig::compare_info(object("a", 10, ""), object("b", 10, "")) ==
                mig::Match::kNeedsContent);
}

void test_plan_kinds() {
  std::vector<ObjectInfo> videos = {
      // Listing order is not trusted: the plan sorts.
      object("raw_videos/clip_2025-10-20_13-57-05.mp4"),
      object("raw_videos/clip_2025-10-20_13-57-04.mp4"),
      object("raw_videos/clip_2025-01-01_00-00-00.mkv", 10, kMd5A),
      object("raw_videos/2025/01/01/00/clip_2025-01-01_00-00-00.mkv", 10, kMd5A),
      object("raw_videos/clip_2025-01-02_00-00-00.mkv", 10, kMd5A),
      object("raw_videos/2025/01/02/00/clip_2025-01-02_00-00-00.mkv", 10, kMd5B),
      object("raw_videos/clip_2025-01-03_00-00-00.mkv", 10, kMd5A),
      object("raw_videos/2025/01/03/00/clip_2025-01-03_00-00-00.mkv", 11, kMd5A),
      object("raw_videos/clip_2025-01-04_00-00-00.mkv", 10, "0cc175b9c0f1b6a831c399e269772661-3"),
      object("raw_videos/2025/01/04/00/clip_2025-01-04_00-00-00.mkv", 10, kMd5A),
      object("raw_videos/2024/05/06/07/clip_2024-05-06_07-08-09.mp4"),
      object("raw_videos/clip_2025-02-30_00-00-00.mp4"),
      object("raw_videos/readme.txt"),
  };
  std::vector<ObjectInfo> heatmaps = {
      object("heatmaps/clip_2025-10-20_13-57-04_heatmap.jpg"),
      object("heatmaps/clip_2025-10-20_13-57-04_heatmap.png"),
      object("heatmaps/clip_2025-10-20_13-57-04.jpg"),
  };
  mig::Plan plan = mig::make_plan(default_layout(), videos, heatmaps);
  g_assert_cmpuint(plan.items.size(), ==, 12);  // the four listed destinations are not items
  g_assert_cmpuint(plan.count(mig::Action::kCopy), ==, 4);
  g_assert_cmpuint(plan.count(mig::Action::kCopied), ==, 1);
  g_assert_cmpuint(plan.count(mig::Action::kCheck), ==, 2);
  g_assert_cmpuint(plan.count(mig::Action::kConflict), ==, 1);
  g_assert_cmpuint(plan.count(mig::Action::kDated), ==, 1);
  g_assert_cmpuint(plan.count(mig::Action::kLeftAlone), ==, 3);  // bad date, readme, area mix-up

  // Videos first, in key order.
  assert_str(plan.items[0].key, "raw_videos/2024/05/06/07/clip_2024-05-06_07-08-09.mp4");
  assert_str(plan.items.back().key, "heatmaps/clip_2025-10-20_13-57-04_heatmap.png");
  const mig::Item *copy = find_item(plan, "raw_videos/clip_2025-10-20_13-57-04.mp4");
  g_assert_nonnull(copy);
  g_assert_true(copy->action == mig::Action::kCopy);
  assert_str(copy->dest_key, "raw_videos/2025/10/20/13/clip_2025-10-20_13-57-04.mp4");
  g_assert_true(find_item(plan, "raw_videos/clip_2025-01-01_00-00-00.mkv")->action ==
                mig::Action::kCopied);
  g_assert_true(find_item(plan, "raw_videos/clip_2025-01-02_00-00-00.mkv")->action ==
                mig::Action::kCheck);
  const mig::Item *conflict = find_item(plan, "raw_videos/clip_2025-01-03_00-00-00.mkv");
  g_assert_true(conflict->action == mig::Action::kConflict);
  g_assert_cmpuint(conflict->dest.size, ==, 11);
  g_assert_true(find_item(plan, "raw_videos/clip_2025-01-04_00-00-00.mkv")->action ==
                mig::Action::kCheck);
  g_assert_true(find_item(plan, "raw_videos/clip_2025-02-30_00-00-00.mp4")->action ==
                mig::Action::kLeftAlone);
  g_assert_true(find_item(plan, "heatmaps/clip_2025-10-20_13-57-04.jpg")->action ==
                mig::Action::kLeftAlone);
  const mig::Item *png = find_item(plan, "heatmaps/clip_2025-10-20_13-57-04_heatmap.png");
  g_assert_true(png->action == mig::Action::kCopy);
  g_assert_true(png->area == mig::Area::kHeatmaps);
  assert_str(png->dest_key, "heatmaps/2025/10/20/13/clip_2025-10-20_13-57-04_heatmap.png");
  g_assert_null(find_item(plan, "raw_videos/2025/01/01/00/clip_2025-01-01_00-00-00.mkv"));

  // Every destination is distinct, dated, and never the key of anything listed as a source.
  std::map<std::string, int> dests;
  for (const mig::Item &item : plan.items) {
    if (!item.dest_key.empty()) {
      g_assert_cmpint(++dests[item.dest_key], ==, 1);
      g_assert_true(item.dest_key != item.key);
    }
  }
}

void test_plan_name_prefix_filter() {
  mig::Layout layout;
  layout.name_prefix = "clip_2025-10";
  layout = layout.normalized();
  std::vector<ObjectInfo> videos = {
      object("raw_videos/clip_2025-10-20_13-57-04.mp4"),
      object("raw_videos/clip_2025-11-20_13-57-04.mp4"),
      object("raw_videos/clip_2025-10-21_13-57-04.mp4"),
      // The destination lies outside the filter but still makes its original "copied".
      object("raw_videos/2025/10/21/13/clip_2025-10-21_13-57-04.mp4"),
      object("raw_videos/notes.txt"),
  };
  std::vector<ObjectInfo> heatmaps = {object("heatmaps/clip_2025-10-20_13-57-04_heatmap.jpg"),
                                      object("heatmaps/clip_2024-10-20_13-57-04_heatmap.jpg")};
  mig::Plan plan = mig::make_plan(layout, videos, heatmaps);
  g_assert_cmpuint(plan.items.size(), ==, 3);
  g_assert_true(find_item(plan, "raw_videos/clip_2025-10-20_13-57-04.mp4")->action ==
                mig::Action::kCopy);
  g_assert_true(find_item(plan, "raw_videos/clip_2025-10-21_13-57-04.mp4")->action ==
                mig::Action::kCopied);
  g_assert_nonnull(find_item(plan, "heatmaps/clip_2025-10-20_13-57-04_heatmap.jpg"));
  g_assert_null(find_item(plan, "raw_videos/clip_2025-11-20_13-57-04.mp4"));
  g_assert_null(find_item(plan, "raw_videos/notes.txt"));
}

void test_plan_custom_prefixes() {
  mig::Layout layout;
  layout.videos_prefix = "site a/in";
  layout.heatmaps_prefix = "site a/out";
  layout = layout.normalized();
  mig::Plan plan = mig::make_plan(layout, {object("site a/in/clip_2025-10-20_13-57-04.mov")},
                                  {object("site a/out/clip_2025-10-20_13-57-04_heatmap.jpg")});
  g_assert_cmpuint(plan.count(mig::Action::kCopy), ==, 2);
  assert_str(plan.items[0].dest_key, "site a/in/2025/10/20/13/clip_2025-10-20_13-57-04.mov");
  assert_str(plan.items[1].dest_key,
             "site a/out/2025/10/20/13/clip_2025-10-20_13-57-04_heatmap.jpg");
}

// --- executor on a real local-folder bucket ---

struct TempBucket {
  std::string dir;
  std::unique_ptr<s3::Bucket> bucket;
  TempBucket() {
    g_autoptr(GError) error = nullptr;
    g_autofree char *path = g_dir_make_tmp("test-s3-migrate-XXXXXX", &error);
    g_assert_no_error(error);
    dir = path;
    bucket = s3::open_bucket(s3::Url::parse_bucket("file://" + dir), s3::Config{});
  }
  ~TempBucket() {
    std::string cmd = "rm -rf '" + dir + "'";
    g_assert_cmpint(system(cmd.c_str()), ==, 0);
  }
  void put(const std::string &key, const std::string &data) { bucket->put_data(key, data); }
  std::map<std::string, std::string> contents() {
    std::vector<ObjectInfo> objects;
    bucket->list_all("", "", &objects);
    std::map<std::string, std::string> out;
    for (const ObjectInfo &o : objects) {
      std::string data;
      bucket->get(o.key, 0, -1, [&](const char *p, std::size_t n) { data.append(p, n); });
      out[o.key] = data;
    }
    return out;
  }
};

void test_same_content() {
  TempBucket b;
  b.put("a", "0123456789");
  b.put("b", "0123456789");
  b.put("c", "0123456780");
  b.put("d", "012345678");
  g_assert_true(mig::same_content(*b.bucket, "a", "b"));
  g_assert_false(mig::same_content(*b.bucket, "a", "c"));
  g_assert_false(mig::same_content(*b.bucket, "a", "d"));
}

void test_apply_copies_verifies_then_cleans_up() {
  TempBucket b;
  std::map<std::string, std::string> expected;
  for (int i = 0; i < 30; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "clip_2025-10-%02d_%02d-00-00", 1 + i % 28, i % 24);
    std::string data = std::string("video ") + name + std::string(static_cast<size_t>(i), 'x');
    b.put(std::string("raw_videos/") + name + ".mp4", data);
    b.put(std::string("heatmaps/") + name + "_heatmap.jpg", "map " + data);
    mig::ClipTime t{2025, 10, 1 + i % 28, i % 24, 0, 0};
    expected["raw_videos/" + mig::dated_folder(t) + name + ".mp4"] = data;
    expected["heatmaps/" + mig::dated_folder(t) + name + "_heatmap.jpg"] = "map " + data;
  }
  b.put("raw_videos/readme.txt", "hello");
  b.put("raw_videos/2024/01/01/00/clip_2024-01-01_00-00-00.mp4", "dated");
  // A conflict: the destination exists with other content of another size.
  b.put("raw_videos/clip_2025-12-01_10-00-00.mp4", "original footage");
  b.put("raw_videos/2025/12/01/10/clip_2025-12-01_10-00-00.mp4", "something else");
  // Same size, other bytes: only the content comparison finds this conflict.
  b.put("raw_videos/clip_2025-12-02_10-00-00.mp4", "AAAA");
  b.put("raw_videos/2025/12/02/10/clip_2025-12-02_10-00-00.mp4", "BBBB");
  std::map<std::string, std::string> before = b.contents();

  mig::Layout layout = default_layout();
  mig::Plan plan = mig::plan_bucket(*b.bucket, layout);
  g_assert_cmpuint(plan.count(mig::Action::kCopy), ==, 60);
  g_assert_cmpuint(plan.count(mig::Action::kConflict), ==, 1);
  g_assert_cmpuint(plan.count(mig::Action::kCheck), ==, 1);

  std::size_t progress_calls = 0;
  mig::Summary s =
      mig::apply_plan(*b.bucket, plan, mig::ApplyOptions{},
                      [&](const mig::Item &item, std::size_t index, std::size_t total,
                          const mig::ItemResult &result) {
                        if (item.key == "raw_videos/clip_2025-12-02_10-00-00.mp4") {
                          // Same size, other bytes: found by comparing the contents, and nothing
                          // changed.
                          g_assert_true(result.compared_content);
                          g_assert_true(result.status == mig::ItemResult::Status::kConflict);
                          g_assert_false(result.copied);
                          g_assert_false(result.deleted);
                        }
                        g_assert_cmpuint(index, ==, progress_calls);
                        g_assert_cmpuint(total, ==, 62);
                        ++progress_calls;
                      });
  g_assert_cmpuint(progress_calls, ==, 62);
  g_assert_cmpuint(s.copied, ==, 60);
  g_assert_cmpuint(s.verified, ==, 60);
  g_assert_cmpuint(s.deleted, ==, 0);
  g_assert_cmpuint(s.skipped, ==, 1);
  g_assert_cmpuint(s.left_alone, ==, 1);
  g_assert_cmpuint(s.conflicts, ==, 2);
  g_assert_cmpuint(s.failed, ==, 0);
  g_assert_true(s.aborted.empty());

  // Originals all still there, every copy byte-identical, nothing else changed.
  std::map<std::string, std::string> after = b.contents();
  for (const auto &kv : before) {
    g_assert_true(after.count(kv.first) == 1);
    g_assert_true(after[kv.first] == kv.second);
  }
  for (const auto &kv : expected) {
    g_assert_true(after.count(kv.first) == 1);
    g_assert_true(after[kv.first] == kv.second);
  }
  g_assert_cmpuint(after.size(), ==, before.size() + expected.size());

  // A rerun copies nothing and verifies what is there.
  s = mig::apply_plan(*b.bucket, mig::plan_bucket(*b.bucket, layout), mig::ApplyOptions{});
  g_assert_cmpuint(s.copied, ==, 0);
  g_assert_cmpuint(s.verified, ==, 60);
  g_assert_cmpuint(s.conflicts, ==, 2);
  g_assert_true(b.contents() == after);

  // Cleanup in a later run deletes exactly the verified originals.
  mig::ApplyOptions cleanup;
  cleanup.cleanup = true;
  s = mig::apply_plan(*b.bucket, mig::plan_bucket(*b.bucket, layout), cleanup);
  g_assert_cmpuint(s.copied, ==, 0);
  g_assert_cmpuint(s.deleted, ==, 60);
  g_assert_cmpuint(s.conflicts, ==, 2);
  std::map<std::string, std::string> cleaned = b.contents();
  std::map<std::string, std::string> wanted = expected;
  for (const auto &kv : before) {
    wanted[kv.first] = kv.second;
  }
  for (const auto &kv : after) {
    if (expected.count(kv.first) == 0 && kv.first.find("_2025-10-") != std::string::npos) {
      wanted.erase(kv.first);  // a migrated original
    }
  }
  g_assert_cmpuint(wanted.size(), ==, before.size() + expected.size() - 60);
  g_assert_true(cleaned == wanted);

  // And once more: nothing to do, nothing changes.
  mig::Plan last = mig::plan_bucket(*b.bucket, layout);
  g_assert_cmpuint(last.count(mig::Action::kCopy), ==, 0);
  g_assert_cmpuint(last.count(mig::Action::kDated), ==, 61);
  s = mig::apply_plan(*b.bucket, last, cleanup);
  g_assert_cmpuint(s.copied + s.deleted + s.failed, ==, 0);
  g_assert_true(b.contents() == cleaned);
}

// Issue 13 defect 6: on a file:// bucket the ETag is a cache in an xattr that anyone who can
// write the folder can forge. A zero-filled destination carrying the original's ETag must not
// let --cleanup delete the only real copy: the bytes are hashed before any delete.
void test_forged_etag_never_deletes() {
  TempBucket b;
  const std::string original = "raw_videos/clip_2030-05-06_07-08-09.mp4";
  const std::string dest = "raw_videos/2030/05/06/07/clip_2030-05-06_07-08-09.mp4";
  const std::string video(4096, 'v');
  b.put(original, video);
  b.put(dest, std::string(video.size(), '\0'));
  const std::string orig_etag = b.bucket->head(original).etag;
  const std::string dest_path = b.dir + "/" + dest;
  char buf[512];
  ssize_t n = getxattr(dest_path.c_str(), "user.s3src.etag", buf, sizeof buf);
  g_assert_cmpint(n, >, 32);
  std::string forged(buf, static_cast<std::size_t>(n));
  forged.replace(forged.size() - 32, 32, orig_etag);
  g_assert_cmpint(setxattr(dest_path.c_str(), "user.s3src.etag", forged.data(), forged.size(), 0),
                  ==, 0);
  assert_str(b.bucket->head(dest).etag, orig_etag.c_str());  // the forgery works on HEAD

  mig::ApplyOptions cleanup;
  cleanup.cleanup = true;
  mig::Summary s =
      mig::apply_plan(*b.bucket, mig::plan_bucket(*b.bucket, default_layout()), cleanup);
  g_assert_cmpuint(s.deleted, ==, 0);
  std::map<std::string, std::string> state = b.contents();
  g_assert_true(state[original] == video);  // the only real copy is still there
}

void test_failed_copy_keeps_original_and_rerun_finishes() {
  TempBucket b;
  b.put("raw_videos/clip_2031-01-01_00-00-00.mp4", "first");
  b.put("raw_videos/clip_2032-01-01_00-00-00.mp4", "second");
  // A file where the dated folder of 2031 has to go: the real copy fails (ENOTDIR).
  b.put("raw_videos/2031", "blocker");

  mig::ApplyOptions cleanup;
  cleanup.cleanup = true;
  mig::Layout layout = default_layout();
  std::vector<std::string> failed;
  mig::Summary s = mig::apply_plan(
      *b.bucket, mig::plan_bucket(*b.bucket, layout), cleanup,
      [&](const mig::Item &item, std::size_t, std::size_t, const mig::ItemResult &r) {
        if (r.status == mig::ItemResult::Status::kFailed) {
          failed.push_back(item.key);
          g_assert_false(r.deleted);
          g_assert_false(r.message.empty());
        }
      });
  g_assert_cmpuint(s.failed, ==, 1);
  g_assert_cmpuint(s.deleted, ==, 1);
  g_assert_cmpuint(failed.size(), ==, 1);
  assert_str(failed[0], "raw_videos/clip_2031-01-01_00-00-00.mp4");
  std::map<std::string, std::string> state = b.contents();
  g_assert_true(state["raw_videos/clip_2031-01-01_00-00-00.mp4"] == "first");
  g_assert_true(state["raw_videos/2032/01/01/00/clip_2032-01-01_00-00-00.mp4"] == "second");
  g_assert_cmpuint(state.count("raw_videos/clip_2032-01-01_00-00-00.mp4"), ==, 0);
  g_assert_cmpuint(state.size(), ==, 3);

  b.bucket->remove("raw_videos/2031");
  s = mig::apply_plan(*b.bucket, mig::plan_bucket(*b.bucket, layout), cleanup);
  g_assert_cmpuint(s.failed, ==, 0);
  g_assert_cmpuint(s.copied, ==, 1);
  g_assert_cmpuint(s.deleted, ==, 1);
  state = b.contents();
  g_assert_cmpuint(state.size(), ==, 2);
  g_assert_true(state["raw_videos/2031/01/01/00/clip_2031-01-01_00-00-00.mp4"] == "first");
}

void test_vanished_original_fails() {
  TempBucket b;
  b.put("raw_videos/clip_2031-01-01_00-00-00.mp4", "first");
  mig::Plan plan = mig::plan_bucket(*b.bucket, default_layout());
  std::string cmd = "rm -rf '" + b.dir + "'";
  g_assert_cmpint(system(cmd.c_str()), ==, 0);
  g_assert_cmpint(g_mkdir(b.dir.c_str(), 0700), ==, 0);
  // The original vanished after the listing: a failure, not a copy.
  mig::Summary s = mig::apply_plan(*b.bucket, plan, mig::ApplyOptions{});
  g_assert_cmpuint(s.failed, ==, 1);
  g_assert_cmpuint(s.copied, ==, 0);
}

// --- concurrent writers (issue 13: defect 10 and the last check before a delete) ---

// Forwards every call to a real bucket; the hooks let a test act as another writer at an exact
// moment of the executor's sequence. pretend_s3 makes the executor treat the bucket as S3 (it
// then trusts ETags, as it must on a real server) while the bytes stay in a real folder.
class HookedBucket : public s3::Bucket {
 public:
  HookedBucket(s3::Bucket &inner, bool pretend_s3)
      : inner_(inner), url_(pretend_s3 ? s3::Url::parse_bucket("s3://pretend") : inner.url()) {}
  std::function<void(const std::string &key)> before_head;
  std::function<void(const std::string &key)> before_write;  // copy, put_file, put_data
  std::size_t copies = 0, puts = 0;

  const s3::Url &url() const override { return url_; }
  s3::ListPage list_page(const std::string &prefix, const std::string &delimiter,
                         const std::string &token, int max_keys) override {
    return inner_.list_page(prefix, delimiter, token, max_keys);
  }
  ObjectInfo head(const std::string &key) override {
    if (before_head) {
      before_head(key);
    }
    return inner_.head(key);
  }
  std::uint64_t get(const std::string &key, std::uint64_t offset, std::int64_t length,
                    const std::function<void(const char *, std::size_t)> &sink) override {
    return inner_.get(key, offset, length, sink);
  }
  std::unique_ptr<s3::Reader> open_reader(const std::string &key, std::uint64_t offset,
                                          std::int64_t length, std::size_t ahead) override {
    return inner_.open_reader(key, offset, length, ahead);
  }
  ObjectInfo put_file(const std::string &key, const std::string &path,
                      const s3::PutOptions &options) override {
    hook_write(key);
    ++puts;
    return inner_.put_file(key, path, options);
  }
  ObjectInfo put_data(const std::string &key, std::string_view data,
                      const s3::PutOptions &options) override {
    hook_write(key);
    return inner_.put_data(key, data, options);
  }
  ObjectInfo copy(const std::string &src, const std::string &dst,
                  const s3::CopyOptions &options) override {
    hook_write(dst);
    ++copies;
    return inner_.copy(src, dst, options);
  }
  void remove(const std::string &key) override { inner_.remove(key); }
  std::string presign(const std::string &key, int expires_s) override {
    return inner_.presign(key, expires_s);
  }

 private:
  void hook_write(const std::string &key) {
    // The migration's server probe writes its own scratch objects: not clips, not hooked.
    if (before_write && key.find("copy-probe") == std::string::npos) {
      auto hook = std::move(before_write);
      before_write = nullptr;
      hook(key);
    }
  }
  s3::Bucket &inner_;
  s3::Url url_;
};

std::string read_all(s3::Bucket &bucket, const std::string &key) {
  std::string data;
  bucket.get(key, 0, -1, [&](const char *p, std::size_t n) { data.append(p, n); });
  return data;
}

// Defect 10: a destination created between the executor's HEAD (absent) and its copy must
// survive with its bytes; the item is a conflict and the original is kept, even with --cleanup.
void check_destination_race(s3::Bucket &real, bool pretend_s3, mig::CopyMethod method,
                            const std::string &stamp) {
  const std::string original = "raw_videos/clip_" + stamp + ".mp4";
  mig::Plan plan;
  {
    real.put_data(original, "the original footage");
    plan = mig::plan_bucket(real, default_layout());
  }
  const mig::Item *item = find_item(plan, original.c_str());
  g_assert_nonnull(item);
  g_assert_true(item->action == mig::Action::kCopy);
  const std::string dest = item->dest_key;
  const std::string theirs = "another writer's bytes, not ours";

  HookedBucket hooked(real, pretend_s3);
  bool raced = false;
  hooked.before_write = [&](const std::string &key) {
    g_assert_cmpstr(key.c_str(), ==, dest.c_str());
    real.put_data(dest, theirs);
    raced = true;
  };
  mig::ApplyOptions options;
  options.cleanup = true;
  options.copy_method = method;
  mig::Summary s = mig::apply_plan(hooked, plan, options);
  g_assert_true(raced);
  g_assert_true(read_all(real, dest) == theirs);
  assert_str(read_all(real, original), "the original footage");
  g_assert_cmpuint(s.copied, ==, 0);
  g_assert_cmpuint(s.deleted, ==, 0);
  g_assert_cmpuint(s.conflicts, ==, 1);
  if (method == mig::CopyMethod::kStream) {
    g_assert_cmpuint(hooked.copies, ==, 0);  // streamed: GET then a conditional PUT
    g_assert_cmpuint(hooked.puts, ==, 1);
  }
}

void test_destination_appears_before_copy_local() {
  TempBucket b;
  check_destination_race(*b.bucket, false, mig::CopyMethod::kAuto, "2030-01-02_03-04-05");
}

void test_destination_appears_before_copy_trusted_etags() {
  TempBucket b, c;
  check_destination_race(*b.bucket, true, mig::CopyMethod::kAuto, "2030-01-02_03-04-05");
  check_destination_race(*c.bucket, true, mig::CopyMethod::kStream, "2030-01-02_03-04-06");
}

// "The migration's last check before delete": a same-size, different-content rewrite of the
// original after its copy was verified, just before the delete, must stop the delete (a check
// on the size alone would delete the only copy of the new bytes).
void check_rewrite_before_delete(s3::Bucket &real, bool pretend_s3, const std::string &stamp) {
  const std::string original = "raw_videos/clip_" + stamp + ".mp4";
  real.put_data(original, "first take, 24 bytes....");
  const std::string rewritten = "SECOND take, same size!!";
  g_assert_cmpuint(rewritten.size(), ==, 24);
  mig::Plan plan = mig::plan_bucket(real, default_layout());
  const mig::Item *item = find_item(plan, original.c_str());
  g_assert_nonnull(item);

  HookedBucket hooked(real, pretend_s3);
  int heads = 0;
  hooked.before_head = [&](const std::string &key) {
    // HEADs of the original: the fresh look before the copy, then the last one before delete.
    if (key == original && ++heads == 2) {
      real.put_data(original, rewritten);
    }
  };
  mig::ApplyOptions options;
  options.cleanup = true;
  mig::Summary s = mig::apply_plan(hooked, plan, options);
  g_assert_cmpint(heads, ==, 2);
  g_assert_cmpuint(s.copied, ==, 1);
  g_assert_cmpuint(s.deleted, ==, 0);
  g_assert_cmpuint(s.failed, ==, 1);
  g_assert_true(read_all(real, original) == rewritten);
  assert_str(read_all(real, item->dest_key), "first take, 24 bytes....");
}

void test_rewrite_before_delete_local() {
  TempBucket b;
  check_rewrite_before_delete(*b.bucket, false, "2030-02-03_04-05-06");
}

void test_rewrite_before_delete_trusted_etags() {
  TempBucket b;
  check_rewrite_before_delete(*b.bucket, true, "2030-02-03_04-05-06");
}

// The same two races against a real S3 server (Ceph RGW under tests/lib/with-s3-server).
std::unique_ptr<s3::Bucket> rgw_bucket() {
  const char *buckets = g_getenv("S3_TEST_BUCKETS");
  std::string name = buckets ? buckets : "";
  name = name.substr(0, name.find(' '));
  return s3::open_bucket(s3::Url::parse_bucket("s3://" + name), s3::Config::from_environment());
}

void test_rgw_copy_probe_and_races() {
  std::unique_ptr<s3::Bucket> b = rgw_bucket();
  // Ceph RGW 16 ignores If-None-Match on CopyObject (it overwrites): the probe must see that,
  // leave nothing behind, and the migration must then stream through a conditional PUT.
  b->put_data("raw_videos/existing", "x");
  mig::CopyMethod method = mig::probe_copy_method(*b, "raw_videos/");
  g_test_message("probe: %s", mig::copy_method_name(method));
  std::vector<ObjectInfo> left;
  b->list_all("raw_videos/.gst", "", &left);
  g_assert_cmpuint(left.size(), ==, 0);
  if (method == mig::CopyMethod::kServer) {
    // A server that honours it: a conditional copy onto an existing key is refused.
    s3::CopyOptions conditional;
    conditional.if_none_match = true;
    b->put_data("raw_videos/other", "y");
    bool refused = false;
    try {
      b->copy("raw_videos/existing", "raw_videos/other", conditional);
    } catch (const s3::Error &e) {
      refused = e.kind() == s3::ErrorKind::kPreconditionFailed;
    }
    g_assert_true(refused);
  }
  b->remove("raw_videos/existing");
  b->remove("raw_videos/other");
  check_destination_race(*b, false, mig::CopyMethod::kAuto, "2030-03-04_05-06-07");
  // (the conflict above stays: the next case counts its own item only)
  b->remove("raw_videos/clip_2030-03-04_05-06-07.mp4");
  b->remove("raw_videos/2030/03/04/05/clip_2030-03-04_05-06-07.mp4");
  check_rewrite_before_delete(*b, false, "2030-03-04_05-06-08");
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  if (g_getenv("S3_ENDPOINT") && g_getenv("S3_TEST_BUCKETS")) {
    // Under tests/lib/with-s3-server: only the cases that need a real server.
    g_test_add_func("/s3-migrate/rgw/copy-probe-and-races", test_rgw_copy_probe_and_races);
    return g_test_run();
  }
  g_test_add_func("/s3-migrate/parse/documented-names", test_parse_documented_names);
  g_test_add_func("/s3-migrate/parse/any-extension", test_parse_any_extension);
  g_test_add_func("/s3-migrate/parse/case-and-shape", test_parse_case_and_shape);
  g_test_add_func("/s3-migrate/parse/impossible-dates", test_parse_rejects_impossible_dates);
  g_test_add_func("/s3-migrate/parse/heatmap-suffix",
                  test_parse_heatmap_suffix_belongs_to_its_area);
  g_test_add_func("/s3-migrate/map/dated-folder", test_dated_folder_pads);
  g_test_add_func("/s3-migrate/map/documented-example", test_classify_documented_example);
  g_test_add_func("/s3-migrate/map/dated-nested-others", test_classify_dated_nested_and_others);
  g_test_add_func("/s3-migrate/map/layout", test_layout_normalizes_and_rejects_overlap);
  g_test_add_func("/s3-migrate/plan/compare-info", test_compare_info);
  g_test_add_func("/s3-migrate/plan/kinds", test_plan_kinds);
  g_test_add_func("/s3-migrate/plan/name-prefix", test_plan_name_prefix_filter);
  g_test_add_func("/s3-migrate/plan/custom-prefixes", test_plan_custom_prefixes);
  g_test_add_func("/s3-migrate/plan/nested-prefixes", test_plan_nested_prefixes);
  g_test_add_func("/s3-migrate/apply/same-content", test_same_content);
  g_test_add_func("/s3-migrate/apply/copy-verify-cleanup",
                  test_apply_copies_verifies_then_cleans_up);
  g_test_add_func("/s3-migrate/apply/failed-copy",
                  test_failed_copy_keeps_original_and_rerun_finishes);
  g_test_add_func("/s3-migrate/apply/vanished-original", test_vanished_original_fails);
  g_test_add_func("/s3-migrate/apply/forged-etag-never-deletes", test_forged_etag_never_deletes);
  g_test_add_func("/s3-migrate/race/destination-appears-before-copy/local",
                  test_destination_appears_before_copy_local);
  g_test_add_func("/s3-migrate/race/destination-appears-before-copy/trusted-etags",
                  test_destination_appears_before_copy_trusted_etags);
  g_test_add_func("/s3-migrate/race/rewrite-before-delete/local", test_rewrite_before_delete_local);
  g_test_add_func("/s3-migrate/race/rewrite-before-delete/trusted-etags",
                  test_rewrite_before_delete_trusted_etags);
  return g_test_run();
}
