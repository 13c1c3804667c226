// test-heatmap-places-element.cpp: the heatmap element's masks, zones, sidecar, CSV and scene
// (GstHarness and small real pipelines; the files are checked with the core's own readers and
// the sidecar against docs/metadata.schema.json with Debian's python3-jsonschema).
// C++ and OpenCV headers first: libcheck's macros (fail, ...) clash with names in <ios>.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "sidecar.h"

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include "gst-test-util.h"

namespace fs = std::filesystem;

namespace {

using test_util::read_file;
using test_util::TempDir;
using test_util::write_file;

constexpr int kWidth = 160, kHeight = 120, kFps = 10;

// Zone A: left third, zone B: right third; the middle third belongs to no zone.
const char kZones[] =
    R"({"zones": [{"name": "A", "polygon": [[0,0],[0.3333,0],[0.3333,1],[0,1]]},
                  {"name": "B", "polygon": [[0.6667,0],[1,0],[1,1],[0.6667,1]]}]})";

cv::Mat floor_texture() {
  cv::RNG rng(99);
  cv::Mat coarse(kHeight / 8 + 1, kWidth / 8 + 1, CV_8UC3);
  rng.fill(coarse, cv::RNG::UNIFORM, 50, 180);
  cv::Mat floor;
  cv::resize(coarse, floor, cv::Size(kWidth, kHeight), 0, 0, cv::INTER_CUBIC);
  return floor;
}

// The walker: a bright 14x14 block walking down the middle third for 2 s, through zone A from
// 2 s to 4 s, then down the middle third again until 6 s.
cv::Mat walker_frame(const cv::Mat &floor, int index, cv::RNG &rng) {
  cv::Mat frame = floor.clone();
  const double t = static_cast<double>(index) / kFps;
  const int step = index % 20;
  const int x = (t >= 2.0 && t < 4.0) ? 18 : 73;
  const int y = 5 + step * 5;
  frame(cv::Rect(x, y, 14, 14)).setTo(cv::Scalar(240, 240, 240));
  cv::Mat noise(frame.size(), CV_16SC3);
  rng.fill(noise, cv::RNG::NORMAL, 0, 1.5);
  cv::Mat wide;
  frame.convertTo(wide, CV_16SC3);
  wide += noise;
  wide.convertTo(frame, CV_8UC3);
  return frame;
}

GstBuffer *bgr_buffer(const cv::Mat &bgr, int index) {
  GstBuffer *buffer = gst_buffer_new_memdup(bgr.data, bgr.total() * bgr.elemSize());
  GST_BUFFER_PTS(buffer) = gst_util_uint64_scale(index, GST_SECOND, kFps);
  GST_BUFFER_DURATION(buffer) = GST_SECOND / kFps;
  return buffer;
}

struct Run {
  std::vector<GstMessage *> messages;
  ~Run() {
    for (GstMessage *m : messages)
      gst_message_unref(m);
  }
  const GstStructure *heatmap() const {
    for (GstMessage *m : messages)
      if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT &&
          gst_structure_has_name(gst_message_get_structure(m), "heatmap"))
        return gst_message_get_structure(m);
    return nullptr;
  }
  std::string error() const {
    for (GstMessage *m : messages)
      if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
        GError *e = NULL;
        gst_message_parse_error(m, &e, NULL);
        std::string text = e->message;
        g_error_free(e);
        return text;
      }
    return "";
  }
};

