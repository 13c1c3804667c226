// test-heatmap-live.cpp: the heatmap element in live and periodic use: interval snapshots (files,
// indices, times, messages), reset windows adding up to the cumulative map, decay against its
// formula, the image pad, format-location, dropping instead of stalling (slow writer, slow window
// ends, a busy model skipping frames, late frames skipping the model), the overlay, and the
// latency the element reports.
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "gst-test-util.h"

namespace fs = std::filesystem;

namespace {

using test_util::by_name;
using test_util::ElementPtr;
using test_util::parse;
using test_util::StructurePtr;
using test_util::TempDir;

struct RunResult {
  std::vector<StructurePtr> heatmaps;  // `heatmap` element messages, in order
  std::vector<std::string> warnings;
};

// Plays `pipeline`; once `stop_after` heatmap messages arrived (0: never) sends EOS; returns at
// EOS, calling at_eos (if any) before stopping the pipeline. Fails the test on an ERROR or after
// timeout_s.
RunResult run(GstElement *pipeline, std::size_t stop_after = 0, double timeout_s = 60,
              const std::function<void(const RunResult &)> &at_eos = nullptr) {
  RunResult result;
  g_assert_cmpint(gst_element_set_state(pipeline, GST_STATE_PLAYING), !=, GST_STATE_CHANGE_FAILURE);
  GstBus *bus = gst_element_get_bus(pipeline);
  const gint64 deadline = g_get_monotonic_time() + static_cast<gint64>(timeout_s * 1e6);
  bool eos_sent = false;
  for (;;) {
    g_assert_cmpint(g_get_monotonic_time(), <, deadline);
    GstMessage *msg = gst_bus_timed_pop(bus, 100 * GST_MSECOND);
    if (msg == NULL)
      continue;
    bool done = false;
    switch (GST_MESSAGE_TYPE(msg)) {
      case GST_MESSAGE_ERROR: {
        GError *err = NULL;
        gchar *debug = NULL;
        gst_message_parse_error(msg, &err, &debug);
        g_error("pipeline error: %s (%s)", err->message, debug ? debug : "");
        break;
      }
      case GST_MESSAGE_WARNING: {
        GError *err = NULL;
        gst_message_parse_warning(msg, &err, NULL);
        result.warnings.push_back(err->message);
        g_error_free(err);
        break;
      }
      case GST_MESSAGE_ELEMENT: {
        const GstStructure *s = gst_message_get_structure(msg);
        if (gst_structure_has_name(s, "heatmap")) {
          result.heatmaps.emplace_back(gst_structure_copy(s));
          if (stop_after > 0 && result.heatmaps.size() >= stop_after && !eos_sent) {
            gst_element_send_event(pipeline, gst_event_new_eos());
            eos_sent = true;
          }
        }
        break;
      }
      case GST_MESSAGE_EOS:
        done = true;
        break;
      default:
        break;
    }
    gst_message_unref(msg);
    if (done)
      break;
  }
  gst_object_unref(bus);
  if (at_eos)
    at_eos(result);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  return result;
}

// g_assert_cmpstr() on a temporary's c_str() would read freed memory.
void expect_str(const std::string &got, const std::string &want) {
  if (got != want)
    g_error("got \"%s\", expected \"%s\"", got.c_str(), want.c_str());
}

guint64 u64(const GstStructure *s, const char *field) {
  guint64 v = 0;
  g_assert_true(gst_structure_get_uint64(s, field, &v));
  return v;
}

std::string str(const GstStructure *s, const char *field) {
  const gchar *v = gst_structure_get_string(s, field);
  return v != NULL ? v : "";
}

gint64 parse_iso(const std::string &text) {
  GDateTime *dt = g_date_time_new_from_iso8601(text.c_str(), NULL);
  g_assert_nonnull(dt);
  const gint64 us = g_date_time_to_unix(dt) * G_USEC_PER_SEC;
  g_date_time_unref(dt);
  return us;
}

// Frames a window covers: analysed, or skipped by a busy model on a live source.
guint64 frames_seen(const GstStructure *s) {
  return u64(s, "frames-processed") + u64(s, "frames-skipped");
}

cv::Mat read_png(const std::string &path) {
  cv::Mat m = cv::imread(path, cv::IMREAD_UNCHANGED);
  if (m.empty() || m.type() != CV_16UC1)
    g_error("%s is not a 16-bit PNG", path.c_str());
  return m;
}

// A live camera stand-in, one snapshot a second for a little over three seconds: four
// messages (three intervals and the partial last one), numbered files in dated folders.
void test_interval_files_and_messages() {
  TempDir dir;
  ElementPtr p = parse(
      "videotestsrc is-live=true pattern=ball ! video/x-raw,width=160,height=120,framerate=25/1 "
      "! heatmap name=h interval=1 ! fakesink sync=true");
  GstElement *h = by_name(p.get(), "h");
  g_object_set(h, "location", dir.file("%Y/heat-%05d.jpg").c_str(), "raw-location",
               dir.file("raw/%Y%m%dT%H%M%S-%03d.png").c_str(), NULL);
  const gint64 before = g_get_real_time();
  RunResult r = run(p.get(), 3);
  const gint64 after = g_get_real_time();
  g_assert_cmpuint(r.heatmaps.size(), ==, 4);
  GstClockTime first_start = 0;
  for (std::size_t i = 0; i < r.heatmaps.size(); ++i) {
    const GstStructure *s = r.heatmaps[i].get();
    g_assert_cmpuint(u64(s, "index"), ==, i);
    const guint64 start = u64(s, "start"), end = u64(s, "end");
    if (i == 0)
      first_start = start;
    g_assert_cmpuint(start, ==, first_start + i * GST_SECOND);
    gboolean final = FALSE;
    g_assert_true(gst_structure_get_boolean(s, "final", &final));
    if (i < 3) {
      g_assert_cmpuint(end, ==, start + GST_SECOND);
      g_assert_false(final);
    } else {
      g_assert_cmpuint(end, >, start);
      g_assert_cmpuint(end, <=, start + GST_SECOND);
      g_assert_true(final);
    }
    const gint64 start_utc = parse_iso(str(s, "start-utc"));
    const gint64 end_utc = parse_iso(str(s, "end-utc"));
    g_assert_cmpint(start_utc, >=, before / G_USEC_PER_SEC * G_USEC_PER_SEC - G_USEC_PER_SEC);
    g_assert_cmpint(start_utc, <=, after);
    if (i < 3)
      g_assert_cmpint(end_utc - start_utc, ==, G_USEC_PER_SEC);
    expect_str(str(s, "utc-source"), "pipeline-clock");
    expect_str(str(s, "window"), "cumulative");
    // The files the message names exist, under the window's own date and index.
    const std::string jpeg = str(s, "location");
    const std::string png = str(s, "raw-location");
    GDateTime *dt = g_date_time_new_from_unix_utc(start_utc / G_USEC_PER_SEC);
    gchar *year = g_date_time_format(dt, "%Y");
    gchar *stamp = g_date_time_format(dt, "%Y%m%dT%H%M%S");
    g_date_time_unref(dt);
    gchar *want_jpeg = g_strdup_printf("%s/heat-%05u.jpg", year, static_cast<unsigned>(i));
    gchar *want_png = g_strdup_printf("raw/%s-%03u.png", stamp, static_cast<unsigned>(i));
    expect_str(jpeg, dir.file(want_jpeg));
    expect_str(png, dir.file(want_png));
    g_free(year);
    g_free(stamp);
    g_free(want_jpeg);
    g_free(want_png);
    g_assert_false(cv::imread(jpeg).empty());
    const cv::Mat counts = read_png(png);
    g_assert_cmpint(counts.cols, ==, 40);
    // cumulative: the frames covered only grow. (A live source: a busy machine may make the
    // model skip a frame, which frames-skipped then counts.)
    if (i > 0)
      g_assert_cmpuint(frames_seen(s), >, frames_seen(r.heatmaps[i - 1].get()));
  }
  g_assert_cmpuint(frames_seen(r.heatmaps[2].get()), ==, 75);  // 3 s at 25 fps
  g_assert_true(r.warnings.empty());
}

// Runs `videotestsrc pattern=ball num-buffers=N` (non-live, 25 fps) through a heatmap with
// the given properties; returns the messages.
RunResult run_ball(int frames, const std::function<void(GstElement *)> &configure) {
  ElementPtr p = parse("videotestsrc pattern=ball num-buffers=" + std::to_string(frames) +
                       " ! video/x-raw,format=I420,width=160,height=120,framerate=25/1 "
                       "! heatmap name=h ! fakesink");
  configure(by_name(p.get(), "h"));
  return run(p.get());
}

cv::Mat sum_of(const RunResult &r) {
  cv::Mat sum;
  for (const StructurePtr &s : r.heatmaps) {
    cv::Mat c;
    read_png(str(s.get(), "raw-location")).convertTo(c, CV_32S);
    if (sum.empty())
      sum = cv::Mat::zeros(c.size(), CV_32S);
    sum += c;
  }
  return sum;
}

// In reset mode each interval is its own map, and the maps add up to one cumulative run.
void test_reset_windows_add_up_to_cumulative() {
  TempDir dir;
  // The partition into windows is what is checked, with a model whose decisions cannot depend
  // on the snapshots: the scene model settles its one-second look-ahead at the first snapshot,
  // so with 0.5 s windows its first frames are judged against a slightly different start.
  RunResult reset = run_ball(60, [&](GstElement *h) {
    gst_util_set_object_arg(G_OBJECT(h), "window", "reset");
    gst_util_set_object_arg(G_OBJECT(h), "method", "mog2");
    g_object_set(h, "interval", 0.5, "raw-location", dir.file("r-%05d.png").c_str(), NULL);
  });
  RunResult cumulative = run_ball(60, [&](GstElement *h) {
    gst_util_set_object_arg(G_OBJECT(h), "method", "mog2");
    g_object_set(h, "raw-location", dir.file("c.png").c_str(), NULL);
  });
  g_assert_cmpuint(reset.heatmaps.size(), ==, 5);  // 2.4 s: four whole windows and a part
  g_assert_cmpuint(cumulative.heatmaps.size(), ==, 1);
  guint64 frames = 0;
  for (const StructurePtr &s : reset.heatmaps) {
    frames += u64(s.get(), "frames-processed");
    expect_str(str(s.get(), "window"), "reset");
  }
  g_assert_cmpuint(frames, ==, 60);
  g_assert_cmpuint(u64(reset.heatmaps[0].get(), "frames-processed"), ==, 13);  // 0 .. 0.48 s
  const cv::Mat sum = sum_of(reset);
  cv::Mat whole;
  read_png(str(cumulative.heatmaps[0].get(), "raw-location")).convertTo(whole, CV_32S);
  g_assert_cmpint(cv::countNonZero(whole), >, 50);
  g_assert_cmpfloat(cv::norm(sum, whole, cv::NORM_INF), ==, 0);
  // Each window holds only its own motion: none of them is the whole map.
  for (const StructurePtr &s : reset.heatmaps) {
    cv::Mat c;
    read_png(str(s.get(), "raw-location")).convertTo(c, CV_32S);
    g_assert_cmpfloat(cv::norm(c, whole, cv::NORM_INF), >, 0);
  }
}

// decay: the raw map is 65535 * sum(m_k 2^-(T-t_k)/h) / sum(f_k 2^-(T-t_k)/h), where m_k are
// one frame's counts at its end time t_k, taken here from a reset run with one frame per window.
void test_decay_follows_its_formula() {
  TempDir dir;
  const double half_life = 0.5;
  RunResult frames = run_ball(60, [&](GstElement *h) {
    gst_util_set_object_arg(G_OBJECT(h), "window", "reset");
    g_object_set(h, "interval", 0.04, "raw-location", dir.file("f-%05d.png").c_str(), NULL);
  });
  RunResult decay = run_ball(60, [&](GstElement *h) {
    gst_util_set_object_arg(G_OBJECT(h), "window", "decay");
    g_object_set(h, "half-life", half_life, "raw-location", dir.file("d.png").c_str(), NULL);
  });
  g_assert_cmpuint(frames.heatmaps.size(), ==, 60);
  g_assert_cmpuint(decay.heatmaps.size(), ==, 1);
  const double T = u64(frames.heatmaps.back().get(), "end") / 1e9;
  cv::Mat num;
  double den = 0;
  for (const StructurePtr &s : frames.heatmaps) {
    const double t = u64(s.get(), "end") / 1e9;
    const double w = std::exp2(-(T - t) / half_life);
    cv::Mat c;
    read_png(str(s.get(), "raw-location")).convertTo(c, CV_64F);
    if (num.empty())
      num = cv::Mat::zeros(c.size(), CV_64F);
    num += c * w;
    den += w * u64(s.get(), "frames-processed");
  }
  cv::Mat expected = num * (65535.0 / den);
  cv::Mat got;
  read_png(str(decay.heatmaps[0].get(), "raw-location")).convertTo(got, CV_64F);
  double max = 0;
  cv::minMaxLoc(expected, nullptr, &max);
  g_assert_cmpfloat(max, >, 1000);  // there is motion to check
  g_assert_cmpfloat(cv::norm(got, expected, cv::NORM_INF), <=, 1.0);
  expect_str(str(decay.heatmaps[0].get(), "window"), "decay");
}

void check_jpegs(const RunResult &r, GstElement *appsink);

// The image pad pushes each snapshot's JPEG, dated by a reference timestamp, then EOS.
void test_image_pad_pushes_jpegs() {
  TempDir dir;
  ElementPtr p = parse(
      "videotestsrc pattern=ball num-buffers=60 ! video/x-raw,format=I420,width=160,height=120,"
      "framerate=25/1 ! heatmap name=h interval=0.5 ! fakesink "
      "h.image ! appsink name=img sync=false wait-on-eos=false");
  g_object_set(by_name(p.get(), "h"), "location", dir.file("heat-%05d.jpg").c_str(), NULL);
  run(p.get(), 0, 60, [&](const RunResult &r) { check_jpegs(r, by_name(p.get(), "img")); });
}

void check_jpegs(const RunResult &r, GstElement *appsink) {
  g_assert_cmpuint(r.heatmaps.size(), ==, 5);
  GstAppSink *sink = GST_APP_SINK(appsink);
  GstCaps *timestamp_caps = gst_caps_new_empty_simple("timestamp/x-unix");
  for (std::size_t i = 0; i < 5; ++i) {
    GstSample *sample = gst_app_sink_try_pull_sample(sink, 0);
    g_assert_nonnull(sample);
    const GstStructure *caps = gst_caps_get_structure(gst_sample_get_caps(sample), 0);
    g_assert_true(gst_structure_has_name(caps, "image/jpeg"));
    int width = 0;
    g_assert_true(gst_structure_get_int(caps, "width", &width));
    g_assert_cmpint(width, ==, 40);
    GstBuffer *buffer = gst_sample_get_buffer(sample);
    g_assert_cmpuint(GST_BUFFER_PTS(buffer), ==, i * GST_SECOND / 2);
    GstReferenceTimestampMeta *meta =
        gst_buffer_get_reference_timestamp_meta(buffer, timestamp_caps);
    g_assert_nonnull(meta);
    const gint64 start_utc = parse_iso(str(r.heatmaps[i].get(), "start-utc"));
    g_assert_cmpint(static_cast<gint64>(meta->timestamp / 1000) / G_USEC_PER_SEC, ==,
                    start_utc / G_USEC_PER_SEC);
    // The very bytes written to the file.
    GstMapInfo map;
    g_assert_true(gst_buffer_map(buffer, &map, GST_MAP_READ));
    gchar *contents = NULL;
    gsize length = 0;
    g_assert_true(g_file_get_contents(str(r.heatmaps[i].get(), "location").c_str(), &contents,
                                      &length, NULL));
    g_assert_cmpuint(length, ==, map.size);
    g_assert_cmpint(memcmp(contents, map.data, length), ==, 0);
    g_free(contents);
    gst_buffer_unmap(buffer, &map);
    gst_sample_unref(sample);
  }
  g_assert_true(gst_app_sink_is_eos(sink));
  gst_caps_unref(timestamp_caps);
}

gchar *name_by_signal(GstElement *, guint index, gint64 start_utc_us, gpointer dir) {
  g_assert_cmpint(start_utc_us, >, 1600000000LL * G_USEC_PER_SEC);
  return g_strdup_printf("%s/custom-%u.jpg", static_cast<const char *>(dir), index);
}

// format-location names the JPEG, as splitmuxsink's signal does.
void test_format_location_signal() {
  TempDir dir;
  ElementPtr p = parse(
      "videotestsrc pattern=ball num-buffers=30 ! video/x-raw,width=160,height=120,"
      "framerate=25/1 ! heatmap name=h interval=0.5 location=/nonexistent/ignored.jpg ! "
      "fakesink");
  std::string root = dir.file("");
  g_signal_connect(by_name(p.get(), "h"), "format-location", G_CALLBACK(name_by_signal),
                   const_cast<char *>(root.c_str()));
  RunResult r = run(p.get());
  g_assert_cmpuint(r.heatmaps.size(), ==, 3);
  for (std::size_t i = 0; i < 3; ++i) {
    const std::string want = root + "/custom-" + std::to_string(i) + ".jpg";
    expect_str(str(r.heatmaps[i].get(), "location"), want.c_str());
    g_assert_true(fs::exists(want));
  }
  g_assert_false(fs::exists("/nonexistent/ignored.jpg"));
}

struct SlowWriter {
  std::atomic<bool> released{false};
  std::atomic<int> buffers{0};
  int buffers_when_released = -1;
};

gchar *slow_name(GstElement *, guint index, gint64, gpointer data) {
  auto *slow = static_cast<SlowWriter *>(data);
  if (index == 0) {
    // Holds the writer until every frame has gone through, or 20 s at most.
    for (int i = 0; i < 2000 && slow->buffers < 60; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    slow->buffers_when_released = slow->buffers;
    slow->released = true;
  }
  return NULL;
}

GstPadProbeReturn count_buffer(GstPad *, GstPadProbeInfo *, gpointer data) {
  static_cast<SlowWriter *>(data)->buffers++;
  return GST_PAD_PROBE_OK;
}

// In a live pipeline a writer stuck on one snapshot never holds up the video: the frames all
// pass, the snapshots that find the writer busy are dropped with a warning, and the last one
// still gets written.
void test_slow_writer_drops_instead_of_stalling() {
  TempDir dir;
  SlowWriter slow;
  ElementPtr p = parse(
      "videotestsrc is-live=true pattern=ball num-buffers=60 ! video/x-raw,width=160,height=120,"
      "framerate=25/1 ! heatmap name=h interval=0.2 ! fakesink name=sink");
  GstElement *h = by_name(p.get(), "h");
  g_object_set(h, "location", dir.file("heat-%05d.jpg").c_str(), NULL);
  g_signal_connect(h, "format-location", G_CALLBACK(slow_name), &slow);
  GstPad *pad = gst_element_get_static_pad(by_name(p.get(), "sink"), "sink");
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, count_buffer, &slow, NULL);
  gst_object_unref(pad);
  RunResult r = run(p.get());
  g_assert_true(slow.released);
  g_assert_cmpint(slow.buffers_when_released, ==, 60);  // the video never waited for it
  // 2.4 s in 0.2 s windows: 12 snapshots; the writer held 0 and queued 1, the rest of the
  // periodic ones were dropped, and the final one waited for room.
  std::size_t dropped = 0;
  for (const std::string &w : r.warnings)
    dropped += w.find("Dropped heatmap snapshot") != std::string::npos;
  g_assert_cmpuint(dropped, >=, 1);
  g_assert_cmpuint(r.heatmaps.size() + dropped, ==, 12);
  g_assert_cmpuint(r.heatmaps.size(), >=, 2);
  gboolean final = FALSE;
  g_assert_true(gst_structure_get_boolean(r.heatmaps.back().get(), "final", &final));
  g_assert_true(final);
  g_assert_cmpuint(u64(r.heatmaps.back().get(), "index"), ==, 11);
}

struct LateRun {
  RunResult messages;
  guint64 late = 0;  // buffers the sync=true sink dropped as more than 100 ms late
};

// A live ball for 4 s (100 frames) through heatmap in 1 s reset windows, every window end made
// 500 ms slower on the element's model thread (the element's fault injection, as a slow drain or
// median on a starved machine would), into a sync=true sink that drops buffers more than 100 ms
// late. The sink's dropped count is the measure: no wall-clock limit is asserted.
LateRun run_with_slow_window_ends(const char *skip_frames, const TempDir &dir) {
  g_setenv("GST_HEATMAP_TEST_WINDOW_END_DELAY_MS", "500", TRUE);
  ElementPtr p = parse(
      "videotestsrc is-live=true pattern=ball num-buffers=100 ! "
      "video/x-raw,format=I420,width=160,height=120,framerate=25/1 ! heatmap name=h interval=1 "
      "! fakesink name=sink sync=true qos=true max-lateness=100000000");
  GstElement *h = by_name(p.get(), "h");
  gst_util_set_object_arg(G_OBJECT(h), "window", "reset");
  gst_util_set_object_arg(G_OBJECT(h), "skip-frames", skip_frames);
  const std::string prefix = std::string(skip_frames) + "-";
  g_object_set(h, "location", dir.file(prefix + "%05d.jpg").c_str(), "raw-location",
               dir.file(prefix + "%05d.png").c_str(), NULL);
  LateRun out;
  out.messages = run(p.get(), 0, 120, [&](const RunResult &) {
    GstStructure *stats = NULL;
    g_object_get(by_name(p.get(), "sink"), "stats", &stats, NULL);
    g_assert_nonnull(stats);
    g_assert_true(gst_structure_get_uint64(stats, "dropped", &out.late));
    gst_structure_free(stats);
  });
  g_unsetenv("GST_HEATMAP_TEST_WINDOW_END_DELAY_MS");
  return out;
}

// A window's end (counts, zones, scene median, rendering) never holds up a live video, even when
// it takes long on a starved machine: the frames the busy model has no time for are skipped and
// counted (frames-skipped), and the map is still made of the frames it did analyse. The same
// run with skip-frames=never (every frame analysed) shows the measure catches a held-up video.
void test_window_end_never_holds_up_live_video() {
  TempDir dir;
  const LateRun never = run_with_slow_window_ends("never", dir);
  const LateRun skipping = run_with_slow_window_ends("auto", dir);
  g_message("late buffers: %" G_GUINT64_FORMAT " with skip-frames=never, %" G_GUINT64_FORMAT
            " with auto",
            never.late, skipping.late);
  g_assert_cmpuint(never.late, >=, 8);
  g_assert_cmpuint(skipping.late, <=, 2);

  guint64 processed = 0, skipped = 0;
  for (const StructurePtr &s : never.messages.heatmaps)
    processed += u64(s.get(), "frames-processed"), skipped += u64(s.get(), "frames-skipped");
  g_assert_cmpuint(processed, ==, 100);
  g_assert_cmpuint(skipped, ==, 0);

  g_assert_cmpuint(skipping.messages.heatmaps.size(), ==, 4);  // 3 windows and the final one
  processed = skipped = 0;
  for (const StructurePtr &s : skipping.messages.heatmaps) {
    const guint64 p = u64(s.get(), "frames-processed");
    processed += p;
    skipped += u64(s.get(), "frames-skipped");
    guint max = 0;
    g_assert_true(gst_structure_get_uint(s.get(), "max-count", &max));
    g_assert_cmpuint(max, <=, p);  // counts only from analysed frames
    g_assert_false(cv::imread(str(s.get(), "location")).empty());
  }
  g_assert_cmpuint(skipped, >=, 10);               // about 12 per slow window end
  g_assert_cmpuint(processed + skipped, ==, 100);  // every frame analysed or counted as skipped
  g_assert_cmpuint(processed, >=, 30);
  // The sparser map still shows where the ball went: most of the full map's pixels.
  const cv::Mat sparse = sum_of(skipping.messages), full = sum_of(never.messages);
  const int full_pixels = cv::countNonZero(full);
  g_assert_cmpint(full_pixels, >, 50);
  g_assert_cmpint(cv::countNonZero((sparse > 0) & (full > 0)), >=, full_pixels / 2);
  g_assert_true(skipping.messages.warnings.empty());
}

// Frames of the same source, with and without the element, in order.
std::vector<std::vector<guint8>> frames_of(const std::string &description) {
  ElementPtr p = parse(description);
  GstAppSink *sink = GST_APP_SINK(by_name(p.get(), "out"));
  std::vector<std::vector<guint8>> frames;
  g_assert_cmpint(gst_element_set_state(p.get(), GST_STATE_PLAYING), !=, GST_STATE_CHANGE_FAILURE);
  while (GstSample *sample = gst_app_sink_pull_sample(sink)) {
    GstMapInfo map;
    GstBuffer *b = gst_sample_get_buffer(sample);
    g_assert_true(gst_buffer_map(b, &map, GST_MAP_READ));
    frames.emplace_back(map.data, map.data + map.size);
    gst_buffer_unmap(b, &map);
    gst_sample_unref(sample);
  }
  gst_element_set_state(p.get(), GST_STATE_NULL);
  return frames;
}

const char *kBall =
    "videotestsrc is-live=true pattern=ball num-buffers=80 ! "
    "video/x-raw,format=I420,width=320,height=240,framerate=25/1";

// overlay=false: frames bit-identical; overlay=true: frames change only where there is heat.
void test_overlay_changes_only_hot_pixels() {
  TempDir dir;
  const auto plain = frames_of(std::string(kBall) + " ! appsink name=out sync=false");
  const auto off =
      frames_of(std::string(kBall) + " ! heatmap overlay=false ! appsink name=out sync=false");
  g_assert_cmpuint(plain.size(), ==, 80);
  g_assert_true(plain == off);
  const std::string png = dir.file("counts.png");
  const auto on = frames_of(std::string(kBall) + " ! heatmap overlay=true overlay-refresh=0 " +
                            "raw-location=" + png + " ! appsink name=out sync=false");
  g_assert_cmpuint(on.size(), ==, 80);
  // Where the heat can reach at full size: counts > 0, widened by the blur (sigma 3 at
  // processing size, 4x smaller) and the bilinear upscale.
  cv::Mat counts = read_png(png), hot;
  cv::dilate(counts > 0, hot, cv::getStructuringElement(cv::MORPH_RECT, cv::Size(23, 23)));
  cv::resize(hot, hot, cv::Size(320, 240), 0, 0, cv::INTER_NEAREST);
  std::size_t changed = 0, changed_cold = 0;
  for (int i = 60; i < 80; ++i) {
    const cv::Mat a(240, 320, CV_8U, const_cast<guint8 *>(plain[i].data()));
    const cv::Mat b(240, 320, CV_8U, const_cast<guint8 *>(on[i].data()));
    cv::Mat diff = a != b;
    changed += cv::countNonZero(diff);
    changed_cold += cv::countNonZero(diff & ~hot);
  }
  g_assert_cmpuint(changed, >, 20u * 500);  // the heat is drawn
  g_assert_cmpuint(changed_cold, ==, 0);    // and nowhere else
  // The first frame has no heat yet: unchanged.
  g_assert_true(plain[0] == on[0]);
}

// The pipeline's configured latency once PLAYING (min, from the LATENCY query), and whether
// it is live.
GstClockTime pipeline_latency(GstElement *pipeline, gboolean *live) {
  g_assert_cmpint(gst_element_set_state(pipeline, GST_STATE_PLAYING), !=, GST_STATE_CHANGE_FAILURE);
  g_assert_cmpint(gst_element_get_state(pipeline, NULL, NULL, 10 * GST_SECOND), ==,
                  GST_STATE_CHANGE_SUCCESS);
  GstQuery *q = gst_query_new_latency();
  g_assert_true(gst_element_query(pipeline, q));
  GstClockTime min = 0;
  gst_query_parse_latency(q, live, &min, NULL);
  gst_query_unref(q);
  return min;
}

// A live pipeline budgets for the element: the LATENCY query adds its processing-deadline (so
// a sync=true sink waits that much longer instead of dropping a frame the element held); a
// non-live one has no latency to add to; a new value makes the element ask the pipeline to
// recompute its latency.
void test_latency_query_adds_processing_deadline() {
  const std::string src = "videotestsrc is-live=true ! video/x-raw,width=160,height=120 ! ";
  gboolean live = FALSE;
  ElementPtr plain = parse(src + "fakesink sync=true");
  const GstClockTime without = pipeline_latency(plain.get(), &live);
  gst_element_set_state(plain.get(), GST_STATE_NULL);
  g_assert_true(live);
  ElementPtr with = parse(src + "heatmap name=h ! fakesink sync=true");
  g_assert_cmpuint(pipeline_latency(with.get(), &live), ==, without + 40 * GST_MSECOND);
  // Changed while playing: a LATENCY message, and the new value in the answer.
  GstBus *bus = gst_element_get_bus(with.get());
  gst_bus_set_flushing(bus, TRUE);
  gst_bus_set_flushing(bus, FALSE);
  g_object_set(by_name(with.get(), "h"), "processing-deadline",
               static_cast<guint64>(77 * GST_MSECOND), NULL);
  GstMessage *msg = gst_bus_timed_pop_filtered(bus, 5 * GST_SECOND, GST_MESSAGE_LATENCY);
  g_assert_nonnull(msg);
  gst_message_unref(msg);
  gst_object_unref(bus);
  GstQuery *q = gst_query_new_latency();
  g_assert_true(gst_element_query(with.get(), q));
  GstClockTime min = 0, max = 0;
  gst_query_parse_latency(q, &live, &min, &max);
  gst_query_unref(q);
  g_assert_cmpuint(min, ==, without + 77 * GST_MSECOND);
  g_assert_true(!GST_CLOCK_TIME_IS_VALID(max) || max >= min);
  gst_element_set_state(with.get(), GST_STATE_NULL);

  // Not live: nothing added (the element answers as its upstream does).
  ElementPtr file = parse(
      "videotestsrc is-live=false ! video/x-raw,width=160,height=120 ! heatmap name=h ! "
      "fakesink sync=true");
  pipeline_latency(file.get(), &live);
  GstPad *src_pad = gst_element_get_static_pad(by_name(file.get(), "h"), "src");
  GstPad *sink_pad = gst_element_get_static_pad(by_name(file.get(), "h"), "sink");
  q = gst_query_new_latency();
  g_assert_true(gst_pad_query(src_pad, q));
  gst_query_parse_latency(q, &live, &min, NULL);
  gst_query_unref(q);
  q = gst_query_new_latency();
  g_assert_true(gst_pad_peer_query(sink_pad, q));
  GstClockTime upstream_min = 0;
  gst_query_parse_latency(q, NULL, &upstream_min, NULL);
  gst_query_unref(q);
  gst_object_unref(src_pad);
  gst_object_unref(sink_pad);
  g_assert_false(live);
  g_assert_cmpuint(min, ==, upstream_min);
  gst_element_set_state(file.get(), GST_STATE_NULL);
}

// Frames of a live source that reach the element after the sink was to show them (here an
// upstream element spends 60 ms on each 40 ms frame, so they fall further behind every frame)
// are passed on without model work, counted as skipped; skip-frames=never still analyses each,
// and so does the element when no sink syncs to the clock (nothing can be late then).
void test_late_frames_skip_the_model() {
  auto frames = [](const char *skip, const char *sync = "true") {
    ElementPtr p = parse(std::string("videotestsrc is-live=true pattern=ball num-buffers=50 ! "
                                     "video/x-raw,format=I420,width=160,height=120,"
                                     "framerate=25/1 ! identity sleep-time=60000 ! heatmap "
                                     "skip-frames=") +
                         skip + " ! fakesink sync=" + sync);
    const RunResult r = run(p.get());
    g_assert_cmpuint(r.heatmaps.size(), ==, 1);
    return std::make_pair(u64(r.heatmaps[0].get(), "frames-processed"),
                          u64(r.heatmaps[0].get(), "frames-skipped"));
  };
  const auto [processed, skipped] = frames("auto");
  g_message("late source: %" G_GUINT64_FORMAT " analysed, %" G_GUINT64_FORMAT " skipped", processed,
            skipped);
  g_assert_cmpuint(processed + skipped, ==, 50);
  g_assert_cmpuint(skipped, >=, 35);  // all but the first few, which are still on time
  g_assert_cmpuint(processed, >=, 1);
  const auto [all, none] = frames("never");
  g_assert_cmpuint(all, ==, 50);
  g_assert_cmpuint(none, ==, 0);
  const auto [unsynced, unsynced_skipped] = frames("auto", "false");
  g_assert_cmpuint(unsynced, ==, 50);
  g_assert_cmpuint(unsynced_skipped, ==, 0);
}

}  // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/heatmap-live/interval/files-and-messages", test_interval_files_and_messages);
  g_test_add_func("/heatmap-live/window/reset-adds-up-to-cumulative",
                  test_reset_windows_add_up_to_cumulative);
  g_test_add_func("/heatmap-live/window/decay-formula", test_decay_follows_its_formula);
  g_test_add_func("/heatmap-live/image-pad/jpegs", test_image_pad_pushes_jpegs);
  g_test_add_func("/heatmap-live/format-location", test_format_location_signal);
  g_test_add_func("/heatmap-live/slow-writer-drops", test_slow_writer_drops_instead_of_stalling);
  g_test_add_func("/heatmap-live/window-end/never-holds-up-live-video",
                  test_window_end_never_holds_up_live_video);
  g_test_add_func("/heatmap-live/overlay/only-hot-pixels", test_overlay_changes_only_hot_pixels);
  g_test_add_func("/heatmap-live/latency/query-adds-processing-deadline",
                  test_latency_query_adds_processing_deadline);
  g_test_add_func("/heatmap-live/latency/late-frames-skip-the-model",
                  test_late_frames_skip_the_model);
  return g_test_run();
}
