// test-live-core.cpp: unit tests of the GObject-free live parts: location patterns, windows
// (cumulative, reset, decay against its formula), the overlay layer, the serial worker, and the
// accumulator's live side (tasks between frames, skipping frames, scene captures).
#include "accumulator.h"
#include "location-pattern.h"
#include "overlay.h"
#include "serial-worker.h"
#include "window.h"

#include <glib.h>
#include <opencv2/imgproc.hpp>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <filesystem>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using heatmap::LocationPattern;
using heatmap::Window;
using heatmap::WindowMode;

// g_assert_cmpstr on a temporary std::string's c_str() would compare freed memory.
void expect_str(const std::string &got, const char *want) {
  if (got != want)
    g_error("got \"%s\", expected \"%s\"", got.c_str(), want);
}

// 2026-03-04T05:06:07.890Z
constexpr std::int64_t kUtc = 1772600767890000LL;

void test_pattern_index_and_time() {
  auto p = LocationPattern::parse("cam/%Y/%m/%d/%H/heat-%05d.jpg");
  g_assert_true(p.is_pattern());
  g_assert_true(p.has_index());
  g_assert_true(p.has_time());
  expect_str(p.format(7, kUtc), "cam/2026/03/04/05/heat-00007.jpg");
  expect_str(p.format(123456, kUtc), "cam/2026/03/04/05/heat-123456.jpg");
  // Space padding, several indices, literal percent, minutes and seconds, epoch seconds.
  auto q = LocationPattern::parse("a%3d-%1d_100%%_%M%S_%s_%Z%z");
  expect_str(q.format(5, kUtc), "a  5-5_100%_0607_1772600767_UTC+0000");
  // Times before 1970 floor to the second they fall in.
  expect_str(LocationPattern::parse("%F %T").format(0, -1), "1969-12-31 23:59:59");
}

void test_pattern_plain() {
  auto p = LocationPattern::parse("/tmp/heat.jpg");
  g_assert_false(p.is_pattern());
  expect_str(p.format(3, kUtc), "/tmp/heat.jpg");
  auto q = LocationPattern::parse("100%%.jpg");
  g_assert_false(q.is_pattern());
  expect_str(q.format(3, kUtc), "100%.jpg");
  // A plain %d is the day of the month (strftime), not the index.
  auto d = LocationPattern::parse("%d.jpg");
  g_assert_false(d.has_index());
  expect_str(d.format(9, kUtc), "04.jpg");
}

void expect_refused(const char *pattern, const char *needle) {
  try {
    LocationPattern::parse(pattern);
  } catch (const std::invalid_argument &e) {
    const std::string what = e.what();
    g_assert_true(what.find(pattern) != std::string::npos);
    g_assert_true(what.find(needle) != std::string::npos);
    return;
  }
  g_error("pattern \"%s\" was accepted", pattern);
}

void test_pattern_refusals() {
  expect_refused("heat-%", "lone");
  expect_refused("heat-%05", "incomplete");
  expect_refused("heat-%q.jpg", "%q");
  expect_refused("heat-%05s.jpg", "%05s");
  expect_refused("heat-%n.jpg", "%n");  // a newline in a file name
  expect_refused("heat-%099d.jpg", "width");
}

void test_make_parent_dirs() {
  gchar *tmp = g_dir_make_tmp("live-core-XXXXXX", nullptr);
  const std::string root = tmp;
  g_free(tmp);
  std::string error;
  g_assert_true(heatmap::make_parent_dirs(root + "/a/b/c/file.jpg", &error));
  g_assert_true(std::filesystem::is_directory(root + "/a/b/c"));
  g_assert_false(std::filesystem::exists(root + "/a/b/c/file.jpg"));
  g_assert_true(heatmap::make_parent_dirs("file-in-cwd.jpg", &error));
  // A file where a folder should be: refused with the folder named.
  g_assert_true(g_file_set_contents((root + "/plain").c_str(), "x", 1, nullptr));
  g_assert_false(heatmap::make_parent_dirs(root + "/plain/sub/file.jpg", &error));
  g_assert_true(error.find(root + "/plain/sub") != std::string::npos);
  std::filesystem::remove_all(root);
}