// Pushes `frames` frames made by `make` through one heatmap element set up by `setup`, then
// EOS; collects the bus messages.
template <typename Make>
void run_harness(Run *run, const std::vector<std::pair<std::string, std::string>> &props,
                 int frames, Make make) {
  // Properties first: the mask and zones files are read when the element starts.
  GstElement *element = gst_element_factory_make("heatmap", NULL);
  // GstHarness answers the latency query as a live source: these tests count every frame.
  gst_util_set_object_arg(G_OBJECT(element), "skip-frames", "never");
  for (const auto &[name, value] : props)
    gst_util_set_object_arg(G_OBJECT(element), name.c_str(), value.c_str());
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(element, bus);
  GstHarness *h = gst_harness_new_with_element(element, "sink", "src");
  gst_object_unref(element);
  gst_harness_set_src_caps_str(
      h, ("video/x-raw,format=BGR,width=" + std::to_string(kWidth) +
          ",height=" + std::to_string(kHeight) + ",framerate=" + std::to_string(kFps) + "/1")
             .c_str());
  for (int i = 0; i < frames; ++i) {
    const GstFlowReturn flow = gst_harness_push(h, bgr_buffer(make(i), i));
    if (flow != GST_FLOW_OK)
      break;
    gst_buffer_unref(gst_harness_pull(h));
  }
  gst_harness_push_event(h, gst_event_new_eos());
  while (GstMessage *m = gst_bus_pop(bus))
    run->messages.push_back(m);
  gst_element_set_bus(h->element, NULL);
  gst_object_unref(bus);
  gst_harness_teardown(h);
}

heatmap::Sidecar read_sidecar(const std::string &path) {
  heatmap::Sidecar s;
  std::string error;
  fail_unless(heatmap::parse_sidecar(read_file(path), path, &s, &error), "%s", error.c_str());
  return s;
}

// Validates a sidecar against docs/metadata.schema.json (tests/lib/validate-sidecar).
void expect_schema_valid(const std::string &path) {
  const gchar *root = g_getenv("SOURCE_ROOT");
  fail_unless(root != NULL, "SOURCE_ROOT is not set");
  const std::string validator = std::string(root) + "/tests/lib/validate-sidecar";
  const gchar *argv[] = {"/usr/bin/python3", validator.c_str(), path.c_str(), NULL};
  gchar *err = NULL;
  gint status = 0;
  fail_unless(g_spawn_sync(NULL, const_cast<gchar **>(argv), NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                           NULL, NULL, &err, &status, NULL));
  fail_unless(g_spawn_check_wait_status(status, NULL), "schema rejects %s: %s", path.c_str(), err);
  g_free(err);
}

// ---- the walker crosses zone A only ----

