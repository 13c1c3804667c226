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
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstheatmap.h"

#include "heatmap-core.h"

#include <opencv2/imgproc.hpp>

#include <exception>
#include <memory>
#include <new>
#include <string>

GST_DEBUG_CATEGORY_STATIC(gst_heatmap_debug);
#define GST_CAT_DEFAULT gst_heatmap_debug

#define DEFAULT_LOCATION NULL
#define DEFAULT_RAW_LOCATION NULL
#define DEFAULT_DOWNSCALE 0.25
#define MIN_DOWNSCALE 0.01
#define DEFAULT_USE_BACKGROUND TRUE
#define DEFAULT_ALPHA 0.6
#define DEFAULT_COLORMAP GST_HEATMAP_COLORMAP_JET
#define DEFAULT_METHOD GST_HEATMAP_METHOD_MOG2
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

// The property defaults are the core's defaults; keep them from drifting apart.
namespace {
constexpr heatmap::Settings kCoreSettings{};
constexpr heatmap::RenderSettings kCoreRender{};
static_assert(kCoreSettings.downscale == DEFAULT_DOWNSCALE, "downscale default differs from core");
static_assert(kCoreSettings.history == DEFAULT_HISTORY, "history default differs from core");
static_assert(kCoreSettings.var_threshold == MOG2_VAR_THRESHOLD, "var-threshold default");
static_assert(kCoreSettings.detect_shadows == DEFAULT_DETECT_SHADOWS, "detect-shadows default");
static_assert(kCoreSettings.keep_shadows == DEFAULT_KEEP_SHADOWS, "keep-shadows default");
static_assert(kCoreSettings.learning_rate == DEFAULT_LEARNING_RATE, "learning-rate default");
static_assert(kCoreSettings.open_kernel == DEFAULT_OPEN_KERNEL, "open-kernel default");
static_assert(kCoreSettings.method == heatmap::Method::kMog2, "method default differs from core");
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
};

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
};

// Streaming state; only touched with the sink pad's stream lock held (buffers and serialized
// events) or while not streaming (start/stop).
struct Stream {
  std::unique_ptr<heatmap::Accumulator> accumulator;
  guint64 frames_seen = 0;  // since the last reset, to apply frame-step
};