void test_iso8601() {
  expect_str(heatmap::iso8601_utc(kUtc), "2026-03-04T05:06:07Z");
  expect_str(heatmap::iso8601_utc(0), "1970-01-01T00:00:00Z");
}

cv::Mat random_delta(cv::RNG &rng, cv::Size size, int max) {
  cv::Mat d(size, CV_16UC1);
  rng.fill(d, cv::RNG::UNIFORM, 0, max + 1);
  return d;
}

// The reset windows add up to the cumulative map, exactly.
void test_window_reset_sums_to_cumulative() {
  cv::RNG rng(7);
  Window cumulative(WindowMode::kCumulative), reset(WindowMode::kReset);
  cv::Mat sum = cv::Mat::zeros(24, 32, CV_32S);
  std::uint64_t frames = 0;
  for (int interval = 0; interval < 5; ++interval) {
    for (int k = 0; k < 7; ++k) {
      const cv::Mat d = random_delta(rng, cv::Size(32, 24), 3);
      cumulative.add(d, 3, interval + k / 7.0);
      reset.add(d, 3, interval + k / 7.0);
    }
    const cv::Mat m = reset.map();
    g_assert_cmpint(m.type(), ==, CV_16UC1);
    g_assert_cmpuint(reset.frames(), ==, 21);
    cv::Mat m32;
    m.convertTo(m32, CV_32S);
    sum += m32;
    frames += reset.frames();
    reset.end_interval();
    g_assert_cmpint(cv::countNonZero(reset.map()), ==, 0);
    cumulative.end_interval();  // no effect on a cumulative window
  }
  cv::Mat c32;
  cumulative.map().convertTo(c32, CV_32S);
  g_assert_cmpint(cv::norm(c32, sum, cv::NORM_INF), ==, 0);
  g_assert_cmpuint(cumulative.frames(), ==, frames);
}

// Totals go past 65535 exactly; only the 16-bit map saturates.
void test_window_saturates_only_in_the_map() {
  Window w(WindowMode::kCumulative);
  cv::Mat d(2, 2, CV_16UC1, cv::Scalar(40000));
  w.add(d, 40000, 0);
  w.add(d, 40000, 1);
  double max = 0;
  cv::minMaxLoc(w.map(), nullptr, &max);
  g_assert_cmpfloat(max, ==, 65535);
  // A new size starts afresh.
  w.add(cv::Mat(3, 3, CV_16UC1, cv::Scalar(2)), 2, 2);
  g_assert_cmpuint(w.frames(), ==, 2);
  cv::minMaxLoc(w.map(), nullptr, &max);
  g_assert_cmpfloat(max, ==, 2);
}

// decay: map = 65535 * sum(m_k 2^-(T-t_k)/h) / sum(f_k 2^-(T-t_k)/h), checked independently.
void test_window_decay_formula() {
  const double h = 2.5;
  Window w(WindowMode::kDecay, h);
  cv::RNG rng(11);
  std::vector<cv::Mat> deltas;
  std::vector<double> times;
  std::vector<std::uint64_t> frames;
  double t = 0;
  for (int k = 0; k < 40; ++k) {
    const std::uint64_t f = 1 + k % 3;
    deltas.push_back(random_delta(rng, cv::Size(16, 8), static_cast<int>(f)));
    times.push_back(t);
    frames.push_back(f);
    w.add(deltas.back(), f, t);
    t += 0.04 * f + (k == 20 ? 3.0 : 0.0);  // with one long gap
  }
  const double T = times.back();
  cv::Mat num = cv::Mat::zeros(8, 16, CV_64F);
  double den = 0;
  for (std::size_t k = 0; k < deltas.size(); ++k) {
    const double weight = std::exp2(-(T - times[k]) / h);
    cv::Mat d64;
    deltas[k].convertTo(d64, CV_64F);
    num += d64 * weight;
    den += frames[k] * weight;
  }
  cv::Mat expected;
  num.convertTo(expected, CV_64F, 65535.0 / den);
  cv::Mat got;
  w.map().convertTo(got, CV_64F);
  g_assert_cmpfloat(cv::norm(got, expected, cv::NORM_INF), <=, 1.0);
  g_assert_cmpfloat(std::abs(w.weight() - den), <, 1e-6 * den);
  // A pixel that moved in every frame reads 65535; after motion stops it halves per half-life.
  Window full(WindowMode::kDecay, 1.0);
  full.add(cv::Mat(1, 1, CV_16UC1, cv::Scalar(10)), 10, 0);
  g_assert_cmpint(full.map().at<std::uint16_t>(0, 0), ==, 65535);
  full.add(cv::Mat(1, 1, CV_16UC1, cv::Scalar(0)), 10, 1.0);  // 10 quiet frames, one h later
  // D = 10/2, W = 10/2 + 10: 65535 / 3.
  g_assert_cmpint(full.map().at<std::uint16_t>(0, 0), ==, 21845);
  bool threw = false;
  try {
    Window bad(WindowMode::kDecay, 0);
  } catch (const std::invalid_argument &) {
    threw = true;
  }
  g_assert_true(threw);
}

