// test-heatmap-places.cpp: unit tests of the GObject-free mask, zones, sidecar and CSV code.
#include "accumulator.h"
#include "json-text.h"
#include "mask.h"
#include "sidecar.h"
#include "zones.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <opencv2/imgproc.hpp>
#include <png.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

// g_assert_cmpstr keeps only the pointer, which dangles for a temporary std::string.
#define assert_str(a, b)                           \
  do {                                             \
    const std::string s1_ = (a), s2_ = (b);        \
    g_assert_cmpstr(s1_.c_str(), ==, s2_.c_str()); \
  } while (0)

std::string temp_dir() {
  gchar *dir = g_dir_make_tmp("places-XXXXXX", nullptr);
  g_assert_nonnull(dir);
  std::string d(dir);
  g_free(dir);
  return d;
}

void write_file(const std::string &path, const std::string &text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A PNG of `image` (8-bit grey or BGR), written with libpng's simplified API.
std::string png_bytes(const cv::Mat &image) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.cols);
  png.height = static_cast<png_uint_32>(image.rows);
  png.format = image.channels() == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_BGR;
  png_alloc_size_t size = 0;
  g_assert_true(png_image_write_to_memory(&png, nullptr, &size, 0, image.data,
                                          static_cast<png_int_32>(image.step), nullptr));
  std::string bytes(size, '\0');
  g_assert_true(png_image_write_to_memory(&png, bytes.data(), &size, 0, image.data,
                                          static_cast<png_int_32>(image.step), nullptr));
  bytes.resize(size);
  return bytes;
}

const char kTwoZones[] =
    R"({"zones": [{"name": "A", "polygon": [[0,0],[0.5,0],[0.5,1],[0,1]]},
                  {"name": "B", "polygon": [[0.5,0],[1,0],[1,1],[0.5,1]]}]})";

// ---- zone files ----

void expect_zone_error(const std::string &text, const char *needle) {
  std::vector<heatmap::Zone> zones;
  std::string error;
  g_assert_false(heatmap::parse_zones(text, "zones.json", &zones, &error));
  if (error.find(needle) == std::string::npos || error.rfind("zones.json: ", 0) != 0 ||
      error.find('\n') != std::string::npos) {
    g_error("zone error for %s is \"%s\", wanted one line with \"%s\"", text.c_str(), error.c_str(),
            needle);
  }
}

void test_zone_file_errors() {
  std::vector<heatmap::Zone> zones;
  std::string error;
  g_assert_true(heatmap::parse_zones(kTwoZones, "zones.json", &zones, &error));
  g_assert_cmpuint(zones.size(), ==, 2);
  assert_str(zones[1].name.c_str(), "B");
  g_assert_cmpfloat(zones[1].points[2].x, ==, 1.0);

  expect_zone_error("{\"zones\": [", "not valid JSON");
  expect_zone_error("[1,2]", "top level is not a JSON object");
  expect_zone_error("{}", "no \"zones\" array");
  expect_zone_error("{\"zones\": {}}", "not an array");
  expect_zone_error("{\"zones\": []}", "is empty");
  expect_zone_error(R"({"zones": [{"name": "a", "polygon": [[0,0],[1,1]]}]})",
                    "2 points, a polygon needs at least 3");
  expect_zone_error(R"({"zones": [{"name": "a", "polygon": [[0,0],[1,1],[1.5,0]]}]})",
                    "coordinate 1.5 is out of range");
  expect_zone_error(R"({"zones": [{"name": "a", "polygon": [[0,0],[1,1],[0,-0.1]]}]})",
                    "out of range");
  expect_zone_error(R"({"zones": [{"name": "a", "polygon": [[0,0],[1,1],[0,"1"]]}]})",
                    "not a number");
  expect_zone_error(R"({"zones": [{"name": "a", "polygon": [[0,0],[1,1],[0]]}]})",
                    "1 coordinates instead of 2");
  expect_zone_error(R"({"zones": [{"polygon": [[0,0],[1,1],[0,1]]}]})", "has no \"name\"");
  expect_zone_error(R"({"zones": [{"name": "", "polygon": [[0,0],[1,1],[0,1]]}]})",
                    "name is empty");
  expect_zone_error(R"J({"zones": [{"name": "=HYPERLINK(1)", "polygon": [[0,0],[1,1],[0,1]]}]})J",
                    "formula");
  expect_zone_error(R"({"zones": [{"name": "a\nb", "polygon": [[0,0],[1,1],[0,1]]}]})",
                    "control character");
  expect_zone_error(R"({"zones": [{"name": "a", "polygon": [[0,0],[1,1],[0,1]]},
                                  {"name": "a", "polygon": [[0,0],[1,1],[1,0]]}]})",
                    "duplicate name \"a\"");
  expect_zone_error(R"({"zones": [{"name": "a"}]})", "no \"polygon\" array");

  // Reading a file: its path starts the error; a missing file is named too.
  const std::string dir = temp_dir();
  const std::string path = dir + "/z.json";
  write_file(path, "{\"zones\": [{\"name\": 1}]}");
  g_assert_false(heatmap::load_zones(path, &zones, &error));
  g_assert_true(error.rfind(path + ": ", 0) == 0);
  g_assert_false(heatmap::load_zones(dir + "/missing.json", &zones, &error));
  g_assert_true(error.find("missing.json: cannot open") != std::string::npos);
  // A FIFO is refused at once instead of waiting for a writer (the test would hang); a
  // folder and a mask path that is a FIFO too.
  const std::string fifo = dir + "/fifo.json";
  g_assert_cmpint(mkfifo(fifo.c_str(), 0600), ==, 0);
  g_assert_false(heatmap::load_zones(fifo, &zones, &error));
  g_assert_true(error.find("fifo.json: is not a regular file") != std::string::npos);
  heatmap::Mask mask;
  g_assert_false(heatmap::Mask::load(fifo, &mask, &error));
  g_assert_true(error.find("fifo.json: is not a regular file") != std::string::npos);
  g_remove(fifo.c_str());
  g_assert_false(heatmap::load_zones(dir, &zones, &error));
  g_assert_true(error.find(": is a folder, not a file") != std::string::npos);
  std::string sha;
  write_file(path, kTwoZones);
  g_assert_true(heatmap::load_zones(path, &zones, &error, &sha));
  assert_str(sha.c_str(), heatmap::sha256_hex(kTwoZones).c_str());
  g_remove(path.c_str());
  g_rmdir(dir.c_str());
}

