// test-heatmap-core.cpp: unit tests of the GObject-free heatmap core on synthesised frames.
#include "heatmap-core.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <png.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using heatmap::Accumulator;
using heatmap::FrameView;
using heatmap::PixelFormat;
using heatmap::Settings;

// A static, textured BGR scene: smooth blobs plus fine grain, so that the model has real
// structure to learn (a flat grey frame would make every test trivially pass).
cv::Mat textured_scene(cv::Size size, std::uint64_t seed) {
  cv::RNG rng(seed);
  cv::Mat coarse(size.height / 8 + 1, size.width / 8 + 1, CV_8UC3);
  rng.fill(coarse, cv::RNG::UNIFORM, 40, 200);
  cv::Mat scene;
  cv::resize(coarse, scene, size, 0, 0, cv::INTER_CUBIC);
  cv::Mat grain(size, CV_16SC3);
  rng.fill(grain, cv::RNG::NORMAL, 0, 12);
  cv::Mat scene16;
  scene.convertTo(scene16, CV_16SC3);
  scene16 += grain;
  scene16.convertTo(scene, CV_8UC3);
  return scene;
}

cv::Mat add_noise(const cv::Mat &frame, double sigma, cv::RNG &rng) {
  cv::Mat noise(frame.size(), CV_MAKETYPE(CV_16S, frame.channels()));
  rng.fill(noise, cv::RNG::NORMAL, 0, sigma);
  cv::Mat wide;
  frame.convertTo(wide, CV_16S);
  wide += noise;
  cv::Mat out;
  wide.convertTo(out, CV_8U);
  return out;
}

// An I420 copy of a BGR frame and a view over it (the Mat must outlive the view).
struct I420Frame {
  cv::Mat data;
  FrameView view;
};

I420Frame to_i420(const cv::Mat &bgr) {
  I420Frame f;
  cv::cvtColor(bgr, f.data, cv::COLOR_BGR2YUV_I420);
  const int w = bgr.cols, h = bgr.rows;
  f.view.format = PixelFormat::kI420;
  f.view.width = w;
  f.view.height = h;
  f.view.planes[0] = {f.data.data, static_cast<std::size_t>(w)};
  f.view.planes[1] = {f.data.data + w * h, static_cast<std::size_t>(w / 2)};
  f.view.planes[2] = {f.data.data + w * h + (w / 2) * (h / 2), static_cast<std::size_t>(w / 2)};
  return f;
}

int count_nonzero_outside(const cv::Mat &counts, const cv::Rect &inside) {
  cv::Mat outside = counts.clone();
  outside(inside & cv::Rect(0, 0, counts.cols, counts.rows)).setTo(0);
  return cv::countNonZero(outside);
}

// ---- a bright square moving along a known path --------------------------------------------

constexpr int kSquare = 16;
const cv::Size kSceneSize(320, 240);
constexpr int kPathY = 100;  // top row of the square, full resolution
constexpr int kPathX0 = 20;
constexpr int kPathX1 = 280;  // last left edge
constexpr int kWarmup = 30;

// Frame i of the moving-square sequence: kWarmup static frames, then the square sweeps along
// the path at 2 px per frame and back.
cv::Mat square_frame(const cv::Mat &scene, int i) {
  cv::Mat f = scene.clone();
  if (i >= kWarmup) {
    const int span = (kPathX1 - kPathX0) / 2;
    int k = (i - kWarmup) % (2 * span);
    if (k >= span) {
      k = 2 * span - k;
    }
    cv::rectangle(f, cv::Rect(kPathX0 + 2 * k, kPathY, kSquare, kSquare), cv::Scalar::all(250),
                  cv::FILLED);
  }
  return f;
}

void check_square_heat(const Accumulator &acc, double downscale) {
  const cv::Mat &counts = acc.counts();
  g_assert_cmpint(counts.cols, ==, static_cast<int>(kSceneSize.width * downscale + 0.5));
  g_assert_cmpint(counts.rows, ==, static_cast<int>(kSceneSize.height * downscale + 0.5));
  const double d = downscale;
  // The band the square swept, in processing pixels, with 2 pixels of slack for the downscale.
  const cv::Rect band(static_cast<int>(kPathX0 * d) - 2, static_cast<int>(kPathY * d) - 2,
                      static_cast<int>((kPathX1 + kSquare - kPathX0) * d) + 4,
                      static_cast<int>(kSquare * d) + 4);
  const int counted = cv::countNonZero(counts);
  const int outside_band = count_nonzero_outside(counts, band);
  g_test_message("counted %d pixels, %d outside the band; max %u", counted, outside_band,
                 acc.stats().max_count);
  // The square must have been seen along most of its path...
  const cv::Rect core(static_cast<int>((kPathX0 + 4) * d), static_cast<int>((kPathY + 4) * d),
                      static_cast<int>((kPathX1 - kPathX0 + kSquare - 8) * d),
                      static_cast<int>((kSquare - 8) * d));
  const int core_hit = cv::countNonZero(counts(core));
  g_assert_cmpfloat(static_cast<double>(core_hit) / core.area(), >, 0.9);
  g_assert_cmpint(acc.stats().max_count, >=, 4);
  // ...and nowhere else: >90% of the heat in the band, none at all far from it.
  g_assert_cmpfloat(static_cast<double>(counted - outside_band) / counted, >, 0.9);
  const cv::Rect near(band.x - 8, band.y - 8, band.width + 16, band.height + 16);
  g_assert_cmpint(count_nonzero_outside(counts, near), ==, 0);
}

void test_moving_square_i420() {
  const cv::Mat scene = textured_scene(kSceneSize, 1);
  Settings s;
  s.downscale = 0.5;
  Accumulator acc(s);
  for (int i = 0; i < kWarmup + 200; ++i) {
    acc.add_frame(to_i420(square_frame(scene, i)).view);
  }
  g_assert_cmpuint(acc.stats().frames_processed, ==, kWarmup + 200);
  check_square_heat(acc, 0.5);
}

void test_moving_square_bgr() {
  const cv::Mat scene = textured_scene(kSceneSize, 2);
  for (heatmap::Method method : {heatmap::Method::kMog2, heatmap::Method::kKnn}) {
    Settings s;
    s.downscale = 0.25;
    s.method = method;
    if (method == heatmap::Method::kKnn) {
      s.var_threshold = 400;
    }
    Accumulator acc(s);
    for (int i = 0; i < kWarmup + 200; ++i) {
      acc.add_frame(square_frame(scene, i));
    }
    check_square_heat(acc, 0.25);
  }
}

// ---- false heat ---------------------------------------------------------------------------

// A static scene with sensor-like noise: sigma 4 grey levels per pixel per frame at full
// resolution (a fairly noisy camera). After the first frames MOG2 has learned the per-pixel
// variance; what slips through its 4-sigma test is isolated and removed by the opening. 1% of
// the pixels is the bound: far below the 20-60% a real scene with people shows, and far above
// what this needs, so it catches a model that never learns or an opening that is off.
void test_static_noise_stays_quiet() {
  const cv::Mat scene = textured_scene(kSceneSize, 3);
  cv::RNG rng(33);
  Settings s;
  s.downscale = 0.5;
  Accumulator acc(s);
  for (int i = 0; i < 300; ++i) {
    acc.add_frame(add_noise(scene, 4.0, rng));
  }
  const heatmap::Stats st = acc.stats();
  g_test_message("noise: coverage %.5f, max %u", st.motion_coverage, st.max_count);
  g_assert_cmpfloat(st.motion_coverage, <, 0.01);
  g_assert_cmpuint(st.max_count, <=, 5);
}

