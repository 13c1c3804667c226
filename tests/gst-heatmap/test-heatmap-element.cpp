// test-heatmap-element.cpp: GstHarness tests of the `heatmap` element (caps, passthrough,
// properties, EOS files, messages).
// C++ and OpenCV headers first: libcheck's macros (fail, ...) clash with names in <ios>.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "heatmap-core.h"

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include "gst-test-util.h"

namespace fs = std::filesystem;

namespace {

using test_util::TempDir;

const char *const kFormats[] = {"I420",  "YV12", "NV12", "NV21", "Y42B", "Y444",
                                "GRAY8", "BGR",  "RGB",  "BGRx", "RGBx", "xRGB",
                                "xBGR",  "BGRA", "RGBA", "ARGB", "ABGR"};

struct HarnessDeleter {
  void operator()(GstHarness *h) const { gst_harness_teardown(h); }
};
using HarnessPtr = std::unique_ptr<GstHarness, HarnessDeleter>;

struct MessageDeleter {
  void operator()(GstMessage *m) const { gst_message_unref(m); }
};
using MessagePtr = std::unique_ptr<GstMessage, MessageDeleter>;

// A harness around one heatmap element whose messages go to a private bus.
struct Fixture {
  HarnessPtr h;
  GstBus *bus = nullptr;
  Fixture() : h(gst_harness_new("heatmap")) {
    // GstHarness answers the latency query as a live source: these tests count every frame.
    gst_util_set_object_arg(G_OBJECT(h->element), "skip-frames", "never");
    bus = gst_bus_new();
    gst_element_set_bus(h->element, bus);
  }
  ~Fixture() {
    gst_element_set_bus(h->element, NULL);
    gst_object_unref(bus);
  }
  GstElement *element() const { return h->element; }
  // Takes the first pending message of one of `types`; the others stay queued (unlike
  // gst_bus_pop_filtered, which drops them).
  MessagePtr pop(GstMessageType types) {
    while (GstMessage *m = gst_bus_pop(bus))
      pending.emplace_back(m);
    for (auto it = pending.begin(); it != pending.end(); ++it) {
      if (GST_MESSAGE_TYPE(it->get()) & types) {
        MessagePtr m = std::move(*it);
        pending.erase(it);
        return m;
      }
    }
    return nullptr;
  }
  std::vector<MessagePtr> pending;
};

GstVideoInfo video_info(const char *format, int width, int height) {
  GstVideoInfo info;
  gst_video_info_set_format(&info, gst_video_format_from_string(format), width, height);
  return info;
}

std::string caps_string(const char *format, int width, int height) {
  return std::string("video/x-raw,format=") + format + ",width=" + std::to_string(width) +
         ",height=" + std::to_string(height) + ",framerate=25/1";
}

// The synthetic scene: a static textured floor and a bright 24x24 square moving right along a
// horizontal band in the middle of the picture.
cv::Mat scene(int width, int height, int index) {
  cv::Mat grey(height, width, CV_8UC1);
  cv::RNG rng(1234);
  rng.fill(grey, cv::RNG::UNIFORM, 60, 100);
  const int x = (index * 5) % (width - 24);
  cv::rectangle(grey, cv::Rect(x, height / 2 - 12, 24, 24), cv::Scalar(230), cv::FILLED);
  return grey;
}

// A buffer in `info`'s format showing the grey picture (luma = grey, neutral chroma; RGB
// channels all = grey).
GstBuffer *buffer_from_grey(const cv::Mat &grey, const GstVideoInfo &info) {
  GstBuffer *buffer = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&info), NULL);
  gst_buffer_memset(buffer, 0, 128, GST_VIDEO_INFO_SIZE(&info));
  GstVideoFrame frame;
  fail_unless(
      gst_video_frame_map(&frame, const_cast<GstVideoInfo *>(&info), buffer, GST_MAP_WRITE));
  auto *plane0 = static_cast<guint8 *>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
  const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
  const int pixel_stride = GST_VIDEO_FRAME_COMP_PSTRIDE(&frame, 0);
  const bool yuv = GST_VIDEO_INFO_IS_YUV(&info);
  for (int y = 0; y < grey.rows; ++y) {
    for (int x = 0; x < grey.cols; ++x) {
      const guint8 v = grey.at<guint8>(y, x);
      if (yuv || GST_VIDEO_INFO_IS_GRAY(&info))
        plane0[y * stride + x] = v;
      else
        std::memset(plane0 + y * stride + x * pixel_stride, v, pixel_stride);
    }
  }
  gst_video_frame_unmap(&frame);
  return buffer;
}

// A buffer of `info`'s size filled with a pattern that differs per frame.
GstBuffer *pattern_buffer(const GstVideoInfo &info, int seed) {
  GstBuffer *buffer = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&info), NULL);
  GstMapInfo map;
  gst_buffer_map(buffer, &map, GST_MAP_WRITE);
  for (gsize i = 0; i < map.size; ++i)
    map.data[i] = static_cast<guint8>((i * 31 + seed * 7 + (i >> 9)) & 0xff);
  gst_buffer_unmap(buffer, &map);
  return buffer;
}

std::vector<guint8> bytes_of(GstBuffer *buffer) {
  GstMapInfo map;
  fail_unless(gst_buffer_map(buffer, &map, GST_MAP_READ));
  std::vector<guint8> bytes(map.data, map.data + map.size);
  gst_buffer_unmap(buffer, &map);
  return bytes;
}

// Feeds the same buffer to a core accumulator, describing it independently of the element.
void feed_core(heatmap::Accumulator *acc, GstBuffer *buffer, const GstVideoInfo &info) {
  GstVideoFrame frame;
  fail_unless(gst_video_frame_map(&frame, const_cast<GstVideoInfo *>(&info), buffer, GST_MAP_READ));
  heatmap::FrameView view;
  switch (GST_VIDEO_INFO_FORMAT(&info)) {
    case GST_VIDEO_FORMAT_I420:
      view.format = heatmap::PixelFormat::kI420;
      break;
    case GST_VIDEO_FORMAT_GRAY8:
      view.format = heatmap::PixelFormat::kGray8;
      break;
    case GST_VIDEO_FORMAT_BGRx:
      view.format = heatmap::PixelFormat::kBGRx;
      break;
    case GST_VIDEO_FORMAT_NV12:
      view.format = heatmap::PixelFormat::kNV12;
      break;
    default:
      fail("feed_core: format not handled by the test");
  }
  view.width = GST_VIDEO_INFO_WIDTH(&info);
  view.height = GST_VIDEO_INFO_HEIGHT(&info);
  for (guint i = 0; i < GST_VIDEO_INFO_N_PLANES(&info); ++i) {
    view.planes[i].data = static_cast<const std::uint8_t *>(GST_VIDEO_FRAME_PLANE_DATA(&frame, i));
    view.planes[i].stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, i);
  }
  acc->add_frame(view);
  gst_video_frame_unmap(&frame);
}