// ---- rasters ----

void test_polygon_raster_covers_pixel_centres() {
  // The left half of a 10x4 picture is exactly pixel columns 0..4.
  cv::Mat raster(4, 10, CV_8UC1, cv::Scalar(0));
  heatmap::fill_polygon(raster, {{0, 0}, {0.5, 0}, {0.5, 1}, {0, 1}}, 255);
  g_assert_cmpint(cv::countNonZero(raster), ==, 20);
  g_assert_cmpint(cv::countNonZero(raster.colRange(0, 5)), ==, 20);
  // A full-picture polygon covers everything.
  raster.setTo(0);
  heatmap::fill_polygon(raster, {{0, 0}, {1, 0}, {1, 1}, {0, 1}}, 255);
  g_assert_cmpint(cv::countNonZero(raster), ==, 40);
}

// ---- the zone meter ----

void test_zone_meter_series() {
  std::vector<heatmap::Zone> zones;
  std::string error;
  g_assert_true(heatmap::parse_zones(kTwoZones, "z", &zones, &error));
  heatmap::ZoneMeter meter(zones, 1.0, 0.05);
  cv::Mat motion(10, 20, CV_8UC1, cv::Scalar(0));
  // 10 frames per second for 3 s; in second 1 a 5x10 block moves inside A (half of A's 100 px)
  // in half of the frames.
  for (int f = 0; f < 30; ++f) {
    motion.setTo(0);
    if (f >= 10 && f < 20 && f % 2 == 0)
      motion(cv::Rect(0, 0, 5, 10)).setTo(255);
    meter.add(f * 0.1, motion, cv::Mat());
  }
  auto results = meter.results(3.0);
  g_assert_cmpuint(results.size(), ==, 2);
  const auto &a = results[0], &b = results[1];
  g_assert_cmpint(a.pixels, ==, 100);
  g_assert_cmpuint(a.series.size(), ==, 3);
  g_assert_cmpfloat_with_epsilon(a.series[1].activity, 0.25, 1e-12);
  g_assert_cmpfloat_with_epsilon(a.series[1].peak, 0.5, 1e-12);
  g_assert_true(a.series[1].active);
  g_assert_cmpuint(a.series[1].frames, ==, 10);
  g_assert_false(a.series[0].active);
  g_assert_cmpfloat(a.series[0].activity, ==, 0.0);
  g_assert_cmpfloat(a.series[2].activity, ==, 0.0);
  g_assert_cmpfloat_with_epsilon(a.active_seconds, 1.0, 1e-12);
  g_assert_cmpfloat_with_epsilon(a.mean_activity, 0.25 / 3, 1e-12);
  g_assert_cmpfloat_with_epsilon(a.peak, 0.5, 1e-12);
  for (const auto &interval : b.series)
    g_assert_cmpfloat(interval.activity, ==, 0.0);
  g_assert_cmpfloat(b.active_seconds, ==, 0.0);

  // Threshold above the activity: nothing is active.
  heatmap::ZoneMeter strict(zones, 1.0, 0.2);
  motion.setTo(0);
  motion(cv::Rect(0, 0, 1, 10)).setTo(255);  // 10% of A
  strict.add(0.0, motion, cv::Mat());
  g_assert_false(strict.results(0.04)[0].series[0].active);
  g_assert_cmpfloat_with_epsilon(strict.results(0.04)[0].series[0].duration_s, 0.04, 1e-12);

  // A gap (no frames in second 1) and a partial last interval.
  heatmap::ZoneMeter gap(zones, 1.0, 0.0);
  motion.setTo(255);
  gap.add(0.5, motion, cv::Mat());
  gap.add(2.2, motion, cv::Mat());
  auto g = gap.results(2.5);
  g_assert_cmpuint(g[0].series.size(), ==, 3);
  g_assert_cmpuint(g[0].series[1].frames, ==, 0);
  g_assert_false(g[0].series[1].active);
  g_assert_cmpfloat_with_epsilon(g[0].series[2].duration_s, 0.5, 1e-12);
  g_assert_cmpfloat_with_epsilon(g[0].active_seconds, 1.5, 1e-12);
}