// A slow global brightness drift must not read as motion: the model follows it.
//  - +1 level every 10 frames for 800 frames (80 levels; 2.5 levels/s at 25 fps, far faster
//    than daylight changes): under 0.5% of the pixels ever counted.
//  - +1 level every 4 frames (75 levels in 12 s): MOG2 with history 500 falls behind and flips
//    patches of the picture to foreground for a few frames, but each pixel counts at most a
//    handful of times (the moving square above scores 16+ in fewer frames), so the rendered
//    heat stays faint.
heatmap::Stats drift_stats(int frames_per_level, int frames, int *mean_x1000) {
  const cv::Mat scene = textured_scene(kSceneSize, 4);
  cv::RNG rng(44);
  Settings s;
  s.downscale = 0.5;
  Accumulator acc(s);
  for (int i = 0; i < frames; ++i) {
    cv::Mat f;
    scene.convertTo(f, CV_8UC3, 1.0, i / frames_per_level);
    acc.add_frame(add_noise(f, 1.0, rng));
  }
  const heatmap::Stats st = acc.stats();
  *mean_x1000 = static_cast<int>(cv::mean(acc.counts())[0] * 1000);
  g_test_message("drift +1 per %d frames: coverage %.5f, max %u, mean count %.3f", frames_per_level,
                 st.motion_coverage, st.max_count, *mean_x1000 / 1000.0);
  return st;
}

void test_brightness_drift_stays_quiet() {
  int mean = 0;
  heatmap::Stats st = drift_stats(10, 800, &mean);
  g_assert_cmpfloat(st.motion_coverage, <, 0.005);
  g_assert_cmpuint(st.max_count, <=, 2);
  st = drift_stats(4, 300, &mean);
  g_assert_cmpuint(st.max_count, <=, 5);
  g_assert_cmpint(mean, <, 500);  // under half a frame per pixel, out of 300
}

// ---- exact counts -------------------------------------------------------------------------

// With learning_rate 0 the model keeps the scene it started from (MOG2: the first frame; the
// scene model: the median of its look-ahead, here static frames), so a region that differs
// strongly from it is foreground in every later frame: its count is exactly the number of those
// frames, and everything else stays exactly 0.
void test_counts_are_exact() {
  const cv::Mat scene = textured_scene(cv::Size(64, 48), 5);
  cv::Mat grey;
  cv::cvtColor(scene, grey, cv::COLOR_BGR2GRAY);
  grey = grey / 2 + 64;  // 64..191: both 0 and 255 are far from it
  const cv::Rect region(16, 12, 24, 20);
  for (heatmap::Method method : {heatmap::Method::kMog2, heatmap::Method::kScene}) {
    for (bool threaded : {false, true}) {
      Settings s;
      s.method = method;
      s.downscale = 1.0;
      s.learning_rate = 0.0;
      s.detect_shadows = false;
      s.open_kernel = 0;
      s.threaded = threaded;
      Accumulator acc(s);
      const int still = method == heatmap::Method::kScene ? heatmap::SceneModel::kWarmup : 1;
      for (int i = 0; i < still; ++i) {
        acc.add_frame(grey);
      }
      constexpr int kFrames = 57;
      for (int i = 0; i < kFrames; ++i) {
        cv::Mat f = grey.clone();
        f(region).setTo(i % 2 ? 0 : 255);
        acc.add_frame(f);
      }
      const cv::Mat &counts = acc.counts();
      double lo = 0, hi = 0;
      cv::minMaxLoc(counts(region), &lo, &hi);
      g_assert_cmpfloat(lo, ==, kFrames);
      g_assert_cmpfloat(hi, ==, kFrames);
      g_assert_cmpint(count_nonzero_outside(counts, region), ==, 0);
      const heatmap::Stats st = acc.stats();
      g_assert_cmpuint(st.frames_processed, ==, kFrames + still);
      g_assert_cmpuint(st.max_count, ==, kFrames);
      g_assert_cmpfloat(st.motion_coverage, ==,
                        static_cast<double>(region.area()) / counts.total());
    }
  }
}

// The counting step itself: +1 per foreground frame, shadows only when asked, and a ceiling
// of exactly 65535.
void test_count_foreground_saturates() {
  cv::Mat counts(2, 3, CV_16UC1);
  counts.at<std::uint16_t>(0, 0) = 65533;  // moving
  counts.at<std::uint16_t>(0, 1) = 65535;  // moving, already full
  counts.at<std::uint16_t>(0, 2) = 7;      // still
  counts.at<std::uint16_t>(1, 0) = 0;      // moving
  counts.at<std::uint16_t>(1, 1) = 100;    // shadow
  counts.at<std::uint16_t>(1, 2) = 65535;  // shadow, already full
  cv::Mat mask = (cv::Mat_<std::uint8_t>(2, 3) << 255, 255, 0, 255, 127, 127);
  for (int i = 0; i < 3; ++i) {
    heatmap::count_foreground(mask, false, counts);
  }
  const cv::Mat expected = (cv::Mat_<std::uint16_t>(2, 3) << 65535, 65535, 7, 3, 100, 65535);
  g_assert_cmpfloat(cv::norm(counts, expected, cv::NORM_INF), ==, 0);
  // Wide rows go through the vectorised path; 37 columns leave a scalar tail too.
  cv::Mat wide_counts(3, 37, CV_16UC1, cv::Scalar(65533));
  cv::Mat wide_mask(3, 37, CV_8UC1, cv::Scalar(255));
  wide_mask.row(1).setTo(127);
  wide_mask.at<std::uint8_t>(2, 36) = 0;
  for (int i = 0; i < 4; ++i) {
    heatmap::count_foreground(wide_mask, false, wide_counts);
  }
  cv::Mat wide_expected(3, 37, CV_16UC1, cv::Scalar(65535));
  wide_expected.row(1).setTo(65533);
  wide_expected.at<std::uint16_t>(2, 36) = 65533;
  g_assert_cmpfloat(cv::norm(wide_counts, wide_expected, cv::NORM_INF), ==, 0);
  wide_counts.setTo(0);
  heatmap::count_foreground(wide_mask, true, wide_counts);
  g_assert_cmpint(cv::countNonZero(wide_counts), ==, 3 * 37 - 1);
  g_assert_cmpfloat(cv::norm(wide_counts, cv::NORM_INF), ==, 1);

  heatmap::count_foreground(mask, true, counts);
  const cv::Mat with_shadows = (cv::Mat_<std::uint16_t>(2, 3) << 65535, 65535, 7, 4, 101, 65535);
  g_assert_cmpfloat(cv::norm(counts, with_shadows, cv::NORM_INF), ==, 0);
}

// The same ceiling through the whole Accumulator: 65540 foreground frames on a tiny picture.
void test_accumulator_saturates() {
  cv::Mat bg(4, 4, CV_8UC1, cv::Scalar(128));
  Settings s;
  s.method = heatmap::Method::kMog2;  // the first frame is the scene (no look-ahead)
  s.downscale = 1.0;
  s.learning_rate = 0.0;
  s.detect_shadows = false;
  s.open_kernel = 0;
  s.threaded = false;  // nothing to gain on 16 pixels; keeps the test quick
  Accumulator acc(s);
  acc.add_frame(bg);
  cv::Mat moving = bg.clone();
  moving(cv::Rect(0, 0, 2, 4)).setTo(255);
  for (int i = 0; i < 65540; ++i) {
    acc.add_frame(moving);
  }
  const cv::Mat &counts = acc.counts();
  g_assert_cmpuint(counts.at<std::uint16_t>(0, 0), ==, 65535);
  g_assert_cmpuint(counts.at<std::uint16_t>(3, 1), ==, 65535);
  g_assert_cmpuint(counts.at<std::uint16_t>(0, 2), ==, 0);
  g_assert_cmpuint(acc.stats().max_count, ==, 65535);
  g_assert_cmpuint(acc.stats().frames_processed, ==, 65541);
}