// Pushes `buffer`, pulls what comes out and checks it is the same, unmodified buffer.
void push_and_expect_unchanged(GstHarness *h, GstBuffer *buffer) {
  const std::vector<guint8> before = bytes_of(buffer);
  fail_unless_equals_int(gst_harness_push(h, buffer), GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull(h);
  fail_unless(out != NULL);
  fail_unless(out == buffer, "passthrough must not copy the buffer");
  fail_unless(bytes_of(out) == before, "frame bytes changed");
  gst_buffer_unref(out);
}

const GstStructure *heatmap_structure(GstMessage *msg) {
  fail_unless(msg != NULL, "no heatmap message");
  const GstStructure *s = gst_message_get_structure(msg);
  fail_unless(gst_structure_has_name(s, "heatmap"));
  return s;
}

guint64 get_u64(const GstStructure *s, const char *field) {
  guint64 v = 0;
  fail_unless(gst_structure_get_uint64(s, field, &v), "missing %s", field);
  return v;
}

int get_int(const GstStructure *s, const char *field) {
  gint v = 0;
  fail_unless(gst_structure_get_int(s, field, &v), "missing %s", field);
  return v;
}

guint64 eos_frames_processed(Fixture *f) {
  fail_unless(gst_harness_push_event(f->h.get(), gst_event_new_eos()));
  MessagePtr msg = f->pop(GST_MESSAGE_ELEMENT);
  return get_u64(heatmap_structure(msg.get()), "frames-processed");
}

// The raw-location PNG must hold exactly the counts of a core run on the same frames.
// The element's model defaults (the core's; kept apart so that a default method that differs
// from the core's changes one line).
heatmap::Settings element_defaults() {
  return heatmap::Settings();
}

void expect_png_equals_core(const std::string &png, const heatmap::Accumulator &core) {
  const cv::Mat counts = cv::imread(png, cv::IMREAD_UNCHANGED);
  fail_unless(!counts.empty(), "%s is not a readable PNG", png.c_str());
  fail_unless_equals_int(counts.type(), CV_16UC1);
  fail_unless(counts.size() == core.counts().size(), "size %dx%d, core %dx%d", counts.cols,
              counts.rows, core.counts().cols, core.counts().rows);
  fail_unless_equals_int(cv::countNonZero(counts != core.counts()), 0);
}

}  // namespace

GST_START_TEST(test_caps_each_format_passes_frames_bit_identical) {
  for (const char *format : kFormats) {
    Fixture f;
    const GstVideoInfo info = video_info(format, 64, 48);
    gst_harness_set_src_caps_str(f.h.get(), caps_string(format, 64, 48).c_str());
    for (int i = 0; i < 3; ++i)
      push_and_expect_unchanged(f.h.get(), pattern_buffer(info, i));
    fail_unless(f.pop(GST_MESSAGE_ERROR) == nullptr, "error with %s", format);
    GstCaps *caps = gst_pad_get_current_caps(f.h->sinkpad);
    fail_unless(caps != NULL, "%s: caps not forwarded", format);
    const gchar *out_format = gst_structure_get_string(gst_caps_get_structure(caps, 0), "format");
    fail_unless_equals_string(out_format, format);
    gst_caps_unref(caps);
  }
}
GST_END_TEST;

GST_START_TEST(test_unsupported_format_is_refused) {
  Fixture f;
  gst_harness_set_src_caps_str(f.h.get(), caps_string("UYVY", 64, 48).c_str());
  const GstVideoInfo info = video_info("UYVY", 64, 48);
  fail_unless_equals_int(gst_harness_push(f.h.get(), pattern_buffer(info, 0)),
                         GST_FLOW_NOT_NEGOTIATED);
}
GST_END_TEST;

GST_START_TEST(test_read_only_frames_pass_unchanged) {
  // A decoder's output memory may be read-only; a write map would fail on it.
  Fixture f;
  const GstVideoInfo info = video_info("NV12", 320, 240);
  gst_harness_set_src_caps_str(f.h.get(), caps_string("NV12", 320, 240).c_str());
  for (int i = 0; i < 5; ++i) {
    GstBuffer *src = buffer_from_grey(scene(320, 240, i), info);
    std::vector<guint8> bytes = bytes_of(src);
    gst_buffer_unref(src);
    auto *copy = static_cast<guint8 *>(g_memdup2(bytes.data(), bytes.size()));
    GstBuffer *ro = gst_buffer_new_wrapped_full(GST_MEMORY_FLAG_READONLY, copy, bytes.size(), 0,
                                                bytes.size(), copy, g_free);
    push_and_expect_unchanged(f.h.get(), ro);
  }
  fail_unless(f.pop(GST_MESSAGE_ERROR) == nullptr);
  fail_unless_equals_uint64(eos_frames_processed(&f), 5);
}
GST_END_TEST;

GST_START_TEST(test_properties_round_trip) {
  Fixture f;
  GstElement *e = f.element();
  g_object_set(e, "location", "/tmp/a.jpg", "raw-location", "/tmp/a.png", "downscale", 0.5,
               "use-background", FALSE, "alpha", 0.25, "method", 1, "history", 120, "var-threshold",
               400.0, "detect-shadows", FALSE, "keep-shadows", TRUE, "learning-rate", 0.01,
               "open-kernel", 5, "blur", 1.5, "quality", 75, "frame-step", 4u, NULL);
  gst_util_set_object_arg(G_OBJECT(e), "colormap", "inferno");
  gchar *location = NULL, *raw = NULL;
  gdouble downscale, alpha, var_threshold, learning_rate, blur;
  gboolean use_bg, detect, keep;
  gint method, colormap, history, open_kernel, quality;
  guint frame_step;
  g_object_get(e, "location", &location, "raw-location", &raw, "downscale", &downscale,
               "use-background", &use_bg, "alpha", &alpha, "colormap", &colormap, "method", &method,
               "history", &history, "var-threshold", &var_threshold, "detect-shadows", &detect,
               "keep-shadows", &keep, "learning-rate", &learning_rate, "open-kernel", &open_kernel,
               "blur", &blur, "quality", &quality, "frame-step", &frame_step, NULL);
  fail_unless_equals_string(location, "/tmp/a.jpg");
  fail_unless_equals_string(raw, "/tmp/a.png");
  fail_unless_equals_float(downscale, 0.5);
  fail_unless(!use_bg);
  fail_unless_equals_float(alpha, 0.25);
  fail_unless_equals_int(colormap, cv::COLORMAP_INFERNO);
  fail_unless_equals_int(method, 1);
  fail_unless_equals_int(history, 120);
  fail_unless_equals_float(var_threshold, 400.0);
  fail_unless(!detect);
  fail_unless(keep);
  fail_unless_equals_float(learning_rate, 0.01);
  fail_unless_equals_int(open_kernel, 5);
  fail_unless_equals_float(blur, 1.5);
  fail_unless_equals_int(quality, 75);
  fail_unless_equals_int(frame_step, 4);
  g_free(location);
  g_free(raw);

  // Unsetting a location gives NULL back.
  g_object_set(e, "location", NULL, NULL);
  g_object_get(e, "location", &location, NULL);
  fail_unless(location == NULL);

  // Every enum nick documented for users resolves.
  const char *colormaps[] = {"autumn", "bone",     "jet",     "winter",   "rainbow",
                             "ocean",  "summer",   "spring",  "cool",     "hsv",
                             "pink",   "hot",      "parula",  "magma",    "inferno",
                             "plasma", "viridis",  "cividis", "twilight", "twilight-shifted",
                             "turbo",  "deepgreen"};
  for (int i = 0; i < static_cast<int>(G_N_ELEMENTS(colormaps)); ++i) {
    gst_util_set_object_arg(G_OBJECT(e), "colormap", colormaps[i]);
    g_object_get(e, "colormap", &colormap, NULL);
    fail_unless_equals_int(colormap, i);
  }
  gst_util_set_object_arg(G_OBJECT(e), "method", "knn");
  g_object_get(e, "method", &method, NULL);
  fail_unless_equals_int(method, 1);
}
GST_END_TEST;

