// test-heatmap-hostile.cpp: the heatmap core against hostile frame sequences (format and size
// changes in any order, tiny and odd sizes) and the exact behaviours a mutation pass showed
// untested: the 2x/4x downscale rounding, the render curve, atomic writes.
#include "heatmap-core.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

using heatmap::Accumulator;
using heatmap::FrameView;
using heatmap::PixelFormat;
using heatmap::Settings;

// A frame of any supported format, its bytes owned here (the view points into them).
struct Frame {
  std::vector<std::uint8_t> bytes[3];
  FrameView view;
};

// Fills a frame of `format` and size w x h with a flat colour plus noise; chroma planes are
// rounded up for odd sizes, as GStreamer lays them out.
Frame make_frame(PixelFormat format, int w, int h, cv::RNG &rng, cv::Vec3b bgr) {
  Frame f;
  f.view.format = format;
  f.view.width = w;
  f.view.height = h;
  const int cw = (w + 1) / 2, ch = (h + 1) / 2;
  auto plane = [&](int i, std::size_t stride, int rows, std::uint8_t base, int pattern_len = 1,
                   const std::uint8_t *pattern = nullptr) {
    f.bytes[i].resize(stride * rows + 16);
    for (std::size_t k = 0; k < f.bytes[i].size(); ++k) {
      const std::uint8_t v = pattern ? pattern[k % pattern_len] : base;
      f.bytes[i][k] = cv::saturate_cast<std::uint8_t>(v + rng.uniform(-3, 4));
    }
    f.view.planes[i] = {f.bytes[i].data(), stride};
  };
  const std::uint8_t y = 100, u = 90, v = 170;
  const std::uint8_t bgrx[4] = {bgr[0], bgr[1], bgr[2], 255};
  const std::uint8_t rgbx[4] = {bgr[2], bgr[1], bgr[0], 255};
  const std::uint8_t xrgb[4] = {255, bgr[2], bgr[1], bgr[0]};
  const std::uint8_t xbgr[4] = {255, bgr[0], bgr[1], bgr[2]};
  const std::uint8_t uv[2] = {u, v}, vu[2] = {v, u};
  switch (format) {
    case PixelFormat::kGray8:
      plane(0, w + 3, h, y);
      break;
    case PixelFormat::kI420:
    case PixelFormat::kYV12:
      plane(0, w, h, y);
      plane(1, cw, ch, u);
      plane(2, cw, ch, v);
      break;
    case PixelFormat::kNV12:
      plane(0, w, h, y);
      plane(1, 2 * cw, ch, 0, 2, uv);
      break;
    case PixelFormat::kNV21:
      plane(0, w, h, y);
      plane(1, 2 * cw, ch, 0, 2, vu);
      break;
    case PixelFormat::kY42B:
      plane(0, w, h, y);
      plane(1, cw, h, u);
      plane(2, cw, h, v);
      break;
    case PixelFormat::kY444:
      plane(0, w, h, y);
      plane(1, w, h, u);
      plane(2, w, h, v);
      break;
    case PixelFormat::kBGR:
      plane(0, 3 * w, h, 0, 3, bgrx);
      break;
    case PixelFormat::kRGB:
      plane(0, 3 * w, h, 0, 3, rgbx);
      break;
    case PixelFormat::kBGRx:
      plane(0, 4 * w, h, 0, 4, bgrx);
      break;
    case PixelFormat::kRGBx:
      plane(0, 4 * w, h, 0, 4, rgbx);
      break;
    case PixelFormat::kxRGB:
      plane(0, 4 * w, h, 0, 4, xrgb);
      break;
    case PixelFormat::kxBGR:
      plane(0, 4 * w, h, 0, 4, xbgr);
      break;
  }
  return f;
}

const PixelFormat kFormats[] = {
    PixelFormat::kGray8, PixelFormat::kI420, PixelFormat::kYV12, PixelFormat::kNV12,
    PixelFormat::kNV21,  PixelFormat::kY42B, PixelFormat::kY444, PixelFormat::kBGR,
    PixelFormat::kRGB,   PixelFormat::kBGRx, PixelFormat::kRGBx, PixelFormat::kxRGB,
    PixelFormat::kxBGR,
};

