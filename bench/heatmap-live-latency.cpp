// heatmap-live-latency.cpp: does the heatmap element hold up a live camera? Measures, on a live
// source at real-time pace, which frames a sync=true sink loses as late BECAUSE of the element,
// and the latency the element adds per frame (p50/p99/max, from a probe on its sink pad to one
// on its src pad), with the overlay and periodic snapshots on.
//
// Paired design: one live source, teed into branches that each run on their own streaming
// thread (tee ! queue ! ... ! fakesink sync=true, as the element runs after a decoder's queue in
// a camera pipeline) in one pipeline: the reference without the element, the element with
// `props`, and by default a second branch without it (the A/A control). Every frame reaches
// every branch at the same moment, under the very same machine load, so a frame late at the
// element's sink while the same frame was on time at the reference's sink was made late by the
// element (its work on the streaming thread, or CPU its other threads took); the A/A branch shows
// how often a frame is late in one branch only by chance. Each branch first takes its own deep
// copy of the frame (the same work everywhere; the element draws on it in place, as on a
// decoder's buffer). --pair chooses the branches beside the reference: props (the element as
// asked), base (the element with overlay=false), none (A/A). --rounds repeats the run.
//
// Late frames are counted three ways per branch, and the largest count is reported (LATE), so
// that no one of them can hide a loss: the sink's own `dropped` statistic, the QoS messages the
// sink posts for each late buffer, and a probe on the sink's pad comparing the pipeline clock
// with the moment the sink must show the frame (running time + the pipeline's latency, with
// GstBaseSink's limit: the buffer's end + max-lateness). The pipeline's latency (the LATENCY
// query once PLAYING, the same for every sink) is printed: it includes what the element reports
// (processing-deadline). The paired comparison uses the pad probe's verdict per frame. The
// earlier, indirect attribution (holds since the frame's usual arrival) is printed too, so
// figures stay comparable with rounds measured before the paired design. Each element branch
// also says how many frames the model analysed and skipped (busy model or late frame).
//
// Usage: heatmap-live-latency [--seconds N] [--width W] [--height H] [--fps F] [--rounds R]
//                             [--props "overlay=true interval=1"] [--pair props,base,none]
//                             [--out DIR] [--show-late MS]
// Defaults: 20 s of 1920x1080 at 25 fps, 1 round, --pair props,none; props "overlay=true
// overlay-refresh=1 interval=2 window=reset"; snapshots go to a temporary folder. Exit status 0
// when it ran (the figures are for people and benchmarks to judge, not an assertion), 1 on a
// pipeline error.
#include <gst/gst.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
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
  // Branches beside the reference (no element): the element as asked, and a second branch
  // without it (the A/A control: how often a frame is late in one branch only by chance).
  std::vector<std::string> pair = {"props", "none"};
};

double load_average() {
  double l[1] = {0};
  return getloadavg(l, 1) == 1 ? l[0] : 0;
}

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
  std::map<guint64, double> late_by_frame;  // frame number from running time (across branches)
  int fps = 25;
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
      p->late_by_frame[gst_util_uint64_scale_round(rt, p->fps, GST_SECOND)] = late;
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
  std::string name;
  bool heatmap = false;
  guint64 rendered = 0;
  guint64 dropped = 0;          // the sink's stats
  guint64 qos_dropped = 0;      // the sink's last QoS message (dropped so far)
  int qos_messages = 0;         // QoS messages the sink posted (one per late buffer)
  guint64 probe_late = 0;       // frames later than max-lateness at the sink's pad (SinkProbe)
  guint64 late_on_arrival = 0;  // of those, already past the limit at the element's input
  guint64 late_by_holds = 0;    // of those, on time had the element taken no time (below)
  guint64 late_only_here = 0;   // late here, on time in the reference branch (paired, below)
  guint64 late_only_ref = 0;    // on time here, late in the reference branch
  guint64 late_both = 0;        // late in both branches (the machine)
  guint64 late_alone = 0;
  std::vector<guint64> alone_frames;  // their numbers (running time x fps), for --show-late // late
                                      // here while every other branch showed it on time
  guint64 paired = 0;                 // frames seen by both branches' sinks
  double latency_ms = 0;              // the pipeline's latency (what the sink waits for)
  double sink_lateness_max_ms = 0;    // worst arrival at the sink pad after running time + latency
  std::vector<double> added_ms;
  int snapshots = 0;
  int snapshot_drops = 0;
  guint64 frames_skipped = 0;  // by the busy model (messages' frames-skipped), not by the sink
  guint64 frames_processed = 0;
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