GST_START_TEST(test_property_defaults) {
  Fixture f;
  GObjectClass *klass = G_OBJECT_GET_CLASS(f.element());
  auto def_double = [&](const char *name) {
    return G_PARAM_SPEC_DOUBLE(g_object_class_find_property(klass, name))->default_value;
  };
  fail_unless_equals_float(def_double("downscale"), 0.25);
  fail_unless_equals_float(def_double("learning-rate"), -1.0);
  fail_unless_equals_float(def_double("var-threshold"), -1.0);
  fail_unless_equals_int(
      G_PARAM_SPEC_INT(g_object_class_find_property(klass, "quality"))->default_value, 90);
  fail_unless_equals_int(
      G_PARAM_SPEC_UINT(g_object_class_find_property(klass, "frame-step"))->default_value, 1);
  fail_unless_equals_int(
      G_PARAM_SPEC_ENUM(g_object_class_find_property(klass, "colormap"))->default_value,
      cv::COLORMAP_JET);
  fail_unless(
      G_PARAM_SPEC_BOOLEAN(g_object_class_find_property(klass, "use-background"))->default_value);
  fail_unless(G_PARAM_SPEC_DOUBLE(g_object_class_find_property(klass, "downscale"))->minimum > 0);
}
GST_END_TEST;

GST_START_TEST(test_inspect_is_a_manual) {
  // gst-inspect-1.0 heatmap is the user's manual: every own property explains itself.
  Fixture f;
  guint n = 0;
  GParamSpec **specs = g_object_class_list_properties(G_OBJECT_GET_CLASS(f.element()), &n);
  int own = 0;
  for (guint i = 0; i < n; ++i) {
    if (specs[i]->owner_type != G_OBJECT_TYPE(f.element()))
      continue;
    ++own;
    const gchar *blurb = g_param_spec_get_blurb(specs[i]);
    fail_unless(blurb != NULL && strlen(blurb) >= 40, "%s: blurb too short", specs[i]->name);
  }
  g_free(specs);
  // + live: skip-frames, processing-deadline; + places: mask, zones, zone-*, draw-zones,
  // 3 locations; + max-input-pixels
  fail_unless_equals_int(own, 21 + 2 + 8 + 1);
  GstElementFactory *factory = gst_element_get_factory(f.element());
  const gchar *description =
      gst_element_factory_get_metadata(factory, GST_ELEMENT_METADATA_DESCRIPTION);
  fail_unless(description != NULL && strlen(description) > 100);
  // Every OpenCV colormap is offered.
  GParamSpec *colormap = g_object_class_find_property(G_OBJECT_GET_CLASS(f.element()), "colormap");
  fail_unless_equals_int(G_PARAM_SPEC_ENUM(colormap)->enum_class->n_values,
                         cv::COLORMAP_DEEPGREEN + 1);
}
GST_END_TEST;

// Sets `name` to an out-of-range value and checks GLib refused it and the old value stayed.
template <typename T>
void expect_rejected(GstElement *e, const char *name, T bad) {
  GValue before = G_VALUE_INIT, after = G_VALUE_INIT;
  GParamSpec *pspec = g_object_class_find_property(G_OBJECT_GET_CLASS(e), name);
  fail_unless(pspec != NULL, "no property %s", name);
  g_value_init(&before, pspec->value_type);
  g_value_init(&after, pspec->value_type);
  g_object_get_property(G_OBJECT(e), name, &before);
  ASSERT_WARNING(g_object_set(e, name, bad, NULL));
  g_object_get_property(G_OBJECT(e), name, &after);
  fail_unless(g_param_values_cmp(pspec, &before, &after) == 0, "%s changed to a bad value", name);
  g_value_unset(&before);
  g_value_unset(&after);
}

GST_START_TEST(test_properties_reject_out_of_range) {
  Fixture f;
  GstElement *e = f.element();
  expect_rejected(e, "downscale", 0.0);
  expect_rejected(e, "downscale", 1.5);
  expect_rejected(e, "downscale", -0.25);
  expect_rejected(e, "alpha", -0.1);
  expect_rejected(e, "alpha", 1.1);
  expect_rejected(e, "quality", 0);
  expect_rejected(e, "quality", 101);
  expect_rejected(e, "frame-step", 0u);
  expect_rejected(e, "history", 0);
  expect_rejected(e, "open-kernel", -1);
  expect_rejected(e, "blur", -1.0);
  expect_rejected(e, "learning-rate", -2.0);
  expect_rejected(e, "learning-rate", 1.5);
  expect_rejected(e, "var-threshold", -1.5);
  expect_rejected(e, "colormap", 99);
  expect_rejected(e, "method", 7);
  gdouble downscale;
  g_object_get(e, "downscale", &downscale, NULL);
  fail_unless_equals_float(downscale, 0.25);
}
GST_END_TEST;

