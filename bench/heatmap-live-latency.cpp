// heatmap-live-latency.cpp: does the heatmap element hold up a live camera? Measures, on a live
// source at real-time pace, the latency the element adds per frame (p50/p99/max, from a probe on
// its sink pad to one on its src pad) and the frames a sync=true sink loses as late, with and
// without the element (same invocation, same machine load), with the overlay and periodic
// snapshots on.
//
// Three runs per round, in this order, on the same source: no element (the machine's own
// lateness), the element with `props` but overlay=false (the baseline), the element with `props`;
// the overlay's cost is read against the baseline of the same round (ratio of the p50/p99 added
// latency, and the difference in late frames). --rounds repeats the three to see the spread on
// a shared machine; a round whose run without the element already lost frames is marked as not
// clean (the machine, not the element, was late there). Each run also says how many frames the
// model analysed and how many it skipped (busy model or late frame: skip-frames, the messages'
// frames-processed and frames-skipped; reset windows add up to the run).
//
// Late frames are counted three ways, and the largest count is reported (LATE), so that no one
// of them can hide a loss: the sink's own `dropped` statistic, the QoS messages the sink posts
// for each late buffer, and a probe on the sink's pad comparing the pipeline clock with the
// moment the sink must show the frame (running time + the pipeline's latency, with GstBaseSink's
// limit: the buffer's end + max-lateness). The pipeline's latency (the LATENCY query once
// PLAYING) is printed per run: it includes what the element reports (processing-deadline).
//
// Usage: heatmap-live-latency [--seconds N] [--width W] [--height H] [--fps F] [--rounds R]
//                             [--props "overlay=true interval=1"] [--out DIR] [--show-late MS]
// Defaults: 20 s of 1920x1080 at 25 fps, 1 round; props "overlay=true overlay-refresh=1
// interval=2 window=reset"; snapshots go to a temporary folder. Exit status 0 when it ran (the
// figures are for people and benchmarks to judge, not an assertion), 1 on a pipeline error.
#include <gst/gst.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace {

constexpr double kMaxLatenessMs = 20;  // the sink's max-lateness, as video sinks

struct Options {
  double seconds = 20;
  int width = 1920;
  int height = 1080;
  int fps = 25;
  std::string props = "overlay=true overlay-refresh=1 interval=2 window=reset";
  std::string out;
  int rounds = 1;
  double show_late_ms = 0;  // print frames within this many ms of the sink's limit
};

struct Probe {
  std::mutex lock;
  std::map<GstClockTime, gint64> entered;  // PTS -> monotonic us at the sink pad
  std::vector<double> added_ms;
  std::map<GstClockTime, double> added_by_pts;
};

GstPadProbeReturn on_enter(GstPad *, GstPadProbeInfo *info, gpointer data) {
  auto *p = static_cast<Probe *>(data);
  GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);
  std::lock_guard<std::mutex> guard(p->lock);
  p->entered[GST_BUFFER_PTS(b)] = g_get_monotonic_time();
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn on_leave(GstPad *, GstPadProbeInfo *info, gpointer data) {
  auto *p = static_cast<Probe *>(data);
  GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);
  const gint64 now = g_get_monotonic_time();
  std::lock_guard<std::mutex> guard(p->lock);
  auto it = p->entered.find(GST_BUFFER_PTS(b));
  if (it != p->entered.end()) {
    p->added_ms.push_back((now - it->second) / 1000.0);
    p->added_by_pts[it->first] = p->added_ms.back();
    p->entered.erase(it);
  }
  return GST_PAD_PROBE_OK;
}

// At the sink's pad: how late each frame reaches the sink against the moment a sync=true sink
// must show it (running time + the pipeline's latency), from the pipeline clock, independent
// of the sink's own bookkeeping. GstBaseSink drops a buffer when the clock is past the END of
// the buffer (running time + duration) + latency + max-lateness; the probe counts the same.
// The same probe on the element's sink pad tells which frames were already past that limit
// when they reached the element (the machine or the source was late, not the element).
struct SinkProbe {
  GstElement *pipeline = nullptr;
  std::atomic<GstClockTime> latency{GST_CLOCK_TIME_NONE};  // the pipeline's, once PLAYING
  std::mutex lock;
  std::vector<double> late_ms;  // per frame: arrival - (running time + latency)
  std::map<GstClockTime, double> late_by_pts;
  double duration_ms = 0;
};