// ---- shadows ------------------------------------------------------------------------------

// A region darkened to 70% (what a shadow does: same colour, less light) is marked 127 by
// MOG2: it must count only with keep_shadows.
void test_shadows_count_only_when_kept() {
  const cv::Mat scene = textured_scene(cv::Size(160, 120), 6);
  const cv::Rect region(40, 30, 60, 40);
  int counted[2] = {0, 0};
  for (bool keep : {false, true}) {
    Settings s;
    s.downscale = 1.0;
    s.keep_shadows = keep;
    Accumulator acc(s);
    for (int i = 0; i < 60; ++i) {
      acc.add_frame(scene);
    }
    cv::Mat shadowed = scene.clone();
    shadowed(region).convertTo(shadowed(region), -1, 0.7);
    for (int i = 0; i < 20; ++i) {
      acc.add_frame(shadowed);
    }
    counted[keep] = cv::countNonZero(acc.counts());
    g_assert_cmpint(count_nonzero_outside(acc.counts(), region), ==, 0);
  }
  g_test_message("shadow pixels counted: %d without keep-shadows, %d with", counted[0], counted[1]);
  g_assert_cmpint(counted[0], <, region.area() / 100);
  g_assert_cmpint(counted[1], >, region.area() * 9 / 10);
}

// ---- frame formats ------------------------------------------------------------------------

// Every pixel layout reads the same scene: a uniform colour frame gives that colour as the
// background (checks the plane order, the chroma subsampling and the YUV matrix).
void test_formats_give_the_scene_colour() {
  const int w = 64, h = 48;
  const cv::Vec3b bgr(40, 120, 200);
  cv::Mat frame(h, w, CV_8UC3, cv::Scalar(bgr[0], bgr[1], bgr[2]));
  // BT.601 limited-range Y, U, V of that colour.
  const double r = bgr[2], g = bgr[1], b = bgr[0];
  const double y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255;
  const double u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255;
  const double v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255;
  const auto Y = static_cast<std::uint8_t>(y + 0.5), U = static_cast<std::uint8_t>(u + 0.5),
             V = static_cast<std::uint8_t>(v + 0.5);

  struct Case {
    PixelFormat format;
    const char *name;
  };
  const Case cases[] = {
      {PixelFormat::kI420, "I420"}, {PixelFormat::kYV12, "YV12"}, {PixelFormat::kNV12, "NV12"},
      {PixelFormat::kNV21, "NV21"}, {PixelFormat::kY42B, "Y42B"}, {PixelFormat::kY444, "Y444"},
      {PixelFormat::kBGR, "BGR"},   {PixelFormat::kRGB, "RGB"},   {PixelFormat::kBGRx, "BGRx"},
      {PixelFormat::kRGBx, "RGBx"}, {PixelFormat::kxRGB, "xRGB"}, {PixelFormat::kxBGR, "xBGR"},
  };
  for (const Case &c : cases) {
    std::vector<std::uint8_t> planes[3];
    FrameView view;
    view.format = c.format;
    view.width = w;
    view.height = h;
    auto plane = [&](int i, std::size_t stride, int rows, std::vector<std::uint8_t> pattern) {
      // Pad each row by 8 bytes so that the stride is really used.
      stride += 8;
      planes[i].assign(stride * rows, 0xEE);
      for (int yy = 0; yy < rows; ++yy) {
        for (std::size_t x = 0; x + pattern.size() <= stride - 8; x += pattern.size()) {
          std::copy(pattern.begin(), pattern.end(), planes[i].begin() + yy * stride + x);
        }
      }
      view.planes[i] = {planes[i].data(), stride};
    };
    switch (c.format) {
      case PixelFormat::kI420:
      case PixelFormat::kYV12: {
        const bool vu = c.format == PixelFormat::kYV12;
        plane(0, w, h, {Y});
        plane(1, w / 2, h / 2, {vu ? V : U});
        plane(2, w / 2, h / 2, {vu ? U : V});
        break;
      }
      case PixelFormat::kNV12:
        plane(0, w, h, {Y});
        plane(1, w, h / 2, {U, V});
        break;
      case PixelFormat::kNV21:
        plane(0, w, h, {Y});
        plane(1, w, h / 2, {V, U});
        break;
      case PixelFormat::kY42B:
        plane(0, w, h, {Y});
        plane(1, w / 2, h, {U});
        plane(2, w / 2, h, {V});
        break;
      case PixelFormat::kY444:
        plane(0, w, h, {Y});
        plane(1, w, h, {U});
        plane(2, w, h, {V});
        break;
      case PixelFormat::kBGR:
        plane(0, 3 * w, h, {bgr[0], bgr[1], bgr[2]});
        break;
      case PixelFormat::kRGB:
        plane(0, 3 * w, h, {bgr[2], bgr[1], bgr[0]});
        break;
      case PixelFormat::kBGRx:
        plane(0, 4 * w, h, {bgr[0], bgr[1], bgr[2], 0x11});
        break;
      case PixelFormat::kRGBx:
        plane(0, 4 * w, h, {bgr[2], bgr[1], bgr[0], 0x11});
        break;
      case PixelFormat::kxRGB:
        plane(0, 4 * w, h, {0x11, bgr[2], bgr[1], bgr[0]});
        break;
      case PixelFormat::kxBGR:
        plane(0, 4 * w, h, {0x11, bgr[0], bgr[1], bgr[2]});
        break;
      default:
        g_assert_not_reached();
    }
    Settings s;
    s.downscale = 0.5;
    Accumulator acc(s);
    for (int i = 0; i < 20; ++i) {
      acc.add_frame(view);
    }
    const cv::Mat bg = acc.background();
    g_assert_cmpint(bg.type(), ==, CV_8UC3);
    g_assert_cmpint(bg.cols, ==, w / 2);
    g_assert_cmpint(bg.rows, ==, h / 2);
    const double err =
        cv::norm(bg, cv::Mat(bg.size(), CV_8UC3, cv::Scalar(bgr[0], bgr[1], bgr[2])), cv::NORM_INF);
    g_test_message("%s: background off by %.0f", c.name, err);
    if (err > 3) {
      g_error("%s: background colour is off by %.0f levels", c.name, err);
    }
    g_assert_cmpint(cv::countNonZero(acc.counts()), ==, 0);
  }

  // GRAY8 gives a grey background of the same size.
  Accumulator acc;
  cv::Mat grey(h, w, CV_8UC1, cv::Scalar(90));
  for (int i = 0; i < 5; ++i) {
    acc.add_frame(grey);
  }
  const cv::Mat bg = acc.background();
  g_assert_cmpint(bg.type(), ==, CV_8UC1);
  g_assert_cmpint(bg.cols, ==, w / 4);
  g_assert_cmpfloat(cv::norm(bg, cv::Mat(bg.size(), CV_8UC1, cv::Scalar(90)), cv::NORM_INF), <=, 1);
}