struct Private {
  Props props;
  Stream stream;
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

// Forgets the accumulated motion and applies the current model settings.
static void gst_heatmap_reset(GstHeatmap *self) {
  Stream &stream = self->priv.stream;
  stream.frames_seen = 0;
  if (!stream.accumulator)
    return;
  GST_DEBUG_OBJECT(self, "resetting the accumulator");
  stream.accumulator->set_settings(current_model_settings(self));
  stream.accumulator->reset();
}

static gboolean gst_heatmap_start(GstBaseTransform *trans) {
  GstHeatmap *self = GST_HEATMAP(trans);
  self->priv.stream.accumulator =
      std::make_unique<heatmap::Accumulator>(current_model_settings(self));
  self->priv.stream.frames_seen = 0;
  return TRUE;
}

static gboolean gst_heatmap_stop(GstBaseTransform *trans) {
  GstHeatmap *self = GST_HEATMAP(trans);
  self->priv.stream.accumulator.reset();
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

// GstVideoFilter maps the frame for reading only in passthrough mode, so the buffer goes
// downstream untouched and read-only memory (a decoder's output pool) is fine.
static GstFlowReturn gst_heatmap_transform_frame_ip(GstVideoFilter *filter, GstVideoFrame *frame) {
  GstHeatmap *self = GST_HEATMAP(filter);
  Stream &stream = self->priv.stream;
  if (G_UNLIKELY(!stream.accumulator)) {
    GST_ELEMENT_ERROR(self, CORE, STATE_CHANGE, (NULL), ("heatmap received a frame before start"));
    return GST_FLOW_ERROR;
  }
  // A gap buffer carries no new picture.
  if (GST_BUFFER_FLAG_IS_SET(frame->buffer, GST_BUFFER_FLAG_GAP))
    return GST_FLOW_OK;

  GST_OBJECT_LOCK(self);
  const guint frame_step = self->priv.props.frame_step;
  GST_OBJECT_UNLOCK(self);
  const guint64 index = stream.frames_seen++;
  if (index % frame_step != 0)
    return GST_FLOW_OK;

  heatmap::FrameView view;
  if (!frame_view(*frame, &view)) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, (NULL),
                      ("unsupported format %s", GST_VIDEO_INFO_NAME(&frame->info)));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  try {
    stream.accumulator->add_frame(view);
  } catch (const std::exception &e) {
    GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not analyse a video frame for motion."),
                      ("%s", e.what()));
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

// Only logs: the core starts afresh by itself when the frame size changes, and works on luma
// for every format, so a new layout at the same size can go on accumulating.
static gboolean gst_heatmap_set_info(GstVideoFilter *filter, GstCaps *incaps, GstVideoInfo *,
                                     GstCaps *, GstVideoInfo *) {
  GST_DEBUG_OBJECT(filter, "negotiated %" GST_PTR_FORMAT, incaps);
  return TRUE;
}

// Renders and writes the files, then posts the `heatmap` message. Runs in the streaming thread.
static void gst_heatmap_finish(GstHeatmap *self) {
  Stream &stream = self->priv.stream;
  if (!stream.accumulator)
    return;
  const heatmap::Stats stats = stream.accumulator->stats();
  if (stats.frames_processed == 0) {
    GST_ELEMENT_WARNING(self, STREAM, FAILED,
                        ("No video frames reached the heatmap element before end-of-stream, "
                         "so no heatmap was written."),
                        (NULL));
    return;
  }

  GST_OBJECT_LOCK(self);
  const Props props = self->priv.props;
  GST_OBJECT_UNLOCK(self);

  std::string error;
  if (!props.location.empty()) {
    cv::Mat image;
    try {
      image = heatmap::render(stream.accumulator->counts(), stream.accumulator->background(),
                              props.render);
    } catch (const std::exception &e) {
      GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not render the heatmap."), ("%s", e.what()));
      return;
    }
    if (!heatmap::write_jpeg(props.location, image, props.quality, &error)) {
      GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE,
                        ("Could not write the heatmap image \"%s\".", props.location.c_str()),
                        ("%s", error.c_str()));
      return;
    }
    GST_INFO_OBJECT(self, "wrote %s (%dx%d)", props.location.c_str(), image.cols, image.rows);
  }
  if (!props.raw_location.empty()) {
    if (!heatmap::write_counts_png(props.raw_location, stream.accumulator->counts(), &error)) {
      GST_ELEMENT_ERROR(
          self, RESOURCE, OPEN_WRITE,
          ("Could not write the raw motion counts \"%s\".", props.raw_location.c_str()),
          ("%s", error.c_str()));
      return;
    }
    GST_INFO_OBJECT(self, "wrote %s", props.raw_location.c_str());
  }

  GstStructure *s = gst_structure_new(
      "heatmap", "location", G_TYPE_STRING, props.location.empty() ? NULL : props.location.c_str(),
      "raw-location", G_TYPE_STRING, props.raw_location.empty() ? NULL : props.raw_location.c_str(),
      "frames-processed", G_TYPE_UINT64, static_cast<guint64>(stats.frames_processed), "width",
      G_TYPE_INT, stats.width, "height", G_TYPE_INT, stats.height, "max-count", G_TYPE_UINT,
      static_cast<guint>(stats.max_count), "motion-coverage", G_TYPE_DOUBLE, stats.motion_coverage,
      "lighting-events", G_TYPE_UINT, stats.lighting_events, "camera-shift", G_TYPE_DOUBLE,
      stats.camera_shift, "camera-moved", G_TYPE_BOOLEAN, stats.camera_moved ? TRUE : FALSE, NULL);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

static gboolean gst_heatmap_sink_event(GstBaseTransform *trans, GstEvent *event) {
  GstHeatmap *self = GST_HEATMAP(trans);
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_EOS:
      gst_heatmap_finish(self);
      break;
    case GST_EVENT_FLUSH_STOP:
    case GST_EVENT_STREAM_START:
      gst_heatmap_reset(self);
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
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
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
      g_value_set_enum(value, p.model.method == heatmap::Method::kKnn     ? GST_HEATMAP_METHOD_KNN
                              : p.model.method == heatmap::Method::kScene ? GST_HEATMAP_METHOD_SCENE
                                                                          : GST_HEATMAP_METHOD_MOG2);
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
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
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
                          "File the heatmap JPEG is written to at end-of-stream, atomically "
                          "(temporary file, then rename). Unset: no image, the `heatmap` "
                          "message is still posted",
                          DEFAULT_LOCATION, kLive));
  g_object_class_install_property(
      gobject_class, PROP_RAW_LOCATION,
      g_param_spec_string("raw-location", "Raw counts PNG",
                          "File for a 16-bit greyscale PNG of the raw per-pixel counts at "
                          "processing size (value = processed frames in which the pixel moved, "
                          "saturating at 65535), for adding up many clips later. Unset: none",
                          DEFAULT_RAW_LOCATION, kLive));
  g_object_class_install_property(
      gobject_class, PROP_DOWNSCALE,
      g_param_spec_double("downscale", "Downscale factor",
                          "Processing size as a fraction of the video size, 0.01..1 (0 is not "
                          "allowed); the heatmap files have this size. Smaller is faster and "
                          "less noisy. Takes effect at the next stream or flush",
                          MIN_DOWNSCALE, 1.0, DEFAULT_DOWNSCALE, kLive));
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

  gst_element_class_set_static_metadata(
      element_class, "Motion heatmap", "Filter/Analyzer/Video",
      "Passes video through unchanged and counts, per pixel of a downscaled copy, the frames "
      "in which something moved (OpenCV MOG2/KNN background subtraction). At end-of-stream it "
      "writes a colour heatmap JPEG over the empty scene (location), optionally the raw counts "
      "as a 16-bit PNG (raw-location), and posts a \"heatmap\" element message with "
      "frames-processed, width, height, max-count and motion-coverage",
      "gst-heatmap developers");
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);

  trans_class->passthrough_on_same_caps = TRUE;
  trans_class->transform_ip_on_passthrough = TRUE;
  trans_class->start = GST_DEBUG_FUNCPTR(gst_heatmap_start);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_heatmap_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_heatmap_sink_event);
  filter_class->set_info = GST_DEBUG_FUNCPTR(gst_heatmap_set_info);
  filter_class->transform_frame_ip = GST_DEBUG_FUNCPTR(gst_heatmap_transform_frame_ip);

  gst_type_mark_as_plugin_api(GST_TYPE_HEATMAP_COLORMAP, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_HEATMAP_METHOD, static_cast<GstPluginAPIFlags>(0));
}

static void gst_heatmap_init(GstHeatmap *self) {
  new (&self->priv) Private();
  GstBaseTransform *trans = GST_BASE_TRANSFORM(self);
  gst_base_transform_set_passthrough(trans, TRUE);
  // Every frame must be counted: dropping late frames (QoS) would bias the heatmap.
  gst_base_transform_set_qos_enabled(trans, FALSE);
}