GstPadProbeReturn on_sink(GstPad *pad, GstPadProbeInfo *info, gpointer data) {
  auto *p = static_cast<SinkProbe *>(data);
  GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);
  GstClock *clock = gst_element_get_clock(p->pipeline);
  GstEvent *seg_event = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0);
  if (clock != nullptr && seg_event != nullptr) {
    const GstSegment *seg = nullptr;
    gst_event_parse_segment(seg_event, &seg);
    const GstClockTime rt = gst_segment_to_running_time(seg, GST_FORMAT_TIME, GST_BUFFER_PTS(b));
    const GstClockTime now = gst_clock_get_time(clock) - gst_element_get_base_time(p->pipeline);
    const GstClockTime latency = p->latency.load();
    std::lock_guard<std::mutex> guard(p->lock);
    if (GST_CLOCK_TIME_IS_VALID(rt) && GST_CLOCK_TIME_IS_VALID(latency)) {
      const double late = (static_cast<double>(now) - static_cast<double>(rt + latency)) / 1e6;
      p->late_ms.push_back(late);
      p->late_by_pts[GST_BUFFER_PTS(b)] = late;
    }
    if (GST_BUFFER_DURATION_IS_VALID(b))
      p->duration_ms = static_cast<double>(GST_BUFFER_DURATION(b)) / 1e6;
  }
  if (seg_event != nullptr)
    gst_event_unref(seg_event);
  if (clock != nullptr)
    gst_object_unref(clock);
  return GST_PAD_PROBE_OK;
}

struct Result {
  guint64 rendered = 0;
  guint64 dropped = 0;          // the sink's stats
  guint64 qos_dropped = 0;      // the sink's last QoS message (dropped so far)
  int qos_messages = 0;         // QoS messages the sink posted (one per late buffer)
  guint64 probe_late = 0;       // frames later than max-lateness at the sink's pad (SinkProbe)
  guint64 late_on_arrival = 0;  // of those, already past the limit at the element's input
  guint64 late_by_element = 0;  // of those, on time had the element taken no time (below)
  double latency_ms = 0;        // the pipeline's latency (what the sink waits for)
  double sink_lateness_max_ms = 0;
  double cpu_ms_per_frame = 0;  // the whole process (all threads: source, element, sink)  // worst
                                // arrival at the sink pad after running time + latency
  std::vector<double> added_ms;
  int snapshots = 0;
  int snapshot_drops = 0;
  guint64 frames_skipped = 0;  // by the busy model (messages' frames-skipped), not by the sink
  guint64 frames_processed = 0;
  bool ok = true;
};

double percentile(std::vector<double> v, double q) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(q * (v.size() - 1) + 0.5));
  return v[i];
}

