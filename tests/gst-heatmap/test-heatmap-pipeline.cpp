// test-heatmap-pipeline.cpp: `filesrc ! decodebin ! heatmap ! fakesink` on encoded video: heat lies
// where things moved.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include "gst-test-util.h"

namespace fs = std::filesystem;

namespace {

using test_util::ElementPtr;
using test_util::parse;
using test_util::StructurePtr;
using test_util::TempDir;

// Plays `pipeline` to EOS (failing the test on an ERROR) and returns a copy of the structure
// of the `heatmap` element message, if one was posted.
StructurePtr play_to_eos(GstElement *pipeline) {
  g_assert_cmpint(gst_element_set_state(pipeline, GST_STATE_PLAYING), !=, GST_STATE_CHANGE_FAILURE);
  GstBus *bus = gst_element_get_bus(pipeline);
  StructurePtr heatmap;
  for (;;) {
    GstMessage *msg = gst_bus_timed_pop_filtered(
        bus, 300 * GST_SECOND,
        static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT));
    g_assert_nonnull(msg);  // NULL: timed out
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
      GError *error = NULL;
      gchar *debug = NULL;
      gst_message_parse_error(msg, &error, &debug);
      g_error("pipeline error from %s: %s (%s)", GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)),
              error->message, debug ? debug : "");
    }
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ELEMENT && gst_message_has_name(msg, "heatmap")) {
      heatmap.reset(gst_structure_copy(gst_message_get_structure(msg)));
    }
    const bool eos = GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS;
    gst_message_unref(msg);
    if (eos)
      break;
  }
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  return heatmap;
}

// The synthetic clip: a still scene (smooth gradient and a few static boxes, which compress
// cleanly), empty for the first kEmptyFrames (as a camera sees its scene before anyone walks in;
// a background model needs a few frames to settle), then a bright 24x24 square crossing it left
// to right along the band y = kBandTop .. kBandTop + 24.
constexpr int kWidth = 320, kHeight = 240, kEmptyFrames = 25, kCrossingFrames = 100,
              kFrames = kEmptyFrames + kCrossingFrames, kSquare = 24, kBandTop = 108;

cv::Mat synthetic_frame(int index) {
  cv::Mat grey(kHeight, kWidth, CV_8UC1);
  for (int y = 0; y < kHeight; ++y)
    for (int x = 0; x < kWidth; ++x)
      grey.at<guint8>(y, x) = static_cast<guint8>(50 + x / 8 + y / 6);
  cv::rectangle(grey, cv::Rect(20, 20, 60, 40), cv::Scalar(140), cv::FILLED);
  cv::rectangle(grey, cv::Rect(220, 170, 70, 50), cv::Scalar(30), cv::FILLED);
  if (index < kEmptyFrames)
    return grey;
  const int x = (index - kEmptyFrames) * (kWidth - kSquare) / (kCrossingFrames - 1);
  cv::rectangle(grey, cv::Rect(x, kBandTop, kSquare, kSquare), cv::Scalar(235), cv::FILLED);
  return grey;
}

// Encodes the synthetic clip as H.264 in MP4 with x264enc, fed through appsrc.
void encode_synthetic_mp4(const std::string &path) {
  ElementPtr pipeline = parse(
      "appsrc name=src format=time caps=video/x-raw,format=GRAY8,width=320,height=240,"
      "framerate=25/1 ! videoconvert ! video/x-raw,format=I420 ! x264enc ! mp4mux ! "
      "filesink location=\"" +
      path + "\"");
  GstElement *src = gst_bin_get_by_name(GST_BIN(pipeline.get()), "src");
  g_assert_cmpint(gst_element_set_state(pipeline.get(), GST_STATE_PLAYING), !=,
                  GST_STATE_CHANGE_FAILURE);
  for (int i = 0; i < kFrames; ++i) {
    const cv::Mat frame = synthetic_frame(i);
    GstBuffer *buffer = gst_buffer_new_allocate(NULL, frame.total(), NULL);
    gst_buffer_fill(buffer, 0, frame.data, frame.total());
    GST_BUFFER_PTS(buffer) = gst_util_uint64_scale(i, GST_SECOND, 25);
    GST_BUFFER_DURATION(buffer) = GST_SECOND / 25;
    g_assert_cmpint(gst_app_src_push_buffer(GST_APP_SRC(src), buffer), ==, GST_FLOW_OK);
  }
  gst_app_src_end_of_stream(GST_APP_SRC(src));
  gst_object_unref(src);
  play_to_eos(pipeline.get());
}

// Runs the pipeline under test and returns its message; checks the files it wrote.
StructurePtr run_heatmap(const std::string &input, const std::string &jpeg,
                         const std::string &png) {
  ElementPtr pipeline =
      parse("filesrc location=\"" + input + "\" ! decodebin ! heatmap location=\"" + jpeg +
            "\" raw-location=\"" + png + "\" ! fakesink");
  StructurePtr msg = play_to_eos(pipeline.get());
  g_assert_nonnull(msg);
  g_assert_true(fs::exists(jpeg));
  g_assert_true(fs::exists(png));
  return msg;
}