// One branch of a run: its own live source, optionally the element, a sync=true sink.
struct BranchSpec {
  std::string name;
  bool heatmap = false;
  std::string props;
};

struct Branch {
  BranchSpec spec;
  GstElement *sink = nullptr;
  GstElement *heatmap = nullptr;
  Probe probe;
  SinkProbe sink_probe, entry_probe;
  Result r;
};

void set_props(GstElement *e, const std::string &props) {
  gchar **words = g_strsplit(props.c_str(), " ", -1);
  for (gchar **p = words; *p != nullptr; ++p) {
    gchar **kv = g_strsplit(*p, "=", 2);
    if (kv[0] != nullptr && kv[1] != nullptr)
      gst_util_set_object_arg(G_OBJECT(e), kv[0], kv[1]);
    g_strfreev(kv);
  }
  g_strfreev(words);
}

// Each branch gets a writable buffer of its own (a deep copy, the same work in every branch),
// as the element gets it from a decoder: the overlay draws in place without a copy of its own.
GstPadProbeReturn own_copy(GstPad *, GstPadProbeInfo *info, gpointer) {
  GstBuffer *shared = GST_PAD_PROBE_INFO_BUFFER(info);
  GstBuffer *mine = gst_buffer_copy_deep(shared);
  gst_buffer_unref(shared);
  GST_PAD_PROBE_INFO_DATA(info) = mine;
  return GST_PAD_PROBE_OK;
}

// The live source, shared by every branch: videotestsrc ! capsfilter ! tee.
GstElement *add_source(const Options &o, GstElement *pipeline) {
  GstElement *src = gst_element_factory_make("videotestsrc", nullptr);
  GstElement *caps = gst_element_factory_make("capsfilter", nullptr);
  GstElement *tee = gst_element_factory_make("tee", nullptr);
  g_object_set(src, "is-live", TRUE, "pattern", 18 /* ball */, nullptr);
  GstCaps *c = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "I420", "width",
                                   G_TYPE_INT, o.width, "height", G_TYPE_INT, o.height, "framerate",
                                   GST_TYPE_FRACTION, o.fps, 1, nullptr);
  g_object_set(caps, "caps", c, nullptr);
  gst_caps_unref(c);
  gst_bin_add_many(GST_BIN(pipeline), src, caps, tee, nullptr);
  gst_element_link_many(src, caps, tee, nullptr);
  return tee;
}