// CPU time of this process so far (user + system, every thread).
double process_cpu_ms() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 +
         (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

Result run(const Options &o, bool with_heatmap, const std::string &props,
           const std::string &out_dir) {
  GstElement *pipeline = gst_pipeline_new("bench");
  GstElement *src = gst_element_factory_make("videotestsrc", nullptr);
  GstElement *caps = gst_element_factory_make("capsfilter", nullptr);
  GstElement *sink = gst_element_factory_make("fakesink", "sink");
  g_object_set(src, "is-live", TRUE, "pattern", 18 /* ball */, nullptr);
  GstCaps *c = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "I420", "width",
                                   G_TYPE_INT, o.width, "height", G_TYPE_INT, o.height, "framerate",
                                   GST_TYPE_FRACTION, o.fps, 1, nullptr);
  g_object_set(caps, "caps", c, nullptr);
  gst_caps_unref(c);
  // A display-like sink: on time or dropped (20 ms, as video sinks), QoS on.
  g_object_set(sink, "sync", TRUE, "qos", TRUE, "max-lateness",
               static_cast<gint64>(kMaxLatenessMs * 1e6), nullptr);
  gst_bin_add_many(GST_BIN(pipeline), src, caps, sink, nullptr);
  Probe probe;
  GstElement *heatmap = nullptr;
  if (with_heatmap) {
    heatmap = gst_element_factory_make("heatmap", nullptr);
    if (heatmap == nullptr) {
      std::fprintf(stderr,
                   "heatmap-live-latency: the heatmap element is not found "
                   "(GST_PLUGIN_PATH)\n");
      std::exit(1);
    }
    gchar **words = g_strsplit(props.c_str(), " ", -1);
    for (gchar **p = words; *p != nullptr; ++p) {
      gchar **kv = g_strsplit(*p, "=", 2);
      if (kv[0] != nullptr && kv[1] != nullptr)
        gst_util_set_object_arg(G_OBJECT(heatmap), kv[0], kv[1]);
      g_strfreev(kv);
    }
    g_strfreev(words);
    g_object_set(heatmap, "location", (out_dir + "/heat-%05d.jpg").c_str(), nullptr);
    gst_bin_add(GST_BIN(pipeline), heatmap);
    gst_element_link_many(src, caps, heatmap, sink, nullptr);
    GstPad *in = gst_element_get_static_pad(heatmap, "sink");
    GstPad *out = gst_element_get_static_pad(heatmap, "src");
    gst_pad_add_probe(in, GST_PAD_PROBE_TYPE_BUFFER, on_enter, &probe, nullptr);
    gst_pad_add_probe(out, GST_PAD_PROBE_TYPE_BUFFER, on_leave, &probe, nullptr);
    gst_object_unref(in);
    gst_object_unref(out);
  } else {
    gst_element_link_many(src, caps, sink, nullptr);
  }
  Result r;
  SinkProbe sink_probe, entry_probe;
  sink_probe.pipeline = pipeline;
  entry_probe.pipeline = pipeline;
  {
    // Without the element, the frames' arrival at the sink is their arrival "at the element".
    GstPad *pad = gst_element_get_static_pad(heatmap != nullptr ? heatmap : sink, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_sink, &entry_probe, nullptr);
    gst_object_unref(pad);
  }
  {
    GstPad *pad = gst_element_get_static_pad(sink, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_sink, &sink_probe, nullptr);
    gst_object_unref(pad);
  }
  const double cpu_start = process_cpu_ms();
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipeline);
  bool latency_known = false;
  const gint64 stop_at = g_get_monotonic_time() + static_cast<gint64>(o.seconds * 1e6);
  bool eos_sent = false;
  for (;;) {
    if (!eos_sent && g_get_monotonic_time() >= stop_at) {
      gst_element_send_event(pipeline, gst_event_new_eos());
      eos_sent = true;
    }
    GstMessage *m = gst_bus_timed_pop(bus, 50 * GST_MSECOND);
    if (m == nullptr)
      continue;
    const GstMessageType t = GST_MESSAGE_TYPE(m);
    if (!latency_known && t == GST_MESSAGE_ASYNC_DONE) {
      // The latency the pipeline configured (the sinks' deadline = running time + this).
      GstQuery *q = gst_query_new_latency();
      GstClockTime min = 0;
      if (gst_element_query(pipeline, q))
        gst_query_parse_latency(q, nullptr, &min, nullptr);
      gst_query_unref(q);
      r.latency_ms = static_cast<double>(min) / 1e6;
      sink_probe.latency = min;
      entry_probe.latency = min;
      latency_known = true;
    }
    if (t == GST_MESSAGE_QOS && GST_MESSAGE_SRC(m) == GST_OBJECT(sink)) {
      GstFormat format;
      guint64 processed = 0, dropped = 0;
      gst_message_parse_qos_stats(m, &format, &processed, &dropped);
      r.qos_messages++;
      r.qos_dropped = std::max(r.qos_dropped, dropped);
    }
    if (t == GST_MESSAGE_ELEMENT &&
        gst_structure_has_name(gst_message_get_structure(m), "heatmap")) {
      const GstStructure *s = gst_message_get_structure(m);
      guint64 n = 0;
      r.snapshots++;
      if (gst_structure_get_uint64(s, "frames-skipped", &n))
        r.frames_skipped += n;
      if (gst_structure_get_uint64(s, "frames-processed", &n))
        r.frames_processed += n;
    }
    if (t == GST_MESSAGE_WARNING) {
      GError *e = nullptr;
      gst_message_parse_warning(m, &e, nullptr);
      if (std::strstr(e->message, "Dropped heatmap snapshot") != nullptr)
        r.snapshot_drops++;
      g_error_free(e);
    }
    const bool done = t == GST_MESSAGE_EOS || t == GST_MESSAGE_ERROR;
    if (t == GST_MESSAGE_ERROR) {
      GError *e = nullptr;
      gst_message_parse_error(m, &e, nullptr);
      std::fprintf(stderr, "heatmap-live-latency: %s\n", e->message);
      g_error_free(e);
      r.ok = false;
    }
    gst_message_unref(m);
    if (done)
      break;
  }
  const double cpu_used = process_cpu_ms() - cpu_start;
  GstStructure *stats = nullptr;
  g_object_get(sink, "stats", &stats, nullptr);
  gst_structure_get_uint64(stats, "rendered", &r.rendered);
  gst_structure_get_uint64(stats, "dropped", &r.dropped);
  gst_structure_free(stats);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  r.added_ms = std::move(probe.added_ms);
  if (r.rendered + r.dropped > 0)
    r.cpu_ms_per_frame = cpu_used / static_cast<double>(r.rendered + r.dropped);
  const double limit = sink_probe.duration_ms + kMaxLatenessMs;
  // Which late frames the element made late: one streaming thread runs source, element and
  // sink, so a frame the element holds also delays the frames created after it, for as long
  // as the thread is behind. A frame that reached the element at its usual time (within 5 ms
  // of the earliest arrival: the source had waited for the clock) carries no earlier delay;
  // after it, the element's holds add up until the next such frame. A late frame counts as the
  // element's when its lateness minus that sum (and its own hold) would have been on time.
  // This leans towards blaming the element (the thread might have been late anyway).
  double usual = 0;
  if (!entry_probe.late_by_pts.empty()) {
    std::vector<double> arrivals;
    for (const auto &[pts, late] : entry_probe.late_by_pts)
      arrivals.push_back(late);
    usual = percentile(arrivals, 0.05);
  }
  double backlog = 0;
  for (const auto &[pts, late] : sink_probe.late_by_pts) {
    auto in = entry_probe.late_by_pts.find(pts);
    const bool known = in != entry_probe.late_by_pts.end();
    if (known && in->second <= usual + 5)
      backlog = 0;
    auto held = probe.added_by_pts.find(pts);
    const double hold = held != probe.added_by_pts.end() ? held->second : 0.0;
    if (late > limit) {
      r.probe_late++;
      if (known && in->second > limit)
        r.late_on_arrival++;
      if (with_heatmap && late - backlog - hold <= limit)
        r.late_by_element++;
    }
    backlog += hold;
  }
  for (std::size_t i = 0; i < sink_probe.late_ms.size(); ++i) {
    const double late = sink_probe.late_ms[i];
    if (o.show_late_ms > 0 && late > o.show_late_ms - sink_probe.duration_ms - kMaxLatenessMs)
      std::printf("    frame %zu reached the sink %+.1f ms after running time + latency\n", i,
                  late);
  }
  r.sink_lateness_max_ms = percentile(sink_probe.late_ms, 1.0);
  return r;
}