// The luma downscale (with its fast whole-number paths) matches OpenCV's INTER_AREA to within a
// rounding step (2x, 4x: rounded half up) or exactly (3x, 5x to 16x: OpenCV's own rounding), on
// sizes that take a fast path and on sizes that do not.
void test_downscale_matches_inter_area() {
  cv::Mat src(1080, 1920, CV_8UC1);
  cv::RNG(12).fill(src, cv::RNG::UNIFORM, 0, 256);
  const cv::Size sizes[] = {{480, 270}, {960, 540}, {640, 360}, {320, 180},
                            {384, 216}, {240, 135}, {160, 90},  {37, 21}};
  for (const cv::Size &size : sizes) {
    const int f = src.cols / size.width;
    const bool whole = size.width * f == src.cols && size.height * f == src.rows;
    // A view with padding, as video frames have.
    cv::Mat padded(src.rows, src.cols + 64, CV_8UC1, cv::Scalar(255));
    src.copyTo(padded(cv::Rect(0, 0, src.cols, src.rows)));
    const cv::Mat view = padded(cv::Rect(0, 0, src.cols, src.rows));
    cv::Mat ours, reference;
    heatmap::downscale_plane(view, ours, size);
    cv::resize(src, reference, size, 0, 0, cv::INTER_AREA);
    g_assert_true(ours.size() == size);
    g_assert_cmpfloat(cv::norm(ours, reference, cv::NORM_INF), <=,
                      whole && f != 2 && f != 4 ? 0 : 1);
  }
  // Every whole factor up to 16, on widths that end in a part vector and on bright blocks
  // (16 x 16 x 255 is the largest sum): the same bytes as OpenCV.
  cv::RNG rng(5);
  for (int f = 3; f <= 16; ++f) {
    if (f == 4) {
      continue;
    }
    // (33 x 6: the AVX2 loop and the last pairs one at a time; 21 x 6 the 128-bit loop too.)
    for (int w : {1, 7, 16, 21, 33}) {
      cv::Mat plane(3 * f, w * f, CV_8UC1);
      rng.fill(plane, cv::RNG::UNIFORM, 0, 256);
      plane.rowRange(0, f).setTo(255);
      cv::Mat ours, reference;
      heatmap::downscale_plane(plane, ours, cv::Size(w, 3));
      cv::resize(plane, reference, cv::Size(w, 3), 0, 0, cv::INTER_AREA);
      g_assert_cmpfloat(cv::norm(ours, reference, cv::NORM_INF), ==, 0);
      g_assert_cmpint(ours.at<std::uint8_t>(0, 0), ==, 255);
    }
  }
  // NV12 and NV21 chroma (interleaved pairs) by whole factors: the same bytes as OpenCV's
  // INTER_AREA on the pairs, split.
  for (int f = 2; f <= 16; ++f) {
    for (int w : {1, 9, 21}) {
      cv::Mat uv(3 * f, w * f, CV_8UC2);
      rng.fill(uv, cv::RNG::UNIFORM, 0, 256);
      std::vector<std::uint8_t> y(static_cast<std::size_t>(uv.cols) * 2 * uv.rows * 2, 100);
      for (PixelFormat format : {PixelFormat::kNV12, PixelFormat::kNV21}) {
        FrameView view;
        view.format = format;
        view.width = uv.cols * 2;
        view.height = uv.rows * 2;
        view.planes[0] = {y.data(), static_cast<std::size_t>(view.width)};
        view.planes[1] = {uv.data, uv.step[0]};
        heatmap::FrameScaler scaler;
        cv::Mat grey, u, v, reference, split[2];
        const cv::Size size(w, 3);
        scaler.luma(view, size, grey);
        scaler.chroma(view, size, u, v);
        cv::resize(uv, reference, size, 0, 0, cv::INTER_AREA);
        cv::split(reference, split);
        const bool vu = format == PixelFormat::kNV21;
        g_assert_cmpfloat(cv::norm(u, split[vu ? 1 : 0], cv::NORM_INF), ==, 0);
        g_assert_cmpfloat(cv::norm(v, split[vu ? 0 : 1], cv::NORM_INF), ==, 0);
      }
    }
  }
  // Exact on a known block: mean of 4x4 = (0+...+15)/16 = 7.5, rounded up.
  cv::Mat ramp(4, 4, CV_8UC1);
  for (int i = 0; i < 16; ++i) {
    ramp.at<std::uint8_t>(i / 4, i % 4) = static_cast<std::uint8_t>(i);
  }
  cv::Mat one;
  heatmap::downscale_plane(ramp, one, cv::Size(1, 1));
  g_assert_cmpuint(one.at<std::uint8_t>(0, 0), ==, 8);
}

// The processing size: downscale of the picture, or of its 1280x720-area equivalent when it
// is larger (the default limit), or of the picture itself with no limit.
void test_processing_size() {
  struct Case {
    int w, h;
    double d;
    long limit;
    cv::Size want;
  };
  const long k720 = heatmap::kDefaultMaxInputPixels;
  const Case cases[] = {
      {1920, 1080, 0.25, k720, {320, 180}}, {1280, 720, 0.25, k720, {320, 180}},
      {640, 360, 0.25, k720, {160, 90}},    {3840, 2160, 0.25, k720, {320, 180}},
      {2560, 1440, 0.25, k720, {320, 180}}, {1920, 1080, 0.5, k720, {640, 360}},
      {1920, 1080, 1, k720, {1280, 720}},   {1280, 1024, 0.25, k720, {268, 215}},
      {320, 240, 1, k720, {320, 240}},      {1920, 1080, 0.25, 0, {480, 270}},
      {1920, 1080, 1, 0, {1920, 1080}},     {1920, 1080, 2, 0, {1920, 1080}},
      {3, 3, 0.25, k720, {1, 1}},           {65535, 65535, 0.25, k720, {240, 240}},
      {1920, 1080, 0.25, 1, {1, 1}},
  };
  for (const Case &c : cases) {
    const cv::Size got = heatmap::processing_size(c.w, c.h, c.d, c.limit);
    if (got != c.want) {
      g_error("%dx%d at %g, limit %ld: %dx%d, want %dx%d", c.w, c.h, c.d, c.limit, got.width,
              got.height, c.want.width, c.want.height);
    }
  }
  // The accumulator's counts have that size.
  Settings s;
  s.threaded = false;
  Accumulator acc(s);
  cv::Mat big(1080, 1920, CV_8UC1, cv::Scalar(80));
  acc.add_frame(big);
  g_assert_cmpint(acc.stats().width, ==, 320);
  g_assert_cmpint(acc.stats().height, ==, 180);
}

// Odd sizes: 4:2:0 chroma planes are (w+1)/2 x (h+1)/2, and the processing size rounds.
void test_odd_sizes() {
  const int w = 161, h = 91;
  const int cw = (w + 1) / 2, ch = (h + 1) / 2;
  std::vector<std::uint8_t> y(static_cast<std::size_t>(w) * h, 100);
  std::vector<std::uint8_t> uv(static_cast<std::size_t>(cw) * 2 * ch, 128);
  FrameView nv12;
  nv12.format = PixelFormat::kNV12;
  nv12.width = w;
  nv12.height = h;
  nv12.planes[0] = {y.data(), static_cast<std::size_t>(w)};
  nv12.planes[1] = {uv.data(), static_cast<std::size_t>(cw) * 2};
  Settings s;
  s.downscale = 0.25;
  Accumulator acc(s);
  for (int i = 0; i < 10; ++i) {
    acc.add_frame(nv12);
  }
  g_assert_cmpint(acc.stats().width, ==, 40);   // round(40.25)
  g_assert_cmpint(acc.stats().height, ==, 23);  // round(22.75)
  const cv::Mat bg = acc.background();
  g_assert_true(bg.size() == cv::Size(40, 23));
  // Y=100, neutral chroma, limited range: grey (100-16)*255/219 = 97.8.
  g_assert_cmpfloat(cv::norm(bg, cv::Mat(bg.size(), CV_8UC3, cv::Scalar::all(98)), cv::NORM_INF),
                    <=, 1);
  g_assert_cmpint(cv::countNonZero(acc.counts()), ==, 0);
}