// A frame buffer with planes laid out as GStreamer would (strides padded).
struct TestFrame {
  std::vector<std::vector<std::uint8_t>> planes;
  std::vector<std::size_t> strides;
  std::vector<cv::Size> sizes;  // bytes per row used, rows
  heatmap::MutablePlane mplanes[3];
};

TestFrame make_frame(heatmap::PixelFormat f, int w, int h, cv::RNG &rng) {
  using heatmap::PixelFormat;
  TestFrame t;
  const int cw = (w + 1) / 2, ch = (h + 1) / 2;
  switch (f) {
    case PixelFormat::kGray8:
      t.sizes = {{w, h}};
      break;
    case PixelFormat::kI420:
    case PixelFormat::kYV12:
      t.sizes = {{w, h}, {cw, ch}, {cw, ch}};
      break;
    case PixelFormat::kNV12:
    case PixelFormat::kNV21:
      t.sizes = {{w, h}, {2 * cw, ch}};
      break;
    case PixelFormat::kY42B:
      t.sizes = {{w, h}, {cw, h}, {cw, h}};
      break;
    case PixelFormat::kY444:
      t.sizes = {{w, h}, {w, h}, {w, h}};
      break;
    case PixelFormat::kBGR:
    case PixelFormat::kRGB:
      t.sizes = {{3 * w, h}};
      break;
    default:
      t.sizes = {{4 * w, h}};
      break;
  }
  for (std::size_t i = 0; i < t.sizes.size(); ++i) {
    const std::size_t stride = t.sizes[i].width + 13;
    t.strides.push_back(stride);
    t.planes.emplace_back(stride * t.sizes[i].height);
    cv::Mat m(1, static_cast<int>(t.planes[i].size()), CV_8U, t.planes[i].data());
    rng.fill(m, cv::RNG::UNIFORM, 0, 256);
  }
  return t;
}