GST_START_TEST(test_eos_writes_jpeg_and_png_matching_core) {
  TempDir dir;
  Fixture f;
  const std::string jpeg = dir.file("heat.jpg"), png = dir.file("counts.png");
  g_object_set(f.element(), "location", jpeg.c_str(), "raw-location", png.c_str(), NULL);
  const GstVideoInfo info = video_info("I420", 320, 240);
  gst_harness_set_src_caps_str(f.h.get(), caps_string("I420", 320, 240).c_str());

  heatmap::Accumulator core(element_defaults());
  const int kFrames = 60;
  for (int i = 0; i < kFrames; ++i) {
    GstBuffer *buffer = buffer_from_grey(scene(320, 240, i), info);
    feed_core(&core, buffer, info);
    push_and_expect_unchanged(f.h.get(), buffer);
  }
  fail_unless(!fs::exists(jpeg), "the JPEG must only appear at EOS");
  fail_unless(gst_harness_push_event(f.h.get(), gst_event_new_eos()));

  // EOS still goes downstream, after the files are written.
  GstEvent *event;
  bool saw_eos = false;
  while ((event = gst_harness_try_pull_event(f.h.get())) != NULL) {
    saw_eos = saw_eos || GST_EVENT_TYPE(event) == GST_EVENT_EOS;
    gst_event_unref(event);
  }
  fail_unless(saw_eos, "EOS was not forwarded");

  const cv::Mat image = cv::imread(jpeg, cv::IMREAD_UNCHANGED);
  fail_unless(!image.empty(), "%s is not a readable JPEG", jpeg.c_str());
  fail_unless_equals_int(image.cols, 80);
  fail_unless_equals_int(image.rows, 60);
  fail_unless_equals_int(image.channels(), 3);

  const cv::Mat counts = cv::imread(png, cv::IMREAD_UNCHANGED);
  fail_unless(!counts.empty(), "%s is not a readable PNG", png.c_str());
  fail_unless_equals_int(counts.type(), CV_16UC1);
  fail_unless_equals_int(counts.cols, 80);
  fail_unless_equals_int(counts.rows, 60);
  const cv::Mat &expected = core.counts();
  fail_unless_equals_int(cv::countNonZero(counts != expected), 0);

  double max_count = 0;
  cv::minMaxLoc(counts, NULL, &max_count);
  fail_unless(max_count > 0, "the moving square left no heat");

  MessagePtr msg = f.pop(GST_MESSAGE_ELEMENT);
  const GstStructure *s = heatmap_structure(msg.get());
  fail_unless_equals_string(gst_structure_get_string(s, "location"), jpeg.c_str());
  fail_unless_equals_string(gst_structure_get_string(s, "raw-location"), png.c_str());
  fail_unless_equals_uint64(get_u64(s, "frames-processed"), kFrames);
  fail_unless_equals_int(get_int(s, "width"), 80);
  fail_unless_equals_int(get_int(s, "height"), 60);
  guint max_field = 0;
  fail_unless(gst_structure_get_uint(s, "max-count", &max_field));
  fail_unless_equals_int(max_field, static_cast<int>(max_count));
  gdouble coverage = -1;
  fail_unless(gst_structure_get_double(s, "motion-coverage", &coverage));
  fail_unless_equals_float(coverage, cv::countNonZero(counts) / double(counts.total()));
  fail_unless(coverage > 0.0 && coverage < 0.5, "coverage %f", coverage);
  fail_unless(f.pop(GST_MESSAGE_ERROR) == nullptr);
  fail_unless(f.pop(GST_MESSAGE_WARNING) == nullptr);
  // Only the two files: no temporary left behind.
  fail_unless_equals_int(dir.entries().size(), 2);
}
GST_END_TEST;

GST_START_TEST(test_message_posted_without_location) {
  TempDir dir;
  Fixture f;
  const GstVideoInfo info = video_info("GRAY8", 160, 120);
  gst_harness_set_src_caps_str(f.h.get(), caps_string("GRAY8", 160, 120).c_str());
  for (int i = 0; i < 20; ++i)
    push_and_expect_unchanged(f.h.get(), buffer_from_grey(scene(160, 120, i), info));
  fail_unless(gst_harness_push_event(f.h.get(), gst_event_new_eos()));
  MessagePtr msg = f.pop(GST_MESSAGE_ELEMENT);
  const GstStructure *s = heatmap_structure(msg.get());
  fail_unless(gst_structure_get_string(s, "location") == NULL);
  fail_unless(gst_structure_get_string(s, "raw-location") == NULL);
  fail_unless_equals_uint64(get_u64(s, "frames-processed"), 20);
  fail_unless_equals_int(get_int(s, "width"), 40);
  fail_unless_equals_int(get_int(s, "height"), 30);
}
GST_END_TEST;

// Runs frames into an element whose location is `location` and returns the ERROR message.
MessagePtr run_expecting_error(const std::string &location) {
  Fixture f;
  g_object_set(f.element(), "location", location.c_str(), NULL);
  const GstVideoInfo info = video_info("I420", 160, 120);
  gst_harness_set_src_caps_str(f.h.get(), caps_string("I420", 160, 120).c_str());
  for (int i = 0; i < 10; ++i)
    push_and_expect_unchanged(f.h.get(), buffer_from_grey(scene(160, 120, i), info));
  gst_harness_push_event(f.h.get(), gst_event_new_eos());
  fail_unless(f.pop(GST_MESSAGE_ELEMENT) == nullptr, "heatmap message despite write failure");
  return f.pop(GST_MESSAGE_ERROR);
}

void check_open_write_error(GstMessage *msg, const std::string &location) {
  fail_unless(msg != NULL, "no ERROR message for %s", location.c_str());
  GError *error = NULL;
  gchar *debug = NULL;
  gst_message_parse_error(msg, &error, &debug);
  fail_unless(g_error_matches(error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE),
              "wrong error: %s", error->message);
  fail_unless(strstr(error->message, location.c_str()) != NULL, "message does not name %s: %s",
              location.c_str(), error->message);
  g_error_free(error);
  g_free(debug);
}

GST_START_TEST(test_unwritable_location_errors) {
  TempDir dir;
  // Missing folders are created (location patterns name dated folders), but a file where a
  // folder should be cannot be worked around.
  const std::string plain_file = dir.file("plain-file");
  fail_unless(g_file_set_contents(plain_file.c_str(), "x", 1, NULL));
  const std::string under_file = dir.file("plain-file/sub/heat.jpg");
  MessagePtr msg = run_expecting_error(under_file);
  check_open_write_error(msg.get(), under_file);
  fail_unless(!fs::exists(dir.file("plain-file/sub")));
  fs::remove(plain_file);

  // A directory in the way: the rename fails after the temporary file was written.
  const std::string blocked = dir.file("blocked.jpg");
  fs::create_directory(blocked);
  msg = run_expecting_error(blocked);
  check_open_write_error(msg.get(), blocked);
  fail_unless(fs::is_directory(blocked) && fs::is_empty(blocked));
  const std::vector<std::string> entries = dir.entries();
  fail_unless_equals_int(entries.size(), 1);  // only blocked.jpg/: no temporary file left
}
GST_END_TEST;

GST_START_TEST(test_zero_frame_eos_warns_and_writes_nothing) {
  TempDir dir;
  Fixture f;
  const std::string jpeg = dir.file("heat.jpg");
  g_object_set(f.element(), "location", jpeg.c_str(), NULL);
  gst_harness_set_src_caps_str(f.h.get(), caps_string("I420", 160, 120).c_str());
  fail_unless(gst_harness_push_event(f.h.get(), gst_event_new_eos()));
  MessagePtr msg = f.pop(GST_MESSAGE_WARNING);
  fail_unless(msg != NULL, "no WARNING for an empty stream");
  fail_unless(f.pop(GST_MESSAGE_ELEMENT) == nullptr);
  fail_unless(f.pop(GST_MESSAGE_ERROR) == nullptr);
  fail_unless(dir.entries().empty(), "something was written");
}
GST_END_TEST;