void test_malformed_views_throw() {
  std::vector<std::uint8_t> buffer(64 * 48 * 2, 0);
  FrameView ok;
  ok.format = PixelFormat::kNV12;
  ok.width = 64;
  ok.height = 48;
  ok.planes[0] = {buffer.data(), 64};
  ok.planes[1] = {buffer.data() + 64 * 48, 64};
  Accumulator acc;
  acc.add_frame(ok);  // well-formed: must not throw

  auto throws = [&](FrameView v) {
    try {
      acc.add_frame(v);
    } catch (const std::invalid_argument &) {
      return true;
    }
    return false;
  };
  FrameView v = ok;
  v.planes[1].data = nullptr;
  g_assert_true(throws(v));
  v = ok;
  v.planes[0].stride = 63;
  g_assert_true(throws(v));
  v = ok;
  v.width = 0;
  g_assert_true(throws(v));
  v = ok;
  v.height = -2;
  g_assert_true(throws(v));
  bool threw = false;
  try {
    acc.add_frame(cv::Mat(4, 4, CV_32FC1, cv::Scalar(0)));
  } catch (const std::invalid_argument &) {
    threw = true;
  }
  g_assert_true(threw);
  g_assert_cmpuint(acc.stats().frames_processed, ==, 1);
}

// ---- reset --------------------------------------------------------------------------------

void test_size_change_and_reset() {
  const cv::Mat scene = textured_scene(kSceneSize, 7);
  Settings s;
  s.downscale = 0.25;
  Accumulator acc(s);
  for (int i = 0; i < kWarmup + 40; ++i) {
    acc.add_frame(square_frame(scene, i));
  }
  g_assert_cmpint(cv::countNonZero(acc.counts()), >, 0);
  g_assert_cmpint(acc.counts().cols, ==, 80);

  // A frame of another size starts afresh at the new processing size.
  cv::Mat other = textured_scene(cv::Size(200, 100), 8);
  acc.add_frame(other);
  heatmap::Stats st = acc.stats();
  g_assert_cmpuint(st.frames_processed, ==, 1);
  g_assert_cmpint(st.width, ==, 50);
  g_assert_cmpint(st.height, ==, 25);
  g_assert_cmpint(acc.counts().cols, ==, 50);
  g_assert_cmpint(cv::countNonZero(acc.counts()), ==, 0);
  g_assert_cmpint(acc.background().cols, ==, 50);

  acc.reset();
  st = acc.stats();
  g_assert_cmpuint(st.frames_processed, ==, 0);
  g_assert_cmpint(st.width, ==, 0);
  g_assert_true(acc.counts().empty());
  g_assert_true(acc.background().empty());

  // And it works again after the reset, with changed settings.
  s.downscale = 0.5;
  acc.set_settings(s);
  acc.reset();
  acc.add_frame(scene);
  g_assert_cmpint(acc.stats().width, ==, 160);
}

// ---- render -------------------------------------------------------------------------------

cv::Vec3b colormap_colour(int colormap, std::uint8_t value) {
  cv::Mat index(1, 1, CV_8UC1, cv::Scalar(value)), colour;
  cv::applyColorMap(index, colour, colormap);
  return colour.at<cv::Vec3b>(0, 0);
}

void test_render() {
  const cv::Size size(60, 40);
  cv::Mat counts(size, CV_16UC1, cv::Scalar(0));
  counts(cv::Rect(10, 10, 6, 6)).setTo(40);
  counts.at<std::uint16_t>(12, 12) = 100;  // the hottest pixel
  cv::Mat bg = textured_scene(size, 9);

  heatmap::RenderSettings r;
  r.blur = 0;
  r.alpha = 1.0;
  cv::Mat out = heatmap::render(counts, bg, r);
  g_assert_cmpint(out.type(), ==, CV_8UC3);
  g_assert_true(out.size() == size);
  // Count 0: the scene exactly.
  for (int y = 0; y < size.height; ++y) {
    for (int x = 0; x < size.width; ++x) {
      if (counts.at<std::uint16_t>(y, x) == 0 &&
          out.at<cv::Vec3b>(y, x) != bg.at<cv::Vec3b>(y, x)) {
        g_error("pixel (%d,%d) has no motion but differs from the background", x, y);
      }
    }
  }
  // The hottest pixel: the colormap's top colour, at full alpha.
  g_assert_true(out.at<cv::Vec3b>(12, 12) == colormap_colour(cv::COLORMAP_JET, 255));

  // Default alpha: between the scene and the colour, visibly changed.
  r.alpha = 0.6;
  counts.at<std::uint16_t>(30, 30) = 5;  // a little motion: 5% of the maximum
  out = heatmap::render(counts, bg, r);
  const cv::Vec3b hot = out.at<cv::Vec3b>(12, 12);
  const double hot_change = cv::norm(hot, bg.at<cv::Vec3b>(12, 12));
  g_assert_cmpfloat(hot_change, >, 10);
  // Heat fades in: the faint pixel is tinted, but far less than its share of the colour.
  const cv::Vec3b warm = out.at<cv::Vec3b>(30, 30), scene = bg.at<cv::Vec3b>(30, 30);
  const cv::Vec3b faint = colormap_colour(cv::COLORMAP_JET, 255 * 5 / 100);
  const double warm_change = cv::norm(warm, scene);
  const double full_change = cv::norm(faint, scene) * r.alpha;
  g_test_message("faint pixel moved %.1f of the %.1f a flat alpha would give", warm_change,
                 full_change);
  g_assert_cmpfloat(warm_change, >, 0);
  g_assert_cmpfloat(warm_change, <, full_change / 4);
  counts.at<std::uint16_t>(30, 30) = 0;
  g_assert_true(out.at<cv::Vec3b>(30, 50) == bg.at<cv::Vec3b>(30, 50));

  // With blur: pixels beyond the kernel's reach still show the plain scene.
  r.blur = 2.0;
  out = heatmap::render(counts, bg, r);
  g_assert_true(out.size() == size);
  g_assert_true(out.at<cv::Vec3b>(35, 55) == bg.at<cv::Vec3b>(35, 55));
  g_assert_true(out.at<cv::Vec3b>(12, 12) != bg.at<cv::Vec3b>(12, 12));

  // A grey background is expanded to BGR.
  cv::Mat grey;
  cv::cvtColor(bg, grey, cv::COLOR_BGR2GRAY);
  r.blur = 0;
  out = heatmap::render(counts, grey, r);
  g_assert_cmpint(out.type(), ==, CV_8UC3);
  const std::uint8_t gv = grey.at<std::uint8_t>(0, 0);
  g_assert_true(out.at<cv::Vec3b>(0, 0) == cv::Vec3b(gv, gv, gv));

  // No background, or use_background off: the colormap alone.
  cv::Mat expected_index;
  counts.convertTo(expected_index, CV_8U, 255.0 / 100.0);
  cv::Mat expected;
  cv::applyColorMap(expected_index, expected, cv::COLORMAP_JET);
  out = heatmap::render(counts, cv::Mat(), r);
  g_assert_cmpfloat(cv::norm(out, expected, cv::NORM_INF), <=, 1);
  r.use_background = false;
  out = heatmap::render(counts, bg, r);
  g_assert_cmpfloat(cv::norm(out, expected, cv::NORM_INF), <=, 1);
  r.colormap = cv::COLORMAP_INFERNO;
  out = heatmap::render(counts, bg, r);
  g_assert_true(out.at<cv::Vec3b>(12, 12) == colormap_colour(cv::COLORMAP_INFERNO, 255));

  // No motion at all: the scene unchanged, or the colormap's zero colour.
  cv::Mat none(size, CV_16UC1, cv::Scalar(0));
  r = heatmap::RenderSettings();
  g_assert_cmpfloat(cv::norm(heatmap::render(none, bg, r), bg, cv::NORM_INF), ==, 0);
  out = heatmap::render(none, cv::Mat(), r);
  g_assert_true(out.at<cv::Vec3b>(20, 20) == colormap_colour(cv::COLORMAP_JET, 0));
}