// Issue 13 defect 2: one grey frame, then colour frames of the same size, crashed in the
// background median (no colour sample existed). The background must now be the colour scene.
void test_grey_then_colour_same_size() {
  for (int run = 0; run < 6; ++run) {
    Settings s;
    s.threaded = run % 2 == 0;
    s.method = static_cast<heatmap::Method>(run / 2);
    Accumulator acc(s);
    cv::RNG rng(1);
    const cv::Vec3b colour(30, 140, 220);
    Frame grey = make_frame(PixelFormat::kGray8, 64, 48, rng, colour);
    acc.add_frame(grey.view);
    for (int i = 0; i < 3; ++i) {
      Frame c = make_frame(PixelFormat::kBGRx, 64, 48, rng, colour);
      acc.add_frame(c.view);
    }
    const cv::Mat bg = acc.background();
    g_assert_cmpint(bg.cols, ==, 16);
    if (s.method == heatmap::Method::kScene) {
      // The scene model keeps the kind it started with (its own business): no crash is the
      // point here.
      g_assert_true(bg.type() == CV_8UC3 || bg.type() == CV_8UC1);
      continue;
    }
    g_assert_cmpint(bg.type(), ==, CV_8UC3);
    g_assert_cmpint(bg.rows, ==, 12);
    const double err = cv::norm(
        bg, cv::Mat(bg.size(), CV_8UC3, cv::Scalar(colour[0], colour[1], colour[2])), cv::NORM_INF);
    g_assert_cmpfloat(err, <=, 4);
    g_assert_cmpuint(acc.stats().frames_processed, ==, 4);  // the counts went on
    (void)heatmap::render(acc.counts(), bg, heatmap::RenderSettings());
  }
}

// Colour, then grey (the background becomes grey), then colour again (only the new colour
// frames make the background: the old ones are of another scene kind).
void test_colour_grey_colour_same_size() {
  Accumulator acc;
  cv::RNG rng(2);
  for (int i = 0; i < 20; ++i) {
    Frame c = make_frame(PixelFormat::kBGR, 40, 40, rng, cv::Vec3b(200, 20, 20));
    acc.add_frame(c.view);
  }
  Frame g = make_frame(PixelFormat::kGray8, 40, 40, rng, cv::Vec3b());
  acc.add_frame(g.view);
  g_assert_cmpint(acc.background().type(), ==, CV_8UC1);
  Frame c2 = make_frame(PixelFormat::kRGB, 40, 40, rng, cv::Vec3b(20, 200, 20));
  acc.add_frame(c2.view);
  const cv::Mat bg = acc.background();
  g_assert_cmpint(bg.type(), ==, CV_8UC3);
  const cv::Vec3b px = bg.at<cv::Vec3b>(5, 5);
  g_assert_cmpint(std::abs(px[1] - 200), <=, 4);  // green: the new scene, not the old blue
  g_assert_cmpint(std::abs(px[0] - 20), <=, 4);
}

// Every pair of formats, at the same size and at a different size: the core never crashes, the
// background has the kind of the last frame and the processing size of the last size.
void test_every_format_pair() {
  cv::RNG rng(3);
  for (PixelFormat a : kFormats) {
    for (PixelFormat b : kFormats) {
      for (bool resize : {false, true}) {
        Settings s;
        s.threaded = (static_cast<int>(a) + static_cast<int>(b)) % 2 == 0;
        // every model: the scene model learns colour itself, the others sample it
        s.method = static_cast<heatmap::Method>(
            (static_cast<int>(a) * 13 + static_cast<int>(b) + resize) % 3);
        Accumulator acc(s);
        for (int i = 0; i < 3; ++i) {
          Frame f = make_frame(a, 48, 32, rng, cv::Vec3b(10, 20, 30));
          acc.add_frame(f.view);
        }
        const int w2 = resize ? 37 : 48, h2 = resize ? 21 : 32;
        for (int i = 0; i < 2; ++i) {
          Frame f = make_frame(b, w2, h2, rng, cv::Vec3b(10, 20, 30));
          acc.add_frame(f.view);
        }
        const cv::Mat bg = acc.background();
        g_assert_false(bg.empty());
        if (s.method != heatmap::Method::kScene || resize) {
          g_assert_cmpint(bg.channels(), ==, b == PixelFormat::kGray8 ? 1 : 3);
        }
        g_assert_true(bg.size() == acc.counts().size());
        const heatmap::Stats st = acc.stats();
        g_assert_cmpint(st.width, ==, std::max(1, static_cast<int>(std::lround(w2 * 0.25))));
        g_assert_cmpuint(st.frames_processed, ==, resize ? 2 : 5);
        (void)heatmap::render(acc.counts(), bg, heatmap::RenderSettings());
      }
    }
  }
}