GST_START_TEST(test_walker_crosses_zone_a_only) {
  TempDir dir;
  write_file(dir.file("zones.json"), kZones);
  const cv::Mat floor = floor_texture();
  cv::RNG rng(5);
  Run run;
  run_harness(&run,
              {{"downscale", "1"},
               {"location", dir.file("clip_2025-10-20_13-05-00_heatmap.jpg")},
               {"raw-location", dir.file("h.png")},
               {"metadata-location", dir.file("h.json")},
               {"zones-csv-location", dir.file("h.csv")},
               {"scene-location", dir.file("scene.jpg")},
               {"zones", dir.file("zones.json")},
               {"draw-zones", "true"}},
              6 * kFps, [&](int i) { return walker_frame(floor, i, rng); });
  fail_unless(run.error().empty(), "%s", run.error().c_str());
  const heatmap::Sidecar s = read_sidecar(dir.file("h.json"));
  fail_unless_equals_int(s.zones.size(), 2);
  const auto &a = s.zones[0], &b = s.zones[1];
  fail_unless_equals_string(a.zone.name.c_str(), "A");
  fail_unless_equals_int(a.series.size(), 6);
  for (int second = 0; second < 6; ++second) {
    const bool inside = second == 2 || second == 3;
    const auto &interval = a.series[second];
    fail_unless_equals_int(interval.frames, kFps);
    fail_unless(inside ? interval.activity > 0.02 : interval.activity == 0.0,
                "A in second %d: activity %g", second, interval.activity);
    fail_unless(interval.active == inside, "A in second %d: active %d", second, interval.active);
    fail_unless_equals_float(b.series[second].activity, 0.0);
    fail_unless_equals_float(b.series[second].peak, 0.0);
  }
  fail_unless_equals_float(a.active_seconds, 2.0);
  fail_unless_equals_float(b.active_seconds, 0.0);
  fail_unless_equals_float(b.mean_activity, 0.0);
  fail_unless(a.peak > 0.025 && a.peak <= 196.0 / (53 * kHeight), "peak %g",
              a.peak);  // 14x14 walker
  // Geometry and time: processing size, the zone's counted pixels, 6 s, 10 fps.
  fail_unless_equals_int(s.width, kWidth);
  fail_unless_equals_int(a.pixels, 53 * kHeight);
  fail_unless_equals_float(s.duration_s, 6.0);
  fail_unless_equals_float(*s.fps, 10.0);
  fail_unless_equals_int(s.frames_processed, 6 * kFps);
  fail_unless(!s.start_utc_us.has_value());  // a harness has no source to name the clip
  fail_unless_equals_string(s.files.jpeg->c_str(), "clip_2025-10-20_13-05-00_heatmap.jpg");
  fail_unless_equals_string(s.files.png->c_str(), "h.png");
  fail_unless_equals_string(s.files.scene->c_str(), "scene.jpg");
  fail_unless_equals_string(s.files.csv->c_str(), "h.csv");
  expect_schema_valid(dir.file("h.json"));

  // The message carries the same totals.
  const GstStructure *msg = run.heatmap();
  fail_unless(msg != NULL);
  const std::string json_path = dir.file("h.json");
  fail_unless_equals_string(gst_structure_get_string(msg, "metadata-location"), json_path.c_str());
  const GValue *zones = gst_structure_get_value(msg, "zones");
  fail_unless(zones != NULL && GST_VALUE_HOLDS_ARRAY(zones));
  fail_unless_equals_int(gst_value_array_get_size(zones), 2);
  for (guint z = 0; z < 2; ++z) {
    const GstStructure *zone = gst_value_get_structure(gst_value_array_get_value(zones, z));
    double mean = -1, active = -1, peak = -1;
    fail_unless(gst_structure_get_double(zone, "mean-activity", &mean));
    fail_unless(gst_structure_get_double(zone, "active-seconds", &active));
    fail_unless(gst_structure_get_double(zone, "peak", &peak));
    fail_unless_equals_string(gst_structure_get_string(zone, "name"), s.zones[z].zone.name.c_str());
    fail_unless_equals_float(mean, s.zones[z].mean_activity);
    fail_unless_equals_float(active, s.zones[z].active_seconds);
    fail_unless_equals_float(peak, s.zones[z].peak);
  }

  // The scene is the empty floor at processing size.
  cv::Mat scene = cv::imread(dir.file("scene.jpg"));
  fail_unless_equals_int(scene.cols, kWidth);
  fail_unless(cv::norm(scene, floor, cv::NORM_L1) / scene.total() / 3 < 6.0);
}
GST_END_TEST;

// ---- periodic windows: one sidecar per window, its zone series starting with the window ----

GST_START_TEST(test_reset_windows_have_their_own_sidecars) {
  TempDir dir;
  write_file(dir.file("zones.json"), kZones);
  const cv::Mat floor = floor_texture();
  cv::RNG rng(7);
  Run run;
  // Windows of 2 s: the walker is in zone A only during the sec one.
  run_harness(&run,
              {{"downscale", "1"},
               {"interval", "2"},
               {"window", "reset"},
               {"raw-location", dir.file("w%02d.png")},
               {"metadata-location", dir.file("w%02d.json")},
               {"zones-csv-location", dir.file("w%02d.csv")},
               {"zones", dir.file("zones.json")}},
              6 * kFps, [&](int i) { return walker_frame(floor, i, rng); });
  fail_unless(run.error().empty(), "%s", run.error().c_str());
  guint64 processed = 0;
  for (int w = 0; w < 3; ++w) {
    char name[16];
    g_snprintf(name, sizeof name, "w%02d.json", w);
    const std::string path = dir.file(name);
    expect_schema_valid(path);
    const heatmap::Sidecar s = read_sidecar(path);
    fail_unless_equals_string(s.kind.c_str(), "window");
    fail_unless(s.window_index && *s.window_index == w);
    fail_unless(s.settings.window && *s.settings.window == "reset");
    fail_unless(s.start_utc_us.has_value());  // the window's own clock
    fail_unless_equals_string(s.start_utc_source->c_str(), "pipeline-clock");
    fail_unless_equals_float(s.duration_s, 2.0);
    fail_unless_equals_int(s.frames_seen, 2 * kFps);
    fail_unless_equals_int(s.zones.size(), 2);
    const auto &a = s.zones[0];
    fail_unless_equals_int(
        a.series.size(),
        2);  // offsets 0 and 1 s of this window (not "second": gstcheck's float macro declares one)
    for (int sec = 0; sec < 2; ++sec) {
      fail_unless_equals_float(a.series[sec].offset_s, sec);
      fail_unless_equals_int(a.series[sec].frames, kFps);
      fail_unless((w == 1) == (a.series[sec].activity > 0.02), "window %d sec %d: %g", w, sec,
                  a.series[sec].activity);
      fail_unless_equals_float(s.zones[1].series[sec].activity, 0.0);
    }
    fail_unless_equals_float(a.active_seconds, w == 1 ? 2.0 : 0.0);
    processed += s.frames_processed;
    fail_unless(fs::exists(dir.file(std::string(name).replace(4, 4, "csv"))));
  }
  fail_unless_equals_int(processed, 6 * kFps);
  fail_unless(!fs::exists(dir.file("w03.json")));
}
GST_END_TEST;