void test_zone_meter_respects_mask() {
  std::vector<heatmap::Zone> zones;
  std::string error;
  g_assert_true(heatmap::parse_zones(kTwoZones, "z", &zones, &error));
  heatmap::ZoneMeter meter(zones, 1.0, 0.01);
  cv::Mat counted(10, 20, CV_8UC1, cv::Scalar(255));
  counted(cv::Rect(0, 0, 5, 10)).setTo(0);  // half of A masked
  cv::Mat motion(10, 20, CV_8UC1, cv::Scalar(0));
  motion(cv::Rect(5, 0, 5, 10)).setTo(255);  // the other half of A moves
  meter.add(0, motion, counted);
  auto r = meter.results(0.1);
  g_assert_cmpint(r[0].pixels, ==, 50);
  g_assert_cmpfloat(r[0].series[0].activity, ==, 1.0);
  g_assert_cmpint(r[1].pixels, ==, 100);
}

// ---- masks ----

void test_mask_png_any_size() {
  const std::string dir = temp_dir();
  // 400x200 PNG: left quarter black (ignored).
  cv::Mat image(200, 400, CV_8UC1, cv::Scalar(255));
  image(cv::Rect(0, 0, 100, 200)).setTo(0);
  write_file(dir + "/mask.png", png_bytes(image));
  heatmap::Mask mask;
  std::string error;
  g_assert_true(heatmap::Mask::load(dir + "/mask.png", &mask, &error));
  g_assert_false(mask.empty());
  cv::Mat r = mask.raster(cv::Size(40, 20));
  g_assert_cmpint(cv::countNonZero(r), ==, 30 * 20);
  g_assert_cmpint(cv::countNonZero(r.colRange(0, 10)), ==, 0);
  assert_str(mask.sha256().c_str(), heatmap::sha256_hex(png_bytes(image)).c_str());
  // Colour PNG, upscaled.
  cv::Mat colour(2, 4, CV_8UC3, cv::Scalar(255, 255, 255));
  colour.col(0).setTo(cv::Scalar(0, 0, 0));
  write_file(dir + "/colour.png", png_bytes(colour));
  g_assert_true(heatmap::Mask::load(dir + "/colour.png", &mask, &error));
  g_assert_cmpint(cv::countNonZero(mask.raster(cv::Size(40, 20)).colRange(0, 9)), ==, 0);

  // Errors: all black, truncated PNG, neither PNG nor JSON, missing file.
  write_file(dir + "/black.png", png_bytes(cv::Mat(8, 8, CV_8UC1, cv::Scalar(0))));
  g_assert_false(heatmap::Mask::load(dir + "/black.png", &mask, &error));
  g_assert_true(error.find("black.png: the mask is black everywhere") != std::string::npos);
  std::string truncated = png_bytes(image).substr(0, 60);
  write_file(dir + "/cut.png", truncated);
  g_assert_false(heatmap::Mask::load(dir + "/cut.png", &mask, &error));
  g_assert_true(error.find("cut.png: not a readable PNG") != std::string::npos);
  write_file(dir + "/text.png", "hello");
  g_assert_false(heatmap::Mask::load(dir + "/text.png", &mask, &error));
  g_assert_true(error.find("neither a PNG image nor a JSON") != std::string::npos);
  g_assert_false(heatmap::Mask::load(dir + "/none.png", &mask, &error));
  g_assert_true(error.find("none.png: cannot open") != std::string::npos);
  for (const char *f : {"mask.png", "colour.png", "black.png", "cut.png", "text.png"})
    g_remove((dir + "/" + f).c_str());
  g_rmdir(dir.c_str());
}