// Pixels change only where there is heat; full-opacity heat gives the heat's own colour.
void test_overlay_changes_only_hot_pixels() {
  using heatmap::PixelFormat;
  const PixelFormat formats[] = {PixelFormat::kGray8, PixelFormat::kI420, PixelFormat::kYV12,
                                 PixelFormat::kNV12,  PixelFormat::kNV21, PixelFormat::kY42B,
                                 PixelFormat::kY444,  PixelFormat::kBGR,  PixelFormat::kRGB,
                                 PixelFormat::kBGRx,  PixelFormat::kRGBx, PixelFormat::kxRGB,
                                 PixelFormat::kxBGR};
  const int W = 161, H = 91;                                // odd sizes; processing size 40x22
  cv::Mat heat(22, 40, CV_8UC3, cv::Scalar(30, 200, 250));  // BGR
  cv::Mat weight = cv::Mat::zeros(22, 40, CV_32F);
  weight(cv::Rect(10, 5, 12, 8)).setTo(1.0);  // hot block: x 40..88, y 21..53 at full size
  for (PixelFormat f : formats) {
    cv::RNG rng(3);
    TestFrame frame = make_frame(f, W, H, rng);
    const TestFrame before = frame;
    heatmap::OverlayLayer layer(heat, weight, f, W, H);
    g_assert_true(layer.fits(f, W, H));
    g_assert_false(layer.fits(f, W + 1, H));
    g_assert_cmpfloat(layer.coverage(), >, 0.0);
    g_assert_cmpfloat(layer.coverage(), <, 0.25);
    for (std::size_t i = 0; i < frame.planes.size(); ++i)
      frame.mplanes[i] = {frame.planes[i].data(), frame.strides[i]};
    layer.blend(frame.mplanes);
    // Plane 0 rows: far from the block (bilinear spread is at most one processing pixel,
    // ~4 full pixels), nothing changed; in its middle, everything colour did.
    std::size_t changed_outside = 0, changed_inside = 0, inside = 0;
    const cv::Size s0 = frame.sizes[0];
    const int bpp = s0.width / W;
    for (int y = 0; y < H; ++y) {
      for (int x = 0; x < W; ++x) {
        const bool far = x < 32 || x > 96 || y < 13 || y > 61;
        const bool core = x > 48 && x < 80 && y > 29 && y < 45;
        for (int b = 0; b < bpp; ++b) {
          const std::size_t at = y * frame.strides[0] + x * bpp + b;
          const bool diff = frame.planes[0][at] != before.planes[0][at];
          if (far && diff)
            ++changed_outside;
          if (core) {
            ++inside;
            changed_inside += diff;
          }
        }
      }
    }
    g_assert_cmpuint(changed_outside, ==, 0);
    // Random bytes equal to the heat by chance stay; padding bytes of 4-byte formats too.
    g_assert_cmpuint(changed_inside, >, inside * (bpp == 4 ? 0.7 : 0.95));
    // Other planes (and the padding after each row) outside the block's chroma area: untouched.
    for (std::size_t i = 0; i < frame.planes.size(); ++i) {
      for (int y = 0; y < frame.sizes[i].height; ++y) {
        for (std::size_t x = frame.sizes[i].width; x < frame.strides[i]; ++x)
          g_assert_cmpint(frame.planes[i][y * frame.strides[i] + x], ==,
                          before.planes[i][y * frame.strides[i] + x]);
      }
    }
    if (f == PixelFormat::kBGR || f == PixelFormat::kxRGB) {
      const int x = 64, y = 37;
      const std::uint8_t *px = &frame.planes[0][y * frame.strides[0] + x * bpp];
      if (f == PixelFormat::kBGR) {
        g_assert_cmpint(px[0], ==, 30);
        g_assert_cmpint(px[1], ==, 200);
        g_assert_cmpint(px[2], ==, 250);
      } else {
        g_assert_cmpint(px[0], ==, before.planes[0][y * frame.strides[0] + x * bpp]);  // x
        g_assert_cmpint(px[1], ==, 250);
        g_assert_cmpint(px[2], ==, 200);
        g_assert_cmpint(px[3], ==, 30);
      }
    }
  }
}

// The YUV layer has the heat's colour: BT.601 limited range of BGR (30, 200, 250).
void test_overlay_yuv_colour() {
  cv::Mat heat(4, 4, CV_8UC3, cv::Scalar(30, 200, 250));
  cv::Mat weight(4, 4, CV_32F, cv::Scalar(1.0));
  cv::RNG rng(5);
  TestFrame frame = make_frame(heatmap::PixelFormat::kI420, 16, 16, rng);
  for (std::size_t i = 0; i < 3; ++i)
    frame.mplanes[i] = {frame.planes[i].data(), frame.strides[i]};
  heatmap::OverlayLayer(heat, weight, heatmap::PixelFormat::kI420, 16, 16).blend(frame.mplanes);
  const double r = 250, g = 200, b = 30;
  const double y = 16 + (0.299 * r + 0.587 * g + 0.114 * b) * 219 / 255;
  const double u = 128 + (b - (0.299 * r + 0.587 * g + 0.114 * b)) / 1.772 * 224 / 255;
  const double v = 128 + (r - (0.299 * r + 0.587 * g + 0.114 * b)) / 1.402 * 224 / 255;
  g_assert_cmpfloat(std::abs(frame.planes[0][5 * frame.strides[0] + 5] - y), <=, 1.0);
  g_assert_cmpfloat(std::abs(frame.planes[1][3 * frame.strides[1] + 3] - u), <=, 1.0);
  g_assert_cmpfloat(std::abs(frame.planes[2][3 * frame.strides[2] + 3] - v), <=, 1.0);
}