// Random sequences of formats and sizes, tiny and odd ones included, with queries in between.
void test_random_sequences() {
  cv::RNG rng(4);
  const cv::Size sizes[] = {{1, 1}, {2, 2}, {3, 1}, {1, 7}, {5, 3}, {17, 9}, {64, 48}, {33, 65}};
  for (int run = 0; run < 40; ++run) {
    Settings s;
    s.downscale = run % 3 == 0 ? 1.0 : 0.25;
    const heatmap::Method methods[] = {heatmap::Method::kMog2, heatmap::Method::kKnn,
                                       heatmap::Method::kScene};
    s.method = methods[run % 3];
    s.threaded = run % 2 == 0;
    Accumulator acc(s);
    cv::Size size = sizes[rng.uniform(0, 8)];
    for (int i = 0; i < 30; ++i) {
      if (rng.uniform(0, 6) == 0) {
        size = sizes[rng.uniform(0, 8)];
      }
      Frame f =
          make_frame(kFormats[rng.uniform(0, 13)], size.width, size.height, rng,
                     cv::Vec3b(rng.uniform(0, 256), rng.uniform(0, 256), rng.uniform(0, 256)));
      acc.add_frame(f.view);
      if (rng.uniform(0, 5) == 0) {
        const cv::Mat bg = acc.background();
        g_assert_false(bg.empty());
        (void)heatmap::render(acc.counts(), bg, heatmap::RenderSettings());
      }
      if (rng.uniform(0, 15) == 0) {
        acc.reset();
      }
    }
  }
}

// A frame with a zero width or height is refused with an exception, never a crash.
void test_zero_sizes_throw() {
  cv::RNG rng(5);
  for (PixelFormat fmt : kFormats) {
    Frame f = make_frame(fmt, 8, 8, rng, cv::Vec3b());
    for (auto [w, h] : {std::pair{0, 8}, std::pair{8, 0}, std::pair{-1, 8}}) {
      FrameView v = f.view;
      v.width = w;
      v.height = h;
      Accumulator acc;
      bool threw = false;
      try {
        acc.add_frame(v);
      } catch (const std::invalid_argument &) {
        threw = true;
      }
      g_assert_true(threw);
    }
  }
}

