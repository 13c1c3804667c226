// test-aggregate.cpp: rollups, coverage, zones, comparisons, incremental updates and mixed
// resolutions on a bucket: a temporary file:// folder, or the s3:// bucket named by
// S3_TEST_BUCKETS when run under tests/lib/with-s3-server (RGW). Clips are synthesised as
// counts PNGs + sidecars (no video needed).
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <opencv2/core.hpp>

#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "aggregate.h"
#include "heatmap-core.h"
#include "rollup.h"
#include "rollups.h"
#include "s3-pending.h"
#include "s3-client.h"

namespace {

namespace agg = heatmap::aggregate;
namespace ru = s3::rollups;

#define assert_str(a, b)                                                                     \
  do {                                                                                       \
    std::string a_ = (a), b_ = (b);                                                          \
    if (a_ != b_)                                                                            \
      g_error("%s:%d: %s == %s failed:\n'%s'\n'%s'", __FILE__, __LINE__, #a, #b, a_.c_str(), \
              b_.c_str());                                                                   \
  } while (0)

std::string g_tmp;  // scratch folder
std::unique_ptr<s3::Bucket> g_bucket;
std::string g_bucket_url;
int g_prefix_counter = 0;

std::string fresh_prefix() {
  return "t" + std::to_string(++g_prefix_counter) + "/heatmaps/";
}

std::string get(const std::string &key) {
  std::string out;
  g_bucket->get(key, 0, -1, [&](const char *d, std::size_t n) { out.append(d, n); });
  return out;
}

cv::Mat get_png(const std::string &key) {
  return agg::decode_png16(get(key), key);
}

struct Json {
  JsonParser *parser = json_parser_new();
  JsonObject *root = nullptr;
  explicit Json(const std::string &text) {
    g_assert_true(json_parser_load_from_data(parser, text.data(), text.size(), nullptr));
    root = json_node_get_object(json_parser_get_root(parser));
  }
  ~Json() { g_object_unref(parser); }
  JsonObject *obj(const char *k) const { return json_object_get_object_member(root, k); }
  JsonArray *arr(const char *k) const { return json_object_get_array_member(root, k); }
  double num(const char *k) const { return json_object_get_double_member(root, k); }
};

// A synthetic clip: random counts in [0, frames] (sparse, like real motion).
struct Clip {
  std::string stem;  // prefix + YYYY/MM/DD/HH/clip_..., no suffix
  cv::Mat counts;
  std::uint64_t frames = 0;
  double seconds = 0;
};

Clip make_clip(const std::string &prefix, int y, int mo, int d, int h, int mi, std::uint64_t frames,
               double seconds, cv::Size size, std::uint64_t seed, bool with_scene = false,
               bool with_zones = false) {
  char rel[96];
  std::snprintf(rel, sizeof rel, "%04d/%02d/%02d/%02d/clip_%04d-%02d-%02d_%02d-%02d-00", y, mo, d,
                h, y, mo, d, h, mi);
  Clip c;
  c.stem = prefix + rel;
  c.frames = frames;
  c.seconds = seconds;
  cv::RNG rng(seed);
  c.counts = cv::Mat::zeros(size, CV_16UC1);
  for (int yy = 0; yy < size.height; ++yy) {
    for (int xx = 0; xx < size.width; ++xx) {
      if (rng.uniform(0, 4) == 0)
        c.counts.at<std::uint16_t>(yy, xx) =
            static_cast<std::uint16_t>(rng.uniform(0, int(frames) + 1));
    }
  }
  std::string png = g_tmp + "/counts.png", error;
  g_assert_true(heatmap::write_counts_png(png, c.counts, &error));
  g_bucket->put_file(c.stem + "_heatmap.png", png);
  char start[32];
  std::snprintf(start, sizeof start, "%04d-%02d-%02dT%02d:%02d:00Z", y, mo, d, h, mi);
  std::string zones = "[]";
  if (with_zones) {
    // Two samples a zone: 1 s each, the first active.
    zones = std::string("[{\"name\": \"door\", \"polygon\": [[0,0],[0.5,0],[0.5,1]], ") +
            "\"mean_activity\": 0.2, \"active_seconds\": 10.0, \"peak\": 0.5, \"series\": [" +
            "{\"time_utc\": \"" + start + "\", \"offset_s\": 0, \"activity\": 0.4, " +
            "\"peak\": 0.5, \"active\": true}, {\"time_utc\": null, \"offset_s\": 1, " +
            "\"activity\": 0.1, \"peak\": 0.1, \"active\": false}]}]";
  }
  std::string json = std::string("{\"format\": \"gst-heatmap.heatmap\", \"version\": 1, ") +
                     "\"kind\": \"clip\", \"source\": \"x\", \"start_utc\": \"" + start +
                     "\", \"duration_s\": " + std::to_string(seconds) +
                     ", \"frames_seen\": " + std::to_string(frames) +
                     ", \"frames_processed\": " + std::to_string(frames) +
                     ", \"fps\": 25.0, \"width\": " + std::to_string(size.width) +
                     ", \"height\": " + std::to_string(size.height) +
                     ", \"zone_interval_s\": 1.0, \"zones\": " + zones +
                     ", \"files\": {\"jpeg\": \"x_heatmap.jpg\", \"png\": \"x_heatmap.png\", "
                     "\"scene\": null}}";
  g_bucket->put_data(c.stem + "_heatmap.json", json);
  if (with_scene) {
    cv::Mat scene(size, CV_8UC3, cv::Scalar(static_cast<double>(seed % 200), 100, 50));
    std::string jpg = g_tmp + "/scene.jpg";
    g_assert_true(heatmap::write_jpeg(jpg, scene, 90, &error));
    g_bucket->put_file(c.stem + "_scene.jpg", jpg);
  }
  g_bucket->put_data(c.stem + "_heatmap.jpg", "done");  // the done marker goes last
  return c;
}

agg::Options quiet_options() {
  agg::Options o;
  o.name = "test camera";
  return o;
}

agg::RollupStats run(const std::string &prefix, const std::vector<ru::Period> &periods,
                     const agg::Options &options = quiet_options()) {
  agg::Layout layout{"raw/", prefix};
  return agg::update_rollups(*g_bucket, layout, periods, options);
}

std::vector<ru::Period> touched(const std::string &prefix, const std::vector<Clip> &clips) {
  std::vector<std::string> keys;
  for (const Clip &c : clips)
    keys.push_back(c.stem + "_heatmap.jpg");
  return agg::periods_touched_by(keys, agg::Layout{"raw/", prefix});
}

std::map<std::string, std::string> etags(const std::string &prefix) {
  std::vector<s3::ObjectInfo> objects;
  g_bucket->list_all(prefix, "", &objects);
  std::map<std::string, std::string> out;
  for (const auto &o : objects)
    out[o.key] = o.etag;
  return out;
}

// --- pure layout rules ---------------------------------------------------------------------

void test_layout_periods() {
  auto p = ru::parse_period("2025-12-29");
  g_assert_true(p && p->kind == ru::Kind::kDay);
  ru::Period w = ru::week_containing(*p);
  assert_str(w.id(), "2026-W01");
  assert_str(ru::week_containing(*ru::parse_period("2026-01-04")).id(), "2026-W01");
  assert_str(ru::week_containing(*ru::parse_period("2026-01-05")).id(), "2026-W02");
  assert_str(ru::week_containing(*ru::parse_period("2021-01-03")).id(), "2020-W53");
  g_assert_cmpint(ru::iso_weeks_in_year(2020), ==, 53);
  g_assert_cmpint(ru::iso_weeks_in_year(2025), ==, 52);
  g_assert_false(ru::parse_period("2025-W53").has_value());
  g_assert_false(ru::parse_period("2025-02-29").has_value());
  g_assert_true(ru::parse_period("2024-02-29").has_value());
  g_assert_false(ru::parse_period("day:2025-10").has_value());
  std::vector<ru::Period> days = ru::children(w);
  g_assert_cmpuint(days.size(), ==, 7);
  assert_str(days.front().id(), "2025-12-29");
  assert_str(days.back().id(), "2026-01-04");
  assert_str(ru::iso8601(w.start()), "2025-12-29T00:00:00Z");
  assert_str(ru::stem_key("heatmaps", w), "heatmaps/weeks/2026-W01_heatmap");
  assert_str(ru::stem_key("heatmaps/", *ru::parse_period("2025-10-20T13")),
             "heatmaps/2025/10/20/13/hour_heatmap");
  assert_str(ru::stem_key("heatmaps/", *ru::parse_period("2025-10")),
             "heatmaps/2025/10/month_heatmap");
  g_assert_cmpuint(ru::children(*ru::parse_period("2024-02")).size(), ==, 29);

  std::vector<ru::Period> t = ru::periods_touched_by(
      {"raw_videos/2025/12/31/23/clip_2025-12-31_23-59-00.mp4",
       "heatmaps/2025/12/31/23/clip_2025-12-31_23-10-00_heatmap.jpg",
       "heatmaps/2025/12/31/23/hour_heatmap.json",
       "raw_videos/2025/12/31/22/clip_2025-12-30_22-00-00.mp4", "raw_videos/notes.txt"},
      "raw_videos/", "heatmaps/");
  std::vector<std::string> ids;
  for (const auto &q : t)
    ids.push_back(std::string(ru::kind_name(q.kind)) + " " + q.id());
  g_assert_cmpuint(ids.size(), ==, 4);
  assert_str(ids[0], "hour 2025-12-31T23");
  assert_str(ids[1], "day 2025-12-31");
  assert_str(ids[2], "week 2026-W01");
  assert_str(ids[3], "month 2025-12");

  g_assert_true(ru::is_rollup_key("heatmaps/2025/10/20/13/hour_heatmap.jpg"));
  g_assert_true(ru::is_rollup_key("heatmaps/weeks/2026-W01_heatmap.json"));
  g_assert_true(ru::is_rollup_key("heatmaps/2025/10/month_heatmap.png"));
  g_assert_false(ru::is_rollup_key("heatmaps/2025/10/20/13/clip_2025-10-20_13-00-00_heatmap.jpg"));

  ru::Kinds k = ru::parse_kinds("hour,day");
  g_assert_true(k.hour && k.day && !k.week && !k.month);
  g_assert_false(ru::parse_kinds("none").any());
  for (const char *bad : {"week", "hour,month", "hours", "day"}) {
    bool threw = false;
    try {
      ru::parse_kinds(bad);
    } catch (const std::invalid_argument &) {
      threw = true;
    }
    g_assert_true(threw);
  }
}

// `pending` never takes rollup outputs for work, even with the videos at the bucket root.
void test_pending_ignores_rollups() {
  std::vector<s3::ObjectInfo> objects;
  for (const char *key :
       {"2025/10/20/13/clip_2025-10-20_13-00-00.mp4", "heatmaps/2025/10/20/13/hour_heatmap.jpg",
        "heatmaps/2025/10/20/13/hour_heatmap.png", "heatmaps/2025/10/20/day_heatmap.json",
        "heatmaps/weeks/2025-W43_heatmap.jpg", "heatmaps/2025/10/month_heatmap.png"}) {
    s3::ObjectInfo o;
    o.key = key;
    o.size = 10;
    objects.push_back(o);
  }
  s3::pending::Layout layout{"", "heatmaps/"};
  std::vector<s3::ObjectInfo> heatmaps(objects.begin() + 1, objects.end());
  s3::pending::Plan plan = s3::pending::plan(layout, objects, heatmaps, {});
  g_assert_cmpuint(plan.clips.size(), ==, 1);
  assert_str(plan.clips[0].video.key, "2025/10/20/13/clip_2025-10-20_13-00-00.mp4");
  for (const auto &o : heatmaps)
    g_assert_true(ru::is_rollup_key(o.key));
}

// --- sums ----------------------------------------------------------------------------------

// An hour of clips with equal frame counts is exactly round(65535 * sum c / sum f); clips at
// another frame rate weigh by their time (within one unit of the exact value).
void test_hour_exact_sums() {
  std::string prefix = fresh_prefix();
  cv::Size size(48, 27);
  std::vector<Clip> clips;
  for (int i = 0; i < 3; ++i)
    clips.push_back(make_clip(prefix, 2025, 10, 20, 13, i * 5, 1500, 60.0, size, 10 + i));
  agg::RollupStats st = run(prefix, touched(prefix, clips));
  g_assert_cmpuint(st.failed, ==, 0);
  g_assert_cmpuint(st.written, ==, 4);
  cv::Mat hour = get_png(prefix + "2025/10/20/13/hour_heatmap.png");
  g_assert_true(hour.size() == size);
  std::size_t nonzero = 0;
  for (int y = 0; y < size.height; ++y) {
    for (int x = 0; x < size.width; ++x) {
      std::uint64_t sum = 0;
      for (const Clip &c : clips)
        sum += c.counts.at<std::uint16_t>(y, x);
      // Integer round half up of 65535 * sum / 4500.
      std::uint64_t expect = (2 * 65535 * sum + 4500) / (2 * 4500);
      if (hour.at<std::uint16_t>(y, x) != expect)
        g_error("hour pixel (%d,%d) = %u, expected %llu", x, y, hour.at<std::uint16_t>(y, x),
                static_cast<unsigned long long>(expect));
      nonzero += expect > 0;
    }
  }
  g_assert_cmpuint(nonzero, >, 100);

  // Another hour: 25 fps, 12.5 fps (half the frames for the same minute) and frame-step 2.
  std::vector<Clip> mixed = {make_clip(prefix, 2025, 10, 20, 14, 0, 1500, 60.0, size, 21),
                             make_clip(prefix, 2025, 10, 20, 14, 5, 750, 60.0, size, 22),
                             make_clip(prefix, 2025, 10, 20, 14, 10, 600, 48.0, size, 23)};
  st = run(prefix, touched(prefix, mixed));
  g_assert_cmpuint(st.failed, ==, 0);
  hour = get_png(prefix + "2025/10/20/14/hour_heatmap.png");
  long double total = 0;
  for (const Clip &c : mixed)
    total += c.seconds;
  for (int y = 0; y < size.height; ++y) {
    for (int x = 0; x < size.width; ++x) {
      long double motion_seconds = 0;
      for (const Clip &c : mixed)
        motion_seconds += c.counts.at<std::uint16_t>(y, x) * (c.seconds / c.frames);
      long double exact = 65535.0L * motion_seconds / total;
      if (std::fabs(static_cast<double>(hour.at<std::uint16_t>(y, x) - exact)) > 1.0)
        g_error("mixed-rate hour pixel (%d,%d) = %u, exact %.3Lf", x, y,
                hour.at<std::uint16_t>(y, x), exact);
    }
  }
  // The unweighted sum c / sum f differs: the check above would catch a plain frame count.
  Json j(get(prefix + "2025/10/20/14/hour_heatmap.json"));
  g_assert_cmpfloat(j.num("seconds_observed"), ==, 168.0);
  g_assert_cmpint(json_object_get_int_member(j.root, "frames_processed"), ==, 2850);
  g_assert_cmpint(json_object_get_int_member(j.root, "clips"), ==, 3);
}

// Day = sum of its hours, week = sum of its days across a month and an ISO year boundary
// (2025-12-29 .. 2026-01-04), month = its days only.
void test_day_week_month_sums() {
  std::string prefix = fresh_prefix();
  cv::Size size(40, 24);
  std::vector<Clip> clips;
  int seed = 100;
  struct Slot {
    int y, m, d, h, n;
  };
  // Different numbers of clips per hour: hours weigh by their seconds.
  for (Slot s : {Slot{2025, 12, 29, 9, 1}, Slot{2025, 12, 29, 17, 3}, Slot{2025, 12, 31, 23, 2},
                 Slot{2026, 1, 1, 0, 1}, Slot{2026, 1, 1, 12, 2}, Slot{2026, 1, 4, 8, 1},
                 Slot{2026, 1, 5, 8, 1}}) {
    for (int i = 0; i < s.n; ++i)
      clips.push_back(make_clip(prefix, s.y, s.m, s.d, s.h, i * 10, 1500, 60.0, size, ++seed));
  }
  agg::RollupStats st = run(prefix, touched(prefix, clips));
  g_assert_cmpuint(st.failed, ==, 0);
  // 7 hours, 5 days, 2 weeks (W01, W02), 2 months.
  g_assert_cmpuint(st.written, ==, 16);

  // Expected parent PNG from the children's PNGs and seconds: round half up of the
  // seconds-weighted mean, in exact integer arithmetic.
  auto check_parent = [&](const std::string &parent, const std::vector<std::string> &children) {
    cv::Mat got = get_png(parent + ".png");
    std::vector<cv::Mat> pngs;
    std::vector<std::uint64_t> secs;
    for (const std::string &c : children) {
      pngs.push_back(get_png(c + ".png"));
      secs.push_back(static_cast<std::uint64_t>(Json(get(c + ".json")).num("seconds_observed")));
    }
    std::uint64_t total = 0;
    for (auto s : secs)
      total += s;
    for (int y = 0; y < size.height; ++y) {
      for (int x = 0; x < size.width; ++x) {
        std::uint64_t num = 0;
        for (std::size_t i = 0; i < pngs.size(); ++i)
          num += pngs[i].at<std::uint16_t>(y, x) * secs[i];
        std::uint64_t expect = (2 * num + total) / (2 * total);
        if (got.at<std::uint16_t>(y, x) != expect)
          g_error("%s pixel (%d,%d) = %u, expected %llu", parent.c_str(), x, y,
                  got.at<std::uint16_t>(y, x), static_cast<unsigned long long>(expect));
      }
    }
    Json j(get(parent + ".json"));
    g_assert_cmpfloat(j.num("seconds_observed"), ==, static_cast<double>(total));
    g_assert_cmpuint(json_array_get_length(j.arr("sources")), ==, children.size());
  };
  check_parent(prefix + "2025/12/29/day_heatmap",
               {prefix + "2025/12/29/09/hour_heatmap", prefix + "2025/12/29/17/hour_heatmap"});
  check_parent(prefix + "2026/01/01/day_heatmap",
               {prefix + "2026/01/01/00/hour_heatmap", prefix + "2026/01/01/12/hour_heatmap"});
  check_parent(prefix + "weeks/2026-W01_heatmap",
               {prefix + "2025/12/29/day_heatmap", prefix + "2025/12/31/day_heatmap",
                prefix + "2026/01/01/day_heatmap", prefix + "2026/01/04/day_heatmap"});
  check_parent(prefix + "2025/12/month_heatmap",
               {prefix + "2025/12/29/day_heatmap", prefix + "2025/12/31/day_heatmap"});
  check_parent(prefix + "2026/01/month_heatmap",
               {prefix + "2026/01/01/day_heatmap", prefix + "2026/01/04/day_heatmap",
                prefix + "2026/01/05/day_heatmap"});
  Json week(get(prefix + "weeks/2026-W01_heatmap.json"));
  g_assert_cmpint(json_object_get_int_member(week.root, "clips"), ==, 10);
  assert_str(json_object_get_string_member(week.obj("period"), "start_utc"),
             "2025-12-29T00:00:00Z");
  assert_str(json_object_get_string_member(week.obj("period"), "end_utc"), "2026-01-05T00:00:00Z");
  g_assert_cmpint(json_object_get_int_member(week.obj("coverage"), "hours_in_period"), ==, 168);
  g_assert_cmpint(json_object_get_int_member(week.obj("coverage"), "hours_observed"), ==, 6);
}

// Hours without clips are unobserved in the JSON and in the title.
void test_coverage() {
  std::string prefix = fresh_prefix();
  cv::Size size(32, 18);
  std::vector<Clip> clips = {make_clip(prefix, 2025, 10, 20, 13, 0, 250, 10.0, size, 1),
                             make_clip(prefix, 2025, 10, 20, 13, 30, 250, 10.0, size, 2),
                             make_clip(prefix, 2025, 10, 20, 14, 0, 250, 10.0, size, 3),
                             make_clip(prefix, 2025, 10, 20, 16, 0, 250, 10.0, size, 4)};
  run(prefix, touched(prefix, clips));
  Json day(get(prefix + "2025/10/20/day_heatmap.json"));
  JsonObject *cov = day.obj("coverage");
  g_assert_cmpint(json_object_get_int_member(cov, "hours_in_period"), ==, 24);
  g_assert_cmpint(json_object_get_int_member(cov, "hours_observed"), ==, 3);
  JsonArray *hours = json_object_get_array_member(cov, "hours");
  g_assert_cmpuint(json_array_get_length(hours), ==, 3);
  JsonObject *h13 = json_array_get_object_element(hours, 0);
  assert_str(json_object_get_string_member(h13, "hour_utc"), "2025-10-20T13:00:00Z");
  g_assert_cmpfloat(json_object_get_double_member(h13, "seconds"), ==, 20.0);
  g_assert_cmpint(json_object_get_int_member(h13, "clips"), ==, 2);
  JsonArray *unobserved = json_object_get_array_member(cov, "unobserved_hours");
  g_assert_cmpuint(json_array_get_length(unobserved), ==, 21);
  std::set<std::string> un;
  for (guint i = 0; i < json_array_get_length(unobserved); ++i)
    un.insert(json_array_get_string_element(unobserved, i));
  g_assert_true(un.count("2025-10-20T15:00:00Z") == 1);
  g_assert_true(un.count("2025-10-20T00:00:00Z") == 1);
  g_assert_true(un.count("2025-10-20T14:00:00Z") == 0);
  std::string title = json_object_get_string_member(day.root, "title");
  if (title.find("observed 3 of 24 h (13:00-15:00, 16:00-17:00)") == std::string::npos ||
      title.find("21 h unobserved") == std::string::npos)
    g_error("day title does not show the coverage: %s", title.c_str());
}

// Zones: totals weighted by time, active seconds added, series binned (a minute for an hour).
void test_zones_merge() {
  std::string prefix = fresh_prefix();
  cv::Size size(32, 18);
  std::vector<Clip> clips = {
      make_clip(prefix, 2025, 10, 20, 13, 0, 250, 10.0, size, 1, false, true),
      make_clip(prefix, 2025, 10, 20, 13, 1, 250, 30.0, size, 2, false, true)};
  run(prefix, touched(prefix, clips));
  Json hour(get(prefix + "2025/10/20/13/hour_heatmap.json"));
  JsonArray *zones = hour.arr("zones");
  g_assert_cmpuint(json_array_get_length(zones), ==, 1);
  JsonObject *door = json_array_get_object_element(zones, 0);
  assert_str(json_object_get_string_member(door, "name"), "door");
  g_assert_cmpfloat(json_object_get_double_member(door, "observed_seconds"), ==, 40.0);
  g_assert_cmpfloat(json_object_get_double_member(door, "active_seconds"), ==, 20.0);
  g_assert_cmpfloat_with_epsilon(json_object_get_double_member(door, "mean_activity"), 0.2, 1e-9);
  JsonArray *series = json_object_get_array_member(door, "series");
  g_assert_cmpuint(json_array_get_length(series), ==, 2);  // minutes 13:00 and 13:01
  JsonObject *m0 = json_array_get_object_element(series, 0);
  assert_str(json_object_get_string_member(m0, "time_utc"), "2025-10-20T13:00:00Z");
  g_assert_cmpfloat(json_object_get_double_member(m0, "seconds"), ==, 2.0);
  g_assert_cmpfloat_with_epsilon(json_object_get_double_member(m0, "activity"), 0.25, 1e-9);
  g_assert_cmpfloat(json_object_get_double_member(m0, "active_seconds"), ==, 1.0);
  // The day carries the totals on, binned to 15 minutes.
  Json day(get(prefix + "2025/10/20/day_heatmap.json"));
  JsonObject *dz = json_array_get_object_element(day.arr("zones"), 0);
  g_assert_cmpfloat(json_object_get_double_member(dz, "active_seconds"), ==, 20.0);
  g_assert_cmpuint(json_array_get_length(json_object_get_array_member(dz, "series")), ==, 1);
}

// Adding one clip rewrites its hour, day, week and month and nothing else; then nothing.
void test_incremental() {
  std::string prefix = fresh_prefix();
  cv::Size size(32, 18);
  std::vector<Clip> clips;
  int seed = 500;
  for (int d : {27, 28, 29, 30})
    for (int h : {8, 12})
      clips.push_back(make_clip(prefix, 2025, 10, d, h, 0, 250, 10.0, size, ++seed, true));
  agg::Layout layout{"raw/", prefix};
  agg::RollupStats st = run(prefix, agg::all_periods(*g_bucket, layout));
  g_assert_cmpuint(st.failed, ==, 0);
  g_assert_cmpuint(st.written, ==, 8 + 4 + 1 + 1);
  std::map<std::string, std::string> before = etags(prefix);

  // A second run over everything writes nothing.
  st = run(prefix, agg::all_periods(*g_bucket, layout));
  g_assert_cmpuint(st.written, ==, 0);
  g_assert_cmpuint(st.unchanged, ==, 14);
  g_assert_cmpuint(st.requests.puts, ==, 0);
  // Listings: each hour 1; each day its own files + its folder's hours + its 2 hours (4, not
  // 1 + 24); week W44 (Oct 27 .. Nov 2) its own + 2 month folders + its 4 days; the month its
  // own + its folder + its 4 days (6, not 1 + 31).
  g_assert_cmpuint(st.requests.lists, ==, 8 * 1 + 4 * 4 + 7 + 6);
  g_assert_true(etags(prefix) == before);

  Clip added = make_clip(prefix, 2025, 10, 28, 12, 30, 250, 10.0, size, 999, true);
  std::map<std::string, std::string> with_clip = etags(prefix);
  st = run(prefix, agg::all_periods(*g_bucket, layout));
  g_assert_cmpuint(st.written, ==, 4);
  std::map<std::string, std::string> after = etags(prefix);
  std::set<std::string> changed;
  for (const auto &[key, etag] : after) {
    auto it = with_clip.find(key);
    if (it == with_clip.end() || it->second != etag)
      changed.insert(key);
  }
  std::set<std::string> expected;
  for (const char *stem : {"2025/10/28/12/hour_heatmap", "2025/10/28/day_heatmap",
                           "weeks/2025-W44_heatmap", "2025/10/month_heatmap"})
    for (const char *ext : {".png", ".jpg", ".json"})
      expected.insert(prefix + stem + ext);
  if (changed != expected) {
    std::string list;
    for (const auto &k : changed)
      list += k + " ";
    g_error("adding one clip changed: %s", list.c_str());
  }
  // The hour's scene is the newest clip's.
  Json hour(get(prefix + "2025/10/28/12/hour_heatmap.json"));
  assert_str(
      json_object_get_string_member(json_object_get_object_member(hour.root, "scene"), "key"),
      added.stem + "_scene.jpg");
  Json month(get(prefix + "2025/10/month_heatmap.json"));
  assert_str(
      json_object_get_string_member(json_object_get_object_member(month.root, "scene"), "key"),
      prefix + "2025/10/30/12/clip_2025-10-30_12-00-00_scene.jpg");
  st = run(prefix, agg::all_periods(*g_bucket, layout));
  g_assert_cmpuint(st.written, ==, 0);
  g_assert_true(etags(prefix) == after);
  // A different colour scale re-renders (the JSON records it).
  agg::Options fixed = quiet_options();
  fixed.render.scale = agg::Scale::parse("fixed:5%");
  st = run(prefix, {*ru::parse_period("2025-10-28T12")}, fixed);
  g_assert_cmpuint(st.written, ==, 1);
}

// A camera replaced mid-hour: one line naming two sources, or --resample to the newest size.
void test_mixed_resolutions() {
  std::string prefix = fresh_prefix();
  std::vector<Clip> clips = {make_clip(prefix, 2025, 10, 20, 13, 0, 250, 10.0, {48, 27}, 1),
                             make_clip(prefix, 2025, 10, 20, 13, 10, 250, 10.0, {64, 36}, 2)};
  agg::RollupStats st = run(prefix, {*ru::parse_period("2025-10-20T13")});
  g_assert_cmpuint(st.failed, ==, 1);
  const std::string &msg = st.results[0].message;
  if (msg.find("mixed resolutions") == std::string::npos ||
      msg.find(clips[0].stem + "_heatmap.png is 48x27") == std::string::npos ||
      msg.find(clips[1].stem + "_heatmap.png is 64x36") == std::string::npos ||
      msg.find("--resample") == std::string::npos || msg.find('\n') != std::string::npos)
    g_error("mixed resolution message: %s", msg.c_str());
  g_assert_true(etags(prefix).count(prefix + "2025/10/20/13/hour_heatmap.png") == 0);

  agg::Options resample = quiet_options();
  resample.resample = true;
  st = run(prefix, {*ru::parse_period("2025-10-20T13")}, resample);
  g_assert_cmpuint(st.written, ==, 1);
  cv::Mat hour = get_png(prefix + "2025/10/20/13/hour_heatmap.png");
  g_assert_cmpint(hour.cols, ==, 64);
  g_assert_cmpint(hour.rows, ==, 36);
  Json j(get(prefix + "2025/10/20/13/hour_heatmap.json"));
  JsonObject *first = json_array_get_object_element(j.arr("sources"), 0);
  g_assert_true(json_object_get_boolean_member(first, "resampled"));
  // The occupancy is preserved on average by the area resampling.
  double mean_first = cv::mean(clips[0].counts)[0] / 250,
         mean_second = cv::mean(clips[1].counts)[0] / 250;
  g_assert_cmpfloat_with_epsilon(cv::mean(hour)[0] / 65535, (mean_first + mean_second) / 2, 1e-3);
}

// Broken sidecars are skipped with a reason; the rest still adds up.
void test_bad_sources() {
  std::string prefix = fresh_prefix();
  cv::Size size(32, 18);
  Clip good = make_clip(prefix, 2025, 10, 20, 13, 0, 250, 10.0, size, 1);
  Clip bad = make_clip(prefix, 2025, 10, 20, 13, 5, 250, 10.0, size, 2);
  g_bucket->put_data(bad.stem + "_heatmap.json",
                     "{\"format\": \"gst-heatmap.heatmap\", "
                     "\"version\": 1, \"width\": 32, \"height\": 18, "
                     "\"frames_processed\": 0}");
  Clip deep = make_clip(prefix, 2025, 10, 20, 13, 10, 250, 10.0, size, 3);
  g_bucket->put_data(deep.stem + "_heatmap.json", std::string(100000, '['));
  Clip wrong_size = make_clip(prefix, 2025, 10, 20, 13, 15, 250, 10.0, size, 4);
  std::string png = g_tmp + "/other.png", error;
  g_assert_true(heatmap::write_counts_png(png, cv::Mat::zeros(5, 5, CV_16UC1), &error));
  g_bucket->put_file(wrong_size.stem + "_heatmap.png", png);
  agg::RollupStats st = run(prefix, {*ru::parse_period("2025-10-20T13")});
  g_assert_cmpuint(st.written, ==, 1);
  Json j(get(prefix + "2025/10/20/13/hour_heatmap.json"));
  g_assert_cmpuint(json_array_get_length(j.arr("sources")), ==, 1);
  g_assert_cmpuint(json_array_get_length(j.arr("skipped")), ==, 3);
  cv::Mat hour = get_png(prefix + "2025/10/20/13/hour_heatmap.png");
  for (int y = 0; y < size.height; ++y)
    for (int x = 0; x < size.width; ++x)
      g_assert_cmpuint(hour.at<std::uint16_t>(y, x), ==,
                       (2 * 65535ull * good.counts.at<std::uint16_t>(y, x) + 250) / 500);
}

// A zone sample placed by offset_s outside its clip is refused in one line; found by fuzzing,
// where an offset of -1e300 put the sample's time past any int64 second.
void test_offset_outside_clip() {
  auto sidecar = [](const char *offset) {
    return std::string("{\"format\": \"gst-heatmap.heatmap\", \"version\": 1, ") +
           "\"duration_s\": 10, \"frames_processed\": 250, \"width\": 4, \"height\": 4, " +
           "\"zones\": [{\"name\": \"door\", \"polygon\": [[0,0],[1,0],[1,1]], " +
           "\"series\": [{\"offset_s\": " + offset + ", \"activity\": 0.5}]}]}";
  };
  agg::Source in = agg::parse_sidecar(sidecar("9.5"), "a.json", 1760965500.0);
  g_assert_cmpfloat(in.zones.at(0).series.at(0).start, ==, 1760965509.5);
  for (const char *bad : {"-1e300", "1e300", "11.5"}) {
    try {
      agg::parse_sidecar(sidecar(bad), "a.json", 1760965500.0);
      g_assert_not_reached();
    } catch (const agg::InputError &e) {
      std::string what = e.what();
      g_assert_true(what.rfind("a.json: a zone sample's offset_s ", 0) == 0);
      g_assert_cmpuint(what.size(), <, 120);
    }
  }
}

// compare A B: deltas B - A; swapping A and B flips every sign.
void test_compare_sign_flip() {
  std::string prefix = fresh_prefix();
  cv::Size size(32, 18);
  std::vector<Clip> clips = {
      make_clip(prefix, 2025, 10, 20, 13, 0, 250, 10.0, size, 1, true, true),
      make_clip(prefix, 2025, 10, 21, 13, 0, 250, 30.0, size, 2, true, true)};
  run(prefix, touched(prefix, clips));
  std::string a = g_bucket_url + "/" + prefix + "2025/10/20/day_heatmap.json";
  std::string b = g_bucket_url + "/" + prefix + "2025/10/21/day_heatmap";
  agg::Options o = quiet_options();
  s3::Config config = s3::Config::from_environment();
  agg::compare(a, b, g_tmp + "/ab", config, o);
  agg::compare(b, a, g_tmp + "/ba", config, o);
  gchar *ab_text = nullptr, *ba_text = nullptr;
  g_assert_true(g_file_get_contents((g_tmp + "/ab.json").c_str(), &ab_text, nullptr, nullptr));
  g_assert_true(g_file_get_contents((g_tmp + "/ba.json").c_str(), &ba_text, nullptr, nullptr));
  Json ab(ab_text), ba(ba_text);
  g_free(ab_text);
  g_free(ba_text);
  double d = ab.num("mean_occupancy_delta");
  g_assert_cmpfloat(d, !=, 0.0);
  g_assert_cmpfloat(ba.num("mean_occupancy_delta"), ==, -d);
  g_assert_cmpfloat(ba.num("max_increase"), ==, -ab.num("max_decrease"));
  g_assert_cmpfloat(ba.num("max_decrease"), ==, -ab.num("max_increase"));
  JsonObject *za = json_array_get_object_element(ab.arr("zones"), 0);
  JsonObject *zb = json_array_get_object_element(ba.arr("zones"), 0);
  assert_str(json_object_get_string_member(za, "name"), "door");
  double active_a = json_object_get_double_member(za, "delta_active_share");
  g_assert_cmpfloat(active_a, !=, 0.0);
  g_assert_cmpfloat(json_object_get_double_member(zb, "delta_active_share"), ==, -active_a);
  g_assert_cmpfloat(json_object_get_double_member(zb, "delta_mean_activity"), ==,
                    -json_object_get_double_member(za, "delta_mean_activity"));
  // Means: B - A from the maps themselves.
  double mean_a =
      json_object_get_double_member(json_object_get_object_member(ab.root, "a"), "mean_occupancy");
  double mean_b =
      json_object_get_double_member(json_object_get_object_member(ab.root, "b"), "mean_occupancy");
  g_assert_cmpfloat_with_epsilon(d, mean_b - mean_a, 1e-8);
  g_assert_true(g_file_test((g_tmp + "/ab.jpg").c_str(), G_FILE_TEST_IS_REGULAR));
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  gchar *tmp = g_dir_make_tmp("test-aggregate-XXXXXX", nullptr);
  g_tmp = tmp;
  g_free(tmp);
  const char *buckets = g_getenv("S3_TEST_BUCKETS");
  if (buckets != nullptr && *buckets != '\0') {
    std::string name = buckets;
    name = name.substr(0, name.find(' '));
    g_bucket_url = "s3://" + name;
  } else {
    g_mkdir_with_parents((g_tmp + "/bucket").c_str(), 0700);
    g_bucket_url = "file://" + g_tmp + "/bucket";
  }
  g_bucket = s3::open_bucket(s3::Url::parse_bucket(g_bucket_url), s3::Config::from_environment());
  g_test_message("bucket: %s", g_bucket_url.c_str());
  g_test_add_func("/aggregate/layout-periods", test_layout_periods);
  g_test_add_func("/aggregate/pending-ignores-rollups", test_pending_ignores_rollups);
  g_test_add_func("/aggregate/hour-exact-sums", test_hour_exact_sums);
  g_test_add_func("/aggregate/day-week-month-sums", test_day_week_month_sums);
  g_test_add_func("/aggregate/coverage", test_coverage);
  g_test_add_func("/aggregate/zones-merge", test_zones_merge);
  g_test_add_func("/aggregate/incremental", test_incremental);
  g_test_add_func("/aggregate/mixed-resolutions", test_mixed_resolutions);
  g_test_add_func("/aggregate/bad-sources", test_bad_sources);
  g_test_add_func("/aggregate/offset-outside-clip", test_offset_outside_clip);
  g_test_add_func("/aggregate/compare-sign-flip", test_compare_sign_flip);
  int rc = g_test_run();
  g_bucket.reset();
  std::string cmd = "rm -rf '" + g_tmp + "'";
  if (std::system(cmd.c_str()) != 0)
    rc = 1;
  return rc;
}