// Frames lost to lateness, by the strictest of the three counts (so none of them can hide a
// late frame): the sink's `dropped`, its QoS messages (each late buffer posts one), and the
// pad probe's own comparison with the pipeline clock.
guint64 late_frames(const Result &r) {
  return std::max({r.dropped, static_cast<guint64>(r.qos_messages), r.probe_late});
}

}  // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char * {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "heatmap-live-latency: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--seconds")
      o.seconds = std::atof(next());
    else if (a == "--width")
      o.width = std::atoi(next());
    else if (a == "--height")
      o.height = std::atoi(next());
    else if (a == "--fps")
      o.fps = std::atoi(next());
    else if (a == "--props")
      o.props = next();
    else if (a == "--rounds")
      o.rounds = std::max(1, std::atoi(next()));
    else if (a == "--out")
      o.out = next();
    else if (a == "--show-late")
      o.show_late_ms = std::atof(next());
    else {
      std::printf(
          "usage: heatmap-live-latency [--seconds N] [--width W] [--height H] [--fps F]\n"
          "                            [--rounds R] [--props \"overlay=true interval=1\"] "
          "[--out DIR]\n"
          "                            [--show-late MS: list frames within MS of the sink's "
          "limit]\n");
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  std::string out = o.out;
  bool temporary = false;
  if (out.empty()) {
    gchar *dir = g_dir_make_tmp("live-latency-XXXXXX", nullptr);
    out = dir;
    g_free(dir);
    temporary = true;
  }
  std::printf("live %dx%d@%d for %.0f s per run, heatmap %s\n", o.width, o.height, o.fps, o.seconds,
              o.props.c_str());
  // Later assignments win in gst_util_set_object_arg order: the baseline is props, overlay off.
  const std::string baseline_props = o.props + " overlay=false";
  bool ok = true;
  for (int round = 1; round <= o.rounds; ++round) {
    const Result none = run(o, false, "", out);
    const Result base = run(o, true, baseline_props, out);
    const Result with = run(o, true, o.props, out);
    ok = ok && none.ok && base.ok && with.ok;
    std::printf("round %d/%d\n", round, o.rounds);
    const std::pair<const char *, const Result *> runs[] = {{"without heatmap      ", &none},
                                                            {"heatmap overlay=false", &base},
                                                            {"heatmap (props)      ", &with}};
    for (const auto &[name, r] : runs) {
      std::printf("  %s: latency %.0f ms; %" G_GUINT64_FORMAT " rendered; late: %" G_GUINT64_FORMAT
                  " dropped (sink stats), %d QoS messages, %" G_GUINT64_FORMAT
                  " past the sink's limit at its pad (worst %+.1f ms) => LATE %" G_GUINT64_FORMAT
                  " (%" G_GUINT64_FORMAT " of them already late on arrival); CPU %.1f ms/frame",
                  name, r->latency_ms, r->rendered, r->dropped, r->qos_messages, r->probe_late,
                  r->sink_lateness_max_ms, late_frames(*r), r->late_on_arrival,
                  r->cpu_ms_per_frame);
      if (r != &none)
        std::printf(
            "; added p50 %.2f ms, p99 %.2f ms, max %.2f ms (%zu frames); snapshots %d, "
            "dropped %d; model analysed %" G_GUINT64_FORMAT ", skipped %" G_GUINT64_FORMAT,
            percentile(r->added_ms, 0.5), percentile(r->added_ms, 0.99),
            percentile(r->added_ms, 1.0), r->added_ms.size(), r->snapshots, r->snapshot_drops,
            r->frames_processed, r->frames_skipped);
      std::printf("\n");
    }
    const double p50b = percentile(base.added_ms, 0.5), p99b = percentile(base.added_ms, 0.99);
    std::printf("  props vs overlay=false: p50 x%.2f, p99 x%.2f; late frames %+" G_GINT64_FORMAT
                " (vs no element: %+" G_GINT64_FORMAT ")%s\n",
                p50b > 0 ? percentile(with.added_ms, 0.5) / p50b : 0.0,
                p99b > 0 ? percentile(with.added_ms, 0.99) / p99b : 0.0,
                static_cast<gint64>(late_frames(with)) - static_cast<gint64>(late_frames(base)),
                static_cast<gint64>(late_frames(with)) - static_cast<gint64>(late_frames(none)),
                late_frames(none) > 0 ? " [machine itself late: round not clean]" : "");
    // A frame on time when it reached the element but late at the sink was made late in the
    // element (or by a wait it caused for the frames behind it).
    std::printf(
        "  late frames the element caused (on time had it taken no time, counting the "
        "delay its holds passed on to the frames behind): overlay=false %" G_GUINT64_FORMAT
        ", props %" G_GUINT64_FORMAT "\n",
        base.late_by_element, with.late_by_element);
    std::fflush(stdout);
  }
  if (temporary)
    std::filesystem::remove_all(out);
  return ok ? 0 : 1;
}