// The 2x and 4x fast paths of the luma downscale (baseline vectors, and AVX2 where the CPU has
// it) are exactly the rounded block mean (a truncating version differs by one on about half the
// pixels), on widths with and without a tail after the 32- and 16-output steps, and on a view
// whose rows are longer than the picture.
void test_downscale_exact_block_mean() {
  struct Case {
    cv::Mat src;
    int factor;
  };
  cv::RNG rng(6);
  cv::Mat src1080(1080, 1920, CV_8UC1), wide(1080, 1932, CV_8UC1);
  rng.fill(src1080, cv::RNG::UNIFORM, 0, 256);
  rng.fill(wide, cv::RNG::UNIFORM, 0, 256);
  // 1080p -> 480x270 (4x) and 960x540 (2x); 1932 -> 483 also runs the scalar tail.
  std::vector<Case> cases = {{src1080, 4}, {src1080, 2}, {wide, 4}};
  for (const cv::Size &out : {cv::Size(480, 270), cv::Size(250, 7), cv::Size(33, 3)}) {
    for (int f : {2, 4}) {
      cv::Mat padded(out.height * f, out.width * f + 40, CV_8UC1);
      cv::RNG(static_cast<std::uint64_t>(out.width * 10 + f))
          .fill(padded, cv::RNG::UNIFORM, 0, 256);
      cases.push_back({padded(cv::Rect(0, 0, out.width * f, out.height * f)), f});
    }
  }
  for (const Case &c : cases) {
    const int factor = c.factor, width = c.src.cols;
    const cv::Size size(width / factor, c.src.rows / factor);
    cv::Mat dst;
    heatmap::downscale_plane(c.src, dst, size);
    g_assert_cmpint(dst.type(), ==, CV_8UC1);
    g_assert_true(dst.size() == size);
    const int n = factor * factor;
    int mismatches = 0;
    for (int y = 0; y < size.height; ++y) {
      for (int x = 0; x < size.width; ++x) {
        int sum = 0;
        for (int dy = 0; dy < factor; ++dy) {
          for (int dx = 0; dx < factor; ++dx) {
            sum += c.src.at<std::uint8_t>(y * factor + dy, x * factor + dx);
          }
        }
        const int expected = (sum + n / 2) / n;  // round half up
        mismatches += dst.at<std::uint8_t>(y, x) != expected;
      }
    }
    if (mismatches != 0) {
      g_error("%dx downscale of width %d: %d of %d pixels differ from the rounded block mean",
              factor, width, mismatches, size.area());
    }
  }
}

// Mid-range values of the render curve follow the documented formula: index = round(255 n),
// weight = alpha * min(1, n / 0.5)^1.5, out = bg + (colour - bg) * weight (n = count / max).
void test_render_curve_mid_range() {
  const int kMax = 200;
  cv::Mat counts(1, kMax + 1, CV_16UC1);
  for (int i = 0; i <= kMax; ++i) {
    counts.at<std::uint16_t>(0, i) = static_cast<std::uint16_t>(i);
  }
  cv::Mat bg(counts.size(), CV_8UC3, cv::Scalar(60, 90, 120));
  heatmap::RenderSettings rs;
  rs.blur = 0;
  rs.alpha = 0.8;
  rs.colormap = cv::COLORMAP_JET;
  const cv::Mat out = heatmap::render(counts, bg, rs);
  cv::Mat ramp(1, 256, CV_8UC1);
  for (int i = 0; i < 256; ++i) {
    ramp.at<std::uint8_t>(0, i) = static_cast<std::uint8_t>(i);
  }
  cv::Mat lut;
  cv::applyColorMap(ramp, lut, rs.colormap);
  int checked = 0;
  for (int i = 1; i < kMax; ++i) {
    const float n = static_cast<float>(i) / kMax;
    const int index = cv::saturate_cast<std::uint8_t>(n * 255.0);
    const float t = std::min(1.f, n / 0.5f);
    const float w = 0.8f * t * std::sqrt(t);
    // The colormap index may round either way at .5 (SIMD conversion): accept a neighbour.
    bool match = false;
    int expected[3] = {0, 0, 0};
    for (int k = std::max(0, index - 1); k <= std::min(255, index + 1) && !match; ++k) {
      match = true;
      for (int ch = 0; ch < 3; ++ch) {
        const int b = bg.at<cv::Vec3b>(0, i)[ch], c = lut.at<cv::Vec3b>(0, k)[ch];
        expected[ch] = cv::saturate_cast<std::uint8_t>(b + (c - b) * w);
        match = match && std::abs(out.at<cv::Vec3b>(0, i)[ch] - expected[ch]) <= 1;
      }
    }
    if (!match) {
      const cv::Vec3b got = out.at<cv::Vec3b>(0, i);
      g_error("render: count %d/%d gives (%d,%d,%d), the formula (%d,%d,%d)", i, kMax, got[0],
              got[1], got[2], expected[0], expected[1], expected[2]);
    }
    ++checked;
  }
  // a quarter of the maximum is well below full strength, half of it reaches alpha
  const cv::Vec3b quarter = out.at<cv::Vec3b>(0, kMax / 4);
  const cv::Vec3b jet_quarter = lut.at<cv::Vec3b>(0, 64);
  const double w_quarter = (quarter[0] - 60.0) / (jet_quarter[0] - 60.0);
  g_assert_cmpfloat(std::fabs(w_quarter - 0.8 * std::pow(0.5, 1.5)), <, 0.02);
  g_assert_cmpint(checked, ==, kMax - 1);
}