// The blend is exactly (dst * (256 - a) + v * a + 128) >> 8 per byte, whatever the row's
// length and start (vector body and scalar tail alike), and a == 0 leaves the byte alone.
// Layer bytes are read back through a 1x1 frame per pixel: a GRAY8 layer of one row.
void test_overlay_blend_is_exact() {
  cv::RNG rng(11);
  for (int w : {1, 7, 16, 31, 33, 64, 100, 257}) {
    // Heat and weight at full size (no scaling): layer value = grey of the heat, weight bytes
    // = round(weight * 256).
    cv::Mat heat(3, w, CV_8UC3), weight(3, w, CV_32F);
    rng.fill(heat, cv::RNG::UNIFORM, 0, 256);
    rng.fill(weight, cv::RNG::UNIFORM, 0.0, 1.0);
    weight.row(1).colRange(0, w / 2).setTo(0.0);  // a zero run at the start of a row
    weight.at<float>(2, w - 1) = 1.0f;            // an opaque byte at the end
    heatmap::OverlayLayer layer(heat, weight, heatmap::PixelFormat::kGray8, w, 3);
    cv::Mat grey;
    cv::cvtColor(heat, grey, cv::COLOR_BGR2GRAY);
    cv::Mat frame(3, w + 5, CV_8U), before;
    rng.fill(frame, cv::RNG::UNIFORM, 0, 256);
    frame.copyTo(before);
    heatmap::MutablePlane planes[3] = {{frame.data, frame.step[0]}, {}, {}};
    layer.blend(planes);
    for (int y = 0; y < 3; ++y) {
      for (int x = 0; x < w + 5; ++x) {
        const int d = before.at<std::uint8_t>(y, x);
        int expect = d;
        if (x < w) {
          const int a = static_cast<int>(std::lround(weight.at<float>(y, x) * 256.0));
          expect = (d * (256 - a) + grey.at<std::uint8_t>(y, x) * a + 128) >> 8;
        }
        if (frame.at<std::uint8_t>(y, x) != expect) {
          g_printerr("width %d, byte (%d, %d): %d, expected %d\n", w, x, y,
                     frame.at<std::uint8_t>(y, x), expect);
          g_assert_not_reached();
        }
      }
    }
  }
}

// Background work runs below the creator's priority, so a busy machine serves the streaming
// thread first.
void test_serial_worker_runs_at_lower_priority() {
  heatmap::SerialWorker worker(1);
  const int mine = getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)));
  int theirs = mine;
  worker.submit(
      [&theirs] { theirs = getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid))); });
  worker.wait_idle();
  g_assert_cmpint(theirs, ==, std::min(mine + heatmap::SerialWorker::kBackgroundNice, 19));
}

void test_serial_worker_drops_when_full() {
  heatmap::SerialWorker worker(2);
  std::atomic<bool> release{false};
  std::atomic<int> done{0};
  auto slow = [&] {
    while (!release)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ++done;
  };
  g_assert_true(worker.try_submit(slow));
  g_assert_true(worker.try_submit(slow));
  g_assert_false(worker.try_submit(slow));  // a slow job and one waiting: the third is dropped
  g_assert_cmpuint(worker.pending(), ==, 2);
  release = true;
  worker.wait_idle();
  g_assert_cmpint(done, ==, 2);
  // In order, and the destructor runs what is still queued.
  std::vector<int> order;
  {
    heatmap::SerialWorker w(3);
    for (int i = 0; i < 10; ++i)
      w.submit([&order, i] { order.push_back(i); });
  }
  g_assert_cmpuint(order.size(), ==, 10);
  for (int i = 0; i < 10; ++i)
    g_assert_cmpint(order[i], ==, i);
}

