// gstheatmap.cpp: the `heatmap` element, thin GStreamer glue around heatmap::Accumulator.
/**
 * SECTION:element-heatmap
 * @title: heatmap
 *
 * Passes raw video through unchanged and, on the side, counts for every pixel of a downscaled
 * copy the number of frames in which something moved there (OpenCV MOG2 or KNN background
 * subtraction, shadows dropped, speckle removed by a morphological opening). At end-of-stream it
 * renders the counts as a colour heatmap blended over the learned empty scene and writes it as
 * a JPEG (#GstHeatmap:location), optionally writes the raw counts as a 16-bit greyscale PNG
 * (#GstHeatmap:raw-location), and posts an element message named `heatmap` with the fields
 * `location`, `raw-location`, `frames-processed` (guint64), `width`, `height` (gint),
 * `max-count` (guint) and `motion-coverage` (gdouble, fraction of pixels that ever moved).
 * The message is posted even without #GstHeatmap:location, for applications that only want the
 * figures. A stream that ends without any frame gives a warning and writes nothing; a file that
 * cannot be written gives a RESOURCE/OPEN_WRITE error naming it (and never leaves half a file).
 * A flush or a new stream starts the counts afresh, as does a change of frame size.
 *
 * Live cameras: with #GstHeatmap:interval the files are written (and the message posted) at the
 * end of every interval of running time, not only at end-of-stream; #GstHeatmap:window chooses
 * what each snapshot covers (cumulative, reset: each interval alone, decay: fading with
 * #GstHeatmap:half-life). Locations take patterns (`%05d` index, strftime fields of the window's
 * UTC start), or the application names files with the #GstHeatmap::format-location signal.
 * The message then also carries `index` (guint64), `start` and `end` (guint64 running time),
 * `start-utc` and `end-utc` (ISO 8601), `utc-source` ("reference-timestamp" when upstream put
 * a GstReferenceTimestampMeta timestamp/x-unix or timestamp/x-ntp on the buffers, e.g. rtspsrc
 * add-reference-timestamp-meta=true; else "pipeline-clock"), `window` and `final`.
 * A window's end never runs on the streaming thread: its counts, figures and learned scene
 * are taken on the model's thread in order with the frames, and the median, rendering,
 * encoding and writing run on a writer thread; when the writer is still busy with earlier
 * snapshots (slow disk, slow upload) a live snapshot is dropped with a warning. When the model
 * falls behind on a live source (#GstHeatmap:skip-frames), frames are skipped rather than held
 * up, and the message's `frames-skipped` (guint64) counts them: the video never waits.
 * In a live pipeline the element adds #GstHeatmap:processing-deadline to the latency it reports
 * (the LATENCY query), so a sync=true sink budgets for the time it may hold a frame, and a frame
 * that reaches it after the sink was to show it skips the model (counted as skipped too).
 * The optional `image` request pad pushes each snapshot's JPEG as an image/jpeg buffer
 * (carrying a timestamp/x-unix reference timestamp of the window start), e.g. to s3sink.
 * With #GstHeatmap:overlay the current heatmap is drawn onto the passing frames in place.
 *
 * Places (docs/metadata.md): #GstHeatmap:mask keeps pixels out of the counts (shown desaturated
 * on the JPEG), #GstHeatmap:zones measures per named polygon and #GstHeatmap:zone-interval the
 * share of its pixels moving; #GstHeatmap:metadata-location writes a JSON sidecar per snapshot,
 * #GstHeatmap:zones-csv-location the zone series as CSV and #GstHeatmap:scene-location the
 * learned empty scene. The files of a snapshot are written PNG, scene, CSV, sidecar and the JPEG
 * last; the message then also carries `metadata-location` and `zones` (an array of `zone`
 * structures: `name`, `mean-activity`, `active-seconds`, `peak`).
 *
 * Frames are only read, never copied or converted at full resolution: the element works in
 * place on I420, YV12, NV12, NV21, Y42B, Y444, GRAY8 and the packed RGB formats, so it can sit
 * in a live camera pipeline next to a display.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -e filesrc location=in.mp4 ! decodebin ! heatmap location=heat.jpg ! fakesink
 * ]| Writes heat.jpg when the file has been played to the end.
 * |[
 * gst-launch-1.0 -e v4l2src ! tee name=t t. ! queue ! videoconvert ! autovideosink \
 *     t. ! queue ! heatmap location=heatmap.jpg colormap=inferno ! fakesink
 * ]| Shows the camera and, after Ctrl-C (-e sends end-of-stream), writes the heatmap.
 * |[
 * gst-launch-1.0 rtspsrc location=rtsp://cam/stream add-reference-timestamp-meta=true ! \
 *     rtph264depay ! h264parse ! avdec_h264 ! heatmap interval=3600 window=reset name=h \
 *     location=maps/%Y/%m/%d/%H/heatmap.jpg ! fakesink \
 *     h.image ! queue ! s3sink location=s3://bucket/cam1/%Y/%m/%d/%H/heatmap.jpg
 * ]| Hourly heatmaps of a camera, on disk and in a bucket.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstheatmap.h"

#include "heatmap-core.h"
#include "location-pattern.h"
#include "overlay.h"
#include "places.h"
#include "serial-worker.h"
#include "snapshot.h"
#include "window.h"

#include <opencv2/imgproc.hpp>

#include <atomic>
#include <cmath>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>

GST_DEBUG_CATEGORY_STATIC(gst_heatmap_debug);
#define GST_CAT_DEFAULT gst_heatmap_debug

#define DEFAULT_LOCATION NULL
#define DEFAULT_RAW_LOCATION NULL
#define DEFAULT_DOWNSCALE 0.25
#define MIN_DOWNSCALE 0.01
#define DEFAULT_MAX_INPUT_PIXELS (1280 * 720)
#define DEFAULT_USE_BACKGROUND TRUE
#define DEFAULT_ALPHA 0.6
#define DEFAULT_COLORMAP GST_HEATMAP_COLORMAP_JET
#define DEFAULT_METHOD GST_HEATMAP_METHOD_SCENE
#define DEFAULT_HISTORY 500
#define MAX_HISTORY 100000
#define DEFAULT_VAR_THRESHOLD -1.0  // the method's own usual value
#define MOG2_VAR_THRESHOLD 16.0
#define KNN_VAR_THRESHOLD 400.0
#define MAX_VAR_THRESHOLD 10000.0
#define DEFAULT_DETECT_SHADOWS TRUE
#define DEFAULT_KEEP_SHADOWS FALSE
#define DEFAULT_LEARNING_RATE -1.0
#define DEFAULT_OPEN_KERNEL 3
#define MAX_OPEN_KERNEL 64
#define DEFAULT_BLUR 3.0
#define MAX_BLUR 100.0
#define DEFAULT_QUALITY 90
#define DEFAULT_FRAME_STEP 1
#define DEFAULT_INTERVAL 0.0
#define MAX_INTERVAL (366.0 * 24 * 3600)
#define DEFAULT_WINDOW GST_HEATMAP_WINDOW_CUMULATIVE
#define DEFAULT_HALF_LIFE 300.0
#define MIN_HALF_LIFE 0.001
#define DEFAULT_OVERLAY FALSE
#define DEFAULT_OVERLAY_REFRESH 1.0
#define DEFAULT_SKIP_FRAMES GST_HEATMAP_SKIP_FRAMES_AUTO
#define MIN_OVERLAY_REFRESH 0.0
// What the element adds to a live pipeline's latency (ns): the time it may hold a frame.
#define DEFAULT_PROCESSING_DEADLINE (40 * GST_MSECOND)
#define MAX_PROCESSING_DEADLINE (10 * GST_SECOND)
// Decay windows take the accumulator's counts at least this often (as a fraction of the
// half-life), so that weights follow 2^-(age/half-life) within about 1%.
#define DECAY_STEPS_PER_HALF_LIFE 64
// Snapshots queued or being written at once; one more is dropped with a warning.
#define WRITER_BACKLOG 2
#define DEFAULT_ZONE_INTERVAL 1.0
#define MIN_ZONE_INTERVAL 0.01
#define MAX_ZONE_INTERVAL 86400.0
#define DEFAULT_ZONE_THRESHOLD 0.01
#define DEFAULT_DRAW_ZONES FALSE

// The property defaults are the core's defaults; keep them from drifting apart.
namespace {
constexpr heatmap::Settings kCoreSettings{};
constexpr heatmap::RenderSettings kCoreRender{};
static_assert(kCoreSettings.downscale == DEFAULT_DOWNSCALE, "downscale default differs from core");
static_assert(kCoreSettings.max_input_pixels == DEFAULT_MAX_INPUT_PIXELS,
              "max-input-pixels default");
static_assert(kCoreSettings.history == DEFAULT_HISTORY, "history default differs from core");
static_assert(kCoreSettings.var_threshold == MOG2_VAR_THRESHOLD, "var-threshold default");
static_assert(kCoreSettings.detect_shadows == DEFAULT_DETECT_SHADOWS, "detect-shadows default");
static_assert(kCoreSettings.keep_shadows == DEFAULT_KEEP_SHADOWS, "keep-shadows default");
static_assert(kCoreSettings.learning_rate == DEFAULT_LEARNING_RATE, "learning-rate default");
static_assert(kCoreSettings.open_kernel == DEFAULT_OPEN_KERNEL, "open-kernel default");
static_assert(kCoreSettings.method == heatmap::Method::kScene, "method default differs from core");
static_assert(kCoreRender.use_background == DEFAULT_USE_BACKGROUND, "use-background default");
static_assert(kCoreRender.alpha == DEFAULT_ALPHA, "alpha default differs from core");
static_assert(kCoreRender.colormap == DEFAULT_COLORMAP, "colormap default differs from core");
static_assert(kCoreRender.blur == DEFAULT_BLUR, "blur default differs from core");
static_assert(int{GST_HEATMAP_COLORMAP_DEEPGREEN} == int{cv::COLORMAP_DEEPGREEN},
              "colormap values");
static_assert(int{GST_HEATMAP_COLORMAP_TURBO} == int{cv::COLORMAP_TURBO}, "colormap values");
}  // namespace

enum {
  PROP_0,
  PROP_LOCATION,
  PROP_RAW_LOCATION,
  PROP_DOWNSCALE,
  PROP_MAX_INPUT_PIXELS,
  PROP_USE_BACKGROUND,
  PROP_ALPHA,
  PROP_COLORMAP,
  PROP_METHOD,
  PROP_HISTORY,
  PROP_VAR_THRESHOLD,
  PROP_DETECT_SHADOWS,
  PROP_KEEP_SHADOWS,
  PROP_LEARNING_RATE,
  PROP_OPEN_KERNEL,
  PROP_BLUR,
  PROP_QUALITY,
  PROP_FRAME_STEP,
  PROP_INTERVAL,
  PROP_WINDOW,
  PROP_HALF_LIFE,
  PROP_OVERLAY,
  PROP_OVERLAY_REFRESH,
  PROP_SKIP_FRAMES,
  PROP_PROCESSING_DEADLINE,
  PROP_MASK,
  PROP_ZONES,
  PROP_ZONE_INTERVAL,
  PROP_ZONE_THRESHOLD,
  PROP_DRAW_ZONES,
  PROP_METADATA_LOCATION,
  PROP_ZONES_CSV_LOCATION,
  PROP_SCENE_LOCATION,
};

enum {
  SIGNAL_FORMAT_LOCATION,
  LAST_SIGNAL,
};
static guint gst_heatmap_signals[LAST_SIGNAL];

namespace {

// The core's model defaults, except var-threshold, which is "the method's own" until set.
heatmap::Settings default_model_properties() {
  heatmap::Settings settings;
  settings.var_threshold = DEFAULT_VAR_THRESHOLD;
  return settings;
}

// Property values; guarded by GST_OBJECT_LOCK because the application may set them while the
// streaming thread reads them.
struct Props {
  std::string location;      // empty: no JPEG
  std::string raw_location;  // empty: no PNG
  // Handed to the accumulator at start and at every reset (var_threshold < 0 resolved first).
  heatmap::Settings model = default_model_properties();
  heatmap::RenderSettings render;
  int quality = DEFAULT_QUALITY;
  guint frame_step = DEFAULT_FRAME_STEP;
  double interval = DEFAULT_INTERVAL;  // seconds of stream time; 0: at end-of-stream only
  GstHeatmapWindow window = DEFAULT_WINDOW;
  double half_life = DEFAULT_HALF_LIFE;
  bool overlay = DEFAULT_OVERLAY;
  double overlay_refresh = DEFAULT_OVERLAY_REFRESH;
  GstHeatmapSkipFrames skip_frames = DEFAULT_SKIP_FRAMES;
  guint64 processing_deadline = DEFAULT_PROCESSING_DEADLINE;  // ns
  heatmap::PlacesSettings places;  // mask, zones, zone-interval, zone-threshold, draw-zones
  std::string metadata_location;   // empty: no sidecar JSON
  std::string zones_csv_location;  // empty: no CSV
  std::string scene_location;      // empty: no scene JPEG
};

// Streaming state; only touched with the sink pad's stream lock held (buffers and serialized
// events) or while not streaming (start/stop). Except `window`: see there.
struct Stream {
  std::unique_ptr<heatmap::Accumulator> accumulator;
  guint64 frames_seen = 0;  // since the last reset, to apply frame-step
  // The current window: counts taken from the accumulator add up here. Touched only on the
  // model's thread, by tasks posted to the accumulator in order with the frames (drain_counts),
  // or by the streaming thread once the accumulator is idle (reset).
  heatmap::Window window;
  heatmap::WindowMode window_mode = heatmap::WindowMode::kCumulative;  // window's, for this thread
  guint64 frames_since_drain = 0;  // frames given to the accumulator since the last take
  // Frames the busy model skipped (skip-frames): in the current window (as frames_in_window),
  // in all, and whether the last frame was one (to log when skipping starts).
  guint64 frames_skipped_in_window = 0;
  guint64 frames_skipped_total = 0;
  bool skipping = false;
  // Of those, frames that reached the element with too little of its processing deadline
  // left (in all), see frame_is_late().
  guint64 frames_late_total = 0;
  // Fault injection for tests (env GST_HEATMAP_TEST_WINDOW_END_DELAY_MS, read at start): every
  // window's end takes this much longer on the model's thread, like a slow drain or median on a
  // starved machine. The video must not notice.
  guint test_window_end_delay_ms = 0;
  guint64 buffers_in_window = 0;  // buffers since the last snapshot (0: nothing left at EOS)
  bool snapshot_since_reset = false;
  int width = 0;  // frame size: a new size restarts the accumulator, so the window too
  int height = 0;
  bool window_open = false;  // a buffer with a timestamp arrived since the last reset
  bool live = false;         // upstream is live (asked when the first window opens)
  // The pipeline's latency (LATENCY event from downstream, any thread); NONE until one came.
  std::atomic<GstClockTime> pipeline_latency{GST_CLOCK_TIME_NONE};
  GstClockTime window_start = 0;  // running time
  GstClockTime last_end = 0;      // running time where the last buffer ended
  GstClockTime last_drain = 0;    // running time of the last take_counts (decay steps)
  GstClockTime last_overlay = GST_CLOCK_TIME_NONE;  // running time of the last layer refresh
  gint64 window_start_utc_us = 0;
  const char *utc_source = "pipeline-clock";
  guint64 next_index = 0;  // index of the next snapshot; kept across flushes
  // Places and what the sidecar says about the stream.
  std::shared_ptr<heatmap::Places> places;  // loaded at start; its meter follows the windows
  GstClockTime zones_origin = 0;            // running time of the zone series' offset 0
  GstClockTime stream_start = 0;            // running time where the first window opened
  gint64 stream_start_utc_us = 0;
  guint64 frames_in_window = 0;            // frames (not gaps) the sidecar's window covers
  double fps = 0;                          // from the caps; 0: variable or unknown
  GstClockTime frame_duration = 0;         // from the caps, for untimed buffers
  bool timed = true;                       // every frame had a timestamp
  std::optional<gint64> tag_start_utc_us;  // the stream's datetime tag
  std::optional<std::string> source;       // upstream's URI, sanitised; asked once
};

// Shared between the streaming thread and the two background workers.
struct Output {
  // Writes snapshots (render, encode, files, image pad, message); bounded, drops when busy.
  std::unique_ptr<heatmap::SerialWorker> writer;
  // Renders the overlay's heat layer; a refresh that finds it busy is skipped.
  std::unique_ptr<heatmap::SerialWorker> layer_builder;
  std::mutex layer_lock;
  std::shared_ptr<const heatmap::OverlayLayer> layer;  // guarded by layer_lock
  // The `image` request pad (GST_OBJECT_LOCK); its stream state is only touched by the writer
  // thread, or by the streaming thread once the writer is idle (EOS).
  GstPad *image_pad = nullptr;
  bool image_stream_started = false;
  int image_width = 0;
  int image_height = 0;
  std::atomic<guint64> dropped{0};  // snapshots dropped because the writer was busy
};

struct Private {
  Props props;
  Stream stream;
  Output output;
};

}  // namespace

struct _GstHeatmap {
  GstVideoFilter parent;
  // Constructed in place in init and destroyed in finalize: GObject allocates the instance.
  Private priv;
};

#define gst_heatmap_parent_class parent_class
G_DEFINE_TYPE(GstHeatmap, gst_heatmap, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE(heatmap, "heatmap", GST_RANK_NONE, GST_TYPE_HEATMAP);

// The formats the core reads directly (see heatmap::PixelFormat).
#define HEATMAP_FORMATS                                                                         \
  "{ I420, YV12, NV12, NV21, Y42B, Y444, GRAY8, BGR, RGB, BGRx, RGBx, xRGB, xBGR, BGRA, RGBA, " \
  "ARGB, ABGR }"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(HEATMAP_FORMATS)));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(HEATMAP_FORMATS)));
// The heatmap JPEG of each snapshot, as a stream of its own (e.g. ! s3sink).
static GstStaticPadTemplate image_template =
    GST_STATIC_PAD_TEMPLATE("image", GST_PAD_SRC, GST_PAD_REQUEST, GST_STATIC_CAPS("image/jpeg"));

GType gst_heatmap_window_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_HEATMAP_WINDOW_CUMULATIVE, "Cumulative: everything since the stream started",
       "cumulative"},
      {GST_HEATMAP_WINDOW_RESET, "Reset: each interval on its own (hourly maps from a 24/7 camera)",
       "reset"},
      {GST_HEATMAP_WINDOW_DECAY,
       "Decay: exponentially fading, a frame half-life seconds old weighs half", "decay"},
      {0, NULL, NULL},
  };
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstHeatmapWindow", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

GType gst_heatmap_skip_frames_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_HEATMAP_SKIP_FRAMES_AUTO,
       "Auto: skip frames the busy model has no time for on live sources only", "auto"},
      {GST_HEATMAP_SKIP_FRAMES_NEVER,
       "Never: analyse every frame, the video waits for the model if need be", "never"},
      {GST_HEATMAP_SKIP_FRAMES_WHEN_BUSY,
       "When busy: skip frames the busy model has no time for, on any source", "when-busy"},
      {0, NULL, NULL},
  };
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstHeatmapSkipFrames", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

GType gst_heatmap_colormap_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_HEATMAP_COLORMAP_AUTUMN, "Autumn: red to yellow", "autumn"},
      {GST_HEATMAP_COLORMAP_BONE, "Bone: bluish grey scale", "bone"},
      {GST_HEATMAP_COLORMAP_JET, "Jet: blue, cyan, yellow, red (classic)", "jet"},
      {GST_HEATMAP_COLORMAP_WINTER, "Winter: blue to green", "winter"},
      {GST_HEATMAP_COLORMAP_RAINBOW, "Rainbow: red to violet", "rainbow"},
      {GST_HEATMAP_COLORMAP_OCEAN, "Ocean: green-blue to white", "ocean"},
      {GST_HEATMAP_COLORMAP_SUMMER, "Summer: green to yellow", "summer"},
      {GST_HEATMAP_COLORMAP_SPRING, "Spring: magenta to yellow", "spring"},
      {GST_HEATMAP_COLORMAP_COOL, "Cool: cyan to magenta", "cool"},
      {GST_HEATMAP_COLORMAP_HSV, "HSV: full hue circle", "hsv"},
      {GST_HEATMAP_COLORMAP_PINK, "Pink: pastel sepia", "pink"},
      {GST_HEATMAP_COLORMAP_HOT, "Hot: black, red, yellow, white", "hot"},
      {GST_HEATMAP_COLORMAP_PARULA, "Parula: blue to yellow (MATLAB)", "parula"},
      {GST_HEATMAP_COLORMAP_MAGMA, "Magma: black, purple, cream (perceptually uniform)", "magma"},
      {GST_HEATMAP_COLORMAP_INFERNO, "Inferno: black, purple, yellow (perceptually uniform)",
       "inferno"},
      {GST_HEATMAP_COLORMAP_PLASMA, "Plasma: blue, purple, yellow (perceptually uniform)",
       "plasma"},
      {GST_HEATMAP_COLORMAP_VIRIDIS, "Viridis: purple, teal, yellow (perceptually uniform)",
       "viridis"},
      {GST_HEATMAP_COLORMAP_CIVIDIS, "Cividis: blue to yellow (colour-blind friendly)", "cividis"},
      {GST_HEATMAP_COLORMAP_TWILIGHT, "Twilight: cyclic, white-blue-black-red-white", "twilight"},
      {GST_HEATMAP_COLORMAP_TWILIGHT_SHIFTED, "Twilight shifted: cyclic, black centred",
       "twilight-shifted"},
      {GST_HEATMAP_COLORMAP_TURBO, "Turbo: improved jet", "turbo"},
      {GST_HEATMAP_COLORMAP_DEEPGREEN, "Deep green: black to green to white", "deepgreen"},
      {0, NULL, NULL},
  };
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstHeatmapColormap", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

GType gst_heatmap_method_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_HEATMAP_METHOD_MOG2, "Mixture of Gaussians (OpenCV MOG2), marks shadows", "mog2"},
      {GST_HEATMAP_METHOD_KNN, "K nearest neighbours (OpenCV KNN), marks shadows", "knn"},
      {GST_HEATMAP_METHOD_SCENE,
       "Colour scene model compensating camera movement and lighting changes, marks shadows",
       "scene"},
      {0, NULL, NULL},
  };
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstHeatmapMethod", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

static GstHeatmapMethod gst_method(heatmap::Method method) {
  switch (method) {
    case heatmap::Method::kKnn:
      return GST_HEATMAP_METHOD_KNN;
    case heatmap::Method::kScene:
      return GST_HEATMAP_METHOD_SCENE;
    default:
      return GST_HEATMAP_METHOD_MOG2;
  }
}

static heatmap::Settings current_model_settings(GstHeatmap *self) {
  GST_OBJECT_LOCK(self);
  heatmap::Settings settings = self->priv.props.model;
  GST_OBJECT_UNLOCK(self);
  // The two subtractors measure distance differently, so one fixed default would suit only
  // one of them: `method=knn` alone must work as well as the default mog2.
  if (settings.var_threshold < 0)
    settings.var_threshold =
        settings.method == heatmap::Method::kKnn ? KNN_VAR_THRESHOLD : MOG2_VAR_THRESHOLD;
  return settings;
}

static heatmap::Window new_window(GstHeatmap *self) {
  GST_OBJECT_LOCK(self);
  const GstHeatmapWindow mode = self->priv.props.window;
  const double half_life = self->priv.props.half_life;
  GST_OBJECT_UNLOCK(self);
  switch (mode) {
    case GST_HEATMAP_WINDOW_RESET:
      return heatmap::Window(heatmap::WindowMode::kReset);
    case GST_HEATMAP_WINDOW_DECAY:
      return heatmap::Window(heatmap::WindowMode::kDecay, half_life);
    default:
      return heatmap::Window(heatmap::WindowMode::kCumulative);
  }
}

// The nick of an enum value, as gst-inspect-1.0 and gst_util_set_object_arg spell it.
static const char *enum_nick(GType type, gint value) {
  GEnumClass *klass = G_ENUM_CLASS(g_type_class_ref(type));
  const GEnumValue *v = g_enum_get_value(klass, value);
  const char *nick = v ? v->value_nick : "";
  g_type_class_unref(klass);  // a static type's class and its strings are never freed
  return nick;
}

static const char *window_name(heatmap::WindowMode mode) {
  const GstHeatmapWindow window = mode == heatmap::WindowMode::kReset ? GST_HEATMAP_WINDOW_RESET
                                  : mode == heatmap::WindowMode::kDecay
                                      ? GST_HEATMAP_WINDOW_DECAY
                                      : GST_HEATMAP_WINDOW_CUMULATIVE;
  return enum_nick(GST_TYPE_HEATMAP_WINDOW, window);
}

// Forgets the accumulated motion and applies the current model and window settings. Snapshots
// already handed to the writer are still written.
static void gst_heatmap_reset(GstHeatmap *self) {
  Stream &stream = self->priv.stream;
  stream.frames_seen = 0;
  stream.frames_since_drain = 0;
  stream.frames_skipped_in_window = 0;
  stream.skipping = false;
  stream.buffers_in_window = 0;
  stream.snapshot_since_reset = false;
  stream.width = stream.height = 0;
  stream.window_open = false;
  stream.last_end = 0;
  stream.last_drain = 0;
  stream.last_overlay = GST_CLOCK_TIME_NONE;
  stream.frames_in_window = 0;
  stream.timed = true;
  stream.zones_origin = 0;
  if (!stream.accumulator) {
    stream.window = new_window(self);
    stream.window_mode = stream.window.mode();
    return;
  }
  GST_DEBUG_OBJECT(self, "resetting the accumulator");
  try {
    // The tasks still queued (a window's end) finish first: they use the window.
    stream.accumulator->wait_idle();
  } catch (const std::exception &e) {
    GST_WARNING_OBJECT(self, "the motion model failed before a reset: %s", e.what());
  }
  stream.window = new_window(self);
  stream.window_mode = stream.window.mode();
  {
    // After the wait: a layer refresh still queued would have brought the old heat back.
    std::lock_guard<std::mutex> guard(self->priv.output.layer_lock);
    self->priv.output.layer.reset();
  }
  stream.accumulator->set_settings(current_model_settings(self));
  stream.accumulator->reset();
  // After the reset: the accumulator has no frame queued, so its worker is not in the meter.
  if (stream.places)
    stream.places->restart(0);
}

// Checks the location patterns, so that a typo fails at start-up rather than at the first
// snapshot an hour later.
static bool check_patterns(GstHeatmap *self) {
  GST_OBJECT_LOCK(self);
  const Props &p = self->priv.props;
  const std::string locations[] = {p.location, p.raw_location, p.metadata_location,
                                   p.zones_csv_location, p.scene_location};
  GST_OBJECT_UNLOCK(self);
  for (const std::string &location : locations) {
    try {
      heatmap::LocationPattern::parse(location);
    } catch (const std::invalid_argument &e) {
      GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Invalid file name pattern: %s.", e.what()),
                        (NULL));
      return false;
    }
  }
  return true;
}

static gboolean gst_heatmap_start(GstBaseTransform *trans) {
  GstHeatmap *self = GST_HEATMAP(trans);
  if (!check_patterns(self))
    return FALSE;
  // A bad mask or zones file fails the pipeline before any frame, so nothing is written.
  GST_OBJECT_LOCK(self);
  const heatmap::PlacesSettings places_settings = self->priv.props.places;
  GST_OBJECT_UNLOCK(self);
  auto places = std::make_shared<heatmap::Places>();
  std::string error;
  if (!places->load(places_settings, &error)) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("%s", error.c_str()), (NULL));
    return FALSE;
  }
  Output &out = self->priv.output;
  out.writer = std::make_unique<heatmap::SerialWorker>(WRITER_BACKLOG);
  out.layer_builder = std::make_unique<heatmap::SerialWorker>(1);
  out.image_stream_started = false;
  out.dropped = 0;
  Stream &stream = self->priv.stream;
  stream.frames_skipped_total = 0;
  stream.frames_late_total = 0;
  stream.pipeline_latency = GST_CLOCK_TIME_NONE;
  const gchar *delay = g_getenv("GST_HEATMAP_TEST_WINDOW_END_DELAY_MS");
  stream.test_window_end_delay_ms =
      delay != NULL ? static_cast<guint>(g_ascii_strtoull(delay, NULL, 10)) : 0;
  stream.accumulator = std::make_unique<heatmap::Accumulator>(current_model_settings(self));
  stream.places = std::move(places);
  stream.places->attach(*stream.accumulator);
  stream.next_index = 0;
  stream.tag_start_utc_us.reset();
  stream.source.reset();
  gst_heatmap_reset(self);
  return TRUE;
}

static gboolean gst_heatmap_stop(GstBaseTransform *trans) {
  GstHeatmap *self = GST_HEATMAP(trans);
  Output &out = self->priv.output;
  // Joins the workers: snapshots already queued are finished, none is half-written. The model's
  // thread first: its queued tasks hand snapshots and layers to the other two.
  if (self->priv.stream.accumulator) {
    try {
      self->priv.stream.accumulator->wait_idle();
    } catch (const std::exception &e) {
      GST_WARNING_OBJECT(self, "the motion model failed: %s", e.what());
    }
  }
  self->priv.stream.accumulator.reset();
  out.writer.reset();
  out.layer_builder.reset();
  {
    std::lock_guard<std::mutex> guard(out.layer_lock);
    out.layer.reset();
  }
  if (out.dropped > 0)
    GST_INFO_OBJECT(self, "%" G_GUINT64_FORMAT " snapshots were dropped", out.dropped.load());
  if (self->priv.stream.frames_skipped_total > 0)
    GST_INFO_OBJECT(self,
                    "the motion model skipped %" G_GUINT64_FORMAT " frames (%" G_GUINT64_FORMAT
                    " of them late for the processing deadline)",
                    self->priv.stream.frames_skipped_total, self->priv.stream.frames_late_total);
  self->priv.stream.places.reset();
  return TRUE;
}

static bool to_pixel_format(GstVideoFormat format, heatmap::PixelFormat *out) {
  using heatmap::PixelFormat;
  switch (format) {
    case GST_VIDEO_FORMAT_GRAY8:
      *out = PixelFormat::kGray8;
      return true;
    case GST_VIDEO_FORMAT_I420:
      *out = PixelFormat::kI420;
      return true;
    case GST_VIDEO_FORMAT_YV12:
      *out = PixelFormat::kYV12;
      return true;
    case GST_VIDEO_FORMAT_NV12:
      *out = PixelFormat::kNV12;
      return true;
    case GST_VIDEO_FORMAT_NV21:
      *out = PixelFormat::kNV21;
      return true;
    case GST_VIDEO_FORMAT_Y42B:
      *out = PixelFormat::kY42B;
      return true;
    case GST_VIDEO_FORMAT_Y444:
      *out = PixelFormat::kY444;
      return true;
    case GST_VIDEO_FORMAT_BGR:
      *out = PixelFormat::kBGR;
      return true;
    case GST_VIDEO_FORMAT_RGB:
      *out = PixelFormat::kRGB;
      return true;
    case GST_VIDEO_FORMAT_BGRx:
    case GST_VIDEO_FORMAT_BGRA:
      *out = PixelFormat::kBGRx;
      return true;
    case GST_VIDEO_FORMAT_RGBx:
    case GST_VIDEO_FORMAT_RGBA:
      *out = PixelFormat::kRGBx;
      return true;
    case GST_VIDEO_FORMAT_xRGB:
    case GST_VIDEO_FORMAT_ARGB:
      *out = PixelFormat::kxRGB;
      return true;
    case GST_VIDEO_FORMAT_xBGR:
    case GST_VIDEO_FORMAT_ABGR:
      *out = PixelFormat::kxBGR;
      return true;
    default:
      return false;
  }
}

// Describes a mapped frame to the core; planes are passed in memory order, which is the
// order heatmap::PixelFormat documents (YV12: Y, V, U).
static bool frame_view(const GstVideoFrame &frame, heatmap::FrameView *view) {
  const GstVideoInfo &info = frame.info;
  if (!to_pixel_format(GST_VIDEO_INFO_FORMAT(&info), &view->format))
    return false;
  view->width = GST_VIDEO_INFO_WIDTH(&info);
  view->height = GST_VIDEO_INFO_HEIGHT(&info);
  const guint n_planes = GST_VIDEO_INFO_N_PLANES(&info);
  for (guint i = 0; i < n_planes && i < 3; ++i) {
    view->planes[i].data = static_cast<const std::uint8_t *>(GST_VIDEO_FRAME_PLANE_DATA(&frame, i));
    view->planes[i].stride = static_cast<std::size_t>(GST_VIDEO_FRAME_PLANE_STRIDE(&frame, i));
  }
  view->matrix = info.colorimetry.matrix == GST_VIDEO_COLOR_MATRIX_BT709
                     ? heatmap::YuvMatrix::kBt709
                     : heatmap::YuvMatrix::kBt601;
  view->full_range = info.colorimetry.range == GST_VIDEO_COLOR_RANGE_0_255;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Windows and wall clock (streaming thread)

static GstClockTime running_time_of(GstHeatmap *self, GstBuffer *buffer) {
  const GstClockTime pts = GST_BUFFER_PTS(buffer);
  if (!GST_CLOCK_TIME_IS_VALID(pts))
    return GST_CLOCK_TIME_NONE;
  const GstSegment &segment = GST_BASE_TRANSFORM(self)->segment;
  if (segment.format != GST_FORMAT_TIME)
    return GST_CLOCK_TIME_NONE;
  return gst_segment_to_running_time(&segment, GST_FORMAT_TIME, pts);
}

// Seconds between 1900 (NTP) and 1970 (Unix).
#define NTP_UNIX_OFFSET_S G_GINT64_CONSTANT(2208988800)

// Wall clock (microseconds since 1970 UTC) of the instant at running time `at`, from the
// buffer's reference timestamp when upstream gave one (rtspsrc's RTCP sender reports with
// add-reference-timestamp-meta, or any element adding timestamp/x-unix), else from the pipeline
// clock: now, minus how long ago `at` was in running time.
static gint64 wall_clock_at(GstHeatmap *self, GstBuffer *buffer, GstClockTime buffer_rt,
                            GstClockTime at, const char **source) {
  static GstCaps *unix_caps = gst_caps_new_empty_simple("timestamp/x-unix");
  static GstCaps *ntp_caps = gst_caps_new_empty_simple("timestamp/x-ntp");
  const GstClockTimeDiff offset_ns = GST_CLOCK_DIFF(at, buffer_rt);  // buffer_rt - at
  GstReferenceTimestampMeta *meta = gst_buffer_get_reference_timestamp_meta(buffer, unix_caps);
  gint64 epoch_offset_us = 0;
  if (meta == NULL) {
    meta = gst_buffer_get_reference_timestamp_meta(buffer, ntp_caps);
    epoch_offset_us = NTP_UNIX_OFFSET_S * G_USEC_PER_SEC;
  }
  if (meta != NULL && GST_CLOCK_TIME_IS_VALID(meta->timestamp)) {
    *source = "reference-timestamp";
    return static_cast<gint64>(meta->timestamp / 1000) - epoch_offset_us - offset_ns / 1000;
  }
  *source = "pipeline-clock";
  const gint64 now_us = g_get_real_time();
  GstClock *clock = gst_element_get_clock(GST_ELEMENT(self));
  if (clock == NULL)
    return now_us;
  const GstClockTime now = gst_clock_get_time(clock);
  gst_object_unref(clock);
  const GstClockTime base = gst_element_get_base_time(GST_ELEMENT(self));
  if (!GST_CLOCK_TIME_IS_VALID(now) || !GST_CLOCK_TIME_IS_VALID(base) || now < base)
    return now_us;
  const GstClockTimeDiff ago = GST_CLOCK_DIFF(at, now - base);  // (now - base) - at
  return now_us - ago / 1000;
}

// Starts the image pad's stream: stream-start, caps, a TIME segment from 0 (buffers carry the
// element's running time) and a GAP, so that a sink there prerolls long before the first
// snapshot exists, as for any sparse stream. Everything on the image pad is pushed from the
// writer thread: a sink prerolling on it blocks the pushing thread, which must never be the
// video's.
static void start_image_stream(GstHeatmap *self, GstClockTime at) {
  Output &out = self->priv.output;
  GST_OBJECT_LOCK(self);
  GstPad *pad = out.image_pad != NULL ? GST_PAD(gst_object_ref(out.image_pad)) : NULL;
  GST_OBJECT_UNLOCK(self);
  if (pad == NULL || out.image_stream_started) {
    if (pad != NULL)
      gst_object_unref(pad);
    return;
  }
  gchar *id = gst_pad_create_stream_id(pad, GST_ELEMENT(self), "image");
  gst_pad_push_event(pad, gst_event_new_stream_start(id));
  g_free(id);
  GstCaps *caps = gst_caps_new_simple("image/jpeg", "framerate", GST_TYPE_FRACTION, 0, 1, NULL);
  gst_pad_push_event(pad, gst_event_new_caps(caps));
  gst_caps_unref(caps);
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  gst_pad_push_event(pad, gst_event_new_segment(&segment));
  gst_pad_push_event(pad,
                     gst_event_new_gap(GST_CLOCK_TIME_IS_VALID(at) ? at : 0, GST_CLOCK_TIME_NONE));
  out.image_stream_started = true;
  gst_object_unref(pad);
}

// Opens a window at running time `start`. The zone series restarts with each window, except
// in cumulative mode, where it covers the stream like the map does (on the model's thread, in
// order with the frames: after the last window's snapshot took its series).
static void open_window(GstHeatmap *self, GstBuffer *buffer, GstClockTime buffer_rt,
                        GstClockTime start, bool first) {
  Stream &s = self->priv.stream;
  s.window_open = true;
  s.window_start = start;
  s.window_start_utc_us = wall_clock_at(self, buffer, buffer_rt, start, &s.utc_source);
  if (first) {
    s.stream_start = start;
    s.stream_start_utc_us = s.window_start_utc_us;
  }
  if ((first && s.frames_seen == 0) || s.window_mode != heatmap::WindowMode::kCumulative) {
    s.zones_origin = start;
    std::shared_ptr<heatmap::Places> places = s.places;
    s.accumulator->post([places, start](heatmap::Accumulator::State &) {
      places->restart(static_cast<std::int64_t>(start));
    });
  }
  GST_DEBUG_OBJECT(self, "window %" G_GUINT64_FORMAT " opens at %" GST_TIME_FORMAT " (%s, %s)",
                   s.next_index, GST_TIME_ARGS(start),
                   heatmap::iso8601_utc(s.window_start_utc_us).c_str(), s.utc_source);
}

using ModelTask = std::function<void(heatmap::Accumulator::State &)>;

// Moves the accumulator's new counts into the window, at running time `at`, then runs `then`
// (if any): both on the model's thread once it has processed the frames given so far, so the
// streaming thread never waits for a busy model here.
static void drain_counts(GstHeatmap *self, GstClockTime at, ModelTask then = nullptr) {
  Stream &s = self->priv.stream;
  const guint64 frames = s.frames_since_drain;
  const double at_s = static_cast<double>(at) / GST_SECOND;
  s.frames_since_drain = 0;
  s.last_drain = at;
  s.accumulator->post([self, frames, at_s, then](heatmap::Accumulator::State &model) {
    try {
      self->priv.stream.window.add(model.take_counts(), frames, at_s);
      if (then)
        then(model);
    } catch (const std::exception &e) {
      GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not take the motion counts of a window."),
                        ("%s", e.what()));
    }
  });
}

// ---------------------------------------------------------------------------------------------
// The sidecar's description of a window (streaming thread; docs/metadata.md)

// The source's URI (upstream answers the URI query), as a path for file:// and without
// credentials, query or fragment for the rest. Empty when no source answers.
static std::string query_source(GstHeatmap *self) {
  GstQuery *query = gst_query_new_uri();
  std::string source;
  if (gst_pad_peer_query(GST_BASE_TRANSFORM_SINK_PAD(self), query)) {
    gchar *uri = NULL;
    gst_query_parse_uri(query, &uri);
    if (uri != NULL) {
      gchar *path = g_str_has_prefix(uri, "file:") ? g_filename_from_uri(uri, NULL, NULL) : NULL;
      source = heatmap::sanitize_source(path != NULL ? path : uri);
      g_free(path);
      g_free(uri);
    }
  }
  gst_query_unref(query);
  return source;
}

// The stream's `datetime` tag (e.g. an MP4's creation time) as UTC microseconds.
static void take_datetime_tag(GstHeatmap *self, GstEvent *event) {
  GstTagList *tags = NULL;
  gst_event_parse_tag(event, &tags);
  GstDateTime *when = NULL;
  if (tags == NULL || !gst_tag_list_get_date_time(tags, GST_TAG_DATE_TIME, &when))
    return;
  if (gst_date_time_has_time(when)) {
    GDateTime *g = gst_date_time_to_g_date_time(when);
    if (g != NULL) {
      self->priv.stream.tag_start_utc_us =
          g_date_time_to_unix(g) * G_USEC_PER_SEC + g_date_time_get_microsecond(g);
      g_date_time_unref(g);
    }
  }
  gst_date_time_unref(when);
}

static const char *method_name(heatmap::Method method) {
  return enum_nick(GST_TYPE_HEATMAP_METHOD, gst_method(method));
}

// What the snapshot [start, end) covers, for the sidecar: a whole stream written at
// end-of-stream is a "clip", a periodic snapshot a "window". Times: the clip's name
// (clip_YYYY-MM-DD_HH-MM-SS) or its datetime tag give the UTC of running time 0; without them a
// window has its own wall clock (reference timestamp or pipeline clock) and a clip none. In
// cumulative mode the map, and so the sidecar, covers everything since the stream started.
// What the streaming thread knows; the model's part (map, zones) is added on the model's thread
// and complete_description() fills in the figures of the map on the writer thread.
static heatmap::Sidecar describe_window(GstHeatmap *self, const heatmap::Snapshot &snapshot,
                                        bool periodic) {
  Stream &s = self->priv.stream;
  heatmap::Sidecar sidecar;
  const bool cumulative = s.window_mode == heatmap::WindowMode::kCumulative;
  const GstClockTime start =
      cumulative ? std::min<GstClockTime>(s.stream_start, snapshot.start_ns) : snapshot.start_ns;
  const gint64 own_start_utc = cumulative && s.stream_start <= snapshot.start_ns
                                   ? s.stream_start_utc_us
                                   : snapshot.start_utc_us;
  sidecar.kind = periodic ? "window" : "clip";
  if (periodic)
    sidecar.window_index = static_cast<std::int64_t>(snapshot.index);
  if (!s.source)
    s.source = query_source(self);
  if (!s.source->empty())
    sidecar.source = *s.source;
  const gint64 start_offset_us = static_cast<gint64>(start / 1000);
  if (auto named = heatmap::clip_start_from_name(s.source.value_or(""))) {
    sidecar.start_utc_us = *named + start_offset_us;
    sidecar.start_utc_source = "clip-name";
  } else if (s.tag_start_utc_us) {
    sidecar.start_utc_us = *s.tag_start_utc_us + start_offset_us;
    sidecar.start_utc_source = "tags";
  } else if (periodic) {
    sidecar.start_utc_us = own_start_utc;
    sidecar.start_utc_source = snapshot.utc_source;
  }
  sidecar.duration_s =
      static_cast<double>(snapshot.end_ns - std::min(start, snapshot.end_ns)) / GST_SECOND;
  sidecar.frames_seen = s.frames_in_window;
  // Measured over the stream when it is timed (caps can be wrong), else the caps' rate.
  if (sidecar.duration_s > 0 && s.frames_in_window > 1 && s.timed)
    sidecar.fps = s.frames_in_window / sidecar.duration_s;
  else if (s.fps > 0)
    sidecar.fps = s.fps;
  GST_OBJECT_LOCK(self);
  const guint frame_step = self->priv.props.frame_step;
  GST_OBJECT_UNLOCK(self);
  const heatmap::Settings &model = s.accumulator->settings();
  heatmap::SidecarSettings &settings = sidecar.settings;
  settings.method = method_name(model.method);
  settings.downscale = model.downscale;
  settings.max_input_pixels = model.max_input_pixels;
  settings.history = model.history;
  settings.var_threshold = model.var_threshold;
  settings.frame_step = frame_step;
  settings.detect_shadows = model.detect_shadows;
  settings.keep_shadows = model.keep_shadows;
  settings.learning_rate = model.learning_rate;
  settings.open_kernel = model.open_kernel;
  if (periodic)
    settings.window = snapshot.window;
  return sidecar;
}

// The figures of the window's map in its sidecar (writer thread).
static void complete_description(heatmap::Snapshot &snapshot, const heatmap::Places &places) {
  heatmap::Sidecar &sidecar = snapshot.sidecar;
  const heatmap::Stats stats = snapshot.stats();
  sidecar.frames_processed = snapshot.frames;
  sidecar.width = stats.width;
  sidecar.height = stats.height;
  places.describe(&sidecar, cv::Size(stats.width, stats.height));
  sidecar.stats.max_count = stats.max_count;
  sidecar.stats.motion_coverage = stats.motion_coverage;
  sidecar.stats.lighting_events = stats.lighting_events;
  sidecar.stats.camera_shift = stats.camera_shift;
  sidecar.stats.camera_moved = stats.camera_moved;
  if (snapshot.may_skip)
    sidecar.stats.frames_skipped = snapshot.frames_skipped;
}

static void write_snapshot_job(GstHeatmap *self, const std::shared_ptr<heatmap::Snapshot> &snapshot,
                               const std::shared_ptr<const heatmap::Places> &places);

// On the model's thread, at a window's end: hands the snapshot to the writer. In a live
// pipeline a periodic snapshot that finds the writer busy is dropped with a warning (the camera
// must not wait); otherwise it waits for room (from a file nothing is lost, the file just reads
// slower).
static void hand_to_writer(GstHeatmap *self, const std::shared_ptr<heatmap::Snapshot> &snapshot,
                           const std::shared_ptr<const heatmap::Places> &places, bool droppable) {
  Output &out = self->priv.output;
  auto job = [self, snapshot, places]() { write_snapshot_job(self, snapshot, places); };
  if (!droppable) {
    out.writer->submit(job);
    return;
  }
  if (out.writer->try_submit(job))
    return;
  const guint64 dropped = ++out.dropped;
  GST_ELEMENT_WARNING(self, RESOURCE, WRITE,
                      ("Dropped heatmap snapshot %" G_GUINT64_FORMAT
                       " because the previous ones are still being written (slow disk or "
                       "upload); the video was not held up.",
                       snapshot->index),
                      ("%" G_GUINT64_FORMAT " dropped so far", dropped));
}

// Ends the window [start, end). The streaming thread only notes what it knows (times, frames
// seen and skipped, the sidecar's description) and posts the rest to the model's thread, in
// order with the frames: there a task moves the last counts into the window, takes its map,
// the model's figures, the zone series and the learned scene (cheaply: shared samples or 8-bit
// planes), and hands the snapshot to the writer, which takes the scene's median, renders,
// encodes and writes. So a window's end never makes the video wait for a busy model. The final
// snapshot waits for both (the files exist when EOS goes on).
static void emit_snapshot(GstHeatmap *self, GstClockTime start, GstClockTime end, bool final) {
  Stream &s = self->priv.stream;
  Output &out = self->priv.output;
  auto snapshot = std::make_shared<heatmap::Snapshot>();
  snapshot->index = s.next_index++;
  snapshot->start_ns = start;
  snapshot->end_ns = std::max(start, end);
  snapshot->start_utc_us = s.window_start_utc_us;
  snapshot->end_utc_us = s.window_start_utc_us + static_cast<gint64>(end - start) / 1000;
  snapshot->utc_source = s.utc_source;
  snapshot->window = window_name(s.window_mode);
  snapshot->final = final;
  snapshot->frames_skipped = s.frames_skipped_in_window;
  GST_OBJECT_LOCK(self);
  const bool periodic = self->priv.props.interval > 0 || !final;
  const GstHeatmapSkipFrames skip = self->priv.props.skip_frames;
  const bool need_image = !self->priv.props.location.empty() || out.image_pad != NULL;
  const bool need_scene = self->priv.props.render.use_background;
  const bool want_scene_file = !self->priv.props.scene_location.empty();
  GST_OBJECT_UNLOCK(self);
  snapshot->may_skip =
      skip == GST_HEATMAP_SKIP_FRAMES_WHEN_BUSY || (skip == GST_HEATMAP_SKIP_FRAMES_AUTO && s.live);
  snapshot->sidecar = describe_window(self, *snapshot, periodic);
  if (s.frames_skipped_in_window > 0)
    GST_INFO_OBJECT(self,
                    "snapshot %" G_GUINT64_FORMAT
                    ": the busy motion model skipped %" G_GUINT64_FORMAT " frames of it",
                    snapshot->index, s.frames_skipped_in_window);
  const bool named_by_signal =
      g_signal_has_handler_pending(self, gst_heatmap_signals[SIGNAL_FORMAT_LOCATION], 0, FALSE);
  const bool want_scene = ((need_image || named_by_signal) && need_scene) || want_scene_file;
  const double zones_end_s =
      static_cast<double>(snapshot->end_ns - std::min(s.zones_origin, snapshot->end_ns)) /
      GST_SECOND;
  const bool droppable = !final && s.live;
  std::shared_ptr<const heatmap::Places> places = s.places;
  const guint delay_ms = s.test_window_end_delay_ms;

  drain_counts(self, end,
               [self, snapshot, places, zones_end_s, want_scene, droppable,
                delay_ms](heatmap::Accumulator::State &model) {
                 if (delay_ms > 0)
                   g_usleep(static_cast<gulong>(delay_ms) * 1000);
                 heatmap::Window &window = self->priv.stream.window;
                 snapshot->counts = window.map();
                 snapshot->frames = window.frames();
                 const heatmap::Stats figures = model.stats();
                 snapshot->lighting_events = figures.lighting_events;
                 snapshot->camera_shift = figures.camera_shift;
                 snapshot->camera_moved = figures.camera_moved;
                 snapshot->sidecar.zones = places->zone_results(zones_end_s);
                 window.end_interval();
                 if (want_scene && !snapshot->counts.empty())
                   snapshot->scene = model.scene();
                 hand_to_writer(self, snapshot, places, droppable);
               });

  if (s.window_mode != heatmap::WindowMode::kCumulative) {
    s.frames_in_window = 0;
    s.frames_skipped_in_window = 0;
  }
  s.buffers_in_window = 0;
  s.snapshot_since_reset = true;
  if (!final)
    return;
  try {
    s.accumulator->wait_idle();
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not analyse a video frame for motion."),
                      ("%s", e.what()));
  }
  out.writer->wait_idle();
}

// Called for every buffer with a timestamp: opens the first window, and ends every interval
// that this buffer is past. Intervals without any buffer (a camera outage) produce nothing.
static void advance_window(GstHeatmap *self, GstBuffer *buffer, GstClockTime rt,
                           GstClockTime interval) {
  Stream &s = self->priv.stream;
  if (!s.window_open) {
    GstQuery *query = gst_query_new_latency();
    gboolean live = FALSE;
    if (gst_pad_peer_query(GST_BASE_TRANSFORM_SINK_PAD(self), query))
      gst_query_parse_latency(query, &live, NULL, NULL);
    gst_query_unref(query);
    s.live = live;
    // A live stream's map must not lag behind: its model queues only a few frames (a file's
    // queues deep, so that the decoder runs on while the model catches up).
    heatmap::Settings model = s.accumulator->settings();
    model.queue_bytes = live ? 0 : heatmap::Settings().queue_bytes;
    s.accumulator->set_settings(model);
    self->priv.output.writer->submit([self, rt]() { start_image_stream(self, rt); });
    open_window(self, buffer, rt, rt, true);
    return;
  }
  if (interval == 0 || rt < s.window_start + interval)
    return;
  const GstClockTime end = s.window_start + interval;
  emit_snapshot(self, s.window_start, end, false);
  GstClockTime start = end;
  if (rt >= start + interval)
    start += (rt - start) / interval * interval;
  open_window(self, buffer, rt, start, false);
}

// ---------------------------------------------------------------------------------------------
// Live overlay

// Re-renders the heat layer: the window's map is taken on the model's thread (in order with the
// frames, without the video waiting for it), the layer is built on the layer builder's.
static void refresh_overlay(GstHeatmap *self, GstClockTime rt, const heatmap::FrameView &view) {
  Stream &s = self->priv.stream;
  s.last_overlay = rt;
  GST_OBJECT_LOCK(self);
  const heatmap::RenderSettings render = self->priv.props.render;
  GST_OBJECT_UNLOCK(self);
  const heatmap::PixelFormat format = view.format;
  const int width = view.width, height = view.height;
  const heatmap::YuvMatrix matrix = view.matrix;
  const bool full_range = view.full_range;
  drain_counts(self, rt, [=](heatmap::Accumulator::State &) {
    cv::Mat map = self->priv.stream.window.map();
    if (map.empty())
      return;
    const bool taken = self->priv.output.layer_builder->try_submit([=]() {
      try {
        cv::Mat colour, weight;
        heatmap::heat_layer(map, render, &colour, &weight);
        auto layer = std::make_shared<const heatmap::OverlayLayer>(colour, weight, format, width,
                                                                   height, matrix, full_range);
        GST_LOG_OBJECT(self, "overlay layer ready, %.1f%% of the bytes", 100 * layer->coverage());
        // The old layer (megabytes at 1080p) is freed after the lock is released: this thread
        // runs at a low priority, and the streaming thread takes the lock for every frame.
        std::shared_ptr<const heatmap::OverlayLayer> old = std::move(layer);
        {
          std::lock_guard<std::mutex> guard(self->priv.output.layer_lock);
          std::swap(self->priv.output.layer, old);
        }
      } catch (const std::exception &e) {
        GST_WARNING_OBJECT(self, "could not build the overlay layer: %s", e.what());
      }
    });
    if (!taken)
      GST_DEBUG_OBJECT(self, "overlay layer still being built, refresh skipped");
  });
}

static void blend_overlay(GstHeatmap *self, GstVideoFrame *frame, const heatmap::FrameView &view) {
  std::shared_ptr<const heatmap::OverlayLayer> layer;
  {
    std::lock_guard<std::mutex> guard(self->priv.output.layer_lock);
    layer = self->priv.output.layer;
  }
  if (!layer || !layer->fits(view.format, view.width, view.height)) {
    GST_LOG_OBJECT(self, "no overlay layer for this frame yet (%d)", layer ? 1 : 0);
    return;
  }
  heatmap::MutablePlane planes[3];
  const guint n_planes = GST_VIDEO_FRAME_N_PLANES(frame);
  for (guint i = 0; i < n_planes && i < 3; ++i) {
    planes[i].data = static_cast<std::uint8_t *>(GST_VIDEO_FRAME_PLANE_DATA(frame, i));
    planes[i].stride = static_cast<std::size_t>(GST_VIDEO_FRAME_PLANE_STRIDE(frame, i));
  }
  layer->blend(planes);
}

// ---------------------------------------------------------------------------------------------
// The frame path

// True when a live frame reaches the element already late: the pipeline clock is past the
// moment a sync=true sink is to show it (its running time plus the pipeline's latency, from the
// LATENCY event, which includes this element's processing-deadline). Such a frame is not
// analysed (counted as skipped), so nothing is spent on the model for it and the frames after
// it catch up sooner; it is still passed on (and drawn on): the sink may show it within its
// max-lateness. Without a sink that syncs to the clock (sync=false) the pipeline configures a
// latency that leaves out the element's own (`deadline`): there is no moment to be late for
// then, and nothing is skipped for lateness.
static bool frame_is_late(GstHeatmap *self, GstClockTime rt, GstClockTime deadline) {
  const GstClockTime latency = self->priv.stream.pipeline_latency.load();
  if (!GST_CLOCK_TIME_IS_VALID(rt) || !GST_CLOCK_TIME_IS_VALID(latency) || latency == 0 ||
      latency < deadline)
    return false;
  GstClock *clock = gst_element_get_clock(GST_ELEMENT(self));
  if (clock == NULL)
    return false;
  const GstClockTime now = gst_clock_get_time(clock);
  gst_object_unref(clock);
  const GstClockTime base = gst_element_get_base_time(GST_ELEMENT(self));
  if (!GST_CLOCK_TIME_IS_VALID(now) || now < base)
    return false;
  GST_LOG_OBJECT(self, "frame at %" GST_TIME_FORMAT " arrives %" G_GINT64_FORMAT " us after it",
                 GST_TIME_ARGS(rt), GST_CLOCK_DIFF(rt, now - base) / 1000);
  return now - base > rt + latency;
}

// Without overlay the element is in passthrough: GstVideoFilter maps the frame for reading
// only, so the buffer goes downstream untouched and read-only memory (a decoder's output pool)
// is fine. With overlay it works in place on a writable frame.
static GstFlowReturn gst_heatmap_transform_frame_ip(GstVideoFilter *filter, GstVideoFrame *frame) {
  GstHeatmap *self = GST_HEATMAP(filter);
  Stream &stream = self->priv.stream;
  if (G_UNLIKELY(!stream.accumulator)) {
    GST_ELEMENT_ERROR(self, CORE, STATE_CHANGE, (NULL), ("heatmap received a frame before start"));
    return GST_FLOW_ERROR;
  }

  GST_OBJECT_LOCK(self);
  const guint frame_step = self->priv.props.frame_step;
  const double interval_s = self->priv.props.interval;
  const double half_life_s = self->priv.props.half_life;
  const bool overlay = self->priv.props.overlay;
  const double refresh_s = self->priv.props.overlay_refresh;
  const GstHeatmapSkipFrames skip = self->priv.props.skip_frames;
  const GstClockTime deadline = self->priv.props.processing_deadline;
  GST_OBJECT_UNLOCK(self);

  const GstClockTime rt = running_time_of(self, frame->buffer);
  if (!GST_CLOCK_TIME_IS_VALID(rt))
    stream.timed = false;
  if (GST_CLOCK_TIME_IS_VALID(rt)) {
    advance_window(self, frame->buffer, rt, static_cast<GstClockTime>(interval_s * GST_SECOND));
    GstClockTime end = rt;
    if (GST_BUFFER_DURATION_IS_VALID(frame->buffer))
      end += GST_BUFFER_DURATION(frame->buffer);
    stream.last_end = std::max(stream.last_end, end);
  }

  heatmap::FrameView view;
  if (!frame_view(*frame, &view)) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (NULL),
                      ("unsupported format %s", GST_VIDEO_INFO_NAME(&frame->info)));
    return GST_FLOW_NOT_NEGOTIATED;
  }

  // Decay weighs the frames before this one at this frame's time (their end), as a reset
  // window would at its end.
  if (GST_CLOCK_TIME_IS_VALID(rt) && stream.window_mode == heatmap::WindowMode::kDecay &&
      rt >= stream.last_drain +
                static_cast<GstClockTime>(half_life_s * GST_SECOND / DECAY_STEPS_PER_HALF_LIFE))
    drain_counts(self, rt);

  // The accumulator starts afresh at a new frame size: the window follows, keeping nothing of
  // the old size (its counts are taken first so that the frame counts stay right).
  if (view.width != stream.width || view.height != stream.height) {
    if (stream.width != 0)
      drain_counts(self, GST_CLOCK_TIME_IS_VALID(rt) ? rt : stream.last_drain);
    stream.width = view.width;
    stream.height = view.height;
  }

  // A gap buffer carries no new picture.
  const bool gap = GST_BUFFER_FLAG_IS_SET(frame->buffer, GST_BUFFER_FLAG_GAP);

  // The layer is refreshed once a period, with the frames before this one.
  if (overlay && !gap && GST_CLOCK_TIME_IS_VALID(rt)) {
    const GstClockTime period = static_cast<GstClockTime>(refresh_s * GST_SECOND);
    if (!GST_CLOCK_TIME_IS_VALID(stream.last_overlay) || rt >= stream.last_overlay + period)
      refresh_overlay(self, rt, view);
  }

  stream.buffers_in_window++;
  if (!gap)
    stream.frames_in_window++;
  // The zone series places a frame by its running time; untimed frames at the caps' rate.
  const GstClockTime when =
      GST_CLOCK_TIME_IS_VALID(rt) ? rt : stream.frames_seen * stream.frame_duration;
  if (!GST_CLOCK_TIME_IS_VALID(rt) && !gap)
    stream.last_end = std::max(stream.last_end, when + stream.frame_duration);
  if (!gap && stream.frames_seen++ % frame_step == 0) {
    // A live camera must not wait for a model that has fallen behind (a starved machine, a
    // window end), nor spend time on a frame that is already late: the frame is skipped,
    // counted and reported, instead of held up.
    const bool may_skip = skip == GST_HEATMAP_SKIP_FRAMES_WHEN_BUSY ||
                          (skip == GST_HEATMAP_SKIP_FRAMES_AUTO && stream.live);
    try {
      const std::int64_t tag = static_cast<std::int64_t>(when);
      bool taken = true;
      if (may_skip && stream.live && frame_is_late(self, rt, deadline)) {
        taken = false;
        stream.frames_late_total++;
      } else if (may_skip)
        taken = stream.accumulator->try_add_frame(view, tag);
      else
        stream.accumulator->add_frame(view, tag);
      if (taken) {
        stream.frames_since_drain++;
        stream.skipping = false;
      } else {
        stream.frames_skipped_in_window++;
        stream.frames_skipped_total++;
        if (!stream.skipping)
          GST_INFO_OBJECT(self,
                          "the motion model is busy or frames arrive late: skipping frames "
                          "rather than holding up the video (%" G_GUINT64_FORMAT
                          " so far, %" G_GUINT64_FORMAT " late)",
                          stream.frames_skipped_total, stream.frames_late_total);
        stream.skipping = true;
      }
    } catch (const std::exception &e) {
      GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not analyse a video frame for motion."),
                        ("%s", e.what()));
      return GST_FLOW_ERROR;
    }
  }

  if (overlay && !gap && !gst_base_transform_is_passthrough(GST_BASE_TRANSFORM(self)))
    blend_overlay(self, frame, view);
  return GST_FLOW_OK;
}

// The LATENCY query: in a live pipeline the element may hold a frame for up to its
// processing-deadline (the blend and the model's downscale on a busy machine), so it adds that
// to the latency upstream reports, as encoders add the frames they hold: a sync=true sink then
// budgets for it instead of dropping the frame as late. Frames that are later than that skip
// the model's work (frame_is_late). Non-live pipelines have no latency to add to.
static gboolean gst_heatmap_query(GstBaseTransform *trans, GstPadDirection direction,
                                  GstQuery *query) {
  if (!GST_BASE_TRANSFORM_CLASS(parent_class)->query(trans, direction, query))
    return FALSE;
  if (direction == GST_PAD_SRC && GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
    gboolean live = FALSE;
    GstClockTime min = 0, max = GST_CLOCK_TIME_NONE;
    gst_query_parse_latency(query, &live, &min, &max);
    if (live) {
      GST_OBJECT_LOCK(trans);
      const GstClockTime own = GST_HEATMAP(trans)->priv.props.processing_deadline;
      GST_OBJECT_UNLOCK(trans);
      min += own;
      if (GST_CLOCK_TIME_IS_VALID(max))
        max += own;
      GST_DEBUG_OBJECT(trans,
                       "live: adding %" GST_TIME_FORMAT ", latency %" GST_TIME_FORMAT
                       " - %" GST_TIME_FORMAT,
                       GST_TIME_ARGS(own), GST_TIME_ARGS(min), GST_TIME_ARGS(max));
      gst_query_set_latency(query, live, min, max);
    }
  }
  return TRUE;
}

// The pipeline's latency travels upstream as a LATENCY event once configured: noted for
// frame_is_late().
static gboolean gst_heatmap_src_event(GstBaseTransform *trans, GstEvent *event) {
  if (GST_EVENT_TYPE(event) == GST_EVENT_LATENCY) {
    GstClockTime latency = GST_CLOCK_TIME_NONE;
    gst_event_parse_latency(event, &latency);
    GST_HEATMAP(trans)->priv.stream.pipeline_latency = latency;
    GST_DEBUG_OBJECT(trans, "pipeline latency %" GST_TIME_FORMAT, GST_TIME_ARGS(latency));
  }
  return GST_BASE_TRANSFORM_CLASS(parent_class)->src_event(trans, event);
}

// Notes the frame rate (the sidecar's fps and untimed frames' times). The core starts afresh by
// itself when the frame size changes, and reads every format directly, so a new layout at the
// same size can go on accumulating.
static gboolean gst_heatmap_set_info(GstVideoFilter *filter, GstCaps *incaps, GstVideoInfo *in_info,
                                     GstCaps *, GstVideoInfo *) {
  GST_DEBUG_OBJECT(filter, "negotiated %" GST_PTR_FORMAT, incaps);
  Stream &stream = GST_HEATMAP(filter)->priv.stream;
  const gint n = GST_VIDEO_INFO_FPS_N(in_info), d = GST_VIDEO_INFO_FPS_D(in_info);
  stream.fps = n > 0 && d > 0 ? static_cast<double>(n) / d : 0.0;
  stream.frame_duration = n > 0 && d > 0 ? gst_util_uint64_scale_int(GST_SECOND, d, n) : 0;
  return TRUE;
}

// ---------------------------------------------------------------------------------------------
// Snapshot output (writer thread). The one place where a window's results leave the element:
// files (core/snapshot.h write_snapshot), the `image` pad, the `heatmap` message. Sidecars
// extend heatmap::Snapshot / SnapshotOutput and the message here.

// The JPEG's name: the format-location signal's answer, else the location pattern.
static std::string resolve_location(GstHeatmap *self, const std::string &pattern,
                                    const heatmap::Snapshot &snapshot, bool use_signal) {
  if (use_signal) {
    gchar *name = NULL;
    g_signal_emit(self, gst_heatmap_signals[SIGNAL_FORMAT_LOCATION], 0,
                  static_cast<guint>(snapshot.index), static_cast<gint64>(snapshot.start_utc_us),
                  &name);
    if (name != NULL) {
      std::string chosen = name;
      g_free(name);
      return chosen;
    }
  }
  if (pattern.empty())
    return std::string();
  return heatmap::LocationPattern::parse(pattern).format(snapshot.index, snapshot.start_utc_us);
}

static void push_image(GstHeatmap *self, const heatmap::Snapshot &snapshot,
                       const heatmap::SnapshotResult &result) {
  Output &out = self->priv.output;
  GST_OBJECT_LOCK(self);
  GstPad *pad = out.image_pad != NULL ? GST_PAD(gst_object_ref(out.image_pad)) : NULL;
  GST_OBJECT_UNLOCK(self);
  if (pad == NULL)
    return;
  if (!out.image_stream_started) {
    // The pad was requested while streaming.
    gst_object_unref(pad);
    start_image_stream(self, snapshot.start_ns);
    GST_OBJECT_LOCK(self);
    pad = out.image_pad != NULL ? GST_PAD(gst_object_ref(out.image_pad)) : NULL;
    GST_OBJECT_UNLOCK(self);
    if (pad == NULL)
      return;
  }
  if (!result.jpeg.empty() &&
      (result.width != out.image_width || result.height != out.image_height)) {
    GstCaps *caps =
        gst_caps_new_simple("image/jpeg", "width", G_TYPE_INT, result.width, "height", G_TYPE_INT,
                            result.height, "framerate", GST_TYPE_FRACTION, 0, 1, NULL);
    gst_pad_push_event(pad, gst_event_new_caps(caps));
    gst_caps_unref(caps);
    out.image_width = result.width;
    out.image_height = result.height;
  }
  if (!result.jpeg.empty()) {
    GstBuffer *buffer = gst_buffer_new_memdup(result.jpeg.data(), result.jpeg.size());
    GST_BUFFER_PTS(buffer) = snapshot.start_ns;
    GST_BUFFER_DURATION(buffer) = snapshot.end_ns - snapshot.start_ns;
    GST_BUFFER_OFFSET(buffer) = snapshot.index;
    // The window's wall-clock start, so that s3sink (or any consumer) names it by its date.
    static GstCaps *unix_caps = gst_caps_new_empty_simple("timestamp/x-unix");
    gst_buffer_add_reference_timestamp_meta(buffer, unix_caps,
                                            static_cast<GstClockTime>(snapshot.start_utc_us) * 1000,
                                            snapshot.end_ns - snapshot.start_ns);
    const GstFlowReturn flow = gst_pad_push(pad, buffer);
    if (flow != GST_FLOW_OK)
      GST_DEBUG_OBJECT(self, "image pad push: %s", gst_flow_get_name(flow));
  }
  gst_object_unref(pad);
}

// The per-zone totals for the message: an array of `zone` structures.
static void set_zone_totals(GstStructure *s, const std::vector<heatmap::ZoneResult> &zones) {
  GValue array = G_VALUE_INIT;
  gst_value_array_init(&array, zones.size());
  for (const heatmap::ZoneResult &zone : zones) {
    GValue item = G_VALUE_INIT;
    g_value_init(&item, GST_TYPE_STRUCTURE);
    GstStructure *z =
        gst_structure_new("zone", "name", G_TYPE_STRING, zone.zone.name.c_str(), "mean-activity",
                          G_TYPE_DOUBLE, zone.mean_activity, "active-seconds", G_TYPE_DOUBLE,
                          zone.active_seconds, "peak", G_TYPE_DOUBLE, zone.peak, NULL);
    gst_value_set_structure(&item, z);
    gst_structure_free(z);
    gst_value_array_append_and_take_value(&array, &item);
  }
  gst_structure_take_value(s, "zones", &array);
}

static void post_snapshot_message(GstHeatmap *self, const heatmap::Snapshot &snapshot,
                                  const heatmap::SnapshotOutput &output) {
  const std::string &jpeg_path = output.jpeg_path;
  const std::string &png_path = output.png_path;
  const heatmap::Stats stats = snapshot.stats();
  const std::string start_utc = heatmap::iso8601_utc(snapshot.start_utc_us);
  const std::string end_utc = heatmap::iso8601_utc(snapshot.end_utc_us);
  GstStructure *s = gst_structure_new(
      "heatmap", "location", G_TYPE_STRING, jpeg_path.empty() ? NULL : jpeg_path.c_str(),
      "raw-location", G_TYPE_STRING, png_path.empty() ? NULL : png_path.c_str(), "frames-processed",
      G_TYPE_UINT64, static_cast<guint64>(stats.frames_processed), "width", G_TYPE_INT, stats.width,
      "height", G_TYPE_INT, stats.height, "max-count", G_TYPE_UINT,
      static_cast<guint>(stats.max_count), "motion-coverage", G_TYPE_DOUBLE, stats.motion_coverage,
      "index", G_TYPE_UINT64, static_cast<guint64>(snapshot.index), "start", G_TYPE_UINT64,
      static_cast<guint64>(snapshot.start_ns), "end", G_TYPE_UINT64,
      static_cast<guint64>(snapshot.end_ns), "start-utc", G_TYPE_STRING, start_utc.c_str(),
      "end-utc", G_TYPE_STRING, end_utc.c_str(), "utc-source", G_TYPE_STRING,
      snapshot.utc_source.c_str(), "window", G_TYPE_STRING, snapshot.window.c_str(), "final",
      G_TYPE_BOOLEAN, snapshot.final, "lighting-events", G_TYPE_UINT, stats.lighting_events,
      "camera-shift", G_TYPE_DOUBLE, stats.camera_shift, "camera-moved", G_TYPE_BOOLEAN,
      stats.camera_moved ? TRUE : FALSE, "metadata-location", G_TYPE_STRING,
      output.json_path.empty() ? NULL : output.json_path.c_str(), "frames-skipped", G_TYPE_UINT64,
      static_cast<guint64>(snapshot.frames_skipped), NULL);
  set_zone_totals(s, snapshot.sidecar.zones);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

// Runs on the writer thread: names, renders and writes the files, pushes the JPEG on the image
// pad, then posts the `heatmap` message.
static void write_snapshot_job(GstHeatmap *self, const std::shared_ptr<heatmap::Snapshot> &taken,
                               const std::shared_ptr<const heatmap::Places> &places) {
  // The costly parts of the window's end happen here, off the streaming and model threads.
  heatmap::Snapshot &snapshot = *taken;
  if (snapshot.background.empty() && !snapshot.scene.empty())
    snapshot.background = snapshot.scene.picture();
  complete_description(snapshot, *places);
  GST_OBJECT_LOCK(self);
  const Props props = self->priv.props;
  const bool want_jpeg = self->priv.output.image_pad != NULL;
  GST_OBJECT_UNLOCK(self);

  heatmap::SnapshotOutput output;
  try {
    output.jpeg_path = resolve_location(self, props.location, snapshot, true);
    output.png_path = resolve_location(self, props.raw_location, snapshot, false);
    output.scene_path = resolve_location(self, props.scene_location, snapshot, false);
    output.csv_path = resolve_location(self, props.zones_csv_location, snapshot, false);
    output.json_path = resolve_location(self, props.metadata_location, snapshot, false);
  } catch (const std::invalid_argument &e) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Invalid file name pattern: %s.", e.what()),
                      (NULL));
    return;
  }
  output.render = props.render;
  output.quality = props.quality;
  output.want_jpeg = want_jpeg;
  output.places = places;

  const heatmap::SnapshotResult result = heatmap::write_snapshot(snapshot, output);
  switch (result.failure) {
    case heatmap::SnapshotResult::Failure::kRender:
      GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not render the heatmap."),
                        ("%s", result.error.c_str()));
      return;
    case heatmap::SnapshotResult::Failure::kWrite:
      if (result.failed_path == output.png_path && result.failed_path != output.jpeg_path)
        GST_ELEMENT_ERROR(
            self, RESOURCE, OPEN_WRITE,
            ("Could not write the raw motion counts \"%s\".", result.failed_path.c_str()),
            ("%s", result.error.c_str()));
      else if (result.failed_path != output.jpeg_path)
        GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE,
                          ("Could not write \"%s\".", result.failed_path.c_str()),
                          ("%s", result.error.c_str()));
      else
        GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE,
                          ("Could not write the heatmap image \"%s\".", result.failed_path.c_str()),
                          ("%s", result.error.c_str()));
      return;
    case heatmap::SnapshotResult::Failure::kNone:
      break;
  }
  for (const std::string &path : result.written)
    GST_INFO_OBJECT(self, "snapshot %" G_GUINT64_FORMAT ": wrote %s", snapshot.index, path.c_str());
  push_image(self, snapshot, result);
  post_snapshot_message(self, snapshot, output);
}

// At end-of-stream: writes the last (possibly partial) window and ends the image stream.
static void gst_heatmap_finish(GstHeatmap *self) {
  Stream &stream = self->priv.stream;
  Output &out = self->priv.output;
  if (!stream.accumulator)
    return;
  if (stream.frames_seen == 0 && !stream.snapshot_since_reset) {
    GST_ELEMENT_WARNING(self, STREAM, FAILED,
                        ("No video frames reached the heatmap element before end-of-stream, "
                         "so no heatmap was written."),
                        (NULL));
  } else if (stream.buffers_in_window > 0) {
    // Buffers without timestamps never open a window: the whole stream is one.
    const GstClockTime start = stream.window_open ? stream.window_start : 0;
    if (!stream.window_open)
      stream.window_start_utc_us = g_get_real_time();
    emit_snapshot(self, start, std::max(start, stream.last_end), true);
    stream.window_open = false;
  }
  const GstClockTime end = stream.last_end;
  out.writer->submit([self, end]() {
    GST_OBJECT_LOCK(self);
    const bool have_pad = self->priv.output.image_pad != NULL;
    GST_OBJECT_UNLOCK(self);
    if (!have_pad)
      return;
    start_image_stream(self, end);
    GST_OBJECT_LOCK(self);
    GstPad *pad = self->priv.output.image_pad != NULL
                      ? GST_PAD(gst_object_ref(self->priv.output.image_pad))
                      : NULL;
    GST_OBJECT_UNLOCK(self);
    if (pad != NULL) {
      gst_pad_push_event(pad, gst_event_new_eos());
      gst_object_unref(pad);
    }
  });
  out.writer->wait_idle();
}

static gboolean gst_heatmap_sink_event(GstBaseTransform *trans, GstEvent *event) {
  GstHeatmap *self = GST_HEATMAP(trans);
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_EOS:
      gst_heatmap_finish(self);
      break;
    case GST_EVENT_FLUSH_STOP:
      gst_heatmap_reset(self);
      break;
    case GST_EVENT_STREAM_START:
      // A new stream: its source and tags are asked and read afresh.
      gst_heatmap_reset(self);
      self->priv.stream.tag_start_utc_us.reset();
      self->priv.stream.source.reset();
      break;
    case GST_EVENT_TAG:
      take_datetime_tag(self, event);
      break;
    default:
      break;
  }
  // EOS goes on even after a write error so downstream (a recorder next to us) can finish.
  return GST_BASE_TRANSFORM_CLASS(parent_class)->sink_event(trans, event);
}

static void set_string(std::string *target, const GValue *value) {
  const gchar *s = g_value_get_string(value);
  *target = s ? s : "";
}

static void gst_heatmap_set_property(GObject *object, guint prop_id, const GValue *value,
                                     GParamSpec *pspec) {
  GstHeatmap *self = GST_HEATMAP(object);
  Props &p = self->priv.props;
  bool latency_changed = false;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_LOCATION:
      set_string(&p.location, value);
      break;
    case PROP_RAW_LOCATION:
      set_string(&p.raw_location, value);
      break;
    case PROP_DOWNSCALE:
      p.model.downscale = g_value_get_double(value);
      break;
    case PROP_MAX_INPUT_PIXELS:
      p.model.max_input_pixels = static_cast<long>(g_value_get_uint(value));
      break;
    case PROP_USE_BACKGROUND:
      p.render.use_background = g_value_get_boolean(value);
      break;
    case PROP_ALPHA:
      p.render.alpha = g_value_get_double(value);
      break;
    case PROP_COLORMAP:
      p.render.colormap = g_value_get_enum(value);
      break;
    case PROP_METHOD:
      switch (g_value_get_enum(value)) {
        case GST_HEATMAP_METHOD_KNN:
          p.model.method = heatmap::Method::kKnn;
          break;
        case GST_HEATMAP_METHOD_SCENE:
          p.model.method = heatmap::Method::kScene;
          break;
        default:
          p.model.method = heatmap::Method::kMog2;
          break;
      }
      break;
    case PROP_HISTORY:
      p.model.history = g_value_get_int(value);
      break;
    case PROP_VAR_THRESHOLD:
      p.model.var_threshold = g_value_get_double(value);
      break;
    case PROP_DETECT_SHADOWS:
      p.model.detect_shadows = g_value_get_boolean(value);
      break;
    case PROP_KEEP_SHADOWS:
      p.model.keep_shadows = g_value_get_boolean(value);
      break;
    case PROP_LEARNING_RATE:
      p.model.learning_rate = g_value_get_double(value);
      break;
    case PROP_OPEN_KERNEL:
      p.model.open_kernel = g_value_get_int(value);
      break;
    case PROP_BLUR:
      p.render.blur = g_value_get_double(value);
      break;
    case PROP_QUALITY:
      p.quality = g_value_get_int(value);
      break;
    case PROP_FRAME_STEP:
      p.frame_step = g_value_get_uint(value);
      break;
    case PROP_INTERVAL:
      p.interval = g_value_get_double(value);
      break;
    case PROP_WINDOW:
      p.window = static_cast<GstHeatmapWindow>(g_value_get_enum(value));
      break;
    case PROP_HALF_LIFE:
      p.half_life = g_value_get_double(value);
      break;
    case PROP_OVERLAY:
      p.overlay = g_value_get_boolean(value);
      break;
    case PROP_OVERLAY_REFRESH:
      p.overlay_refresh = g_value_get_double(value);
      break;
    case PROP_SKIP_FRAMES:
      p.skip_frames = static_cast<GstHeatmapSkipFrames>(g_value_get_enum(value));
      break;
    case PROP_PROCESSING_DEADLINE:
      latency_changed = p.processing_deadline != g_value_get_uint64(value);
      p.processing_deadline = g_value_get_uint64(value);
      break;
    case PROP_MASK:
      set_string(&p.places.mask_path, value);
      break;
    case PROP_ZONES:
      set_string(&p.places.zones_path, value);
      break;
    case PROP_ZONE_INTERVAL:
      p.places.zone_interval_s = g_value_get_double(value);
      break;
    case PROP_ZONE_THRESHOLD:
      p.places.zone_threshold = g_value_get_double(value);
      break;
    case PROP_DRAW_ZONES:
      p.places.draw_zones = g_value_get_boolean(value);
      break;
    case PROP_METADATA_LOCATION:
      set_string(&p.metadata_location, value);
      break;
    case PROP_ZONES_CSV_LOCATION:
      set_string(&p.zones_csv_location, value);
      break;
    case PROP_SCENE_LOCATION:
      set_string(&p.scene_location, value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
  // The pipeline asks everyone for their latency again.
  if (latency_changed)
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_latency(GST_OBJECT(self)));
  // Without overlay, buffers pass untouched (read-only); with it, frames are drawn on in place.
  if (prop_id == PROP_OVERLAY)
    gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), !g_value_get_boolean(value));
}

static void gst_heatmap_get_property(GObject *object, guint prop_id, GValue *value,
                                     GParamSpec *pspec) {
  GstHeatmap *self = GST_HEATMAP(object);
  const Props &p = self->priv.props;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_LOCATION:
      g_value_set_string(value, p.location.empty() ? NULL : p.location.c_str());
      break;
    case PROP_RAW_LOCATION:
      g_value_set_string(value, p.raw_location.empty() ? NULL : p.raw_location.c_str());
      break;
    case PROP_DOWNSCALE:
      g_value_set_double(value, p.model.downscale);
      break;
    case PROP_MAX_INPUT_PIXELS:
      g_value_set_uint(value, static_cast<guint>(p.model.max_input_pixels));
      break;
    case PROP_USE_BACKGROUND:
      g_value_set_boolean(value, p.render.use_background);
      break;
    case PROP_ALPHA:
      g_value_set_double(value, p.render.alpha);
      break;
    case PROP_COLORMAP:
      g_value_set_enum(value, p.render.colormap);
      break;
    case PROP_METHOD:
      g_value_set_enum(value, gst_method(p.model.method));
      break;
    case PROP_HISTORY:
      g_value_set_int(value, p.model.history);
      break;
    case PROP_VAR_THRESHOLD:
      g_value_set_double(value, p.model.var_threshold);
      break;
    case PROP_DETECT_SHADOWS:
      g_value_set_boolean(value, p.model.detect_shadows);
      break;
    case PROP_KEEP_SHADOWS:
      g_value_set_boolean(value, p.model.keep_shadows);
      break;
    case PROP_LEARNING_RATE:
      g_value_set_double(value, p.model.learning_rate);
      break;
    case PROP_OPEN_KERNEL:
      g_value_set_int(value, p.model.open_kernel);
      break;
    case PROP_BLUR:
      g_value_set_double(value, p.render.blur);
      break;
    case PROP_QUALITY:
      g_value_set_int(value, p.quality);
      break;
    case PROP_FRAME_STEP:
      g_value_set_uint(value, p.frame_step);
      break;
    case PROP_INTERVAL:
      g_value_set_double(value, p.interval);
      break;
    case PROP_WINDOW:
      g_value_set_enum(value, p.window);
      break;
    case PROP_HALF_LIFE:
      g_value_set_double(value, p.half_life);
      break;
    case PROP_OVERLAY:
      g_value_set_boolean(value, p.overlay);
      break;
    case PROP_OVERLAY_REFRESH:
      g_value_set_double(value, p.overlay_refresh);
      break;
    case PROP_SKIP_FRAMES:
      g_value_set_enum(value, p.skip_frames);
      break;
    case PROP_PROCESSING_DEADLINE:
      g_value_set_uint64(value, p.processing_deadline);
      break;
    case PROP_MASK:
      g_value_set_string(value, p.places.mask_path.empty() ? NULL : p.places.mask_path.c_str());
      break;
    case PROP_ZONES:
      g_value_set_string(value, p.places.zones_path.empty() ? NULL : p.places.zones_path.c_str());
      break;
    case PROP_ZONE_INTERVAL:
      g_value_set_double(value, p.places.zone_interval_s);
      break;
    case PROP_ZONE_THRESHOLD:
      g_value_set_double(value, p.places.zone_threshold);
      break;
    case PROP_DRAW_ZONES:
      g_value_set_boolean(value, p.places.draw_zones);
      break;
    case PROP_METADATA_LOCATION:
      g_value_set_string(value, p.metadata_location.empty() ? NULL : p.metadata_location.c_str());
      break;
    case PROP_ZONES_CSV_LOCATION:
      g_value_set_string(value, p.zones_csv_location.empty() ? NULL : p.zones_csv_location.c_str());
      break;
    case PROP_SCENE_LOCATION:
      g_value_set_string(value, p.scene_location.empty() ? NULL : p.scene_location.c_str());
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static GstPad *gst_heatmap_request_new_pad(GstElement *element, GstPadTemplate *templ,
                                           const gchar *, const GstCaps *) {
  GstHeatmap *self = GST_HEATMAP(element);
  GST_OBJECT_LOCK(self);
  if (self->priv.output.image_pad != NULL) {
    GST_OBJECT_UNLOCK(self);
    GST_WARNING_OBJECT(self, "the image pad exists already");
    return NULL;
  }
  GstPad *pad = gst_pad_new_from_template(templ, "image");
  gst_pad_use_fixed_caps(pad);
  self->priv.output.image_pad = pad;
  self->priv.output.image_stream_started = false;
  self->priv.output.image_width = 0;
  self->priv.output.image_height = 0;
  GST_OBJECT_UNLOCK(self);
  gst_element_add_pad(element, pad);
  return pad;
}

static void gst_heatmap_release_pad(GstElement *element, GstPad *pad) {
  GstHeatmap *self = GST_HEATMAP(element);
  GST_OBJECT_LOCK(self);
  if (pad != self->priv.output.image_pad) {
    GST_OBJECT_UNLOCK(self);
    return;
  }
  self->priv.output.image_pad = NULL;
  GST_OBJECT_UNLOCK(self);
  gst_pad_set_active(pad, FALSE);
  gst_element_remove_pad(element, pad);
}

static void gst_heatmap_finalize(GObject *object) {
  GstHeatmap *self = GST_HEATMAP(object);
  self->priv.~Private();
  G_OBJECT_CLASS(parent_class)->finalize(object);
}

static void gst_heatmap_class_init(GstHeatmapClass *klass) {
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(gst_heatmap_debug, "heatmap", 0, "foot-traffic motion heatmap");

  gobject_class->set_property = gst_heatmap_set_property;
  gobject_class->get_property = gst_heatmap_get_property;
  gobject_class->finalize = gst_heatmap_finalize;

  // Settings that shape the output can change at any time; they are read at end-of-stream.
  const auto kLive = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                              GST_PARAM_MUTABLE_PLAYING);

  g_object_class_install_property(
      gobject_class, PROP_LOCATION,
      g_param_spec_string("location", "Heatmap JPEG",
                          "File the heatmap JPEG is written to at each snapshot, atomically "
                          "(temporary file, then rename); folders are created as needed. "
                          "Patterns: %05d = snapshot index, strftime fields (%Y/%m/%d/%H, ...) "
                          "= the window's UTC start, %% = '%'. Unset: no image, the `heatmap` "
                          "message is still posted",
                          DEFAULT_LOCATION, kLive));
  g_object_class_install_property(
      gobject_class, PROP_RAW_LOCATION,
      g_param_spec_string("raw-location", "Raw counts PNG",
                          "File for a 16-bit greyscale PNG of the raw per-pixel counts at "
                          "processing size (value = processed frames in which the pixel moved, "
                          "saturating at 65535; window=decay: see half-life), for adding up many "
                          "clips later. Same patterns as location. Unset: none",
                          DEFAULT_RAW_LOCATION, kLive));
  g_object_class_install_property(
      gobject_class, PROP_DOWNSCALE,
      g_param_spec_double("downscale", "Downscale factor",
                          "Processing size as a fraction of the video size, 0.01..1 (0 is not "
                          "allowed); the heatmap files have this size. Smaller is faster and "
                          "less noisy. Takes effect at the next stream or flush",
                          MIN_DOWNSCALE, 1.0, DEFAULT_DOWNSCALE, kLive));
  g_object_class_install_property(
      gobject_class, PROP_MAX_INPUT_PIXELS,
      g_param_spec_uint("max-input-pixels", "Largest input area",
                        "A picture of more pixels than this is processed as if it had this area "
                        "(same aspect) before downscale applies: at the defaults 1080p, 1440p "
                        "and 4K are processed at 320x180, as 720p is, so a larger camera costs "
                        "no more. 0: no limit (downscale of the full picture). Takes effect at "
                        "the next stream or flush",
                        0, G_MAXUINT, DEFAULT_MAX_INPUT_PIXELS, kLive));
  g_object_class_install_property(
      gobject_class, PROP_USE_BACKGROUND,
      g_param_spec_boolean("use-background", "Blend over the scene",
                           "Draw the heat over the learned empty scene (pixels with no motion "
                           "show the plain scene); false: the colormap alone",
                           DEFAULT_USE_BACKGROUND, kLive));
  g_object_class_install_property(
      gobject_class, PROP_ALPHA,
      g_param_spec_double("alpha", "Heat opacity",
                          "Opacity of the heat overlay at the hottest pixels, 0 (scene only) "
                          "to 1 (opaque colour); cooler pixels fade towards the scene",
                          0.0, 1.0, DEFAULT_ALPHA, kLive));
  g_object_class_install_property(
      gobject_class, PROP_COLORMAP,
      g_param_spec_enum("colormap", "Colormap", "OpenCV colormap that turns counts into colour",
                        GST_TYPE_HEATMAP_COLORMAP, DEFAULT_COLORMAP, kLive));
  g_object_class_install_property(
      gobject_class, PROP_METHOD,
      g_param_spec_enum("method", "Background subtraction method",
                        "Model that decides which pixels moved: scene (colour, compensates camera "
                        "movement and lighting changes; see docs/accuracy.md), or OpenCV's mog2 "
                        "or knn on the grey frame. Takes effect at the next stream or flush",
                        GST_TYPE_HEATMAP_METHOD, DEFAULT_METHOD, kLive));
  g_object_class_install_property(
      gobject_class, PROP_HISTORY,
      g_param_spec_int("history", "History",
                       "Number of recent frames the background model remembers, 1..100000; "
                       "people standing still longer than this fade into the background. Takes "
                       "effect at the next stream or flush",
                       1, MAX_HISTORY, DEFAULT_HISTORY, kLive));
  g_object_class_install_property(
      gobject_class, PROP_VAR_THRESHOLD,
      g_param_spec_double("var-threshold", "Foreground threshold",
                          "Distance from the background model above which a pixel counts as "
                          "moving, 0..10000: squared Mahalanobis distance for mog2, squared "
                          "distance for knn. -1: the method's usual value, 16 for mog2 and 400 "
                          "for knn. Lower finds fainter motion and more noise. Takes effect at "
                          "the next stream or flush",
                          -1.0, MAX_VAR_THRESHOLD, DEFAULT_VAR_THRESHOLD, kLive));
  g_object_class_install_property(
      gobject_class, PROP_DETECT_SHADOWS,
      g_param_spec_boolean("detect-shadows", "Detect shadows",
                           "Let the subtractor mark cast shadows separately, so they can be "
                           "left out of the counts (see keep-shadows). Takes effect at the next "
                           "stream or flush",
                           DEFAULT_DETECT_SHADOWS, kLive));
  g_object_class_install_property(
      gobject_class, PROP_KEEP_SHADOWS,
      g_param_spec_boolean("keep-shadows", "Count shadows",
                           "Count pixels marked as shadow as motion too (by default they are "
                           "dropped). Takes effect at the next stream or flush",
                           DEFAULT_KEEP_SHADOWS, kLive));
  g_object_class_install_property(
      gobject_class, PROP_LEARNING_RATE,
      g_param_spec_double("learning-rate", "Learning rate",
                          "How fast the background model adapts, 0 (never after the first "
                          "frame) to 1 (only the last frame); -1 (any negative value): "
                          "automatic, from history. Takes effect at the next stream or flush",
                          -1.0, 1.0, DEFAULT_LEARNING_RATE, kLive));
  g_object_class_install_property(
      gobject_class, PROP_OPEN_KERNEL,
      g_param_spec_int("open-kernel", "Opening kernel",
                       "Size in processing pixels of the morphological opening that removes "
                       "speckle from the motion mask, 0 (off) to 64. Takes effect at the next "
                       "stream or flush",
                       0, MAX_OPEN_KERNEL, DEFAULT_OPEN_KERNEL, kLive));
  g_object_class_install_property(
      gobject_class, PROP_BLUR,
      g_param_spec_double("blur", "Smoothing",
                          "Gaussian smoothing of the heat, sigma in output pixels, 0 (off) "
                          "to 100",
                          0.0, MAX_BLUR, DEFAULT_BLUR, kLive));
  g_object_class_install_property(
      gobject_class, PROP_QUALITY,
      g_param_spec_int("quality", "JPEG quality", "JPEG quality of the heatmap image, 1..100", 1,
                       100, DEFAULT_QUALITY, kLive));
  g_object_class_install_property(
      gobject_class, PROP_FRAME_STEP,
      g_param_spec_uint("frame-step", "Frame step",
                        "Analyse only every Nth frame, 1 (all) .. 1000; all frames still pass "
                        "through. frames-processed counts the analysed ones",
                        1, 1000, DEFAULT_FRAME_STEP, kLive));

  g_object_class_install_property(
      gobject_class, PROP_INTERVAL,
      g_param_spec_double("interval", "Snapshot interval",
                          "Seconds of stream (running) time between snapshots: at the end of "
                          "each interval the files are written and the `heatmap` message is "
                          "posted, off the streaming thread. 0: only at end-of-stream. Windows "
                          "start at the first buffer; end-of-stream writes the last, partial one",
                          0.0, MAX_INTERVAL, DEFAULT_INTERVAL, kLive));
  g_object_class_install_property(
      gobject_class, PROP_WINDOW,
      g_param_spec_enum("window", "Window",
                        "What each snapshot covers: everything so far, each interval on its "
                        "own, or exponentially fading motion (half-life). Takes effect at the "
                        "next stream or flush",
                        GST_TYPE_HEATMAP_WINDOW, DEFAULT_WINDOW, kLive));
  g_object_class_install_property(
      gobject_class, PROP_HALF_LIFE,
      g_param_spec_double("half-life", "Decay half-life",
                          "window=decay: seconds after which a frame's motion weighs half. The "
                          "raw PNG then holds 65535 x the decay-weighted share of frames with "
                          "motion. Takes effect at the next stream or flush",
                          MIN_HALF_LIFE, MAX_INTERVAL, DEFAULT_HALF_LIFE, kLive));
  g_object_class_install_property(
      gobject_class, PROP_OVERLAY,
      g_param_spec_boolean("overlay", "Live overlay",
                           "Draw the current heatmap onto the frames passing through, in place "
                           "at full resolution (for a live view or a restream). false: frames "
                           "pass bit-identical",
                           DEFAULT_OVERLAY, kLive));
  g_object_class_install_property(
      gobject_class, PROP_OVERLAY_REFRESH,
      g_param_spec_double("overlay-refresh", "Overlay refresh",
                          "Seconds of stream time between re-renders of the overlay's heat layer "
                          "(rendered on a worker thread; every frame blends the cached layer). "
                          "0: as often as the worker can",
                          MIN_OVERLAY_REFRESH, MAX_INTERVAL, DEFAULT_OVERLAY_REFRESH, kLive));
  g_object_class_install_property(
      gobject_class, PROP_SKIP_FRAMES,
      g_param_spec_enum("skip-frames", "Skip frames when the model is busy",
                        "What happens to a frame that arrives while the motion model (on its "
                        "own thread) still has 3 frames queued: skipped (not analysed, counted "
                        "in the message's and sidecar's frames-skipped, logged at INFO) so the "
                        "video is never held up, or waited for so every frame is analysed. "
                        "auto: skip on live sources (the upstream latency query says live), "
                        "wait on files and batch jobs",
                        GST_TYPE_HEATMAP_SKIP_FRAMES, DEFAULT_SKIP_FRAMES, kLive));
  g_object_class_install_property(
      gobject_class, PROP_PROCESSING_DEADLINE,
      g_param_spec_uint64("processing-deadline", "Processing deadline",
                          "Live pipelines: the longest the element may hold a frame, in "
                          "nanoseconds, added to the latency it reports (the LATENCY query) so "
                          "that a sync=true sink budgets for it. A frame that reaches the "
                          "element when the sink should already show it is passed on (drawn on) "
                          "without model work (skip-frames auto or when-busy; counted in "
                          "frames-skipped). Raise it on a starved machine, lower it for a "
                          "low-latency view",
                          0, MAX_PROCESSING_DEADLINE, DEFAULT_PROCESSING_DEADLINE, kLive));

  // Masks, zones and side files (docs/metadata.md). The mask and zones files are read when the
  // element starts.
  const auto kAtStart = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                                 GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_MASK,
      g_param_spec_string("mask", "Mask file",
                          "Which pixels count: a PNG at any size (white = counted, black = "
                          "ignored; scaled to the processing size) or a JSON file of polygons "
                          "({\"exclude\": [{\"polygon\": [[x,y],...]}]}, coordinates 0..1). "
                          "Masked pixels never count, stay out of the scene model's lighting "
                          "and camera estimates and show desaturated on the JPEG. Read at "
                          "start; a bad file is an error naming it. Unset: everything counts",
                          NULL, kAtStart));
  g_object_class_install_property(
      gobject_class, PROP_ZONES,
      g_param_spec_string("zones", "Zones file",
                          "JSON file of named polygons in normalised coordinates, {\"zones\": "
                          "[{\"name\": \"entrance\", \"polygon\": [[0.1,0.6],[0.3,0.6],"
                          "[0.3,0.9]]}]}; per zone and zone-interval the activity (mean fraction "
                          "of its pixels moving), peak and active flag go to the sidecar and the "
                          "CSV, the totals to the message. Read at start; a bad file (bad JSON, "
                          "fewer than 3 points, out of range, duplicate names) is an error "
                          "naming it. Unset: no zones",
                          NULL, kAtStart));
  g_object_class_install_property(
      gobject_class, PROP_ZONE_INTERVAL,
      g_param_spec_double("zone-interval", "Zone interval",
                          "Length in seconds of stream time of one step of the zone series, "
                          "0.01..86400",
                          MIN_ZONE_INTERVAL, MAX_ZONE_INTERVAL, DEFAULT_ZONE_INTERVAL, kAtStart));
  g_object_class_install_property(
      gobject_class, PROP_ZONE_THRESHOLD,
      g_param_spec_double("zone-threshold", "Zone activity threshold",
                          "An interval is active for a zone when its activity (mean fraction of "
                          "the zone's counted pixels moving) is above 0 and at least this, 0..1",
                          0.0, 1.0, DEFAULT_ZONE_THRESHOLD, kAtStart));
  g_object_class_install_property(
      gobject_class, PROP_DRAW_ZONES,
      g_param_spec_boolean("draw-zones", "Draw zones",
                           "Outline and label the zones on the heatmap JPEG", DEFAULT_DRAW_ZONES,
                           kLive));
  g_object_class_install_property(
      gobject_class, PROP_METADATA_LOCATION,
      g_param_spec_string("metadata-location", "Sidecar JSON",
                          "File for the JSON sidecar of each snapshot (docs/metadata.md, format "
                          "version 1): source, start time, duration, frames, size, settings, "
                          "stats, zones and the names of the files; written atomically before "
                          "the JPEG. Same patterns as location. Unset: none",
                          NULL, kLive));
  g_object_class_install_property(
      gobject_class, PROP_ZONES_CSV_LOCATION,
      g_param_spec_string("zones-csv-location", "Zones CSV",
                          "File for the zone series as CSV (time_utc,zone,activity,peak,active,"
                          "offset_s,duration_s,frames), written only when there are zones. Same "
                          "patterns as location. Unset: none",
                          NULL, kLive));
  g_object_class_install_property(
      gobject_class, PROP_SCENE_LOCATION,
      g_param_spec_string("scene-location", "Scene JPEG",
                          "File for the learned empty scene (JPEG at processing size), the "
                          "picture later aggregates are drawn over. Same patterns as location. "
                          "Unset: none",
                          NULL, kLive));

  gst_element_class_set_static_metadata(
      element_class, "Motion heatmap", "Filter/Analyzer/Video",
      "Passes video through unchanged and counts, per pixel of a downscaled copy, the frames "
      "in which something moved (OpenCV MOG2/KNN background subtraction). At end-of-stream, "
      "or every interval, it writes a colour heatmap JPEG over the empty scene (location), "
      "optionally the raw counts as a 16-bit PNG (raw-location), pushes the JPEG on its image "
      "pad, and posts a \"heatmap\" element message; it can draw the heatmap on the video "
      "(overlay)",
      "gst-heatmap developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_add_static_pad_template(element_class, &image_template);
  element_class->request_new_pad = GST_DEBUG_FUNCPTR(gst_heatmap_request_new_pad);
  element_class->release_pad = GST_DEBUG_FUNCPTR(gst_heatmap_release_pad);

  /**
   * GstHeatmap::format-location:
   * @heatmap: the element
   * @index: the snapshot's index (0, 1, 2, ...)
   * @start_utc_us: wall clock of the window's start, microseconds since 1970-01-01 UTC
   *
   * Lets the application name each heatmap JPEG (as splitmuxsink's signal of that name). Emitted
   * from the writer thread, once per snapshot. Return a newly allocated path, or NULL to use
   * #GstHeatmap:location.
   */
  gst_heatmap_signals[SIGNAL_FORMAT_LOCATION] = g_signal_new(
      "format-location", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
      g_signal_accumulator_first_wins, NULL, NULL, G_TYPE_STRING, 2, G_TYPE_UINT, G_TYPE_INT64);

  // The element decides itself (overlay property) whether frames are written to.
  trans_class->passthrough_on_same_caps = FALSE;
  trans_class->transform_ip_on_passthrough = TRUE;
  trans_class->start = GST_DEBUG_FUNCPTR(gst_heatmap_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_heatmap_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_heatmap_sink_event);
  trans_class->query = GST_DEBUG_FUNCPTR(gst_heatmap_query);
  trans_class->src_event = GST_DEBUG_FUNCPTR(gst_heatmap_src_event);
  filter_class->set_info = GST_DEBUG_FUNCPTR(gst_heatmap_set_info);
  filter_class->transform_frame_ip = GST_DEBUG_FUNCPTR(gst_heatmap_transform_frame_ip);

  gst_type_mark_as_plugin_api(GST_TYPE_HEATMAP_COLORMAP, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_HEATMAP_METHOD, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_HEATMAP_WINDOW, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_HEATMAP_SKIP_FRAMES, static_cast<GstPluginAPIFlags>(0));
}

static void gst_heatmap_init(GstHeatmap *self) {
  new (&self->priv) Private();
  GstBaseTransform *trans = GST_BASE_TRANSFORM(self);
  gst_base_transform_set_passthrough(trans, TRUE);
  gst_base_transform_set_in_place(trans, TRUE);
  // Every frame must be counted: dropping late frames (QoS) would bias the heatmap.
  gst_base_transform_set_qos_enabled(trans, FALSE);
}