// ---- writers ------------------------------------------------------------------------------

struct TempDir {
  std::string path;
  TempDir() {
    gchar *p = g_dir_make_tmp("heatmap-core-XXXXXX", nullptr);
    g_assert_nonnull(p);
    path = p;
    g_free(p);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto &e : std::filesystem::directory_iterator(path)) {
      names.push_back(e.path().filename().string());
    }
    return names;
  }
};

// PNG bytes with one more chunk (`type`, `data`, its CRC) inserted at byte `at` (8 = right
// after the signature is not allowed; 33 = right after IHDR). `declared`, if set, replaces
// the length field, to make a chunk that claims more bytes than follow it.
std::vector<std::uint8_t> with_png_chunk(const std::vector<std::uint8_t> &png, std::size_t at,
                                         const char *type, const std::string &data,
                                         std::uint32_t declared = 0) {
  std::vector<std::uint8_t> chunk;
  const std::uint32_t length = declared != 0 ? declared : static_cast<std::uint32_t>(data.size());
  for (int shift = 24; shift >= 0; shift -= 8) {
    chunk.push_back(static_cast<std::uint8_t>(length >> shift));
  }
  chunk.insert(chunk.end(), type, type + 4);
  chunk.insert(chunk.end(), data.begin(), data.end());
  std::uint32_t crc = 0xFFFFFFFFu;  // CRC-32 (ISO 3309) of type and data, as PNG wants
  for (std::size_t i = 4; i < chunk.size(); ++i) {
    crc ^= chunk[i];
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
  }
  crc ^= 0xFFFFFFFFu;
  for (int shift = 24; shift >= 0; shift -= 8) {
    chunk.push_back(static_cast<std::uint8_t>(crc >> shift));
  }
  std::vector<std::uint8_t> out(png.begin(), png.begin() + static_cast<std::ptrdiff_t>(at));
  out.insert(out.end(), chunk.begin(), chunk.end());
  out.insert(out.end(), png.begin() + static_cast<std::ptrdiff_t>(at), png.end());
  return out;
}

// The PNG decoders read only the image's own chunks. Text, ICC profiles and private chunks,
// before or after the pixels, change nothing; a chunk claiming 2 GiB in a small file is refused
// in one line without being read (libpng would allocate the claimed size for a text chunk
// first: the fuzzers' out-of-memory finding).
void test_png_decoders_skip_other_chunks() {
  std::string error;
  cv::Mat counts(19, 23, CV_16UC1);
  cv::RNG(21).fill(counts, cv::RNG::UNIFORM, 0, 65536);
  std::vector<std::uint8_t> plain;
  g_assert_true(cv::imencode(".png", counts, plain));
  const std::size_t after_ihdr = 8 + 25, before_iend = plain.size() - 12;
  std::vector<std::uint8_t> dressed =
      with_png_chunk(plain, before_iend, "zTXt", std::string("Comment\0\0x\x9c\x03\0", 11));
  dressed = with_png_chunk(dressed, after_ihdr, "tEXt", std::string("Title\0a camera", 15));
  dressed = with_png_chunk(dressed, after_ihdr, "iCCP", std::string("p\0\0junk", 8));
  dressed = with_png_chunk(dressed, after_ihdr, "prVt", std::string(5000, 'x'));
  cv::Mat out;
  g_assert_true(heatmap::decode_grey_png(dressed.data(), dressed.size(), 1 << 20, &out, &error));
  g_assert_cmpfloat(cv::norm(out, counts, cv::NORM_INF), ==, 0);
  cv::Mat grey8;
  cv::Mat small(19, 23, CV_8UC1);
  cv::RNG(22).fill(small, cv::RNG::UNIFORM, 0, 256);
  g_assert_true(cv::imencode(".png", small, plain));
  dressed = with_png_chunk(plain, after_ihdr, "tEXt", std::string("Title\0a camera", 15));
  g_assert_true(heatmap::decode_png_to_grey(dressed.data(), dressed.size(), 64, &grey8, &error));
  g_assert_cmpfloat(cv::norm(grey8, small, cv::NORM_INF), ==, 0);

  // A tEXt chunk claiming 0x7FFFFF00 bytes, then the file ends.
  g_assert_true(cv::imencode(".png", counts, plain));
  std::vector<std::uint8_t> bomb = with_png_chunk(plain, after_ihdr, "tEXt", "k", 0x7FFFFF00u);
  bomb.resize(after_ihdr + 12 + 1);
  g_assert_false(heatmap::decode_grey_png(bomb.data(), bomb.size(), 1 << 20, &out, &error));
  g_test_message("2 GiB text chunk, counts decoder: %s", error.c_str());
  g_assert_true(out.empty() && !error.empty() && error.find('\n') == std::string::npos);
}

// libpng's simplified API on the whole file: what masks were decoded with before the chunk
// filter, and what decode_png_to_grey must still give.
cv::Mat simplified_grey(const std::vector<std::uint8_t> &bytes) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  g_assert_true(png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()));
  image.format = PNG_FORMAT_GRAY;
  cv::Mat grey(static_cast<int>(image.height), static_cast<int>(image.width), CV_8UC1);
  png_color black{0, 0, 0};
  g_assert_true(png_image_finish_read(&image, &black, grey.data, static_cast<png_int_32>(grey.step),
                                      nullptr));
  return grey;
}