// A textured colour scene whose light drifts slowly, with a bright square moving across it.
cv::Mat moving_square(int i) {
  cv::Mat frame(120, 160, CV_8UC3);
  cv::RNG rng(7);
  rng.fill(frame, cv::RNG::UNIFORM, 60, 120);
  frame += cv::Scalar::all(i / 4);
  cv::rectangle(frame, cv::Rect((i * 37) % 140, (i * 23) % 100, 20, 20), cv::Scalar(250, 250, 250),
                cv::FILLED);
  return frame;
}

heatmap::FrameView bgr_view(const cv::Mat &f) {
  heatmap::FrameView v;
  v.format = heatmap::PixelFormat::kBGR;
  v.width = f.cols;
  v.height = f.rows;
  v.planes[0].data = f.data;
  v.planes[0].stride = f.step[0];
  return v;
}

heatmap::Settings mog2_settings(bool threaded) {
  heatmap::Settings s;
  s.method = heatmap::Method::kMog2;
  s.downscale = 0.5;
  s.threaded = threaded;
  return s;
}

// Holds the model's thread at one frame until released.
struct Gate {
  std::mutex lock;
  std::condition_variable changed;
  bool holding = false;
  bool released = false;
  void hold() {
    std::unique_lock<std::mutex> guard(lock);
    holding = true;
    changed.notify_all();
    changed.wait(guard, [this] { return released; });
  }
  void wait_until_holding() {
    std::unique_lock<std::mutex> guard(lock);
    changed.wait(guard, [this] { return holding; });
  }
  void release() {
    std::lock_guard<std::mutex> guard(lock);
    released = true;
    changed.notify_all();
  }
};

// Gives a threaded accumulator frames 0-5 and returns once its model is held in frame 5 (the
// gate's hold), with frames 0-4 done: a model that is busy until gate.release().
void feed_until_model_holds_frame_5(heatmap::Accumulator &live, Gate &gate) {
  live.set_motion_observer([&gate](std::int64_t tag, const cv::Mat &) {
    if (tag == 5)
      gate.hold();
  });
  for (int i = 0; i < 6; ++i)
    live.add_frame(moving_square(i), i);
  gate.wait_until_holding();
}

// A task posted between frames runs on the model's thread after exactly the frames given before
// it, while the caller goes on without waiting for the (here: stuck) model; try_add_frame()
// skips frames instead of waiting; the counts each task takes are the ones a synchronous
// accumulator takes at the same point.
void test_accumulator_posted_tasks_never_wait() {
  heatmap::Accumulator live(mog2_settings(true));
  Gate gate;
  feed_until_model_holds_frame_5(live, gate);
  cv::Mat first, second;
  std::uint64_t first_frames = 0, second_frames = 0;
  std::atomic<int> ran{0};
  live.post([&](heatmap::Accumulator::State &m) {
    first = m.take_counts();
    first_frames = m.stats().frames_processed;
    ++ran;
  });
  // Frame 5 in the model and two queued behind it fill the queue: the rest are skipped.
  std::vector<bool> taken;
  for (int i = 6; i < 10; ++i) {
    const cv::Mat f = moving_square(i);
    taken.push_back(live.try_add_frame(bgr_view(f), i));
  }
  g_assert_true(taken[0] && taken[1]);
  g_assert_false(taken[2] || taken[3]);
  live.post([&](heatmap::Accumulator::State &m) {
    second = m.take_counts();
    second_frames = m.stats().frames_processed;
    ++ran;
  });
  g_assert_cmpint(ran, ==, 0);  // posting never waited for the stuck model
  gate.release();
  live.wait_idle();
  g_assert_cmpint(ran, ==, 2);
  g_assert_cmpuint(first_frames, ==, 6);
  g_assert_cmpuint(second_frames, ==, 8);

  heatmap::Accumulator reference(mog2_settings(false));
  for (int i = 0; i < 6; ++i)
    reference.add_frame(moving_square(i), i);
  const cv::Mat want_first = reference.take_counts();
  for (int i = 6; i < 8; ++i)
    reference.add_frame(moving_square(i), i);
  const cv::Mat want_second = reference.take_counts();
  g_assert_cmpint(cv::countNonZero(want_first + want_second), >, 50);
  g_assert_cmpfloat(cv::norm(first, want_first, cv::NORM_INF), ==, 0);
  g_assert_cmpfloat(cv::norm(second, want_second, cv::NORM_INF), ==, 0);
  // Not threaded, there is nothing to wait for: never skipped.
  const cv::Mat f = moving_square(8);
  g_assert_true(reference.try_add_frame(bgr_view(f), 8));
}