GST_START_TEST(test_flush_resets_accumulator) {
  TempDir dir;
  Fixture f;
  const std::string png = dir.file("counts.png");
  g_object_set(f.element(), "raw-location", png.c_str(), NULL);
  const GstVideoInfo info = video_info("I420", 160, 120);
  gst_harness_set_src_caps_str(f.h.get(), caps_string("I420", 160, 120).c_str());
  for (int i = 0; i < 30; ++i)
    push_and_expect_unchanged(f.h.get(), buffer_from_grey(scene(160, 120, i), info));

  fail_unless(gst_harness_push_event(f.h.get(), gst_event_new_flush_start()));
  fail_unless(gst_harness_push_event(f.h.get(), gst_event_new_flush_stop(TRUE)));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  fail_unless(gst_harness_push_event(f.h.get(), gst_event_new_segment(&segment)));

  // After the flush, the core must see exactly these frames from a fresh model.
  heatmap::Accumulator core(element_defaults());
  for (int i = 40; i < 52; ++i) {
    GstBuffer *buffer = buffer_from_grey(scene(160, 120, i), info);
    feed_core(&core, buffer, info);
    push_and_expect_unchanged(f.h.get(), buffer);
  }
  fail_unless_equals_uint64(eos_frames_processed(&f), 12);
  expect_png_equals_core(png, core);
}
GST_END_TEST;

GST_START_TEST(test_new_stream_resets_accumulator) {
  Fixture f;
  const GstVideoInfo info = video_info("GRAY8", 160, 120);
  gst_harness_set_src_caps_str(f.h.get(), caps_string("GRAY8", 160, 120).c_str());
  for (int i = 0; i < 15; ++i)
    push_and_expect_unchanged(f.h.get(), buffer_from_grey(scene(160, 120, i), info));
  fail_unless(gst_harness_push_event(f.h.get(), gst_event_new_stream_start("second")));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  fail_unless(gst_harness_push_event(f.h.get(), gst_event_new_segment(&segment)));
  for (int i = 0; i < 6; ++i)
    push_and_expect_unchanged(f.h.get(), buffer_from_grey(scene(160, 120, i), info));
  fail_unless_equals_uint64(eos_frames_processed(&f), 6);
}
GST_END_TEST;

GST_START_TEST(test_frame_step_processes_every_nth_frame) {
  TempDir dir;
  Fixture f;
  const std::string png = dir.file("counts.png");
  g_object_set(f.element(), "frame-step", 3u, "raw-location", png.c_str(), NULL);
  const GstVideoInfo info = video_info("BGRx", 160, 120);
  gst_harness_set_src_caps_str(f.h.get(), caps_string("BGRx", 160, 120).c_str());
  heatmap::Accumulator core(element_defaults());
  for (int i = 0; i < 10; ++i) {
    GstBuffer *buffer = buffer_from_grey(scene(160, 120, i * 2), info);
    if (i % 3 == 0)
      feed_core(&core, buffer, info);
    push_and_expect_unchanged(f.h.get(), buffer);  // every frame still comes out
  }
  fail_unless_equals_uint64(eos_frames_processed(&f), 4);  // frames 0, 3, 6, 9
  expect_png_equals_core(png, core);
}
GST_END_TEST;

// A GAP buffer carries no new picture (a live source's filler, a decoder's missing frame): it
// passes through but must neither count as a processed frame nor move the frame-step phase,
// whatever its bytes hold (here: a different picture that would add motion).
GST_START_TEST(test_gap_buffers_are_not_frames) {
  TempDir dir;
  Fixture f;
  const std::string png = dir.file("counts.png");
  g_object_set(f.element(), "frame-step", 2u, "raw-location", png.c_str(), NULL);
  const GstVideoInfo info = video_info("I420", 160, 120);
  gst_harness_set_src_caps_str(f.h.get(), caps_string("I420", 160, 120).c_str());
  heatmap::Accumulator core(element_defaults());
  int real = 0;
  for (int i = 0; i < 24; ++i) {
    const bool gap = i % 3 == 1;
    GstBuffer *buffer = buffer_from_grey(scene(160, 120, gap ? 200 - i * 7 : i * 2), info);
    if (gap) {
      GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_GAP);
    } else if (real++ % 2 == 0) {
      feed_core(&core, buffer, info);  // frame-step 2 over the real frames only
    }
    push_and_expect_unchanged(f.h.get(), buffer);
  }
  fail_unless_equals_int(real, 16);
  fail_unless_equals_uint64(eos_frames_processed(&f), 8);
  expect_png_equals_core(png, core);
}
GST_END_TEST;

// frame-step counts from the start of each stream: a seek's FLUSH_STOP starts the phase again,
// so the first frame after the flush is processed (frames 0, 3, 6 of the new segment), not
// whichever frame the old phase lands on.
GST_START_TEST(test_frame_step_phase_restarts_after_flush) {
  TempDir dir;
  Fixture f;
  const std::string png = dir.file("counts.png");
  g_object_set(f.element(), "frame-step", 3u, "raw-location", png.c_str(), NULL);
  const GstVideoInfo info = video_info("GRAY8", 160, 120);
  gst_harness_set_src_caps_str(f.h.get(), caps_string("GRAY8", 160, 120).c_str());
  for (int i = 0; i < 4; ++i)  // frames_seen ends at 4: mid-phase
    push_and_expect_unchanged(f.h.get(), buffer_from_grey(scene(160, 120, i), info));

  fail_unless(gst_harness_push_event(f.h.get(), gst_event_new_flush_start()));
  fail_unless(gst_harness_push_event(f.h.get(), gst_event_new_flush_stop(TRUE)));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  fail_unless(gst_harness_push_event(f.h.get(), gst_event_new_segment(&segment)));

  heatmap::Accumulator core(element_defaults());
  for (int i = 0; i < 7; ++i) {
    GstBuffer *buffer = buffer_from_grey(scene(160, 120, 50 + i * 3), info);
    if (i % 3 == 0)
      feed_core(&core, buffer, info);
    push_and_expect_unchanged(f.h.get(), buffer);
  }
  fail_unless_equals_uint64(eos_frames_processed(&f), 3);  // 0, 3, 6 after the flush
  expect_png_equals_core(png, core);
}
GST_END_TEST;

GST_START_TEST(test_caps_change_mid_stream) {
  Fixture f;
  const GstVideoInfo big = video_info("I420", 320, 240);
  gst_harness_set_src_caps_str(f.h.get(), caps_string("I420", 320, 240).c_str());
  for (int i = 0; i < 10; ++i)
    push_and_expect_unchanged(f.h.get(), buffer_from_grey(scene(320, 240, i), big));
  const GstVideoInfo small = video_info("NV12", 160, 120);
  gst_harness_set_src_caps_str(f.h.get(), caps_string("NV12", 160, 120).c_str());
  for (int i = 0; i < 7; ++i)
    push_and_expect_unchanged(f.h.get(), buffer_from_grey(scene(160, 120, i), small));
  fail_unless(gst_harness_push_event(f.h.get(), gst_event_new_eos()));
  MessagePtr msg = f.pop(GST_MESSAGE_ELEMENT);
  const GstStructure *s = heatmap_structure(msg.get());
  fail_unless_equals_uint64(get_u64(s, "frames-processed"), 7);
  fail_unless_equals_int(get_int(s, "width"), 40);
  fail_unless_equals_int(get_int(s, "height"), 30);
  fail_unless(f.pop(GST_MESSAGE_ERROR) == nullptr);
}
GST_END_TEST;