// decode_png_to_grey (masks): every colour type and depth becomes 8-bit grey exactly as libpng's
// simplified API makes it (colour in linear light, alpha composited on black), also with text
// and private chunks around; larger than max_side on either side is refused from the header.
void test_png_to_grey() {
  std::string error;
  std::vector<std::uint8_t> bytes;
  cv::Mat out;
  cv::RNG rng(31);
  cv::Mat bgr(6, 9, CV_8UC3), bgra(6, 9, CV_8UC4), wide(6, 9, CV_16UC3), grey(6, 9, CV_8UC1);
  for (cv::Mat *m : {&bgr, &bgra, &wide, &grey}) {
    rng.fill(*m, cv::RNG::UNIFORM, 0, m->depth() == CV_16U ? 65536 : 256);
    g_assert_true(cv::imencode(".png", *m, bytes));
    g_assert_true(heatmap::decode_png_to_grey(bytes.data(), bytes.size(), 64, &out, &error));
    g_assert_cmpint(out.type(), ==, CV_8UC1);
    g_assert_cmpfloat(cv::norm(out, simplified_grey(bytes), cv::NORM_INF), ==, 0);
    if (m == &grey) {
      g_assert_cmpfloat(cv::norm(out, grey, cv::NORM_INF), ==, 0);
    }
    const std::vector<std::uint8_t> dressed =
        with_png_chunk(with_png_chunk(bytes, 8 + 25, "tEXt", std::string("Title\0a mask", 12)),
                       8 + 25, "prVt", std::string(3000, 'x'));
    g_assert_true(heatmap::decode_png_to_grey(dressed.data(), dressed.size(), 64, &out, &error));
    g_assert_cmpfloat(cv::norm(out, simplified_grey(bytes), cv::NORM_INF), ==, 0);
  }
  // White and black stay white and black in colour; transparent is black.
  cv::Mat white_black(2, 2, CV_16UC4, cv::Scalar(65535, 65535, 65535, 65535));
  white_black.at<cv::Vec4w>(0, 1) = cv::Vec4w(0, 0, 0, 65535);
  white_black.at<cv::Vec4w>(1, 0) = cv::Vec4w(65535, 65535, 65535, 0);
  g_assert_true(cv::imencode(".png", white_black, bytes));
  g_assert_true(heatmap::decode_png_to_grey(bytes.data(), bytes.size(), 64, &out, &error));
  g_assert_cmpint(out.at<std::uint8_t>(0, 0), ==, 255);
  g_assert_cmpint(out.at<std::uint8_t>(0, 1), ==, 0);
  g_assert_cmpint(out.at<std::uint8_t>(1, 0), ==, 0);
  // 1-bit grey (OpenCV writes it with IMWRITE_PNG_BILEVEL) expands to 0 / 255.
  cv::Mat bits(7, 13, CV_8UC1, cv::Scalar(0));
  bits(cv::Rect(0, 0, 6, 7)).setTo(255);
  g_assert_true(cv::imencode(".png", bits, bytes, {cv::IMWRITE_PNG_BILEVEL, 1}));
  g_assert_true(heatmap::decode_png_to_grey(bytes.data(), bytes.size(), 64, &out, &error));
  g_assert_cmpfloat(cv::norm(out, bits, cv::NORM_INF), ==, 0);
  // Too wide for max_side.
  g_assert_false(heatmap::decode_png_to_grey(bytes.data(), bytes.size(), 12, &out, &error));
  g_assert_true(error == "PNG size 13x7 is out of range (12 pixels on a side at most)");
  g_assert_true(out.empty());
  // A chunk claiming more than the file holds is refused before libpng sees it.
  std::vector<std::uint8_t> bomb = with_png_chunk(bytes, 8 + 25, "tEXt", "k", 0x7FFFFF00u);
  bomb.resize(8 + 25 + 12 + 1);
  g_assert_false(heatmap::decode_png_to_grey(bomb.data(), bomb.size(), 64, &out, &error));
  g_assert_true(error == "chunk tEXt claims 2147483392 bytes, only 1 follow");
}