void test_mask_json_polygons() {
  heatmap::Mask mask;
  std::string error;
  g_assert_true(heatmap::Mask::from_bytes(
      R"({"exclude": [{"name": "tv", "polygon": [[0.5,0],[1,0],[1,1],[0.5,1]]}]})", "m.json", &mask,
      &error));
  cv::Mat r = mask.raster(cv::Size(10, 4));
  g_assert_cmpint(cv::countNonZero(r), ==, 20);
  g_assert_cmpint(cv::countNonZero(r.colRange(0, 5)), ==, 20);
  g_assert_true(heatmap::Mask::from_bytes(
      R"({"include": [{"polygon": [[0,0],[0.5,0],[0.5,1],[0,1]]}],
          "exclude": [{"polygon": [[0,0],[0.5,0],[0.5,0.5],[0,0.5]]}]})",
      "m.json", &mask, &error));
  r = mask.raster(cv::Size(10, 4));
  g_assert_cmpint(cv::countNonZero(r), ==, 10);
  g_assert_cmpint(cv::countNonZero(r(cv::Rect(0, 2, 5, 2))), ==, 10);

  g_assert_false(heatmap::Mask::from_bytes("{}", "m.json", &mask, &error));
  g_assert_true(error.find("m.json: no \"include\" or \"exclude\"") == 0);
  g_assert_false(heatmap::Mask::from_bytes(
      R"({"exclude": [{"polygon": [[0,0],[1,0],[1,1],[0,1]]}]})", "m.json", &mask, &error));
  g_assert_true(error.find("leave nothing to count") != std::string::npos);
  g_assert_false(heatmap::Mask::from_bytes(R"({"exclude": [{"polygon": [[0,0],[2,0],[1,1]]}]})",
                                           "m.json", &mask, &error));
  g_assert_true(error.find("out of range") != std::string::npos);
  g_assert_false(heatmap::Mask::from_bytes("{\"exclude\": [}", "m.json", &mask, &error));
  g_assert_true(error.find("m.json: not valid JSON") == 0);
}

void test_shade_masked() {
  cv::Mat bgr(2, 2, CV_8UC3, cv::Scalar(0, 0, 255));
  cv::Mat counted(2, 2, CV_8UC1, cv::Scalar(255));
  counted.at<std::uint8_t>(0, 0) = 0;
  heatmap::shade_masked(bgr, counted);
  const cv::Vec3b grey = bgr.at<cv::Vec3b>(0, 0);
  g_assert_cmpint(grey[0], ==, grey[2]);
  g_assert_cmpint(grey[1], ==, grey[2]);
  g_assert_cmpint(bgr.at<cv::Vec3b>(1, 1)[2], ==, 255);
}

// ---- times and names ----

void test_times_and_names() {
  auto t = heatmap::clip_start_from_name(
      "s3://bucket/raw_videos/2025/10/20/13/clip_2025-10-20_13-05-07.mp4?x=1");
  g_assert_true(t.has_value());
  assert_str(heatmap::format_utc(*t).c_str(), "2025-10-20T13:05:07Z");
  g_assert_true(heatmap::clip_start_from_name("/x/clip_2024-02-29_23-59-59_heatmap.jpg"));
  g_assert_false(heatmap::clip_start_from_name("/x/clip_2025-02-29_10-00-00.mp4"));
  g_assert_false(heatmap::clip_start_from_name("/x/clip_2025-10-20_24-00-00.mp4"));
  g_assert_false(heatmap::clip_start_from_name("/x/clip_2025-10-20_13-05-070.mp4"));
  g_assert_false(heatmap::clip_start_from_name("/clip_2025-10-20_13-05/x.mp4"));
  g_assert_false(heatmap::clip_start_from_name("video.mp4"));
  assert_str(heatmap::format_utc(*t + 250000).c_str(), "2025-10-20T13:05:07.250Z");
  std::int64_t us = 0;
  g_assert_true(heatmap::parse_utc("2025-10-20T13:05:07.25Z", &us));
  g_assert_cmpint(us, ==, *t + 250000);
  g_assert_false(heatmap::parse_utc("2025-10-20 13:05:07Z", &us));
  g_assert_false(heatmap::parse_utc("2025-10-20T13:05:07+01:00", &us));
  g_assert_false(heatmap::parse_utc("2025-13-20T13:05:07Z", &us));
  assert_str(heatmap::sanitize_source("s3://AKIA:secret@host:9000/b/k.mp4?sig=1#f").c_str(),
             "s3://host:9000/b/k.mp4");
  assert_str(heatmap::sanitize_source("https://host/b/a@b.mp4").c_str(), "https://host/b/a@b.mp4");
  assert_str(heatmap::sanitize_source("/local/clip.mp4").c_str(), "/local/clip.mp4");
}