GST_START_TEST(test_model_settings_apply_at_next_stream) {
  Fixture f;
  const GstVideoInfo info = video_info("GRAY8", 160, 120);
  gst_harness_set_src_caps_str(f.h.get(), caps_string("GRAY8", 160, 120).c_str());
  for (int i = 0; i < 5; ++i)
    push_and_expect_unchanged(f.h.get(), buffer_from_grey(scene(160, 120, i), info));
  g_object_set(f.element(), "downscale", 0.5, NULL);
  for (int i = 5; i < 10; ++i)
    push_and_expect_unchanged(f.h.get(), buffer_from_grey(scene(160, 120, i), info));
  fail_unless(gst_harness_push_event(f.h.get(), gst_event_new_eos()));
  MessagePtr msg = f.pop(GST_MESSAGE_ELEMENT);
  fail_unless_equals_int(get_int(heatmap_structure(msg.get()), "width"), 40);  // still 0.25

  fail_unless(gst_harness_push_event(f.h.get(), gst_event_new_flush_start()));
  fail_unless(gst_harness_push_event(f.h.get(), gst_event_new_flush_stop(TRUE)));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  fail_unless(gst_harness_push_event(f.h.get(), gst_event_new_segment(&segment)));
  for (int i = 0; i < 5; ++i)
    push_and_expect_unchanged(f.h.get(), buffer_from_grey(scene(160, 120, i), info));
  fail_unless(gst_harness_push_event(f.h.get(), gst_event_new_eos()));
  msg = f.pop(GST_MESSAGE_ELEMENT);
  fail_unless_equals_int(get_int(heatmap_structure(msg.get()), "width"), 80);  // now 0.5
}
GST_END_TEST;

// Above 1280x720's area the processing size is that of 720p (1080p: 320x180, not 480x270);
// max-input-pixels=0 gives downscale of the full picture; the sidecar records the setting.
GST_START_TEST(test_max_input_pixels) {
  TempDir dir;
  const GstVideoInfo info = video_info("GRAY8", 1920, 1080);
  for (guint limit : {1280u * 720u, 0u}) {
    Fixture f;
    fail_unless_equals_int(
        G_PARAM_SPEC_UINT(
            g_object_class_find_property(G_OBJECT_GET_CLASS(f.element()), "max-input-pixels"))
            ->default_value,
        1280 * 720);
    const std::string json = dir.file(("limit-" + std::to_string(limit) + ".json").c_str());
    g_object_set(f.element(), "max-input-pixels", limit, "metadata-location", json.c_str(), NULL);
    gst_harness_set_src_caps_str(f.h.get(), caps_string("GRAY8", 1920, 1080).c_str());
    for (int i = 0; i < 3; ++i)
      push_and_expect_unchanged(f.h.get(), buffer_from_grey(scene(1920, 1080, i), info));
    fail_unless(gst_harness_push_event(f.h.get(), gst_event_new_eos()));
    MessagePtr msg = f.pop(GST_MESSAGE_ELEMENT);
    const GstStructure *s = heatmap_structure(msg.get());
    fail_unless_equals_int(get_int(s, "width"), limit ? 320 : 480);
    fail_unless_equals_int(get_int(s, "height"), limit ? 180 : 270);
    gchar *text = NULL;
    fail_unless(g_file_get_contents(json.c_str(), &text, NULL, NULL), "no sidecar %s",
                json.c_str());
    const std::string want = "\"max_input_pixels\" : " + std::to_string(limit);
    fail_unless(strstr(text, want.c_str()) != NULL, "sidecar lacks %s: %s", want.c_str(), text);
    g_free(text);
  }
}
GST_END_TEST;

// A coloured scene: four solid quadrants (constant over every chroma block, so subsampling
// loses nothing) and a grey square moving along the middle band.
cv::Mat colour_scene(int width, int height, int index) {
  cv::Mat bgr(height, width, CV_8UC3);
  bgr(cv::Rect(0, 0, width / 2, height / 2)).setTo(cv::Scalar(200, 60, 30));
  bgr(cv::Rect(width / 2, 0, width / 2, height / 2)).setTo(cv::Scalar(30, 180, 220));
  bgr(cv::Rect(0, height / 2, width / 2, height / 2)).setTo(cv::Scalar(60, 200, 60));
  bgr(cv::Rect(width / 2, height / 2, width / 2, height / 2)).setTo(cv::Scalar(180, 180, 180));
  const int x = (index * 5) % (width - 24);
  cv::rectangle(bgr, cv::Rect(x, height / 2 - 12, 24, 24), cv::Scalar(128, 128, 128), cv::FILLED);
  return bgr;
}

// How RGB becomes YUV: luma weights of red and blue, and full (0..255) or video (16..235) range.
struct YuvCoding {
  double kr = 0.299, kb = 0.114;  // BT.601
  bool full_range = false;
};

// A buffer in `info`'s format showing `bgr`, written component by component from the video
// info (so the test does not share the element's plane-order logic).
GstBuffer *buffer_from_bgr(const cv::Mat &bgr, const GstVideoInfo &info,
                           const YuvCoding &coding = YuvCoding()) {
  GstBuffer *buffer = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&info), NULL);
  gst_buffer_memset(buffer, 0, 255, GST_VIDEO_INFO_SIZE(&info));  // alpha / padding
  GstVideoFrame frame;
  fail_unless(
      gst_video_frame_map(&frame, const_cast<GstVideoInfo *>(&info), buffer, GST_MAP_WRITE));
  const bool yuv = GST_VIDEO_INFO_IS_YUV(&info);
  for (int c = 0; c < 3; ++c) {
    auto *data = static_cast<guint8 *>(GST_VIDEO_FRAME_COMP_DATA(&frame, c));
    const int stride = GST_VIDEO_FRAME_COMP_STRIDE(&frame, c);
    const int pstride = GST_VIDEO_FRAME_COMP_PSTRIDE(&frame, c);
    const int w = GST_VIDEO_FRAME_COMP_WIDTH(&frame, c), h = GST_VIDEO_FRAME_COMP_HEIGHT(&frame, c);
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        const cv::Vec3b p = bgr.at<cv::Vec3b>(y * bgr.rows / h, x * bgr.cols / w);
        const double b = p[0], g = p[1], r = p[2];
        double v;
        if (!yuv)
          v = c == 0 ? r : c == 1 ? g : b;  // GStreamer's RGB component order
        else {
          const double luma = coding.kr * r + (1 - coding.kr - coding.kb) * g + coding.kb * b;
          const double pb = (b - luma) / (2 * (1 - coding.kb)),
                       pr = (r - luma) / (2 * (1 - coding.kr));
          const double ys = coding.full_range ? 1.0 : 219.0 / 255,
                       cs = coding.full_range ? 1.0 : 224.0 / 255;
          v = c == 0 ? (coding.full_range ? 0 : 16) + ys * luma : 128 + cs * (c == 1 ? pb : pr);
        }
        data[y * stride + x * pstride] = cv::saturate_cast<guint8>(v);
      }
    }
  }
  gst_video_frame_unmap(&frame);
  return buffer;
}