// One branch: tee ! queue ! [heatmap] ! fakesink sync=true, its own streaming thread from the
// queue on (as the element's after a decoder's queue in a camera pipeline).
void add_branch(GstElement *pipeline, GstElement *tee, Branch &b, const std::string &out_dir,
                int index, int fps) {
  GstElement *queue = gst_element_factory_make("queue", nullptr);
  // Two seconds of frames, whatever their size: a branch that falls behind does not block the
  // source (and so the other branches) before that.
  g_object_set(queue, "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time",
               static_cast<guint64>(2 * GST_SECOND), nullptr);
  b.sink = gst_element_factory_make("fakesink", nullptr);
  // A display-like sink: on time or dropped (20 ms, as video sinks), QoS on.
  g_object_set(b.sink, "sync", TRUE, "qos", TRUE, "max-lateness",
               static_cast<gint64>(kMaxLatenessMs * 1e6), nullptr);
  gst_bin_add_many(GST_BIN(pipeline), queue, b.sink, nullptr);
  gst_element_link(tee, queue);
  {
    GstPad *pad = gst_element_get_static_pad(queue, "src");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, own_copy, nullptr, nullptr);
    gst_object_unref(pad);
  }
  GstElement *src = queue;
  if (b.spec.heatmap) {
    b.heatmap = gst_element_factory_make("heatmap", nullptr);
    if (b.heatmap == nullptr) {
      std::fprintf(stderr,
                   "heatmap-live-latency: the heatmap element is not found "
                   "(GST_PLUGIN_PATH)\n");
      std::exit(1);
    }
    set_props(b.heatmap, b.spec.props);
    const std::string location = out_dir + "/b" + std::to_string(index) + "-heat-%05d.jpg";
    g_object_set(b.heatmap, "location", location.c_str(), nullptr);
    gst_bin_add(GST_BIN(pipeline), b.heatmap);
    gst_element_link_many(src, b.heatmap, b.sink, nullptr);
    GstPad *in = gst_element_get_static_pad(b.heatmap, "sink");
    GstPad *out = gst_element_get_static_pad(b.heatmap, "src");
    gst_pad_add_probe(in, GST_PAD_PROBE_TYPE_BUFFER, on_enter, &b.probe, nullptr);
    gst_pad_add_probe(out, GST_PAD_PROBE_TYPE_BUFFER, on_leave, &b.probe, nullptr);
    gst_object_unref(in);
    gst_object_unref(out);
  } else {
    gst_element_link(src, b.sink);
  }
  b.sink_probe.pipeline = pipeline;
  b.entry_probe.pipeline = pipeline;
  b.sink_probe.fps = fps;
  b.entry_probe.fps = fps;
  {
    // Without the element, the frames' arrival at the sink is their arrival "at the element".
    GstPad *pad = gst_element_get_static_pad(b.heatmap != nullptr ? b.heatmap : b.sink, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_sink, &b.entry_probe, nullptr);
    gst_object_unref(pad);
  }
  {
    GstPad *pad = gst_element_get_static_pad(b.sink, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_sink, &b.sink_probe, nullptr);
    gst_object_unref(pad);
  }
}

// The older, indirect attribution (kept so that figures stay comparable with earlier rounds):
// one streaming thread runs source, element and sink, so a frame the element holds also delays
// the frames created after it, for as long as the thread is behind. A frame that reached the
// element at its usual time (within 5 ms of the earliest arrival: the source had waited for the
// clock) carries no earlier delay; after it, the element's holds add up until the next such
// frame. A late frame counts as the element's when its lateness minus that sum (and its own
// hold) would have been on time. It sees only the element's time on the streaming thread, not
// CPU its other threads take from the machine.
void attribute_by_holds(Branch &b, double limit) {
  double usual = 0;
  if (!b.entry_probe.late_by_pts.empty()) {
    std::vector<double> arrivals;
    for (const auto &[pts, late] : b.entry_probe.late_by_pts)
      arrivals.push_back(late);
    usual = percentile(arrivals, 0.05);
  }
  double backlog = 0;
  for (const auto &[pts, late] : b.sink_probe.late_by_pts) {
    auto in = b.entry_probe.late_by_pts.find(pts);
    const bool known = in != b.entry_probe.late_by_pts.end();
    if (known && in->second <= usual + 5)
      backlog = 0;
    auto held = b.probe.added_by_pts.find(pts);
    const double hold = held != b.probe.added_by_pts.end() ? held->second : 0.0;
    if (late > limit) {
      b.r.probe_late++;
      if (known && in->second > limit)
        b.r.late_on_arrival++;
      if (b.spec.heatmap && late - backlog - hold <= limit)
        b.r.late_by_holds++;
    }
    backlog += hold;
  }
}