// Splits one CSV line with RFC 4180 quoting.
std::vector<std::string> csv_fields(const std::string &line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      fields.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

// ---- the CSV parses and its totals equal the message's ----

GST_START_TEST(test_csv_totals_equal_message) {
  TempDir dir;
  write_file(dir.file("zones.json"), kZones);
  const cv::Mat floor = floor_texture();
  cv::RNG rng(6);
  Run run;
  // 0.4 s intervals: the last of the 6 s is whole, 2.0 s and 4.0 s fall on boundaries.
  run_harness(&run,
              {{"downscale", "0.5"},
               {"zones-csv-location", dir.file("z.csv")},
               {"zones", dir.file("zones.json")},
               {"zone-interval", "0.35"},
               {"zone-threshold", "0.001"}},
              6 * kFps, [&](int i) { return walker_frame(floor, i, rng); });
  fail_unless(run.error().empty(), "%s", run.error().c_str());
  const std::string csv = read_file(dir.file("z.csv"));
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  fail_unless_equals_string(line.c_str(),
                            "time_utc,zone,activity,peak,active,offset_s,duration_s,frames\r");
  std::map<std::string, double> weighted, frames, active, peak;
  int rows = 0;
  while (std::getline(lines, line)) {
    fail_unless(!line.empty() && line.back() == '\r', "line without CRLF");
    line.pop_back();
    const auto f = csv_fields(line);
    fail_unless_equals_int(f.size(), 8);
    fail_unless(f[0].empty());  // no start time without a source
    const double activity = std::stod(f[2]), duration = std::stod(f[6]);
    const double n = std::stod(f[7]);
    weighted[f[1]] += activity * n;
    frames[f[1]] += n;
    if (f[4] == "1")
      active[f[1]] += duration;
    peak[f[1]] = std::max(peak[f[1]], std::stod(f[3]));
    ++rows;
  }
  fail_unless_equals_int(rows, 2 * 18);  // ceil(6 / 0.35) intervals per zone
  const GValue *zones = gst_structure_get_value(run.heatmap(), "zones");
  fail_unless_equals_int(gst_value_array_get_size(zones), 2);
  for (guint z = 0; z < 2; ++z) {
    const GstStructure *zone = gst_value_get_structure(gst_value_array_get_value(zones, z));
    const std::string name = gst_structure_get_string(zone, "name");
    double mean, seconds, top;
    gst_structure_get_double(zone, "mean-activity", &mean);
    gst_structure_get_double(zone, "active-seconds", &seconds);
    gst_structure_get_double(zone, "peak", &top);
    fail_unless(std::fabs(weighted[name] / frames[name] - mean) < 1e-7, "%s mean %g vs %g",
                name.c_str(), weighted[name] / frames[name], mean);
    fail_unless(std::fabs(active[name] - seconds) < 1e-7, "%s active %g vs %g", name.c_str(),
                active[name], seconds);
    fail_unless(std::fabs(peak[name] - top) < 1e-7);
  }
  fail_unless(active["A"] > 1.5 && active["B"] == 0.0);
}
GST_END_TEST;

// ---- a masked region full of motion counts exactly 0 and shows desaturated ----

GST_START_TEST(test_masked_motion_counts_zero_and_shows_grey) {
  TempDir dir;
  // The left third is masked: it holds the walker from 2 s to 4 s and a flickering "TV".
  write_file(dir.file("mask.json"),
             R"({"exclude": [{"name": "tv", "polygon": [[0,0],[0.3333,0],[0.3333,1],[0,1]]}]})");
  const cv::Mat floor = floor_texture();
  cv::RNG rng(7), flicker(8);
  Run run;
  run_harness(&run,
              {{"downscale", "1"},
               {"location", dir.file("h.jpg")},
               {"raw-location", dir.file("h.png")},
               {"metadata-location", dir.file("h.json")},
               {"use-background", "false"},
               {"blur", "0"},
               {"mask", dir.file("mask.json")}},
              6 * kFps, [&](int i) {
                cv::Mat frame = walker_frame(floor, i, rng);
                cv::Mat tv = frame(cv::Rect(5, 60, 40, 30));
                flicker.fill(tv, cv::RNG::UNIFORM, 0, 256);
                return frame;
              });
  fail_unless(run.error().empty(), "%s", run.error().c_str());
  cv::Mat counts = cv::imread(dir.file("h.png"), cv::IMREAD_UNCHANGED);
  fail_unless_equals_int(counts.type(), CV_16UC1);
  fail_unless_equals_int(cv::countNonZero(counts.colRange(0, 53)), 0);
  fail_unless(cv::countNonZero(counts.colRange(53, kWidth)) > 100);
  // Rendered without the scene: colour everywhere, grey where masked.
  cv::Mat jpeg = cv::imread(dir.file("h.jpg"));
  cv::Mat hsv;
  cv::cvtColor(jpeg, hsv, cv::COLOR_BGR2HSV);
  std::vector<cv::Mat> channels;
  cv::split(hsv, channels);
  fail_unless(cv::mean(channels[1].colRange(2, 50))[0] < 12, "masked area not grey");
  fail_unless(cv::mean(channels[1].colRange(60, kWidth))[0] > 100, "unmasked area not coloured");
  const heatmap::Sidecar s = read_sidecar(dir.file("h.json"));
  fail_unless_equals_string(s.settings.mask->c_str(), "mask.json");
  fail_unless_equals_int(s.settings.mask_sha256->size(), 64);
  fail_unless(std::fabs(*s.settings.mask_coverage - 107.0 / 160) < 1e-9);
  expect_schema_valid(dir.file("h.json"));
}
GST_END_TEST;

// ---- bad zone and mask files: one line naming the file, nothing written ----

// Runs videotestsrc ! heatmap ! fakesink with the given property and returns the error text.
std::string run_pipeline_error(const TempDir &dir, const char *property, const std::string &file) {
  GstElement *pipeline = gst_pipeline_new(NULL);
  GstElement *src = gst_element_factory_make("videotestsrc", NULL);
  GstElement *heat = gst_element_factory_make("heatmap", NULL);
  GstElement *sink = gst_element_factory_make("fakesink", NULL);
  g_object_set(src, "num-buffers", 5, NULL);
  g_object_set(heat, "location", dir.file("h.jpg").c_str(), "raw-location",
               dir.file("h.png").c_str(), "metadata-location", dir.file("h.json").c_str(),
               "zones-csv-location", dir.file("h.csv").c_str(), "scene-location",
               dir.file("s.jpg").c_str(), property, file.c_str(), NULL);
  gst_bin_add_many(GST_BIN(pipeline), src, heat, sink, NULL);
  fail_unless(gst_element_link_many(src, heat, sink, NULL));
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *m = gst_bus_timed_pop_filtered(
      bus, 30 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS));
  std::string text = "(no error)";
  if (m != NULL && GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
    GError *e = NULL;
    gst_message_parse_error(m, &e, NULL);
    text = e->message;
    g_error_free(e);
  }
  if (m != NULL)
    gst_message_unref(m);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return text;
}