// The decoders read what the writers wrote, and what OpenCV's codecs write, exactly; they
// refuse what is not a counts PNG or a JPEG, and a huge image from its header alone.
void test_decoders() {
  std::string error;
  cv::Mat counts(27, 48, CV_16UC1);
  cv::RNG(12).fill(counts, cv::RNG::UNIFORM, 0, 65536);
  counts.at<std::uint16_t>(0, 0) = 0;
  counts.at<std::uint16_t>(1, 1) = 65535;
  std::vector<std::uint8_t> bytes;
  g_assert_true(cv::imencode(".png", counts, bytes));
  cv::Mat out;
  g_assert_true(heatmap::decode_grey_png(bytes.data(), bytes.size(), 1 << 20, &out, &error));
  g_assert_cmpint(out.type(), ==, CV_16UC1);
  g_assert_cmpfloat(cv::norm(out, counts, cv::NORM_INF), ==, 0);
  // Too many pixels for the caller's limit.
  g_assert_false(heatmap::decode_grey_png(bytes.data(), bytes.size(), 48 * 27 - 1, &out, &error));
  g_assert_true(error == "PNG size 48x27 is out of range (1295 pixels at most)");
  g_assert_true(error.find('\n') == std::string::npos);
  g_assert_true(out.empty());
  // 8-bit grey keeps its values.
  cv::Mat grey(9, 11, CV_8UC1);
  cv::RNG(13).fill(grey, cv::RNG::UNIFORM, 0, 256);
  g_assert_true(cv::imencode(".png", grey, bytes));
  g_assert_true(heatmap::decode_grey_png(bytes.data(), bytes.size(), 1 << 20, &out, &error));
  cv::Mat wide;
  grey.convertTo(wide, CV_16U);
  g_assert_cmpint(out.type(), ==, CV_16UC1);
  g_assert_cmpfloat(cv::norm(out, wide, cv::NORM_INF), ==, 0);
  // Colour, cut short, not a PNG: one-line refusals.
  cv::Mat colour(9, 11, CV_8UC3, cv::Scalar(1, 2, 3));
  g_assert_true(cv::imencode(".png", colour, bytes));
  g_assert_false(heatmap::decode_grey_png(bytes.data(), bytes.size(), 1 << 20, &out, &error));
  g_assert_true(error.find("not a grey 8- or 16-bit PNG") != std::string::npos);
  g_assert_true(cv::imencode(".png", counts, bytes));
  g_assert_false(heatmap::decode_grey_png(bytes.data(), bytes.size() / 2, 1 << 20, &out, &error));
  g_test_message("cut PNG: %s", error.c_str());
  g_assert_true(!error.empty() && error.find('\n') == std::string::npos);
  g_assert_false(
      heatmap::decode_grey_png(bytes.data() + 1, bytes.size() - 1, 1 << 20, &out, &error));
  g_assert_true(error == "not a PNG file");

  // JPEG: the same pixels as OpenCV's decoder (both use the system libjpeg), colour and grey.
  const cv::Mat image =
      heatmap::render(counts, textured_scene(counts.size(), 11), heatmap::RenderSettings());
  g_assert_true(heatmap::encode_jpeg(image, 90, &bytes, &error));
  g_assert_true(heatmap::decode_jpeg(bytes.data(), bytes.size(), 1 << 20, &out, &error));
  g_assert_cmpint(out.type(), ==, CV_8UC3);
  g_assert_cmpfloat(cv::norm(out, cv::imdecode(bytes, cv::IMREAD_COLOR), cv::NORM_INF), ==, 0);
  // A JPEG's SOF0 header says 60000x60000: refused before decoding (a bomb).
  std::vector<std::uint8_t> bomb = bytes;
  bool patched = false;
  for (std::size_t i = 0; i + 9 < bomb.size(); ++i) {
    if (bomb[i] == 0xFF && bomb[i + 1] == 0xC0) {
      bomb[i + 5] = bomb[i + 7] = 0xEA;  // height and width, big-endian: 0xEA60 = 60000
      bomb[i + 6] = bomb[i + 8] = 0x60;
      patched = true;
      break;
    }
  }
  g_assert_true(patched);
  g_assert_false(heatmap::decode_jpeg(bomb.data(), bomb.size(), 8192 * 8192, &out, &error));
  g_assert_true(error == "image size 60000x60000 is out of range");
  g_assert_true(heatmap::encode_jpeg(grey, 90, &bytes, &error));
  g_assert_true(heatmap::decode_jpeg(bytes.data(), bytes.size(), 1 << 20, &out, &error));
  g_assert_cmpint(out.type(), ==, CV_8UC3);
  g_assert_cmpfloat(cv::norm(out, cv::imdecode(bytes, cv::IMREAD_COLOR), cv::NORM_INF), ==, 0);
  // Cut short: refused in the headers, or decoded at full size with the missing rows filled
  // (libjpeg's way, cv::imdecode's too); never a partial Mat.
  for (std::size_t keep = 2; keep < bytes.size(); keep += 7) {
    error.clear();
    if (heatmap::decode_jpeg(bytes.data(), keep, 1 << 20, &out, &error)) {
      g_assert_true(out.cols == grey.cols && out.rows == grey.rows);
    } else {
      g_assert_true(out.empty() && !error.empty() && error.find('\n') == std::string::npos);
    }
  }
  g_assert_false(heatmap::decode_jpeg(bytes.data() + 2, bytes.size() - 2, 1 << 20, &out, &error));
  g_test_message("not a JPEG: %s", error.c_str());
  g_assert_true(!error.empty() && error.find('\n') == std::string::npos && out.empty());

  // Progressive: OpenCV's encoder writes libjpeg's 10 scans, which decode; the same file with
  // its last scan repeated until it holds 101 is refused (each scan is one more pass over the
  // image: a small file of many scans would keep the decoder busy for hours).
  g_assert_true(cv::imencode(".jpg", image, bytes, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
  g_assert_true(heatmap::decode_jpeg(bytes.data(), bytes.size(), 1 << 20, &out, &error));
  g_assert_cmpfloat(cv::norm(out, cv::imdecode(bytes, cv::IMREAD_COLOR), cv::NORM_INF), ==, 0);
  std::size_t last_sos = 0, scans = 0;
  for (std::size_t i = 0; i + 1 < bytes.size(); ++i) {
    if (bytes[i] == 0xFF && bytes[i + 1] == 0xDA) {
      last_sos = i;
      ++scans;
    }
  }
  g_assert_cmpuint(scans, ==, 10);
  const std::vector<std::uint8_t> last(bytes.begin() + static_cast<std::ptrdiff_t>(last_sos),
                                       bytes.end() - 2);  // up to the EOI marker
  std::vector<std::uint8_t> many(bytes.begin(), bytes.end() - 2);
  for (std::size_t n = scans; n < 100; ++n) {
    many.insert(many.end(), last.begin(), last.end());
  }
  many.push_back(0xFF);
  many.push_back(0xD9);
  g_assert_true(heatmap::decode_jpeg(many.data(), many.size(), 1 << 20, &out, &error));
  many.insert(many.end() - 2, last.begin(), last.end());
  g_assert_false(heatmap::decode_jpeg(many.data(), many.size(), 1 << 20, &out, &error));
  g_assert_true(error == "more than 100 progressive scans" && out.empty());
}

void test_writers() {
  TempDir dir;
  cv::Mat counts(27, 48, CV_16UC1);
  cv::RNG(10).fill(counts, cv::RNG::UNIFORM, 0, 65536);
  counts.at<std::uint16_t>(0, 0) = 0;
  counts.at<std::uint16_t>(1, 1) = 65535;
  const cv::Mat image =
      heatmap::render(counts, textured_scene(counts.size(), 11), heatmap::RenderSettings());

  std::string error;
  const std::string jpeg = dir.path + "/heat.jpg";
  g_assert_true(heatmap::write_jpeg(jpeg, image, 90, &error));
  // Created like any file (0666 minus the umask), not with mkstemp's private 0600.
  const mode_t mask = umask(022);
  umask(mask);
  struct stat st;
  g_assert_cmpint(stat(jpeg.c_str(), &st), ==, 0);
  g_assert_cmpuint(st.st_mode & 0777, ==, 0666 & ~mask);
  cv::Mat decoded = cv::imread(jpeg, cv::IMREAD_COLOR);
  g_assert_false(decoded.empty());
  g_assert_cmpint(decoded.cols, ==, 48);
  g_assert_cmpint(decoded.rows, ==, 27);

  const std::string png = dir.path + "/counts.png";
  g_assert_true(heatmap::write_counts_png(png, counts, &error));
  cv::Mat raw = cv::imread(png, cv::IMREAD_UNCHANGED);
  g_assert_cmpint(raw.type(), ==, CV_16UC1);
  g_assert_cmpfloat(cv::norm(raw, counts, cv::NORM_INF), ==, 0);

  // Overwriting replaces the file whole.
  cv::Mat zeros(5, 7, CV_16UC1, cv::Scalar(3));
  g_assert_true(heatmap::write_counts_png(png, zeros, &error));
  raw = cv::imread(png, cv::IMREAD_UNCHANGED);
  g_assert_cmpint(raw.cols, ==, 7);
  g_assert_cmpuint(dir.entries().size(), ==, 2);

  // A directory that does not exist.
  const std::string missing = dir.path + "/no-such-dir/heat.jpg";
  error.clear();
  g_assert_false(heatmap::write_jpeg(missing, image, 90, &error));
  g_test_message("%s", error.c_str());
  g_assert_true(error.find(missing) != std::string::npos);
  g_assert_true(error.find("No such file or directory") != std::string::npos);
  g_assert_true(error.find('\n') == std::string::npos);

  // A target that is a directory: the temporary file gets written, the rename fails, and the
  // temporary file must not be left behind.
  const std::string blocked = dir.path + "/blocked.png";
  g_assert_cmpint(g_mkdir(blocked.c_str(), 0755), ==, 0);
  error.clear();
  g_assert_false(heatmap::write_counts_png(blocked, counts, &error));
  g_test_message("%s", error.c_str());
  g_assert_true(error.find(blocked) != std::string::npos);
  std::vector<std::string> names = dir.entries();
  g_assert_cmpuint(names.size(), ==, 3);  // heat.jpg, counts.png, blocked.png/
  g_assert_true(std::filesystem::is_empty(blocked));

  // A read-only directory (only meaningful when not root: root writes anywhere).
  if (geteuid() != 0) {
    const std::string ro = dir.path + "/ro";
    g_assert_cmpint(g_mkdir(ro.c_str(), 0555), ==, 0);
    error.clear();
    g_assert_false(heatmap::write_jpeg(ro + "/heat.jpg", image, 90, &error));
    g_assert_true(error.find(ro + "/heat.jpg") != std::string::npos);
    g_assert_true(std::filesystem::is_empty(ro));
  }

  // Images the writers cannot encode are refused with the path named.
  error.clear();
  g_assert_false(heatmap::write_counts_png(dir.path + "/x.png", image, &error));
  g_assert_true(error.find(dir.path + "/x.png") != std::string::npos);
  g_assert_cmpuint(dir.entries().size(), ==, 3);
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/heatmap-core/moving-square/i420", test_moving_square_i420);
  g_test_add_func("/heatmap-core/moving-square/bgr-mog2-knn", test_moving_square_bgr);
  g_test_add_func("/heatmap-core/false-heat/static-noise", test_static_noise_stays_quiet);
  g_test_add_func("/heatmap-core/false-heat/brightness-drift", test_brightness_drift_stays_quiet);
  g_test_add_func("/heatmap-core/counts/exact", test_counts_are_exact);
  g_test_add_func("/heatmap-core/counts/count-foreground-saturates",
                  test_count_foreground_saturates);
  g_test_add_func("/heatmap-core/counts/accumulator-saturates", test_accumulator_saturates);
  g_test_add_func("/heatmap-core/shadows", test_shadows_count_only_when_kept);
  g_test_add_func("/heatmap-core/formats/scene-colour", test_formats_give_the_scene_colour);
  g_test_add_func("/heatmap-core/formats/malformed-views-throw", test_malformed_views_throw);
  g_test_add_func("/heatmap-core/formats/odd-sizes", test_odd_sizes);
  g_test_add_func("/heatmap-core/formats/downscale-matches-inter-area",
                  test_downscale_matches_inter_area);
  g_test_add_func("/heatmap-core/formats/processing-size", test_processing_size);
  g_test_add_func("/heatmap-core/reset/size-change-and-reset", test_size_change_and_reset);
  g_test_add_func("/heatmap-core/render", test_render);
  g_test_add_func("/heatmap-core/writers", test_writers);
  g_test_add_func("/heatmap-core/decoders", test_decoders);
  g_test_add_func("/heatmap-core/decoders/png-skips-other-chunks",
                  test_png_decoders_skip_other_chunks);
  g_test_add_func("/heatmap-core/decoders/png-to-grey", test_png_to_grey);
  return g_test_run();
}