// The paired attribution: every branch has its own live source, all on the same clock and base
// time, so frame N of every branch is due at the same moment, made under the same machine load.
// A frame late at this branch's sink while the same frame of the reference branch (no element)
// was on time was made late by what this branch has and the reference lacks: the element.
void attribute_paired(Branch &b, const Branch &ref, double limit) {
  for (const auto &[frame, late] : b.sink_probe.late_by_frame) {
    auto other = ref.sink_probe.late_by_frame.find(frame);
    if (other == ref.sink_probe.late_by_frame.end())
      continue;
    b.r.paired++;
    const bool here = late > limit, there = other->second > limit;
    if (here && there)
      b.r.late_both++;
    else if (here)
      b.r.late_only_here++;
    else if (there)
      b.r.late_only_ref++;
  }
}

// One run: every branch in one pipeline, started together; branch 0 is the reference.
std::vector<Result> run(const Options &o, const std::vector<BranchSpec> &specs,
                        const std::string &out_dir, double *cpu_ms_per_frame, bool *ok) {
  GstElement *pipeline = gst_pipeline_new("bench");
  GstElement *tee = add_source(o, pipeline);
  std::vector<std::unique_ptr<Branch>> branches;
  for (const BranchSpec &spec : specs) {
    branches.push_back(std::make_unique<Branch>());
    branches.back()->spec = spec;
    add_branch(pipeline, tee, *branches.back(), out_dir, static_cast<int>(branches.size()), o.fps);
  }
  auto branch_of_sink = [&](GstObject *obj) -> Branch * {
    for (auto &b : branches)
      if (GST_OBJECT(b->sink) == obj)
        return b.get();
    return nullptr;
  };
  auto branch_of_heatmap = [&](GstObject *obj) -> Branch * {
    for (auto &b : branches)
      if (b->heatmap != nullptr && GST_OBJECT(b->heatmap) == obj)
        return b.get();
    return nullptr;
  };
  const double cpu_start = process_cpu_ms();
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipeline);
  bool latency_known = false;
  double latency_ms = 0;
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
      // The latency the pipeline configured (every sink's deadline = running time + this).
      GstQuery *q = gst_query_new_latency();
      GstClockTime min = 0;
      if (gst_element_query(pipeline, q))
        gst_query_parse_latency(q, nullptr, &min, nullptr);
      gst_query_unref(q);
      latency_ms = static_cast<double>(min) / 1e6;
      for (auto &b : branches) {
        b->sink_probe.latency = min;
        b->entry_probe.latency = min;
      }
      latency_known = true;
    }
    if (t == GST_MESSAGE_QOS) {
      if (Branch *b = branch_of_sink(GST_MESSAGE_SRC(m))) {
        GstFormat format;
        guint64 processed = 0, dropped = 0;
        gst_message_parse_qos_stats(m, &format, &processed, &dropped);
        b->r.qos_messages++;
        b->r.qos_dropped = std::max(b->r.qos_dropped, dropped);
      }
    }
    if (t == GST_MESSAGE_ELEMENT &&
        gst_structure_has_name(gst_message_get_structure(m), "heatmap")) {
      if (Branch *b = branch_of_heatmap(GST_MESSAGE_SRC(m))) {
        const GstStructure *s = gst_message_get_structure(m);
        guint64 n = 0;
        b->r.snapshots++;
        if (gst_structure_get_uint64(s, "frames-skipped", &n))
          b->r.frames_skipped += n;
        if (gst_structure_get_uint64(s, "frames-processed", &n))
          b->r.frames_processed += n;
      }
    }
    if (t == GST_MESSAGE_WARNING) {
      GError *e = nullptr;
      gst_message_parse_warning(m, &e, nullptr);
      Branch *b = branch_of_heatmap(GST_MESSAGE_SRC(m));
      if (b != nullptr && std::strstr(e->message, "Dropped heatmap snapshot") != nullptr)
        b->r.snapshot_drops++;
      g_error_free(e);
    }
    const bool done = t == GST_MESSAGE_EOS || t == GST_MESSAGE_ERROR;
    if (t == GST_MESSAGE_ERROR) {
      GError *e = nullptr;
      gst_message_parse_error(m, &e, nullptr);
      std::fprintf(stderr, "heatmap-live-latency: %s\n", e->message);
      g_error_free(e);
      *ok = false;
    }
    gst_message_unref(m);
    if (done)
      break;
  }
  const double cpu_used = process_cpu_ms() - cpu_start;
  guint64 frames = 0;
  for (auto &b : branches) {
    GstStructure *stats = nullptr;
    g_object_get(b->sink, "stats", &stats, nullptr);
    gst_structure_get_uint64(stats, "rendered", &b->r.rendered);
    gst_structure_get_uint64(stats, "dropped", &b->r.dropped);
    gst_structure_free(stats);
    frames += b->r.rendered + b->r.dropped;
  }
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  *cpu_ms_per_frame = frames > 0 ? cpu_used / static_cast<double>(frames) * branches.size() : 0;
  // Frames late in one branch alone (every other branch showed them on time): the element's
  // share in its branch, chance in a branch without it (the reference, the A/A control).
  for (auto &b : branches) {
    const double limit = b->sink_probe.duration_ms + kMaxLatenessMs;
    for (const auto &[frame, late] : b->sink_probe.late_by_frame) {
      if (late <= limit)
        continue;
      bool alone = true;
      for (auto &other : branches) {
        if (other.get() == b.get())
          continue;
        auto it = other->sink_probe.late_by_frame.find(frame);
        alone = alone && it != other->sink_probe.late_by_frame.end() && it->second <= limit;
      }
      b->r.late_alone += alone ? 1 : 0;
      if (alone)
        b->r.alone_frames.push_back(frame);
    }
  }
  std::vector<Result> results;
  for (auto &b : branches) {
    b->r.name = b->spec.name;
    b->r.heatmap = b->spec.heatmap;
    b->r.latency_ms = latency_ms;
    b->r.added_ms = std::move(b->probe.added_ms);
    const double limit = b->sink_probe.duration_ms + kMaxLatenessMs;
    attribute_by_holds(*b, limit);
    if (b.get() != branches.front().get())
      attribute_paired(*b, *branches.front(), limit);
    for (std::size_t i = 0; i < b->sink_probe.late_ms.size(); ++i) {
      const double late = b->sink_probe.late_ms[i];
      if (o.show_late_ms > 0 && late > o.show_late_ms - limit)
        std::printf("    %s: frame %zu reached the sink %+.1f ms after running time + latency\n",
                    b->spec.name.c_str(), i, late);
    }
    b->r.sink_lateness_max_ms = percentile(b->sink_probe.late_ms, 1.0);
    results.push_back(std::move(b->r));
  }
  return results;
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
    else if (a == "--pair") {
      o.pair.clear();
      gchar **kinds = g_strsplit(next(), ",", -1);
      for (gchar **k = kinds; *k != nullptr; ++k) {
        if (std::strcmp(*k, "props") != 0 && std::strcmp(*k, "base") != 0 &&
            std::strcmp(*k, "none") != 0) {
          std::fprintf(stderr, "heatmap-live-latency: --pair takes props, base or none, not %s\n",
                       *k);
          std::exit(2);
        }
        o.pair.emplace_back(*k);
      }
      g_strfreev(kinds);
    } else if (a == "--show-late")
      o.show_late_ms = std::atof(next());
    else {
      std::printf(
          "usage: heatmap-live-latency [--seconds N] [--width W] [--height H] [--fps F]\n"
          "                            [--rounds R] [--props \"overlay=true interval=1\"] "
          "[--out DIR]\n"
          "                            [--pair props,base,none: branches beside the "
          "reference]\n"
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
  // Branch 0 is the reference (no element); the others are compared with it frame by frame.
  // Later assignments win in gst_util_set_object_arg order: the baseline is props, overlay off.
  std::vector<BranchSpec> specs = {{"without heatmap      ", false, ""}};
  for (const std::string &kind : o.pair) {
    if (kind == "props")
      specs.push_back({"heatmap (props)      ", true, o.props});
    else if (kind == "base")
      specs.push_back({"heatmap overlay=false", true, o.props + " overlay=false"});
    else
      specs.push_back({"without heatmap (A/A)", false, ""});
  }
  bool ok = true;
  std::vector<guint64> caused_total(specs.size(), 0), control_total(specs.size(), 0);
  std::vector<guint64> alone_total(specs.size(), 0);
  std::vector<int> rounds_caused(specs.size(), 0);
  for (int round = 1; round <= o.rounds; ++round) {
    double cpu = 0;
    const std::vector<Result> results = run(o, specs, out, &cpu, &ok);
    std::printf(
        "round %d/%d (load %.1f): pipeline latency %.0f ms, CPU %.1f ms per frame "
        "interval (all %zu branches)\n",
        round, o.rounds, load_average(), results.front().latency_ms, cpu, results.size());
    for (std::size_t k = 0; k < results.size(); ++k) {
      const Result &r = results[k];
      std::printf("  %s: %" G_GUINT64_FORMAT " rendered; late: %" G_GUINT64_FORMAT
                  " dropped (sink stats), %d QoS messages, %" G_GUINT64_FORMAT
                  " past the sink's limit at its pad (worst %+.1f ms) => LATE %" G_GUINT64_FORMAT
                  " (%" G_GUINT64_FORMAT " of them already late on arrival, %" G_GUINT64_FORMAT
                  " late here alone)",
                  r.name.c_str(), r.rendered, r.dropped, r.qos_messages, r.probe_late,
                  r.sink_lateness_max_ms, late_frames(r), r.late_on_arrival, r.late_alone);
      if (r.heatmap)
        std::printf(
            "; added p50 %.2f ms, p99 %.2f ms, max %.2f ms (%zu frames); snapshots %d, "
            "dropped %d; model analysed %" G_GUINT64_FORMAT ", skipped %" G_GUINT64_FORMAT
            "; caused by its holds (old rule) %" G_GUINT64_FORMAT,
            percentile(r.added_ms, 0.5), percentile(r.added_ms, 0.99), percentile(r.added_ms, 1.0),
            r.added_ms.size(), r.snapshots, r.snapshot_drops, r.frames_processed, r.frames_skipped,
            r.late_by_holds);
      std::printf("\n");
      if (o.show_late_ms > 0 && !r.alone_frames.empty()) {
        std::printf("    late here alone: frames");
        for (guint64 f : r.alone_frames)
          std::printf(" %" G_GUINT64_FORMAT, f);
        std::printf("\n");
      }
      alone_total[k] += r.late_alone;
      if (k == 0)
        continue;
      std::printf("    paired with the reference over %" G_GUINT64_FORMAT
                  " frames: late in both %" G_GUINT64_FORMAT ", late ONLY HERE %" G_GUINT64_FORMAT
                  "%s, late only in the reference %" G_GUINT64_FORMAT "\n",
                  r.paired, r.late_both, r.late_only_here,
                  r.heatmap ? " (= caused by the element)" : "", r.late_only_ref);
      caused_total[k] += r.late_only_here;
      control_total[k] += r.late_only_ref;
      rounds_caused[k] += r.late_only_here > 0 ? 1 : 0;
    }
    std::fflush(stdout);
  }
  for (std::size_t k = 0; k < specs.size(); ++k) {
    std::printf("over %d rounds, %s: %" G_GUINT64_FORMAT
                " frames late in this branch alone (every other branch on time)",
                o.rounds, specs[k].name.c_str(), alone_total[k]);
    if (k > 0)
      std::printf("; against the reference: %" G_GUINT64_FORMAT
                  " late only here (in %d rounds), %" G_GUINT64_FORMAT
                  " late only in the reference",
                  caused_total[k], rounds_caused[k], control_total[k]);
    std::printf("\n");
  }
  if (temporary)
    std::filesystem::remove_all(out);
  return ok ? 0 : 1;
}