GST_START_TEST(test_every_colour_format_gives_the_same_scene) {
  // A wrong plane order or channel layout would swap or tint the background colours.
  const int kWidth = 320, kHeight = 240;
  const cv::Rect quadrants[] = {cv::Rect(4, 2, 30, 10), cv::Rect(46, 2, 30, 10),
                                cv::Rect(4, 48, 30, 10), cv::Rect(46, 48, 30, 10)};
  const cv::Mat source = colour_scene(kWidth, kHeight, 0);
  for (const char *format : kFormats) {
    if (strcmp(format, "GRAY8") == 0)
      continue;
    TempDir dir;
    Fixture f;
    const std::string jpeg = dir.file("heat.jpg");
    // alpha 0: the output is the learned scene alone.
    g_object_set(f.element(), "location", jpeg.c_str(), "alpha", 0.0, NULL);
    const GstVideoInfo info = video_info(format, kWidth, kHeight);
    gst_harness_set_src_caps_str(f.h.get(), caps_string(format, kWidth, kHeight).c_str());
    for (int i = 0; i < 40; ++i)
      push_and_expect_unchanged(f.h.get(), buffer_from_bgr(colour_scene(kWidth, kHeight, i), info));
    fail_unless(gst_harness_push_event(f.h.get(), gst_event_new_eos()));
    const cv::Mat image = cv::imread(jpeg, cv::IMREAD_COLOR);
    fail_unless(!image.empty(), "%s: no JPEG", format);
    for (const cv::Rect &q : quadrants) {
      const cv::Scalar got = cv::mean(image(q));
      const cv::Vec3b want = source.at<cv::Vec3b>(q.y * 4, q.x * 4);
      for (int ch = 0; ch < 3; ++ch)
        fail_unless(std::abs(got[ch] - want[ch]) <= 12,
                    "%s: background at (%d,%d) channel %d is %.0f, the scene has %d", format, q.x,
                    q.y, ch, got[ch], want[ch]);
    }
  }
}
GST_END_TEST;

// Checks the learned scene of an I420 stream with the given caps colorimetry.
void check_colorimetry(const char *colorimetry, const YuvCoding &coding) {
  const int kWidth = 320, kHeight = 240;
  TempDir dir;
  Fixture f;
  const std::string jpeg = dir.file("heat.jpg");
  g_object_set(f.element(), "location", jpeg.c_str(), "alpha", 0.0, NULL);
  const std::string caps = caps_string("I420", kWidth, kHeight) + ",colorimetry=" + colorimetry;
  GstVideoInfo info;
  GstCaps *c = gst_caps_from_string(caps.c_str());
  fail_unless(gst_video_info_from_caps(&info, c));
  gst_caps_unref(c);
  // The caps must say what the frames are (GStreamer falls back to a default on a bad string).
  fail_unless_equals_int(info.colorimetry.range, coding.full_range ? GST_VIDEO_COLOR_RANGE_0_255
                                                                   : GST_VIDEO_COLOR_RANGE_16_235);
  fail_unless_equals_int(info.colorimetry.matrix, coding.kr == 0.299
                                                      ? GST_VIDEO_COLOR_MATRIX_BT601
                                                      : GST_VIDEO_COLOR_MATRIX_BT709);
  gst_harness_set_src_caps_str(f.h.get(), caps.c_str());
  for (int i = 0; i < 40; ++i)
    push_and_expect_unchanged(f.h.get(),
                              buffer_from_bgr(colour_scene(kWidth, kHeight, i), info, coding));
  fail_unless(gst_harness_push_event(f.h.get(), gst_event_new_eos()));
  const cv::Mat image = cv::imread(jpeg, cv::IMREAD_COLOR);
  fail_unless(!image.empty());
  const cv::Mat source = colour_scene(kWidth, kHeight, 0);
  for (const cv::Rect &q :
       {cv::Rect(4, 2, 30, 10), cv::Rect(46, 2, 30, 10), cv::Rect(4, 48, 30, 10)}) {
    const cv::Scalar got = cv::mean(image(q));
    const cv::Vec3b want = source.at<cv::Vec3b>(q.y * 4, q.x * 4);
    for (int ch = 0; ch < 3; ++ch)
      fail_unless(std::abs(got[ch] - want[ch]) <= 6,
                  "%s: background at (%d,%d) channel %d is %.0f, the scene has %d", colorimetry,
                  q.x, q.y, ch, got[ch], want[ch]);
  }
}

GST_START_TEST(test_colorimetry_from_caps_is_used) {
  YuvCoding bt709;
  bt709.kr = 0.2126;
  bt709.kb = 0.0722;
  check_colorimetry("bt709", bt709);
  YuvCoding jpeg;  // BT.601 matrix, full range, as JPEG/MJPEG cameras deliver
  jpeg.full_range = true;
  check_colorimetry("(string)1:4:0:0", jpeg);
  check_colorimetry("bt601", YuvCoding());
}
GST_END_TEST;

// Runs the grey scene through an element configured by `configure`; returns the JPEG's bytes
// count and the decoded image.
cv::Mat render_with(const std::function<void(GstElement *)> &configure, std::uintmax_t *size) {
  TempDir dir;
  Fixture f;
  const std::string jpeg = dir.file("heat.jpg");
  g_object_set(f.element(), "location", jpeg.c_str(), NULL);
  configure(f.element());
  const GstVideoInfo info = video_info("I420", 320, 240);
  gst_harness_set_src_caps_str(f.h.get(), caps_string("I420", 320, 240).c_str());
  for (int i = 0; i < 40; ++i)
    push_and_expect_unchanged(f.h.get(), buffer_from_grey(scene(320, 240, i), info));
  fail_unless(gst_harness_push_event(f.h.get(), gst_event_new_eos()));
  *size = fs::file_size(jpeg);
  cv::Mat image = cv::imread(jpeg, cv::IMREAD_COLOR);
  fail_unless(!image.empty());
  return image;
}