// ---- sidecar and CSV ----

heatmap::Sidecar sample_sidecar() {
  std::vector<heatmap::Zone> zones;
  std::string error;
  g_assert_true(heatmap::parse_zones(kTwoZones, "z", &zones, &error));
  heatmap::ZoneMeter meter(zones, 1.0, 0.05);
  cv::Mat motion(10, 20, CV_8UC1, cv::Scalar(0));
  motion(cv::Rect(0, 0, 5, 10)).setTo(255);
  meter.add(0.0, motion, cv::Mat());
  meter.add(1.5, cv::Mat(10, 20, CV_8UC1, cv::Scalar(0)), cv::Mat());
  heatmap::Sidecar s;
  s.source = "/videos/clip_2025-10-20_13-05-00.mp4";
  s.start_utc_us = heatmap::clip_start_from_name(*s.source);
  s.start_utc_source = "clip-name";
  s.duration_s = 1.75;
  s.frames_seen = 2;
  s.frames_processed = 2;
  s.fps = 25.0;
  s.width = 20;
  s.height = 10;
  s.zone_threshold = 0.05;
  s.zones = meter.results(1.75);
  s.files.jpeg = "h.jpg";
  s.files.png = "h.png";
  s.files.csv = "h.csv";
  s.stats.max_count = 1;
  s.stats.motion_coverage = 0.25;
  s.stats.lighting_events = 0;
  return s;
}

