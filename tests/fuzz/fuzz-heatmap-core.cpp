// fuzz-heatmap-core.cpp: libFuzzer target for the heatmap core (Accumulator through FrameView):
// the input picks a method, a downscale and a run of frames, each with its own pixel format,
// size (1..48 px a side, odd sizes included) and stride, and supplies their bytes. Whatever the
// order of format and size changes, the counts, stats and background must stay consistent.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "heatmap-core.h"

namespace {

using heatmap::FrameView;
using heatmap::PixelFormat;

constexpr PixelFormat kFormats[] = {
    PixelFormat::kGray8, PixelFormat::kI420, PixelFormat::kYV12, PixelFormat::kNV12,
    PixelFormat::kNV21,  PixelFormat::kY42B, PixelFormat::kY444, PixelFormat::kBGR,
    PixelFormat::kRGB,   PixelFormat::kBGRx, PixelFormat::kRGBx, PixelFormat::kxRGB,
    PixelFormat::kxBGR,
};
constexpr int kMaxSide = 48;
constexpr int kMaxFrames = 12;

// Reads the input front to back; past its end it yields zeros (bytes) and repeats (pixels).
struct Input {
  const std::uint8_t *data;
  std::size_t size, pos = 0;
  std::uint8_t byte() { return pos < size ? data[pos++] : 0; }
  void fill(std::vector<std::uint8_t> &out) {
    for (std::size_t i = 0; i < out.size(); ++i)
      out[i] = size ? data[(pos + i) % size] : static_cast<std::uint8_t>(i * 37);
    pos += out.size() / 4;  // consecutive frames differ, so something moves
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  Input in{data, size};
  heatmap::Settings settings;
  const std::uint8_t mode = in.byte();
  settings.method = static_cast<heatmap::Method>(mode % 3);
  settings.threaded = (mode & 4) != 0;
  settings.keep_shadows = (mode & 8) != 0;
  settings.open_kernel = (mode >> 4) % 4;
  // The input-area limit: the default (above every fuzzed frame), none, or one most frames pass.
  static constexpr long kLimits[] = {heatmap::kDefaultMaxInputPixels, 0, 600, 1};
  settings.max_input_pixels = kLimits[mode >> 6];
  static constexpr double kDownscales[] = {1.0, 0.5, 0.25, 0.3, 0.125, 0.01};
  settings.downscale = kDownscales[in.byte() % 6];
  settings.history = 2 + in.byte() % 50;
  const int frames = 1 + in.byte() % kMaxFrames;

  heatmap::Accumulator acc(settings);
  int last_w = 0, last_h = 0, prev_w = 0, prev_h = 0;
  for (int n = 0; n < frames; ++n) {
    const std::uint8_t shape = in.byte();
    FrameView view;
    view.format = kFormats[shape % 13];
    view.matrix = (shape & 0x40) ? heatmap::YuvMatrix::kBt709 : heatmap::YuvMatrix::kBt601;
    view.full_range = (shape & 0x80) != 0;
    // Keep the size for a while (a real stream), else jump.
    if (n == 0 || (in.byte() & 3) == 0) {
      last_w = 1 + in.byte() % kMaxSide;
      last_h = 1 + in.byte() % kMaxSide;
    }
    view.width = last_w;
    view.height = last_h;
    const int padding = in.byte() % 8;
    std::vector<std::uint8_t> planes[3];
    const int count = heatmap::planes_for(view.format);
    for (int p = 0; p < count; ++p) {
      std::size_t row = 0;
      int rows = view.height;
      if (p == 0) {
        row = static_cast<std::size_t>(view.width) *
              (heatmap::is_packed(view.format) ? heatmap::packed_channels(view.format) : 1);
      } else {
        const cv::Size c = heatmap::chroma_size(view.format, view.width, view.height);
        const bool interleaved =
            view.format == PixelFormat::kNV12 || view.format == PixelFormat::kNV21;
        row = static_cast<std::size_t>(c.width) * (interleaved ? 2 : 1);
        rows = c.height;
      }
      const std::size_t stride = row + static_cast<std::size_t>(padding);
      planes[p].resize(stride * static_cast<std::size_t>(rows));
      in.fill(planes[p]);
      view.planes[p] = {planes[p].data(), stride};
    }
    const bool same_size = n > 0 && view.width == prev_w && view.height == prev_h;
    prev_w = view.width;
    prev_h = view.height;
    const heatmap::Stats before = acc.stats();
    acc.add_frame(view, n);
    const heatmap::Stats s = acc.stats();
    // A new size restarts the accumulation; otherwise every frame counts once (a format change
    // at the same size included).
    if (same_size ? s.frames_processed != before.frames_processed + 1 : s.frames_processed != 1)
      std::abort();
    const double area = static_cast<double>(view.width) * view.height;
    const double d = settings.max_input_pixels > 0 && area > settings.max_input_pixels
                         ? settings.downscale * std::sqrt(settings.max_input_pixels / area)
                         : settings.downscale;
    const double want_w = view.width * d, want_h = view.height * d;
    if (s.width < 1 || s.height < 1 || std::abs(s.width - std::max(1.0, want_w)) > 1.0 ||
        std::abs(s.height - std::max(1.0, want_h)) > 1.0)
      std::abort();
    const cv::Mat &counts = acc.counts();
    if (counts.type() != CV_16UC1 || counts.cols != s.width || counts.rows != s.height)
      std::abort();
    double max_count = 0;
    cv::minMaxLoc(counts, nullptr, &max_count);
    if (static_cast<std::uint16_t>(max_count) != s.max_count || s.max_count > s.frames_processed ||
        s.motion_coverage < 0 || s.motion_coverage > 1)
      std::abort();
    const cv::Mat background = acc.background();
    if (background.empty() || background.cols != s.width || background.rows != s.height)
      std::abort();
    if ((shape & 0x30) == 0x30) {
      // A periodic window takes its increments: the counts start again from zero.
      cv::Mat taken = acc.take_counts();
      if (taken.size() != counts.size() || cv::countNonZero(acc.counts()) != 0)
        std::abort();
    }
  }
  return 0;
}