GST_START_TEST(test_render_properties_reach_the_image) {
  std::uintmax_t size_default, size_low, size_plain, size_hot;
  const cv::Mat normal = render_with([](GstElement *) {}, &size_default);
  const cv::Mat low =
      render_with([](GstElement *e) { g_object_set(e, "quality", 10, NULL); }, &size_low);
  fail_unless(size_low < size_default, "quality=10 gave %ju bytes, quality=90 %ju", size_low,
              size_default);
  // Without the background, still pixels show the colormap's coldest colour: jet starts dark
  // blue (BGR 128, 0, 0), hot starts black.
  const cv::Rect still(4, 2, 30, 10);
  const cv::Mat plain = render_with(
      [](GstElement *e) { g_object_set(e, "use-background", FALSE, NULL); }, &size_plain);
  const cv::Scalar jet = cv::mean(plain(still));
  fail_unless(jet[0] > 100 && jet[1] < 30 && jet[2] < 30, "jet cold colour %.0f %.0f %.0f", jet[0],
              jet[1], jet[2]);
  const cv::Mat hot = render_with(
      [](GstElement *e) {
        g_object_set(e, "use-background", FALSE, NULL);
        gst_util_set_object_arg(G_OBJECT(e), "colormap", "hot");
      },
      &size_hot);
  const cv::Scalar black = cv::mean(hot(still));
  fail_unless(black[0] < 30 && black[1] < 30 && black[2] < 30, "hot cold colour %.0f %.0f %.0f",
              black[0], black[1], black[2]);
  // alpha 0 leaves the scene alone even on the path; blur spreads heat beyond the path.
  std::uintmax_t unused;
  const cv::Mat no_alpha =
      render_with([](GstElement *e) { g_object_set(e, "alpha", 0.0, NULL); }, &unused);
  const cv::Rect path(10, 28, 60, 4), near_path(10, 22, 60, 3);
  cv::Mat diff;
  cv::absdiff(normal(path), no_alpha(path), diff);
  fail_unless(cv::mean(diff)[0] + cv::mean(diff)[2] > 40, "alpha has no effect on the path");
  cv::absdiff(no_alpha(path), cv::Mat(path.size(), CV_8UC3, cv::Scalar::all(80)), diff);
  fail_unless(cv::mean(diff)[1] < 30, "alpha 0 still colours the path");
  const cv::Mat sharp =
      render_with([](GstElement *e) { g_object_set(e, "blur", 0.0, NULL); }, &unused);
  cv::absdiff(normal(near_path), sharp(near_path), diff);
  fail_unless(cv::sum(diff)[0] + cv::sum(diff)[2] > 0, "blur has no effect next to the path");
  // With the background, still pixels show the scene (grey 60..100), not a colour.
  const cv::Scalar scene_colour = cv::mean(normal(still));
  fail_unless(std::abs(scene_colour[0] - scene_colour[2]) < 10 && scene_colour[1] > 50 &&
                  scene_colour[1] < 110,
              "scene colour %.0f %.0f %.0f", scene_colour[0], scene_colour[1], scene_colour[2]);
}
GST_END_TEST;

// Runs the grey scene through the element with `configure`d properties and through a core
// accumulator with `settings`; the counts must be identical.
void check_model_settings(const std::function<void(GstElement *)> &configure,
                          const heatmap::Settings &settings) {
  TempDir dir;
  Fixture f;
  const std::string png = dir.file("counts.png");
  g_object_set(f.element(), "raw-location", png.c_str(), NULL);
  configure(f.element());
  const GstVideoInfo info = video_info("NV12", 320, 240);
  gst_harness_set_src_caps_str(f.h.get(), caps_string("NV12", 320, 240).c_str());
  heatmap::Accumulator core(settings);
  for (int i = 0; i < 50; ++i) {
    // The square casts a shadow: the floor below it at 60% brightness, which a subtractor
    // with shadow detection marks as shadow rather than motion.
    cv::Mat grey = scene(320, 240, i);
    const int x = (i * 5) % (320 - 24);
    cv::Mat shadow = grey(cv::Rect(x, 240 / 2 + 12, 24, 16));
    shadow.convertTo(shadow, CV_8U, 0.6);
    GstBuffer *buffer = buffer_from_grey(grey, info);
    feed_core(&core, buffer, info);
    push_and_expect_unchanged(f.h.get(), buffer);
  }
  fail_unless(gst_harness_push_event(f.h.get(), gst_event_new_eos()));
  expect_png_equals_core(png, core);
}

GST_START_TEST(test_model_properties_reach_the_core) {
  heatmap::Settings knn;
  knn.method = heatmap::Method::kKnn;
  knn.var_threshold = 400;
  knn.history = 50;
  knn.open_kernel = 5;
  knn.downscale = 0.5;
  knn.learning_rate = 0.05;
  check_model_settings(
      [](GstElement *e) {
        gst_util_set_object_arg(G_OBJECT(e), "method", "knn");
        g_object_set(e, "var-threshold", 400.0, "history", 50, "open-kernel", 5, "downscale", 0.5,
                     "learning-rate", 0.05, NULL);
      },
      knn);
  // var-threshold -1 (default) means the method's usual value: 400 for knn, 16 for mog2.
  heatmap::Settings knn_default;
  knn_default.method = heatmap::Method::kKnn;
  knn_default.var_threshold = 400;
  check_model_settings([](GstElement *e) { gst_util_set_object_arg(G_OBJECT(e), "method", "knn"); },
                       knn_default);
  check_model_settings([](GstElement *) {}, element_defaults());
  heatmap::Settings keep = element_defaults();  // shadows detected but counted; a short history
  keep.var_threshold = 25;
  keep.keep_shadows = true;
  keep.open_kernel = 0;
  keep.history = 20;
  check_model_settings(
      [](GstElement *e) {
        g_object_set(e, "var-threshold", 25.0, "keep-shadows", TRUE, "open-kernel", 0, "history",
                     20, NULL);
      },
      keep);
  heatmap::Settings no_shadows = element_defaults();  // shadows not detected: they are motion
  no_shadows.detect_shadows = false;
  check_model_settings([](GstElement *e) { g_object_set(e, "detect-shadows", FALSE, NULL); },
                       no_shadows);
}
GST_END_TEST;

static Suite *heatmap_suite(void) {
  Suite *s = suite_create("heatmap");
  TCase *tc = tcase_create("element");
  tcase_set_timeout(tc, 120);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_caps_each_format_passes_frames_bit_identical);
  tcase_add_test(tc, test_unsupported_format_is_refused);
  tcase_add_test(tc, test_read_only_frames_pass_unchanged);
  tcase_add_test(tc, test_properties_round_trip);
  tcase_add_test(tc, test_property_defaults);
  tcase_add_test(tc, test_max_input_pixels);
  tcase_add_test(tc, test_inspect_is_a_manual);
  tcase_add_test(tc, test_properties_reject_out_of_range);
  tcase_add_test(tc, test_eos_writes_jpeg_and_png_matching_core);
  tcase_add_test(tc, test_message_posted_without_location);
  tcase_add_test(tc, test_unwritable_location_errors);
  tcase_add_test(tc, test_zero_frame_eos_warns_and_writes_nothing);
  tcase_add_test(tc, test_flush_resets_accumulator);
  tcase_add_test(tc, test_new_stream_resets_accumulator);
  tcase_add_test(tc, test_frame_step_processes_every_nth_frame);
  tcase_add_test(tc, test_gap_buffers_are_not_frames);
  tcase_add_test(tc, test_frame_step_phase_restarts_after_flush);
  tcase_add_test(tc, test_caps_change_mid_stream);
  tcase_add_test(tc, test_model_settings_apply_at_next_stream);
  tcase_add_test(tc, test_every_colour_format_gives_the_same_scene);
  tcase_add_test(tc, test_colorimetry_from_caps_is_used);
  tcase_add_test(tc, test_render_properties_reach_the_image);
  tcase_add_test(tc, test_model_properties_reach_the_core);
  return s;
}

GST_CHECK_MAIN(heatmap);