cv::Mat read_counts(const std::string &png) {
  cv::Mat counts = cv::imread(png, cv::IMREAD_UNCHANGED);
  g_assert_false(counts.empty());
  g_assert_cmpint(counts.type(), ==, CV_16UC1);
  return counts;
}

void test_synthetic_clip_heat_follows_the_square() {
  TempDir dir;
  const std::string mp4 = dir.file("square.mp4"), jpeg = dir.file("heat.jpg"),
                    png = dir.file("counts.png");
  encode_synthetic_mp4(mp4);
  StructurePtr msg = run_heatmap(mp4, jpeg, png);

  guint64 frames = 0;
  g_assert_true(gst_structure_get_uint64(msg.get(), "frames-processed", &frames));
  g_assert_cmpuint(frames, ==, kFrames);
  const cv::Mat image = cv::imread(jpeg, cv::IMREAD_COLOR);
  g_assert_cmpint(image.cols, ==, kWidth / 4);
  g_assert_cmpint(image.rows, ==, kHeight / 4);

  const cv::Mat counts = read_counts(png);
  g_assert_cmpint(counts.cols, ==, kWidth / 4);
  // The band the square crossed, in processing pixels, with one pixel of margin for the
  // downscale and the opening.
  const int band_top = kBandTop / 4 - 1, band_bottom = (kBandTop + kSquare) / 4 + 1;
  const cv::Rect band(0, band_top, counts.cols, band_bottom - band_top);
  const double total = cv::sum(counts)[0];
  const double inside = cv::sum(counts(band))[0];
  g_test_message("synthetic: total %.0f, inside band %.0f", total, inside);
  g_assert_cmpfloat(total, >, 0);
  g_assert_cmpfloat(inside / total, >=, 0.95);

  // Along the whole path: columns the square passed over must have heat.
  cv::Mat column_heat;
  cv::Mat band_heat;
  counts(band).convertTo(band_heat, CV_32F);
  cv::reduce(band_heat, column_heat, 0, cv::REDUCE_MAX);
  int hot_columns = 0;
  const int first = 1, last = counts.cols - 1;
  for (int x = first; x < last; ++x)
    hot_columns += column_heat.at<float>(0, x) > 0 ? 1 : 0;
  std::string profile;
  for (int x = 0; x < counts.cols; ++x)
    profile += std::to_string(static_cast<int>(column_heat.at<float>(0, x))) + " ";
  g_test_message("synthetic: %d of %d path columns hot; column maxima: %s", hot_columns,
                 last - first, profile.c_str());
  g_assert_cmpfloat(hot_columns, >=, 0.9 * (last - first));

  // Outside the band (static boxes, gradient): essentially no heat.
  cv::Mat outside = counts.clone();
  outside(band).setTo(0);
  double outside_max = 0;
  cv::minMaxLoc(outside, NULL, &outside_max);
  g_assert_cmpfloat(outside_max, <=, 2);
}

// The test's own, independent motion estimate: decoded frames as small grey images, absolute
// difference of consecutive frames above a threshold, counted per pixel.
cv::Mat frame_differencing(const std::string &input, cv::Size size) {
  ElementPtr pipeline =
      parse("filesrc location=\"" + input +
            "\" ! decodebin ! videoconvert ! videoscale ! "
            "video/x-raw,format=GRAY8,width=" +
            std::to_string(size.width) + ",height=" + std::to_string(size.height) +
            ",pixel-aspect-ratio=1/1 ! appsink name=sink sync=false");
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline.get()), "sink");
  g_assert_cmpint(gst_element_set_state(pipeline.get(), GST_STATE_PLAYING), !=,
                  GST_STATE_CHANGE_FAILURE);
  cv::Mat motion = cv::Mat::zeros(size, CV_32F), previous, diff, moved;
  int frames = 0;
  while (GstSample *sample = gst_app_sink_pull_sample(GST_APP_SINK(sink))) {
    GstVideoInfo info;
    gst_video_info_from_caps(&info, gst_sample_get_caps(sample));
    GstVideoFrame frame;
    g_assert_true(gst_video_frame_map(&frame, &info, gst_sample_get_buffer(sample), GST_MAP_READ));
    cv::Mat grey(size, CV_8UC1, GST_VIDEO_FRAME_PLANE_DATA(&frame, 0),
                 GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0));
    cv::Mat current;
    cv::GaussianBlur(grey, current, cv::Size(3, 3), 0);
    gst_video_frame_unmap(&frame);
    gst_sample_unref(sample);
    if (!previous.empty()) {
      cv::absdiff(current, previous, diff);
      cv::threshold(diff, moved, 20, 1, cv::THRESH_BINARY);
      cv::add(motion, moved, motion, cv::noArray(), CV_32F);
    }
    previous = current;
    ++frames;
  }
  gst_object_unref(sink);
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  g_assert_cmpint(frames, >, 100);
  return motion;
}