std::string read_all_fd(int fd) {
  std::string out;
  char buf[4096];
  lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) {
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::string read_all(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A reader holding the old file reads the complete old bytes after a rewrite (rename, not
// writing in place); a folder that cannot be written fails with a message and nothing left,
// also as root (a path whose parent is a regular file).
void test_atomic_writes() {
  gchar *dir = g_dir_make_tmp("test-hostile-XXXXXX", nullptr);
  const std::string jpg = std::string(dir) + "/h.jpg", png = std::string(dir) + "/h.png";
  cv::Mat img(90, 160, CV_8UC3, cv::Scalar(10, 200, 30));
  cv::Mat counts(90, 160, CV_16UC1, cv::Scalar(7));
  std::string error;
  g_assert_true(heatmap::write_jpeg(jpg, img, 90, &error));
  g_assert_true(heatmap::write_counts_png(png, counts, &error));
  const std::string old_jpg = read_all(jpg), old_png = read_all(png);
  const int fd_jpg = open(jpg.c_str(), O_RDONLY), fd_png = open(png.c_str(), O_RDONLY);
  g_assert_cmpint(fd_jpg, >=, 0);
  g_assert_cmpint(fd_png, >=, 0);
  cv::Mat img2(45, 80, CV_8UC3, cv::Scalar(200, 10, 30));
  cv::Mat counts2(45, 80, CV_16UC1, cv::Scalar(65535));
  g_assert_true(heatmap::write_jpeg(jpg, img2, 50, &error));
  g_assert_true(heatmap::write_counts_png(png, counts2, &error));
  g_assert_true(read_all_fd(fd_jpg) == old_jpg);  // the old inode is intact
  g_assert_true(read_all_fd(fd_png) == old_png);
  g_assert_true(read_all(jpg) != old_jpg);  // and the name has the new file
  g_assert_cmpint(cv::imread(png, cv::IMREAD_UNCHANGED).cols, ==, 80);
  close(fd_jpg);
  close(fd_png);

  // Unwritable destination, even for root: the parent "folder" is a regular file.
  const std::string blocker = std::string(dir) + "/not-a-folder";
  g_assert_true(g_file_set_contents(blocker.c_str(), "x", 1, nullptr));
  error.clear();
  g_assert_false(heatmap::write_jpeg(blocker + "/h.jpg", img, 90, &error));
  g_assert_true(error.find(blocker) != std::string::npos);
  error.clear();
  g_assert_false(heatmap::write_counts_png(blocker + "/h.png", counts, &error));
  g_assert_true(error.find(blocker) != std::string::npos);
  // nothing left behind beside the files written above
  GDir *d = g_dir_open(dir, 0, nullptr);
  int entries = 0;
  while (const gchar *name = g_dir_read_name(d)) {
    ++entries;
    g_test_message("left: %s", name);
  }
  g_dir_close(d);
  g_assert_cmpint(entries, ==, 3);
  g_remove(jpg.c_str());
  g_remove(png.c_str());
  g_remove(blocker.c_str());
  g_rmdir(dir);
  g_free(dir);
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/heatmap-hostile/caps/grey-then-colour-same-size",
                  test_grey_then_colour_same_size);
  g_test_add_func("/heatmap-hostile/caps/colour-grey-colour", test_colour_grey_colour_same_size);
  g_test_add_func("/heatmap-hostile/caps/every-format-pair", test_every_format_pair);
  g_test_add_func("/heatmap-hostile/caps/random-sequences", test_random_sequences);
  g_test_add_func("/heatmap-hostile/sizes/zero-throws", test_zero_sizes_throw);
  g_test_add_func("/heatmap-hostile/exact/downscale-block-mean", test_downscale_exact_block_mean);
  g_test_add_func("/heatmap-hostile/exact/render-curve", test_render_curve_mid_range);
  g_test_add_func("/heatmap-hostile/exact/atomic-writes", test_atomic_writes);
  return g_test_run();
}