GST_START_TEST(test_bad_files_one_line_nothing_written) {
  struct Case {
    const char *property, *name, *content, *expect;
  };
  const Case cases[] = {
      {"zones", "bad.json", "{\"zones\": [", "not valid JSON"},
      {"zones", "two.json", R"({"zones": [{"name": "a", "polygon": [[0,0],[1,1]]}]})",
       "2 points, a polygon needs at least 3"},
      {"zones", "range.json", R"({"zones": [{"name": "a", "polygon": [[0,0],[1,1],[0,1.2]]}]})",
       "out of range"},
      {"zones", "dup.json",
       R"({"zones": [{"name": "a", "polygon": [[0,0],[1,1],[0,1]]},
                     {"name": "a", "polygon": [[0,0],[1,1],[1,0]]}]})",
       "duplicate name \"a\""},
      {"zones", "missing.json", nullptr, "cannot open"},
      {"mask", "bad-mask.json", "{\"exclude\": 3}", "\"exclude\" is not an array"},
      {"mask", "mask.png", "\x89PNG\r\n\x1a\n-truncated", "not a readable PNG"},
      {"mask", "mask.txt", "hello", "neither a PNG image nor a JSON polygon file"},
      {"mask", "all.json", R"({"exclude": [{"polygon": [[0,0],[1,0],[1,1],[0,1]]}]})",
       "leave nothing to count"},
  };
  for (const Case &c : cases) {
    TempDir dir;
    const std::string path = dir.file(c.name);
    if (c.content != nullptr)
      write_file(path, c.content);
    const std::string error = run_pipeline_error(dir, c.property, path);
    fail_unless(error.rfind(path + ": ", 0) == 0, "%s: error \"%s\" does not start with the path",
                c.name, error.c_str());
    fail_unless(error.find(c.expect) != std::string::npos, "%s: \"%s\" lacks \"%s\"", c.name,
                error.c_str(), c.expect);
    fail_unless(error.find('\n') == std::string::npos, "%s: more than one line", c.name);
    const auto left = dir.entries();
    fail_unless_equals_int(left.size(), c.content != nullptr ? 1 : 0);  // only the bad file
  }
}
GST_END_TEST;