void test_sidecar_round_trip() {
  heatmap::Sidecar s = sample_sidecar();
  s.zones[0].zone.name = "entrance, \"main\"";
  s.stats_extra["accuracy"] = "0.5";
  s.extra["camera"] = "{\"id\":\"cam1\"}";
  const std::string json = heatmap::sidecar_to_json(s);
  g_assert_true(json.find("\"end_utc\" : \"2025-10-20T13:05:01.750Z\"") != std::string::npos);
  g_assert_true(json.find("\"time_utc\" : \"2025-10-20T13:05:01Z\"") != std::string::npos);
  heatmap::Sidecar back;
  std::string error;
  if (!heatmap::parse_sidecar(json, "x.json", &back, &error))
    g_error("%s", error.c_str());
  assert_str(back.source->c_str(), s.source->c_str());
  g_assert_cmpint(*back.start_utc_us, ==, *s.start_utc_us);
  g_assert_cmpuint(back.zones.size(), ==, 2);
  assert_str(back.zones[0].zone.name.c_str(), "entrance, \"main\"");
  g_assert_cmpuint(back.zones[0].series.size(), ==, 2);
  g_assert_cmpfloat(back.zones[0].series[0].activity, ==, 0.5);
  g_assert_cmpfloat(back.zones[0].series[1].duration_s, ==, 0.75);
  assert_str(back.stats_extra["accuracy"].c_str(), "0.5");
  g_assert_true(back.extra.count("camera") == 1);
  assert_str(heatmap::sidecar_to_json(back).c_str(), json.c_str());

  // Broken sidecars are refused with one line naming the label and the key.
  auto expect = [](const std::string &text, const char *needle) {
    heatmap::Sidecar out;
    std::string err;
    g_assert_false(heatmap::parse_sidecar(text, "x.json", &out, &err));
    if (err.rfind("x.json: ", 0) != 0 || err.find(needle) == std::string::npos)
      g_error("\"%s\" lacks \"%s\"", err.c_str(), needle);
  };
  expect("{", "not valid JSON");
  expect("{\"format\": \"x\", \"version\": 1}", "not a gst-heatmap sidecar");
  std::string v2 = json;
  v2.replace(v2.find("\"version\" : 1"), 13, "\"version\" : 2");
  expect(v2, "version 2 is not supported");
  std::string no_frames = json;
  no_frames.replace(no_frames.find("\"frames_processed\""), 18, "\"frames_processedX\"");
  expect(no_frames, "frames_processed is missing");
  std::string bad_time = json;
  bad_time.replace(bad_time.find("2025-10-20T13:05:00Z"), 20, "2025-10-20 13:05:00Z");
  expect(bad_time, "start_utc is not a UTC time");

  // (hard-ci) Hostile sidecars, as a bucket may hold them (tests/fuzz/fuzz-sidecar.cpp).
  auto edit = [&json](const std::string &from, const std::string &to) {
    std::string t = json;
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  heatmap::Sidecar out;
  std::string err;
  g_assert_false(heatmap::parse_sidecar(edit("\"clip\"", "\"clip\n"), "x.json", &out, &err));
  if (err.rfind("x.json: not valid JSON: ", 0) != 0 || err.find('\n') != std::string::npos)
    g_error("not one line: \"%s\"", err.c_str());
  expect(edit("\"entrance, \\\"main\\\"\"", "\"=HYPERLINK(1)\""),
         "zones[0].name is not a valid zone name");
  expect(edit("\"polygon\" : [", "\"polygon\" : [[\"a\", 0], "), "coordinate that is not a number");
  expect(edit("\"polygon\" : [", "\"polygon\" : [[2, 0], "), "coordinate outside 0..1");
  // A duration or offset past year 9999 gives null times, not an overflow.
  heatmap::Sidecar far = s;
  far.duration_s = 1e300;
  far.zones[0].series[0].offset_s = -1e18;
  const std::string far_json = heatmap::sidecar_to_json(far);
  g_assert_true(far_json.find("\"end_utc\" : null") != std::string::npos);
  g_assert_true(far_json.find("\"time_utc\" : null") != std::string::npos);
}

// Splits one CSV line (RFC 4180 quoting) into fields.
std::vector<std::string> csv_fields(const std::string &line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

// Sidecar numbers read as people write them (json-glib alone prints 1.6000000000000001), and
// still read back to the very same doubles.
static void test_json_numbers() {
  auto shortest = [](double v, const char *want) {
    const std::string got = heatmap::shortest_double(v);
    g_assert_cmpstr(got.c_str(), ==, want);
  };
  shortest(1.6, "1.6");
  shortest(25.0, "25.0");
  shortest(10.0, "10.0");  // whole numbers keep their digits: not "1e+01"
  shortest(1500.0, "1500.0");
  shortest(-3600.0, "-3600.0");
  shortest(0.0, "0.0");
  shortest(1e20, "1e+20");
  shortest(0.1 + 0.2, "0.30000000000000004");
  shortest(-2.5e-7, "-2.5e-07");
  shortest(1e300, "1e+300");
  std::srand(7);
  for (int i = 0; i < 10000; ++i) {
    double v = (std::rand() - RAND_MAX / 2.0) / (1.0 + std::rand() % 100000) *
               std::pow(10.0, std::rand() % 40 - 20);
    g_assert_cmpfloat(g_ascii_strtod(heatmap::shortest_double(v).c_str(), nullptr), ==, v);
  }
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "d");
  json_builder_add_double_value(b, 1.6);
  json_builder_set_member_name(b, "i");
  json_builder_add_int_value(b, -16);
  json_builder_set_member_name(b, "s \"1.6000000000000001\"");
  json_builder_add_string_value(b, "0.1000000000000000055 \\\" 2.50");
  json_builder_set_member_name(b, "a");
  json_builder_begin_array(b);
  json_builder_add_double_value(b, 0.25);
  json_builder_add_double_value(b, 1e-9);
  json_builder_end_array(b);
  json_builder_end_object(b);
  JsonNode *root = json_builder_get_root(b);
  const std::string text = heatmap::json_text(root, false);
  g_assert_cmpstr(text.c_str(), ==,
                  "{\"d\":1.6,\"i\":-16,\"s \\\"1.6000000000000001\\\"\":"
                  "\"0.1000000000000000055 \\\\\\\" 2.50\",\"a\":[0.25,1e-09]}");
  json_node_unref(root);
  g_object_unref(b);
}

void test_zones_csv() {
  heatmap::Sidecar s = sample_sidecar();
  s.zones[1].zone.name = "aisle, 3";
  const std::string csv = heatmap::zones_csv(s);
  std::vector<std::string> lines;
  std::size_t start = 0, end;
  while ((end = csv.find("\r\n", start)) != std::string::npos) {
    lines.push_back(csv.substr(start, end - start));
    start = end + 2;
  }
  g_assert_cmpuint(start, ==, csv.size());
  assert_str(lines[0].c_str(), "time_utc,zone,activity,peak,active,offset_s,duration_s,frames");
  g_assert_cmpuint(lines.size(), ==, 1 + 2 * 2);
  auto row = csv_fields(lines[1]);
  g_assert_cmpuint(row.size(), ==, 8);
  assert_str(row[0].c_str(), "2025-10-20T13:05:00Z");
  assert_str(row[1].c_str(), "A");
  g_assert_cmpfloat(std::stod(row[2]), ==, 0.5);
  assert_str(row[4].c_str(), "1");
  row = csv_fields(lines[2]);
  assert_str(row[1].c_str(), "aisle, 3");
  row = csv_fields(lines[3]);
  assert_str(row[0].c_str(), "2025-10-20T13:05:01Z");
  g_assert_cmpfloat(std::stod(row[6]), ==, 0.75);
  // Without a start time, time_utc is empty.
  s.start_utc_us.reset();
  g_assert_true(heatmap::zones_csv(s).find("\r\n,A,") != std::string::npos);
}

void test_atomic_write_errors() {
  std::string error;
  g_assert_false(heatmap::write_sidecar("/nonexistent-dir/x.json", sample_sidecar(), &error));
  g_assert_true(error.find("/nonexistent-dir/x.json") != std::string::npos);
  const std::string dir = temp_dir();
  g_assert_true(heatmap::write_sidecar(dir + "/x.json", sample_sidecar(), &error));
  heatmap::Sidecar back;
  g_assert_true(heatmap::parse_sidecar(read_file(dir + "/x.json"), "x", &back, &error));
  g_remove((dir + "/x.json").c_str());
  g_rmdir(dir.c_str());  // fails if a temporary file was left behind
  g_assert_false(g_file_test(dir.c_str(), G_FILE_TEST_EXISTS));
}

// ---- the accumulator with a mask and a motion observer ----

// A textured scene with a bright square sweeping left to right across the whole picture and a
// noisy "TV" (new random pixels every frame) in the top-right quarter.
cv::Mat sweep_frame(const cv::Mat &scene, int f, int frames, cv::RNG &rng) {
  cv::Mat frame = scene.clone();
  const int side = scene.rows / 4;
  const int x = (scene.cols - side) * f / (frames - 1);
  frame(cv::Rect(x, scene.rows / 2, side, side)).setTo(cv::Scalar(250, 250, 250));
  cv::Mat tv = frame(cv::Rect(scene.cols * 3 / 4, 0, scene.cols / 4, scene.rows / 4));
  rng.fill(tv, cv::RNG::UNIFORM, 0, 256);
  return frame;
}

cv::Mat textured(cv::Size size) {
  cv::RNG rng(7);
  cv::Mat coarse(size.height / 8 + 1, size.width / 8 + 1, CV_8UC3);
  rng.fill(coarse, cv::RNG::UNIFORM, 40, 200);
  cv::Mat scene;
  cv::resize(coarse, scene, size, 0, 0, cv::INTER_CUBIC);
  return scene;
}

void test_masked_pixels_never_count() {
  const cv::Size size(320, 240);
  const cv::Mat scene = textured(size);
  heatmap::Mask mask;
  std::string error;
  // The right half is masked: the sweeping square crosses it, the TV is inside it.
  g_assert_true(heatmap::Mask::from_bytes(
      R"({"exclude": [{"name": "right", "polygon": [[0.5,0],[1,0],[1,1],[0.5,1]]}]})", "m", &mask,
      &error));
  for (bool threaded : {false, true}) {
    heatmap::Settings settings;
    settings.downscale = 0.5;
    settings.threaded = threaded;
    heatmap::Accumulator masked(settings), plain(settings);
    masked.set_mask(mask);
    std::vector<std::int64_t> tags;
    cv::Mat observed(size.height / 2, size.width / 2, CV_16UC1, cv::Scalar(0));
    masked.set_motion_observer([&](std::int64_t tag, const cv::Mat &motion) {
      tags.push_back(tag);
      g_assert_true(motion.size() == observed.size());
      cv::add(observed, motion / 255, observed, cv::noArray(), CV_16U);
    });
    cv::RNG rng_a(1), rng_b(1);
    const int frames = 60;
    for (int f = 0; f < frames; ++f) {
      masked.add_frame(sweep_frame(scene, f, frames, rng_a), 1000 + f);
      plain.add_frame(sweep_frame(scene, f, frames, rng_b));
    }
    const cv::Mat counts = masked.counts();
    const int half = counts.cols / 2;
    // Without the mask the right half is busy (square + TV); with it, exactly zero.
    g_assert_cmpint(cv::countNonZero(plain.counts().colRange(half, counts.cols)), >, 100);
    g_assert_cmpint(cv::countNonZero(counts.colRange(half, counts.cols)), ==, 0);
    g_assert_cmpint(cv::countNonZero(counts.colRange(0, half)), >, 100);
    g_assert_cmpint(cv::countNonZero(masked.mask().colRange(half, counts.cols)), ==, 0);
    g_assert_cmpint(cv::countNonZero(masked.mask().colRange(0, half)), ==, half * counts.rows);
    // The observer saw every frame, in order, and exactly the counted motion.
    g_assert_cmpuint(tags.size(), ==, frames);
    for (int f = 0; f < frames; ++f)
      g_assert_cmpint(tags[f], ==, 1000 + f);
    g_assert_cmpint(cv::norm(observed, counts, cv::NORM_INF), ==, 0);
    // The counts left of the mask equal the unmasked run's.
    g_assert_cmpint(
        cv::norm(counts.colRange(0, half), plain.counts().colRange(0, half), cv::NORM_INF), ==, 0);
  }
}

// The scene model's global estimates skip masked pixels: a big screen that pans its picture
// and flashes (a billboard, a revolving door) fools the camera and lighting handling without a
// mask, and changes nothing with it.
cv::Mat billboard_frame(const cv::Mat &scene, const cv::Mat &poster, int f) {
  cv::Mat frame = scene.clone();
  const int width = scene.cols * 11 / 20;
  cv::Mat shown = poster(cv::Rect((f * 3) % (poster.cols - width), 0, width, scene.rows)).clone();
  if ((f / 12) % 2 == 1) {
    shown.convertTo(shown, -1, 0.45, 0);  // the screen dims and flashes back
  }
  shown.copyTo(frame(cv::Rect(0, 0, width, scene.rows)));
  return frame;
}

void test_masked_pixels_stay_out_of_the_scene_model() {
  const cv::Size size(320, 240);
  const cv::Mat scene = textured(size);
  cv::Mat poster;
  cv::resize(textured(cv::Size(size.width / 2, size.height / 2)), poster,
             cv::Size(size.width * 4, size.height), 0, 0, cv::INTER_CUBIC);
  heatmap::Mask mask;
  std::string error;
  g_assert_true(heatmap::Mask::from_bytes(
      R"({"exclude": [{"name": "screen", "polygon": [[0,0],[0.6,0],[0.6,1],[0,1]]}]})", "m", &mask,
      &error));
  heatmap::Settings settings;
  settings.method = heatmap::Method::kScene;
  settings.downscale = 0.5;
  heatmap::Accumulator masked(settings), plain(settings);
  masked.set_mask(mask);
  for (int f = 0; f < 150; ++f) {
    const cv::Mat frame = billboard_frame(scene, poster, f);
    masked.add_frame(frame);
    plain.add_frame(frame);
  }
  const heatmap::Stats without = plain.stats(), with = masked.stats();
  g_test_message("without mask: %u lighting events, shift %.2f, moved %d; with: %u, %.2f, %d",
                 without.lighting_events, without.camera_shift, without.camera_moved,
                 with.lighting_events, with.camera_shift, with.camera_moved);
  // Without the mask the screen passes for the lights or the camera ...
  g_assert_true(without.lighting_events > 0 || without.camera_moved);
  // ... with it, nothing happened to the camera or the lights, and the screen never counts.
  g_assert_cmpuint(with.lighting_events, ==, 0);
  g_assert_false(with.camera_moved);
  g_assert_cmpfloat(with.camera_shift, <, 1.0);
  const cv::Mat counts = masked.counts();
  g_assert_cmpint(cv::countNonZero(counts.colRange(0, counts.cols * 6 / 10)), ==, 0);
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/places/zones/file-errors", test_zone_file_errors);
  g_test_add_func("/places/zones/raster-pixel-centres", test_polygon_raster_covers_pixel_centres);
  g_test_add_func("/places/zones/meter-series", test_zone_meter_series);
  g_test_add_func("/places/zones/meter-respects-mask", test_zone_meter_respects_mask);
  g_test_add_func("/places/mask/png-any-size", test_mask_png_any_size);
  g_test_add_func("/places/mask/json-polygons", test_mask_json_polygons);
  g_test_add_func("/places/mask/shade", test_shade_masked);
  g_test_add_func("/places/times-and-names", test_times_and_names);
  g_test_add_func("/places/sidecar/round-trip", test_sidecar_round_trip);
  g_test_add_func("/places/sidecar/csv", test_zones_csv);
  g_test_add_func("/places/sidecar/json-numbers", test_json_numbers);
  g_test_add_func("/places/sidecar/atomic-write", test_atomic_write_errors);
  g_test_add_func("/places/accumulator/masked-pixels-never-count", test_masked_pixels_never_count);
  g_test_add_func("/places/accumulator/masked-pixels-stay-out-of-the-scene-model",
                  test_masked_pixels_stay_out_of_the_scene_model);
  return g_test_run();
}