// The model's thread gives way to a decoder's threads: SCHED_BATCH and 10 steps of nice below
// its creator (measured: the decoder's short idle gaps then carry the model, wall 1.12-1.14 x
// decode instead of 1.28-1.32 x at the same nice).
void test_accumulator_model_runs_at_lower_priority() {
  heatmap::Accumulator live(mog2_settings(true));
  const int mine = getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)));
  std::atomic<int> theirs{mine}, policy{-1};
  live.set_motion_observer([&](std::int64_t, const cv::Mat &) {
    theirs = getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)));
    policy = sched_getscheduler(0);
  });
  live.add_frame(moving_square(0), 0);
  live.wait_idle();
  g_assert_cmpint(theirs, ==, std::min(mine + 10, 19));
  g_assert_cmpint(policy, ==, SCHED_BATCH);
}

// A file's frames queue deep while the model is busy (a look-ahead, a camera search): the
// caller (the decoder's streaming thread) goes on for 16 small frames instead of 3, while a live
// caller (try_add_frame) still calls the model busy at 3, so a live picture never lags by the
// deep queue. Nothing is dropped: the counts are a synchronous accumulator's.
void test_accumulator_file_frames_queue_deep() {
  heatmap::Accumulator live(mog2_settings(true));
  Gate gate;
  feed_until_model_holds_frame_5(live, gate);
  // Frames 6-20 (15) beside frame 5 in the model. With the old depth of 3 the caller would wait
  // on frame 8 until the gate opens: the deadlock guard below would then fail the test.
  auto caller = std::async(std::launch::async, [&] {
    for (int i = 6; i <= 20; ++i)
      live.add_frame(moving_square(i), i);
  });
  const bool went_on = caller.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  const int queued = live.frames_queued();
  const cv::Mat f = moving_square(21);
  const bool live_taken = live.try_add_frame(bgr_view(f), 21);
  gate.release();
  caller.get();
  g_assert_true(went_on);
  g_assert_cmpint(queued, ==, 16);
  g_assert_false(live_taken);
  heatmap::Accumulator reference(mog2_settings(false));
  for (int i = 0; i <= 20; ++i)
    reference.add_frame(moving_square(i), i);
  g_assert_cmpuint(live.stats().frames_processed, ==, 21);
  g_assert_cmpint(cv::countNonZero(reference.counts()), >, 50);
  g_assert_cmpfloat(cv::norm(live.counts(), reference.counts(), cv::NORM_INF), ==, 0);
}