// ---- properties ----

GST_START_TEST(test_places_properties) {
  GstElement *e = gst_element_factory_make("heatmap", NULL);
  GObjectClass *klass = G_OBJECT_GET_CLASS(e);
  for (const char *name : {"mask", "zones", "zone-interval", "zone-threshold", "draw-zones",
                           "metadata-location", "zones-csv-location", "scene-location"}) {
    GParamSpec *spec = g_object_class_find_property(klass, name);
    fail_unless(spec != NULL, "no property %s", name);
    fail_unless(strlen(g_param_spec_get_blurb(spec)) >= 40, "%s: blurb too short", name);
  }
  fail_unless_equals_float(
      G_PARAM_SPEC_DOUBLE(g_object_class_find_property(klass, "zone-interval"))->default_value,
      1.0);
  fail_unless(G_PARAM_SPEC_DOUBLE(g_object_class_find_property(klass, "zone-interval"))->minimum >
              0);
  fail_unless_equals_float(
      G_PARAM_SPEC_DOUBLE(g_object_class_find_property(klass, "zone-threshold"))->maximum, 1.0);
  gst_object_unref(e);
}
GST_END_TEST;

Suite *places_suite() {
  Suite *s = suite_create("heatmap-places");
  TCase *tc = tcase_create("places");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_places_properties);
  tcase_add_test(tc, test_walker_crosses_zone_a_only);
  tcase_add_test(tc, test_csv_totals_equal_message);
  tcase_add_test(tc, test_reset_windows_have_their_own_sidecars);
  tcase_add_test(tc, test_masked_motion_counts_zero_and_shows_grey);
  tcase_add_test(tc, test_bad_files_one_line_nothing_written);
  suite_add_tcase(s, tc);
  return s;
}

}  // namespace

GST_CHECK_MAIN(places);