double correlation(const cv::Mat &a, const cv::Mat &b) {
  cv::Scalar mean_a, std_a, mean_b, std_b;
  cv::meanStdDev(a, mean_a, std_a);
  cv::meanStdDev(b, mean_b, std_b);
  const double cov = cv::mean((a - mean_a[0]).mul(b - mean_b[0]))[0];
  return cov / (std_a[0] * std_b[0]);
}

// Mask of the `fraction` of pixels with the highest values.
cv::Mat top_fraction(const cv::Mat &values, double fraction) {
  std::vector<float> sorted(values.begin<float>(), values.end<float>());
  const size_t k = static_cast<size_t>((1.0 - fraction) * sorted.size());
  std::nth_element(sorted.begin(), sorted.begin() + k, sorted.end());
  return values > sorted[k];
}

// Runs the element and the independent estimate on one real clip and compares them.
void check_real_clip(const std::string &clip) {
  g_test_message("real clip %s", clip.c_str());
  TempDir dir;
  const std::string jpeg = dir.file("heat.jpg"), png = dir.file("counts.png");
  StructurePtr msg = run_heatmap(clip, jpeg, png);
  gint width = 0, height = 0;
  g_assert_true(gst_structure_get_int(msg.get(), "width", &width));
  g_assert_true(gst_structure_get_int(msg.get(), "height", &height));
  const cv::Mat counts = read_counts(png);
  g_assert_cmpint(counts.cols, ==, width);
  g_assert_cmpint(counts.rows, ==, height);
  const cv::Mat image = cv::imread(jpeg, cv::IMREAD_COLOR);
  g_assert_cmpint(image.cols, ==, width);
  g_assert_cmpint(image.rows, ==, height);

  // Both maps at half the processing size, smoothed alike so a one-pixel offset does not matter.
  const cv::Size size(width / 2, height / 2);
  cv::Mat element, reference;
  counts.convertTo(element, CV_32F);
  cv::resize(element, element, size, 0, 0, cv::INTER_AREA);
  reference = frame_differencing(clip, size);
  cv::GaussianBlur(element, element, cv::Size(0, 0), 2);
  cv::GaussianBlur(reference, reference, cv::Size(0, 0), 2);

  // Of the element's hottest 10% of pixels, how many lie in the differencing map's top 25%?
  // Unrelated maps would give about 0.25 (and a correlation near 0).
  const cv::Mat ref_top = top_fraction(reference, 0.25);
  auto overlap_with_reference = [&](const cv::Mat &map) {
    const cv::Mat hot = top_fraction(map, 0.10);
    cv::Mat both;
    cv::bitwise_and(hot, ref_top, both);
    return static_cast<double>(cv::countNonZero(both)) / cv::countNonZero(hot);
  };
  const double r = correlation(element, reference);
  const double overlap = overlap_with_reference(element);
  // Control: the same heat turned upside down keeps its statistics but not its place; the
  // measures must tell it apart, or they would not show that the heat is where people walk.
  cv::Mat flipped;
  cv::flip(element, flipped, -1);
  const double r_flipped = correlation(flipped, reference);
  const double overlap_flipped = overlap_with_reference(flipped);
  g_test_message("real clip: correlation %.3f (flipped %.3f), overlap %.3f (flipped %.3f)", r,
                 r_flipped, overlap, overlap_flipped);
  // Thresholds well above chance but with room for tuning of the core's model: measured
  // 0.67 and 0.83 with the defaults.
  g_assert_cmpfloat(r, >=, 0.5);
  g_assert_cmpfloat(overlap, >=, 0.65);
  g_assert_cmpfloat(r_flipped, <, 0.5);
  g_assert_cmpfloat(overlap_flipped, <, 0.65);
}

// Every clip in $SHARED_DIR/data/videos (the overhead concourse clip: 1280x720, processed at
// 320x180).
void test_real_clips_heat_where_people_walk() {
  const char *shared = g_getenv("SHARED_DIR");
  g_assert_nonnull(shared);
  const fs::path videos = fs::path(shared) / "data" / "videos";
  std::error_code err;
  if (!fs::is_directory(videos, err))
    g_error("the shared clips folder %s is missing (SHARED_DIR must point at ../shared)",
            videos.c_str());
  int clips = 0;
  for (const auto &entry : fs::directory_iterator(videos)) {
    const std::string ext = entry.path().extension().string();
    if (ext == ".avi" || ext == ".mp4" || ext == ".mkv" || ext == ".mov") {
      check_real_clip(entry.path().string());
      ++clips;
    }
  }
  if (clips == 0)
    g_error("no video clips in %s", videos.c_str());
}

}  // namespace

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/heatmap/pipeline/synthetic-mp4-heat-follows-the-square",
                  test_synthetic_clip_heat_follows_the_square);
  g_test_add_func("/heatmap/pipeline/real-clips-heat-where-people-walk",
                  test_real_clips_heat_where_people_walk);
  return g_test_run();
}