// A frame of a new size restarts the model, which first drains it: while the model is busy,
// try_add_frame() skips such frames instead of waiting (25 in a row at most; the next waits,
// so the restart always comes), and the first one that finds the model idle restarts it.
void test_accumulator_new_size_never_waits_for_a_busy_model() {
  heatmap::Accumulator live(mog2_settings(true));
  Gate gate;
  feed_until_model_holds_frame_5(live, gate);
  cv::Mat small;
  cv::resize(moving_square(6), small, cv::Size(), 0.5, 0.5, cv::INTER_AREA);
  auto attempt = std::async(std::launch::async, [&] {
    int skipped = 0;
    for (int i = 0; i < 25; ++i)
      skipped += live.try_add_frame(bgr_view(small), 100 + i) ? 0 : 1;
    return skipped;
  });
  const bool returned = attempt.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  if (!returned)
    gate.release();  // let the waiting call finish before failing
  g_assert_true(returned);
  g_assert_cmpint(attempt.get(), ==, 25);
  // The 26th waits for the model (the restart is not put off for ever).
  auto waits =
      std::async(std::launch::async, [&] { return live.try_add_frame(bgr_view(small), 125); });
  g_assert_true(waits.wait_for(std::chrono::milliseconds(300)) == std::future_status::timeout);
  gate.release();
  g_assert_true(waits.get());
  live.wait_idle();
  g_assert_cmpint(live.stats().width, ==, small.cols / 2);

  // Idle model: the new size is taken at once.
  heatmap::Accumulator idle(mog2_settings(true));
  for (int i = 0; i < 3; ++i)
    idle.add_frame(moving_square(i), i);
  idle.wait_idle();
  g_assert_true(idle.try_add_frame(bgr_view(small), 3));
  g_assert_cmpint(idle.stats().width, ==, small.cols / 2);
}

// A scene captured in a task is the background of that moment, even when its picture is made
// much later, after the model has thinned out and reused its colour samples.
void test_accumulator_scene_capture_is_a_moment() {
  heatmap::Accumulator acc(mog2_settings(true));
  cv::Mat at_capture;
  heatmap::Accumulator::SceneCapture capture;
  for (int i = 0; i < 140; ++i)
    acc.add_frame(moving_square(i), i);
  acc.post([&](heatmap::Accumulator::State &m) {
    capture = m.scene();
    at_capture = m.scene().picture();
  });
  for (int i = 140; i < 600; ++i)  // two more thinnings: every sample buffer is recycled
    acc.add_frame(moving_square(i), i);
  const cv::Mat later = acc.background();
  g_assert_false(at_capture.empty());
  g_assert_cmpint(at_capture.type(), ==, CV_8UC3);
  g_assert_cmpfloat(cv::norm(later, at_capture, cv::NORM_INF), >, 20);  // the light drifted
  g_assert_cmpfloat(cv::norm(capture.picture(), at_capture, cv::NORM_INF), ==, 0);
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/live-core/pattern/index-and-time", test_pattern_index_and_time);
  g_test_add_func("/live-core/pattern/plain", test_pattern_plain);
  g_test_add_func("/live-core/pattern/refusals", test_pattern_refusals);
  g_test_add_func("/live-core/pattern/make-parent-dirs", test_make_parent_dirs);
  g_test_add_func("/live-core/pattern/iso8601", test_iso8601);
  g_test_add_func("/live-core/window/reset-sums-to-cumulative",
                  test_window_reset_sums_to_cumulative);
  g_test_add_func("/live-core/window/saturates-only-in-map", test_window_saturates_only_in_the_map);
  g_test_add_func("/live-core/window/decay-formula", test_window_decay_formula);
  g_test_add_func("/live-core/overlay/only-hot-pixels-change",
                  test_overlay_changes_only_hot_pixels);
  g_test_add_func("/live-core/overlay/yuv-colour", test_overlay_yuv_colour);
  g_test_add_func("/live-core/overlay/blend-is-exact", test_overlay_blend_is_exact);
  g_test_add_func("/live-core/serial-worker/drops-when-full", test_serial_worker_drops_when_full);
  g_test_add_func("/live-core/accumulator/posted-tasks-never-wait",
                  test_accumulator_posted_tasks_never_wait);
  g_test_add_func("/live-core/accumulator/model-runs-at-lower-priority",
                  test_accumulator_model_runs_at_lower_priority);
  g_test_add_func("/live-core/accumulator/file-frames-queue-deep",
                  test_accumulator_file_frames_queue_deep);
  g_test_add_func("/live-core/accumulator/new-size-never-waits",
                  test_accumulator_new_size_never_waits_for_a_busy_model);
  g_test_add_func("/live-core/accumulator/scene-capture-is-a-moment",
                  test_accumulator_scene_capture_is_a_moment);
  g_test_add_func("/live-core/serial-worker/lower-priority",
                  test_serial_worker_runs_at_lower_priority);
  return g_test_run();
}
